/* SPDX-License-Identifier: MIT */
/*
 * Accuracy of the detection engine on the labelled logs in tests/data/.
 * labels.tsv holds: file, expected category, expected fix ("none" for a
 * manual case). A log's verdict is its highest-priority finding (the earliest
 * on a tie), or "none" when nothing is found. Prints per-category precision
 * and recall, and fails below 90% accuracy or on any automatic fix proposed
 * where none (or another one) is expected: a wrong auto-fix is worse than
 * none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/test-detect-util.h"
#include "detect/engine.h"
#include "tests.h"

typedef struct Verdict {
        Finding *primary;
        bool any_auto_fix;
        char *auto_fix;                         /* first auto-fix proposed, if any */
} Verdict;

static int verdict_cb(DetectEngine *e, const Finding *f, void *userdata) {
        Verdict *v = userdata;

        (void) e;
        if (f->auto_fixable && !v->any_auto_fix) {
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

static int scan_file(DetectEngine *e, const char *path, Verdict *v) {
        char buf[65536];
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);

                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                r = detect_engine_feed_data(e, path, buf, (size_t) n, 0, verdict_cb, v);
                if (r < 0)
                        break;
        }
        close(fd);
        if (r >= 0)
                r = detect_engine_flush(e, path, UINT64_MAX, verdict_cb, v);
        detect_engine_forget(e, path);
        return r < 0 ? r : 0;
}

TEST(category_accuracy_and_auto_fix_safety) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        unsigned tp[_CATEGORY_MAX] = {}, fp[_CATEGORY_MAX] = {}, fn[_CATEGORY_MAX] = {};
        unsigned total = 0, correct = 0, wrong_fix = 0, fix_expected = 0, fix_right = 0;
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        char labels[4096], line[2048];
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        (void) snprintf(labels, sizeof labels, "%s/tests/data/labels.tsv", root);
        f = fopen(labels, "re");
        if (!f) {
                fprintf(stderr, "cannot open %s: %m\n", labels);
                return EXIT_FAILURE;
        }
        while (fgets(line, sizeof line, f)) {
                char *file, *cat, *fix, *save = NULL, path[4096];
                Category want, got;
                Verdict v = {};

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                line[strcspn(line, "\n")] = 0;
                file = strtok_r(line, "\t", &save);
                cat = strtok_r(NULL, "\t", &save);
                fix = strtok_r(NULL, "\t", &save);
                if (!file || !cat || !fix || (want = category_from_string(cat)) < 0) {
                        fprintf(stderr, "bad label line for '%s'\n", file ?: "?");
                        return EXIT_FAILURE;
                }
                (void) snprintf(path, sizeof path, "%s/tests/data/logs/%s", root, file);
                if (scan_file(e, path, &v) < 0) {
                        fprintf(stderr, "cannot scan %s\n", path);
                        return EXIT_FAILURE;
                }
                got = v.primary ? v.primary->category : CATEGORY_NONE;
                total++;
                if (got == want) {
                        correct++;
                        tp[want]++;
                } else {
                        fn[want]++;
                        fp[got]++;
                        printf("MISS %-45s want %-24s got %-24s %s\n", file, cat,
                               category_to_string(got), v.primary ? v.primary->title : "");
                }
                if (strcmp(fix, "none") != 0)
                        fix_expected++;
                if (v.any_auto_fix && strcmp(fix, v.auto_fix) != 0) {
                        wrong_fix++;
                        printf("WRONG AUTO-FIX %s: proposed %s, expected %s\n", file, v.auto_fix, fix);
                } else if (v.any_auto_fix)
                        fix_right++;
                finding_free(v.primary);
                free(v.auto_fix);
        }
        fclose(f);

        printf("\n%-26s %7s %9s %7s\n", "category", "support", "precision", "recall");
        for (int c = 0; c < _CATEGORY_MAX; c++) {
                unsigned support = tp[c] + fn[c];

                if (support == 0 && fp[c] == 0)
                        continue;
                printf("%-26s %7u %8.1f%% %6.1f%%\n", category_to_string(c), support,
                       tp[c] + fp[c] ? 100.0 * tp[c] / (tp[c] + fp[c]) : 0.0,
                       support ? 100.0 * tp[c] / support : 0.0);
        }
        printf("\nlogs: %u, category accuracy: %.1f%% (%u/%u)\n", total, total ? 100.0 * correct / total : 0.0,
               correct, total);
        printf("auto-fixes: %u expected, %u proposed correctly, %u wrong\n", fix_expected, fix_right, wrong_fix);
        fflush(stdout);
        if (total < 80) {
                printf("FAIL: fewer than 80 labelled logs\n");
                return EXIT_FAILURE;
        }
        if (correct * 10 < total * 9) {
                printf("FAIL: accuracy below 90%%\n");
                return EXIT_FAILURE;
        }
        if (wrong_fix > 0) {
                printf("FAIL: automatic fix proposed where it is wrong\n");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

/* The prefilter must never change an answer: compare every finding of every
 * labelled log with and without it. */
static int collect_all(DetectEngine *e, const char *path, char *out, size_t outsz) {
        Collected got = {};
        char buf[65536];
        size_t len = 0;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n <= 0)
                        break;
                r = detect_engine_feed_data(e, path, buf, (size_t) n, 0, collect_cb, &got);
                if (r < 0)
                        break;
        }
        close(fd);
        if (r >= 0)
                r = detect_engine_flush(e, path, UINT64_MAX, collect_cb, &got);
        for (size_t i = 0; i < got.n; i++)
                len += (size_t) snprintf(out + len, len < outsz ? outsz - len : 0, "%s %s %" PRIu64 "-%" PRIu64 " %s|",
                                         got.items[i]->rule, got.items[i]->fingerprint, got.items[i]->line_start,
                                         got.items[i]->line_end, got.items[i]->fix);
        collected_done(&got);
        detect_engine_forget(e, path);
        return r < 0 ? r : 0;
}

TEST(prefilter_equivalence_on_corpus) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *fast = NULL, *slow = NULL;
        DetectOptions o = { .no_prefilter = true };
        char labels[4096], line[2048];
        unsigned n = 0;
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &fast));
        ASSERT_OK(detect_engine_new(rules, &o, &slow));
        (void) snprintf(labels, sizeof labels, "%s/tests/data/labels.tsv", root);
        f = fopen(labels, "re");
        ASSERT_TRUE(f);
        while (fgets(line, sizeof line, f)) {
                char path[4096], a[8192] = "", b[8192] = "";

                if (line[0] == '#')
                        continue;
                line[strcspn(line, "\t")] = 0;
                (void) snprintf(path, sizeof path, "%s/tests/data/logs/%s", root, line);
                if (collect_all(fast, path, a, sizeof a) < 0 || collect_all(slow, path, b, sizeof b) < 0) {
                        fclose(f);
                        TEST_FAIL("cannot scan %s", path);
                }
                if (strcmp(a, b) != 0) {
                        fclose(f);
                        TEST_FAIL("%s: with prefilter '%s', without '%s'", line, a, b);
                }
                n++;
        }
        fclose(f);
        ASSERT_TRUE(n >= 80);
        return 0;
}
