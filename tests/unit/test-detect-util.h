/* SPDX-License-Identifier: MIT */
/* Helpers shared by the detect/ unit tests: load the shipped catalogue and
 * collect findings into an array. Header-only, test code. */
#pragma once

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine.h"
#include "tests.h"

static inline const char *detect_test_rules_dir(void) {
        static char path[PATH_MAX];
        const char *root = getenv("MESON_SOURCE_ROOT");

        if (root)
                (void) snprintf(path, sizeof path, "%s/etc/rules.d", root);
        else
                (void) snprintf(path, sizeof path, "%s/../etc/rules.d", test_srcdir());
        return path;
}

/* Built-in + shipped rules; aborts on any load error (the catalogue must be clean). */
static inline DetectRules *detect_test_rules(DetectRulesFlags flags) {
        const char *dirs[] = { detect_test_rules_dir() };
        DetectRuleErrors errs = {};
        DetectRules *r = NULL;

        if (detect_rules_new(flags, &r) < 0 || detect_rules_load_dirs(r, dirs, 1, &errs) < 0)
                abort();
        for (size_t i = 0; i < errs.n_errors; i++)
                fprintf(stderr, "%s:%u: %s\n", errs.errors[i].file, errs.errors[i].line,
                        errs.errors[i].message);
        if (errs.n_errors > 0 || detect_rules_count(r) < 10)
                abort();
        detect_rule_errors_done(&errs);
        return r;
}

typedef struct Collected {
        Finding *items[64];
        size_t n;
} Collected;

static inline int collect_cb(DetectEngine *e, const Finding *f, void *userdata) {
        Collected *c = userdata;

        (void) e;
        if (c->n >= 64)
                return -ENOBUFS;
        return finding_copy(f, &c->items[c->n++]);
}

static inline void collected_done(Collected *c) {
        for (size_t i = 0; i < c->n; i++)
                finding_free(c->items[i]);
        c->n = 0;
}

/* Feeds text line by line into stream "s" with no timestamps and flushes. */
static inline int feed_text(DetectEngine *e, const char *stream, const char *text, Collected *c) {
        const char *p = text;
        int r;

        while (*p) {
                size_t n = strcspn(p, "\n");

                r = detect_engine_feed(e, stream, p, n, 0, collect_cb, c);
                if (r < 0)
                        return r;
                p += n;
                if (*p == '\n')
                        p++;
        }
        r = detect_engine_flush(e, stream, UINT64_MAX, collect_cb, c);
        return r < 0 ? r : 0;
}

/* The verdict on a text, as test-accuracy scores it: its highest-priority
 * finding (the earliest on a tie) and the first automatic fix any finding
 * proposes. A fix that waits for the app's declaration (an unknown pip
 * distribution) would not run from a log alone: it is only noted. */
typedef struct Verdict {
        Finding *primary;
        bool any_auto_fix;
        char *auto_fix;                         /* first auto-fix proposed, if any */
        bool any_held;                          /* a fix waiting for the app's declaration */
} Verdict;

static inline int verdict_cb(DetectEngine *e, const Finding *f, void *userdata) {
        Verdict *v = userdata;

        (void) e;
        /* The excerpts come without their project: a fix that waits for the
         * app's declaration (an unknown pip distribution) would not run. */
        if (f->auto_fixable && f->needs_declaration)
                v->any_held = true;
        if (f->auto_fixable && !f->needs_declaration && !v->any_auto_fix) {
                v->any_auto_fix = true;
                v->auto_fix = strdup(f->fix);
                if (!v->auto_fix)
                        return -ENOMEM;
        }
        if (!v->primary || f->priority > v->primary->priority) {
                finding_free(v->primary);
                v->primary = NULL;
                return finding_copy(f, &v->primary);
        }
        return 0;
}

static inline void verdict_done(Verdict *v) {
        finding_free(v->primary);
        free(v->auto_fix);
        *v = (Verdict) {};
}

/* Splits a tab-separated line in place into at most max columns (strtok_r
 * would merge empty ones); returns how many. */
static inline int split_columns(char *line, char **col, int max) {
        int nc = 0;

        for (char *p = line; p && nc < max; nc++) {
                col[nc] = p;
                p = strchr(p, '\t');
                if (p)
                        *p++ = 0;
        }
        return nc;
}

/* Opens root/rel (a data file of the checkout), its path in path; says so
 * on stderr when it cannot. */
static inline FILE *open_data(const char *root, const char *rel, char *path, size_t pathsz) {
        FILE *f;

        (void) snprintf(path, pathsz, "%s/%s", root, rel);
        f = fopen(path, "re");
        if (!f)
                fprintf(stderr, "cannot open %s: %m\n", path);
        return f;
}
