/* SPDX-License-Identifier: MIT */
/*
 * The detection engine: per-stream assembly of multi-line blocks, prefilter,
 * classification by the rules and construction of findings. See engine.h for
 * the block kinds and the contract. Memory is bounded per stream by the line
 * and block limits and the number of streams by max_streams. One thread at a
 * time per engine; no I/O, no timers, no logging.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect-internal.h"
#include "shared/parse.h"
#include "detect/engine.h"
#include "detect/fingerprint.h"
#include "shared/cleanup.h"

/* Rules at or below this priority are the generic catch-alls. */
#define GENERIC_PRIORITY_MAX 10
/* One failure is usually reported again by every tool up the chain: Dart
 * errors, then Gradle's FAILURE report, then "Exception: Gradle task
 * assembleDebug failed"; pub's explanation, then "pub get failed". A finding
 * within this many lines after a reported one in the same stream, with no
 * higher priority, and of the same category, a generic rule, or a "build
 * failed" category, is such an echo and is not reported again. */
#define ECHO_WINDOW_LINES 25
/* ... unless the caller's clock says it came much later. */
#define ECHO_WINDOW_IDLE_FACTOR 5
/* A finding decided by a headline ("FAILURE: Build failed", "pub get
 * failed") waits this many lines for a cause printed right after the
 * report (Gradle's "Exhausted heap space" after its "* Get more help"):
 * a cause in that window decides, and keeps the headline's title. */
#define DEFER_WINDOW_LINES 10
/* Past the limits a block still absorbs its own continuation lines (so they do
 * not turn into spurious one-line findings), but only up to this factor. */
#define ABSORB_FACTOR 8
#define TITLE_MAX 300
/* How many distributions a stream remembers pip calling installed (pip
 * install -r lists every requirement), and the longest name read (a longer
 * one is not remembered). */
#define PIP_SATISFIED_MAX 64
#define PIP_NAME_MAX 63
#define PARAM_MAX 256

typedef enum BlockKind {
        BLOCK_NONE,
        BLOCK_PY,
        BLOCK_GRADLE,
        BLOCK_PUB,
        BLOCK_DART,
        BLOCK_UNHANDLED,
        BLOCK_FLUTTER_BOX,
        BLOCK_PIP,
        BLOCK_PODS,
        BLOCK_XCODE,
} BlockKind;

enum {
        GRADLE_REPORT,                          /* from FAILURE: to "* Get more help at" */
        GRADLE_AFTER_HELP,
        GRADLE_HEADERLESS,                      /* from "* What went wrong:" or "> Could not resolve all" */
        GRADLE_HEADERLESS_CAUSES,
};

enum {
        PY_FRAMES,
        PY_AFTER_EXCEPTION,
        PY_CHAIN,
};

typedef enum Step {
        STEP_CONTINUE,                          /* line belongs to the block */
        STEP_CONTINUE_KEEP,                     /* ... and is kept even past the limits */
        STEP_END_WITH,                          /* line belongs to the block and ends it */
        STEP_END_BEFORE,                        /* block ended before this line */
        STEP_BLANK,                             /* blank line, undecided */
} Step;

typedef struct Stream {
        char *key;
        uint64_t hash;
        struct Stream *next;
        uint64_t last_used;
        uint64_t line_no;
        /* the last reported finding, for echo suppression */
        uint64_t echo_line, echo_ts;
        int echo_priority;
        Category echo_category;
        char echo_fingerprint[DETECT_FINGERPRINT_HEX_LEN + 1];
        /* a headline's finding waiting for a cause (DEFER_WINDOW_LINES) */
        Finding *deferred;
        uint64_t deferred_until, deferred_ts;

        DetectBuf partial;                      /* detect_engine_feed_data() remainder */
        bool partial_overflow;

        /* a line that may continue on the next one (terminal wrap) */
        DetectBuf held;
        bool holding;
        size_t held_columns, held_quote_columns;
        uint64_t held_first, held_last, held_ts;

        BlockKind kind;
        int sub;
        DetectBuf text;
        size_t n_lines, n_blank, omitted;
        bool marker_placed;
        uint64_t line_start, line_end, ts_start, ts_last;
        uint64_t rt_start, rt_now;              /* wall clock of the block's first line, the line's */
        uint64_t *cand;

        /* The raw lines a caller must feed again after a restart to get back
         * here (detect_engine_pending_lines() of them, the newest last): per
         * line a 4-byte length, the 8-byte wall-clock time, the bytes (LE). */
        DetectBuf pending;
        size_t n_pending;
        bool pending_dirty;                     /* changed since detect_engine_foreach_dirty() */
        void *data;                             /* the caller's, see set_stream_data() */

        /* Distributions pip said are installed ("Requirement already
         * satisfied: pyyaml in ..."), as hashes of the normalized names,
         * the newest last: an install of one of them would change nothing
         * (a collision only withholds a fix). */
        uint64_t satisfied[PIP_SATISFIED_MAX];
        size_t n_satisfied;
} Stream;

/* What one rule spent on PCRE2's limits in its current window of tries. */
typedef struct RuleBudget {
        uint32_t runs, hits;
        bool disabled;
} RuleBudget;

struct DetectEngine {
        DetectRules *rules;
        DetectOptions opts;
        Stream **buckets;
        size_t n_buckets, n_streams;
        uint64_t use_counter;
        DetectBuf line;
        uint64_t *line_bits;
        bool line_bits_set;                     /* not all zero: clear before the next line */
        pcre2_match_data *md, *md_exclude;
        pcre2_match_context *mctx;
        RuleBudget *budget;                     /* one per rule, in sorted order */
        size_t *disabled;                       /* rule indexes, in the order disabled */
        DetectStats stats;
};

/* ---- streams ---- */

static uint64_t hash_key(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT64_C(0x100000001b3);
        return h;
}

static void block_reset(Stream *s) {
        s->kind = BLOCK_NONE;
        s->sub = 0;
        /* Idle streams keep at most a small buffer: many streams times the
         * block limit would otherwise stay allocated. */
        if (s->text.cap > 4096)
                detect_buf_done(&s->text);
        else
                detect_buf_clear(&s->text);
        s->n_lines = s->n_blank = s->omitted = 0;
        s->marker_placed = false;
        s->line_start = s->line_end = s->ts_start = s->rt_start = 0;
}

static Stream *stream_free(DetectEngine *e, Stream *s) {
        if (!s)
                return NULL;
        if (s->data && e->opts.stream_data_free)
                e->opts.stream_data_free(s->data);
        detect_buf_done(&s->pending);
        free(s->key);
        detect_buf_done(&s->partial);
        detect_buf_done(&s->held);
        detect_buf_done(&s->text);
        finding_free(s->deferred);
        free(s->cand);
        free(s);
        return NULL;
}

static void engine_unlink(DetectEngine *e, Stream *s) {
        for (Stream **p = &e->buckets[s->hash & (e->n_buckets - 1)]; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        e->n_streams--;
                        return;
                }
}

static Stream *engine_find(DetectEngine *e, const char *key, uint64_t h) {
        for (Stream *s = e->buckets[h & (e->n_buckets - 1)]; s; s = s->next)
                if (s->hash == h && strcmp(s->key, key) == 0)
                        return s;
        return NULL;
}

static int engine_grow(DetectEngine *e) {
        size_t nb = e->n_buckets * 2;
        Stream **b = calloc(nb, sizeof(Stream *));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < e->n_buckets; i++)
                for (Stream *s = e->buckets[i], *next; s; s = next) {
                        next = s->next;
                        s->next = b[s->hash & (nb - 1)];
                        b[s->hash & (nb - 1)] = s;
                }
        free(e->buckets);
        e->buckets = b;
        e->n_buckets = nb;
        return 0;
}

static int block_finish(DetectEngine *e, Stream *s, DetectFindingFunc cb, void *userdata);
static int stream_finish(DetectEngine *e, Stream *s, DetectFindingFunc cb, void *userdata);

/* Finds or creates the stream; when at the limit the least recently used one
 * is finished (its block reported) and dropped. */
static int engine_stream(DetectEngine *e, const char *key, DetectFindingFunc cb, void *userdata,
                         Stream **ret) {
        uint64_t h = hash_key(key);
        Stream *s;
        int r;

        s = engine_find(e, key, h);
        if (s) {
                s->last_used = ++e->use_counter;
                *ret = s;
                return 0;
        }
        if (e->n_streams >= e->opts.max_streams) {
                Stream *victim = NULL;

                for (size_t i = 0; i < e->n_buckets; i++)
                        for (Stream *t = e->buckets[i]; t; t = t->next)
                                if (!victim || t->last_used < victim->last_used)
                                        victim = t;
                assert(victim);
                r = stream_finish(e, victim, cb, userdata);
                engine_unlink(e, victim);
                stream_free(e, victim);
                if (r < 0)
                        return r;
        }
        if (e->n_streams >= e->n_buckets) {
                r = engine_grow(e);
                if (r < 0)
                        return r;
        }
        s = calloc(1, sizeof(Stream));
        if (!s)
                return -ENOMEM;
        s->key = strdup(key);
        s->cand = calloc(e->rules->n_cand_words, sizeof(uint64_t));
        if (!s->key || !s->cand) {
                stream_free(e, s);
                return -ENOMEM;
        }
        s->hash = h;
        s->last_used = ++e->use_counter;
        s->next = e->buckets[h & (e->n_buckets - 1)];
        e->buckets[h & (e->n_buckets - 1)] = s;
        e->n_streams++;
        *ret = s;
        return 0;
}

/* ---- engine lifecycle ---- */

int detect_engine_new(DetectRules *rules, const DetectOptions *opts, DetectEngine **ret) {
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        int r;

        assert(rules);
        r = detect_rules_seal(rules);
        if (r < 0)
                return r;
        e = calloc(1, sizeof(DetectEngine));
        if (!e)
                return -ENOMEM;
        e->opts = opts ? *opts : (DetectOptions) {};
        if (e->opts.max_line_length == 0)
                e->opts.max_line_length = DETECT_OPTIONS_DEFAULT_LINE_LENGTH;
        if (e->opts.max_block_lines == 0)
                e->opts.max_block_lines = DETECT_OPTIONS_DEFAULT_BLOCK_LINES;
        if (e->opts.max_block_bytes == 0)
                e->opts.max_block_bytes = DETECT_OPTIONS_DEFAULT_BLOCK_BYTES;
        if (e->opts.idle_timeout_usec == 0)
                e->opts.idle_timeout_usec = DETECT_OPTIONS_DEFAULT_IDLE_USEC;
        if (e->opts.max_streams == 0)
                e->opts.max_streams = DETECT_OPTIONS_DEFAULT_STREAMS;
        if (e->opts.max_line_length < 16 || e->opts.max_block_bytes < e->opts.max_line_length)
                return -EINVAL;
        e->rules = detect_rules_ref(rules);
        e->n_buckets = 64;
        e->buckets = calloc(e->n_buckets, sizeof(Stream *));
        e->line_bits = calloc(rules->n_cand_words, sizeof(uint64_t));
        e->md = pcre2_match_data_create(32, NULL);
        e->md_exclude = pcre2_match_data_create(1, NULL);
        e->mctx = pcre2_match_context_create(NULL);
        e->budget = calloc(rules->n_rules ?: 1, sizeof(RuleBudget));
        e->disabled = calloc(rules->n_rules ?: 1, sizeof(size_t));
        if (!e->buckets || !e->line_bits || !e->md || !e->md_exclude || !e->mctx || !e->budget ||
            !e->disabled)
                return -ENOMEM;
        /* Bound the work a pathological pattern/subject pair can cause; hitting
         * a limit counts as no match (stats.match_errors). */
        pcre2_set_match_limit(e->mctx, 200000);
        pcre2_set_depth_limit(e->mctx, 5000);
        pcre2_set_heap_limit(e->mctx, 20000); /* KiB */
        *ret = TAKE_PTR(e);
        return 0;
}

DetectEngine *detect_engine_free(DetectEngine *e) {
        if (!e)
                return NULL;
        if (e->buckets)
                for (size_t i = 0; i < e->n_buckets; i++)
                        for (Stream *s = e->buckets[i], *next; s; s = next) {
                                next = s->next;
                                stream_free(e, s);
                        }
        free(e->buckets);
        detect_buf_done(&e->line);
        free(e->line_bits);
        pcre2_match_data_free(e->md);
        pcre2_match_data_free(e->md_exclude);
        pcre2_match_context_free(e->mctx);
        free(e->budget);
        free(e->disabled);
        detect_rules_unref(e->rules);
        free(e);
        return NULL;
}

void detect_engine_get_stats(const DetectEngine *e, DetectStats *ret) {
        *ret = e->stats;
}

int detect_engine_get_disabled_rule(const DetectEngine *e, size_t n, DetectDisabledRule *ret) {
        const DetectRule *rule;

        if (n >= e->stats.rules_disabled)
                return -ENOENT;
        rule = e->rules->rules[e->disabled[n]];
        *ret = (DetectDisabledRule) {
                .name = rule->name,
                .file = rule->file,
                .line = rule->line,
                .limit_hits = e->budget[e->disabled[n]].hits,
        };
        return 0;
}

/* ---- line predicates ---- */

static bool is_blank(const char *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!isspace((unsigned char) l[i]))
                        return false;
        return true;
}

static bool starts_ws(const char *l, size_t n) {
        return n > 0 && (l[0] == ' ' || l[0] == '\t');
}

#define STARTS(l, n, s) detect_startswith((l), (n), (s))
#define CONTAINS(l, n, s) (detect_memmem_str((l), (n), (s)) != NULL)

static bool is_digits(const char *l, size_t n, size_t *i) {
        size_t start = *i;

        while (*i < n && isdigit((unsigned char) l[*i]))
                (*i)++;
        return *i > start;
}

/* "path/file.dart:12:5: Error: ..." */
static bool is_dart_header(const char *l, size_t n) {
        const char *p = l;

        while ((p = memmem(p, n - (size_t) (p - l), ".dart:", 6))) {
                size_t i = (size_t) (p - l) + 6;

                p += 6;
                if (!is_digits(l, n, &i) || i >= n || l[i] != ':')
                        continue;
                i++;
                if (!is_digits(l, n, &i))
                        continue;
                if (detect_startswith(l + i, n - i, ": Error: "))
                        return true;
                /* the web compiler and a terminal wrap put "Error: ..." on
                 * the next line: "lib/main.dart:3:8:" ends the line */
                if (i < n && l[i] == ':' && is_blank(l + i + 1, n - i - 1))
                        return true;
        }
        return false;
}

/* '  File "x.py", line 3' */
static bool is_py_file_line(const char *l, size_t n) {
        size_t i = 0;
        const char *q;

        while (i < n && (l[i] == ' ' || l[i] == '\t'))
                i++;
        if (!detect_startswith(l + i, n - i, "File \""))
                return false;
        q = memmem(l + i + 6, n - i - 6, "\", line ", 8);
        if (!q)
                return false;
        i = (size_t) (q - l) + 8;
        return is_digits(l, n, &i);
}

static bool is_box_end(const char *l, size_t n) {
        size_t count = 0;

        /* a line of '═' (U+2550, e2 95 90) only */
        for (size_t i = 0; i < n;) {
                if (i + 3 <= n && memcmp(l + i, "\xe2\x95\x90", 3) == 0) {
                        count++;
                        i += 3;
                } else if (l[i] == ' ')
                        i++;
                else
                        return false;
        }
        return count >= 3;
}

static bool is_xcode_line(const char *l, size_t n) {
        static const char *const prefixes[] = {
                "\xe2\x86\xb3", "Could not build the", "Encountered error while building",
                "** BUILD FAILED **", "** ARCHIVE FAILED **", "Failed to build iOS app",
                "Error launching application", "(1 failure)", "Encountered error while archiving",
                "Error output from Xcode build", "Xcode's output", "error: ", "note: ", "warning: ",
                "Command PhaseScriptExecution failed", "The following build commands failed",
                "Error (Xcode)", "Uncategorized (Xcode)",
        };

        if (starts_ws(l, n) || CONTAINS(l, n, "(Xcode): "))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (STARTS(l, n, prefixes[i]))
                        return true;
        return false;
}

/* A top-level cause of Gradle's report: its "> " went with the quote
 * markers (detect_line_clean() cannot tell Gradle's from a paste's), so
 * the openers Gradle's causes use say that the line is still the report. */
static bool is_gradle_cause(const char *l, size_t n) {
        static const char *const openers[] = {
                "Could not ", "A problem occurred ", "Failed to ", "Execution failed for ",
                "Cannot ", "Unable to ", "Connection ", "Connect to ", "Read timed out",
                /* the "* Try:" section */
                "Run with ", "Get more help at ",
        };

        for (size_t i = 0; i < ELEMENTSOF(openers); i++)
                if (STARTS(l, n, openers[i]))
                        return true;
        return false;
}

/* ---- assembly ---- */

static BlockKind block_start(const char *l, size_t n, uint32_t hints, int *ret_sub, bool *ret_done) {
        *ret_sub = 0;
        *ret_done = false;

        /* most lines hold none of the literals that can start a block */
        if (hints == 0)
                return BLOCK_NONE;
        if ((hints & DETECT_HINT_PY_TRACEBACK) && CONTAINS(l, n, "Traceback (most recent call last):"))
                return BLOCK_PY;
        if ((hints & DETECT_HINT_PY_FILE) && is_py_file_line(l, n))
                return BLOCK_PY;
        if ((hints & DETECT_HINT_GRADLE) &&
            (STARTS(l, n, "FAILURE: Build failed") || STARTS(l, n, "FAILURE: Build completed")))
                return BLOCK_GRADLE;
        /* Gradle's report without its FAILURE header (pasted from the
         * middle, or a tool that prints only the report): its nested "> "
         * causes still belong to one block, so that the cause at the bottom
         * decides and the report is one finding, not one per level. */
        if ((hints & DETECT_HINT_GRADLE) &&
            (STARTS(l, n, "* What went wrong:") || STARTS(l, n, "Could not resolve all "))) {
                *ret_sub = STARTS(l, n, "* ") ? GRADLE_HEADERLESS : GRADLE_HEADERLESS_CAUSES;
                return BLOCK_GRADLE;
        }
        if ((hints & DETECT_HINT_PUB) && STARTS(l, n, "Because ") &&
            (CONTAINS(l, n, "depends on") || CONTAINS(l, n, "requires") ||
             CONTAINS(l, n, "no versions") || CONTAINS(l, n, "incompatible") ||
             CONTAINS(l, n, "doesn't") || CONTAINS(l, n, "forbidden"))) {
                *ret_done = CONTAINS(l, n, "version solving failed");
                return BLOCK_PUB;
        }
        if ((hints & DETECT_HINT_FLUTTER_BOX) && CONTAINS(l, n, "EXCEPTION CAUGHT BY"))
                return BLOCK_FLUTTER_BOX;
        if (hints & DETECT_HINT_UNHANDLED) {
                const char *p = detect_memmem_str(l, n, "Unhandled exception:");

                if (!p)
                        p = detect_memmem_str(l, n, "Unhandled Exception:");
                if (p) {
                        /* The message follows on the next line unless it is on this one. */
                        *ret_sub = !is_blank(p + 20, n - (size_t) (p + 20 - l));
                        return BLOCK_UNHANDLED;
                }
        }
        if (((hints & DETECT_HINT_DART) && is_dart_header(l, n)) ||
            ((hints & DETECT_HINT_ERROR) && STARTS(l, n, "Error: ")))
                return BLOCK_DART;
        if ((hints & DETECT_HINT_ERROR) && (STARTS(l, n, "ERROR: ") || STARTS(l, n, "error: ")))
                return BLOCK_PIP;
        if ((hints & DETECT_HINT_PODS) &&
            (STARTS(l, n, "[!] ") || STARTS(l, n, "Error output from CocoaPods:")))
                return BLOCK_PODS;
        if ((hints & DETECT_HINT_XCODE) &&
            (STARTS(l, n, "Failed to build iOS app") || CONTAINS(l, n, "Xcode's output:") ||
             STARTS(l, n, "Error output from Xcode build:") || STARTS(l, n, "** BUILD FAILED **") ||
             STARTS(l, n, "** ARCHIVE FAILED **") ||
             STARTS(l, n, "The following build commands failed:") || CONTAINS(l, n, "(Xcode): ")))
                return BLOCK_XCODE;
        return BLOCK_NONE;
}

/* Whether l is exactly the first line of the stream's open block. */
static bool repeats_first_line(const Stream *s, const char *l, size_t n) {
        const char *nl;
        size_t first;

        if (s->text.len == 0)
                return false;
        nl = memchr(s->text.data, '\n', s->text.len);
        first = nl ? (size_t) (nl - s->text.data) : s->text.len;
        return first == n && memcmp(s->text.data, l, n) == 0;
}

static Step block_step(Stream *s, const char *l, size_t n, bool blank, uint32_t hints) {
        switch (s->kind) {
        case BLOCK_PY:
                if (blank)
                        return STEP_BLANK;
                switch (s->sub) {
                case PY_FRAMES:
                        if (starts_ws(l, n) || CONTAINS(l, n, "Traceback (most recent call last):"))
                                return STEP_CONTINUE;
                        /* the exception line */
                        s->sub = PY_AFTER_EXCEPTION;
                        return STEP_CONTINUE_KEEP;
                case PY_AFTER_EXCEPTION:
                        if (STARTS(l, n, "During handling of the above exception") ||
                            STARTS(l, n, "The above exception was the direct cause")) {
                                s->sub = PY_CHAIN;
                                return STEP_CONTINUE;
                        }
                        /* indented detail lines right under the exception */
                        if (starts_ws(l, n) && s->n_blank == 0)
                                return STEP_CONTINUE;
                        return STEP_END_BEFORE;
                case PY_CHAIN:
                        if ((hints & DETECT_HINT_PY_TRACEBACK) &&
                            CONTAINS(l, n, "Traceback (most recent call last):")) {
                                s->sub = PY_FRAMES;
                                return STEP_CONTINUE;
                        }
                        return STEP_END_BEFORE;
                }
                return STEP_END_BEFORE;
        case BLOCK_GRADLE:
                if (STARTS(l, n, "BUILD FAILED"))
                        return STEP_END_WITH;
                if (blank)
                        return STEP_BLANK;
                if (s->sub >= GRADLE_HEADERLESS) {
                        /* Without the header the block holds only the
                         * report's own lines: the line under "What went
                         * wrong", its "> " causes, the "* " sections and
                         * indented stack frames. */
                        if (STARTS(l, n, "* Get more help at"))
                                return STEP_END_WITH;
                        if (s->sub == GRADLE_HEADERLESS) {
                                s->sub = GRADLE_HEADERLESS_CAUSES;
                                if (s->n_blank == 0)
                                        return STEP_CONTINUE;
                        }
                        if (STARTS(l, n, "* ") || STARTS(l, n, "> ") || starts_ws(l, n) ||
                            is_gradle_cause(l, n))
                                return STEP_CONTINUE;
                        return STEP_END_BEFORE;
                }
                if (s->sub == GRADLE_REPORT) {
                        if (STARTS(l, n, "* Get more help at"))
                                s->sub = GRADLE_AFTER_HELP;
                        return STEP_CONTINUE;
                }
                return STEP_END_BEFORE;
        case BLOCK_PUB:
                if (blank)
                        return STEP_END_BEFORE;
                if (CONTAINS(l, n, "version solving failed"))
                        return STEP_END_WITH;
                return STEP_CONTINUE;
        case BLOCK_DART:
                if (blank)
                        return STEP_BLANK;
                if (((hints & DETECT_HINT_DART) && is_dart_header(l, n)) || STARTS(l, n, "Error: ")) {
                        s->sub = 0;
                        return STEP_CONTINUE;
                }
                if (starts_ws(l, n) || l[0] == '^' || STARTS(l, n, "Try ") ||
                    STARTS(l, n, "Context:") || (s->n_blank == 0 && s->sub < 2)) {
                        s->sub++;
                        return STEP_CONTINUE;
                }
                return STEP_END_BEFORE;
        case BLOCK_UNHANDLED:
                if (blank)
                        return STEP_BLANK;
                if ((n > 1 && l[0] == '#' && isdigit((unsigned char) l[1])) || starts_ws(l, n) ||
                    STARTS(l, n, "<asynchronous suspension>"))
                        return STEP_CONTINUE;
                if (s->sub == 0 && s->n_blank == 0) {
                        s->sub = 1;
                        return STEP_CONTINUE;
                }
                return STEP_END_BEFORE;
        case BLOCK_FLUTTER_BOX:
                if (blank)
                        return STEP_BLANK;
                return is_box_end(l, n) ? STEP_END_WITH : STEP_CONTINUE;
        case BLOCK_PIP:
                if (blank)
                        return STEP_BLANK;
                /* The same line again is the same failure again (a flood of
                 * identical errors), not a continuation: count each. */
                if (repeats_first_line(s, l, n))
                        return STEP_END_BEFORE;
                if (STARTS(l, n, "ERROR: ") || STARTS(l, n, "error: ") || starts_ws(l, n) ||
                    STARTS(l, n, "\xc3\x97") /* × */ || STARTS(l, n, "\xe2\x94\x82") /* │ */ ||
                    STARTS(l, n, "\xe2\x95\xb0") /* ╰ */ || STARTS(l, n, "note: ") ||
                    STARTS(l, n, "hint: ") || STARTS(l, n, "The conflict is caused by") ||
                    STARTS(l, n, "To fix this you could try") ||
                    STARTS(l, n, "Additionally, some packages") ||
                    (n > 2 && isdigit((unsigned char) l[0]) && l[1] == '.' && l[2] == ' '))
                        return STEP_CONTINUE;
                return STEP_END_BEFORE;
        case BLOCK_PODS:
                if (blank)
                        return STEP_BLANK;
                if (STARTS(l, n, "[!] ") || starts_ws(l, n) || STARTS(l, n, "You have either") ||
                    STARTS(l, n, "Error running pod install") || STARTS(l, n, "Error output from CocoaPods"))
                        return STEP_CONTINUE;
                return STEP_END_BEFORE;
        case BLOCK_XCODE:
                if (blank)
                        return STEP_BLANK;
                return is_xcode_line(l, n) ? STEP_CONTINUE : STEP_END_BEFORE;
        case BLOCK_NONE:
                break;
        }
        return STEP_END_BEFORE;
}

/* Appends a line to the open block, within the limits. Returns 1 if the block
 * has absorbed too much and must end now. */
static int block_append(DetectEngine *e, Stream *s, const char *l, size_t n, bool last) {
        bool full;
        int r;

        full = s->n_lines + s->n_blank >= e->opts.max_block_lines ||
               s->text.len + s->n_blank + n + 1 > e->opts.max_block_bytes;
        if (full && !last) {
                if (s->omitted == 0)
                        e->stats.truncated_blocks++;
                s->omitted += 1 + s->n_blank;
                s->n_blank = 0;
                return s->omitted > ABSORB_FACTOR * e->opts.max_block_lines;
        }
        if (s->omitted > 0 && !s->marker_placed) {
                r = detect_buf_printf(&s->text, "\n[... %zu lines omitted ...]", s->omitted);
                if (r < 0)
                        return r;
                s->marker_placed = true;
        }
        for (; s->n_blank > 0; s->n_blank--) {
                r = detect_buf_putc(&s->text, '\n');
                if (r < 0)
                        return r;
                s->n_lines++;
        }
        if (s->text.len > 0 || s->n_lines > 0) {
                r = detect_buf_putc(&s->text, '\n');
                if (r < 0)
                        return r;
        }
        r = detect_buf_append(&s->text, l, n);
        if (r < 0)
                return r;
        s->n_lines++;
        for (size_t w = 0; w < e->rules->n_cand_words; w++)
                s->cand[w] |= e->line_bits[w];
        return 0;
}

/* ---- classification ---- */

static int finding_add_param(Finding *f, const char *name, const char *value, size_t len) {
        DetectParam *np;
        char *n, *v;

        len = detect_utf8_truncate(value, len, PARAM_MAX);
        n = strdup(name);
        v = detect_utf8_sanitize(value, len);
        np = n && v ? reallocarray(f->params, f->n_params + 1, sizeof(DetectParam)) : NULL;
        if (!np) {
                free(n);
                free(v);
                return -ENOMEM;
        }
        f->params = np;
        np[f->n_params++] = (DetectParam) { .name = n, .value = v };
        return 0;
}

/* Expands ${name} in the rule's fix template. Returns 1 when the result is
 * usable, 0 when a parameter is missing or invalid (the fix becomes "none"). */
static int expand_fix(const Finding *f, const char *tmpl, char **ret) {
        DetectBuf b = {};
        int r;

        for (const char *p = tmpl; *p;) {
                const char *open = strstr(p, "${"), *close, *v;
                char name[64];

                if (!open) {
                        r = detect_buf_append(&b, p, strlen(p));
                        if (r < 0)
                                goto fail;
                        break;
                }
                r = detect_buf_append(&b, p, (size_t) (open - p));
                if (r < 0)
                        goto fail;
                close = strchr(open, '}');
                if (!close || (size_t) (close - open - 2) >= sizeof(name)) {
                        detect_buf_done(&b);
                        return 0;
                }
                memcpy(name, open + 2, (size_t) (close - open - 2));
                name[close - open - 2] = 0;
                v = finding_get_param(f, name);
                if (!v || !*v) {
                        detect_buf_done(&b);
                        return 0;
                }
                r = detect_buf_append(&b, v, strlen(v));
                if (r < 0)
                        goto fail;
                p = close + 1;
        }
        *ret = detect_buf_steal(&b);
        if (!*ret)
                return -ENOMEM;
        if (strncmp(*ret, "pip_install:", 12) == 0 && !python_dist_name_valid(*ret + 12)) {
                free(*ret);
                *ret = NULL;
                return 0;
        }
        return 1;
fail:
        detect_buf_done(&b);
        return r;
}

/* title_at: offset of the match that gives the title, SIZE_MAX for the
 * deciding match's own. */
static int build_finding(DetectEngine *e, Stream *s, const DetectRule *rule, const DetectPattern *pat,
                         const char *text, size_t len, size_t title_at, Finding **ret) {
        _cleanup_(finding_freep) Finding *f = NULL;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        uint32_t namecount = 0, entrysize = 0;
        PCRE2_SPTR table = NULL;
        const char *ls, *le;
        char *fix = NULL;
        int r;

        f = calloc(1, sizeof(Finding));
        if (!f)
                return -ENOMEM;
        f->category = rule->category;
        f->severity = rule->severity;
        f->priority = rule->priority;
        f->line_start = s->line_start;
        f->line_end = s->line_end;
        f->timestamp_usec = s->ts_start;
        f->realtime_usec = s->rt_start;
        f->rule = strdup(rule->name);
        f->stream = strdup(s->key);
        if (!f->rule || !f->stream)
                return -ENOMEM;

        /* Title: the line the deciding match (or the headline) starts on. */
        if (title_at != SIZE_MAX)
                ls = text + (title_at <= len ? title_at : 0);
        else {
                ls = text + (ov[0] <= len ? ov[0] : 0);
                if (ls < text + len && *ls == '\n' && ov[1] > ov[0])
                        ls++;
        }
        while (ls > text && ls[-1] != '\n')
                ls--;
        le = memchr(ls, '\n', len - (size_t) (ls - text));
        if (!le)
                le = text + len;
        while (ls < le && (*ls == ' ' || *ls == '\t'))
                ls++;
        f->title = detect_utf8_sanitize(ls, detect_utf8_truncate(ls, (size_t) (le - ls), TITLE_MAX));
        f->excerpt = detect_utf8_sanitize(text, len);
        if (!f->title || !f->excerpt)
                return -ENOMEM;

        (void) pcre2_pattern_info(pat->code, PCRE2_INFO_NAMECOUNT, &namecount);
        (void) pcre2_pattern_info(pat->code, PCRE2_INFO_NAMEENTRYSIZE, &entrysize);
        (void) pcre2_pattern_info(pat->code, PCRE2_INFO_NAMETABLE, &table);
        for (uint32_t i = 0; i < namecount && table; i++) {
                const unsigned char *ent = table + (size_t) i * entrysize;
                unsigned g = (unsigned) (ent[0] << 8 | ent[1]);

                if (g >= pcre2_get_ovector_count(e->md) || ov[2 * g] == PCRE2_UNSET ||
                    finding_get_param(f, (const char *) ent + 2))
                        continue;
                r = finding_add_param(f, (const char *) ent + 2, text + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
                if (r < 0)
                        return r;
        }
        if (finding_get_param(f, "module") && !finding_get_param(f, "distribution")) {
                char buf[PARAM_MAX + 1];
                const char *d = detect_python_distribution(finding_get_param(f, "module"), buf, sizeof buf);

                if (d) {
                        r = finding_add_param(f, "distribution", d, strlen(d));
                        if (r < 0)
                                return r;
                }
        }

        r = expand_fix(f, rule->fix, &fix);
        if (r < 0)
                return r;
        f->fix = r > 0 ? fix : strdup("none");
        if (!f->fix)
                return -ENOMEM;
        f->auto_fixable = rule->auto_fixable && r > 0 && strcmp(f->fix, "none") != 0 &&
                          detect_category_fixable(rule->category);
        /* A catch-all names no problem of its own, so no fix can be its. */
        if (rule->priority <= GENERIC_PRIORITY_MAX && strcmp(f->fix, "none") != 0) {
                free(f->fix);
                f->fix = strdup("none");
                if (!f->fix)
                        return -ENOMEM;
                f->auto_fixable = false;
        }

        /* "No module named X" names a module, not a distribution on PyPI: X
         * may be the project's own, a typo, or a name registered on PyPI to
         * catch that typo. Only the well-known import names vouch for
         * themselves; any other install waits for the app's own declaration
         * (requirements, pyproject, Pipfile), which the fixer reads. */
        if (f->auto_fixable && strncmp(f->fix, "pip_install:", strlen("pip_install:")) == 0 &&
            !detect_python_distribution_known(f->fix + strlen("pip_install:")))
                f->needs_declaration = true;

        r = detect_fingerprint(f->category, f->excerpt, strlen(f->excerpt), f->fingerprint);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

/* Tries pattern p of rule ri. Each limit hit costs about as much as
 * match_limit steps (~1 ms), so a rule that hits them on many of its tries
 * could stall the caller for as long as its input lasts: after
 * DETECT_RULE_LIMIT_HITS hits within DETECT_RULE_LIMIT_WINDOW tries it is
 * disabled for the engine's lifetime. The window lets a rule that only
 * rarely meets a pathological line keep working. */
static bool pattern_matches(DetectEngine *e, pcre2_match_data *md, size_t ri,
                            const DetectPattern *p, const char *text, size_t len) {
        RuleBudget *b = &e->budget[ri];
        int rc;

        if (b->disabled)
                return false;
        e->stats.regex_runs++;
        rc = pcre2_match(p->code, (PCRE2_SPTR) text, len, 0, 0, md, e->mctx);
        if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH) {
                if (++b->runs >= DETECT_RULE_LIMIT_WINDOW)
                        b->runs = b->hits = 0;
                return rc >= 0;
        }
        e->stats.match_errors++;
        b->runs++;
        if (++b->hits >= DETECT_RULE_LIMIT_HITS) {
                b->disabled = true;
                e->disabled[e->stats.rules_disabled++] = ri;
        }
        return false;
}

static bool is_echo(const DetectEngine *e, const Stream *s, const DetectRule *winner) {
        if (s->echo_line == 0 || s->line_start > s->echo_line + ECHO_WINDOW_LINES)
                return false;
        if (s->ts_start > 0 && s->echo_ts > 0 && s->ts_start > s->echo_ts &&
            s->ts_start - s->echo_ts > ECHO_WINDOW_IDLE_FACTOR * e->opts.idle_timeout_usec)
                return false;
        if (winner->priority > s->echo_priority)
                return false;
        /* Two catch-all matches in a row are no evidence of one failure. */
        if (winner->priority <= GENERIC_PRIORITY_MAX && s->echo_priority <= GENERIC_PRIORITY_MAX)
                return false;
        return winner->priority <= GENERIC_PRIORITY_MAX || winner->category == s->echo_category ||
               winner->category == CATEGORY_FLUTTER_BUILD ||
               winner->category == CATEGORY_OTHER;
}

static bool is_candidate(const DetectEngine *e, const uint64_t *cand, size_t i) {
        uint64_t bit = UINT64_C(1) << (i % 64);

        if (e->budget[i].disabled)
                return false;
        return e->opts.no_prefilter || (cand[i / 64] & bit) || (e->rules->always[i / 64] & bit);
}

/* Whether pattern p might match a block whose candidate bits are cand: its
 * own literal is in the block, or it has none. */
static bool pattern_candidate(const DetectPattern *p, const uint64_t *cand) {
        return p->n_literals == 0 || (cand[p->bit / 64] & (UINT64_C(1) << (p->bit % 64)));
}

/* Whether rule matches text and none of its excludes does; the match is in md. */
static bool rule_matches(DetectEngine *e, pcre2_match_data *md, size_t ri, const uint64_t *cand,
                         const char *text, size_t len, const DetectPattern **ret_pattern) {
        const DetectRule *rule = e->rules->rules[ri];
        const DetectPattern *pat = NULL;

        for (size_t j = 0; j < rule->n_patterns && !pat; j++)
                if (pattern_candidate(&rule->patterns[j], cand) &&
                    pattern_matches(e, md, ri, &rule->patterns[j], text, len))
                        pat = &rule->patterns[j];
        if (!pat)
                return false;
        /* Excludes use their own match data: the winner's must survive. An
         * exclude that hit a limit is no evidence either way; a rule
         * disabled by it meanwhile decides nothing. */
        for (size_t j = 0; j < rule->n_excludes; j++)
                if (pattern_matches(e, e->md_exclude, ri, &rule->excludes[j], text, len))
                        return false;
        if (e->budget[ri].disabled)
                return false;
        if (ret_pattern)
                *ret_pattern = pat;
        return true;
}

/* Offset of the first line a headline rule matches in a multi-line block,
 * or SIZE_MAX. Rules are sorted, so the first is the most telling. */
static size_t headline_offset(DetectEngine *e, const char *text, size_t len, const uint64_t *cand) {
        const DetectRules *rules = e->rules;

        for (size_t i = 0; i < rules->n_rules; i++) {
                const DetectRule *rule = rules->rules[i];

                if (rule->role != DETECT_RULE_ROLE_HEADLINE || !is_candidate(e, cand, i))
                        continue;
                for (size_t j = 0; j < rule->n_patterns; j++)
                        if (pattern_candidate(&rule->patterns[j], cand) &&
                            pattern_matches(e, e->md_exclude, i, &rule->patterns[j], text, len)) {
                                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md_exclude);
                                size_t at = ov[0];

                                if (at < len && text[at] == '\n')
                                        at++;
                                return at;
                        }
        }
        return SIZE_MAX;
}

/* Whether a rule ranked below the winner (index w) also matches and would
 * propose another automatic fix: two readings compete, so neither fix is
 * trusted. Headlines and catch-alls name no problem and do not compete. */
static bool competing_fix(DetectEngine *e, size_t w, const char *text, size_t len, const uint64_t *cand,
                          bool multi_line) {
        const DetectRules *rules = e->rules;
        const DetectRule *winner = rules->rules[w];

        for (size_t i = w + 1; i < rules->n_rules; i++) {
                const DetectRule *rule = rules->rules[i];

                if (rule->priority <= GENERIC_PRIORITY_MAX)
                        break;
                if (!rule->auto_fixable || rule->role == DETECT_RULE_ROLE_HEADLINE ||
                    strcmp(rule->fix, winner->fix) == 0 || !is_candidate(e, cand, i) ||
                    (multi_line && rule->category == CATEGORY_NONE))
                        continue;
                if (rule_matches(e, e->md_exclude, i, cand, text, len, NULL))
                        return true;
        }
        return false;
}

static int emit(DetectEngine *e, const Finding *f, DetectFindingFunc cb, void *userdata) {
        e->stats.findings++;
        return cb ? cb(e, f, userdata) : 0;
}

/* Reports the finding a headline decided, now that no cause came. */
static int emit_deferred(DetectEngine *e, Stream *s, DetectFindingFunc cb, void *userdata) {
        _cleanup_(finding_freep) Finding *f = TAKE_PTR(s->deferred);

        return f ? emit(e, f, cb, userdata) : 0;
}

/* The first rule (by rank) ranked above limit that matches text[0..len),
 * or SIZE_MAX. */
static size_t first_match(DetectEngine *e, const char *text, size_t len, const uint64_t *cand,
                          bool multi_line, size_t limit, const DetectPattern **ret_pattern) {
        const DetectRules *rules = e->rules;

        if (limit > rules->n_rules)
                limit = rules->n_rules;
        /* the candidates' bits in rank order: a block has a few of hundreds */
        for (size_t w = 0; w < rules->n_words; w++)
                for (uint64_t m = cand[w] | rules->always[w]; m != 0; m &= m - 1) {
                        size_t i = w * 64 + (size_t) __builtin_ctzll(m);

                        if (i >= limit)
                                return SIZE_MAX;
                        if (e->budget[i].disabled)
                                continue;
                        /* "Not a failure" rules judge single lines; a multi-line
                         * block was assembled because it is a failure report. */
                        if (multi_line && rules->rules[i]->category == CATEGORY_NONE)
                                continue;
                        if (rule_matches(e, e->md, i, cand, text, len, ret_pattern))
                                return i;
                }
        return SIZE_MAX;
}

/* A message quoted in a person's own words, as issue threads and chat
 * have it: "- ", "1. " before it, "It says: " before it, or the message
 * in `backticks` or "quotes" inside a sentence. Rules anchor messages at
 * the start (and end) of a line, so such a line is tried once more as
 * the message alone. Returns the message's offset and sets its length,
 * or returns SIZE_MAX; k numbers the readings, from 0. */
static size_t lead_in(const char *l, size_t n, unsigned k, size_t *ret_len) {
        const char *p, *q;
        size_t i = 0;

        switch (k) {
        case 0: /* a list item: "- ", "* ", "+ ", "1. " (not "1) ": xcodebuild numbers its lists so) */
                if (n > 2 && strchr("-*+", l[0]) && l[1] == ' ')
                        i = 2;
                else {
                        while (i < n && i < 3 && isdigit((unsigned char) l[i]))
                                i++;
                        if (i == 0 || i + 1 >= n || l[i] != '.' || l[i + 1] != ' ')
                                return SIZE_MAX;
                        i += 2;
                }
                *ret_len = n - i;
                return i < n ? i : SIZE_MAX;
        case 1: /* `code` or "a quote" after words of one's own */
        case 2:
                p = memchr(l, k == 1 ? '`' : '"', n);
                if (!p || p == l)
                        return SIZE_MAX;
                i = (size_t) (p - l) + 1;
                q = memchr(l + i, *p, n - i);
                *ret_len = (q ? (size_t) (q - l) : n) - i;
                return *ret_len >= 8 ? i : SIZE_MAX;
        case 3: /* "It says: ", "I'm getting: " (words with a space, then ": ") */
                p = memmem(l, n < 80 ? n : 80, ": ", 2);
                if (!p || !memchr(l, ' ', (size_t) (p - l)))
                        return SIZE_MAX;
                i = (size_t) (p - l) + 2;
                while (i < n && l[i] == ' ')
                        i++;
                *ret_len = n - i;
                return *ret_len >= 8 ? i : SIZE_MAX;
        }
        return SIZE_MAX;
}

/* Where a requirement's name ends: a version specifier, extras, a marker,
 * " in PATH". */
static bool requirement_name_end(char c) {
        switch (c) {
        case ' ': case '<': case '>': case '=': case '!': case '~': case ';': case '[': case '(': case ',':
                return true;
        }
        return false;
}

static bool satisfied_has(const Stream *s, uint64_t h) {
        for (size_t j = 0; j < s->n_satisfied; j++)
                if (s->satisfied[j] == h)
                        return true;
        return false;
}

/* Remembers the distribution of pip's "Requirement already satisfied:
 * NAME[spec] in PATH" line, and of pip show's "Name: NAME" (the whole
 * line: one name). Not kept across a restart: only the lines of the open
 * block are fed again, so a restart may propose the install. */
static void remember_satisfied(Stream *s, const char *l, size_t n, uint32_t hints) {
        static const char marker[] = "Requirement already satisfied: ", shown[] = "Name: ";
        char name[PIP_NAME_MAX + 1], norm[PIP_NAME_MAX + 1];
        const char *p = NULL;
        bool show = false;
        size_t i, k = 0;
        uint64_t h;

        if ((hints & DETECT_HINT_PIP_SHOWN) && STARTS(l, n, shown)) {
                i = strlen(shown);
                show = true;
        } else if ((hints & DETECT_HINT_PIP_SATISFIED) &&
                   (p = STARTS(l, n, marker) ? l : detect_memmem_str(l, n, marker)))
                i = (size_t) (p - l) + strlen(marker);
        else
                return;
        while (i < n && k < PIP_NAME_MAX && !requirement_name_end(l[i]))
                name[k++] = l[i++];
        /* pip show's line is the name alone; pip's other one goes on after
         * it with a specifier or " in PATH" */
        if (show)
                while (i < n && (l[i] == ' ' || l[i] == '\t'))
                        i++;
        if (k == 0 || (i < n && (show || !requirement_name_end(l[i]))))
                return;
        name[k] = 0;
        if (!python_dist_name_normalize(name, norm, sizeof norm))
                return;
        h = hash_key(norm);
        if (satisfied_has(s, h))
                return;
        if (s->n_satisfied == PIP_SATISFIED_MAX) {
                memmove(s->satisfied, s->satisfied + 1, sizeof s->satisfied[0] * (PIP_SATISFIED_MAX - 1));
                s->n_satisfied--;
        }
        s->satisfied[s->n_satisfied++] = h;
}

/* Whether a pip fix installs what pip said earlier in the stream is
 * installed: a module still missing then is missing from another
 * interpreter or environment (a notebook's kernel, a second Python), and
 * installing it again where pip already has it changes nothing. */
static bool installs_satisfied(const Stream *s, const char *fix) {
        char norm[PIP_NAME_MAX + 1];

        return s->n_satisfied > 0 && strncmp(fix, "pip_install:", strlen("pip_install:")) == 0 &&
               python_dist_name_normalize(fix + strlen("pip_install:"), norm, sizeof norm) &&
               satisfied_has(s, hash_key(norm));
}

/* Classifies text[0..len) of stream s, whose candidate rules are cand, and
 * reports a finding if one results. Returns 1 if one was reported. */
static int classify(DetectEngine *e, Stream *s, const char *text, size_t len, const uint64_t *cand,
                    bool multi_line, DetectFindingFunc cb, void *userdata) {
        const DetectRules *rules = e->rules;
        _cleanup_(finding_freep) Finding *f = NULL;
        const DetectRule *winner = NULL;
        const DetectPattern *wpat = NULL;
        size_t w, title_at = SIZE_MAX;
        bool retried = false;
        int r;

        e->stats.blocks++;
        w = first_match(e, text, len, cand, multi_line, SIZE_MAX, &wpat);
        /* A line may quote a message in someone's words. The message alone
         * decides where it reads as a rule ranked above what the whole
         * line reads as (often a catch-all, or nothing), and the finding
         * is of the message alone. A list item is all its line has to
         * say, so it alone decides, whatever the whole line reads as: the
         * marker hid the anchored exceptions of "not a failure" rules and
         * of the rules themselves ("- Build failed due to use of
         * deprecated ...", "- w: ... is never used"), and the fingerprint
         * is the message's. A quote inside a sentence does not (a warning
         * that quotes an error stays a warning). Tools print "words:
         * message" themselves ("Retrying in 4 seconds: ..."), so the words
         * after "It says: " are read only where the whole line found
         * nothing but a catch-all. */
        for (unsigned k = 0; !multi_line && k < 4; k++) {
                const DetectPattern *p = NULL;
                size_t at, n, i, limit = k == 0 ? SIZE_MAX : w;

                if (k == 3 && w != SIZE_MAX && rules->rules[w]->priority > GENERIC_PRIORITY_MAX)
                        continue;
                at = lead_in(text, len, k, &n);
                if (at == SIZE_MAX)
                        continue;
                if (k == 0) {
                        /* the item as a line of its own: its decorations go
                         * too ("- ##[error]Bad credentials") */
                        _cleanup_(detect_buf_done) DetectBuf b = {};
                        DetectLineInfo info;

                        r = detect_line_clean(&b, text + at, n, &info);
                        if (r < 0)
                                return r;
                        /* no escape sequences are left in a cleaned line,
                         * so the item's text is still in place */
                        assert(info.text >= text + at && info.text + info.len <= text + at + n);
                        at = (size_t) (info.text - text);
                        n = info.len;
                }
                retried = true;
                i = first_match(e, text + at, n, cand, false, limit, &p);
                if (k == 0 || (i != SIZE_MAX && (i <= w || rules->rules[i]->priority > GENERIC_PRIORITY_MAX))) {
                        w = i, wpat = p, text += at, len = n;
                        retried = false;
                        break;
                }
        }
        if (w == SIZE_MAX)
                return 0;
        /* the finding's parameters come from the winner's match data */
        if (retried && !rule_matches(e, e->md, w, cand, text, len, &wpat))
                return 0;
        winner = rules->rules[w];
        if (winner->category == CATEGORY_NONE)
                return 0;
        /* The cause decides; the headline still says what failed. */
        if (winner->role == DETECT_RULE_ROLE_CAUSE && multi_line)
                title_at = headline_offset(e, text, len, cand);

        r = build_finding(e, s, winner, wpat, text, len, title_at, &f);
        if (r < 0)
                return r;
        if (f->auto_fixable &&
            (competing_fix(e, w, text, len, cand, multi_line) || installs_satisfied(s, f->fix))) {
                free(f->fix);
                f->fix = strdup("none");
                if (!f->fix)
                        return -ENOMEM;
                f->auto_fixable = false;
        }
        /* The very same failure again is a repeat to count, not an echo. */
        if (is_echo(e, s, winner) && strcmp(f->fingerprint, s->echo_fingerprint) != 0) {
                s->echo_line = s->line_end;
                s->echo_ts = s->ts_start;
                e->stats.echoes++;
                return 0;
        }
        s->echo_line = s->line_end;
        s->echo_ts = s->ts_start;
        s->echo_priority = winner->priority;
        s->echo_category = winner->category;
        memcpy(s->echo_fingerprint, f->fingerprint, sizeof s->echo_fingerprint);
        if (s->deferred && winner->role == DETECT_RULE_ROLE_CAUSE) {
                /* The cause decides; the headline still says what failed. */
                char *t = strdup(s->deferred->title);

                if (!t)
                        return -ENOMEM;
                free(f->title);
                f->title = t;
                f->line_start = s->deferred->line_start;
                f->timestamp_usec = s->deferred->timestamp_usec;
                f->realtime_usec = s->deferred->realtime_usec;
                s->deferred = finding_free(s->deferred);
        } else {
                r = emit_deferred(e, s, cb, userdata);
                if (r < 0)
                        return r;
        }
        if (winner->role == DETECT_RULE_ROLE_HEADLINE) {
                s->deferred = TAKE_PTR(f);
                s->deferred_until = s->line_end + DEFER_WINDOW_LINES;
                s->deferred_ts = s->ts_last > s->ts_start ? s->ts_last : s->ts_start;
                return 1;
        }
        r = emit(e, f, cb, userdata);
        return r < 0 ? r : 1;
}

static int block_finish(DetectEngine *e, Stream *s, DetectFindingFunc cb, void *userdata) {
        int r = 0;

        if (s->kind == BLOCK_NONE)
                return 0;
        if (s->omitted > 0 && !s->marker_placed) {
                r = detect_buf_printf(&s->text, "\n[... %zu lines omitted ...]", s->omitted);
                if (r < 0) {
                        block_reset(s);
                        return r;
                }
        }
        r = classify(e, s, s->text.data ?: "", s->text.len, s->cand, s->n_lines > 1, cb, userdata);
        block_reset(s);
        return r;
}

static void block_open(DetectEngine *e, Stream *s, BlockKind kind, int sub, uint64_t first_line,
                       uint64_t ts) {
        s->kind = kind;
        s->sub = sub;
        s->line_start = first_line;
        s->line_end = s->line_no;
        s->ts_start = ts;
        s->rt_start = s->rt_now;
        memset(s->cand, 0, e->rules->n_cand_words * sizeof(uint64_t));
}

/* ---- feeding ---- */

/* Assembles and classifies one logical line: a cleaned line, or the pieces
 * of a wrapped one joined. Its raw lines are first_line..s->line_no. */
static inline __attribute__((__always_inline__)) int process_line(DetectEngine *e, Stream *s,
                const char *l, size_t n, uint64_t first_line, uint64_t ts, DetectFindingFunc cb,
                void *userdata) {
        const DetectRules *rules = e->rules;
        BlockKind kind;
        bool blank, done;
        uint32_t hints;
        int sub, r, k;

        if (n > e->opts.max_line_length) {
                n = detect_utf8_truncate(l, n, e->opts.max_line_length);
                e->stats.truncated_lines++;
        }
        if (s->deferred && (s->line_no > s->deferred_until ||
                            (ts > 0 && ts >= s->deferred_ts && ts - s->deferred_ts >= e->opts.idle_timeout_usec))) {
                r = emit_deferred(e, s, cb, userdata);
                if (r < 0)
                        return r;
        }

        if (s->kind != BLOCK_NONE && ts > 0 && ts >= s->ts_last &&
            ts - s->ts_last >= e->opts.idle_timeout_usec) {
                r = block_finish(e, s, cb, userdata);
                if (r < 0)
                        return r;
        }

        if (e->line_bits_set)
                memset(e->line_bits, 0, rules->n_cand_words * sizeof(uint64_t));
        if (e->opts.no_prefilter) {
                memset(e->line_bits, 0xff, rules->n_cand_words * sizeof(uint64_t));
                hints = UINT32_MAX;
        } else
                hints = detect_prefilter_scan(rules->prefilter, l, n, e->line_bits);
        e->line_bits_set = hints & DETECT_HINT_LITERAL;
        blank = is_blank(l, n);
        if (hints & (DETECT_HINT_PIP_SATISFIED | DETECT_HINT_PIP_SHOWN))
                remember_satisfied(s, l, n, hints);

        if (s->kind != BLOCK_NONE) {
                s->ts_last = ts;
                Step step = block_step(s, l, n, blank, hints);

                switch (step) {
                case STEP_BLANK:
                        s->n_blank++;
                        return 0;
                case STEP_CONTINUE:
                case STEP_CONTINUE_KEEP:
                        k = block_append(e, s, l, n, step == STEP_CONTINUE_KEEP);
                        if (k < 0)
                                return k;
                        s->line_end = s->line_no;
                        if (k > 0) {
                                r = block_finish(e, s, cb, userdata);
                                return r < 0 ? r : 0;
                        }
                        return 0;
                case STEP_END_WITH:
                        k = block_append(e, s, l, n, true);
                        if (k < 0)
                                return k;
                        s->line_end = s->line_no;
                        r = block_finish(e, s, cb, userdata);
                        return r < 0 ? r : 0;
                case STEP_END_BEFORE:
                        r = block_finish(e, s, cb, userdata);
                        if (r < 0)
                                return r;
                        break;
                }
        }

        if (blank)
                return 0;
        kind = block_start(l, n, hints, &sub, &done);
        if (kind != BLOCK_NONE) {
                block_open(e, s, kind, sub, first_line, ts);
                s->ts_last = ts;
                k = block_append(e, s, l, n, false);
                if (k < 0)
                        return k;
                if (done) {
                        r = block_finish(e, s, cb, userdata);
                        return r < 0 ? r : 0;
                }
                return 0;
        }

        /* A one-line block: only worth classifying if some rule might match. */
        for (size_t w = 0; w < rules->n_words; w++)
                if ((e->line_bits[w] | rules->always[w]) != 0) {
                        s->line_start = first_line;
                        s->line_end = s->line_no;
                        s->ts_start = ts;
                        s->rt_start = s->rt_now;
                        r = classify(e, s, l, n, e->line_bits, false, cb, userdata);
                        s->line_start = s->line_end = s->ts_start = s->rt_start = 0;
                        return r < 0 ? r : 0;
                }
        return 0;
}

/* Processes the held line as the raw lines it came from. */
static int process_held(DetectEngine *e, Stream *s, DetectFindingFunc cb, void *userdata) {
        uint64_t line_no = s->line_no;
        size_t start = 0, end = s->held.len;
        int r;

        if (!s->holding)
                return 0;
        s->holding = false;
        s->line_no = s->held_last;
        /* a wrapped line of `inline code`: its marks are on its first and last pieces */
        if (s->held_last > s->held_first)
                detect_line_unwrap_marks(s->held.data, &start, &end);
        r = process_line(e, s, (s->held.data ?: "") + start, end - start, s->held_first, s->held_ts, cb,
                         userdata);
        s->line_no = line_no;
        detect_buf_clear(&s->held);
        return r;
}

static int stream_finish(DetectEngine *e, Stream *s, DetectFindingFunc cb, void *userdata) {
        int r;

        r = process_held(e, s, cb, userdata);
        if (r < 0)
                return r;
        r = block_finish(e, s, cb, userdata);
        if (r < 0)
                return r;
        return emit_deferred(e, s, cb, userdata);
}

/* A terminal wraps a long line into pieces of exactly its width, and the
 * pieces after the first start at column 0. A line whose width is a
 * multiple of DETECT_WRAP_COLUMNS is therefore held until the next line
 * shows whether it continues. The rule depends only on the widths, so the
 * same text gives the same logical lines whether or not it was wrapped. */
static bool may_wrap(const char *l, size_t n, const DetectLineInfo *info) {
        if (info->columns == 0 || n == 0 ||
            (info->columns % DETECT_WRAP_COLUMNS != 0 &&
             (info->columns + info->quote_columns) % DETECT_WRAP_COLUMNS != 0))
                return false;
        /* rulers ("=====", "-----", "═════") have the terminal's width by design */
        if (l[0] == l[n - 1] && !isspace((unsigned char) l[0])) {
                for (size_t i = 0; i < n && i < 16; i++)
                        if (isalnum((unsigned char) l[i]))
                                return true;
                return false;
        }
        return true;
}

/* Where a terminal cut a line, the text on both sides shows it: a cut in a
 * word or identifier goes on with a lower-case letter, a digit or '_', a
 * cut before closing punctuation goes on with it, and a cut at a space
 * leaves that space at the end of the first piece. A line of its own
 * rarely starts so; one starting with a capital, '[', '$', '#', '>' or
 * white space after a line of exactly the width is not taken for a piece
 * (e.g. "    raise Error(...)" of 80 columns, then "Error: ..."). */
bool detect_wrap_cut(char last, char first) {
        unsigned char h = (unsigned char) last, c = (unsigned char) first;

        if (c == 0 || isspace(c))
                return false;
        if (h == ' ')
                return true;
        if ((isalnum(h) || h == '_') && (islower(c) || isdigit(c) || c == '_'))
                return true;
        return !isspace(h) && strchr(".,;:)]}'\"", c) != NULL;
}

static bool continues_held(const DetectEngine *e, const Stream *s, const char *l, size_t n,
                           const DetectLineInfo *info, uint64_t ts) {
        if (info->prefixed || info->boundary || n == 0 || s->held.len == 0)
                return false;
        if (!detect_wrap_cut(s->held.data[s->held.len - 1], l[0]))
                return false;
        if (s->held.len + n > e->opts.max_line_length)
                return false;
        return !(ts > 0 && ts >= s->held_ts && ts - s->held_ts >= e->opts.idle_timeout_usec);
}

static int feed_line(DetectEngine *e, Stream *s, const char *raw, size_t raw_len, uint64_t ts,
                     DetectFindingFunc cb, void *userdata) {
        DetectLineInfo info;
        const char *l;
        size_t n;
        int r;

        r = detect_line_clean(&e->line, raw, raw_len, &info);
        if (r < 0)
                return r;
        l = info.text;
        n = info.len;
        s->line_no++;
        e->stats.lines++;
        e->stats.bytes += raw_len + 1;

        if (s->holding) {
                if (continues_held(e, s, l, n, &info, ts)) {
                        r = detect_buf_append(&s->held, l, n);
                        if (r < 0)
                                return r;
                        s->held_last = s->line_no;
                        s->held_columns += detect_display_columns(l, n);
                        if (s->held_columns % DETECT_WRAP_COLUMNS == 0 ||
                            (s->held_columns + s->held_quote_columns) % DETECT_WRAP_COLUMNS == 0)
                                return 0;
                        return process_held(e, s, cb, userdata);
                }
                r = process_held(e, s, cb, userdata);
                if (r < 0)
                        return r;
        }
        if (may_wrap(l, n, &info)) {
                detect_buf_clear(&s->held);
                r = detect_buf_append(&s->held, l, n);
                if (r < 0)
                        return r;
                s->holding = true;
                s->held_columns = info.columns;
                s->held_quote_columns = info.quote_columns;
                s->held_first = s->held_last = s->line_no;
                s->held_ts = ts;
                return 0;
        }
        return process_line(e, s, l, n, s->line_no, ts, cb, userdata);
}

/* ---- the lines to feed again ---- */

/* How many of the newest raw lines a restart must feed again: every line fed
 * since the block began belongs to it (blocks never swallow unrelated lines:
 * those end them), blank ones included; a held line (terminal wrap) comes
 * after the block's start, and a deferred finding's lines before both. */
static size_t stream_pending_count(const Stream *s) {
        if (s->deferred)
                return (size_t) (s->line_no - s->deferred->line_start + 1);
        if (s->kind != BLOCK_NONE)
                return (size_t) (s->line_no - s->line_start + 1);
        if (s->holding)
                return (size_t) (s->line_no - s->held_first + 1);
        return 0;
}

static uint64_t le_get(const uint8_t *p, unsigned bytes) {
        uint64_t v = 0;

        for (unsigned i = 0; i < bytes; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static int le_put(DetectBuf *b, uint64_t v, unsigned bytes) {
        char le[8];

        for (unsigned i = 0; i < bytes; i++)
                le[i] = (char) ((v >> (8 * i)) & 0xff);
        return detect_buf_append(b, le, bytes);
}

/* Drops the oldest kept lines until only as many as needed are left. */
static void pending_trim(Stream *s) {
        size_t keep = stream_pending_count(s), off = 0;

        if (s->n_pending <= keep)
                return;
        s->pending_dirty = true;
        if (keep == 0) {
                s->n_pending = 0;
                if (s->pending.cap > 4096)
                        detect_buf_done(&s->pending);
                else
                        detect_buf_clear(&s->pending);
                return;
        }
        for (; s->n_pending > keep; s->n_pending--)
                off += 12 + (size_t) le_get((const uint8_t *) s->pending.data + off, 4);
        memmove(s->pending.data, s->pending.data + off, s->pending.len - off);
        s->pending.len -= off;
        s->pending.data[s->pending.len] = 0;
}

/* Keeps the raw line just fed when it is part of what is pending. */
static int pending_keep(Stream *s, const char *raw, size_t len, uint64_t rt) {
        int r;

        if (stream_pending_count(s) > 0) {
                if (len > UINT32_MAX)
                        len = UINT32_MAX;
                r = le_put(&s->pending, len, 4);
                if (r >= 0)
                        r = le_put(&s->pending, rt, 8);
                if (r >= 0)
                        r = detect_buf_append(&s->pending, raw, len);
                if (r < 0)
                        return r;
                s->n_pending++;
                s->pending_dirty = true;
        }
        /* nothing kept (most lines, outside any block): nothing to trim */
        if (s->n_pending > 0)
                pending_trim(s);
        return 0;
}

static int feed_and_keep(DetectEngine *e, Stream *s, const char *raw, size_t len, uint64_t ts,
                         uint64_t rt, DetectFindingFunc cb, void *userdata) {
        int r;

        s->rt_now = rt;
        r = feed_line(e, s, raw, len, ts, cb, userdata);
        if (r < 0)
                return r;
        return pending_keep(s, raw, len, rt);
}

int detect_engine_feed(DetectEngine *e, const char *stream, const char *line, size_t len,
                       uint64_t timestamp_usec, DetectFindingFunc cb, void *userdata) {
        return detect_engine_feed_at(e, stream, line, len, timestamp_usec, 0, cb, userdata);
}

int detect_engine_feed_at(DetectEngine *e, const char *stream, const char *line, size_t len,
                          uint64_t timestamp_usec, uint64_t realtime_usec, DetectFindingFunc cb,
                          void *userdata) {
        Stream *s;
        int r;

        assert(e && stream && (line || len == 0));
        r = engine_stream(e, stream, cb, userdata, &s);
        if (r < 0)
                return r;
        return feed_and_keep(e, s, line ?: "", len, timestamp_usec, realtime_usec, cb, userdata);
}

int detect_engine_feed_data(DetectEngine *e, const char *stream, const char *data, size_t len,
                            uint64_t timestamp_usec, DetectFindingFunc cb, void *userdata) {
        const char *p = data, *end = data + len;
        Stream *s;
        int r;

        assert(e && stream && (data || len == 0));
        r = engine_stream(e, stream, cb, userdata, &s);
        if (r < 0)
                return r;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

                if (!nl || s->partial.len > 0 || s->partial_overflow) {
                        /* Keep at most one line's worth (plus a byte to notice
                         * truncation); the rest of an endless line is dropped. */
                        size_t room = e->opts.max_line_length + 1 > s->partial.len ?
                                              e->opts.max_line_length + 1 - s->partial.len : 0;
                        size_t take = n < room ? n : room;

                        r = detect_buf_append(&s->partial, p, take);
                        if (r < 0)
                                return r;
                        if (take < n)
                                s->partial_overflow = true;
                        if (!nl)
                                break;
                        r = feed_and_keep(e, s, s->partial.data, s->partial.len, timestamp_usec, 0,
                                          cb, userdata);
                        detect_buf_clear(&s->partial);
                        s->partial_overflow = false;
                } else
                        r = feed_and_keep(e, s, p, n, timestamp_usec, 0, cb, userdata);
                if (r < 0)
                        return r;
                p = nl + 1;
        }
        return 0;
}

static int flush_stream_now(DetectEngine *e, Stream *s, uint64_t now, DetectFindingFunc cb,
                            void *userdata);

/* Flushes, then drops the kept lines that are no longer pending. */
static int flush_stream(DetectEngine *e, Stream *s, uint64_t now, DetectFindingFunc cb, void *userdata) {
        int r = flush_stream_now(e, s, now, cb, userdata);

        pending_trim(s);
        return r;
}

static int flush_stream_now(DetectEngine *e, Stream *s, uint64_t now, DetectFindingFunc cb,
                            void *userdata) {
        int r;

        if (now == UINT64_MAX && (s->partial.len > 0 || s->partial_overflow)) {
                r = feed_and_keep(e, s, s->partial.data ?: "", s->partial.len, 0, 0, cb, userdata);
                detect_buf_clear(&s->partial);
                s->partial_overflow = false;
                if (r < 0)
                        return r;
        }
        /* A held line waits for its continuation no longer than a block does. */
        if (s->holding && (now == UINT64_MAX ||
                           (now >= s->held_ts && now - s->held_ts >= e->opts.idle_timeout_usec))) {
                r = process_held(e, s, cb, userdata);
                if (r < 0)
                        return r;
        }
        if (s->kind != BLOCK_NONE &&
            (now == UINT64_MAX || (now >= s->ts_last && now - s->ts_last >= e->opts.idle_timeout_usec))) {
                r = block_finish(e, s, cb, userdata);
                if (r < 0)
                        return r;
        }
        if (s->deferred && s->kind == BLOCK_NONE &&
            (now == UINT64_MAX || (now >= s->deferred_ts && now - s->deferred_ts >= e->opts.idle_timeout_usec)))
                return emit_deferred(e, s, cb, userdata);
        return 0;
}

int detect_engine_flush(DetectEngine *e, const char *stream, uint64_t now, DetectFindingFunc cb,
                        void *userdata) {
        uint64_t before = e->stats.findings;
        int r;

        assert(e);
        if (stream) {
                Stream *s = engine_find(e, stream, hash_key(stream));

                if (s) {
                        r = flush_stream(e, s, now, cb, userdata);
                        if (r < 0)
                                return r;
                }
        } else
                for (size_t i = 0; i < e->n_buckets; i++)
                        for (Stream *s = e->buckets[i]; s; s = s->next) {
                                r = flush_stream(e, s, now, cb, userdata);
                                if (r < 0)
                                        return r;
                        }
        return (int) (e->stats.findings - before);
}

void detect_engine_forget(DetectEngine *e, const char *stream) {
        Stream *s = engine_find(e, stream, hash_key(stream));

        if (!s)
                return;
        engine_unlink(e, s);
        stream_free(e, s);
}

uint64_t detect_engine_next_deadline(const DetectEngine *e) {
        uint64_t best = UINT64_MAX;

        for (size_t i = 0; i < e->n_buckets; i++)
                for (Stream *s = e->buckets[i]; s; s = s->next) {
                        if (s->kind != BLOCK_NONE) {
                                uint64_t d = s->ts_last > UINT64_MAX - e->opts.idle_timeout_usec ?
                                                     UINT64_MAX : s->ts_last + e->opts.idle_timeout_usec;
                                if (d < best)
                                        best = d;
                        }
                        if (s->holding) {
                                uint64_t d = s->held_ts > UINT64_MAX - e->opts.idle_timeout_usec ?
                                                     UINT64_MAX : s->held_ts + e->opts.idle_timeout_usec;
                                if (d < best)
                                        best = d;
                        }
                        if (s->deferred) {
                                uint64_t d = s->deferred_ts > UINT64_MAX - e->opts.idle_timeout_usec ?
                                                     UINT64_MAX : s->deferred_ts + e->opts.idle_timeout_usec;
                                if (d < best)
                                        best = d;
                        }
                }
        return best;
}

size_t detect_engine_pending_lines(const DetectEngine *e, const char *stream) {
        Stream *s = engine_find((DetectEngine *) e, stream, hash_key(stream));

        return s ? stream_pending_count(s) : 0;
}

int detect_engine_set_stream_data(DetectEngine *e, const char *stream, void *data,
                                  DetectFindingFunc cb, void *userdata) {
        Stream *s;
        int r;

        r = engine_stream(e, stream, cb, userdata, &s);
        if (r < 0)
                return r;
        if (s->data && s->data != data && e->opts.stream_data_free)
                e->opts.stream_data_free(s->data);
        s->data = data;
        return 0;
}

void *detect_engine_get_stream_data(const DetectEngine *e, const char *stream) {
        Stream *s = engine_find((DetectEngine *) e, stream, hash_key(stream));

        return s ? s->data : NULL;
}

int detect_engine_foreach_dirty(DetectEngine *e, DetectPendingFunc f, void *userdata) {
        int r;

        for (size_t i = 0; i < e->n_buckets; i++)
                for (Stream *s = e->buckets[i]; s; s = s->next) {
                        if (!s->pending_dirty)
                                continue;
                        r = f(s->key, s->data, s->pending.data, s->pending.len, userdata);
                        if (r < 0)
                                return r;
                        s->pending_dirty = false;
                }
        return 0;
}

int detect_engine_replay(DetectEngine *e, const char *stream, const void *data, size_t len,
                         uint64_t timestamp_usec, DetectFindingFunc cb, void *userdata) {
        const uint8_t *d = data;
        size_t off = 0;
        int r;

        while (off < len) {
                uint64_t n, rt;

                if (len - off < 12)
                        return -EBADMSG;
                n = le_get(d + off, 4);
                rt = le_get(d + off + 4, 8);
                off += 12;
                if (n > len - off)
                        return -EBADMSG;
                r = detect_engine_feed_at(e, stream, (const char *) d + off, (size_t) n,
                                          timestamp_usec, rt, cb, userdata);
                if (r < 0)
                        return r;
                off += (size_t) n;
        }
        return 0;
}
