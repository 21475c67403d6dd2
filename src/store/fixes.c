/* SPDX-License-Identifier: MIT */
/* Fix attempts and their backoff; see fixes.h. Loop thread only. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "shared/log.h"
#include "store/fixes.h"

static const char *const state_names[_FIX_STATE_MAX] = {
        [FIX_STATE_QUEUED] = "queued",
        [FIX_STATE_RUNNING] = "running",
        [FIX_STATE_VERIFYING] = "verifying",
        [FIX_STATE_RESOLVED] = "resolved",
        [FIX_STATE_FAILED] = "failed",
        [FIX_STATE_REFUSED] = "refused",
        [FIX_STATE_DRY_RUN] = "dry_run",
        [FIX_STATE_LOST] = "lost",
};

const char *fix_state_to_string(FixState s) {
        return s >= 0 && s < _FIX_STATE_MAX ? state_names[s] : NULL;
}

FixState fix_state_from_string(const char *s) {
        for (FixState i = 0; s && i < _FIX_STATE_MAX; i++)
                if (strcmp(state_names[i], s) == 0)
                        return i;
        return _FIX_STATE_INVALID;
}

bool fix_state_is_final(FixState s) {
        return !(s == FIX_STATE_QUEUED || s == FIX_STATE_RUNNING || s == FIX_STATE_VERIFYING);
}

FixAttempt *fix_attempt_free(FixAttempt *a) {
        if (!a)
                return NULL;
        free(a->app);
        free(a->fingerprint);
        free(a->fix_id);
        free(a->command_line);
        free(a->reason);
        free(a->unit);
        free(a->verify_unit);
        free(a->fix_result);
        free(a->verify_result);
        free(a->fix_output);
        free(a->verify_output);
        free(a);
        return NULL;
}

void fix_attempt_list_free(FixAttempt **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                fix_attempt_free(l[i]);
        free(l);
}

/* What changes as an attempt goes on, as parameters first .. first + 9 of
 * both the INSERT and the UPDATE: command_line, state, reason, the units,
 * their results and outputs, finished. */
static void bind_progress(sqlite3_stmt *st, int first, const FixAttempt *a) {
        store_bind_text_or_null(st, first, a->command_line ?: "");
        store_bind_text_or_null(st, first + 1, fix_state_to_string(a->state));
        store_bind_text_or_null(st, first + 2, a->reason);
        store_bind_text_or_null(st, first + 3, a->unit);
        store_bind_text_or_null(st, first + 4, a->verify_unit);
        store_bind_text_or_null(st, first + 5, a->fix_result);
        store_bind_text_or_null(st, first + 6, a->verify_result);
        store_bind_text_or_null(st, first + 7, a->fix_output);
        store_bind_text_or_null(st, first + 8, a->verify_output);
        store_bind_int64_or_null(st, first + 9, a->finished, a->finished > 0);
}

int fix_attempt_insert(Store *s, const FixAttempt *a, int64_t *ret_id) {
        static const char *const sql =
                "INSERT INTO fix_attempts (incident_id, app, fingerprint, attempt, fix_id, "
                "on_request, started, command_line, state, reason, unit, verify_unit, "
                "fix_result, verify_result, fix_output, verify_output, finished) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, a->incident_id);
        store_bind_text_or_null(st, 2, a->app);
        store_bind_text_or_null(st, 3, a->fingerprint);
        sqlite3_bind_int64(st, 4, a->attempt);
        store_bind_text_or_null(st, 5, a->fix_id);
        sqlite3_bind_int(st, 6, a->on_request);
        sqlite3_bind_int64(st, 7, a->started);
        bind_progress(st, 8, a);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(store_db(s));
        return 0;
}

int fix_attempt_update(Store *s, const FixAttempt *a) {
        static const char *const sql =
                "UPDATE fix_attempts SET command_line = ?, state = ?, reason = ?, unit = ?, "
                "verify_unit = ?, fix_result = ?, verify_result = ?, fix_output = ?, "
                "verify_output = ?, finished = ? WHERE id = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_progress(st, 1, a);
        sqlite3_bind_int64(st, 11, a->id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 0 : -ENOENT;
}

#define ATTEMPT_COLUMNS                                                                     \
        "id, incident_id, app, fingerprint, attempt, fix_id, on_request, command_line, "   \
        "state, reason, unit, verify_unit, fix_result, verify_result, fix_output, "        \
        "verify_output, started, finished"

static int attempt_from_row(sqlite3_stmt *st, FixAttempt **ret) {
        _cleanup_(fix_attempt_freep) FixAttempt *a = NULL;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->id = sqlite3_column_int64(st, 0);
        a->incident_id = sqlite3_column_int64(st, 1);
        a->app = store_column_dup(st, 2);
        a->fingerprint = store_column_dup(st, 3);
        a->attempt = (unsigned) sqlite3_column_int64(st, 4);
        a->fix_id = store_column_dup(st, 5);
        a->on_request = sqlite3_column_int(st, 6) != 0;
        a->command_line = store_column_dup(st, 7);
        a->state = fix_state_from_string((const char *) sqlite3_column_text(st, 8));
        if (a->state < 0)
                return log_error_errno(-EBADMSG, "Fix attempt #%" PRIi64 " has an unknown state "
                                       "'%s'.", a->id, (const char *) sqlite3_column_text(st, 8));
        a->reason = store_column_dup(st, 9);
        a->unit = store_column_dup(st, 10);
        a->verify_unit = store_column_dup(st, 11);
        a->fix_result = store_column_dup(st, 12);
        a->verify_result = store_column_dup(st, 13);
        a->fix_output = store_column_dup(st, 14);
        a->verify_output = store_column_dup(st, 15);
        a->started = sqlite3_column_int64(st, 16);
        a->finished = sqlite3_column_int64(st, 17);
        if (!a->app || !a->fingerprint || !a->fix_id || !a->command_line)
                return -ENOMEM;
        *ret = TAKE_PTR(a);
        return 0;
}

/* Steps st (bound) and collects its rows; resets st. */
static int collect(Store *s, sqlite3_stmt *st, FixAttempt ***ret, size_t *ret_n) {
        FixAttempt **l = NULL;
        size_t n = 0;
        int rc, r = 0;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                FixAttempt **nl = realloc(l, (n + 1) * sizeof *l);
                if (!nl) {
                        r = -ENOMEM;
                        break;
                }
                l = nl;
                r = attempt_from_row(st, &l[n]);
                if (r < 0)
                        break;
                n++;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = store_step_errno(s, rc);
        (void) sqlite3_reset(st);
        if (r < 0) {
                fix_attempt_list_free(l, n);
                return r;
        }
        *ret = l;
        *ret_n = n;
        return 0;
}

int fix_attempt_get(Store *s, int64_t id, FixAttempt **ret) {
        static const char *const sql = "SELECT " ATTEMPT_COLUMNS " FROM fix_attempts WHERE id = ?";
        FixAttempt **l = NULL;
        sqlite3_stmt *st;
        size_t n = 0;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        r = collect(s, st, &l, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(l);
                return -ENOENT;
        }
        *ret = l[0];
        free(l);
        return 0;
}

int fix_attempt_list_incident(Store *s, int64_t incident_id, FixAttempt ***ret, size_t *ret_n) {
        static const char *const sql = "SELECT " ATTEMPT_COLUMNS " FROM fix_attempts "
                                       "WHERE incident_id = ? ORDER BY id";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, incident_id);
        return collect(s, st, ret, ret_n);
}

int fix_attempt_list_state(Store *s, FixState state, FixAttempt ***ret, size_t *ret_n) {
        static const char *const sql = "SELECT " ATTEMPT_COLUMNS " FROM fix_attempts "
                                       "WHERE state = ? ORDER BY id";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, fix_state_to_string(state));
        return collect(s, st, ret, ret_n);
}

/* Runs a one-row, one-integer query: 1 with *ret, 0 without a row. */
static int query_int(Store *s, sqlite3_stmt *st, int64_t *ret) {
        int rc = sqlite3_step(st), r = 0;

        if (rc == SQLITE_ROW) {
                if (sqlite3_column_type(st, 0) == SQLITE_NULL)
                        r = 0;
                else {
                        *ret = sqlite3_column_int64(st, 0);
                        r = 1;
                }
        } else if (rc != SQLITE_DONE)
                r = store_step_errno(s, rc);
        (void) sqlite3_reset(st);
        return r;
}

int fix_attempt_next_number(Store *s, int64_t incident_id, unsigned *ret) {
        static const char *const sql =
                "SELECT MAX(attempt) FROM fix_attempts WHERE incident_id = ?";
        sqlite3_stmt *st;
        int64_t v = 0;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, incident_id);
        r = query_int(s, st, &v);
        if (r < 0)
                return r;
        *ret = (unsigned) v + 1;
        return 0;
}

int fix_attempt_find_active(Store *s, int64_t incident_id, int64_t *ret_id) {
        static const char *const sql =
                "SELECT id FROM fix_attempts WHERE incident_id = ? AND state IN "
                "('queued', 'running', 'verifying') ORDER BY id LIMIT 1";
        sqlite3_stmt *st;
        int64_t v = 0;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, incident_id);
        r = query_int(s, st, &v);
        if (r > 0 && ret_id)
                *ret_id = v;
        return r;
}

int fix_attempt_latest_run(Store *s, int64_t incident_id, FixAttempt **ret) {
        static const char *const sql = "SELECT " ATTEMPT_COLUMNS " FROM fix_attempts "
                                       "WHERE incident_id = ? AND unit IS NOT NULL "
                                       "ORDER BY id DESC LIMIT 1";
        FixAttempt **l = NULL;
        sqlite3_stmt *st;
        size_t n = 0;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, incident_id);
        r = collect(s, st, &l, &n);
        if (r < 0)
                return r;
        if (n == 0) {
                free(l);
                return 0;
        }
        *ret = l[0];
        free(l);
        return 1;
}

static int set_opt_string(json_t *o, const char *key, const char *v) {
        return json_object_set_new(o, key, v ? json_string(v) : json_null());
}

json_t *fix_attempt_to_json(const FixAttempt *a) {
        json_t *o = json_pack("{s:I, s:I, s:s, s:I, s:s, s:b, s:s, s:s, s:I}",
                              "id", (json_int_t) a->id,
                              "incident", (json_int_t) a->incident_id,
                              "app", a->app,
                              "attempt", (json_int_t) a->attempt,
                              "fix", a->fix_id,
                              "on_request", a->on_request,
                              "command_line", a->command_line ?: "",
                              "state", fix_state_to_string(a->state),
                              "started", (json_int_t) a->started);
        if (!o)
                return NULL;
        if (set_opt_string(o, "reason", a->reason) < 0 ||
            set_opt_string(o, "unit", a->unit) < 0 ||
            set_opt_string(o, "verify_unit", a->verify_unit) < 0 ||
            set_opt_string(o, "fix_result", a->fix_result) < 0 ||
            set_opt_string(o, "verify_result", a->verify_result) < 0 ||
            set_opt_string(o, "fix_output", a->fix_output) < 0 ||
            set_opt_string(o, "verify_output", a->verify_output) < 0 ||
            json_object_set_new(o, "finished", a->finished > 0
                                                       ? json_integer(a->finished)
                                                       : json_null()) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

int fix_backoff_get(Store *s, const char *app, const char *fingerprint, unsigned *ret_failures,
                    int64_t *ret_next) {
        static const char *const sql =
                "SELECT attempts, next_attempt FROM fix_backoff WHERE app = ? AND fingerprint = ?";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, app);
        store_bind_text_or_null(st, 2, fingerprint);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret_failures = (unsigned) sqlite3_column_int64(st, 0);
                *ret_next = sqlite3_column_int64(st, 1);
                r = 1;
        } else
                r = rc == SQLITE_DONE ? 0 : store_step_errno(s, rc);
        (void) sqlite3_reset(st);
        return r;
}

int fix_backoff_failed(Store *s, const char *app, const char *fingerprint, int64_t now,
                       int64_t base, int64_t max, int64_t *ret_next) {
        static const char *const sql =
                "INSERT INTO fix_backoff (app, fingerprint, attempts, next_attempt) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (app, fingerprint) DO UPDATE SET "
                "attempts = excluded.attempts, next_attempt = excluded.next_attempt";
        unsigned failures = 0;
        int64_t next = 0, delay;
        sqlite3_stmt *st;
        int r;

        r = fix_backoff_get(s, app, fingerprint, &failures, &next);
        if (r < 0)
                return r;
        failures++;
        delay = base;
        for (unsigned i = 1; i < failures && delay < max; i++)
                delay *= 2;
        if (delay > max)
                delay = max;
        next = now + delay;
        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, app);
        store_bind_text_or_null(st, 2, fingerprint);
        sqlite3_bind_int64(st, 3, failures);
        sqlite3_bind_int64(st, 4, next);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        if (ret_next)
                *ret_next = next;
        return 0;
}

int fix_backoff_clear(Store *s, const char *app, const char *fingerprint) {
        static const char *const sql =
                "DELETE FROM fix_backoff WHERE app = ? AND fingerprint = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, app);
        store_bind_text_or_null(st, 2, fingerprint);
        return store_step_done(s, st);
}

int incident_set_fix_state(Store *s, int64_t id, const char *fix_state, bool bump) {
        static const char *const sql =
                "UPDATE incidents SET fix_state = ?, fix_attempts = fix_attempts + ? WHERE id = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, fix_state);
        sqlite3_bind_int(st, 2, bump ? 1 : 0);
        sqlite3_bind_int64(st, 3, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 0 : -ENOENT;
}

int incident_set_run_command(Store *s, int64_t id, const char *command, const char *cwd) {
        static const char *const sql =
                "UPDATE incidents SET run_command = ?, run_cwd = ? WHERE id = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, command);
        store_bind_text_or_null(st, 2, cwd);
        sqlite3_bind_int64(st, 3, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 0 : -ENOENT;
}

int incident_get_run_command(Store *s, int64_t id, char **ret_command, char **ret_cwd) {
        static const char *const sql = "SELECT run_command, run_cwd FROM incidents WHERE id = ?";
        _cleanup_free_ char *command = NULL, *cwd = NULL;
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                command = store_column_dup(st, 0);
                cwd = store_column_dup(st, 1);
                if ((!command && sqlite3_column_type(st, 0) != SQLITE_NULL) ||
                    (!cwd && sqlite3_column_type(st, 1) != SQLITE_NULL))
                        r = -ENOMEM;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : store_step_errno(s, rc);
        (void) sqlite3_reset(st);
        if (r < 0)
                return r;
        *ret_command = TAKE_PTR(command);
        *ret_cwd = TAKE_PTR(cwd);
        return 0;
}
