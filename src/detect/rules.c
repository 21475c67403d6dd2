/* SPDX-License-Identifier: MIT */
/*
 * Rule catalogue: a small INI reader for *.rules (our own, so that every
 * problem can be reported with its file and line instead of being logged),
 * PCRE2 compilation, required-literal extraction for the prefilter, and the
 * vendor/admin directory overlay. Limits: DETECT_RULES_MAX rules, 32 patterns
 * per rule, 1 MiB per file. Not thread-safe until sealed; see rules.h.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect-internal.h"
#include "shared/cleanup.h"

/* The users' guide's default patterns; generic, so lowest priority. */
static const char builtin_rules[] =
        "[Rule.default_timeout]\n"
        "Pattern=TimeoutError.*\n"
        "Category=network\n"
        "Priority=7\n"
        "[Rule.default_traceback]\n"
        "Pattern=Traceback.*\n"
        "Category=python_runtime\n"
        "Priority=6\n"
        "[Rule.default_error]\n"
        "Pattern=ERROR:.*\n"
        "Category=other\n"
        "Priority=5\n"
        "[Rule.default_exception]\n"
        "Pattern=Exception:.*\n"
        "Category=other\n"
        "Priority=4\n"
        "[Rule.default_failed]\n"
        "Pattern=Failed.*\n"
        "Category=other\n"
        "Priority=3\n";

static void pattern_done(DetectPattern *p) {
        pcre2_code_free(p->code);
        free(p->source);
        strv_free(p->literals);
}

static DetectRule *rule_free(DetectRule *r) {
        if (!r)
                return NULL;
        for (size_t i = 0; i < r->n_patterns; i++)
                pattern_done(&r->patterns[i]);
        free(r->patterns);
        for (size_t i = 0; i < r->n_excludes; i++)
                pattern_done(&r->excludes[i]);
        free(r->excludes);
        for (size_t i = 0; i < r->n_literals; i++)
                free(r->literals[i]);
        free(r->literals);
        free(r->name);
        free(r->file);
        free(r->fix);
        free(r);
        return NULL;
}
DEFINE_CLEANUP(DetectRule, rule_free)

static int errors_add(DetectRuleErrors *errs, const char *file, unsigned line, const char *fmt, ...)
        __attribute__((__format__(printf, 4, 5)));

static int errors_add(DetectRuleErrors *errs, const char *file, unsigned line, const char *fmt, ...) {
        DetectRuleError *n;
        va_list ap;
        char *msg;
        int r;

        if (!errs)
                return 0;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        n = reallocarray(errs->errors, errs->n_errors + 1, sizeof(DetectRuleError));
        if (!n) {
                free(msg);
                return -ENOMEM;
        }
        errs->errors = n;
        n[errs->n_errors] = (DetectRuleError) {
                .file = strdup(file ?: "?"),
                .line = line,
                .message = msg,
        };
        if (!n[errs->n_errors].file) {
                free(msg);
                return -ENOMEM;
        }
        errs->n_errors++;
        return 0;
}

void detect_rule_errors_done(DetectRuleErrors *errs) {
        if (!errs)
                return;
        for (size_t i = 0; i < errs->n_errors; i++) {
                free(errs->errors[i].file);
                free(errs->errors[i].message);
        }
        free(errs->errors);
        *errs = (DetectRuleErrors) {};
}

int detect_rules_new(DetectRulesFlags flags, DetectRules **ret) {
        DetectRules *r;
        int k;

        /* Valgrind cannot follow JIT-compiled code (tests/meson.build's
         * valgrind setup sets this); the interpreter gives the same answers. */
        if (secure_getenv("APPWATCH_PCRE2_NO_JIT"))
                flags |= DETECT_RULES_NO_JIT;
        r = calloc(1, sizeof(DetectRules));
        if (!r)
                return -ENOMEM;
        *r = (DetectRules) { .n_ref = 1, .flags = flags };
        if (!(flags & DETECT_RULES_NO_BUILTIN)) {
                DetectRuleErrors errs = {};

                k = detect_rules_load_string(r, "<builtin>", builtin_rules,
                                             sizeof(builtin_rules) - 1, &errs);
                /* The built-in text is ours; an error in it is a programmer error. */
                assert(k < 0 || errs.n_errors == 0);
                detect_rule_errors_done(&errs);
                if (k < 0) {
                        detect_rules_unref(r);
                        return k;
                }
        }
        *ret = r;
        return 0;
}

DetectRules *detect_rules_ref(DetectRules *r) {
        if (r)
                r->n_ref++;
        return r;
}

DetectRules *detect_rules_unref(DetectRules *r) {
        if (!r)
                return NULL;
        assert(r->n_ref > 0);
        if (--r->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < r->n_rules; i++)
                rule_free(r->rules[i]);
        free(r->rules);
        free(r->always);
        detect_prefilter_free(r->prefilter);
        free(r);
        return NULL;
}

size_t detect_rules_count(const DetectRules *r) {
        return r ? r->n_rules : 0;
}

static ssize_t rules_find(const DetectRules *r, const char *name) {
        for (size_t i = 0; i < r->n_rules; i++)
                if (strcmp(r->rules[i]->name, name) == 0)
                        return (ssize_t) i;
        return -1;
}

bool detect_rules_has(const DetectRules *r, const char *name) {
        return r && name && rules_find(r, name) >= 0;
}

static void rules_remove(DetectRules *r, const char *name) {
        ssize_t i = rules_find(r, name);

        if (i < 0)
                return;
        rule_free(r->rules[i]);
        memmove(r->rules + i, r->rules + i + 1, (r->n_rules - (size_t) i - 1) * sizeof(DetectRule *));
        r->n_rules--;
}

/* ---- required literals ---- */

static size_t skip_class(const char *p, size_t n, size_t i) {
        /* p[i] == '[' */
        i++;
        if (i < n && p[i] == '^')
                i++;
        if (i < n && p[i] == ']')
                i++;
        while (i < n && p[i] != ']') {
                if (p[i] == '\\' && i + 1 < n)
                        i += 2;
                else if (p[i] == '[' && i + 1 < n && p[i + 1] == ':') {
                        const char *e = strstr(p + i + 2, ":]");
                        i = e ? (size_t) (e - p) + 2 : n;
                } else
                        i++;
        }
        return i < n ? i + 1 : n;
}

static size_t skip_group(const char *p, size_t n, size_t i) {
        int depth = 0;

        while (i < n) {
                if (p[i] == '\\')
                        i += 2;
                else if (p[i] == '[')
                        i = skip_class(p, n, i);
                else if (p[i] == '(') {
                        depth++;
                        i++;
                } else if (p[i] == ')') {
                        i++;
                        if (--depth == 0)
                                return i;
                } else
                        i++;
        }
        return n;
}

/* Skips a quantifier at p[i] if there is one; *optional tells whether it
 * allows zero repetitions. */
static size_t skip_quantifier(const char *p, size_t n, size_t i, bool *optional) {
        *optional = false;
        if (i >= n)
                return i;
        if (p[i] == '*' || p[i] == '?') {
                *optional = true;
                i++;
        } else if (p[i] == '+') {
                i++;
        }
        else if (p[i] == '{' && i + 1 < n && isdigit((unsigned char) p[i + 1])) {
                size_t j = i + 1;
                unsigned long min = strtoul(p + j, NULL, 10);

                while (j < n && p[j] != '}')
                        j++;
                if (j >= n)
                        return i; /* not a quantifier after all: a literal '{' */
                *optional = min == 0;
                i = j + 1;
        } else
                return i;
        /* lazy or possessive suffix */
        if (i < n && (p[i] == '?' || p[i] == '+'))
                i++;
        return i;
}

int detect_extract_literals(const char *pattern, char ***ret, size_t *ret_n);

static int branch_literal(const char *p, size_t n, char **ret) {
        _cleanup_free_ char *cur = malloc(n + 1), *best = malloc(n + 1);
        size_t lc = 0, lb = 0, i = 0;
        bool opt;

        if (!cur || !best)
                return -ENOMEM;

#define END_RUN()                                       \
        do {                                            \
                if (lc > lb) {                          \
                        memcpy(best, cur, lc);          \
                        lb = lc;                        \
                }                                       \
                lc = 0;                                 \
        } while (0)

        while (i < n) {
                char c = p[i];

                if (c == '\\' && i + 1 < n) {
                        char e = p[i + 1];

                        if (e == 'Q') {
                                /* \Q...\E: what is between is literal text */
                                i += 2;
                                while (i < n && !(p[i] == '\\' && i + 1 < n && p[i + 1] == 'E'))
                                        cur[lc++] = (char) tolower((unsigned char) p[i++]);
                                i = i < n ? i + 2 : n;
                                /* a quantifier after \E repeats the last character only */
                                if (skip_quantifier(p, n, i, &opt) != i) {
                                        lc = lc > 0 ? lc - 1 : 0;
                                        END_RUN();
                                        i = skip_quantifier(p, n, i, &opt);
                                }
                                continue;
                        }
                        if (isalnum((unsigned char) e)) {
                                /* \d, \b, \x.., \p{..}, \k<name>, \g'name', \1, \cX ...:
                                 * not a plain literal, and neither are the
                                 * characters that belong to them */
                                i += 2;
                                if (i < n && p[i] == '{') {
                                        while (i < n && p[i] != '}')
                                                i++;
                                        i = i < n ? i + 1 : n;
                                } else if ((e == 'k' || e == 'g') && i < n && (p[i] == '<' || p[i] == '\'')) {
                                        char close = p[i] == '<' ? '>' : '\'';

                                        for (i++; i < n && p[i] != close; i++)
                                                ;
                                        i = i < n ? i + 1 : n;
                                } else if (e == 'g' || isdigit((unsigned char) e)) {
                                        /* \g-1, \g2, \12, \012 */
                                        if (e == 'g' && i < n && (p[i] == '-' || p[i] == '+'))
                                                i++;
                                        while (i < n && isdigit((unsigned char) p[i]))
                                                i++;
                                } else if (e == 'c' && i < n)
                                        i++;
                                END_RUN();
                                i = skip_quantifier(p, n, i, &opt);
                                continue;
                        }
                        c = e;
                        i += 2;
                } else if (c == '[') {
                        i = skip_class(p, n, i);
                        END_RUN();
                        i = skip_quantifier(p, n, i, &opt);
                        continue;
                } else if (c == '(') {
                        size_t end = skip_group(p, n, i), body = i + 1;
                        _cleanup_free_ char *inner = NULL;
                        _cleanup_strv_free_ char **lits = NULL;
                        size_t n_lits = 0;

                        END_RUN();
                        i = skip_quantifier(p, n, end, &opt);
                        /* A group that must match once contributes its own
                         * literal, unless it is a lookaround or an option. */
                        if (opt || end > n || p[end - 1] != ')')
                                continue;
                        if (body < end && p[body] == '?') {
                                if (detect_startswith(p + body, end - body, "?:"))
                                        body += 2;
                                else if (detect_startswith(p + body, end - body, "?<") &&
                                         body + 2 < end && p[body + 2] != '=' && p[body + 2] != '!') {
                                        const char *gt = memchr(p + body, '>', end - body);
                                        if (!gt)
                                                continue;
                                        body = (size_t) (gt - p) + 1;
                                } else if (detect_startswith(p + body, end - body, "?P<")) {
                                        const char *gt = memchr(p + body, '>', end - body);
                                        if (!gt)
                                                continue;
                                        body = (size_t) (gt - p) + 1;
                                } else
                                        continue;
                        }
                        inner = strndup(p + body, end - 1 - body);
                        if (!inner)
                                return -ENOMEM;
                        if (detect_extract_literals(inner, &lits, &n_lits) < 0)
                                return -ENOMEM;
                        if (n_lits == 1 && strlen(lits[0]) > lb) {
                                lb = strlen(lits[0]);
                                memcpy(best, lits[0], lb);
                        }
                        continue;
                } else if (strchr(".^$*+?)|", c) || (c == '{' && i + 1 < n &&
                                                      isdigit((unsigned char) p[i + 1]))) {
                        i++;
                        END_RUN();
                        i = skip_quantifier(p, n, i, &opt);
                        continue;
                } else
                        i++;

                /* a literal character, possibly quantified */
                {
                        size_t q = skip_quantifier(p, n, i, &opt);

                        if (opt) {
                                END_RUN();
                                i = q;
                                continue;
                        }
                        cur[lc++] = (char) tolower((unsigned char) c);
                        if (q != i)
                                END_RUN(); /* repeated: only one copy is certain */
                        i = q;
                }
        }
        END_RUN();
#undef END_RUN

        if (lb < 3) {
                *ret = NULL;
                return 0;
        }
        best[lb] = 0;
        *ret = TAKE_PTR(best);
        return 0;
}

int detect_extract_literals(const char *pattern, char ***ret, size_t *ret_n) {
        size_t n = strlen(pattern), start = 0, i = 0, count = 0;
        _cleanup_strv_free_ char **lits = NULL;
        int depth = 0, r;

        *ret = NULL;
        *ret_n = 0;
        /* Extended mode changes what white space means; do not guess. */
        if (strstr(pattern, "(?x") || strstr(pattern, "(*"))
                return 0;
        /* Leading option settings such as (?i) match nothing. */
        while (n >= 4 && pattern[0] == '(' && pattern[1] == '?' && isalpha((unsigned char) pattern[2])) {
                const char *e = pattern + 2;

                while (isalpha((unsigned char) *e) || *e == '-')
                        e++;
                if (*e != ')')
                        break;
                n -= (size_t) (e + 1 - pattern);
                pattern = e + 1;
        }
        /* A pattern that is one non-capturing group: look inside it. */
        if (n >= 4 && strncmp(pattern, "(?:", 3) == 0 && skip_group(pattern, n, 0) == n &&
            pattern[n - 1] == ')') {
                _cleanup_free_ char *inner = strndup(pattern + 3, n - 4);

                if (!inner)
                        return -ENOMEM;
                return detect_extract_literals(inner, ret, ret_n);
        }
        for (;; i++) {
                if (i < n && pattern[i] == '\\') {
                        i++;
                        continue;
                }
                if (i < n && pattern[i] == '[') {
                        i = skip_class(pattern, n, i) - 1;
                        continue;
                }
                if (i < n && pattern[i] == '(')
                        depth++;
                else if (i < n && pattern[i] == ')')
                        depth--;
                if (i >= n || (pattern[i] == '|' && depth == 0)) {
                        char *lit, **nl;

                        r = branch_literal(pattern + start, i - start, &lit);
                        if (r < 0)
                                return r;
                        if (!lit)
                                return 0; /* a branch without a literal: no prefilter */
                        nl = reallocarray(lits, count + 2, sizeof(char *));
                        if (!nl) {
                                free(lit);
                                return -ENOMEM;
                        }
                        lits = nl;
                        lits[count++] = lit;
                        lits[count] = NULL;
                        start = i + 1;
                        if (i >= n)
                                break;
                }
        }
        *ret_n = count;
        *ret = TAKE_PTR(lits);
        return 0;
}

/* ---- parsing ---- */

typedef struct RuleBuilder {
        DetectRule *rule;
        bool category_set, severity_set, enabled, broken;
        bool fixable_set;
} RuleBuilder;

static int parse_bool(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static bool rule_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_-.", s[i]))
                        return false;
        return true;
}

static bool fix_valid(const char *s) {
        const char *colon;

        if (!islower((unsigned char) s[0]))
                return false;
        colon = strchr(s, ':');
        for (const char *p = s; *p && p != colon; p++)
                if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && *p != '_')
                        return false;
        if (!colon)
                return true;
        if (!colon[1])
                return false;
        for (const char *p = colon + 1; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("_.-${}", *p))
                        return false;
        return true;
}

static int compile_pattern(const DetectRules *rules, const char *src, pcre2_code **ret,
                           char *errbuf, size_t errsz, size_t *ret_offset) {
        PCRE2_SIZE erroff = 0;
        pcre2_code *code;
        int errcode;

        /* No PCRE2_UTF: log lines are arbitrary bytes and must never be a
         * matching error. MULTILINE: ^ and $ work per line inside blocks. */
        code = pcre2_compile((PCRE2_SPTR) src, PCRE2_ZERO_TERMINATED,
                             PCRE2_MULTILINE | PCRE2_NEVER_BACKSLASH_C | PCRE2_NEVER_UCP,
                             &errcode, &erroff, NULL);
        if (!code) {
                pcre2_get_error_message(errcode, (PCRE2_UCHAR *) errbuf, errsz);
                *ret_offset = erroff;
                return -EINVAL;
        }
        /* The JIT is an optimisation only: under MemoryDenyWriteExecute= it
         * fails and the interpreter is used, silently. */
        if (!(rules->flags & DETECT_RULES_NO_JIT))
                (void) pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
        *ret = code;
        return 0;
}

static int builder_add_pattern(DetectRules *rules, RuleBuilder *b, bool exclude, const char *file,
                               unsigned line, const char *value, DetectRuleErrors *errs) {
        DetectPattern **list = exclude ? &b->rule->excludes : &b->rule->patterns;
        size_t *n = exclude ? &b->rule->n_excludes : &b->rule->n_patterns;
        char errbuf[256];
        size_t off = 0;
        pcre2_code *code;
        DetectPattern *nl;
        char *src;

        if (!*value) {
                /* "Pattern=" empties the list, as systemd does for list settings. */
                for (size_t i = 0; i < *n; i++)
                        pattern_done(&(*list)[i]);
                *n = 0;
                return 0;
        }
        if (*n >= DETECT_RULE_PATTERNS_MAX) {
                b->broken = true;
                return errors_add(errs, file, line, "rule '%s': too many patterns (max %d)",
                                  b->rule->name, DETECT_RULE_PATTERNS_MAX);
        }
        if (compile_pattern(rules, value, &code, errbuf, sizeof errbuf, &off) < 0) {
                b->broken = true;
                return errors_add(errs, file, line,
                                  "rule '%s': invalid pattern at offset %zu: %s",
                                  b->rule->name, off, errbuf);
        }
        src = strdup(value);
        nl = src ? reallocarray(*list, *n + 1, sizeof(DetectPattern)) : NULL;
        if (!nl) {
                free(src);
                pcre2_code_free(code);
                return -ENOMEM;
        }
        *list = nl;
        nl[(*n)++] = (DetectPattern) { .code = code, .source = src, .line = line };
        return 0;
}

static int builder_add_literal(RuleBuilder *b, const char *value) {
        char *l, **nl;

        if (!*value) {
                for (size_t i = 0; i < b->rule->n_literals; i++)
                        free(b->rule->literals[i]);
                b->rule->n_literals = 0;
                b->rule->explicit_literals = false;
                return 0;
        }
        l = strdup(value);
        if (!l)
                return -ENOMEM;
        for (char *p = l; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        nl = reallocarray(b->rule->literals, b->rule->n_literals + 2, sizeof(char *));
        if (!nl) {
                free(l);
                return -ENOMEM;
        }
        b->rule->literals = nl;
        nl[b->rule->n_literals++] = l;
        nl[b->rule->n_literals] = NULL;
        b->rule->explicit_literals = true;
        return 0;
}

static int builder_set(DetectRules *rules, RuleBuilder *b, const char *file, unsigned line,
                       const char *key, const char *value, DetectRuleErrors *errs) {
        DetectRule *rule = b->rule;
        int k;

        if (strcmp(key, "Pattern") == 0)
                return builder_add_pattern(rules, b, false, file, line, value, errs);
        if (strcmp(key, "Exclude") == 0)
                return builder_add_pattern(rules, b, true, file, line, value, errs);
        if (strcmp(key, "Literal") == 0)
                return builder_add_literal(b, value);
        if (strcmp(key, "Category") == 0) {
                Category c = category_from_string(value);

                if (c < 0) {
                        b->broken = true;
                        return errors_add(errs, file, line, "rule '%s': unknown category '%s'",
                                          rule->name, value);
                }
                rule->category = c;
                b->category_set = true;
                return 0;
        }
        if (strcmp(key, "Severity") == 0) {
                Severity s = severity_from_string(value);

                if (s < 0) {
                        b->broken = true;
                        return errors_add(errs, file, line, "rule '%s': unknown severity '%s'",
                                          rule->name, value);
                }
                rule->severity = s;
                b->severity_set = true;
                return 0;
        }
        if (strcmp(key, "AutoFixable") == 0 || strcmp(key, "Enabled") == 0) {
                k = parse_bool(value);
                if (k < 0) {
                        b->broken = true;
                        return errors_add(errs, file, line, "rule '%s': %s= wants a boolean, not '%s'",
                                          rule->name, key, value);
                }
                if (key[0] == 'A') {
                        rule->auto_fixable = k;
                        b->fixable_set = true;
                } else
                        b->enabled = k;
                return 0;
        }
        if (strcmp(key, "Fix") == 0) {
                char *f;

                if (!fix_valid(value)) {
                        b->broken = true;
                        return errors_add(errs, file, line, "rule '%s': invalid fix id '%s'",
                                          rule->name, value);
                }
                f = strdup(value);
                if (!f)
                        return -ENOMEM;
                free(rule->fix);
                rule->fix = f;
                return 0;
        }
        if (strcmp(key, "Priority") == 0) {
                char *end;
                long v;

                errno = 0;
                v = strtol(value, &end, 10);
                if (errno || end == value || *end || v < 0 || v > DETECT_PRIORITY_MAX) {
                        b->broken = true;
                        return errors_add(errs, file, line,
                                          "rule '%s': priority '%s' is not in 0..%d",
                                          rule->name, value, DETECT_PRIORITY_MAX);
                }
                rule->priority = (int) v;
                return 0;
        }
        if (strcmp(key, "Role") == 0) {
                static const char *const roles[] = {
                        [DETECT_RULE_ROLE_SYMPTOM] = "symptom",
                        [DETECT_RULE_ROLE_HEADLINE] = "headline",
                        [DETECT_RULE_ROLE_CAUSE] = "cause",
                };

                for (size_t i = 0; i < ELEMENTSOF(roles); i++)
                        if (strcmp(value, roles[i]) == 0) {
                                rule->role = (DetectRuleRole) i;
                                return 0;
                        }
                b->broken = true;
                return errors_add(errs, file, line,
                                  "rule '%s': role '%s' is not symptom, headline or cause",
                                  rule->name, value);
        }
        if (strcmp(key, "Description") == 0)
                return 0;
        return errors_add(errs, file, line, "rule '%s': unknown key '%s', ignoring", rule->name, key);
}

static int rules_insert(DetectRules *rules, DetectRule *rule) {
        DetectRule **nl;

        rules_remove(rules, rule->name);
        if (rules->n_rules >= DETECT_RULES_MAX)
                return -E2BIG;
        nl = reallocarray(rules->rules, rules->n_rules + 1, sizeof(DetectRule *));
        if (!nl)
                return -ENOMEM;
        rules->rules = nl;
        rule->order = rules->order_counter++;
        nl[rules->n_rules++] = rule;
        return 0;
}

static int builder_finish(DetectRules *rules, RuleBuilder *b, DetectRuleErrors *errs) {
        _cleanup_(rule_freep) DetectRule *rule = TAKE_PTR(b->rule);
        int r;

        if (!rule)
                return 0;
        if (!b->enabled) {
                rules_remove(rules, rule->name);
                return 0;
        }
        if (b->broken)
                return errors_add(errs, rule->file, rule->line, "rule '%s' skipped", rule->name);
        if (rule->n_patterns == 0)
                return errors_add(errs, rule->file, rule->line, "rule '%s' has no Pattern=, skipped",
                                  rule->name);
        if (!b->category_set)
                return errors_add(errs, rule->file, rule->line, "rule '%s' has no Category=, skipped",
                                  rule->name);
        if (!b->severity_set)
                rule->severity = detect_category_default_severity(rule->category);
        if (rule->auto_fixable && !detect_category_fixable(rule->category)) {
                /* A wrong automatic fix is worse than none: the taxonomy wins. */
                r = errors_add(errs, rule->file, rule->line,
                               "rule '%s': category '%s' is never auto-fixable, AutoFixable=yes ignored",
                               rule->name, category_to_string(rule->category));
                if (r < 0)
                        return r;
                rule->auto_fixable = false;
        }
        if (rule->auto_fixable && (!rule->fix || strcmp(rule->fix, "none") == 0)) {
                r = errors_add(errs, rule->file, rule->line,
                               "rule '%s': AutoFixable=yes without Fix=, ignored", rule->name);
                if (r < 0)
                        return r;
                rule->auto_fixable = false;
        }
        if (!rule->fix) {
                rule->fix = strdup("none");
                if (!rule->fix)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < rule->n_patterns; i++) {
                DetectPattern *pat = &rule->patterns[i];

                r = detect_extract_literals(pat->source, &pat->literals, &pat->n_literals);
                if (r < 0)
                        return r;
        }
        if (!rule->explicit_literals) {
                /* Every pattern must offer a literal, or the rule is always a candidate. */
                for (size_t i = 0; i < rule->n_patterns; i++) {
                        const DetectPattern *pat = &rule->patterns[i];

                        if (pat->n_literals == 0) {
                                rule->always = true;
                                break;
                        }
                        for (size_t j = 0; j < pat->n_literals; j++) {
                                RuleBuilder tmp = { .rule = rule };

                                r = builder_add_literal(&tmp, pat->literals[j]);
                                if (r < 0)
                                        return r;
                        }
                }
                rule->explicit_literals = false;
                if (rule->always) {
                        r = errors_add(errs, rule->file, rule->line,
                                       "rule '%s': no required literal found, so it is loaded, but "
                                       "tried on every line (slow); consider Literal=", rule->name);
                        if (r < 0)
                                return r;
                        for (size_t i = 0; i < rule->n_literals; i++)
                                free(rule->literals[i]);
                        rule->n_literals = 0;
                }
        }
        r = rules_insert(rules, rule);
        if (r < 0)
                return r;
        TAKE_PTR(rule);
        return 0;
}

static char *strip(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
                *--e = 0;
        return s;
}

int detect_rules_load_string(DetectRules *rules, const char *file, const char *text, size_t len,
                             DetectRuleErrors *errs) {
        RuleBuilder b = {};
        bool skipping = false;
        unsigned lineno = 0;
        size_t pos = 0;
        int r = 0;

        assert(rules);
        if (rules->sealed)
                return -EBUSY;
        if (!file)
                file = "<string>";
        if (len > DETECT_RULES_FILE_MAX)
                return errors_add(errs, file, 0, "file larger than %d bytes, ignored",
                                  DETECT_RULES_FILE_MAX);

        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t ll = nl ? (size_t) (nl - text) - pos : len - pos;
                _cleanup_free_ char *buf = NULL;
                char *line, *eq;

                lineno++;
                buf = strndup(text + pos, ll);
                if (!buf) {
                        r = -ENOMEM;
                        goto finish;
                }
                pos += ll + 1;
                if (strlen(buf) != ll) {
                        r = errors_add(errs, file, lineno, "NUL byte in line, line ignored");
                        if (r < 0)
                                goto finish;
                        continue;
                }
                line = strip(buf);
                if (!*line || *line == '#' || *line == ';')
                        continue;
                if (*line == '[') {
                        size_t l = strlen(line);

                        r = builder_finish(rules, &b, errs);
                        if (r < 0)
                                goto finish;
                        b = (RuleBuilder) {};
                        skipping = true;
                        if (line[l - 1] != ']') {
                                r = errors_add(errs, file, lineno,
                                               "malformed section header '%s', skipping the section",
                                               line);
                                if (r < 0)
                                        goto finish;
                                continue;
                        }
                        line[l - 1] = 0;
                        line++;
                        if (strncmp(line, "Rule.", 5) != 0 || !rule_name_valid(line + 5)) {
                                r = errors_add(errs, file, lineno,
                                               "unknown section '[%s]', ignoring", line);
                                if (r < 0)
                                        goto finish;
                                continue;
                        }
                        b.rule = calloc(1, sizeof(DetectRule));
                        if (!b.rule || !(b.rule->name = strdup(line + 5)) ||
                            !(b.rule->file = strdup(file))) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        b.rule->line = lineno;
                        b.rule->priority = 50;
                        b.rule->category = CATEGORY_OTHER;
                        b.enabled = true;
                        skipping = false;
                        continue;
                }
                if (skipping)
                        continue;
                eq = strchr(line, '=');
                if (!eq) {
                        r = errors_add(errs, file, lineno, "expected Key=Value, got '%s', ignoring",
                                       line);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                *eq = 0;
                if (!b.rule) {
                        r = errors_add(errs, file, lineno,
                                       "assignment outside of a [Rule.NAME] section, ignoring");
                        if (r < 0)
                                goto finish;
                        continue;
                }
                r = builder_set(rules, &b, file, lineno, strip(line), strip(eq + 1), errs);
                if (r < 0)
                        goto finish;
        }
        r = builder_finish(rules, &b, errs);
finish:
        rule_free(b.rule);
        return r;
}

/* ---- directories ---- */

typedef struct RuleFile {
        char *name, *path;
} RuleFile;

static int rule_file_cmp(const void *a, const void *b) {
        return strcmp(((const RuleFile *) a)->name, ((const RuleFile *) b)->name);
}

static int read_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (st.st_size > DETECT_RULES_FILE_MAX)
                return -EFBIG;
        buf = malloc(DETECT_RULES_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + len, DETECT_RULES_FILE_MAX + 1 - len);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > DETECT_RULES_FILE_MAX)
                        return -EFBIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int detect_rules_load_dirs(DetectRules *rules, const char *const *dirs, size_t n_dirs,
                           DetectRuleErrors *errs) {
        RuleFile *files = NULL;
        size_t n_files = 0;
        int r = 0;

        if (rules->sealed)
                return -EBUSY;
        for (size_t d = 0; d < n_dirs; d++) {
                DIR *dir = opendir(dirs[d]);
                struct dirent *de;

                if (!dir) {
                        if (errno == ENOENT)
                                continue;
                        r = errors_add(errs, dirs[d], 0, "cannot open directory: %s", strerror(errno));
                        if (r < 0)
                                goto finish;
                        continue;
                }
                while ((de = readdir(dir))) {
                        size_t l = strlen(de->d_name);
                        char *path = NULL;
                        size_t i;

                        if (de->d_name[0] == '.' || l <= 6 || strcmp(de->d_name + l - 6, ".rules") != 0)
                                continue;
                        if (asprintf(&path, "%s/%s", dirs[d], de->d_name) < 0) {
                                closedir(dir);
                                r = -ENOMEM;
                                goto finish;
                        }
                        for (i = 0; i < n_files; i++)
                                if (strcmp(files[i].name, de->d_name) == 0)
                                        break;
                        if (i < n_files) {
                                /* A later directory overrides by file name. */
                                free(files[i].path);
                                files[i].path = path;
                                continue;
                        }
                        RuleFile *nf = reallocarray(files, n_files + 1, sizeof(RuleFile));
                        char *name = strdup(de->d_name);
                        if (!nf || !name) {
                                if (nf)
                                        files = nf;
                                free(name);
                                free(path);
                                closedir(dir);
                                r = -ENOMEM;
                                goto finish;
                        }
                        files = nf;
                        files[n_files++] = (RuleFile) { .name = name, .path = path };
                }
                closedir(dir);
        }
        if (n_files > 0)
                qsort(files, n_files, sizeof(RuleFile), rule_file_cmp);
        for (size_t i = 0; i < n_files; i++) {
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                int k;

                k = read_file(files[i].path, &text, &len);
                if (k == -ENOMEM) {
                        r = k;
                        goto finish;
                }
                if (k < 0) {
                        r = errors_add(errs, files[i].path, 0, "cannot read: %s", strerror(-k));
                        if (r < 0)
                                goto finish;
                        continue;
                }
                r = detect_rules_load_string(rules, files[i].path, text, len, errs);
                if (r < 0)
                        goto finish;
        }
finish:
        for (size_t i = 0; i < n_files; i++) {
                free(files[i].name);
                free(files[i].path);
        }
        free(files);
        return r;
}

/* ---- sealing ---- */

static int rule_cmp(const void *a, const void *b) {
        const DetectRule *x = *(DetectRule *const *) a, *y = *(DetectRule *const *) b;

        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return x->order < y->order ? -1 : x->order > y->order;
}

int detect_rules_seal(DetectRules *r) {
        int k;

        if (r->sealed)
                return 0;
        if (r->n_rules > 1)
                qsort(r->rules, r->n_rules, sizeof(DetectRule *), rule_cmp);
        r->n_words = (r->n_rules + 63) / 64;
        if (r->n_words == 0)
                r->n_words = 1;
        /* the patterns' bits follow the rules' words */
        size_t bit = r->n_words * 64;
        for (size_t i = 0; i < r->n_rules; i++)
                for (size_t j = 0; j < r->rules[i]->n_patterns; j++)
                        r->rules[i]->patterns[j].bit = bit++;
        r->n_cand_words = (bit + 63) / 64;
        r->always = calloc(r->n_words, sizeof(uint64_t));
        if (!r->always)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_rules; i++)
                if (r->rules[i]->always)
                        r->always[i / 64] |= UINT64_C(1) << (i % 64);
        k = detect_prefilter_new(r, &r->prefilter);
        if (k < 0) {
                free(r->always);
                r->always = NULL;
                return k;
        }
        r->sealed = true;
        return 0;
}

char **detect_rules_patterns(const DetectRules *r) {
        size_t n = 0, k = 0;
        char **l;

        for (size_t i = 0; i < r->n_rules; i++)
                n += r->rules[i]->n_patterns;
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (size_t i = 0; i < r->n_rules; i++)
                for (size_t j = 0; j < r->rules[i]->n_patterns; j++) {
                        l[k] = strdup(r->rules[i]->patterns[j].source);
                        if (!l[k])
                                return strv_free(l);
                        k++;
                }
        return l;
}
