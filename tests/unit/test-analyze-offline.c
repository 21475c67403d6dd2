/* SPDX-License-Identifier: MIT */
/* Tests for analyze/offline.h: every category has ko and en texts, and the
 * parameters end up in them. */
#include "analyze/offline.h"
#include "test-detect-util.h"
#include "tests.h"

TEST(every_category_in_both_languages) {
        for (int c = 0; c < _CATEGORY_MAX; c++)
                for (int l = 0; l < _LANGUAGE_MAX; l++) {
                        Finding f = { .category = c, .title = (char *) "T", .fix = (char *) "none" };
                        Analysis a = {};

                        ASSERT_OK(analyze_offline(&f, l, NULL, &a));
                        ASSERT_TRUE(strlen(a.cause) > 5 && strlen(a.next_step) > 5);
                        ASSERT_TRUE(!strstr(a.cause, "${") && !strstr(a.next_step, "${"));
                        analysis_done(&a);
                }
        return 0;
}

TEST(parameters_are_filled_in) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        AnalyzeContext ctx = { .app = "factory-bot", .directory = "/srv/apps/bot" };
        _cleanup_free_ char *both = NULL;
        Collected got = {};
        Analysis a = {};

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        ASSERT_OK(feed_text(e, "s", "ModuleNotFoundError: No module named 'yaml'\n", &got));
        ASSERT_EQ(got.n, 1);
        ASSERT_OK(analyze_offline(got.items[0], LANGUAGE_EN, &ctx, &a));
        ASSERT_STRSTR(a.next_step, "pip install PyYAML");
        ASSERT_STRSTR(a.next_step, "factory-bot");
        ASSERT_STRSTR(a.next_step, "/srv/apps/bot");
        ASSERT_STRSTR(a.cause, "'yaml'");
        analysis_done(&a);
        ASSERT_OK(analyze_offline(got.items[0], LANGUAGE_KO, &ctx, &a));
        ASSERT_STRSTR(a.next_step, "pip install PyYAML");
        ASSERT_STRSTR(a.cause, "설치되어 있지 않습니다");
        both = analysis_format(&a);
        ASSERT_TRUE(both && strstr(both, a.cause) && strstr(both, a.next_step));
        analysis_done(&a);
        collected_done(&got);

        /* without an app context the text still reads */
        ASSERT_OK(feed_text(e, "t", "Because app depends on foo ^1.0.0 and bar ^2.0.0 depends on foo ^2.0.0, version solving failed.\n", &got));
        ASSERT_EQ(got.n, 1);
        ASSERT_OK(analyze_offline(got.items[0], LANGUAGE_EN, NULL, &a));
        ASSERT_STRSTR(a.next_step, "pubspec.yaml");
        analysis_done(&a);
        collected_done(&got);
        return 0;
}

/* The advice never tells the user to run a fix the rules judged not to
 * apply: a finding without a fix gets no fix command, one with a fix gets
 * its own. */
TEST(no_fix_no_fix_command) {
        static const struct {
                const char *log, *fix, *command;
        } cases[] = {
                /* the solver already failed on these constraints */
                { "Because app depends on foo ^1.0.0 and bar ^2.0.0 depends on foo ^2.0.0, version solving failed.\n",
                  "none", NULL },
                /* Maven artifacts, not pub packages */
                { "FAILURE: Build failed with an exception.\n\n* What went wrong:\n"
                  "Execution failed for task ':app:checkDebugAarMetadata'.\n"
                  "> Could not resolve all files for configuration ':app:debugRuntimeClasspath'.\n"
                  "   > Could not find com.example:lib:1.0.\n\n",
                  "none", NULL },
                /* a cache outside the project */
                { "Could not open cp_settings generic class cache for settings file '/p/android/settings.gradle' "
                  "(/root/.gradle/caches/7.5/scripts/abc).\n",
                  "none", NULL },
                { "The pubspec.lock file has changed since the .dart_tool/package_config.json file was generated, "
                  "please run \"pub get\" again.\n",
                  "flutter_pub_get", "`flutter pub get`" },
        };
        /* as the advice quotes a command to run */
        static const char *const commands[] = { "`flutter clean", "`flutter pub get`", "`flutter pub upgrade`",
                                                 "`pip install" };
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (int l = 0; l < _LANGUAGE_MAX; l++) {
                        Collected got = {};
                        Analysis a = {};

                        ASSERT_OK(feed_text(e, "s", cases[i].log, &got));
                        ASSERT_EQ(got.n, 1);
                        ASSERT_STREQ(got.items[0]->fix, cases[i].fix);
                        ASSERT_OK(analyze_offline(got.items[0], l, NULL, &a));
                        if (cases[i].command)
                                ASSERT_STRSTR(a.next_step, cases[i].command);
                        else
                                for (size_t c = 0; c < ELEMENTSOF(commands); c++)
                                        if (strstr(a.next_step, commands[c])) {
                                                printf("case %zu (%s): '%s'\n", i, cases[i].fix, a.next_step);
                                                ASSERT_TRUE(false);
                                        }
                        analysis_done(&a);
                        collected_done(&got);
                        detect_engine_forget(e, "s");
                }
        return 0;
}
