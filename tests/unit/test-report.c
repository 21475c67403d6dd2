/* SPDX-License-Identifier: MIT */
/*
 * Tests for the daily report: its rendering (deliver/report.c: ko and en,
 * the guide's lines, bars, the sparkline, an empty window, huge counts, the
 * Slack body within Block Kit's limits) and its queries (store/reports.c:
 * the window, fix attempts, AI calls, dead deliveries, the hours, the
 * times appwatchd did not run).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/report.h"
#include "shared/parse.h"
#include "shared/protocol.h"
#include "shared/utf8.h"
#include "store/incidents.h"
#include "store/outbox.h"
#include "store/reports.h"
#include "tests.h"

#define HOUR ((int64_t) 3600 * (int64_t) USEC_PER_SEC)
/* 2026-09-21 09:00:00 UTC, the guide's date. */
#define T0 ((int64_t) 1789981200 * (int64_t) USEC_PER_SEC)

static void utc(void) {
        setenv("TZ", "UTC", 1);
        tzset();
}

static size_t count_str(const char *hay, const char *needle) {
        size_t n = 0;
        for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* The guide's example: 5 errors, 3 auto-fixed, 2 manual; 2 Low, 2 Medium, 1 High. */
static Report guide_report(void) {
        Report r = {
                .window_start = T0 - 24 * HOUR,
                .window_end = T0,
                .total = 5,
                .auto_fixed = 3,
                .manual = 2,
        };
        r.by_severity[SEVERITY_LOW] = 2;
        r.by_severity[SEVERITY_MEDIUM] = 2;
        r.by_severity[SEVERITY_HIGH] = 1;
        r.by_category[CATEGORY_FLUTTER_DEPENDENCY] = 2;
        r.by_category[CATEGORY_API_KEY_INVALID] = 1;
        r.by_category[CATEGORY_FLUTTER_BUILD] = 2;
        r.hourly[23] = 4;
        r.hourly[0] = 1;
        return r;
}

TEST(text_ko_follows_the_guide) {
        _cleanup_free_ char *t = NULL;
        Report r = guide_report();

        utc();
        ASSERT_OK(report_render_text(&r, LANGUAGE_KO, &t));
        ASSERT_TRUE(strncmp(t, "📊 앱 팩토리 일일 리포트 (2026-09-21)\n", strlen("📊 앱 팩토리 일일 리포트 (2026-09-21)\n")) == 0);
        ASSERT_STRSTR(t, "\n총 오류: 5개\n자동 수정: 3개\n수동 필요: 2개\n\n심각도별 분포:\n");
        ASSERT_STRSTR(t, "🟡 Low: 2개 ████████████\n");
        ASSERT_STRSTR(t, "🟠 Medium: 2개 ████████████\n");
        ASSERT_STRSTR(t, "🔴 High: 1개 ██████\n");
        /* No Critical line when there is none (the guide shows three). */
        ASSERT_TRUE(strstr(t, "Critical") == NULL);
        ASSERT_STRSTR(t, "\n오류 유형별:\n");
        ASSERT_STRSTR(t, "기간: 2026-09-20 09:00 ~ 2026-09-21 09:00\n");
        ASSERT_STRSTR(t, "시간별 발생 (최근 24시간):\n09:00 ▄▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁█ 09:00\n");
        ASSERT_STRSTR(t, "평균 해결 시간: 해결된 오류 없음\n");
        ASSERT_STRSTR(t, "appwatch 가동: 기간 내내 실행됨\n");
        ASSERT_TRUE(utf8_is_valid(t, strlen(t)));
        return 0;
}

TEST(text_en_and_types_by_count) {
        _cleanup_free_ char *t = NULL;
        Report r = guide_report();
        const char *dep, *api;

        utc();
        ASSERT_OK(report_render_text(&r, LANGUAGE_EN, &t));
        ASSERT_STRSTR(t, "📊 App factory daily report (2026-09-21)\n");
        ASSERT_STRSTR(t, "Total errors: 5\nAuto-fixed: 3\nManual needed: 2\n");
        ASSERT_STRSTR(t, "🔴 High: 1 ██████\n");
        /* The two types of 2 come before the one of 1. */
        dep = strstr(t, "• Flutter");
        api = strstr(t, "• API");
        ASSERT_TRUE(dep && api && dep < api);
        ASSERT_EQ(count_str(t, "• "), 3);
        return 0;
}

TEST(empty_window) {
        _cleanup_free_ char *t = NULL, *e = NULL;
        Report r = { .window_start = T0 - 24 * HOUR, .window_end = T0, .first = true };

        utc();
        ASSERT_OK(report_render_text(&r, LANGUAGE_KO, &t));
        ASSERT_STRSTR(t, "총 오류: 0개\n");
        ASSERT_STRSTR(t, "🟡 Low: 0개\n");     /* no bar for 0 */
        ASSERT_STRSTR(t, "오류 유형별:\n• 없음\n");
        ASSERT_STRSTR(t, "(첫 리포트: 최근 24시간)");
        ASSERT_STRSTR(t, "▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁ ");
        ASSERT_TRUE(strstr(t, "반복 오류") == NULL);
        ASSERT_OK(report_render_text(&r, LANGUAGE_EN, &e));
        ASSERT_STRSTR(e, "By type:\n• none\n");
        ASSERT_STRSTR(e, "Auto-fix success rate: no attempts\n");
        return 0;
}

TEST(huge_counts) {
        _cleanup_free_ char *t = NULL, *j = NULL;
        Report r = guide_report();
        char bar[REPORT_BAR_MAX];

        utc();
        r.total = UINT64_C(12345678901234);
        r.by_severity[SEVERITY_CRITICAL] = UINT64_MAX / 2;
        r.by_severity[SEVERITY_LOW] = 1;
        r.ai_calls = 1000000;
        r.ai_prompt_tokens = UINT64_C(4000000000);
        r.ai_output_tokens = 1234;
        r.fixes_ok = UINT64_C(3000000000);
        r.fixes_failed = UINT64_C(1000000000);
        ASSERT_OK(report_render_text(&r, LANGUAGE_EN, &t));
        ASSERT_STRSTR(t, "Total errors: 12,345,678,901,234\n");
        ASSERT_STRSTR(t, "🔴 Critical: 9,223,372,036,854,775,807 ████████████\n");
        /* 1 of a huge maximum: still a sliver, never nothing. */
        ASSERT_STRSTR(t, "🟡 Low: 1 ▏\n");
        ASSERT_STRSTR(t, "AI calls: 1,000,000, tokens 4,000,001,234 (prompt 4,000,000,000 / output 1,234 / thoughts 0)\n");
        ASSERT_STRSTR(t, "Auto-fix success rate: 75% (3,000,000,000/4000000000)\n");
        ASSERT_STREQ(report_bar(UINT64_MAX, UINT64_MAX, REPORT_BAR_WIDTH, bar, sizeof bar),
                     "████████████");
        ASSERT_OK(report_render_slack(&r, LANGUAGE_EN, &j));
        return 0;
}

TEST(bars_and_sparkline) {
        char b[REPORT_BAR_MAX], s[3 * 8 + 1];

        ASSERT_STREQ(report_bar(0, 10, 12, b, sizeof b), "");
        ASSERT_STREQ(report_bar(10, 10, 12, b, sizeof b), "████████████");
        ASSERT_STREQ(report_bar(5, 10, 12, b, sizeof b), "██████");
        ASSERT_STREQ(report_bar(1, 16, 2, b, sizeof b), "▏");      /* 1/16 of 16 eighths */
        ASSERT_STREQ(report_bar(3, 16, 2, b, sizeof b), "▍");
        ASSERT_STREQ(report_bar(9, 16, 2, b, sizeof b), "█▏");
        ASSERT_STREQ(report_bar(20, 10, 3, b, sizeof b), "███"); /* more than max: full */
        ASSERT_STREQ(report_bar(5, 0, 3, b, sizeof b), "");
        /* A small buffer is never overrun. */
        ASSERT_STREQ(report_bar(10, 10, 12, b, 7), "██");

        ASSERT_STREQ(report_sparkline((uint64_t[]) { 0, 0, 0 }, 3, s, sizeof s), "▁▁▁");
        ASSERT_STREQ(report_sparkline((uint64_t[]) { 0, 1, 6, 3, 0, 6 }, 6, s, sizeof s),
                     "▁▃█▅▁█");
        ASSERT_STREQ(report_sparkline((uint64_t[]) { UINT64_MAX, 1 }, 2, s, sizeof s), "█▂");
        return 0;
}

TEST(slack_body_within_limits) {
        _cleanup_free_ char *j = NULL;
        _cleanup_json_ json_t *o = NULL;
        Report r = guide_report();
        json_t *blocks, *b;
        size_t i;

        utc();
        /* Long titles with mrkdwn's specials, in every list. */
        for (size_t k = 0; k < REPORT_TOP; k++) {
                char title[900];
                memset(title, '<', sizeof title - 1);
                title[sizeof title - 1] = 0;
                r.top[k] = (ReportItem) { .id = (int64_t) k + 1, .app = strdup("앱&co"),
                                          .title = strdup(title), .count = 3 };
                r.open[k] = (ReportItem) { .id = (int64_t) k + 1, .app = strdup("app"),
                                           .title = strdup("한국어 제목 한국어 제목"), .count = 1,
                                           .first_seen = T0 - 50 * HOUR };
        }
        r.n_top = r.n_open = REPORT_TOP;
        r.open_total = 12;
        ASSERT_OK(report_render_slack(&r, LANGUAGE_KO, &j));
        o = json_loads(j, 0, NULL);
        ASSERT_TRUE(o != NULL);
        ASSERT_STREQ(json_string_value(json_object_get(o, "text")), "📊 앱 팩토리 일일 리포트 (2026-09-21)");
        blocks = json_object_get(o, "blocks");
        ASSERT_TRUE(json_array_size(blocks) >= 3 && json_array_size(blocks) <= 50);
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(blocks, 0), "type")), "header");
        json_array_foreach(blocks, i, b) {
                const char *t = json_string_value(json_object_get(json_object_get(b, "text"), "text"));
                ASSERT_TRUE(t && *t);
                ASSERT_TRUE(strlen(t) <= 3000);
                ASSERT_TRUE(utf8_is_valid(t, strlen(t)));
                if (i > 0)
                        ASSERT_TRUE(strchr(t, '<') == NULL && strstr(t, "앱&co") == NULL);
        }
        ASSERT_STRSTR(j, "&lt;&lt;");
        ASSERT_STRSTR(j, "앱&amp;co");
        ASSERT_STRSTR(j, "2일 2시간째");
        ASSERT_STRSTR(j, "… 외 7건");
        /* A long title is cut after 100 characters. */
        ASSERT_STRSTR(j, "&lt;&lt;&lt;… (3회)");
        ASSERT_TRUE(strstr(j, "&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;"
                              "&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;"
                              "&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;"
                              "&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;"
                              "&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;&lt;")
                    == NULL);
        report_done(&r);
        return 0;
}

/* ---- the store ---- */

static int64_t record(Store *s, const char *app, const char *fp, Severity sev, Category cat,
                      int64_t seen) {
        int64_t id = 0;
        Occurrence o = {
                .fingerprint = fp, .app = app, .host = "h", .category = cat, .severity = sev,
                .title = "boom <b>", .excerpt = "x", .origin = "submit", .source = "test",
                .seen = seen,
        };
        if (incident_record(s, &o, &id) < 0)
                abort();
        return id;
}

static void exec(Store *s, const char *sql) {
        if (store_exec(s, sql) < 0)
                abort();
}

TEST(collect_counts_the_window) {
        _cleanup_(store_freep) Store *s = test_open_store();
        int64_t end = T0, start = T0 - 24 * HOUR, a, b, last = 0, run = 0;
        Report r;
        char sql[512];

        /* Before the window: not counted (but open, so listed as open). */
        record(s, "old", "f0", SEVERITY_HIGH, CATEGORY_NETWORK, start - HOUR);
        a = record(s, "app", "f1", SEVERITY_MEDIUM, CATEGORY_FLUTTER_DEPENDENCY, start + HOUR);
        record(s, "app", "f1", SEVERITY_MEDIUM, CATEGORY_FLUTTER_DEPENDENCY, end - HOUR / 2);
        b = record(s, "app", "f2", SEVERITY_LOW, CATEGORY_FLUTTER_BUILD_CACHE, start + 2 * HOUR);
        record(s, "py", "f3", SEVERITY_HIGH, CATEGORY_PYTHON_SYNTAX, start + 3 * HOUR);
        /* After the window's end: not counted. */
        record(s, "py", "f4", SEVERITY_CRITICAL, CATEGORY_DISK_FULL, end + 1);
        ASSERT_EQ(incident_set_status(s, b, INCIDENT_RESOLVED, start + 4 * HOUR), 1);
        snprintf(sql, sizeof sql,
                 "INSERT INTO fix_attempts (incident_id, app, fingerprint, attempt, fix_id, state, "
                 "started, finished) "
                 "VALUES (%lld, 'fl', 'f', 1, 'flutter_clean', 'failed', %lld, %lld), "
                 "(%lld, 'fl', 'f', 2, 'flutter_clean', 'resolved', %lld, %lld);",
                 (long long) b, (long long) start, (long long) start + 10,
                 (long long) b, (long long) start + 20, (long long) start + 30);
        exec(s, sql);
        ASSERT_EQ(incident_set_status(s, a, INCIDENT_MANUAL_REQUIRED, start + 5 * HOUR), 1);
        snprintf(sql, sizeof sql,
                 "INSERT INTO ai_calls (time, model, outcome, prompt_tokens, output_tokens, "
                 "thoughts_tokens) VALUES (%lld, 'm', 'ok', 100, 20, 3), (%lld, 'm', 'ok', 1, 2, 3), "
                 "(%lld, 'm', 'ok', 1000, 1000, 1000);",
                 (long long) start + 1, (long long) end - 1, (long long) start - 1);
        exec(s, sql);
        ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "1", "k1", "{}", start + 5), 1);
        ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "1", "k2", "{}", start + 6), 1);
        ASSERT_OK(outbox_mark_dead(s, 2, "HTTP 400 invalid_blocks"));
        /* appwatchd ran from start - 1h to start + 6h (crashed, last heartbeat),
         * and again from start + 8h to now. */
        ASSERT_OK(daemon_run_start(s, start - HOUR, &run));
        ASSERT_OK(daemon_run_heartbeat(s, run, start + 6 * HOUR, false));
        ASSERT_OK(daemon_run_start(s, start + 8 * HOUR, &run));
        ASSERT_OK(daemon_run_heartbeat(s, run, end, false));

        ASSERT_OK(report_collect(s, start, end, &r));
        ASSERT_EQ(r.total, 3);
        ASSERT_EQ(r.by_severity[SEVERITY_MEDIUM], 1);
        ASSERT_EQ(r.by_severity[SEVERITY_LOW], 1);
        ASSERT_EQ(r.by_severity[SEVERITY_HIGH], 1);
        ASSERT_EQ(r.by_severity[SEVERITY_CRITICAL], 0);
        ASSERT_EQ(r.by_category[CATEGORY_FLUTTER_DEPENDENCY], 1);
        ASSERT_EQ(r.by_category[CATEGORY_NETWORK], 0);
        ASSERT_EQ(r.auto_fixed, 1);
        ASSERT_EQ(r.manual, 1);
        ASSERT_EQ(r.n_top, 1);
        ASSERT_EQ(r.top[0].id, a);
        ASSERT_EQ(r.top[0].count, 2);
        ASSERT_EQ(r.open_total, 3);             /* old, a (manual), f3; not f4 (after) */
        ASSERT_STREQ(r.open[0].app, "old");
        ASSERT_EQ(r.n_resolved, 1);
        ASSERT_EQ(r.mttr_usec, 2 * HOUR);
        ASSERT_EQ(r.fixes_ok, 1);
        ASSERT_EQ(r.fixes_failed, 1);
        ASSERT_EQ(r.ai_calls, 2);
        ASSERT_EQ(r.ai_prompt_tokens, 101);
        ASSERT_EQ(r.ai_output_tokens, 22);
        ASSERT_EQ(r.ai_thoughts_tokens, 6);
        ASSERT_EQ(r.dead_deliveries, 1);
        ASSERT_STREQ(r.last_delivery_error, "HTTP 400 invalid_blocks");
        /* Sightings per hour: hour 0 is [end - 24h, end - 23h). */
        ASSERT_EQ(r.hourly[1], 1);
        ASSERT_EQ(r.hourly[2], 1);
        ASSERT_EQ(r.hourly[3], 1);
        ASSERT_EQ(r.hourly[23], 1);
        ASSERT_EQ(r.hourly[0], 0);
        ASSERT_EQ(r.n_gaps, 1);
        ASSERT_EQ(r.gaps[0].start, start + 6 * HOUR);
        ASSERT_EQ(r.gaps[0].end, start + 8 * HOUR);
        ASSERT_EQ(r.down_usec, 2 * HOUR);
        report_done(&r);

        /* Reports: the next window starts where the last ended. */
        ASSERT_EQ(report_last_end(s, "daily", &last), 0);
        ASSERT_OK(report_record(s, "daily", start, end, end, "text", NULL));
        ASSERT_OK(report_record(s, "daily", start - 48 * HOUR, start - 24 * HOUR, end, "t", NULL));
        ASSERT_EQ(report_last_end(s, "daily", &last), 1);
        ASSERT_EQ(last, end);

        /* A window no run covers is one gap; a clean stop ends a run. */
        ASSERT_OK(daemon_run_heartbeat(s, run, end + HOUR, true));
        ASSERT_OK(report_collect(s, end + 2 * HOUR, end + 5 * HOUR, &r));
        ASSERT_EQ(r.n_gaps, 1);
        ASSERT_EQ(r.down_usec, 3 * HOUR);
        ASSERT_EQ(r.total, 0);                  /* f4 was seen before it */
        report_done(&r);
        return 0;
}
