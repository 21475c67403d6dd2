/* SPDX-License-Identifier: MIT */
/*
 * The durable store: one SQLite database (WAL) holding incidents, their
 * occurrences, ingest positions and the delivery outbox. store_open() checks
 * the file, moves a corrupt one aside and runs the versioned schema migrations.
 * Later store modules (incidents, positions, outbox) reach the connection
 * through store_db().
 *
 * Threading: a Store and its connection belong to the loop thread; workers
 * never touch it (DESIGN.md §2).
 */
#pragma once

#include <stdbool.h>

#include <sqlite3.h>
#include <stdint.h>

#include "shared/cleanup.h"

#define STORE_SCHEMA_VERSION 5
#define STORE_FILENAME "appwatch.db"
/* How long a statement waits for a lock held by another connection. */
#define STORE_BUSY_TIMEOUT_MSEC 5000

typedef struct Store Store;

typedef struct StoreStats {
        uint64_t incidents_total;   /* all incident rows */
        uint64_t incidents_open;    /* status other than 'Resolved' */
        uint64_t incidents_today;   /* last_seen at or after local midnight */
        uint64_t occurrences_total; /* all occurrence rows */
        uint64_t outbox_pending;    /* outbox rows in state 'pending' */
} StoreStats;

/* Opens the database file at path, creating it (mode 0600) if missing.
 * Sets journal_mode=WAL, foreign_keys=ON, synchronous=NORMAL and a busy
 * timeout, then applies each missing schema migration in its own
 * BEGIN IMMEDIATE transaction, so a crash leaves the previous version intact.
 * Returns:
 *   0 on success;
 *   1 when the existing file was corrupt (not a database, or failing
 *     PRAGMA quick_check): it was moved to path + ".corrupt-<unix-time>"
 *     (with its -wal and -shm), an error naming both paths was logged, and a
 *     fresh database was created; see store_quarantined_path();
 *   -EPROTONOSUPPORT when the file's schema is newer than
 *     STORE_SCHEMA_VERSION (the file is left untouched);
 *   another -errno (-EACCES, -ENOENT, -ENOTDIR, -EROFS, -ENOSPC, ...).
 * Every failure is logged here with the path and SQLite's message.
 * On success (0 or 1) *ret owns the new Store; on failure it is unchanged. */
int store_open(const char *path, Store **ret);

/* Closes the connection (checkpointing the WAL) and frees s. NULL-safe;
 * returns NULL. */
Store *store_free(Store *s);
DEFINE_CLEANUP(Store, store_free)

/* The path given to store_open(); owned by s. */
const char *store_path(Store *s);

/* Where the corrupt file was moved to when store_open() returned 1, else
 * NULL; owned by s. */
const char *store_quarantined_path(Store *s);

/* The schema version of the open database (STORE_SCHEMA_VERSION after a
 * successful store_open()). */
int store_schema_version(Store *s);

/* Counts incidents, occurrences and pending outbox rows in one consistent
 * snapshot. "Today" means last_seen at or after the local midnight that
 * starts the day of now_usec (CLOCK_REALTIME, microseconds). Writes *ret only
 * on success; returns 0 or -errno. */
int store_stats(Store *s, int64_t now_usec, StoreStats *ret);

/* Starts a write transaction (BEGIN IMMEDIATE). Returns 0, -EBUSY if a
 * transaction is already open or the database is locked, or -errno. */
int store_begin(Store *s);

/* Commits the open transaction. Returns 0, -EINVAL if none is open, or
 * -errno (then the transaction is still open or was rolled back by SQLite;
 * call store_rollback() either way). */
int store_commit(Store *s);

/* Rolls back the open transaction; returns 0 (also when none is open, since
 * SQLite rolls back by itself after some errors) or -errno. */
int store_rollback(Store *s);

/* Runs one or more SQL statements that return no rows. Returns 0 or -errno;
 * the SQLite message is logged at debug level. */
int store_exec(Store *s, const char *sql);

/*
 * Returns a cached prepared statement for sql, reset and with its bindings
 * cleared. sql must be a string literal (its address is the cache key). The
 * statement stays owned by the store: never finalize it. Returns 0, -ENOMEM,
 * or a mapped SQLite error.
 */
int store_prepare(Store *s, const char *sql, sqlite3_stmt **ret);

/* Maps the result of sqlite3_step() on this store's connection to -errno. */
int store_step_errno(Store *s, int rc);

/* Steps a statement that returns no rows: 0 or -errno. */
int store_step_done(Store *s, sqlite3_stmt *st);

/* Runs sql (a string literal, as for store_prepare()), a DELETE of the rows
 * older than its one parameter, bound to before: the retention of the
 * tables that keep a log. Returns how many rows went, or -errno. */
int store_delete_before(Store *s, const char *sql, int64_t before);

/* Binds v to parameter idx, or SQL NULL when v is NULL (or, for the
 * integer, when !present). Text is bound SQLITE_STATIC: v must stay valid
 * until the statement has been stepped. Return SQLite's result code. */
int store_bind_text_or_null(sqlite3_stmt *st, int idx, const char *v);
int store_bind_int64_or_null(sqlite3_stmt *st, int idx, int64_t v, bool present);

/* A malloc'ed copy of a text column, made valid UTF-8 (invalid bytes as
 * \xHH: also a database written before every input was checked gives text
 * that JSON takes), or NULL for SQL NULL and on out of memory. */
char *store_column_dup(sqlite3_stmt *st, int col);

/* The underlying connection, for the other store modules. Owned by s. */
sqlite3 *store_db(Store *s);

/* Maps a SQLite result code (primary or extended) to a negative errno:
 * OK/ROW/DONE -> 0, FULL -> -ENOSPC, READONLY -> -EROFS, PERM -> -EPERM,
 * AUTH -> -EACCES, CANTOPEN -> -EACCES (-EISDIR, -ENOENT for the _ISDIR and
 * _FULLPATH variants), CORRUPT/NOTADB -> -EBADMSG, BUSY/LOCKED -> -EBUSY,
 * NOMEM -> -ENOMEM, CONSTRAINT -> -EEXIST, TOOBIG -> -E2BIG,
 * INTERRUPT -> -EINTR, RANGE/MISMATCH/MISUSE -> -EINVAL, anything else -> -EIO. */
int store_errno(int sqlite_rc);

/* The SQL script that migrates version - 1 to version, or NULL when version
 * is outside 1..STORE_SCHEMA_VERSION. For tests that build older databases. */
const char *store_migration_sql(int version);

/* Finalizes a prepared statement; for _cleanup_(sqlite3_finalizep). */
DEFINE_CLEANUP(sqlite3_stmt, sqlite3_finalize)
