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
        ASSERT_STRSTR(a.next_step, "flutter pub upgrade");
        analysis_done(&a);
        collected_done(&got);
        return 0;
}
