/* SPDX-License-Identifier: MIT */
/* The reports and daemon_runs tables and the report's queries; see reports.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/parse.h"
#include "store/reports.h"

/* A gap shorter than this is a restart, not an outage. */
#define GAP_MIN_USEC (60 * USEC_PER_SEC)

int report_last_end(Store *s, const char *kind, int64_t *ret) {
        static const char *const sql =
                "SELECT max(window_end) FROM reports WHERE kind = ?";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return store_step_errno(s, rc);
        r = sqlite3_column_type(st, 0) != SQLITE_NULL;
        if (r)
                *ret = sqlite3_column_int64(st, 0);
        (void) sqlite3_reset(st);
        return r;
}

int report_record(Store *s, const char *kind, int64_t window_start, int64_t window_end,
                  int64_t now, const char *body, int64_t *ret_id) {
        static const char *const sql =
                "INSERT INTO reports (kind, window_start, window_end, created, body) "
                "VALUES (?, ?, ?, ?, ?)";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, window_start);
        sqlite3_bind_int64(st, 3, window_end);
        sqlite3_bind_int64(st, 4, now);
        sqlite3_bind_text(st, 5, body, -1, SQLITE_STATIC);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(store_db(s));
        return 0;
}

int daemon_run_start(Store *s, int64_t now, int64_t *ret_id) {
        static const char *const sql =
                "INSERT INTO daemon_runs (started, heartbeat) VALUES (?, ?)";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int64(st, 2, now);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        *ret_id = sqlite3_last_insert_rowid(store_db(s));
        return 0;
}

int daemon_run_heartbeat(Store *s, int64_t id, int64_t now, bool stopped) {
        static const char *const sql =
                "UPDATE daemon_runs SET heartbeat = max(heartbeat, ?1), "
                "stopped = CASE WHEN ?2 THEN ?1 ELSE stopped END WHERE id = ?3";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_int(st, 2, stopped);
        sqlite3_bind_int64(st, 3, id);
        return store_step_done(s, st);
}

/* Binds start and end as ?1 and ?2 and steps once: SQLITE_ROW or an error. */
static int step_window(Store *s, sqlite3_stmt *st, int64_t start, int64_t end) {
        int rc;

        sqlite3_bind_int64(st, 1, start);
        sqlite3_bind_int64(st, 2, end);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return store_step_errno(s, rc);
        return rc;
}

static uint64_t column_u64(sqlite3_stmt *st, int col) {
        int64_t v = sqlite3_column_int64(st, col);
        return v > 0 ? (uint64_t) v : 0;
}

static void item_done(ReportItem *i) {
        free(i->app);
        free(i->title);
}

/* The incidents a query lists (columns as ITEM_COLUMNS), into items. */
#define ITEM_COLUMNS "id, app, title, category, severity, status, count, regressions, first_seen, last_seen"
static int fill_items(Store *s, sqlite3_stmt *st, int64_t start, int64_t end, ReportItem *items,
                      size_t *n) {
        int rc;

        for (rc = step_window(s, st, start, end); rc == SQLITE_ROW && *n < REPORT_TOP;
             rc = sqlite3_step(st)) {
                ReportItem *i = &items[*n];
                *i = (ReportItem) {
                        .id = sqlite3_column_int64(st, 0),
                        .app = store_column_dup(st, 1),
                        .title = store_column_dup(st, 2),
                        .category = category_from_string((const char *) sqlite3_column_text(st, 3)),
                        .severity = severity_from_string((const char *) sqlite3_column_text(st, 4)),
                        .status = incident_status_from_string(
                                        (const char *) sqlite3_column_text(st, 5)),
                        .count = sqlite3_column_int64(st, 6),
                        .regressions = sqlite3_column_int64(st, 7),
                        .first_seen = sqlite3_column_int64(st, 8),
                        .last_seen = sqlite3_column_int64(st, 9),
                };
                if (!i->app || !i->title) {
                        item_done(i);
                        (void) sqlite3_reset(st);
                        return -ENOMEM;
                }
                if (i->category < 0)
                        i->category = CATEGORY_OTHER;
                if (i->severity < 0)
                        i->severity = SEVERITY_HIGH;
                (*n)++;
        }
        (void) sqlite3_reset(st);
        return rc < 0 ? rc : 0;
}

static int collect_counts(Store *s, int64_t start, int64_t end, Report *r) {
        /* The window's incidents are those `appwatchctl incidents --since`
         * lists: last seen in it. */
        static const char *const sql =
                "SELECT category, severity, status, count(*), "
                "       sum(EXISTS (SELECT 1 FROM fix_attempts f WHERE f.incident_id = i.id "
                "                   AND f.state = 'resolved')) "
                "FROM incidents i WHERE last_seen >= ?1 AND last_seen < ?2 "
                "GROUP BY category, severity, status";
        sqlite3_stmt *st;
        int rc, q;

        q = store_prepare(s, sql, &st);
        if (q < 0)
                return q;
        for (rc = step_window(s, st, start, end); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
                Category c = category_from_string((const char *) sqlite3_column_text(st, 0));
                Severity v = severity_from_string((const char *) sqlite3_column_text(st, 1));
                IncidentStatus status =
                        incident_status_from_string((const char *) sqlite3_column_text(st, 2));
                uint64_t n = column_u64(st, 3);

                r->total += n;
                r->by_category[c >= 0 ? c : CATEGORY_OTHER] += n;
                r->by_severity[v >= 0 ? v : SEVERITY_HIGH] += n;
                if (status == INCIDENT_MANUAL_REQUIRED)
                        r->manual += n;
                if (status == INCIDENT_RESOLVED)
                        r->auto_fixed += column_u64(st, 4);
        }
        (void) sqlite3_reset(st);
        return rc < 0 ? rc : 0;
}

static int collect_lists(Store *s, int64_t start, int64_t end, Report *r) {
        static const char *const top_sql =
                "SELECT " ITEM_COLUMNS " FROM incidents "
                "WHERE last_seen >= ?1 AND last_seen < ?2 AND count > 1 "
                "ORDER BY count DESC, last_seen DESC LIMIT 5";
        static const char *const regr_sql =
                "SELECT " ITEM_COLUMNS " FROM incidents "
                "WHERE last_seen >= ?1 AND last_seen < ?2 AND regressions > 0 "
                "ORDER BY last_seen DESC LIMIT 5";
        static const char *const regr_count_sql =
                "SELECT count(*) FROM incidents "
                "WHERE last_seen >= ?1 AND last_seen < ?2 AND regressions > 0";
        /* Open now, whenever they were first seen: the oldest first. */
        static const char *const open_sql =
                "SELECT " ITEM_COLUMNS " FROM incidents "
                "WHERE status != 'Resolved' AND first_seen < ?2 AND ?1 = ?1 "
                "ORDER BY first_seen LIMIT 5";
        static const char *const open_count_sql =
                "SELECT count(*) FROM incidents WHERE status != 'Resolved' AND first_seen < ?2 "
                "AND ?1 = ?1";
        sqlite3_stmt *st;
        int q;

        if ((q = store_prepare(s, top_sql, &st)) < 0 ||
            (q = fill_items(s, st, start, end, r->top, &r->n_top)) < 0 ||
            (q = store_prepare(s, regr_sql, &st)) < 0 ||
            (q = fill_items(s, st, start, end, r->regressions, &r->n_regressions)) < 0 ||
            (q = store_prepare(s, open_sql, &st)) < 0 ||
            (q = fill_items(s, st, start, end, r->open, &r->n_open)) < 0)
                return q;
        if ((q = store_prepare(s, regr_count_sql, &st)) < 0 ||
            (q = step_window(s, st, start, end)) < 0)
                return q;
        r->regressions_total = column_u64(st, 0);
        (void) sqlite3_reset(st);
        if ((q = store_prepare(s, open_count_sql, &st)) < 0 ||
            (q = step_window(s, st, start, end)) < 0)
                return q;
        r->open_total = column_u64(st, 0);
        (void) sqlite3_reset(st);
        return 0;
}

static int collect_rates(Store *s, int64_t start, int64_t end, Report *r) {
        static const char *const mttr_sql =
                "SELECT count(*), coalesce(avg(resolved_at - first_seen), 0) FROM incidents "
                "WHERE resolved_at >= ?1 AND resolved_at < ?2";
        static const char *const fix_sql =
                "SELECT coalesce(sum(state = 'resolved'), 0), coalesce(sum(state = 'failed'), 0) "
                "FROM fix_attempts WHERE finished >= ?1 AND finished < ?2";
        static const char *const ai_sql =
                "SELECT count(*), coalesce(sum(prompt_tokens), 0), coalesce(sum(output_tokens), 0), "
                "       coalesce(sum(thoughts_tokens), 0) "
                "FROM ai_calls WHERE time >= ?1 AND time < ?2";
        static const char *const dead_sql =
                "SELECT count(*), (SELECT last_error FROM outbox WHERE state = 'dead' "
                "                  AND created >= ?1 AND created < ?2 ORDER BY id DESC LIMIT 1) "
                "FROM outbox WHERE state = 'dead' AND created >= ?1 AND created < ?2";
        sqlite3_stmt *st;
        int q;

        if ((q = store_prepare(s, mttr_sql, &st)) < 0 || (q = step_window(s, st, start, end)) < 0)
                return q;
        r->n_resolved = column_u64(st, 0);
        r->mttr_usec = (int64_t) sqlite3_column_double(st, 1);
        (void) sqlite3_reset(st);

        if ((q = store_prepare(s, fix_sql, &st)) < 0 || (q = step_window(s, st, start, end)) < 0)
                return q;
        r->fixes_ok = column_u64(st, 0);
        r->fixes_failed = column_u64(st, 1);
        (void) sqlite3_reset(st);

        if ((q = store_prepare(s, ai_sql, &st)) < 0 || (q = step_window(s, st, start, end)) < 0)
                return q;
        r->ai_calls = column_u64(st, 0);
        r->ai_prompt_tokens = column_u64(st, 1);
        r->ai_output_tokens = column_u64(st, 2);
        r->ai_thoughts_tokens = column_u64(st, 3);
        (void) sqlite3_reset(st);

        if ((q = store_prepare(s, dead_sql, &st)) < 0 || (q = step_window(s, st, start, end)) < 0)
                return q;
        r->dead_deliveries = column_u64(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
                r->last_delivery_error = store_column_dup(st, 1);
                if (!r->last_delivery_error) {
                        (void) sqlite3_reset(st);
                        return -ENOMEM;
                }
        }
        (void) sqlite3_reset(st);
        return 0;
}

static int collect_hourly(Store *s, int64_t end, Report *r) {
        static const char *const sql =
                "SELECT (seen - ?1) / 3600000000, count(*) FROM occurrences "
                "WHERE seen >= ?1 AND seen < ?2 GROUP BY 1";
        int64_t from = end - (int64_t) REPORT_HOURS * 3600 * (int64_t) USEC_PER_SEC;
        sqlite3_stmt *st;
        int rc, q;

        q = store_prepare(s, sql, &st);
        if (q < 0)
                return q;
        for (rc = step_window(s, st, from, end); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
                int64_t h = sqlite3_column_int64(st, 0);
                if (h >= 0 && h < REPORT_HOURS)
                        r->hourly[h] += column_u64(st, 1);
        }
        (void) sqlite3_reset(st);
        return rc < 0 ? rc : 0;
}

static void add_gap(Report *r, int64_t from, int64_t to) {
        if (to - from < (int64_t) GAP_MIN_USEC)
                return;
        if (r->n_gaps < REPORT_MAX_GAPS)
                r->gaps[r->n_gaps++] = (ReportGap) { from, to };
        r->gaps_total++;
        r->down_usec += to - from;
}

static int collect_gaps(Store *s, int64_t start, int64_t end, Report *r) {
        /* A run that did not stop cleanly was last known alive at its
         * heartbeat. */
        static const char *const sql =
                "SELECT started, coalesce(stopped, heartbeat) FROM daemon_runs "
                "WHERE coalesce(stopped, heartbeat) >= ?1 AND started < ?2 ORDER BY started";
        sqlite3_stmt *st;
        int64_t cursor = start;
        int rc, q;

        q = store_prepare(s, sql, &st);
        if (q < 0)
                return q;
        for (rc = step_window(s, st, start, end); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
                int64_t a = sqlite3_column_int64(st, 0), b = sqlite3_column_int64(st, 1);
                if (a > cursor)
                        add_gap(r, cursor, a);
                if (b > cursor)
                        cursor = b;
        }
        (void) sqlite3_reset(st);
        if (rc < 0)
                return rc;
        if (cursor < end)
                add_gap(r, cursor, end);
        return 0;
}

int report_collect(Store *s, int64_t start, int64_t end, Report *r) {
        int q;

        *r = (Report) { .window_start = start, .window_end = end };
        if ((q = collect_counts(s, start, end, r)) < 0 ||
            (q = collect_lists(s, start, end, r)) < 0 ||
            (q = collect_rates(s, start, end, r)) < 0 ||
            (q = collect_hourly(s, end, r)) < 0 ||
            (q = collect_gaps(s, start, end, r)) < 0) {
                report_done(r);
                return q;
        }
        return 0;
}
