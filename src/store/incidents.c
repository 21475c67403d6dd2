/* SPDX-License-Identifier: MIT */
/* Incidents, occurrences and positions; see incidents.h. Loop thread only. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#include "shared/log.h"
#include "store/incidents.h"

Incident *incident_free(Incident *i) {
        if (!i)
                return NULL;
        free(i->fingerprint);
        free(i->app);
        free(i->host);
        free(i->title);
        free(i->excerpt);
        free(i->analysis);
        free(i->fix_id);
        free(i->fix_state);
        free(i->notion_page_id);
        free(i->origin);
        free(i);
        return NULL;
}

void incident_list_free(Incident **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                incident_free(l[i]);
        free(l);
}

static int bind_text(sqlite3_stmt *st, int idx, const char *v) {
        return sqlite3_bind_text(st, idx, v ?: "", -1, SQLITE_STATIC);
}


int incident_record(Store *s, const Occurrence *o, int64_t *ret_id) {
        return incident_record_counted(s, o, ret_id, NULL);
}

int incident_record_counted(Store *s, const Occurrence *o, int64_t *ret_id, int64_t *ret_count) {
        static const char *const sql_find =
                "SELECT id, status, count FROM incidents WHERE host = ? AND app = ?"
                " AND fingerprint = ?";
        static const char *const sql_insert =
                "INSERT INTO incidents (fingerprint, app, host, category, severity, title, excerpt,"
                " fix_id, origin, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        static const char *const sql_bump =
                "UPDATE incidents SET count = count + 1, last_seen = max(last_seen, ?),"
                " excerpt = ? WHERE id = ?";
        static const char *const sql_reopen =
                "UPDATE incidents SET count = count + 1, last_seen = max(last_seen, ?),"
                " excerpt = ?, status = 'New', regression = 1, regressions = regressions + 1,"
                " resolved_at = NULL WHERE id = ?";
        static const char *const sql_occurrence =
                "INSERT INTO occurrences (incident_id, seen, source, excerpt) VALUES (?, ?, ?, ?)";
        static const char *const sql_trim =
                "DELETE FROM occurrences WHERE incident_id = ?1 AND id <= (SELECT id FROM"
                " occurrences WHERE incident_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)";
        sqlite3_stmt *st;
        IncidentEvent event;
        int64_t id, count = 1;
        int rc, r;

        assert(s);
        assert(o && o->fingerprint && o->app && o->host);
        assert(category_to_string(o->category) && severity_to_string(o->severity));

        r = store_prepare(s, sql_find, &st);
        if (r < 0)
                return r;
        bind_text(st, 1, o->host);
        bind_text(st, 2, o->app);
        bind_text(st, 3, o->fingerprint);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                bool resolved;

                id = sqlite3_column_int64(st, 0);
                resolved = incident_status_from_string(
                                   (const char *) sqlite3_column_text(st, 1)) == INCIDENT_RESOLVED;
                count = sqlite3_column_int64(st, 2) + 1;
                (void) sqlite3_reset(st);
                event = resolved ? INCIDENT_EVENT_REGRESSION : INCIDENT_EVENT_REPEAT;
                r = store_prepare(s, resolved ? sql_reopen : sql_bump, &st);
                if (r < 0)
                        return r;
                sqlite3_bind_int64(st, 1, o->seen);
                bind_text(st, 2, o->excerpt);
                sqlite3_bind_int64(st, 3, id);
                r = store_step_done(s, st);
                if (r < 0)
                        return r;
        } else if (rc == SQLITE_DONE) {
                (void) sqlite3_reset(st);
                event = INCIDENT_EVENT_NEW;
                r = store_prepare(s, sql_insert, &st);
                if (r < 0)
                        return r;
                bind_text(st, 1, o->fingerprint);
                bind_text(st, 2, o->app);
                bind_text(st, 3, o->host);
                bind_text(st, 4, category_to_string(o->category));
                bind_text(st, 5, severity_to_string(o->severity));
                bind_text(st, 6, o->title);
                bind_text(st, 7, o->excerpt);
                store_bind_text_or_null(st, 8, o->fix_id);
                bind_text(st, 9, o->origin);
                sqlite3_bind_int64(st, 10, o->seen);
                sqlite3_bind_int64(st, 11, o->seen);
                r = store_step_done(s, st);
                if (r < 0)
                        return r;
                id = sqlite3_last_insert_rowid(store_db(s));
        } else
                return store_step_errno(s, rc);

        r = store_prepare(s, sql_occurrence, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, o->seen);
        bind_text(st, 3, o->source);
        bind_text(st, 4, o->excerpt);
        r = store_step_done(s, st);
        if (r < 0)
                return r;

        /* Retention: trimming on every insert would double the cost of a flood,
         * so trim when the newest row id crosses a multiple of 16. */
        if (sqlite3_last_insert_rowid(store_db(s)) % 16 == 0) {
                r = store_prepare(s, sql_trim, &st);
                if (r < 0)
                        return r;
                sqlite3_bind_int64(st, 1, id);
                sqlite3_bind_int64(st, 2, STORE_MAX_OCCURRENCES);
                r = store_step_done(s, st);
                if (r < 0)
                        return r;
        }

        if (ret_id)
                *ret_id = id;
        if (ret_count)
                *ret_count = count;
        return event;
}

#define INCIDENT_COLUMNS                                                                   \
        "id, fingerprint, app, host, category, severity, status, title, excerpt, analysis," \
        " fix_id, fix_state, notion_page_id, origin, count, regressions, fix_attempts,"     \
        " regression, first_seen, last_seen, resolved_at"

static const char *column_text(sqlite3_stmt *st, int col) {
        return (const char *) sqlite3_column_text(st, col);
}

/* A taxonomy string the taxonomy does not know (a newer version's, or an
 * edited database) fails the load of that incident rather than passing an
 * out-of-range value on. */
static int unknown_value(int64_t id, const char *what, const char *value) {
        return log_error_errno(-EBADMSG, "Incident #%" PRIi64 " in the database has an unknown "
                               "%s '%s'.", id, what, value ?: "(null)");
}

static int incident_from_row(sqlite3_stmt *st, Incident **ret) {
        _cleanup_(incident_freep) Incident *i = NULL;

        i = calloc(1, sizeof *i);
        if (!i)
                return -ENOMEM;
        i->id = sqlite3_column_int64(st, 0);
        i->category = category_from_string(column_text(st, 4));
        if (i->category < 0)
                return unknown_value(i->id, "category", column_text(st, 4));
        i->severity = severity_from_string(column_text(st, 5));
        if (i->severity < 0)
                return unknown_value(i->id, "severity", column_text(st, 5));
        i->status = incident_status_from_string(column_text(st, 6));
        if (i->status < 0)
                return unknown_value(i->id, "status", column_text(st, 6));
        i->fingerprint = store_column_dup(st, 1);
        i->app = store_column_dup(st, 2);
        i->host = store_column_dup(st, 3);
        i->title = store_column_dup(st, 7);
        i->excerpt = store_column_dup(st, 8);
        i->analysis = store_column_dup(st, 9);
        i->fix_id = store_column_dup(st, 10);
        i->fix_state = store_column_dup(st, 11);
        i->notion_page_id = store_column_dup(st, 12);
        i->origin = store_column_dup(st, 13);
        i->count = sqlite3_column_int64(st, 14);
        i->regressions = sqlite3_column_int64(st, 15);
        i->fix_attempts = sqlite3_column_int64(st, 16);
        i->regression = sqlite3_column_int64(st, 17) != 0;
        i->first_seen = sqlite3_column_int64(st, 18);
        i->last_seen = sqlite3_column_int64(st, 19);
        i->resolved_at = sqlite3_column_int64(st, 20);
        if (!i->fingerprint || !i->app || !i->host || !i->title || !i->excerpt || !i->origin)
                return -ENOMEM;
        *ret = TAKE_PTR(i);
        return 0;
}

int incident_get(Store *s, int64_t id, Incident **ret) {
        static const char *const sql = "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE id = ?";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                r = -ENOENT;
        else if (rc != SQLITE_ROW)
                r = store_step_errno(s, rc);
        else
                r = incident_from_row(st, ret);
        (void) sqlite3_reset(st);
        return r;
}

int incident_list(Store *s, const IncidentFilter *f, Incident ***ret, size_t *ret_n) {
        static const char *const sql =
                "SELECT " INCIDENT_COLUMNS " FROM incidents WHERE (?1 IS NULL OR app = ?1)"
                " AND (?2 IS NULL OR status = ?2) AND last_seen >= ?3"
                " ORDER BY last_seen DESC, id DESC LIMIT ?4";
        Incident **l = NULL;
        size_t n = 0;
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, f->app);
        store_bind_text_or_null(st, 2, f->status >= 0 ? incident_status_to_string(f->status) : NULL);
        sqlite3_bind_int64(st, 3, f->since);
        sqlite3_bind_int64(st, 4, f->limit > 0 ? (int64_t) f->limit : 1000);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                Incident **nl = realloc(l, sizeof(Incident *) * (n + 1));
                if (!nl) {
                        r = -ENOMEM;
                        goto fail;
                }
                l = nl;
                r = incident_from_row(st, &l[n]);
                if (r < 0)
                        goto fail;
                n++;
        }
        if (rc != SQLITE_DONE) {
                r = store_step_errno(s, rc);
                goto fail;
        }
        (void) sqlite3_reset(st);
        *ret = l;
        *ret_n = n;
        return 0;
fail:
        (void) sqlite3_reset(st);
        incident_list_free(l, n);
        return r;
}

int incident_set_status(Store *s, int64_t id, IncidentStatus status, int64_t now) {
        static const char *const sql =
                "UPDATE incidents SET status = ?2,"
                " resolved_at = CASE WHEN ?2 = 'Resolved' THEN ?3 ELSE NULL END,"
                " regression = CASE WHEN ?2 = 'Resolved' THEN 0 ELSE regression END"
                " WHERE id = ?1 AND status != ?2";
        sqlite3_stmt *st;
        int r;

        assert(status >= 0 && status < _INCIDENT_STATUS_MAX);
        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, incident_status_to_string(status));
        sqlite3_bind_int64(st, 3, now);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (sqlite3_changes(store_db(s)) > 0)
                return 1;
        /* Unchanged: either already in that status, or no such incident. */
        _cleanup_(incident_freep) Incident *i = NULL;
        r = incident_get(s, id, &i);
        return r < 0 ? r : 0;
}

/* Steps st to its end collecting the int64 of column 0 of every row. */
static int collect_ids(Store *s, sqlite3_stmt *st, int64_t **ret, size_t *ret_n) {
        int64_t *ids = NULL;
        size_t n = 0, cap = 0;
        int rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == cap) {
                        size_t c = cap ? cap * 2 : 16;
                        int64_t *n_ids = realloc(ids, sizeof(int64_t) * c);
                        if (!n_ids) {
                                free(ids);
                                (void) sqlite3_reset(st);
                                return -ENOMEM;
                        }
                        ids = n_ids;
                        cap = c;
                }
                ids[n++] = sqlite3_column_int64(st, 0);
        }
        (void) sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                free(ids);
                return store_step_errno(s, rc);
        }
        *ret = ids;
        *ret_n = n;
        return 0;
}

int incident_resolve_app(Store *s, const char *app, const char *origin, int64_t now,
                         int64_t **ret_ids, size_t *ret_n) {
        static const char *const sql =
                "UPDATE incidents SET status = 'Resolved', resolved_at = ?3, regression = 0"
                " WHERE app = ?1 AND origin = ?2 AND status != 'Resolved' RETURNING id";
        _cleanup_free_ int64_t *ids = NULL;
        sqlite3_stmt *st;
        size_t n = 0;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_text(st, 1, app);
        bind_text(st, 2, origin);
        sqlite3_bind_int64(st, 3, now);
        r = collect_ids(s, st, &ids, &n);
        if (r < 0)
                return r;
        if (ret_ids)
                *ret_ids = TAKE_PTR(ids);
        if (ret_n)
                *ret_n = n;
        return (int) n;
}

int incident_occurrences_json(Store *s, int64_t id, size_t limit, json_t **ret) {
        static const char *const sql =
                "SELECT seen, source, excerpt FROM occurrences WHERE incident_id = ?"
                " ORDER BY id DESC LIMIT ?";
        json_t *a;
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t) limit);
        a = json_array();
        if (!a)
                return -ENOMEM;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                _cleanup_free_ char *source = store_column_dup(st, 1), *excerpt = store_column_dup(st, 2);

                if (!source || !excerpt ||
                    json_array_append_new(a, json_pack("{s:I, s:s, s:s}",
                                "seen", (json_int_t) sqlite3_column_int64(st, 0),
                                "source", source, "excerpt", excerpt)) < 0) {
                        json_decref(a);
                        (void) sqlite3_reset(st);
                        return -ENOMEM;
                }
        }
        (void) sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                json_decref(a);
                return store_step_errno(s, rc);
        }
        *ret = a;
        return 0;
}

json_t *incident_to_json(const Incident *i) {
        return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?,"
                         " s:s, s:I, s:I, s:I, s:b, s:I, s:I, s:I}",
                         "id", (json_int_t) i->id,
                         "fingerprint", i->fingerprint,
                         "app", i->app,
                         "host", i->host,
                         "category", category_to_string(i->category),
                         "severity", severity_to_string(i->severity),
                         "status", incident_status_to_string(i->status),
                         "title", i->title,
                         "excerpt", i->excerpt,
                         "analysis", i->analysis,
                         "fix", i->fix_id,
                         "fix_state", i->fix_state,
                         "notion_page_id", i->notion_page_id,
                         "origin", i->origin,
                         "count", (json_int_t) i->count,
                         "regressions", (json_int_t) i->regressions,
                         "fix_attempts", (json_int_t) i->fix_attempts,
                         "regression", i->regression,
                         "first_seen", (json_int_t) i->first_seen,
                         "last_seen", (json_int_t) i->last_seen,
                         "resolved_at", (json_int_t) i->resolved_at);
}

void store_position_done(StorePosition *p) {
        free(p->cursor);
        *p = (StorePosition) {};
}

int position_save(Store *s, const char *source, const StorePosition *p, int64_t now) {
        static const char *const sql =
                "INSERT INTO positions (source, cursor, dev, inode, offset, marker_hash, updated)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (source) DO UPDATE SET"
                " cursor = ?2, dev = ?3, inode = ?4, offset = ?5, marker_hash = ?6, updated = ?7";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_text(st, 1, source);
        store_bind_text_or_null(st, 2, p->cursor);
        sqlite3_bind_int64(st, 3, (int64_t) p->dev);
        sqlite3_bind_int64(st, 4, (int64_t) p->inode);
        sqlite3_bind_int64(st, 5, (int64_t) p->offset);
        bind_text(st, 6, p->marker);
        sqlite3_bind_int64(st, 7, now);
        return store_step_done(s, st);
}

int position_load(Store *s, const char *source, StorePosition *ret) {
        static const char *const sql =
                "SELECT cursor, dev, inode, offset, marker_hash FROM positions WHERE source = ?";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_text(st, 1, source);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                (void) sqlite3_reset(st);
                return 0;
        }
        if (rc != SQLITE_ROW) {
                r = store_step_errno(s, rc);
                (void) sqlite3_reset(st);
                return r;
        }
        StorePosition p = {
                .cursor = store_column_dup(st, 0),
                .dev = (uint64_t) sqlite3_column_int64(st, 1),
                .inode = (uint64_t) sqlite3_column_int64(st, 2),
                .offset = (uint64_t) sqlite3_column_int64(st, 3),
        };
        const unsigned char *m = sqlite3_column_text(st, 4);
        if (m)
                snprintf(p.marker, sizeof p.marker, "%s", (const char *) m);
        bool oom = sqlite3_column_type(st, 0) != SQLITE_NULL && !p.cursor;
        (void) sqlite3_reset(st);
        if (oom)
                return -ENOMEM;
        *ret = p;
        return 1;
}

int position_delete(Store *s, const char *source) {
        static const char *const sql = "DELETE FROM positions WHERE source = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_text(st, 1, source);
        return store_step_done(s, st);
}

int pending_save(Store *s, const char *stream, const char *meta, const void *data, size_t len,
                 int64_t now) {
        static const char *const sql_delete = "DELETE FROM pending_blocks WHERE stream = ?";
        static const char *const sql_upsert =
                "INSERT INTO pending_blocks (stream, meta, data, updated) VALUES (?1, ?2, ?3, ?4)"
                " ON CONFLICT (stream) DO UPDATE SET meta = ?2, data = ?3, updated = ?4";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, len == 0 ? sql_delete : sql_upsert, &st);
        if (r < 0)
                return r;
        bind_text(st, 1, stream);
        if (len > 0) {
                bind_text(st, 2, meta);
                sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC);
                sqlite3_bind_int64(st, 4, now);
        }
        return store_step_done(s, st);
}

int pending_foreach(Store *s, PendingFunc f, void *userdata) {
        static const char *const sql = "SELECT stream, meta, data FROM pending_blocks ORDER BY stream";
        sqlite3_stmt *st;
        int rc, r = 0;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = f((const char *) sqlite3_column_text(st, 0),
                      (const char *) sqlite3_column_text(st, 1), sqlite3_column_blob(st, 2),
                      (size_t) sqlite3_column_bytes(st, 2), userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_step_errno(s, rc);
        (void) sqlite3_reset(st);
        return r < 0 ? r : 0;
}

int incident_set_analysis(Store *s, int64_t id, const char *analysis) {
        static const char *const sql = "UPDATE incidents SET analysis = ? WHERE id = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_text(st, 1, analysis);
        sqlite3_bind_int64(st, 2, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 0 : -ENOENT;
}

int incident_list_unanalyzed(Store *s, size_t limit, int64_t **ret, size_t *ret_n) {
        static const char *const sql =
                "SELECT id FROM incidents WHERE analysis IS NULL ORDER BY id LIMIT ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (int64_t) limit);
        return collect_ids(s, st, ret, ret_n);
}

int incident_set_notion_page(Store *s, int64_t id, const char *page_id) {
        static const char *const sql = "UPDATE incidents SET notion_page_id = ? WHERE id = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, page_id);
        sqlite3_bind_int64(st, 2, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 0 : -ENOENT;
}
