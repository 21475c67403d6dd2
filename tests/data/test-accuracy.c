/* SPDX-License-Identifier: MIT */
/*
 * Accuracy of the detection engine on the labelled logs in tests/data/.
 *
 * The team's own logs: labels.tsv holds file, expected category, expected
 * fix ("none" for a manual case). A log's verdict is its highest-priority
 * finding (the earliest on a tie), or "none" when nothing is found. Prints
 * per-category precision and recall, and fails below 90% accuracy or on any
 * automatic fix proposed where none (or another one) is expected: a wrong
 * auto-fix is worse than none.
 *
 * The real-world corpus: real/labels.tsv holds excerpts copied from public
 * issue threads (real/README.md), each with category, severity, fix and its
 * split. Both splits are scored per category (category, severity, fix, false
 * alarms on the negatives) and fail on any wrong automatic fix. The excerpts
 * come without their projects, so a pip install that waits for the app's
 * declaration (Finding.needs_declaration) is not run: it is counted apart
 * ("held"), neither proposed nor wrong. Per-excerpt details are printed for the
 * tune split only: the held-out split is scored, never read for tuning
 * (APPWATCH_SHOW_HELDOUT=1 prints its details too). Run only this part with
 * `test-accuracy real_corpus`.
 *
 * The vocabulary: vocabulary.tsv holds one line each of the messages a family
 * of failures is reported in (category, fix, line); every line alone must be
 * classified as labelled.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/test-detect-util.h"
#include "detect/engine.h"
#include "tests.h"

/* Pass thresholds on the real-world corpus, in percent and counts: what the
 * rules tuned on the tune split achieve (issue 12), so that a change that
 * loses any of it fails. Tune: 4238/4474 categories (94.7%) after the
 * twelfth and thirteenth rounds (collected as the first, in the weakest
 * held-out categories: fresh, the rules got 301 of the twelfth's 356
 * excerpts right and 155 of the thirteenth's 205), 16 false alarms of 497
 * (719, a deliberately broken module byte-compiled in site-packages, which
 * reads like a real one, and the near misses of the later rounds,
 * collected to be hard: a warning, a diff, a catalogue of messages, an
 * exception Python ignored, a doctor report, a REPL printing a message).
 * Held out: 106/111 categories (95.5%, issue 12's goal is 95%), no false
 * alarm: 100/111 through the second and third rounds of tuning material,
 * 102/111 after the fourth, 103/111 with the vocabulary (vocabulary.tsv),
 * 105 after the seventh to twelfth, 106 with the rule for a syntax error's
 * report whose message the poster did not copy (the shape of tune
 * excerpts 4801-, 4830- and 5949-, of which it reads 4801-; the other two
 * break the shape with prose or a cut). The held-out split is never read
 * for tuning. */
#define REAL_MIN_CATEGORY_ACCURACY_TUNE 94.7
#define REAL_MIN_CATEGORY_ACCURACY_HELDOUT 95.0
#define REAL_MAX_FALSE_ALARMS_TUNE 16u
#define REAL_MAX_FALSE_ALARMS_HELDOUT 0u
#define REAL_MIN_EXCERPTS 200u

/* Whether two fix ids name the same fix. pip installs compare by the
 * distribution's normalized name (PEP 503: case, and runs of '-', '_' and
 * '.', do not matter to pip: pymupdf is PyMuPDF). */
static bool same_fix(const char *a, const char *b) {
        const char *p = "pip_install:";

        if (strncmp(a, p, 12) != 0 || strncmp(b, p, 12) != 0)
                return strcmp(a, b) == 0;
        a += 12, b += 12;
        for (;;) {
                bool sep_a = *a && strchr("-_.", *a), sep_b = *b && strchr("-_.", *b);

                if (sep_a != sep_b)
                        return false;
                if (sep_a) {
                        a += strspn(a, "-_.");
                        b += strspn(b, "-_.");
                        continue;
                }
                if (tolower((unsigned char) *a) != tolower((unsigned char) *b))
                        return false;
                if (!*a)
                        return true;
                a++, b++;
        }
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

/* Opens root/rel for reading, its path in path; says why not on stderr. */
TEST(category_accuracy_and_auto_fix_safety) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        unsigned tp[_CATEGORY_MAX] = {}, fp[_CATEGORY_MAX] = {}, fn[_CATEGORY_MAX] = {};
        unsigned total = 0, correct = 0, wrong_fix = 0, fix_expected = 0, fix_right = 0;
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        char labels[4096], line[2048];
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        f = open_data(root, "tests/data/labels.tsv", labels, sizeof labels);
        if (!f)
                return EXIT_FAILURE;
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
                if (v.any_auto_fix && !same_fix(fix, v.auto_fix)) {
                        wrong_fix++;
                        printf("WRONG AUTO-FIX %s: proposed %s, expected %s\n", file, v.auto_fix, fix);
                } else if (v.any_auto_fix)
                        fix_right++;
                verdict_done(&v);
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

/* The real-world corpus (tests/data/real/). */

enum { SPLIT_TUNE, SPLIT_HELDOUT, _SPLIT_MAX };
static const char *const split_names[_SPLIT_MAX] = { "tune", "heldout" };

typedef struct RealScore {
        unsigned n[_CATEGORY_MAX];
        unsigned category_ok[_CATEGORY_MAX];
        unsigned severity_ok[_CATEGORY_MAX];
        unsigned fix_ok[_CATEGORY_MAX];
        unsigned wrong_fix[_CATEGORY_MAX];
        unsigned false_alarms;                  /* negatives reported as a failure */
        unsigned held;                          /* pip installs waiting for a declaration */
} RealScore;

static bool valid_fix_label(const char *fix) {
        static const char *const ids[] = { "none", "flutter_clean_pub_get", "flutter_pub_get",
                                           "flutter_pub_upgrade", "flutter_clean" };

        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
                if (strcmp(fix, ids[i]) == 0)
                        return true;
        return strncmp(fix, "pip_install:", 12) == 0 && fix[12] != 0;
}

static double pct(unsigned a, unsigned b) {
        return b ? 100.0 * a / b : 0.0;
}

static void real_print_table(const RealScore *s, int split) {
        unsigned n = 0, cat = 0, sev = 0, fix = 0, wrong = 0;

        printf("\nreal corpus, %s split\n", split_names[split]);
        printf("%-26s %5s %9s %9s %9s %6s\n", "category", "n", "category", "severity", "fix", "wrong");
        for (int c = 0; c < _CATEGORY_MAX; c++) {
                if (s->n[c] == 0)
                        continue;
                printf("%-26s %5u %8.1f%% %8.1f%% %8.1f%% %6u\n", category_to_string(c), s->n[c],
                       pct(s->category_ok[c], s->n[c]), pct(s->severity_ok[c], s->n[c]),
                       pct(s->fix_ok[c], s->n[c]), s->wrong_fix[c]);
                n += s->n[c];
                cat += s->category_ok[c];
                sev += s->severity_ok[c];
                fix += s->fix_ok[c];
                wrong += s->wrong_fix[c];
        }
        printf("%-26s %5u %8.1f%% %8.1f%% %8.1f%% %6u\n", "all", n, pct(cat, n), pct(sev, n), pct(fix, n), wrong);
        printf("false alarms on negatives: %u of %u\n", s->false_alarms, s->n[CATEGORY_NONE]);
        printf("pip installs held for the app's declaration (not run from the log alone): %u\n", s->held);
}

static unsigned real_total(const unsigned *field) {
        unsigned t = 0;

        for (int c = 0; c < _CATEGORY_MAX; c++)
                t += field[c];
        return t;
}

TEST(real_corpus_accuracy_and_auto_fix_safety) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        const char *show = getenv("APPWATCH_SHOW_HELDOUT");
        bool show_heldout = show && strcmp(show, "1") == 0;
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        RealScore score[_SPLIT_MAX] = {};
        unsigned total = 0, wrong = 0, lineno = 0;
        char labels[4096], *line = NULL;
        size_t linesz = 0;
        bool ok = true;
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        f = open_data(root, "tests/data/real/labels.tsv", labels, sizeof labels);
        if (!f)
                return EXIT_FAILURE;
        while (getline(&line, &linesz, f) > 0) {
                char *col[7] = {}, path[4096];
                Category want, got;
                Severity want_sev, got_sev;
                const char *proposed;
                Verdict v = {};
                int split, nc;
                RealScore *s;

                lineno++;
                if (line[0] == '#' || line[0] == '\n')
                        continue;
                line[strcspn(line, "\n")] = 0;
                nc = split_columns(line, col, 7);
                if (nc < 6) {
                        fprintf(stderr, "%s:%u: %d columns, expected file, provenance, category, "
                                "severity, fix, split, note\n", labels, lineno, nc);
                        ok = false;
                        break;
                }
                want = category_from_string(col[2]);
                want_sev = severity_from_string(col[3]);
                split = strcmp(col[5], "tune") == 0      ? SPLIT_TUNE :
                        strcmp(col[5], "heldout") == 0 ? SPLIT_HELDOUT : -1;
                if (want < 0 || want_sev < 0 || split < 0 || !valid_fix_label(col[4])) {
                        fprintf(stderr, "%s:%u: bad label for %s: category '%s', severity '%s', "
                                "fix '%s', split '%s'\n", labels, lineno, col[0], col[2], col[3], col[4], col[5]);
                        ok = false;
                        break;
                }
                (void) snprintf(path, sizeof path, "%s/tests/data/real/logs/%s", root, col[0]);
                if (scan_file(e, path, &v) < 0) {
                        fprintf(stderr, "%s:%u: cannot scan %s\n", labels, lineno, path);
                        finding_free(v.primary);
                        free(v.auto_fix);
                        ok = false;
                        break;
                }
                got = v.primary ? v.primary->category : CATEGORY_NONE;
                got_sev = v.primary ? v.primary->severity : SEVERITY_LOW;
                proposed = v.any_auto_fix ? v.auto_fix : "none";

                s = &score[split];
                total++;
                s->n[want]++;
                if (got == want)
                        s->category_ok[want]++;
                if (got_sev == want_sev)
                        s->severity_ok[want]++;
                if (same_fix(proposed, col[4]))
                        s->fix_ok[want]++;
                if (want == CATEGORY_NONE && got != CATEGORY_NONE)
                        s->false_alarms++;
                if (v.any_held)
                        s->held++;

                if (split == SPLIT_TUNE || show_heldout) {
                        if (got != want)
                                printf("MISS %-5s %-44s want %-24s got %-24s %s\n", split_names[split], col[0], col[2],
                                       category_to_string(got), v.primary ? v.primary->title : "");
                        else if (got_sev != want_sev)
                                printf("SEVERITY %-5s %-40s want %s got %s\n", split_names[split], col[0], col[3],
                                       severity_to_string(got_sev));
                        else if (!same_fix(proposed, col[4]))
                                printf("FIX %-5s %-45s want %s got %s\n", split_names[split], col[0], col[4],
                                       proposed);
                }
                if (v.any_auto_fix && !same_fix(v.auto_fix, col[4])) {
                        s->wrong_fix[want]++;
                        wrong++;
                        if (split == SPLIT_TUNE || show_heldout)
                                printf("WRONG AUTO-FIX %s %s: proposed %s, expected %s\n", split_names[split],
                                       col[0], v.auto_fix, col[4]);
                        else
                                printf("WRONG AUTO-FIX on a held-out excerpt (proposed %s; "
                                       "details with APPWATCH_SHOW_HELDOUT=1)\n", v.auto_fix);
                }
                verdict_done(&v);
        }
        free(line);
        fclose(f);
        if (!ok)
                return EXIT_FAILURE;

        for (int sp = 0; sp < _SPLIT_MAX; sp++)
                real_print_table(&score[sp], sp);
        fflush(stdout);

        if (total < REAL_MIN_EXCERPTS) {
                printf("FAIL: %u excerpts in the real corpus, expected at least %u\n", total, REAL_MIN_EXCERPTS);
                fflush(stdout);
                return EXIT_FAILURE;
        }
        for (int sp = 0; sp < _SPLIT_MAX; sp++) {
                const RealScore *s = &score[sp];
                double min = sp == SPLIT_TUNE ? REAL_MIN_CATEGORY_ACCURACY_TUNE : REAL_MIN_CATEGORY_ACCURACY_HELDOUT;
                unsigned max_fa = sp == SPLIT_TUNE ? REAL_MAX_FALSE_ALARMS_TUNE : REAL_MAX_FALSE_ALARMS_HELDOUT;
                double acc = pct(real_total(s->category_ok), real_total(s->n));

                if (acc < min) {
                        printf("FAIL: %s category accuracy %.1f%% below %.1f%%\n", split_names[sp], acc, min);
                        ok = false;
                }
                if (s->false_alarms > max_fa) {
                        printf("FAIL: %s: %u negatives reported as failures, at most %u allowed\n", split_names[sp],
                               s->false_alarms, max_fa);
                        ok = false;
                }
        }
        if (wrong > 0) {
                printf("FAIL: %u automatic fixes proposed that the labels do not name\n", wrong);
                ok = false;
        }
        fflush(stdout);
        return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The vocabulary (vocabulary.tsv): one line each of the messages a family of
 * failures is reported in. Every line alone must get its category, and no
 * automatic fix but the one named: these are what the rules promise, so any
 * miss fails. */
TEST(vocabulary) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        unsigned n = 0, miss = 0, lineno = 0;
        char path[4096], *line = NULL;
        size_t linesz = 0;
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        f = open_data(root, "tests/data/vocabulary.tsv", path, sizeof path);
        if (!f)
                return EXIT_FAILURE;
        while (getline(&line, &linesz, f) > 0) {
                char *cat, *fix, *text, *save = NULL, stream[32];
                Category want, got;
                Verdict v = {};
                int r;

                lineno++;
                if (line[0] == '#' || line[0] == '\n')
                        continue;
                cat = strtok_r(line, "\t", &save);
                fix = strtok_r(NULL, "\t", &save);
                text = strtok_r(NULL, "", &save);
                if (!cat || !fix || !text || (want = category_from_string(cat)) < 0 || !valid_fix_label(fix)) {
                        fprintf(stderr, "%s:%u: bad line (want category, fix, text)\n", path, lineno);
                        free(line);
                        fclose(f);
                        return EXIT_FAILURE;
                }
                /* a stream of its own: nothing joins a line to the one before */
                (void) snprintf(stream, sizeof stream, "vocabulary:%u", lineno);
                r = detect_engine_feed_data(e, stream, text, strlen(text), 0, verdict_cb, &v);
                if (r >= 0)
                        r = detect_engine_flush(e, stream, UINT64_MAX, verdict_cb, &v);
                detect_engine_forget(e, stream);
                if (r < 0) {
                        free(line);
                        fclose(f);
                        TEST_FAIL("%s:%u: cannot scan: %s", path, lineno, strerror(-r));
                }
                got = v.primary ? v.primary->category : CATEGORY_NONE;
                text[strcspn(text, "\n")] = 0;
                n++;
                if (got != want || !same_fix(v.any_auto_fix ? v.auto_fix : "none", fix)) {
                        miss++;
                        printf("MISS %s:%u want %s/%s got %s/%s: %s\n", "vocabulary.tsv", lineno, cat, fix,
                               category_to_string(got), v.any_auto_fix ? v.auto_fix : "none", text);
                }
                verdict_done(&v);
        }
        free(line);
        fclose(f);
        printf("vocabulary: %u lines, %u missed\n", n, miss);
        ASSERT_TRUE(n >= 300);
        ASSERT_EQ(miss, 0u);
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
        static const char *const corpora[][2] = {
                { "tests/data/labels.tsv", "tests/data/logs" },
                { "tests/data/real/labels.tsv", "tests/data/real/logs" },
        };
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *fast = NULL, *slow = NULL;
        DetectOptions o = { .no_prefilter = true };
        unsigned n = 0;

        ASSERT_OK(detect_engine_new(rules, NULL, &fast));
        ASSERT_OK(detect_engine_new(rules, &o, &slow));
        for (size_t c = 0; c < sizeof corpora / sizeof corpora[0]; c++) {
                char labels[4096], *line = NULL;
                size_t linesz = 0;
                FILE *f;

                f = open_data(root, corpora[c][0], labels, sizeof labels);
                ASSERT_TRUE(f);
                while (getline(&line, &linesz, f) > 0) {
                        char path[4096], a[8192] = "", b[8192] = "";

                        if (line[0] == '#' || line[0] == '\n')
                                continue;
                        line[strcspn(line, "\t\n")] = 0;
                        (void) snprintf(path, sizeof path, "%s/%s/%s", root, corpora[c][1], line);
                        if (collect_all(fast, path, a, sizeof a) < 0 || collect_all(slow, path, b, sizeof b) < 0) {
                                free(line);
                                fclose(f);
                                TEST_FAIL("cannot scan %s", path);
                        }
                        if (strcmp(a, b) != 0) {
                                free(line);
                                fclose(f);
                                TEST_FAIL("%s: with prefilter '%s', without '%s'", path, a, b);
                        }
                        n++;
                }
                free(line);
                fclose(f);
        }
        ASSERT_TRUE(n >= 80 + REAL_MIN_EXCERPTS);
        return 0;
}
