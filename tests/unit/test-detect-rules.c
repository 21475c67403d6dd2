/* SPDX-License-Identifier: MIT */
/* Tests for detect/rules.h and detect/category.h: the INI reader, error
 * records, overrides, the taxonomy and the literal extraction. */
#include <sys/stat.h>

#include "../../src/detect/detect-internal.h"
#include "test-detect-util.h"
#include "detect/category.h"
#include "detect/rules.h"
#include "shared/parse.h"
#include "tests.h"

TEST(builtin_defaults_from_the_users_guide) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        _cleanup_strv_free_ char **pats = NULL;
        static const char *const want[] = { "ERROR:.*", "Traceback.*", "Exception:.*", "Failed.*",
                                            "TimeoutError.*" };

        ASSERT_OK(detect_rules_new(0, &r));
        ASSERT_EQ(detect_rules_count(r), 5);
        pats = detect_rules_patterns(r);
        ASSERT_TRUE(pats);
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                bool found = false;
                for (char **p = pats; *p; p++)
                        found = found || strcmp(*p, want[i]) == 0;
                ASSERT_TRUE(found);
        }
        detect_rules_unref(r);
        r = NULL;
        ASSERT_OK(detect_rules_new(DETECT_RULES_NO_BUILTIN, &r));
        ASSERT_EQ(detect_rules_count(r), 0);
        return 0;
}

TEST(shipped_catalogue_loads_cleanly) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = detect_test_rules(0);

        ASSERT_TRUE(detect_rules_count(r) >= 40);
        ASSERT_TRUE(detect_rules_has(r, "python_missing_module"));
        ASSERT_OK(detect_rules_seal(r));
        /* every shipped rule has a prefilter literal */
        for (size_t i = 0; i < r->n_rules; i++)
                if (r->rules[i]->always)
                        TEST_FAIL("rule '%s' has no literal", r->rules[i]->name);
        ASSERT_TRUE(detect_prefilter_states(r->prefilter) > 100);
        return 0;
}

TEST(errors_are_reported_with_file_line_and_offset) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        DetectRuleErrors errs = {};
        static const char text[] =
                "# comment\n"
                "[Rule.good]\n"
                "Pattern=Boom (?<what>\\w+)\n"
                "Category=network\n"
                "\n"
                "[Rule.bad_regex]\n"
                "Pattern=foo(bar\n"
                "Category=network\n"
                "[Rule.bad_category]\n"
                "Pattern=x+y\n"
                "Category=space_invaders\n"
                "[Rule.no_pattern]\n"
                "Category=network\n"
                "[Rule.manual_fix]\n"
                "Pattern=SyntaxError: \n"
                "Category=python_syntax\n"
                "AutoFixable=yes\n"
                "Fix=flutter_clean\n"
                "[Rule.unknown_key]\n"
                "Pattern=abc\n"
                "Category=other\n"
                "Colour=blue\n"
                "Priority=2000\n"
                "[Something.else]\n"
                "Pattern=ignored\n"
                "stray line\n";

        ASSERT_OK(detect_rules_new(DETECT_RULES_NO_BUILTIN, &r));
        ASSERT_OK(detect_rules_load_string(r, "50-test.rules", text, sizeof text - 1, &errs));
        for (size_t i = 0; i < errs.n_errors; i++)
                fprintf(stderr, "  %s:%u: %s\n", errs.errors[i].file, errs.errors[i].line,
                        errs.errors[i].message);
        ASSERT_TRUE(detect_rules_has(r, "good"));
        ASSERT_TRUE(!detect_rules_has(r, "bad_regex"));
        ASSERT_TRUE(!detect_rules_has(r, "bad_category"));
        ASSERT_TRUE(!detect_rules_has(r, "no_pattern"));
        /* the taxonomy wins: loaded, but never auto-fixable */
        ASSERT_TRUE(detect_rules_has(r, "manual_fix"));
        ASSERT_TRUE(!detect_rules_has(r, "unknown_key"));     /* bad priority */
        ASSERT_STREQ(errs.errors[0].file, "50-test.rules");
        ASSERT_EQ(errs.errors[0].line, 7);
        ASSERT_STRSTR(errs.errors[0].message, "offset 7");
        bool saw_cat = false, saw_fix = false, saw_key = false, saw_section = false;
        for (size_t i = 0; i < errs.n_errors; i++) {
                saw_cat |= errs.errors[i].line == 11 && strstr(errs.errors[i].message, "space_invaders");
                saw_fix |= errs.errors[i].line == 14 && strstr(errs.errors[i].message, "never auto-fixable");
                saw_key |= errs.errors[i].line == 22 && strstr(errs.errors[i].message, "Colour");
                saw_section |= errs.errors[i].line == 24;
        }
        ASSERT_TRUE(saw_cat && saw_fix && saw_key && saw_section);
        detect_rule_errors_done(&errs);
        ASSERT_EQ(errs.n_errors, 0);
        return 0;
}

TEST(later_rules_replace_and_disable_earlier_ones) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        DetectRuleErrors errs = {};
        static const char a[] = "[Rule.x]\nPattern=aaa\nCategory=network\n[Rule.y]\nPattern=bbb\nCategory=other\n";
        static const char b[] = "[Rule.x]\nPattern=ccc\nCategory=disk_full\n[Rule.y]\nEnabled=no\n"
                                "[Rule.default_failed]\nEnabled=no\n";

        ASSERT_OK(detect_rules_new(0, &r));
        ASSERT_OK(detect_rules_load_string(r, "a", a, sizeof a - 1, &errs));
        ASSERT_OK(detect_rules_load_string(r, "b", b, sizeof b - 1, &errs));
        ASSERT_EQ(errs.n_errors, 0);
        ASSERT_TRUE(detect_rules_has(r, "x"));
        ASSERT_TRUE(!detect_rules_has(r, "y"));
        ASSERT_TRUE(!detect_rules_has(r, "default_failed"));
        ASSERT_EQ(detect_rules_count(r), 5);
        _cleanup_strv_free_ char **p = detect_rules_patterns(r);
        bool has_ccc = false, has_aaa = false;
        for (char **i = p; *i; i++) {
                has_ccc |= strcmp(*i, "ccc") == 0;
                has_aaa |= strcmp(*i, "aaa") == 0;
        }
        ASSERT_TRUE(has_ccc && !has_aaa);
        /* sealed rules are frozen */
        ASSERT_OK(detect_rules_seal(r));
        ASSERT_ERROR(detect_rules_load_string(r, "c", a, sizeof a - 1, &errs), EBUSY);
        return 0;
}

/* A rule without a literal is slow, not wrong: it stays in use (the engine's
 * match budget guards against a pathological one), and the warning says so. */
TEST(rule_without_literal_is_loaded_and_says_so) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        static const char text[] = "[Rule.no_literal]\nPattern=^\\s*(x|y)\\d+$\n"
                                   "Category=network\nPriority=90\n";
        DetectRuleErrors errs = {};
        Collected got = {};

        ASSERT_OK(detect_rules_new(DETECT_RULES_NO_BUILTIN, &r));
        ASSERT_OK(detect_rules_load_string(r, "50-slow.rules", text, sizeof text - 1, &errs));
        ASSERT_EQ(errs.n_errors, 1);
        ASSERT_EQ(errs.errors[0].line, 1);
        ASSERT_STRSTR(errs.errors[0].message, "so it is loaded, but tried on every line (slow)");
        detect_rule_errors_done(&errs);
        ASSERT_TRUE(detect_rules_has(r, "no_literal"));

        ASSERT_OK(detect_engine_new(r, NULL, &e));
        ASSERT_OK(detect_engine_feed(e, "s", "  x42", 5, 0, collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 1);
        ASSERT_STREQ(category_to_string(got.items[0]->category), "network");
        collected_done(&got);
        return 0;
}

/* The prefilter walks a long line as two overlapping halves and cuts
 * literals to their first bytes: a literal must be found wherever it sits,
 * across the middle too, whatever its length, and found only where it is. */
TEST(prefilter_finds_a_literal_at_every_offset) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        static const char text[] =
                "[Rule.short]\nPattern=quota\nCategory=api_quota\n"
                "[Rule.sixteen]\nPattern=resolve-16-bytes\nCategory=network\n"
                "[Rule.long]\nPattern=a literal of thirty-one bytes!!\nCategory=disk_full\n";
        static const char *const lits[] = { "quota", "resolve-16-bytes", "a literal of thirty-one bytes!!" };
        DetectRuleErrors errs = {};

        ASSERT_OK(detect_rules_new(DETECT_RULES_NO_BUILTIN, &r));
        ASSERT_OK(detect_rules_load_string(r, "50-t.rules", text, sizeof text - 1, &errs));
        ASSERT_EQ(errs.n_errors, 0);
        ASSERT_OK(detect_rules_seal(r));
        for (size_t k = 0; k < ELEMENTSOF(lits); k++) {
                size_t ri = SIZE_MAX, ll = strlen(lits[k]);

                for (size_t i = 0; i < r->n_rules; i++)
                        if (strcmp(r->rules[i]->patterns[0].source, lits[k]) == 0)
                                ri = i;
                ASSERT_TRUE(ri != SIZE_MAX);
                size_t pb = r->rules[ri]->patterns[0].bit;
                for (size_t n = ll; n <= 140; n++)
                        for (size_t at = 0; at + ll <= n; at++) {
                                uint64_t bits[64] = {};
                                char line[160];

                                ASSERT_TRUE(r->n_cand_words <= ELEMENTSOF(bits));
                                memset(line, 'x', n);
                                memcpy(line + at, lits[k], ll);
                                (void) detect_prefilter_scan(r->prefilter, line, n, bits);
                                if (!(bits[ri / 64] & (UINT64_C(1) << (ri % 64))) ||
                                    !(bits[pb / 64] & (UINT64_C(1) << (pb % 64))))
                                        TEST_FAIL("'%s' at %zu of %zu not found", lits[k], at, n);
                                /* the other rules' literals are not on the line */
                                for (size_t i = 0; i < r->n_rules; i++)
                                        if (i != ri && (bits[i / 64] & (UINT64_C(1) << (i % 64))))
                                                TEST_FAIL("'%s' at %zu of %zu: rule %zu found too", lits[k],
                                                          at, n, i);
                        }
        }
        return 0;
}

/* A rule whose literal is on a line runs only those of its patterns whose
 * own literal is there too, also when the rule's literal was set apart
 * with Literal=. */
TEST(patterns_run_only_where_their_literal_is) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        static const char text[] =
                "[Rule.many]\nPattern=^alpha \\d+\nPattern=^beta \\d+\nPattern=^gamma \\d+\n"
                "Category=network\n"
                "[Rule.explicit]\nPattern=^delta \\w+ fails\nPattern=^epsilon \\w+ fails\n"
                "Literal= fails\nCategory=disk_full\n";
        DetectRuleErrors errs = {};
        Collected got = {};
        DetectStats st;

        ASSERT_OK(detect_rules_new(DETECT_RULES_NO_BUILTIN, &r));
        ASSERT_OK(detect_rules_load_string(r, "50-t.rules", text, sizeof text - 1, &errs));
        ASSERT_EQ(errs.n_errors, 0);
        ASSERT_OK(detect_engine_new(r, NULL, &e));
        ASSERT_OK(detect_engine_feed(e, "s", "gamma 42", 8, 0, collect_cb, &got));
        ASSERT_OK(detect_engine_feed(e, "s", "epsilon disk fails", 18, 0, collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 2);
        ASSERT_STREQ(category_to_string(got.items[0]->category), "network");
        ASSERT_STREQ(category_to_string(got.items[1]->category), "disk_full");
        detect_engine_get_stats(e, &st);
        /* one regex a line: gamma's, epsilon's */
        ASSERT_EQ(st.regex_runs, 2);
        collected_done(&got);
        return 0;
}

TEST(etc_overrides_vendor_files_by_name) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        DetectRuleErrors errs = {};
        const char *vendor = test_tmpdir(), *etc = test_tmpdir(); /* owned by the harness */
        const char *dirs[] = { vendor, etc, "/nonexistent/appwatch" };

        free(test_write_file(vendor, "10-a.rules", "[Rule.vendor_a]\nPattern=aaa\nCategory=network\n"));
        free(test_write_file(vendor, "20-b.rules", "[Rule.vendor_b]\nPattern=bbb\nCategory=network\n"));
        free(test_write_file(vendor, "notes.txt", "[Rule.ignored]\nPattern=x\nCategory=network\n"));
        free(test_write_file(etc, "10-a.rules", "[Rule.admin_a]\nPattern=zzz\nCategory=disk_full\n"));
        free(test_write_file(etc, "30-c.rules", "[Rule.bad\nPattern=(\n"));
        ASSERT_OK(detect_rules_new(DETECT_RULES_NO_BUILTIN, &r));
        ASSERT_OK(detect_rules_load_dirs(r, dirs, ELEMENTSOF(dirs), &errs));
        ASSERT_TRUE(!detect_rules_has(r, "vendor_a"));
        ASSERT_TRUE(detect_rules_has(r, "admin_a"));
        ASSERT_TRUE(detect_rules_has(r, "vendor_b"));
        ASSERT_TRUE(!detect_rules_has(r, "ignored"));
        ASSERT_EQ(errs.n_errors, 1); /* the malformed header; its keys are skipped with it */
        ASSERT_STRSTR(errs.errors[0].file, "30-c.rules");
        ASSERT_EQ(errs.errors[0].line, 1);
        detect_rule_errors_done(&errs);
        return 0;
}

TEST(limits) {
        _cleanup_(detect_rules_unrefp) DetectRules *r = NULL;
        DetectRuleErrors errs = {};
        char buf[4096];
        int n;

        ASSERT_OK(detect_rules_new(DETECT_RULES_NO_BUILTIN, &r));
        n = snprintf(buf, sizeof buf, "[Rule.many]\nCategory=other\n");
        for (int i = 0; i < DETECT_RULE_PATTERNS_MAX + 1; i++)
                n += snprintf(buf + n, sizeof buf - (size_t) n, "Pattern=p%02d\n", i);
        ASSERT_OK(detect_rules_load_string(r, "x", buf, (size_t) n, &errs));
        ASSERT_TRUE(!detect_rules_has(r, "many"));
        ASSERT_TRUE(errs.n_errors >= 1);
        ASSERT_STRSTR(errs.errors[0].message, "too many patterns");
        detect_rule_errors_done(&errs);
        ASSERT_OK(detect_rules_load_string(r, "big", buf, DETECT_RULES_FILE_MAX + 1, &errs));
        ASSERT_EQ(errs.n_errors, 1);
        detect_rule_errors_done(&errs);
        return 0;
}

TEST(literal_extraction) {
        static const struct {
                const char *pattern;
                const char *literals; /* '|' separated, "" for none */
        } t[] = {
                { "No module named '(?<m>\\w+)'", "no module named '" },
                { "(?i)Permission denied", "permission denied" },
                { "foo|barbaz", "foo|barbaz" },
                { "foo|x", "" },
                { "colou?r is red", "r is red" },
                { "ab+cdef", "cdef" },
                { "a{0,3}bcd", "bcd" },
                { "x{2}yz\\.q", "yz.q" },
                { "\\d+ errors?", " error" },
                { "(?:abc|def) ghi", " ghi" },
                { "(?:very long literal)", "very long literal" },
                { "(?<name>capture me) x", "capture me" },
                { "(?=lookahead)xyz", "xyz" },
                { "(?x) a b c d", "" },
                { "[abc]+", "" },
                { "Error \\(Xcode\\): ", "error (xcode): " },
                { "\\bAPI_KEY\\b", "api_key" },
                /* what belongs to an escape is not literal text */
                { "depends on \\k<package>, version", "depends on " },
                { "on \\k<package>, version", ", version" },
                { "(?<q>['\"])x\\k<q>long-name\\k'q'", "long-name" },
                { "(a)\\g{1}tail", "tail" },
                { "(a)\\g-1tail|(b)\\g2tail", "tail|tail" },
                { "(a)\\1234", "" },
                { "\\cAabc", "abc" },
                { "\\Q(a.b*)\\E end", "(a.b*) end" },
                { "\\Qabcd\\E+", "abc" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_strv_free_ char **l = NULL;
                char joined[256] = "";
                size_t n;

                ASSERT_OK(detect_extract_literals(t[i].pattern, &l, &n));
                for (size_t j = 0; j < n; j++) {
                        if (j > 0)
                                strcat(joined, "|");
                        strcat(joined, l[j]);
                }
                if (strcmp(joined, t[i].literals) != 0)
                        TEST_FAIL("'%s': got '%s', expected '%s'", t[i].pattern, joined, t[i].literals);
        }
        return 0;
}

TEST(taxonomy) {
        static const char *const ids[] = {
                "flutter_dependency", "flutter_version_conflict", "flutter_build_cache", "flutter_build",
                "dart_syntax", "ios_pods", "python_missing_package", "python_syntax", "python_runtime",
                "pip_resolution", "api_key_invalid", "api_quota", "api_unavailable", "network",
                "disk_full", "out_of_memory", "permission", "none", "other",
        };

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                Category c = category_from_string(ids[i]);

                ASSERT_TRUE(c >= 0);
                ASSERT_STREQ(category_to_string(c), ids[i]);
                ASSERT_TRUE(detect_category_label(c, LANGUAGE_KO));
                ASSERT_TRUE(detect_category_label(c, LANGUAGE_EN));
        }
        ASSERT_EQ(_CATEGORY_MAX, ELEMENTSOF(ids));
        ASSERT_ERROR(category_from_string("nope"), EINVAL);
        ASSERT_TRUE(category_to_string(_CATEGORY_MAX) == NULL);
        ASSERT_STREQ(detect_category_label(CATEGORY_PYTHON_MISSING_PACKAGE, LANGUAGE_KO),
                     "Python 패키지 누락");

        /* the users' guide: only these four kinds may be fixed automatically */
        for (int c = 0; c < _CATEGORY_MAX; c++)
                ASSERT_EQ(detect_category_fixable(c),
                          c == CATEGORY_FLUTTER_DEPENDENCY || c == CATEGORY_FLUTTER_VERSION_CONFLICT ||
                          c == CATEGORY_FLUTTER_BUILD_CACHE || c == CATEGORY_PYTHON_MISSING_PACKAGE);
        /* severities per the issue */
        ASSERT_EQ(detect_category_default_severity(CATEGORY_DISK_FULL), SEVERITY_CRITICAL);
        ASSERT_EQ(detect_category_default_severity(CATEGORY_OUT_OF_MEMORY), SEVERITY_CRITICAL);
        ASSERT_EQ(detect_category_default_severity(CATEGORY_API_UNAVAILABLE), SEVERITY_CRITICAL);
        ASSERT_EQ(detect_category_default_severity(CATEGORY_API_KEY_INVALID), SEVERITY_HIGH);
        ASSERT_EQ(detect_category_default_severity(CATEGORY_FLUTTER_BUILD), SEVERITY_HIGH);
        ASSERT_EQ(detect_category_default_severity(CATEGORY_PYTHON_MISSING_PACKAGE), SEVERITY_MEDIUM);
        ASSERT_EQ(detect_category_default_severity(CATEGORY_NONE), SEVERITY_LOW);

        ASSERT_STREQ(severity_to_string(SEVERITY_CRITICAL), "Critical");
        ASSERT_EQ(severity_from_string("high"), SEVERITY_HIGH);
        ASSERT_ERROR(severity_from_string("urgent"), EINVAL);
        ASSERT_EQ(language_from_string("ko_KR.UTF-8"), LANGUAGE_KO);
        ASSERT_EQ(language_from_string("en"), LANGUAGE_EN);
        ASSERT_ERROR(language_from_string("C.UTF-8"), EINVAL);
        ASSERT_STREQ(language_to_string(LANGUAGE_KO), "ko");
        return 0;
}

TEST(python_distributions) {
        static const struct {
                const char *module, *dist;
        } t[] = {
                { "cv2", "opencv-python" }, { "yaml", "PyYAML" }, { "PIL", "Pillow" },
                /* Python 3 names the first part that failed: PIL imported */
                { "PIL.Image", NULL }, { "sklearn.externals.joblib", NULL },
                { "bs4", "beautifulsoup4" }, { "google.generativeai", "google-generativeai" },
                { "google.generativeai.types", NULL }, { "git", "GitPython" },
                { "requests", "requests" }, { "pandas.io", NULL }, { "google", NULL },
                { "tkinter", NULL }, { "_ctypes", NULL }, { "utils", NULL },
        };
        char buf[128];

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const char *d = detect_python_distribution(t[i].module, buf, sizeof buf);

                if (!t[i].dist ? d != NULL : !d || strcmp(d, t[i].dist) != 0)
                        TEST_FAIL("%s -> %s", t[i].module, d ?: "(null)");
        }
        ASSERT_TRUE(python_dist_name_valid("scikit-learn"));
        ASSERT_TRUE(python_dist_name_valid("ruamel.yaml"));
        ASSERT_TRUE(!python_dist_name_valid("foo; rm -rf /"));
        ASSERT_TRUE(!python_dist_name_valid("-e"));
        ASSERT_TRUE(!python_dist_name_valid(""));
        return 0;
}
