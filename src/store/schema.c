/* SPDX-License-Identifier: MIT */
/*
 * The schema migrations: migrations[v] turns a version v - 1 database into a
 * version v one. store_open() applies each in its own transaction and records
 * v in PRAGMA user_version, so every step is atomic.
 *
 * Rules for adding a version: append a script, bump STORE_SCHEMA_VERSION,
 * never edit a released script (old databases have run it), add a test case
 * in tests/unit/test-store.c. Tables are STRICT (SQLite >= 3.37), so a value
 * of the wrong type is an error instead of being stored silently. All times
 * are CLOCK_REALTIME microseconds since the epoch.
 */
#include <stddef.h>

#include "store/store.h"

static const char *const migrations[STORE_SCHEMA_VERSION + 1] = {
        [1] =
        /* One row per distinct failure: (host, app, fingerprint) identifies it,
         * repeats bump count and last_seen. regressions counts how often a
         * Resolved incident came back, and regression flags the current
         * reopening. origin is the kind of source that first saw it (journal,
         * file, run, unit, submit): a successful wrapped run resolves its
         * app's "run" incidents. analysis, fix_* and notion_page_id stay NULL
         * until the analyzer, fixer and Notion delivery fill them. */
        "CREATE TABLE incidents (\n"
        "        id             INTEGER PRIMARY KEY,\n"
        "        fingerprint    TEXT    NOT NULL,\n"
        "        app            TEXT    NOT NULL,\n"
        "        host           TEXT    NOT NULL,\n"
        "        category       TEXT    NOT NULL,\n"
        "        severity       TEXT    NOT NULL\n"
        "                CHECK (severity IN ('Low', 'Medium', 'High', 'Critical')),\n"
        "        status         TEXT    NOT NULL DEFAULT 'New'\n"
        "                CHECK (status IN ('New', 'In Progress', 'Resolved', 'Manual Required')),\n"
        "        count          INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1),\n"
        "        regressions    INTEGER NOT NULL DEFAULT 0 CHECK (regressions >= 0),\n"
        "        first_seen     INTEGER NOT NULL,\n"
        "        last_seen      INTEGER NOT NULL,\n"
        "        title          TEXT    NOT NULL DEFAULT '',\n"
        "        excerpt        TEXT    NOT NULL DEFAULT '',\n"
        "        analysis       TEXT,\n"
        "        fix_id         TEXT,\n"
        "        fix_state      TEXT,\n"
        "        notion_page_id TEXT,\n"
        "        origin         TEXT    NOT NULL DEFAULT '',\n"
        "        regression     INTEGER NOT NULL DEFAULT 0 CHECK (regression IN (0, 1)),\n"
        "        resolved_at    INTEGER,\n"
        "        fix_attempts   INTEGER NOT NULL DEFAULT 0 CHECK (fix_attempts >= 0),\n"
        "        UNIQUE (host, app, fingerprint)\n"
        ") STRICT;\n"
        /* Lists of open incidents by recency, and "today"/report windows. */
        "CREATE INDEX incidents_status_last_seen ON incidents (status, last_seen);\n"
        "CREATE INDEX incidents_last_seen ON incidents (last_seen);\n"
        /* Every sighting of an incident, with where it came from. */
        "CREATE TABLE occurrences (\n"
        "        id          INTEGER PRIMARY KEY,\n"
        "        incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,\n"
        "        seen        INTEGER NOT NULL,\n"
        "        source      TEXT    NOT NULL,\n"
        "        excerpt     TEXT    NOT NULL DEFAULT ''\n"
        ") STRICT;\n"
        /* Also serves the foreign key (cascade deletes) and retention by age. */
        "CREATE INDEX occurrences_incident_seen ON occurrences (incident_id, seen);\n"
        "CREATE INDEX occurrences_seen ON occurrences (seen);\n"
        /* Where each ingest source stopped: the journal cursor, or a file's
         * (dev, inode, offset) plus a hash of the bytes just before offset.
         * dev and inode hold the bits of the unsigned values cast to int64. */
        "CREATE TABLE positions (\n"
        "        source      TEXT    PRIMARY KEY NOT NULL,\n"
        "        cursor      TEXT,\n"
        "        dev         INTEGER,\n"
        "        inode       INTEGER,\n"
        "        offset      INTEGER CHECK (offset >= 0),\n"
        "        marker_hash TEXT,\n"
        "        updated     INTEGER NOT NULL\n"
        ") STRICT;\n"
        /* Every message to Slack, Notion, ... is a row here first; workers
         * send due 'pending' rows and mark them 'done', or 'dead' after the
         * last attempt. idempotency_key makes a re-queue a no-op. */
        "CREATE TABLE outbox (\n"
        "        id              INTEGER PRIMARY KEY,\n"
        "        kind            TEXT    NOT NULL,\n"
        "        target          TEXT    NOT NULL DEFAULT '',\n"
        "        idempotency_key TEXT    NOT NULL UNIQUE,\n"
        "        payload         TEXT    NOT NULL,\n"
        "        state           TEXT    NOT NULL DEFAULT 'pending'\n"
        "                CHECK (state IN ('pending', 'done', 'dead')),\n"
        "        attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),\n"
        "        next_attempt    INTEGER NOT NULL DEFAULT 0,\n"
        "        last_error      TEXT,\n"
        "        created         INTEGER NOT NULL\n"
        ") STRICT;\n"
        "CREATE INDEX outbox_state_next_attempt ON outbox (state, next_attempt);\n"
        /* The lines of multi-line blocks still being assembled when a batch
         * was committed, per stream (a file, a journal unit, ...). Positions
         * always move past every line read; these lines are fed to the
         * engine again at start, so a crash mid-block neither loses the
         * block nor counts anything twice. meta is JSON (app, host, origin,
         * source, format); data holds the raw lines, each as a 4-byte
         * little-endian length, then (format 2, written by the detection
         * engine) the line's 8-byte wall-clock time, then its bytes. */
        "CREATE TABLE pending_blocks (\n"
        "        stream  TEXT PRIMARY KEY NOT NULL,\n"
        "        meta    TEXT NOT NULL,\n"
        "        data    BLOB NOT NULL,\n"
        "        updated INTEGER NOT NULL\n"
        ") STRICT;\n"
        /* Small daemon-wide facts (e.g. when the last daily report went out). */
        "CREATE TABLE meta (\n"
        "        key   TEXT PRIMARY KEY NOT NULL,\n"
        "        value TEXT\n"
        ") STRICT;\n",

        [2] =
        /* Delivery asks for the newest message about an incident (the repeat
         * interval survives a restart): outbox rows by sink and target. */
        "CREATE INDEX outbox_kind_target ON outbox (kind, target, id);\n"
        /* Submissions taken, by the id the client gave them, recorded in the
         * transaction of their incidents: a copy of one (spooled by a client
         * that gave up waiting, while the daemon still took it from the
         * socket) is recognised and ignored. Pruned after a while. */
        "CREATE TABLE submissions (\n"
        "        id    TEXT PRIMARY KEY NOT NULL,\n"
        "        taken INTEGER NOT NULL\n"
        ") STRICT;\n"
        "CREATE INDEX submissions_taken ON submissions (taken);\n",
};

const char *store_migration_sql(int version) {
        if (version < 1 || version > STORE_SCHEMA_VERSION)
                return NULL;
        return migrations[version];
}
