/* SPDX-License-Identifier: MIT */
/* The status and health checks' queries; see checks.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cleanup.h"
#include "store/checks.h"

int checks_stuck_fixes(Store *s, int64_t started_before, json_t **ret) {
        static const char *const sql =
                "SELECT id, incident_id, fix_id, state, started FROM fix_attempts "
                "WHERE state IN ('running', 'verifying') AND started < ? ORDER BY started, id";
        json_auto_t *a = json_array();
        sqlite3_stmt *st;
        int rc, r;

        if (!a)
                return -ENOMEM;
        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, started_before);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                _cleanup_free_ char *fix = store_column_dup(st, 2), *state = store_column_dup(st, 3);

                if (json_array_append_new(a, json_pack("{s:I, s:I, s:s, s:s, s:I}",
                                                       "id", (json_int_t) sqlite3_column_int64(st, 0),
                                                       "incident_id",
                                                       (json_int_t) sqlite3_column_int64(st, 1),
                                                       "fix_id", fix ?: "", "state", state ?: "",
                                                       "started",
                                                       (json_int_t) sqlite3_column_int64(st, 4))) < 0) {
                        (void) sqlite3_reset(st);
                        return -ENOMEM;
                }
        }
        (void) sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return store_step_errno(s, rc);
        *ret = TAKE_PTR(a);
        return 0;
}

int checks_open_internal(Store *s, const char *host, const char *prefix, char ***ret_keys,
                         int64_t **ret_ids, size_t *ret_n) {
        /* The key is every occurrence's source; the newest one is enough. */
        static const char *const sql =
                "SELECT i.id, (SELECT o.source FROM occurrences o WHERE o.incident_id = i.id "
                "              ORDER BY o.id DESC LIMIT 1) "
                "FROM incidents i WHERE i.app = 'appwatch' AND i.origin = 'appwatch' "
                "AND i.host = ? AND i.status <> 'Resolved' ORDER BY i.id";
        _cleanup_strv_free_ char **keys = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0, l = strlen(prefix);
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const char *key = (const char *) sqlite3_column_text(st, 1);
                char **nk;
                int64_t *ni;

                if (!key || strncmp(key, prefix, l) != 0)
                        continue;
                nk = realloc(keys, (n + 2) * sizeof *keys);
                if (nk)
                        keys = nk;
                ni = realloc(ids, (n + 1) * sizeof *ids);
                if (ni)
                        ids = ni;
                if (!nk || !ni || !(keys[n] = strdup(key))) {
                        (void) sqlite3_reset(st);
                        return -ENOMEM;
                }
                ids[n++] = sqlite3_column_int64(st, 0);
                keys[n] = NULL;
        }
        (void) sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return store_step_errno(s, rc);
        if (!keys) {
                keys = calloc(1, sizeof *keys);
                if (!keys)
                        return -ENOMEM;
        }
        *ret_keys = TAKE_PTR(keys);
        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

int health_result_add(Store *s, int64_t time, const char *app, const char *probe, bool ok,
                      const char *detail) {
        static const char *const sql =
                "INSERT INTO health_results (time, app, probe, ok, detail) VALUES (?, ?, ?, ?, ?)";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, time);
        sqlite3_bind_text(st, 2, app ?: "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, probe, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, ok);
        sqlite3_bind_text(st, 5, detail ?: "", -1, SQLITE_STATIC);
        return store_step_done(s, st);
}

int store_meta_get(Store *s, const char *key, char **ret) {
        static const char *const sql = "SELECT value FROM meta WHERE key = ?";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
                char *v = store_column_dup(st, 0);

                (void) sqlite3_reset(st);
                if (!v)
                        return -ENOMEM;
                *ret = v;
                return 1;
        }
        (void) sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_step_errno(s, rc);
}

int store_meta_set(Store *s, const char *key, const char *value) {
        static const char *const sql =
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        store_bind_text_or_null(st, 2, value);
        return store_step_done(s, st);
}

int checks_incident_by_notion_page(Store *s, const char *page_id, int64_t *ret_id,
                                   IncidentStatus *ret_status) {
        static const char *const sql =
                "SELECT id, status FROM incidents "
                "WHERE replace(lower(notion_page_id), '-', '') = replace(lower(?), '-', '') "
                "ORDER BY id LIMIT 1";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, page_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                IncidentStatus status = incident_status_from_string(
                        (const char *) sqlite3_column_text(st, 1));

                *ret_id = sqlite3_column_int64(st, 0);
                (void) sqlite3_reset(st);
                if (status < 0)
                        return -EBADMSG;
                *ret_status = status;
                return 1;
        }
        (void) sqlite3_reset(st);
        return rc == SQLITE_DONE ? 0 : store_step_errno(s, rc);
}

int checks_notion_pending(Store *s, int64_t id) {
        static const char *const sql =
                "SELECT 1 FROM outbox WHERE kind = 'notion' AND target = CAST(? AS TEXT) "
                "AND state = 'pending' LIMIT 1";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        (void) sqlite3_reset(st);
        if (rc == SQLITE_ROW)
                return 1;
        return rc == SQLITE_DONE ? 0 : store_step_errno(s, rc);
}
