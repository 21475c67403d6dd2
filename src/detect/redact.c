/* SPDX-License-Identifier: MIT */
/*
 * Redaction of secrets before text leaves the host; see redact.h for the
 * kinds. A fixed table of PCRE2 patterns, compiled once (pthread_once) and
 * then shared read-only; each call has its own match data. The scan takes the
 * leftmost match over all patterns (the earlier table entry on a tie) and
 * replaces the pattern's "s" group, or the whole match when it has none.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "detect-internal.h"
#include "detect/redact.h"
#include "shared/cleanup.h"

static const struct {
        const char *kind;
        const char *pattern;
} redactors[] = {
        { "private_key", "-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.|\\n)*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\\z)" },
        { "slack_webhook", "https://hooks\\.slack\\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\\-]+" },
        { "url_credentials", "\\b[A-Za-z][A-Za-z0-9+.\\-]*://(?<s>[^\\s/:@'\"]+:[^\\s/@'\"]+)@" },
        { "jwt", "\\beyJ[A-Za-z0-9_\\-]{8,}\\.eyJ[A-Za-z0-9_\\-]{8,}\\.[A-Za-z0-9_\\-]{8,}" },
        { "google_api_key", "\\bAIza[0-9A-Za-z_\\-]{35}" },
        { "slack_token", "\\bxox[abposre]-[A-Za-z0-9\\-]{10,}|\\bxapp-[0-9]-[A-Za-z0-9\\-]{10,}" },
        { "github_token", "\\bgh[pousr]_[A-Za-z0-9]{36,255}|\\bgithub_pat_[A-Za-z0-9_]{22,255}" },
        { "aws_access_key", "\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b" },
        { "openai_key", "\\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\\-]{20,}" },
        { "notion_token", "\\bsecret_[A-Za-z0-9]{43}\\b|\\bntn_[A-Za-z0-9]{40,}" },
        { "authorization", "(?i)\\b(?:proxy-)?authorization[\"']?\\s*[:=]\\s*[\"']?(?!\\[REDACTED)(?<s>(?:(?:bearer|basic|token|bot|digest)\\s+)?[^\\s\"',;]+)" },
        { "bearer", "(?i)\\bbearer\\s+(?!\\[REDACTED)(?<s>[A-Za-z0-9._~+/\\-]{8,}=*)" },
        { "password", "(?i)\\b(?:password|passwd|pwd|pass)[\"']?\\s*[:=]\\s*[\"']?(?!\\[REDACTED)(?<s>[^\\s\"',;&]+)" },
        { "token", "(?i)\\b(?:[a-z0-9]+[_-])?(?:token|secret|api[_-]?key|apikey|access[_-]?key|client[_-]?secret|private[_-]?key|credentials?)[\"']?\\s*[:=]\\s*[\"']?(?!\\[REDACTED)(?<s>[^\\s\"',;&]+)" },
        { "email", "\\b[A-Za-z0-9._%+\\-]+@[A-Za-z0-9\\-]+(?:\\.[A-Za-z0-9\\-]+)*\\.[A-Za-z]{2,}\\b" },
};

#define N_REDACTORS ELEMENTSOF(redactors)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pcre2_code *codes[N_REDACTORS];
static uint32_t secret_group[N_REDACTORS];
static bool compiled;

static void compile_all(void) {
        for (size_t i = 0; i < N_REDACTORS; i++) {
                PCRE2_SIZE off;
                int err, g;

                codes[i] = pcre2_compile((PCRE2_SPTR) redactors[i].pattern, PCRE2_ZERO_TERMINATED,
                                         PCRE2_NEVER_BACKSLASH_C, &err, &off, NULL);
                if (!codes[i])
                        return;
                /* As in rules.c: valgrind runs set APPWATCH_PCRE2_NO_JIT. */
                if (!secure_getenv("APPWATCH_PCRE2_NO_JIT"))
                        (void) pcre2_jit_compile(codes[i], PCRE2_JIT_COMPLETE);
                g = pcre2_substring_number_from_name(codes[i], (PCRE2_SPTR) "s");
                secret_group[i] = g > 0 ? (uint32_t) g : 0;
        }
        compiled = true;
}

typedef struct Seen {
        size_t kind;
        char *value;
        unsigned n;
} Seen;

static unsigned placeholder_number(Seen **seen, size_t *n_seen, size_t kind, const char *v, size_t len,
                                   int *err) {
        unsigned max = 0;
        Seen *ns;
        char *c;

        for (size_t i = 0; i < *n_seen; i++) {
                if ((*seen)[i].kind != kind)
                        continue;
                if (strlen((*seen)[i].value) == len && memcmp((*seen)[i].value, v, len) == 0)
                        return (*seen)[i].n;
                if ((*seen)[i].n > max)
                        max = (*seen)[i].n;
        }
        c = strndup(v, len);
        ns = c ? reallocarray(*seen, *n_seen + 1, sizeof(Seen)) : NULL;
        if (!ns) {
                free(c);
                *err = -ENOMEM;
                return 0;
        }
        *seen = ns;
        ns[(*n_seen)++] = (Seen) { .kind = kind, .value = c, .n = max + 1 };
        return max + 1;
}

int detect_redact(const char *in, size_t len, char **ret) {
        pcre2_match_data *md = NULL;
        PCRE2_SIZE next_start[N_REDACTORS];
        PCRE2_SIZE sec_start[N_REDACTORS], sec_end[N_REDACTORS];
        Seen *seen = NULL;
        size_t n_seen = 0, pos = 0;
        DetectBuf b = {};
        int count = 0, r = 0;

        (void) pthread_once(&once, compile_all);
        if (!compiled)
                return -EIO;
        md = pcre2_match_data_create(8, NULL);
        if (!md)
                return -ENOMEM;

        /* next_start[i] == PCRE2_UNSET: no further match for pattern i. */
        for (size_t i = 0; i < N_REDACTORS; i++)
                next_start[i] = 0, sec_start[i] = sec_end[i] = 0;
        bool need[N_REDACTORS];
        for (size_t i = 0; i < N_REDACTORS; i++)
                need[i] = true;

        while (pos <= len) {
                size_t best = SIZE_MAX;

                for (size_t i = 0; i < N_REDACTORS; i++) {
                        if (need[i] || (next_start[i] != PCRE2_UNSET && sec_start[i] < pos)) {
                                int rc = pcre2_match(codes[i], (PCRE2_SPTR) in, len, pos, 0, md, NULL);

                                need[i] = false;
                                if (rc < 0) {
                                        next_start[i] = PCRE2_UNSET;
                                } else {
                                        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                                        uint32_t g = secret_group[i];

                                        next_start[i] = ov[0];
                                        if (g > 0 && (uint32_t) rc > g && ov[2 * g] != PCRE2_UNSET) {
                                                sec_start[i] = ov[2 * g];
                                                sec_end[i] = ov[2 * g + 1];
                                        } else {
                                                sec_start[i] = ov[0];
                                                sec_end[i] = ov[1];
                                        }
                                        if (sec_end[i] == sec_start[i]) {
                                                /* empty: never replace nothing */
                                                next_start[i] = PCRE2_UNSET;
                                        }
                                }
                        }
                        if (next_start[i] != PCRE2_UNSET &&
                            (best == SIZE_MAX || sec_start[i] < sec_start[best]))
                                best = i;
                }
                if (best == SIZE_MAX)
                        break;

                unsigned num = placeholder_number(&seen, &n_seen, best, in + sec_start[best],
                                                  sec_end[best] - sec_start[best], &r);
                if (r < 0)
                        goto finish;
                r = detect_buf_append(&b, in + pos, sec_start[best] - pos);
                if (r < 0)
                        goto finish;
                r = detect_buf_printf(&b, "[REDACTED:%s#%u]", redactors[best].kind, num);
                if (r < 0)
                        goto finish;
                count++;
                pos = sec_end[best];
        }
        if (pos < len) {
                r = detect_buf_append(&b, in + pos, len - pos);
                if (r < 0)
                        goto finish;
        }
        *ret = detect_buf_steal(&b);
        if (!*ret)
                r = -ENOMEM;
finish:
        for (size_t i = 0; i < n_seen; i++)
                free(seen[i].value);
        free(seen);
        detect_buf_done(&b);
        pcre2_match_data_free(md);
        return r < 0 ? r : count;
}
