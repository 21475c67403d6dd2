/* SPDX-License-Identifier: MIT */
/*
 * Tests for core/check (the status check's judgement: thresholds, keys,
 * severities, the JSON and the STATUS= summary) and store/checks (stuck
 * fixes, appwatch's open incidents by key, health results, meta).
 */
#include "core/check.h"
#include "core/health.h"
#include "store/checks.h"
#include "store/incidents.h"
#include "tests.h"

static const CheckThresholds T = {
        .min_free_disk = 5, .min_free_inodes = 5, .max_outbox_age = USEC_PER_HOUR,
        .max_queue_depth = 10, .stuck_after = 15 * USEC_PER_MINUTE,
};

static struct statvfs fs(unsigned long blocks, unsigned long avail, unsigned long files,
                         unsigned long favail) {
        return (struct statvfs) { .f_frsize = 4096, .f_blocks = blocks, .f_bavail = avail,
                                  .f_bfree = avail, .f_files = files, .f_favail = favail,
                                  .f_ffree = favail };
}

TEST(thresholds_from_config) {
        _cleanup_(config_freep) Config *c = NULL;

        ASSERT_OK(config_new_default(&c));
        CheckThresholds t = check_thresholds_from_config(c);
        ASSERT_EQ(t.min_free_disk, 5);
        ASSERT_EQ(t.min_free_inodes, 5);
        ASSERT_EQ(t.max_outbox_age, USEC_PER_HOUR);
        /* [Fix] TimeoutSec= (10min) plus the margin (5min). */
        ASSERT_EQ(t.stuck_after, 15 * USEC_PER_MINUTE);
        return 0;
}

TEST(disk_and_inodes) {
        _cleanup_(check_report_done) CheckReport r = {};
        struct statvfs ok = fs(1000, 50, 100, 5), low = fs(1000, 49, 100, 4), full = fs(1000, 0, 0, 0);
        const CheckItem *it;

        /* Exactly the minimum passes; one block less is a breach. */
        ASSERT_OK(check_eval_fs(&r, &T, "state", NULL, "/a", 0, &ok));
        ASSERT_OK(check_eval_fs(&r, &T, "watch", "w", "/b", 0, &low));
        /* No inodes reported (btrfs): no inode item; nothing left: Critical. */
        ASSERT_OK(check_eval_fs(&r, &T, "spool", NULL, "/c", 0, &full));
        ASSERT_EQ(r.n, 5);
        ASSERT_EQ(check_report_breaches(&r), 3);
        ASSERT_TRUE(!check_report_find(&r, "check:disk:/a")->breach);
        ASSERT_TRUE(!check_report_find(&r, "check:inodes:/a")->breach);
        it = check_report_find(&r, "check:disk:/b");
        ASSERT_TRUE(it && it->breach);
        ASSERT_EQ(it->category, CATEGORY_DISK_FULL);
        ASSERT_EQ(it->severity, SEVERITY_HIGH);
        ASSERT_STREQ(it->title, "Disk space of /b: 4% free (at least 5% wanted)");
        ASSERT_TRUE(check_report_find(&r, "check:inodes:/b")->breach);
        it = check_report_find(&r, "check:disk:/c");
        ASSERT_TRUE(it && it->breach);
        ASSERT_EQ(it->severity, SEVERITY_CRITICAL);
        ASSERT_TRUE(!check_report_find(&r, "check:inodes:/c"));
        return 0;
}

TEST(disabled_and_unreadable) {
        _cleanup_(check_report_done) CheckReport r = {};
        CheckThresholds off = T;
        struct statvfs full = fs(1000, 0, 100, 0);
        const CheckItem *it;

        off.min_free_disk = off.min_free_inodes = 0;
        ASSERT_OK(check_eval_fs(&r, &off, "state", NULL, "/a", 0, &full));
        ASSERT_EQ(check_report_breaches(&r), 0);
        /* A directory that cannot be looked at is its own breach, named by its watch. */
        ASSERT_OK(check_eval_fs(&r, &T, "watch", "logs", "/gone", -ENOENT, NULL));
        it = check_report_find(&r, "check:watch:logs");
        ASSERT_TRUE(it && it->breach);
        ASSERT_STRSTR(it->title, "/gone cannot be looked at: No such file or directory");
        return 0;
}

TEST(sources_queues_outbox) {
        _cleanup_(check_report_done) CheckReport r = {};
        int64_t now = 100 * (int64_t) USEC_PER_HOUR;

        ASSERT_OK(check_eval_source(&r, "journal", false, "cannot open"));
        ASSERT_OK(check_eval_source(&r, "watch:x", true, NULL));
        ASSERT_TRUE(check_report_find(&r, "check:journal:reader")->breach);
        ASSERT_TRUE(!check_report_find(&r, "check:watch:x")->breach);

        ASSERT_OK(check_eval_queue(&r, &T, "analyze", 10));
        ASSERT_OK(check_eval_queue(&r, &T, "deliver", 11));
        ASSERT_TRUE(!check_report_find(&r, "check:queue:analyze")->breach);
        ASSERT_TRUE(check_report_find(&r, "check:queue:deliver")->breach);

        /* An hour old exactly passes, an hour and a second does not. */
        ASSERT_OK(check_eval_outbox(&r, &T, 2, now - (int64_t) USEC_PER_HOUR, 0, now));
        ASSERT_TRUE(!check_report_find(&r, "check:outbox:age")->breach);
        ASSERT_TRUE(!check_report_find(&r, "check:outbox:dead")->breach);
        check_report_done(&r);
        ASSERT_OK(check_eval_outbox(&r, &T, 2, now - (int64_t) (USEC_PER_HOUR + USEC_PER_SEC), 1,
                                    now));
        ASSERT_TRUE(check_report_find(&r, "check:outbox:age")->breach);
        ASSERT_STRSTR(check_report_find(&r, "check:outbox:age")->title,
                      "2 messages pending, the oldest for 1h 1s (at most 1h wanted)");
        ASSERT_TRUE(check_report_find(&r, "check:outbox:dead")->breach);
        /* Nothing pending is never old, whatever oldest says. */
        check_report_done(&r);
        ASSERT_OK(check_eval_outbox(&r, &T, 0, 1, 0, now));
        ASSERT_EQ(check_report_breaches(&r), 0);
        return 0;
}

TEST(stuck_fixes) {
        _cleanup_(check_report_done) CheckReport r = {};
        int64_t now = 100 * (int64_t) USEC_PER_HOUR;
        json_auto_t *rows = json_pack(
                "[{s:i, s:i, s:s, s:s, s:I}, {s:i, s:i, s:s, s:s, s:I}]",
                "id", 7, "incident_id", 3, "fix_id", "flutter_pub_get", "state", "running",
                "started", (json_int_t) (now - 16 * (int64_t) USEC_PER_MINUTE),
                "id", 8, "incident_id", 4, "fix_id", "flutter_clean", "state", "verifying",
                "started", (json_int_t) (now - 15 * (int64_t) USEC_PER_MINUTE));
        const CheckItem *it;

        ASSERT_OK(check_eval_stuck_fixes(&r, &T, rows, now));
        ASSERT_EQ(r.n, 1);
        it = check_report_find(&r, "check:fix:7");
        ASSERT_TRUE(it && it->breach);
        ASSERT_STREQ(it->title, "Fix attempt 7 (flutter_pub_get, incident 3) is still running "
                                "after 16min (stuck after 15min)");
        return 0;
}

TEST(json_and_summary) {
        _cleanup_(check_report_done) CheckReport r = {};
        _cleanup_free_ char *s1 = NULL, *s2 = NULL;
        json_auto_t *j = NULL;
        struct statvfs low = fs(1000, 10, 100, 50);

        s1 = check_report_summary(&r);
        ASSERT_STREQ(s1, "check ok");
        ASSERT_OK(check_eval_fs(&r, &T, "state", NULL, "/var/lib/appwatch", 0, &low));
        ASSERT_OK(check_eval_queue(&r, &T, "fix", 99));
        s2 = check_report_summary(&r);
        ASSERT_STREQ(s2, "check: 2 breaches: Disk space of /var/lib/appwatch: 1% free (at least "
                         "5% wanted), ...");
        j = check_report_json(&r);
        ASSERT_TRUE(j);
        ASSERT_TRUE(!json_is_true(json_object_get(j, "ok")));
        ASSERT_EQ(json_integer_value(json_object_get(j, "breaches")), 2);
        json_t *first = json_array_get(json_object_get(j, "items"), 0);
        ASSERT_STREQ(json_string_value(json_object_get(first, "key")), "check:disk:/var/lib/appwatch");
        ASSERT_STREQ(json_string_value(json_object_get(first, "severity")), "High");
        ASSERT_EQ(json_integer_value(json_object_get(first, "free_percent")), 1);
        return 0;
}

TEST(store_queries) {
        _cleanup_(store_freep) Store *s = test_open_store();
        _cleanup_strv_free_ char **keys = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        _cleanup_free_ char *v = NULL;
        json_auto_t *rows = NULL;
        int64_t id, other;
        size_t n = 0;
        Occurrence o = { .fingerprint = "00000000000000000000000000000001", .app = "appwatch",
                         .host = "h", .category = CATEGORY_OTHER, .severity = SEVERITY_HIGH,
                         .title = "t", .excerpt = "e", .origin = "appwatch",
                         .source = "check:disk:/x", .seen = 10 };

        ASSERT_OK(incident_record(s, &o, &id));
        o.fingerprint = "00000000000000000000000000000002";
        o.source = "slack:invalid_token";
        ASSERT_OK(incident_record(s, &o, &other));
        ASSERT_OK(checks_open_internal(s, "h", "check:", &keys, &ids, &n));
        ASSERT_EQ(n, 1);
        ASSERT_STREQ(keys[0], "check:disk:/x");
        ASSERT_EQ(ids[0], id);
        keys = strv_free(keys);
        ids = mfree(ids);
        /* Resolved ones and other hosts are not open here. */
        ASSERT_EQ(incident_set_status(s, id, INCIDENT_RESOLVED, 20), 1);
        ASSERT_OK(checks_open_internal(s, "h", "check:", &keys, &ids, &n));
        ASSERT_EQ(n, 0);
        ASSERT_TRUE(keys && !keys[0]);

        ASSERT_OK(store_exec(s, "INSERT INTO fix_attempts (incident_id, app, fingerprint, attempt, "
                                "fix_id, state, started) "
                                "VALUES (1, 'a', 'f', 1, 'flutter_clean', 'running', 100), "
                                "(1, 'a', 'f', 2, 'flutter_clean', 'failed', 50), "
                                "(1, 'a', 'f', 3, 'flutter_clean', 'verifying', 300)"));
        ASSERT_OK(checks_stuck_fixes(s, 200, &rows));
        ASSERT_EQ(json_array_size(rows), 1);
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(rows, 0), "state")),
                     "running");

        ASSERT_OK(health_result_add(s, 5, "shop", "flutter_version", true, "Flutter 3.24.0"));
        ASSERT_OK(health_result_add(s, 5, NULL, "gemini_key", false, NULL));

        ASSERT_EQ(store_meta_get(s, "notion_sync", &v), 0);
        ASSERT_OK(store_meta_set(s, "notion_sync", "2025-09-21T00:00:00.000Z"));
        ASSERT_EQ(store_meta_get(s, "notion_sync", &v), 1);
        ASSERT_STREQ(v, "2025-09-21T00:00:00.000Z");
        return 0;
}

TEST(health_gemini) {
        _cleanup_(check_report_done) CheckReport r = {};
        static const char invalid[] =
                "{\"error\": {\"code\": 400, \"message\": \"API key not valid.\", \"status\": "
                "\"INVALID_ARGUMENT\", \"details\": [{\"@type\": "
                "\"type.googleapis.com/google.rpc.ErrorInfo\", \"reason\": \"API_KEY_INVALID\"}]}}";
        const CheckItem *it;

        ASSERT_OK(health_eval_gemini(&r, "m", 0, NULL, 400, invalid));
        it = check_report_find(&r, "gemini:key_invalid");
        ASSERT_TRUE(it && it->breach);
        ASSERT_EQ(it->severity, SEVERITY_HIGH);
        ASSERT_EQ(it->category, CATEGORY_API_KEY_INVALID);
        ASSERT_STRSTR(it->title, "API 키 확인 필요");
        ASSERT_STRSTR(it->title, "API_KEY_INVALID");
        /* Nothing said about the model while the key is refused. */
        ASSERT_TRUE(!check_report_find(&r, "gemini:model_not_found"));
        check_report_done(&r);

        /* Another 400 is not a key problem. */
        ASSERT_OK(health_eval_gemini(&r, "m", 0, NULL, 400,
                                     "{\"error\": {\"status\": \"INVALID_ARGUMENT\"}}"));
        ASSERT_TRUE(!check_report_find(&r, "gemini:key_invalid")->breach);
        ASSERT_TRUE(check_report_find(&r, "gemini:unavailable")->breach);
        check_report_done(&r);

        ASSERT_OK(health_eval_gemini(&r, "gemini-1.0-pro", 0, NULL, 404, "{}"));
        it = check_report_find(&r, "gemini:model_not_found");
        ASSERT_TRUE(it && it->breach);
        ASSERT_STRSTR(it->title, "'gemini-1.0-pro' is not served");
        check_report_done(&r);

        ASSERT_OK(health_eval_gemini(&r, "m", 0, NULL, 200, "{}"));
        ASSERT_EQ(check_report_breaches(&r), 0);
        ASSERT_EQ(r.n, 2);
        check_report_done(&r);

        ASSERT_OK(health_eval_gemini(&r, "m", -ECONNREFUSED, "Connection refused", 0, NULL));
        ASSERT_EQ(r.n, 1);
        ASSERT_STREQ(r.items[0].key, "gemini:unavailable");
        ASSERT_STRSTR(r.items[0].title, "Connection refused");
        return 0;
}

TEST(health_slack_url) {
        ASSERT_TRUE(health_slack_url_valid("https://hooks.slack.com/services/T0AAA/B0BBB/xyz123", false));
        ASSERT_TRUE(!health_slack_url_valid("https://hooks.slack.com/services/T0AAA", false));
        ASSERT_TRUE(!health_slack_url_valid("https://hooks.slack.com/services/T0/B0/x/", false));
        ASSERT_TRUE(!health_slack_url_valid("https://hooks.slack.com/services/T0/B0/x y", false));
        ASSERT_TRUE(!health_slack_url_valid("http://hooks.slack.com/services/T0/B0/x", false));
        ASSERT_TRUE(!health_slack_url_valid("https://example.com/services/T0/B0/x", false));
        ASSERT_TRUE(health_slack_url_valid("http://127.0.0.1:8080/services/T0/B0/x", true));
        ASSERT_TRUE(!health_slack_url_valid("http://127.0.0.1:8080/hooks/T0/B0/x", true));
        ASSERT_TRUE(!health_slack_url_valid(NULL, true));
        return 0;
}

TEST(health_notion) {
        _cleanup_(check_report_done) CheckReport r = {};

        ASSERT_OK(health_eval_notion(&r, "database", 0, NULL, 401,
                                     "{\"object\": \"error\", \"status\": 401, \"code\": "
                                     "\"unauthorized\", \"message\": \"API token is invalid.\"}",
                                     NULL));
        ASSERT_TRUE(check_report_find(&r, "health:notion:invalid_token")->breach);
        ASSERT_STRSTR(check_report_find(&r, "health:notion:invalid_token")->title,
                      "HTTP 401, unauthorized: API token is invalid.");
        ASSERT_TRUE(!check_report_find(&r, "health:notion:schema"));
        check_report_done(&r);
        ASSERT_OK(health_eval_notion(&r, NULL, 0, NULL, 200, NULL, "심각도: missing"));
        ASSERT_TRUE(check_report_find(&r, "health:notion:schema")->breach);
        ASSERT_TRUE(!check_report_find(&r, "health:notion:invalid_token")->breach);
        ASSERT_EQ(check_report_breaches(&r), 1);
        return 0;
}
