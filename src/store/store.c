/* SPDX-License-Identifier: MIT */
/*
 * Opening the store: create or check the database file, move a corrupt one
 * aside, configure the connection (WAL, foreign keys, busy timeout) and run
 * the schema migrations from schema.c. Also transactions, stats and the one
 * SQLite result code to errno mapper.
 *
 * Limits: PRAGMA quick_check runs at every open, which reads the whole file;
 * fine for the sizes retention keeps, revisit if databases grow to GBs.
 * Threading: loop thread only (one connection, SQLITE_OPEN_NOMUTEX).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/utf8.h"
#include "store/store.h"

#define USEC_PER_SEC INT64_C(1000000)

typedef struct StoreStmt {
        const char *sql;
        sqlite3_stmt *stmt;
} StoreStmt;

struct Store {
        sqlite3 *db;
        /* One prepared statement per SQL text the code holds (about 70): it
         * grows as statements are first used, never past that. */
        StoreStmt *cache;
        size_t n_cache, n_cache_alloc;
        char *path;
        char *quarantined_path;
        int schema_version;
};

static inline void sqlite3_closep(sqlite3 **db) {
        /* _v2: never fails; statements still open keep it alive until finalized. */
        if (*db)
                (void) sqlite3_close_v2(*db);
}

static inline void sqlite3_freep(char **p) {
        sqlite3_free(*p);
}

int store_errno(int sqlite_rc) {
        switch (sqlite_rc) {
        case SQLITE_CANTOPEN_ISDIR:
                return -EISDIR;
        case SQLITE_CANTOPEN_FULLPATH:
                return -ENOENT;
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
        case SQLITE_CONSTRAINT_DATATYPE:
                return -EINVAL;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                return -ENOENT;
        }

        switch (sqlite_rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_PERM:
                return -EPERM;
        case SQLITE_AUTH:
        case SQLITE_CANTOPEN:
                return -EACCES;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_INTERRUPT:
                return -EINTR;
        case SQLITE_RANGE:
        case SQLITE_MISMATCH:
        case SQLITE_MISUSE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* Like store_errno(), but prefers the OS error behind an open or I/O failure,
 * which says more (-ENOTDIR, -EROFS, ...) than SQLite's code. */
static int db_errno(sqlite3 *db, int rc) {
        int primary = rc & 0xff;

        if (db && (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR)) {
                int e = sqlite3_system_errno(db);
                if (e > 0)
                        return -e;
        }
        return store_errno(rc);
}

static bool rc_is_corruption(int rc) {
        return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* Runs a query returning one integer. Returns a SQLite result code. */
static int query_int(sqlite3 *db, const char *sql, int *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return rc;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
        *ret = sqlite3_column_int(st, 0);
        return SQLITE_OK;
}

/* Returns 0 and NULL if the database passes PRAGMA quick_check, 0 and the first
 * problem found (malloc'ed) if not, or a SQLite result code > 0. Corruption
 * that stops the check itself comes back as SQLITE_CORRUPT or SQLITE_NOTADB. */
static int quick_check(sqlite3 *db, char **ret_problem) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        const char *text;
        int rc;

        rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return rc;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? SQLITE_ERROR : rc;
        text = (const char *) sqlite3_column_text(st, 0);
        if (text && strcmp(text, "ok") == 0) {
                *ret_problem = NULL;
                return SQLITE_OK;
        }
        *ret_problem = strdup(text ?: "quick_check failed");
        return *ret_problem ? SQLITE_OK : SQLITE_NOMEM;
}

/* Opens and checks the file at path and configures the connection.
 * Returns 0 with *ret_db and *ret_version set; 1 with *ret_reason set (and
 * nothing else) if the file is corrupt; or -errno, logged. Until the checks
 * pass, closing the connection must not checkpoint a WAL into the file, so
 * that a refused or corrupt file keeps its bytes. */
static int open_checked(const char *path, sqlite3 **ret_db, int *ret_version, char **ret_reason) {
        _cleanup_(sqlite3_closep) sqlite3 *db = NULL;
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        _cleanup_free_ char *problem = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *mode;
        int version, rc;

        /* Create it ourselves: the database holds log excerpts, so 0600 (SQLite
         * gives -wal and -shm the same mode), and open(2) names the real error
         * where SQLite would fall back to read-only or say "unable to open". */
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open database '%s': %m", path);
        fd = safe_close(fd);

        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                if (!db)
                        return log_oom();
                return log_error_errno(db_errno(db, rc), "Failed to open database '%s': %s",
                                       path, sqlite3_errmsg(db));
        }
        (void) sqlite3_extended_result_codes(db, 1);
        (void) sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MSEC);
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        /* Nothing we store is trusted to run SQL functions from the schema, and
         * defensive mode keeps writable_schema & co from corrupting the file. */
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);

        if (sqlite3_db_readonly(db, "main") > 0)
                return log_error_errno(-EROFS, "Database '%s' could only be opened read-only.",
                                       path);

        /* The first read of the header: a file that is no database fails here. */
        rc = query_int(db, "PRAGMA user_version", &version);
        if (rc_is_corruption(rc)) {
                *ret_reason = strdup(sqlite3_errmsg(db));
                return *ret_reason ? 1 : log_oom();
        }
        if (rc != SQLITE_OK)
                return log_error_errno(db_errno(db, rc),
                                       "Failed to read the schema version of database '%s': %s",
                                       path, sqlite3_errmsg(db));
        if (version > STORE_SCHEMA_VERSION || version < 0)
                return log_error_errno(-EPROTONOSUPPORT,
                                       "Database '%s' has schema version %d, but this appwatch "
                                       "supports versions 0 to %d; refusing to use it.",
                                       path, version, STORE_SCHEMA_VERSION);

        rc = quick_check(db, &problem);
        if (rc_is_corruption(rc)) {
                *ret_reason = strdup(sqlite3_errmsg(db));
                return *ret_reason ? 1 : log_oom();
        }
        if (rc != SQLITE_OK)
                return log_error_errno(db_errno(db, rc), "Failed to check database '%s': %s",
                                       path, sqlite3_errmsg(db));
        if (problem) {
                /* quick_check lists problems on several lines; keep the log on one. */
                for (char *c = problem; *c; c++)
                        if (*c == '\n')
                                *c = ' ';
                *ret_reason = TAKE_PTR(problem);
                return 1;
        }

        /* The file is ours and sound: normal closes checkpoint again. */
        (void) sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);

        rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return log_error_errno(db_errno(db, rc),
                                       "Failed to enable WAL on database '%s': %s",
                                       path, sqlite3_errmsg(db));
        mode = (const char *) sqlite3_column_text(st, 0);
        if (!mode || strcmp(mode, "wal") != 0)
                /* E.g. a file system without shared memory support. */
                log_warning("Database '%s' stays in journal mode '%s' instead of WAL, ignoring.",
                            path, mode ?: "?");
        (void) sqlite3_finalize(TAKE_PTR(st));

        rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;",
                          NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return log_error_errno(db_errno(db, rc), "Failed to configure database '%s': %s",
                                       path, sqlite3_errmsg(db));

        *ret_db = TAKE_PTR(db);
        *ret_version = version;
        return 0;
}

/* Renames from to to unless from does not exist. Returns 0, 1 if it did not
 * exist, or -errno. */
static int rename_if_exists(const char *from, const char *to) {
        if (rename(from, to) < 0)
                return errno == ENOENT ? 1 : -errno;
        return 0;
}

/* Moves path and its -wal/-shm to path + ".corrupt-<unix-time>" (plus ".N" if
 * that is taken). The WAL goes first: a stale WAL next to a fresh database
 * would be replayed into it. Returns 0 with *ret_path set, or -errno, logged
 * together with why the file was found corrupt. */
static int quarantine(const char *path, const char *reason, char **ret_path) {
        static const char *const suffixes[] = { "-wal", "-shm" };
        _cleanup_free_ char *q = NULL;
        long long now = (long long) time(NULL);
        struct stat st;
        int r;

        for (unsigned n = 0;; n++) {
                free(TAKE_PTR(q));
                if ((n == 0 ? asprintf(&q, "%s.corrupt-%lld", path, now)
                            : asprintf(&q, "%s.corrupt-%lld.%u", path, now, n)) < 0)
                        return log_oom();
                if (lstat(q, &st) < 0) {
                        if (errno == ENOENT)
                                break;
                        return log_error_errno(-errno, "Database '%s' is corrupt (%s), but "
                                               "checking '%s' failed: %m", path, reason, q);
                }
                if (n >= 99)
                        return log_error_errno(-EEXIST, "Database '%s' is corrupt (%s), but "
                                               "there are too many quarantined copies.",
                                               path, reason);
        }

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_free_ char *from = NULL, *to = NULL;

                if (asprintf(&from, "%s%s", path, suffixes[i]) < 0 ||
                    asprintf(&to, "%s%s", q, suffixes[i]) < 0)
                        return log_oom();
                r = rename_if_exists(from, to);
                if (r < 0)
                        return log_error_errno(r, "Database '%s' is corrupt (%s), but moving "
                                               "'%s' to '%s' failed: %m",
                                               path, reason, from, to);
        }

        r = rename_if_exists(path, q);
        if (r < 0)
                return log_error_errno(r, "Database '%s' is corrupt (%s), but moving it to "
                                       "'%s' failed: %m", path, reason, q);

        *ret_path = TAKE_PTR(q);
        return 0;
}

/* Applies the migrations after *version, one transaction each. The version
 * is re-read inside the write lock, so a second process that migrated first
 * is noticed. Returns 0 with *version == STORE_SCHEMA_VERSION, or -errno,
 * logged with the failing step. */
static int migrate(sqlite3 *db, const char *path, int *version) {
        int from = *version, current = *version, rc;

        while (current < STORE_SCHEMA_VERSION) {
                _cleanup_(sqlite3_freep) char *err = NULL;
                char set_version[64];
                int target, found;

                rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err);
                if (rc != SQLITE_OK)
                        return log_error_errno(db_errno(db, rc),
                                               "Failed to lock database '%s' for migration: %s",
                                               path, err ?: sqlite3_errstr(rc));

                rc = query_int(db, "PRAGMA user_version", &found);
                if (rc == SQLITE_OK && found != current) {
                        (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                        if (found > STORE_SCHEMA_VERSION || found < current)
                                return log_error_errno(-EPROTONOSUPPORT,
                                                       "Schema version of database '%s' changed "
                                                       "from %d to %d while migrating.",
                                                       path, current, found);
                        current = found;
                        continue;
                }

                target = current + 1;
                (void) snprintf(set_version, sizeof set_version, "PRAGMA user_version=%d", target);
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(db, store_migration_sql(target), NULL, NULL, &err);
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(db, set_version, NULL, NULL, &err);
                if (rc == SQLITE_OK)
                        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &err);
                if (rc != SQLITE_OK) {
                        int r = log_error_errno(db_errno(db, rc),
                                                "Failed to migrate database '%s' from schema "
                                                "version %d to %d: %s",
                                                path, current, target,
                                                err ?: sqlite3_errmsg(db));
                        (void) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
                        return r;
                }
                current = target;
        }

        if (from == 0 && current > 0)
                log_info("Initialized database '%s' with schema version %d.", path, current);
        else if (current != from)
                log_info("Migrated database '%s' from schema version %d to %d.", path, from,
                         current);
        *version = current;
        return 0;
}

int store_open(const char *path, Store **ret) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *reason = NULL;
        bool quarantined = false;
        int r;

        assert(path);
        assert(ret);

        s = malloc(sizeof *s);
        if (!s)
                return log_oom();
        *s = (Store) {
                .path = strdup(path),
        };
        if (!s->path)
                return log_oom();

        r = open_checked(path, &s->db, &s->schema_version, &reason);
        if (r < 0)
                return r;
        if (r > 0) {
                r = quarantine(path, reason, &s->quarantined_path);
                if (r < 0)
                        return r;
                log_error("Database '%s' is corrupt (%s); moved it to '%s' and created a new one.",
                          path, reason, s->quarantined_path);
                quarantined = true;

                free(TAKE_PTR(reason));
                r = open_checked(path, &s->db, &s->schema_version, &reason);
                if (r < 0)
                        return r;
                if (r > 0)
                        return log_error_errno(-EBADMSG, "New database '%s' is corrupt too (%s).",
                                               path, reason);
        }

        r = migrate(s->db, path, &s->schema_version);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return quarantined;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_cache; i++)
                (void) sqlite3_finalize(s->cache[i].stmt);
        free(s->cache);
        if (s->db) {
                /* Keeps the query planner's statistics fresh, as advised for
                 * long-lived connections; skipped rather than waited for if
                 * another connection holds a lock, so shutdown never stalls. */
                (void) sqlite3_busy_timeout(s->db, 0);
                (void) sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
                sqlite3_closep(&s->db);
        }
        free(s->quarantined_path);
        free(s->path);
        free(s);
        return NULL;
}

const char *store_path(Store *s) {
        assert(s);
        return s->path;
}

const char *store_quarantined_path(Store *s) {
        assert(s);
        return s->quarantined_path;
}

int store_schema_version(Store *s) {
        assert(s);
        return s->schema_version;
}

sqlite3 *store_db(Store *s) {
        assert(s);
        return s->db;
}

int store_prepare(Store *s, const char *sql, sqlite3_stmt **ret) {
        sqlite3_stmt *stmt = NULL;
        int rc;

        assert(s);
        assert(sql);

        /* Callers pass string literals, so the pointer identifies the statement. */
        for (size_t i = 0; i < s->n_cache; i++)
                if (s->cache[i].sql == sql) {
                        (void) sqlite3_reset(s->cache[i].stmt);
                        (void) sqlite3_clear_bindings(s->cache[i].stmt);
                        *ret = s->cache[i].stmt;
                        return 0;
                }
        rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
        if (rc != SQLITE_OK)
                return log_debug_errno(db_errno(s->db, rc), "Cannot prepare '%s': %s", sql,
                                       sqlite3_errmsg(s->db));
        if (s->n_cache == s->n_cache_alloc) {
                size_t n = s->n_cache_alloc ? s->n_cache_alloc * 2 : 64;
                StoreStmt *c = reallocarray(s->cache, n, sizeof(StoreStmt));

                if (!c) {
                        (void) sqlite3_finalize(stmt);
                        return -ENOMEM;
                }
                s->cache = c;
                s->n_cache_alloc = n;
        }
        s->cache[s->n_cache].sql = sql;
        s->cache[s->n_cache].stmt = stmt;
        s->n_cache++;
        *ret = stmt;
        return 0;
}

int store_step_errno(Store *s, int rc) {
        return db_errno(s->db, rc);
}

int store_exec(Store *s, const char *sql) {
        _cleanup_(sqlite3_freep) char *err = NULL;
        int rc;

        assert(s);
        assert(sql);

        rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
        if (rc != SQLITE_OK)
                return log_debug_errno(db_errno(s->db, rc), "SQL on '%s' failed: %s", s->path,
                                       err ?: sqlite3_errstr(rc));
        return 0;
}

int store_begin(Store *s) {
        assert(s);

        if (!sqlite3_get_autocommit(s->db))
                return log_debug_errno(-EBUSY, "A transaction on '%s' is already open.", s->path);
        return store_exec(s, "BEGIN IMMEDIATE");
}

int store_commit(Store *s) {
        assert(s);

        if (sqlite3_get_autocommit(s->db))
                return log_debug_errno(-EINVAL, "No transaction on '%s' to commit.", s->path);
        return store_exec(s, "COMMIT");
}

int store_rollback(Store *s) {
        assert(s);

        if (sqlite3_get_autocommit(s->db))
                return 0;
        return store_exec(s, "ROLLBACK");
}

/* The local midnight starting the day of usec, in usec. */
static int local_midnight(int64_t usec, int64_t *ret) {
        time_t t = (time_t) (usec / USEC_PER_SEC), m;
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return -EOVERFLOW;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        m = mktime(&tm);
        if (m == (time_t) -1)
                return -EOVERFLOW;
        *ret = (int64_t) m * USEC_PER_SEC;
        return 0;
}

int store_stats(Store *s, int64_t now_usec, StoreStats *ret) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int64_t midnight;
        int rc, r;

        assert(s);
        assert(ret);

        r = local_midnight(now_usec, &midnight);
        if (r < 0)
                return log_debug_errno(r, "Cannot find the local midnight before %lld usec.",
                                       (long long) now_usec);

        /* One statement, so one snapshot even while others write. */
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT (SELECT COUNT(*) FROM incidents),"
                                " (SELECT COUNT(*) FROM incidents WHERE status != 'Resolved'),"
                                " (SELECT COUNT(*) FROM incidents WHERE last_seen >= ?1),"
                                " (SELECT COUNT(*) FROM occurrences),"
                                " (SELECT COUNT(*) FROM outbox WHERE state = 'pending')",
                                -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(st, 1, midnight);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return log_debug_errno(db_errno(s->db, rc), "Failed to count rows in '%s': %s",
                                       s->path, sqlite3_errmsg(s->db));

        *ret = (StoreStats) {
                .incidents_total = (uint64_t) sqlite3_column_int64(st, 0),
                .incidents_open = (uint64_t) sqlite3_column_int64(st, 1),
                .incidents_today = (uint64_t) sqlite3_column_int64(st, 2),
                .occurrences_total = (uint64_t) sqlite3_column_int64(st, 3),
                .outbox_pending = (uint64_t) sqlite3_column_int64(st, 4),
        };
        return 0;
}

int store_step_done(Store *s, sqlite3_stmt *st) {
        int rc = sqlite3_step(st);

        return rc == SQLITE_DONE ? 0 : store_step_errno(s, rc);
}

int store_delete_before(Store *s, const char *sql, int64_t before) {
        sqlite3_stmt *st;
        int r;

        r = store_prepare(s, sql, &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, before);
        r = store_step_done(s, st);
        return r < 0 ? r : sqlite3_changes(store_db(s));
}

int store_bind_text_or_null(sqlite3_stmt *st, int idx, const char *v) {
        return v ? sqlite3_bind_text(st, idx, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, idx);
}

int store_bind_int64_or_null(sqlite3_stmt *st, int idx, int64_t v, bool present) {
        return present ? sqlite3_bind_int64(st, idx, v) : sqlite3_bind_null(st, idx);
}

char *store_column_dup(sqlite3_stmt *st, int col) {
        const char *t = (const char *) sqlite3_column_text(st, col);

        return t ? utf8_dup(t) : NULL;
}
