/* SPDX-License-Identifier: MIT */
/* The outbox table; see outbox.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/outbox.h"

static const char *const sink_table[_OUTBOX_SINK_MAX] = {
        [OUTBOX_SLACK] = "slack",
        [OUTBOX_NOTION] = "notion",
};

static const char *const state_table[_OUTBOX_STATE_MAX] = {
        [OUTBOX_PENDING] = "pending",
        [OUTBOX_DONE] = "done",
        [OUTBOX_DEAD] = "dead",
};

const char *outbox_sink_to_string(OutboxSink s) {
        return s >= 0 && s < _OUTBOX_SINK_MAX ? sink_table[s] : NULL;
}

OutboxSink outbox_sink_from_string(const char *s) {
        for (int i = 0; s && i < _OUTBOX_SINK_MAX; i++)
                if (strcmp(sink_table[i], s) == 0)
                        return (OutboxSink) i;
        return _OUTBOX_SINK_INVALID;
}

const char *outbox_state_to_string(OutboxState s) {
        return s >= 0 && s < _OUTBOX_STATE_MAX ? state_table[s] : NULL;
}

OutboxState outbox_state_from_string(const char *s) {
        for (int i = 0; s && i < _OUTBOX_STATE_MAX; i++)
                if (strcmp(state_table[i], s) == 0)
                        return (OutboxState) i;
        return _OUTBOX_STATE_INVALID;
}

void outbox_row_done(OutboxRow *r) {
        free(r->target);
        free(r->key);
        free(r->payload);
        free(r->last_error);
        *r = (OutboxRow) {};
}

void outbox_rows_free(OutboxRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                outbox_row_done(&rows[i]);
        free(rows);
}

#define ROW_COLUMNS "id, kind, target, idempotency_key, payload, state, attempts, next_attempt," \
                    " last_error, created"

static int row_from(sqlite3_stmt *st, OutboxRow *ret) {
        OutboxRow r = {
                .id = sqlite3_column_int64(st, 0),
                .sink = outbox_sink_from_string((const char *) sqlite3_column_text(st, 1)),
                .target = store_column_dup(st, 2),
                .key = store_column_dup(st, 3),
                .payload = store_column_dup(st, 4),
                .state = outbox_state_from_string((const char *) sqlite3_column_text(st, 5)),
                .attempts = sqlite3_column_int64(st, 6),
                .next_attempt = sqlite3_column_int64(st, 7),
                .last_error = store_column_dup(st, 8),
                .created = sqlite3_column_int64(st, 9),
        };

        if (!r.target || !r.key || !r.payload ||
            (sqlite3_column_type(st, 8) != SQLITE_NULL && !r.last_error)) {
                outbox_row_done(&r);
                return -ENOMEM;
        }
        if (r.sink < 0 || r.state < 0) {
                outbox_row_done(&r);
                return -EBADMSG;
        }
        *ret = r;
        return 0;
}

/* Steps st to the end, collecting rows. */
static int collect_rows(Store *s, sqlite3_stmt *st, OutboxRow **ret, size_t *ret_n) {
        OutboxRow *rows = NULL;
        size_t n = 0;
        int rc, r;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                OutboxRow *nr = realloc(rows, sizeof(OutboxRow) * (n + 1));
                if (!nr) {
                        r = -ENOMEM;
                        goto fail;
                }
                rows = nr;
                r = row_from(st, &rows[n]);
                if (r < 0)
                        goto fail;
                n++;
        }
        (void) sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                outbox_rows_free(rows, n);
                return store_step_errno(s, rc);
        }
        *ret = rows;
        *ret_n = n;
        return 0;
fail:
        (void) sqlite3_reset(st);
        outbox_rows_free(rows, n);
        return r;
}

int outbox_add(Store *s, OutboxSink sink, const char *target, const char *key,
               const char *payload, int64_t now) {
        static const char *const sql =
                "INSERT INTO outbox (kind, target, idempotency_key, payload, next_attempt, created)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (idempotency_key) DO NOTHING";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, outbox_sink_to_string(sink), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, target ?: "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, payload, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 1 : 0;
}

int outbox_head(Store *s, OutboxSink sink, size_t max, OutboxRow **ret, size_t *ret_n) {
        static const char *const sql =
                "SELECT " ROW_COLUMNS " FROM outbox WHERE state = 'pending' AND kind = ?"
                " ORDER BY id LIMIT ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, outbox_sink_to_string(sink), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t) max);
        return collect_rows(s, st, ret, ret_n);
}

static int update_one(Store *s, const char *sql, int64_t id, int64_t t, const char *error) {
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, t);
        store_bind_text_or_null(st, 3, error);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 0 : -ENOENT;
}

int outbox_mark_done(Store *s, int64_t id, int64_t now) {
        /* next_attempt keeps when it was done, for pruning. */
        return update_one(s, "UPDATE outbox SET state = 'done', attempts = attempts + 1,"
                             " next_attempt = ?2, last_error = ?3 WHERE id = ?1", id, now, NULL);
}

int outbox_mark_retry(Store *s, int64_t id, int64_t next_attempt, const char *error) {
        return update_one(s, "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?2,"
                             " last_error = ?3 WHERE id = ?1", id, next_attempt, error);
}

int outbox_mark_dead(Store *s, int64_t id, const char *error) {
        return update_one(s, "UPDATE outbox SET state = 'dead', attempts = attempts + 1,"
                             " next_attempt = ?2, last_error = ?3 WHERE id = ?1", id, 0, error);
}

int outbox_make_due(Store *s, OutboxSink sink, int64_t now) {
        static const char *const sql =
                "UPDATE outbox SET next_attempt = ?2 WHERE state = 'pending' AND kind = ?1"
                " AND next_attempt > ?2";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, outbox_sink_to_string(sink), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, now);
        r = store_step_done(s, st);
        return r < 0 ? r : sqlite3_changes(store_db(s));
}

int outbox_retry_dead(Store *s, int64_t id, int64_t now) {
        static const char *const sql =
                "UPDATE outbox SET state = 'pending', next_attempt = ?2"
                " WHERE state = 'dead' AND (?1 = 0 OR id = ?1)";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, now);
        r = store_step_done(s, st);
        return r < 0 ? r : sqlite3_changes(store_db(s));
}

int outbox_prune(Store *s, int64_t before) {
        static const char *const sql =
                "DELETE FROM outbox WHERE state = 'done' AND next_attempt < ?";

        return store_delete_before(s, sql, before);
}

int outbox_list_json(Store *s, size_t limit, json_t **ret) {
        static const char *const sql =
                "SELECT " ROW_COLUMNS " FROM outbox WHERE state != 'done' ORDER BY id LIMIT ?";
        OutboxRow *rows = NULL;
        sqlite3_stmt *st;
        size_t n = 0;
        json_t *a;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (int64_t) limit);
        r = collect_rows(s, st, &rows, &n);
        if (r < 0)
                return r;
        a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                json_t *payload = json_loads(rows[i].payload, 0, NULL);
                json_t *kind = json_object_get(payload, "kind");
                /* The payload names the incident and the event, never a secret. */
                if (json_array_append_new(a, json_pack(
                                "{s:I, s:s, s:s, s:s, s:s?, s:I, s:I, s:s?, s:I}",
                                "id", (json_int_t) rows[i].id,
                                "sink", outbox_sink_to_string(rows[i].sink),
                                "state", outbox_state_to_string(rows[i].state),
                                "incident", rows[i].target,
                                "event", json_string_value(kind),
                                "attempts", (json_int_t) rows[i].attempts,
                                "next_attempt", (json_int_t) rows[i].next_attempt,
                                "last_error", rows[i].last_error,
                                "created", (json_int_t) rows[i].created)) < 0) {
                        json_decref(a);
                        a = NULL;
                }
                json_decref(payload);
        }
        outbox_rows_free(rows, n);
        if (!a)
                return -ENOMEM;
        *ret = a;
        return 0;
}

int outbox_stats(Store *s, OutboxStats *ret) {
        static const char *const sql =
                "SELECT kind, state, COUNT(*), MIN(created) FROM outbox"
                " WHERE state != 'done' GROUP BY kind, state";
        OutboxStats stats = {};
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                OutboxSink sink = outbox_sink_from_string((const char *) sqlite3_column_text(st, 0));
                OutboxState state = outbox_state_from_string(
                        (const char *) sqlite3_column_text(st, 1));
                uint64_t count = (uint64_t) sqlite3_column_int64(st, 2);
                int64_t oldest = sqlite3_column_int64(st, 3);

                if (state == OUTBOX_DEAD)
                        stats.dead += count;
                else if (state == OUTBOX_PENDING) {
                        stats.pending += count;
                        if (sink >= 0)
                                stats.pending_by_sink[sink] += count;
                        if (stats.oldest_pending == 0 || oldest < stats.oldest_pending)
                                stats.oldest_pending = oldest;
                }
        }
        (void) sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return store_step_errno(s, rc);
        *ret = stats;
        return 0;
}

int outbox_last_for(Store *s, OutboxSink sink, const char *target, const char *prefix,
                    OutboxRow *ret) {
        static const char *const sql =
                "SELECT " ROW_COLUMNS " FROM outbox WHERE kind = ?1 AND target = ?2"
                " AND substr(idempotency_key, 1, length(?3)) = ?3 ORDER BY id DESC LIMIT 1";
        OutboxRow *rows = NULL;
        sqlite3_stmt *st;
        size_t n = 0;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, outbox_sink_to_string(sink), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
        r = collect_rows(s, st, &rows, &n);
        if (r < 0)
                return r;
        if (n == 0)
                return 0;
        *ret = rows[0];
        free(rows);
        return 1;
}
