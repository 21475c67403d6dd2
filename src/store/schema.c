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

        [3] =
        /* AI analysis (issue 10). One cached answer per distinct failure and
         * everything its meaning depends on (the answer's language too): a
         * restart, a repeat or a second host with the same failure makes no
         * second call. answer is the parsed, validated answer as JSON. */
        "CREATE TABLE ai_answers (\n"
        "        fingerprint       TEXT    NOT NULL,\n"
        "        model             TEXT    NOT NULL,\n"
        "        prompt_version    INTEGER NOT NULL,\n"
        "        redaction_version INTEGER NOT NULL,\n"
        "        language          TEXT    NOT NULL,\n"
        "        answer            TEXT    NOT NULL,\n"
        "        created           INTEGER NOT NULL,\n"
        "        PRIMARY KEY (fingerprint, model, prompt_version, redaction_version, language)\n"
        ") STRICT;\n"
        /* Every call made, with its outcome ("ok" or why not) and its token
         * usage, for the budget ([Gemini] MaxCallsPerHour=) and the daily
         * report. */
        "CREATE TABLE ai_calls (\n"
        "        id              INTEGER PRIMARY KEY,\n"
        "        time            INTEGER NOT NULL,\n"
        "        incident_id     INTEGER,\n"
        "        model           TEXT    NOT NULL,\n"
        "        outcome         TEXT    NOT NULL,\n"
        "        http_status     INTEGER,\n"
        "        prompt_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (prompt_tokens >= 0),\n"
        "        output_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),\n"
        "        thoughts_tokens INTEGER NOT NULL DEFAULT 0 CHECK (thoughts_tokens >= 0),\n"
        "        latency_usec    INTEGER\n"
        ") STRICT;\n"
        "CREATE INDEX ai_calls_time ON ai_calls (time);\n"
        /* Where an incident's analysis came from ("gemini", "offline") and,
         * for an offline one with a key set, why; the AI's own category next
         * to the rules' (never instead of it). */
        "ALTER TABLE incidents ADD COLUMN analysis_source TEXT;\n"
        "ALTER TABLE incidents ADD COLUMN analysis_note TEXT;\n"
        "ALTER TABLE incidents ADD COLUMN ai_category TEXT;\n",

        [4] =
        /* Fixes (issue 10). One row per attempt at a fix of an incident,
         * with the transient units that ran it and its verification, their
         * results and (redacted) output tails. 'queued' waits for the app's
         * previous fix (one at a time per app) and survives a restart. */
        "CREATE TABLE fix_attempts (\n"
        "        id            INTEGER PRIMARY KEY,\n"
        "        incident_id   INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,\n"
        "        app           TEXT    NOT NULL,\n"
        "        fingerprint   TEXT    NOT NULL,\n"
        "        attempt       INTEGER NOT NULL CHECK (attempt >= 1),\n"
        "        fix_id        TEXT    NOT NULL,\n"
        "        on_request    INTEGER NOT NULL DEFAULT 0 CHECK (on_request IN (0, 1)),\n"
        "        command_line  TEXT    NOT NULL DEFAULT '',\n"
        "        state         TEXT    NOT NULL\n"
        "                CHECK (state IN ('queued', 'running', 'verifying', 'resolved',\n"
        "                                 'failed', 'refused', 'dry_run', 'lost')),\n"
        "        reason        TEXT,\n"
        "        unit          TEXT,\n"
        "        verify_unit   TEXT,\n"
        "        fix_result    TEXT,\n"
        "        verify_result TEXT,\n"
        "        fix_output    TEXT,\n"
        "        verify_output TEXT,\n"
        "        started       INTEGER NOT NULL,\n"
        "        finished      INTEGER\n"
        ") STRICT;\n"
        "CREATE INDEX fix_attempts_incident ON fix_attempts (incident_id, attempt);\n"
        "CREATE INDEX fix_attempts_state ON fix_attempts (state);\n"
        /* The backoff between automatic attempts, per (app, fingerprint), so
         * a restart does not retry at once. */
        "CREATE TABLE fix_backoff (\n"
        "        app          TEXT    NOT NULL,\n"
        "        fingerprint  TEXT    NOT NULL,\n"
        "        attempts     INTEGER NOT NULL CHECK (attempts >= 0),\n"
        "        next_attempt INTEGER NOT NULL,\n"
        "        PRIMARY KEY (app, fingerprint)\n"
        ") STRICT;\n"
        /* What `appwatchctl run` ran, and where: the verification runs it
         * again. command is shell-quoted as appwatchctl joined it. */
        "ALTER TABLE incidents ADD COLUMN run_command TEXT;\n"
        "ALTER TABLE incidents ADD COLUMN run_cwd TEXT;\n",

        [5] =
        /* Schedules (issue 11). When appwatchd ran: the daily report names
         * the gaps of its window. heartbeat moves with each status check. */
        "CREATE TABLE daemon_runs (\n"
        "        id        INTEGER PRIMARY KEY,\n"
        "        started   INTEGER NOT NULL,\n"
        "        heartbeat INTEGER NOT NULL,\n"
        "        stopped   INTEGER\n"
        ") STRICT;\n"
        /* Reports sent, with their window: the next one starts where the last
         * ended. */
        "CREATE TABLE reports (\n"
        "        id           INTEGER PRIMARY KEY,\n"
        "        kind         TEXT    NOT NULL,\n"
        "        window_start INTEGER NOT NULL,\n"
        "        window_end   INTEGER NOT NULL,\n"
        "        created      INTEGER NOT NULL,\n"
        "        body         TEXT    NOT NULL\n"
        ") STRICT;\n"
        "CREATE INDEX reports_kind_end ON reports (kind, window_end);\n"
        /* Results of the health check's probes (a key, a model, a tool's
         * version, an app's dependency check). */
        "CREATE TABLE health_results (\n"
        "        id     INTEGER PRIMARY KEY,\n"
        "        time   INTEGER NOT NULL,\n"
        "        app    TEXT    NOT NULL DEFAULT '',\n"
        "        probe  TEXT    NOT NULL,\n"
        "        ok     INTEGER NOT NULL CHECK (ok IN (0, 1)),\n"
        "        detail TEXT    NOT NULL DEFAULT ''\n"
        ") STRICT;\n"
        "CREATE INDEX health_results_time ON health_results (time);\n",
};

const char *store_migration_sql(int version) {
        if (version < 1 || version > STORE_SCHEMA_VERSION)
                return NULL;
        return migrations[version];
}
