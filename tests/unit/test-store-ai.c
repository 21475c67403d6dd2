/* SPDX-License-Identifier: MIT */
/* Tests for store/ai: the answer cache, the calls and their usage per
 * window, an incident's analysis source and note. */
#include "store/ai.h"
#include "store/incidents.h"
#include "tests.h"

TEST(answer_cache_by_every_part_of_the_key) {
        _cleanup_(store_freep) Store *s = test_open_store();
        _cleanup_free_ char *a = NULL;
        AiCacheKey k = { "fp1", "gemini-3.8-flash", 1, 1, "ko" };
        AiCacheKey other[] = {
                { "fp2", "gemini-3.8-flash", 1, 1, "ko" },
                { "fp1", "gemini-3.7-flash", 1, 1, "ko" },
                { "fp1", "gemini-3.8-flash", 2, 1, "ko" },
                { "fp1", "gemini-3.8-flash", 1, 2, "ko" },
                { "fp1", "gemini-3.8-flash", 1, 1, "en" },
        };

        ASSERT_ERROR(ai_answer_get(s, &k, &a), ENOENT);
        ASSERT_OK(store_begin(s));
        ASSERT_OK(ai_answer_put(s, &k, "{\"fix_id\":\"none\"}", 100));
        ASSERT_OK(store_commit(s));
        ASSERT_OK(ai_answer_get(s, &k, &a));
        ASSERT_STREQ(a, "{\"fix_id\":\"none\"}");
        for (size_t i = 0; i < ELEMENTSOF(other); i++) {
                _cleanup_free_ char *b = NULL;

                ASSERT_ERROR(ai_answer_get(s, &other[i], &b), ENOENT);
        }
        /* A newer answer for the same key replaces the old one. */
        a = mfree(a);
        ASSERT_OK(store_begin(s));
        ASSERT_OK(ai_answer_put(s, &k, "{\"fix_id\":\"pip_install\"}", 200));
        ASSERT_OK(store_commit(s));
        ASSERT_OK(ai_answer_get(s, &k, &a));
        ASSERT_STREQ(a, "{\"fix_id\":\"pip_install\"}");
        return 0;
}

TEST(calls_and_usage_between) {
        _cleanup_(store_freep) Store *s = test_open_store();
        AiUsage u;

        ASSERT_OK(ai_usage_between(s, 0, INT64_MAX, &u));
        ASSERT_EQ(u.calls, 0);
        ASSERT_EQ(u.latency_usec_max, 0);
        ASSERT_OK(store_begin(s));
        ASSERT_OK(ai_call_add(s, &(AiCall) { .time = 100, .incident_id = 0, .model = "m",
                                             .outcome = "ok", .http_status = 200,
                                             .prompt_tokens = 10, .output_tokens = 5,
                                             .thoughts_tokens = 7, .latency_usec = 1000 }));
        ASSERT_OK(ai_call_add(s, &(AiCall) { .time = 200, .model = "m", .outcome = "quota",
                                             .http_status = 429, .latency_usec = 3000 }));
        ASSERT_OK(ai_call_add(s, &(AiCall) { .time = 300, .model = "m", .outcome = "transport",
                                             .latency_usec = -1 }));
        ASSERT_OK(store_commit(s));
        ASSERT_OK(ai_usage_between(s, 0, INT64_MAX, &u));
        ASSERT_EQ(u.calls, 3);
        ASSERT_EQ(u.calls_ok, 1);
        ASSERT_EQ(u.prompt_tokens, 10);
        ASSERT_EQ(u.output_tokens, 5);
        ASSERT_EQ(u.thoughts_tokens, 7);
        ASSERT_EQ(u.latency_usec_max, 3000);
        ASSERT_EQ(u.latency_usec_sum, 4000);
        /* [from, to): the window's end is not in it. */
        ASSERT_OK(ai_usage_between(s, 100, 200, &u));
        ASSERT_EQ(u.calls, 1);
        ASSERT_OK(ai_usage_between(s, 200, 301, &u));
        ASSERT_EQ(u.calls, 2);
        ASSERT_EQ(u.calls_ok, 0);
        ASSERT_OK(ai_usage_between(s, 400, 500, &u));
        ASSERT_EQ(u.calls, 0);
        return 0;
}

TEST(calls_pruned_by_age) {
        _cleanup_(store_freep) Store *s = test_open_store();
        AiUsage u;

        ASSERT_OK(store_begin(s));
        for (int64_t t = 100; t <= 500; t += 100)
                ASSERT_OK(ai_call_add(s, &(AiCall) { .time = t, .model = "m", .outcome = "ok",
                                                     .latency_usec = -1 }));
        /* Calls before the cut go; the one made at it stays. */
        ASSERT_EQ(ai_call_prune(s, 300), 2);
        ASSERT_EQ(ai_call_prune(s, 300), 0);
        ASSERT_OK(store_commit(s));
        ASSERT_OK(ai_usage_between(s, 0, INT64_MAX, &u));
        ASSERT_EQ(u.calls, 3);
        ASSERT_OK(ai_usage_between(s, 300, 301, &u));
        ASSERT_EQ(u.calls, 1);
        return 0;
}

TEST(incident_source_note_and_category) {
        _cleanup_(store_freep) Store *s = test_open_store();
        _cleanup_(incident_ai_done) IncidentAi a = {}, b = {};
        int64_t id;
        Occurrence o = {
                .fingerprint = "fp1",
                .app = "shop",
                .host = "h",
                .category = CATEGORY_PYTHON_MISSING_PACKAGE,
                .severity = SEVERITY_MEDIUM,
                .title = "t",
                .excerpt = "e",
                .fix_id = "pip_install:PyYAML",
                .origin = "file",
                .source = "/x",
                .seen = 1,
        };

        ASSERT_OK(store_begin(s));
        ASSERT_TRUE(incident_record(s, &o, &id) >= 0);
        ASSERT_OK(incident_get_ai(s, id, &a));
        ASSERT_TRUE(!a.source && !a.note && !a.ai_category);
        ASSERT_OK(incident_set_ai(s, id, "gemini", "AI agreed", "python_missing_package"));
        ASSERT_OK(incident_get_ai(s, id, &b));
        ASSERT_STREQ(b.source, "gemini");
        ASSERT_STREQ(b.note, "AI agreed");
        ASSERT_STREQ(b.ai_category, "python_missing_package");
        incident_ai_done(&b);
        ASSERT_OK(incident_set_ai(s, id, "offline", "no Gemini API key", NULL));
        ASSERT_OK(incident_get_ai(s, id, &b));
        ASSERT_STREQ(b.source, "offline");
        ASSERT_TRUE(!b.ai_category);
        ASSERT_ERROR(incident_set_ai(s, id + 100, "offline", NULL, NULL), ENOENT);
        ASSERT_ERROR(incident_get_ai(s, id + 100, &a), ENOENT);
        ASSERT_OK(store_commit(s));
        return 0;
}
