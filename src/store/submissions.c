/* SPDX-License-Identifier: MIT */
/* The submissions table; see submissions.h. Loop thread only. */
#include <errno.h>
#include <string.h>

#include "store/submissions.h"

bool submission_id_is_valid(const char *s) {
        size_t l;

        if (!s)
                return false;
        l = strlen(s);
        return l > 0 && l <= SUBMISSION_ID_MAX && strspn(s, "0123456789abcdef-") == l;
}

int submission_seen(Store *s, const char *id) {
        static const char *const sql = "SELECT 1 FROM submissions WHERE id = ?";
        sqlite3_stmt *st;
        int rc, r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        (void) sqlite3_reset(st);
        if (rc == SQLITE_ROW)
                return 1;
        return rc == SQLITE_DONE ? 0 : store_step_errno(s, rc);
}

int submission_record(Store *s, const char *id, int64_t taken) {
        static const char *const sql =
                "INSERT INTO submissions (id, taken) VALUES (?, ?) ON CONFLICT (id) DO NOTHING";
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, taken);
        r = store_step_done(s, st);
        if (r < 0)
                return r;
        return sqlite3_changes(store_db(s)) > 0 ? 1 : 0;
}

int submission_prune(Store *s, int64_t before) {
        static const char *const sql = "DELETE FROM submissions WHERE taken < ?";

        return store_delete_before(s, sql, before);
}
