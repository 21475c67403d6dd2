/* SPDX-License-Identifier: MIT */
/* The AI tables; see ai.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/ai.h"

static void bind_key(sqlite3_stmt *st, const AiCacheKey *k) {
        sqlite3_bind_text(st, 1, k->fingerprint, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, k->model, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, k->prompt_version);
        sqlite3_bind_int(st, 4, k->redaction_version);
        sqlite3_bind_text(st, 5, k->language, -1, SQLITE_STATIC);
}

int ai_answer_get(Store *s, const AiCacheKey *k, char **ret) {
        static const char *const sql =
                "SELECT answer FROM ai_answers WHERE fingerprint = ? AND model = ? AND "
                "prompt_version = ? AND redaction_version = ? AND language = ?";
        sqlite3_stmt *st;
        char *a;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_key(st, k);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                (void) sqlite3_reset(st);
                return rc == SQLITE_DONE ? -ENOENT : store_step_errno(s, rc);
        }
        a = store_column_dup(st, 0);
        (void) sqlite3_reset(st);
        if (!a)
                return -ENOMEM;
        *ret = a;
        return 0;
}

int ai_answer_put(Store *s, const AiCacheKey *k, const char *answer, int64_t created) {
        static const char *const sql =
                "INSERT OR REPLACE INTO ai_answers (fingerprint, model, prompt_version, "
                "redaction_version, language, answer, created) VALUES (?, ?, ?, ?, ?, ?, ?)";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        bind_key(st, k);
        sqlite3_bind_text(st, 6, answer, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, created);
        return store_step_done(s, st);
}

int ai_call_prune(Store *s, int64_t before) {
        static const char *const sql = "DELETE FROM ai_calls WHERE time < ?";

        return store_delete_before(s, sql, before);
}

int ai_call_add(Store *s, const AiCall *c) {
        static const char *const sql =
                "INSERT INTO ai_calls (time, incident_id, model, outcome, http_status, "
                "prompt_tokens, output_tokens, thoughts_tokens, latency_usec) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, c->time);
        store_bind_int64_or_null(st, 2, c->incident_id, c->incident_id > 0);
        sqlite3_bind_text(st, 3, c->model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c->outcome, -1, SQLITE_STATIC);
        store_bind_int64_or_null(st, 5, c->http_status, c->http_status > 0);
        /* The columns are CHECKed >= 0; a count beyond INT64_MAX is no count. */
        sqlite3_bind_int64(st, 6, (int64_t) (c->prompt_tokens & INT64_MAX));
        sqlite3_bind_int64(st, 7, (int64_t) (c->output_tokens & INT64_MAX));
        sqlite3_bind_int64(st, 8, (int64_t) (c->thoughts_tokens & INT64_MAX));
        store_bind_int64_or_null(st, 9, c->latency_usec, c->latency_usec >= 0);
        return store_step_done(s, st);
}

int ai_usage_between(Store *s, int64_t from, int64_t to, AiUsage *ret) {
        static const char *const sql =
                "SELECT count(*), coalesce(sum(outcome = 'ok'), 0), "
                "coalesce(sum(prompt_tokens), 0), coalesce(sum(output_tokens), 0), "
                "coalesce(sum(thoughts_tokens), 0), "
                "coalesce(max(latency_usec), 0), coalesce(sum(latency_usec), 0) "
                "FROM ai_calls WHERE time >= ? AND time < ?";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, to);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                (void) sqlite3_reset(st);
                return store_step_errno(s, rc);
        }
        *ret = (AiUsage) {
                .calls = (uint64_t) sqlite3_column_int64(st, 0),
                .calls_ok = (uint64_t) sqlite3_column_int64(st, 1),
                .prompt_tokens = (uint64_t) sqlite3_column_int64(st, 2),
                .output_tokens = (uint64_t) sqlite3_column_int64(st, 3),
                .thoughts_tokens = (uint64_t) sqlite3_column_int64(st, 4),
                .latency_usec_max = sqlite3_column_int64(st, 5),
                .latency_usec_sum = sqlite3_column_int64(st, 6),
        };
        (void) sqlite3_reset(st);
        return 0;
}

void incident_ai_done(IncidentAi *a) {
        if (!a)
                return;
        free(a->source);
        free(a->note);
        free(a->ai_category);
        *a = (IncidentAi) {};
}

int incident_set_ai(Store *s, int64_t id, const char *source, const char *note,
                    const char *ai_category) {
        static const char *const sql =
                "UPDATE incidents SET analysis_source = ?, analysis_note = ?, ai_category = ? "
                "WHERE id = ?";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        store_bind_text_or_null(st, 1, source);
        store_bind_text_or_null(st, 2, note);
        store_bind_text_or_null(st, 3, ai_category);
        sqlite3_bind_int64(st, 4, id);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 0 : -ENOENT;
}

int incident_get_ai(Store *s, int64_t id, IncidentAi *ret) {
        static const char *const sql =
                "SELECT analysis_source, analysis_note, ai_category FROM incidents WHERE id = ?";
        IncidentAi a = {};
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
                (void) sqlite3_reset(st);
                return rc == SQLITE_DONE ? -ENOENT : store_step_errno(s, rc);
        }
        for (int i = 0; i < 3; i++) {
                char **f = i == 0 ? &a.source : i == 1 ? &a.note : &a.ai_category;

                if (sqlite3_column_type(st, i) == SQLITE_NULL)
                        continue;
                *f = store_column_dup(st, i);
                if (!*f) {
                        (void) sqlite3_reset(st);
                        incident_ai_done(&a);
                        return -ENOMEM;
                }
        }
        (void) sqlite3_reset(st);
        *ret = a;
        return 0;
}
