/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for store/store: real SQLite files in temp directories. Covers
 * creation, reopening, migration from every older version, refusing newer
 * schemas, quarantining corrupt files, open errors, stats, transactions and
 * the SQLite result code mapper.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "tests.h"

#define USEC(sec) ((int64_t) (sec) * INT64_C(1000000))

static const char *const tables[] = { "incidents", "occurrences", "positions", "outbox", "meta",
                                       "pending_blocks", "submissions" };

static inline void raw_closep(sqlite3 **db) {
        if (*db)
                (void) sqlite3_close(*db);
}
#define _cleanup_raw_ _cleanup_(raw_closep)

static char *join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s%s", a, b) < 0)
                abort();
        return p;
}

/* Reads a whole file; returns its size or -errno. */
static ssize_t read_all(const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                if (n == cap) {
                        char *b = realloc(buf, cap = cap ? cap * 2 : 65536);
                        if (!b)
                                abort();
                        buf = b;
                }
                size_t k = fread(buf + n, 1, cap - n, f);
                n += k;
                if (k == 0)
                        break;
        }
        *ret = TAKE_PTR(buf);
        return (ssize_t) n;
}

static void write_at(const char *path, off_t offset, const void *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0 || pwrite(fd, data, size, offset) != (ssize_t) size)
                abort();
        (void) close(fd);
}

static sqlite3 *raw_open(const char *path) {
        sqlite3 *db = NULL;

        if (sqlite3_open(path, &db) != SQLITE_OK)
                abort();
        return db;
}

/* Runs SQL returning one integer; aborts on error (test setup only). */
static int64_t raw_int(sqlite3 *db, const char *sql) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW) {
                fprintf(stderr, "'%s': %s\n", sql, sqlite3_errmsg(db));
                abort();
        }
        return sqlite3_column_int64(st, 0);
}

static char *raw_text(sqlite3 *db, const char *sql) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        char *s;

        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_ROW)
                abort();
        s = strdup((const char *) sqlite3_column_text(st, 0) ?: "(null)");
        if (!s)
                abort();
        return s;
}

static int raw_exec(sqlite3 *db, const char *sql) {
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

        if (rc != SQLITE_OK)
                fprintf(stderr, "'%s': %s\n", sql, sqlite3_errmsg(db));
        return rc;
}

static bool table_exists(sqlite3 *db, const char *name) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;

        if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               -1, &st, NULL) != SQLITE_OK ||
            sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
                abort();
        return sqlite3_step(st) == SQLITE_ROW;
}

static bool all_tables_exist(sqlite3 *db) {
        for (size_t i = 0; i < ELEMENTSOF(tables); i++)
                if (!table_exists(db, tables[i])) {
                        fprintf(stderr, "table %s missing\n", tables[i]);
                        return false;
                }
        return true;
}

static int insert_incident(sqlite3 *db, const char *fp, const char *status, int64_t last_seen) {
        _cleanup_(sqlite3_finalizep) sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db,
                                "INSERT INTO incidents (fingerprint, app, host, category, severity,"
                                " status, first_seen, last_seen, title)"
                                " VALUES (?1, 'shop', 'host1', 'python', 'High', ?2, ?3, ?3, ?1)",
                                -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_text(st, 1, fp, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
        if (rc == SQLITE_OK)
                rc = sqlite3_bind_int64(st, 3, last_seen);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Counts the entries of dir whose name contains ".corrupt-". */
static int count_quarantined(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                abort();
        while ((de = readdir(d)))
                if (strstr(de->d_name, ".corrupt-"))
                        n++;
        (void) closedir(d);
        return n;
}

TEST(store_open_fresh) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL, *mode = NULL;
        char *dir = test_tmpdir();
        struct stat st;
        sqlite3 *db;

        path = join(dir, "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);
        ASSERT_TRUE(s);
        ASSERT_STREQ(store_path(s), path);
        ASSERT_TRUE(store_quarantined_path(s) == NULL);
        ASSERT_EQ(store_schema_version(s), STORE_SCHEMA_VERSION);

        db = store_db(s);
        ASSERT_TRUE(db);
        ASSERT_EQ(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        mode = raw_text(db, "PRAGMA journal_mode");
        ASSERT_STREQ(mode, "wal");
        ASSERT_EQ(raw_int(db, "PRAGMA foreign_keys"), 1);
        ASSERT_EQ(raw_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
        ASSERT_TRUE(all_tables_exist(db));
        ASSERT_EQ(raw_int(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                              " AND name IN ('incidents_status_last_seen', 'incidents_last_seen',"
                              " 'occurrences_incident_seen', 'occurrences_seen',"
                              " 'outbox_state_next_attempt', 'outbox_kind_target',"
                              " 'submissions_taken')"),
                  7);

        /* Log excerpts live here: owner-only. */
        ASSERT_OK(stat(path, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);

        ASSERT_TRUE(store_free(TAKE_PTR(s)) == NULL);
        ASSERT_TRUE(store_free(NULL) == NULL);
        return 0;
}

/* Every statement the code holds stays prepared, however many there are: a
 * fixed-size cache once made the daemon's 65th statement fail. */
TEST(store_prepares_any_number_of_statements) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL;
        char sql[300][32];
        sqlite3_stmt *st, *again;

        path = join(test_tmpdir(), "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);
        for (size_t i = 0; i < ELEMENTSOF(sql); i++) {
                snprintf(sql[i], sizeof sql[i], "SELECT %zu", i);
                ASSERT_OK(store_prepare(s, sql[i], &st));
                ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
                ASSERT_EQ(sqlite3_column_int64(st, 0), (int64_t) i);
        }
        /* The same text (pointer) gives back the same statement. */
        ASSERT_OK(store_prepare(s, sql[7], &st));
        ASSERT_OK(store_prepare(s, sql[7], &again));
        ASSERT_TRUE(st == again);
        ASSERT_EQ(sqlite3_step(again), SQLITE_ROW);
        ASSERT_EQ(sqlite3_column_int64(again, 0), 7);
        /* Statements must not outlive the texts that name them. */
        s = store_free(TAKE_PTR(s));
        return 0;
}

TEST(store_reopen_is_idempotent) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL, *schema1 = NULL, *schema2 = NULL;
        char *dir = test_tmpdir();

        path = join(dir, "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);
        ASSERT_EQ(insert_incident(store_db(s), "fp1", "New", USEC(1000)), SQLITE_OK);
        ASSERT_OK(store_exec(s, "INSERT INTO meta (key, value) VALUES ('k', 'v')"));
        schema1 = raw_text(store_db(s), "SELECT group_concat(sql, ';') FROM sqlite_master");
        s = store_free(s);

        for (int i = 0; i < 2; i++) {
                ASSERT_EQ(store_open(path, &s), 0);
                ASSERT_EQ(store_schema_version(s), STORE_SCHEMA_VERSION);
                ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM incidents"), 1);
                ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM meta WHERE value = 'v'"), 1);
                free(schema2);
                schema2 = raw_text(store_db(s), "SELECT group_concat(sql, ';') FROM sqlite_master");
                ASSERT_STREQ(schema1, schema2);
                s = store_free(s);
        }
        return 0;
}

TEST(store_migration_sql) {
        ASSERT_TRUE(store_migration_sql(0) == NULL);
        ASSERT_TRUE(store_migration_sql(-1) == NULL);
        ASSERT_TRUE(store_migration_sql(STORE_SCHEMA_VERSION + 1) == NULL);
        for (int v = 1; v <= STORE_SCHEMA_VERSION; v++)
                ASSERT_TRUE(store_migration_sql(v) && store_migration_sql(v)[0]);
        return 0;
}

/* Builds a database at each older version by hand, with data in it, and
 * checks that store_open() migrates it forward and keeps the data. */
TEST(store_migrates_every_older_version) {
        char *dir = test_tmpdir();

        for (int k = 0; k < STORE_SCHEMA_VERSION; k++) {
                _cleanup_(store_freep) Store *s = NULL;
                _cleanup_free_ char *path = NULL;
                char name[64];

                (void) snprintf(name, sizeof name, "/v%d.db", k);
                path = join(dir, name);

                if (k == 0)
                        /* Version 0: an empty file, none of our tables. */
                        write_at(path, 0, "", 0);
                else {
                        _cleanup_raw_ sqlite3 *db = raw_open(path);
                        char sql[128];

                        for (int v = 1; v <= k; v++)
                                ASSERT_EQ(raw_exec(db, store_migration_sql(v)), SQLITE_OK);
                        (void) snprintf(sql, sizeof sql, "PRAGMA user_version=%d", k);
                        ASSERT_EQ(raw_exec(db, sql), SQLITE_OK);
                        ASSERT_EQ(insert_incident(db, "old", "Resolved", USEC(42)), SQLITE_OK);
                        ASSERT_EQ(raw_exec(db, "INSERT INTO occurrences (incident_id, seen, source)"
                                               " VALUES (1, 42, 'journal')"), SQLITE_OK);
                        ASSERT_EQ(raw_exec(db, "INSERT INTO meta VALUES ('from', 'old')"),
                                  SQLITE_OK);
                }

                fprintf(stderr, "migrating from version %d\n", k);
                ASSERT_EQ(store_open(path, &s), 0);
                ASSERT_EQ(store_schema_version(s), STORE_SCHEMA_VERSION);
                ASSERT_EQ(raw_int(store_db(s), "PRAGMA user_version"), STORE_SCHEMA_VERSION);
                ASSERT_TRUE(all_tables_exist(store_db(s)));
                if (k > 0) {
                        ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM incidents"
                                                       " WHERE fingerprint = 'old'"
                                                       " AND last_seen = 42000000"), 1);
                        ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM occurrences"), 1);
                        ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM meta"
                                                       " WHERE value = 'old'"), 1);
                }
        }
        return 0;
}

/* A migration that fails half-way leaves the old version and nothing else. */
TEST(store_failed_migration_is_atomic) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL;
        char *dir = test_tmpdir();
        int r;

        path = join(dir, "/" STORE_FILENAME);
        {
                _cleanup_raw_ sqlite3 *db = raw_open(path);
                /* Collides with a table that migration 1 creates late. */
                ASSERT_EQ(raw_exec(db, "CREATE TABLE outbox (x)"), SQLITE_OK);
        }

        r = store_open(path, &s);
        ASSERT_TRUE(r < 0);
        ASSERT_TRUE(s == NULL);

        {
                _cleanup_raw_ sqlite3 *db = raw_open(path);
                ASSERT_EQ(raw_int(db, "PRAGMA user_version"), 0);
                ASSERT_TRUE(!table_exists(db, "incidents"));
                ASSERT_TRUE(!table_exists(db, "occurrences"));
                ASSERT_TRUE(table_exists(db, "outbox"));
        }
        return 0;
}

TEST(store_refuses_newer_schema) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL, *before = NULL, *after = NULL;
        char *dir = test_tmpdir();
        ssize_t n1, n2;

        path = join(dir, "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);
        ASSERT_EQ(insert_incident(store_db(s), "fp", "New", USEC(1)), SQLITE_OK);
        s = store_free(s);
        {
                _cleanup_raw_ sqlite3 *db = raw_open(path);
                char sql[64];

                (void) snprintf(sql, sizeof sql, "PRAGMA user_version=%d",
                                STORE_SCHEMA_VERSION + 1);
                ASSERT_EQ(raw_exec(db, sql), SQLITE_OK);
        }

        n1 = read_all(path, &before);
        ASSERT_TRUE(n1 > 0);
        ASSERT_ERROR(store_open(path, &s), EPROTONOSUPPORT);
        ASSERT_TRUE(s == NULL);
        n2 = read_all(path, &after);
        ASSERT_EQ(n1, n2);
        ASSERT_TRUE(memcmp(before, after, (size_t) n1) == 0);

        /* Refused, not quarantined. */
        ASSERT_EQ(count_quarantined(dir), 0);
        {
                _cleanup_raw_ sqlite3 *db = raw_open(path);
                ASSERT_EQ(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
                ASSERT_EQ(raw_int(db, "SELECT COUNT(*) FROM incidents"), 1);
        }
        return 0;
}

/* Checks that store_open() on a corrupt file returns 1, keeps the original
 * bytes at the quarantined path (returned in *ret_moved) and gives a working
 * empty database. */
static int check_quarantine(const char *path, const char *original, ssize_t size,
                            char **ret_moved) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *prefix = NULL, *moved = NULL;
        ssize_t n;

        ASSERT_EQ(store_open(path, &s), 1);
        ASSERT_TRUE(s);
        ASSERT_TRUE(store_quarantined_path(s));
        prefix = join(path, ".corrupt-");
        ASSERT_TRUE(strncmp(store_quarantined_path(s), prefix, strlen(prefix)) == 0);

        n = read_all(store_quarantined_path(s), &moved);
        ASSERT_EQ(n, size);
        ASSERT_TRUE(memcmp(moved, original, (size_t) size) == 0);

        ASSERT_EQ(store_schema_version(s), STORE_SCHEMA_VERSION);
        ASSERT_TRUE(all_tables_exist(store_db(s)));
        ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM incidents"), 0);
        ASSERT_EQ(insert_incident(store_db(s), "fresh", "New", USEC(5)), SQLITE_OK);
        *ret_moved = strdup(store_quarantined_path(s));
        if (!*ret_moved)
                abort();
        s = store_free(s);

        ASSERT_EQ(store_open(path, &s), 0);
        ASSERT_TRUE(store_quarantined_path(s) == NULL);
        ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM incidents"), 1);
        return 0;
}

TEST(store_quarantines_garbage_file) {
        _cleanup_free_ char *path = NULL, *wal = NULL, *moved = NULL, *moved_wal = NULL,
                            *data = NULL;
        static const char stale_wal[] = "a stale WAL that must not meet the new database";
        char garbage[8192] = "this is not a database";
        char *dir = test_tmpdir();
        ssize_t n;

        path = join(dir, "/" STORE_FILENAME);
        write_at(path, 0, garbage, sizeof garbage);
        wal = join(path, "-wal");
        write_at(wal, 0, stale_wal, sizeof stale_wal);

        ASSERT_EQ(check_quarantine(path, garbage, sizeof garbage, &moved), 0);
        /* The file and its -wal, plus the -shm SQLite made when it saw the WAL. */
        ASSERT_TRUE(count_quarantined(dir) >= 2);

        /* The WAL moved along with its database. */
        moved_wal = join(moved, "-wal");
        n = read_all(moved_wal, &data);
        ASSERT_EQ(n, sizeof stale_wal);
        ASSERT_TRUE(memcmp(data, stale_wal, sizeof stale_wal) == 0);
        return 0;
}

TEST(store_quarantines_corrupt_page) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL, *data = NULL, *moved = NULL;
        char *dir = test_tmpdir();
        unsigned page_size;
        char junk[1024];
        ssize_t n;

        path = join(dir, "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);
        ASSERT_OK(store_begin(s));
        for (int i = 0; i < 300; i++) {
                char fp[32];

                (void) snprintf(fp, sizeof fp, "fingerprint-%d", i);
                ASSERT_EQ(insert_incident(store_db(s), fp, "New", USEC(i)), SQLITE_OK);
        }
        ASSERT_OK(store_commit(s));
        s = store_free(s); /* checkpoints the WAL into the file */

        n = read_all(path, &data);
        page_size = ((unsigned char) data[16] << 8) | (unsigned char) data[17];
        ASSERT_TRUE(page_size >= 512);
        ASSERT_TRUE(n >= (ssize_t) page_size * 4);

        /* Page 2 is the root of the first table; smash its header and cells. */
        memset(junk, 0xa5, sizeof junk);
        write_at(path, (off_t) page_size, junk, sizeof junk);
        free(data);
        n = read_all(path, &data);

        return check_quarantine(path, data, n, &moved);
}

TEST(store_open_errors) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *missing = NULL, *file = NULL, *under_file = NULL, *ro = NULL,
                            *in_ro = NULL;
        char *dir = test_tmpdir();

        missing = join(dir, "/no/such/dir/" STORE_FILENAME);
        ASSERT_ERROR(store_open(missing, &s), ENOENT);
        ASSERT_TRUE(s == NULL);

        file = test_write_file(dir, "regular", "x");
        under_file = join(file, "/" STORE_FILENAME);
        ASSERT_ERROR(store_open(under_file, &s), ENOTDIR);
        ASSERT_TRUE(s == NULL);

        ASSERT_ERROR(store_open(dir, &s), EISDIR);
        ASSERT_TRUE(s == NULL);

        if (geteuid() == 0) {
                fprintf(stderr, "running as root, skipping the unwritable directory case\n");
                return 0;
        }
        ro = join(dir, "/ro");
        ASSERT_OK(mkdir(ro, 0500));
        in_ro = join(ro, "/" STORE_FILENAME);
        ASSERT_ERROR(store_open(in_ro, &s), EACCES);
        ASSERT_TRUE(s == NULL);
        ASSERT_OK(chmod(ro, 0700));
        return 0;
}

TEST(store_stats) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL, *old_tz = NULL;
        /* 2024-03-10 15:00:00 UTC */
        const int64_t now = USEC(1710082800), midnight_utc = USEC(1710028800);
        const char *tz = getenv("TZ");
        char *dir = test_tmpdir();
        StoreStats st = { 99, 99, 99, 99, 99 };

        old_tz = tz ? strdup(tz) : NULL;
        path = join(dir, "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);

        ASSERT_OK(store_stats(s, now, &st));
        ASSERT_EQ(st.incidents_total, 0);
        ASSERT_EQ(st.incidents_open, 0);
        ASSERT_EQ(st.incidents_today, 0);
        ASSERT_EQ(st.occurrences_total, 0);
        ASSERT_EQ(st.outbox_pending, 0);

        sqlite3 *db = store_db(s);
        ASSERT_EQ(insert_incident(db, "a", "New", now), SQLITE_OK);
        ASSERT_EQ(insert_incident(db, "b", "In Progress", midnight_utc), SQLITE_OK);
        ASSERT_EQ(insert_incident(db, "c", "Resolved", midnight_utc - 1), SQLITE_OK);
        ASSERT_EQ(insert_incident(db, "d", "Manual Required", midnight_utc - USEC(86400)),
                  SQLITE_OK);
        ASSERT_EQ(insert_incident(db, "e", "Resolved", now - USEC(3600)), SQLITE_OK);
        ASSERT_OK(store_exec(s, "INSERT INTO occurrences (incident_id, seen, source) VALUES"
                                " (1, 1, 'journal'), (1, 2, 'journal'), (2, 3, '/var/log/x'),"
                                " (4, 4, 'run')"));
        ASSERT_OK(store_exec(s, "INSERT INTO outbox (kind, idempotency_key, payload, state,"
                                " created) VALUES"
                                " ('slack', 'k1', '{}', 'pending', 0),"
                                " ('notion', 'k2', '{}', 'pending', 0),"
                                " ('slack', 'k3', '{}', 'done', 0),"
                                " ('slack', 'k4', '{}', 'dead', 0)"));

        /* Run the time zone dependent part, then restore TZ before asserting. */
        StoreStats utc, kst;
        int r_utc, r_kst;

        setenv("TZ", "UTC0", 1);
        tzset();
        r_utc = store_stats(s, now, &utc);
        /* 15:00 UTC is 00:00 the next day in Seoul: only "a" is from today. */
        setenv("TZ", "KST-9", 1);
        tzset();
        r_kst = store_stats(s, now, &kst);
        if (old_tz)
                setenv("TZ", old_tz, 1);
        else
                unsetenv("TZ");
        tzset();

        ASSERT_OK(r_utc);
        ASSERT_EQ(utc.incidents_total, 5);
        ASSERT_EQ(utc.incidents_open, 3);
        ASSERT_EQ(utc.incidents_today, 3);
        ASSERT_EQ(utc.occurrences_total, 4);
        ASSERT_EQ(utc.outbox_pending, 2);
        ASSERT_OK(r_kst);
        ASSERT_EQ(kst.incidents_total, 5);
        ASSERT_EQ(kst.incidents_today, 1);

        /* Deleting an incident takes its occurrences along (foreign_keys=ON). */
        ASSERT_OK(store_exec(s, "DELETE FROM incidents WHERE fingerprint = 'a'"));
        ASSERT_OK(store_stats(s, now, &st));
        ASSERT_EQ(st.incidents_total, 4);
        ASSERT_EQ(st.occurrences_total, 2);
        return 0;
}

TEST(store_schema_constraints) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL;
        char *dir = test_tmpdir();

        path = join(dir, "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);
        ASSERT_EQ(insert_incident(store_db(s), "fp", "New", USEC(1)), SQLITE_OK);

        /* Same (host, app, fingerprint) is the same incident. */
        ASSERT_ERROR(store_exec(s, "INSERT INTO incidents (fingerprint, app, host, category,"
                                   " severity, first_seen, last_seen)"
                                   " VALUES ('fp', 'shop', 'host1', 'x', 'Low', 1, 1)"),
                     EEXIST);
        ASSERT_ERROR(store_exec(s, "INSERT INTO incidents (fingerprint, app, host, category,"
                                   " severity, first_seen, last_seen)"
                                   " VALUES ('fp2', 'shop', 'host1', 'x', 'Urgent', 1, 1)"),
                     EINVAL);
        ASSERT_ERROR(store_exec(s, "UPDATE incidents SET status = 'Done'"), EINVAL);
        /* STRICT: no text in integer columns. */
        ASSERT_ERROR(store_exec(s, "UPDATE incidents SET last_seen = 'yesterday'"), EINVAL);
        ASSERT_ERROR(store_exec(s, "INSERT INTO occurrences (incident_id, seen, source)"
                                   " VALUES (999, 1, 'journal')"),
                     ENOENT);
        ASSERT_ERROR(store_exec(s, "INSERT INTO outbox (kind, idempotency_key, payload, state,"
                                   " created) VALUES ('slack', 'k', '{}', 'sent', 0)"),
                     EINVAL);
        ASSERT_OK(store_exec(s, "INSERT INTO outbox (kind, idempotency_key, payload, created)"
                                " VALUES ('slack', 'k', '{}', 0)"));
        ASSERT_ERROR(store_exec(s, "INSERT INTO outbox (kind, idempotency_key, payload, created)"
                                   " VALUES ('notion', 'k', '{}', 0)"),
                     EEXIST);
        ASSERT_EQ(raw_int(store_db(s), "SELECT attempts FROM outbox WHERE idempotency_key = 'k'"
                                       " AND state = 'pending'"), 0);
        ASSERT_OK(store_exec(s, "INSERT INTO positions (source, dev, inode, offset, updated)"
                                " VALUES ('/var/log/app.log', 2049, 1234, 4096, 1)"));
        ASSERT_ERROR(store_exec(s, "INSERT INTO positions (source, updated)"
                                   " VALUES ('/var/log/app.log', 2)"),
                     EEXIST);
        ASSERT_ERROR(store_exec(s, "SELECT * FROM no_such_table"), EIO);
        return 0;
}

TEST(store_transactions) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *path = NULL;
        char *dir = test_tmpdir();

        path = join(dir, "/" STORE_FILENAME);
        ASSERT_EQ(store_open(path, &s), 0);

        ASSERT_ERROR(store_commit(s), EINVAL);
        ASSERT_OK(store_rollback(s)); /* nothing open: a no-op */

        ASSERT_OK(store_begin(s));
        ASSERT_ERROR(store_begin(s), EBUSY);
        ASSERT_OK(store_exec(s, "INSERT INTO meta VALUES ('a', '1')"));
        ASSERT_OK(store_rollback(s));
        ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM meta"), 0);

        ASSERT_OK(store_begin(s));
        ASSERT_OK(store_exec(s, "INSERT INTO meta VALUES ('b', '2')"));
        ASSERT_OK(store_commit(s));
        s = store_free(s);

        ASSERT_EQ(store_open(path, &s), 0);
        ASSERT_EQ(raw_int(store_db(s), "SELECT COUNT(*) FROM meta WHERE key = 'b'"), 1);

        /* A second connection cannot write while we hold the write lock. */
        ASSERT_OK(store_begin(s));
        {
                _cleanup_raw_ sqlite3 *other = raw_open(path);

                ASSERT_EQ(store_errno(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL)),
                          -EBUSY);
        }
        ASSERT_OK(store_commit(s));
        return 0;
}

TEST(store_errno) {
        static const struct {
                int rc, err;
        } table[] = {
                { SQLITE_OK, 0 },
                { SQLITE_ROW, 0 },
                { SQLITE_DONE, 0 },
                { SQLITE_FULL, -ENOSPC },
                { SQLITE_READONLY, -EROFS },
                { SQLITE_READONLY_DBMOVED, -EROFS },
                { SQLITE_PERM, -EPERM },
                { SQLITE_AUTH, -EACCES },
                { SQLITE_CANTOPEN, -EACCES },
                { SQLITE_CANTOPEN_ISDIR, -EISDIR },
                { SQLITE_CANTOPEN_FULLPATH, -ENOENT },
                { SQLITE_CORRUPT, -EBADMSG },
                { SQLITE_CORRUPT_INDEX, -EBADMSG },
                { SQLITE_NOTADB, -EBADMSG },
                { SQLITE_BUSY, -EBUSY },
                { SQLITE_BUSY_SNAPSHOT, -EBUSY },
                { SQLITE_LOCKED, -EBUSY },
                { SQLITE_NOMEM, -ENOMEM },
                { SQLITE_CONSTRAINT, -EEXIST },
                { SQLITE_CONSTRAINT_UNIQUE, -EEXIST },
                { SQLITE_CONSTRAINT_PRIMARYKEY, -EEXIST },
                { SQLITE_CONSTRAINT_CHECK, -EINVAL },
                { SQLITE_CONSTRAINT_NOTNULL, -EINVAL },
                { SQLITE_CONSTRAINT_DATATYPE, -EINVAL },
                { SQLITE_CONSTRAINT_FOREIGNKEY, -ENOENT },
                { SQLITE_TOOBIG, -E2BIG },
                { SQLITE_INTERRUPT, -EINTR },
                { SQLITE_RANGE, -EINVAL },
                { SQLITE_MISMATCH, -EINVAL },
                { SQLITE_MISUSE, -EINVAL },
                { SQLITE_ERROR, -EIO },
                { SQLITE_IOERR, -EIO },
                { SQLITE_IOERR_WRITE, -EIO },
                { SQLITE_SCHEMA, -EIO },
                { SQLITE_PROTOCOL, -EIO },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                if (store_errno(table[i].rc) != table[i].err)
                        TEST_FAIL("store_errno(%d) = %d, expected %d", table[i].rc,
                                  store_errno(table[i].rc), table[i].err);
        }
        return 0;
}
