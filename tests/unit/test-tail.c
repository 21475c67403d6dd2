/* SPDX-License-Identifier: MIT */
/*
 * Tests for ingest/tail: real files and real inotify in a temporary
 * directory, driven by running a private sd-event loop until a condition
 * holds (or a few seconds pass).
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "ingest/tail.h"
#include "shared/log.h"
#include "tests.h"

#define WAIT_USEC (10 * USEC_PER_SEC)

typedef struct Rec {
        char *path;
        char *data;
        size_t len;
        uint64_t dev, inode, offset, next_offset;
        bool truncated;
} Rec;

typedef struct Ctx {
        Rec *recs;
        size_t n, cap;
        long refuse_at;         /* refuse the line when n == refuse_at (once); -1 = never */
        bool have_saved;
        TailPosition saved;
        unsigned lookups;
        unsigned closes;
        uint64_t closed_dev, closed_inode;
        size_t lines_at_close;  /* c->n when the last close callback ran */
        int open_at_close;      /* tailer_position() of the closed file then */
        usec_t line_cost;       /* each line keeps the callback busy this long */
} Ctx;

static void ctx_done(Ctx *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->recs[i].path);
                free(c->recs[i].data);
        }
        free(c->recs);
}

static int on_line(Tailer *t, const TailLine *l, void *userdata) {
        Ctx *c = userdata;
        Rec *r;

        if (c->refuse_at >= 0 && (size_t) c->refuse_at == c->n) {
                c->refuse_at = -1;
                return -EAGAIN;
        }
        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 64;
                c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
                if (!c->recs)
                        abort();
        }
        r = &c->recs[c->n++];
        *r = (Rec) {
                .path = strdup(l->path),
                .data = malloc(l->len + 1),
                .len = l->len,
                .dev = l->dev,
                .inode = l->inode,
                .offset = l->offset,
                .next_offset = l->next_offset,
                .truncated = l->truncated,
        };
        if (!r->path || !r->data)
                abort();
        memcpy(r->data, l->data, l->len);
        r->data[l->len] = '\0';
        if (c->line_cost > 0)
                (void) usleep((useconds_t) c->line_cost);
        return 0;
}

static int lookup(Tailer *t, uint64_t dev, uint64_t inode, TailPosition *ret, void *userdata) {
        Ctx *c = userdata;

        c->lookups++;
        if (!c->have_saved || c->saved.dev != dev || c->saved.inode != inode)
                return 0;
        *ret = c->saved;
        return 1;
}

static void on_close(Tailer *t, uint64_t dev, uint64_t inode, void *userdata) {
        Ctx *c = userdata;

        c->closes++;
        c->closed_dev = dev;
        c->closed_inode = inode;
        c->lines_at_close = c->n;
        c->open_at_close = tailer_position(t, dev, inode, 0, &(TailPosition) {});
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* How many of our fds are on deleted files. */
static unsigned deleted_fds(void) {
        _cleanup_(closedirp) DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                abort();
        while ((de = readdir(d))) {
                char target[4096];
                ssize_t len = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);

                if (len <= 0)
                        continue;
                target[len] = '\0';
                /* Only our test files: valgrind keeps files of its own. */
                if (strstr(target, " (deleted)") && strstr(target, "appwatch-test."))
                        n++;
        }
        return n;
}

/* Runs the loop until done(t, c) or WAIT_USEC; returns whether it held. */
static bool run_until(sd_event *e, Tailer *t, Ctx *c, bool (*done)(Tailer *, Ctx *, size_t),
                      size_t arg) {
        usec_t end = now_monotonic() + WAIT_USEC;

        while (!done(t, c, arg)) {
                if (now_monotonic() > end)
                        return false;
                if (sd_event_run(e, 10 * USEC_PER_MSEC) < 0)
                        return false;
        }
        return true;
}

static void run_for(sd_event *e, usec_t usec) {
        usec_t end = now_monotonic() + usec;

        while (now_monotonic() < end)
                (void) sd_event_run(e, 5 * USEC_PER_MSEC);
}

static bool lines_at_least(Tailer *t, Ctx *c, size_t n) {
        return c->n >= n;
}

static bool files_equal(Tailer *t, Ctx *c, size_t n) {
        TailStats s;

        tailer_get_stats(t, &s);
        return s.files == n;
}

static size_t count_line(const Ctx *c, const char *s) {
        size_t k = 0;

        for (size_t i = 0; i < c->n; i++)
                if (c->recs[i].len == strlen(s) && memcmp(c->recs[i].data, s, c->recs[i].len) == 0)
                        k++;
        return k;
}

/* Index of the first line equal to s, or -1. */
static long find_line(const Ctx *c, const char *s) {
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->recs[i].data, s) == 0)
                        return (long) i;
        return -1;
}

static bool has_line(Tailer *t, Ctx *c, size_t arg) {
        return find_line(c, (const char *) arg) >= 0;
}

static void append_mode(const char *path, const char *data, mode_t mode) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode);

        if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t) strlen(data))
                abort();
        close(fd);
}

static void append(const char *path, const char *data) {
        append_mode(path, data, 0644);
}

static char *strjoin_alloc(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s%s", a, b) < 0)
                abort();
        return p;
}

static char *join(const char *dir, const char *name) {
        char *p;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        return p;
}

static int setup(const TailOptions *o, Ctx *c, sd_event **ret_e, Tailer **ret_t) {
        int r;

        c->refuse_at = -1;
        if (getenv("TEST_TAIL_DEBUG"))
                log_set_max_level(LOG_DEBUG);
        if (!*ret_e) {
                r = sd_event_new(ret_e);
                if (r < 0)
                        return r;
        }
        r = tailer_new(*ret_e, o, on_line, lookup, c, NULL, ret_t);
        if (r < 0)
                return r;
        return tailer_set_close_callback(*ret_t, on_close, c, NULL);
}

TEST(marker) {
        char m[17];

        tail_marker("", 0, m);
        ASSERT_STREQ(m, "cbf29ce484222325");
        tail_marker("a", 1, m);
        ASSERT_STREQ(m, "af63dc4c8601ec8c");
        return 0;
}

TEST(append_and_partial_line) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log"), *b = join(dir, "b.log");
        TailStats s;

        append(a, "one\ntwo\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, "app", true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));
        ASSERT_STREQ(c.recs[0].data, "one");
        ASSERT_EQ(c.recs[0].offset, 0);
        ASSERT_EQ(c.recs[0].next_offset, 4);
        ASSERT_STREQ(c.recs[1].data, "two");
        ASSERT_EQ(c.recs[1].offset, 4);
        ASSERT_EQ(c.recs[1].next_offset, 8);
        ASSERT_STREQ(c.recs[1].path, a);

        /* A partial line is held until its '\n' comes. */
        append(a, "thr");
        run_for(e, 100 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 2);
        append(a, "ee\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_STREQ(c.recs[2].data, "three");
        ASSERT_EQ(c.recs[2].offset, 8);
        ASSERT_EQ(c.recs[2].next_offset, 14);

        /* A new file. */
        append(b, "bee\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 4));
        ASSERT_STREQ(c.recs[3].data, "bee");
        ASSERT_STREQ(c.recs[3].path, b);
        ASSERT_EQ(c.recs[3].offset, 0);

        tailer_get_stats(t, &s);
        ASSERT_EQ(s.files, 2);
        ASSERT_EQ(s.lines, 4);
        ASSERT_EQ(s.bytes, 18);
        return 0;
}

TEST(from_tail) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log"), *b = join(dir, "b.log");

        append(a, "old1\nold2\npart");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, false));
        ASSERT_OK(tailer_start(t));
        run_for(e, 100 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 0);

        /* The line being written when we started is delivered whole. */
        append(a, "ial\nnew\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));
        ASSERT_STREQ(c.recs[0].data, "partial");
        ASSERT_EQ(c.recs[0].offset, 10);
        ASSERT_STREQ(c.recs[1].data, "new");

        /* Files that appear later are read from 0. */
        append(b, "b1\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_STREQ(c.recs[2].data, "b1");
        return 0;
}

TEST(from_tail_long_last_line) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");
        char part[6001];

        /* The last line began more than a marker window back: it is skipped
         * whole rather than delivered cut at the front. */
        memset(part, 'p', sizeof part - 1);
        part[sizeof part - 1] = '\0';
        append(a, "old\n");
        append(a, part);
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, false));
        ASSERT_OK(tailer_start(t));
        run_for(e, 50 * USEC_PER_MSEC);
        append(a, "end\nnext\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 1));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 1);
        ASSERT_STREQ(c.recs[0].data, "next");
        ASSERT_EQ(c.recs[0].offset, 4 + 6000 + 4);
        return 0;
}

TEST(rotate_rename_glob) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *glob = join(dir, "*.log"),
                            *a = join(dir, "app.log"), *a1 = join(dir, "app.log.1");
        _cleanup_close_ int writer = -EBADF;
        TailOptions o = { .rotate_wait = USEC_PER_SEC };
        TailStats s;

        append(a, "a1\na2\n");
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", glob, "app", true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));

        /* logrotate "create": the writer still holds the old file. */
        writer = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_TRUE(writer >= 0);
        ASSERT_EQ(write(writer, "a3\n", 3), 3);
        ASSERT_OK(rename(a, a1));
        append(a, "b1\n");
        ASSERT_TRUE(run_until(e, t, &c, has_line, (size_t) "b1"));
        ASSERT_TRUE(find_line(&c, "a3") >= 0);
        ASSERT_TRUE(find_line(&c, "a3") < find_line(&c, "b1"));
        ASSERT_EQ(c.recs[find_line(&c, "b1")].offset, 0);

        /* Late writes before the writer reopens are still read, and the final
         * unterminated line is delivered when the old file is closed. */
        ASSERT_EQ(write(writer, "a4\nlast", 7), 7);
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 1));
        ASSERT_EQ(count_line(&c, "a1"), 1);
        ASSERT_EQ(count_line(&c, "a2"), 1);
        ASSERT_EQ(count_line(&c, "a3"), 1);
        ASSERT_EQ(count_line(&c, "a4"), 1);
        ASSERT_EQ(count_line(&c, "b1"), 1);
        ASSERT_EQ(count_line(&c, "last"), 1);
        ASSERT_EQ(c.recs[find_line(&c, "last")].offset, 12);
        ASSERT_EQ(c.recs[find_line(&c, "last")].next_offset, 16);
        ASSERT_EQ(c.n, 6);

        tailer_get_stats(t, &s);
        ASSERT_EQ(s.rotations, 1);
        ASSERT_EQ(s.truncations, 0);
        return 0;
}

TEST(rotate_rename_directory) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "app.log"),
                            *a1 = join(dir, "app.log.1");
        TailStats s;

        append(a, "a1\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, "app", true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 1));

        /* In a directory watch the renamed file is the same file: it goes on
         * where it was and is not read again from 0. */
        ASSERT_OK(rename(a, a1));
        append(a1, "a2\n");
        append(a, "b1\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 3);
        ASSERT_EQ(count_line(&c, "a1"), 1);
        ASSERT_EQ(c.recs[find_line(&c, "a2")].offset, 3);
        ASSERT_STREQ(c.recs[find_line(&c, "a2")].path, a1);
        ASSERT_EQ(c.recs[find_line(&c, "b1")].offset, 0);
        ASSERT_STREQ(c.recs[find_line(&c, "b1")].path, a);
        ASSERT_TRUE(c.recs[find_line(&c, "b1")].inode != c.recs[0].inode);

        tailer_get_stats(t, &s);
        ASSERT_EQ(s.files, 2);
        ASSERT_EQ(s.rotations, 0);
        return 0;
}

TEST(rotated_copies_not_read_in_directory_watch) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        static const char *const copies[] = { "app.log.1", "app.log.2.gz", "app.log-20261126",
                                              "app.log.old" };
        _cleanup_free_ char *a = join(dir, "app.log"), *other = join(dir, "worker-2.log");

        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, "app", true));
        ASSERT_OK(tailer_start(t));
        append(a, "a1\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 1));
        /* copytruncate and compression make copies of lines already read:
         * new files with rotated names are not followed... */
        for (size_t i = 0; i < ELEMENTSOF(copies); i++) {
                _cleanup_free_ char *p = join(dir, copies[i]);
                append(p, "a1\n");
        }
        /* ...but ordinary new files are, digits in their names or not. */
        append(other, "w1\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));
        run_for(e, 100 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 2);
        ASSERT_EQ(count_line(&c, "a1"), 1);
        ASSERT_EQ(count_line(&c, "w1"), 1);
        return 0;
}

TEST(copytruncate) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *glob = join(dir, "*.log"),
                            *a = join(dir, "app.log"), *a1 = join(dir, "app.log.1");
        TailStats s;

        append(a, "line1\nline2\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", glob, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));

        append(a1, "line1\nline2\n");
        ASSERT_OK(truncate(a, 0));
        append(a, "new1\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_STREQ(c.recs[2].data, "new1");
        ASSERT_EQ(c.recs[2].offset, 0);
        ASSERT_EQ(c.recs[2].inode, c.recs[0].inode);
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 3);

        tailer_get_stats(t, &s);
        ASSERT_EQ(s.truncations, 1);
        ASSERT_EQ(s.rotations, 0);
        return 0;
}

TEST(shrink) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");
        TailStats s;

        append(a, "aaaa\nbbbb\ncccc\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));

        /* Shorter than the offset: read again from 0. */
        ASSERT_OK(truncate(a, 5));
        append(a, "dd\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 5));
        ASSERT_STREQ(c.recs[3].data, "aaaa");
        ASSERT_EQ(c.recs[3].offset, 0);
        ASSERT_STREQ(c.recs[4].data, "dd");
        ASSERT_EQ(c.recs[4].offset, 5);
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.truncations, 1);
        return 0;
}

TEST(delete) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");
        TailOptions o = { .rotate_wait = 20 * USEC_PER_MSEC };
        TailStats s;

        append(a, "x\npartial");
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 1));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 1);

        /* Deleted: drained, its final partial line delivered, closed. */
        ASSERT_OK(unlink(a));
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 0));
        ASSERT_EQ(c.n, 2);
        ASSERT_STREQ(c.recs[1].data, "partial");
        ASSERT_EQ(c.recs[1].offset, 2);
        ASSERT_EQ(c.recs[1].next_offset, 9);
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.rotations, 1);
        ASSERT_ERROR(tailer_position(t, c.recs[0].dev, c.recs[0].inode, 2, &(TailPosition) {}),
                     ENOENT);
        return 0;
}

TEST(rotated_then_deleted_is_drained_then_closed) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *glob = join(dir, "*.log"),
                            *a = join(dir, "app.log"), *a1 = join(dir, "app.log.1");
        _cleanup_close_ int writer = -EBADF;
        /* Far longer than the test: only the deletion can close the file. */
        TailOptions o = { .rotate_wait = 3600 * USEC_PER_SEC };
        TailStats s;

        append(a, "a1\na2\n");
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", glob, "app", true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));

        /* Written, rotated away and deleted before its end was read (the
         * tailer is paused): nothing may be lost, and it stays open meanwhile. */
        writer = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_TRUE(writer >= 0);
        tailer_pause(t);
        ASSERT_EQ(write(writer, "a3\na4\nlast", 10), 10);
        ASSERT_OK(rename(a, a1));
        ASSERT_OK(unlink(a1));
        writer = safe_close(writer);
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 2);
        ASSERT_EQ(c.closes, 0);
        ASSERT_TRUE(files_equal(t, &c, 1));

        tailer_resume(t);
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 0));
        ASSERT_EQ(c.n, 5);
        ASSERT_STREQ(c.recs[2].data, "a3");
        ASSERT_STREQ(c.recs[3].data, "a4");
        ASSERT_STREQ(c.recs[4].data, "last");
        ASSERT_EQ(c.recs[4].next_offset, 16);
        /* Told once, after the last line, when the file is no longer open. */
        ASSERT_EQ(c.closes, 1);
        ASSERT_EQ(c.lines_at_close, 5);
        ASSERT_EQ(c.closed_dev, c.recs[0].dev);
        ASSERT_EQ(c.closed_inode, c.recs[0].inode);
        ASSERT_EQ(c.open_at_close, -ENOENT);
        ASSERT_EQ(deleted_fds(), 0);
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.closes, 1);
        ASSERT_EQ(c.n, 5);
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.rotations, 1);
        return 0;
}

TEST(deleted_files_closed_without_rotate_wait) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log"), *a1 = join(dir, "a.log.1"),
                            *b = join(dir, "b.log"), *k = join(dir, "kept.log");
        TailOptions o = { .rotate_wait = 3600 * USEC_PER_SEC };

        append(a, "a\n");
        append(b, "b\n");
        append(k, "k\n");
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));

        /* In a directory watch a renamed file is still followed; deleted
         * later, it goes. So does one deleted in place. */
        ASSERT_OK(rename(a, a1));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_TRUE(files_equal(t, &c, 3));
        ASSERT_OK(unlink(a1));
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 2));
        ASSERT_EQ(c.closes, 1);
        ASSERT_OK(unlink(b));
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 1));
        ASSERT_EQ(c.closes, 2);
        ASSERT_EQ(deleted_fds(), 0);
        ASSERT_EQ(c.n, 3);

        /* The file left alone is still followed. */
        append(k, "k2\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 4));
        ASSERT_EQ(c.closes, 2);
        return 0;
}

TEST(directories_appear_later) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *logs = join(dir, "a/b/logs"),
                            *glob = join(dir, "g/sub/*.log"), *cmd = NULL, *x = NULL,
                            *y = NULL, *z = NULL;
        TailOptions o = { .rotate_wait = 20 * USEC_PER_MSEC };

        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "dir", logs, NULL, false));
        ASSERT_OK(tailer_add_watch(t, "glob", glob, NULL, false));
        ASSERT_OK(tailer_start(t));
        run_for(e, 30 * USEC_PER_MSEC);

        /* Created step by step, while the loop runs in between. */
        x = join(dir, "a");
        ASSERT_OK(mkdir(x, 0755));
        run_for(e, 30 * USEC_PER_MSEC);
        free(x);
        x = join(dir, "a/b");
        ASSERT_OK(mkdir(x, 0755));
        ASSERT_OK(mkdir(logs, 0755));
        free(x);
        x = join(logs, "x.log");
        append(x, "x1\n");

        /* Created all at once, without the loop running. */
        ASSERT_TRUE(asprintf(&cmd, "mkdir -p '%s/g/sub'", dir) > 0);
        ASSERT_EQ(system(cmd), 0);
        y = join(dir, "g/sub/y.log");
        z = join(dir, "g/sub/z.txt");
        append(z, "no\n");
        append(y, "y1\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));
        ASSERT_EQ(count_line(&c, "x1"), 1);
        ASSERT_EQ(count_line(&c, "y1"), 1);
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 2));

        /* The directory goes away and comes back. */
        ASSERT_OK(unlink(x));
        ASSERT_OK(rmdir(logs));
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 1));
        ASSERT_OK(mkdir(logs, 0755));
        append(x, "x2\n");
        ASSERT_TRUE(run_until(e, t, &c, has_line, (size_t) "x2"));
        ASSERT_EQ(count_line(&c, "no"), 0);
        ASSERT_EQ(c.n, 3);
        return 0;
}

TEST(overflow_rescan) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log"), *b = join(dir, "b.log");
        _cleanup_close_ int fa = -EBADF, fb = -EBADF;
        _cleanup_fclose_ FILE *q = NULL;
        unsigned long max_queued = 16384, n;
        TailStats s;

        q = fopen("/proc/sys/fs/inotify/max_queued_events", "re");
        if (q && fscanf(q, "%lu", &max_queued) != 1)
                max_queued = 16384;
        if (max_queued > 1000000)
                return EXIT_TEST_SKIP;
        n = max_queued + 2000;

        append(a, "");
        append(b, "");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 2));

        /* Alternating files: the kernel cannot merge the events, and nobody
         * reads them while we write, so the queue overflows. */
        fa = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);
        fb = open(b, O_WRONLY | O_APPEND | O_CLOEXEC);
        ASSERT_TRUE(fa >= 0 && fb >= 0);
        for (unsigned long i = 0; i < n; i++) {
                char line[32];
                int len;

                len = snprintf(line, sizeof line, "a %lu\n", i);
                ASSERT_EQ(write(fa, line, (size_t) len), len);
                len = snprintf(line, sizeof line, "b %lu\n", i);
                ASSERT_EQ(write(fb, line, (size_t) len), len);
        }
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2 * n));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 2 * n);

        /* Every line once, in order per file. */
        for (unsigned long i = 0, ia = 0, ib = 0; i < c.n; i++) {
                char want[32];
                bool is_a = c.recs[i].data[0] == 'a';

                snprintf(want, sizeof want, "%c %lu", is_a ? 'a' : 'b', is_a ? ia++ : ib++);
                ASSERT_STREQ(c.recs[i].data, want);
        }
        tailer_get_stats(t, &s);
        ASSERT_TRUE(s.overflows >= 1);
        ASSERT_TRUE(s.rescans >= 1);
        return 0;
}

TEST(restore) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");
        TailPosition pos, zero;
        TailStats s;

        append(a, "l1\nl2\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));
        ASSERT_EQ(c.lookups, 1);
        ASSERT_OK(tailer_position(t, c.recs[1].dev, c.recs[1].inode, c.recs[1].next_offset, &pos));
        ASSERT_EQ(pos.offset, 6);
        ASSERT_EQ(pos.dev, c.recs[1].dev);
        ASSERT_EQ(pos.inode, c.recs[1].inode);
        ASSERT_EQ(strlen(pos.marker), 16);
        ASSERT_OK(tailer_position(t, pos.dev, pos.inode, 0, &zero));
        ASSERT_STREQ(zero.marker, "");
        ASSERT_ERROR(tailer_position(t, pos.dev, pos.inode, 7, &zero), ESTALE);
        ASSERT_ERROR(tailer_position(t, pos.dev, pos.inode + 1, 0, &zero), ENOENT);
        t = tailer_free(t);
        ctx_done(&c);

        /* Same inode, long enough, marker matches: resume. */
        append(a, "l3\n");
        c = (Ctx) { .have_saved = true, .saved = pos };
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 1));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 1);
        ASSERT_STREQ(c.recs[0].data, "l3");
        ASSERT_EQ(c.recs[0].offset, 6);
        t = tailer_free(t);
        ctx_done(&c);

        /* The bytes before the offset differ (rewritten in place): from 0. */
        c = (Ctx) { .have_saved = true, .saved = pos };
        strcpy(c.saved.marker, "0123456789abcdef");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, false));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_STREQ(c.recs[0].data, "l1");
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.truncations, 1);
        t = tailer_free(t);
        ctx_done(&c);

        /* The file is shorter than the offset: from 0. */
        c = (Ctx) { .have_saved = true, .saved = pos };
        c.saved.offset = 1000;
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, false));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_STREQ(c.recs[0].data, "l1");
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.truncations, 1);
        t = tailer_free(t);
        ctx_done(&c);

        /* Another inode's position is not ours: from_head=false, from the end. */
        c = (Ctx) { .have_saved = true, .saved = pos };
        c.saved.inode++;
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, false));
        ASSERT_OK(tailer_start(t));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 0);
        ASSERT_EQ(c.lookups, 1);
        return 0;
}

TEST(max_line) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log"), *big = join(dir, "big.log");
        TailOptions o = { .max_line = 16 };
        char longline[42];
        TailStats s;

        memset(longline, 'x', 40);
        longline[40] = '\n';
        longline[41] = '\0';
        append(a, "short\n");
        append(a, longline);
        append(a, "after\n");
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_STREQ(c.recs[0].data, "short");
        ASSERT_TRUE(!c.recs[0].truncated);
        ASSERT_EQ(c.recs[1].len, 16);
        ASSERT_TRUE(c.recs[1].truncated);
        ASSERT_EQ(c.recs[1].offset, 6);
        ASSERT_EQ(c.recs[1].next_offset, 47);
        ASSERT_STREQ(c.recs[2].data, "after");
        ASSERT_EQ(c.recs[2].offset, 47);

        /* Split over several reads: 100 MB without a newline (a sparse file of
         * NULs), then its end. Memory stays at max_line. */
        append(big, "start");
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 2));
        run_for(e, 20 * USEC_PER_MSEC);
        ASSERT_OK(truncate(big, 5 + 100 * 1024 * 1024));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 3);
        append(big, "\nend\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 5));
        ASSERT_EQ(c.recs[3].len, 16);
        ASSERT_TRUE(c.recs[3].truncated);
        ASSERT_EQ(memcmp(c.recs[3].data, "start\0\0\0\0\0\0\0\0\0\0\0", 16), 0);
        ASSERT_EQ(c.recs[3].offset, 0);
        ASSERT_EQ(c.recs[3].next_offset, 5 + 100 * 1024 * 1024 + 1);
        ASSERT_STREQ(c.recs[4].data, "end");
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.truncated_lines, 2);
        return 0;
}

TEST(binary_data) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.bin");
        static const char data[] = "a\0b\xff\xfe\n\x80\xc3(\r\n\n";
        int fd;

        fd = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, data, sizeof data - 1), (ssize_t) sizeof data - 1);
        close(fd);

        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_EQ(c.recs[0].len, 5);
        ASSERT_EQ(memcmp(c.recs[0].data, "a\0b\xff\xfe", 5), 0);
        ASSERT_EQ(c.recs[1].len, 4);
        ASSERT_EQ(memcmp(c.recs[1].data, "\x80\xc3(\r", 4), 0);
        ASSERT_EQ(c.recs[2].len, 0);
        ASSERT_EQ(c.recs[2].next_offset, sizeof data - 1);
        return 0;
}

/* The open flags of our fd for path, from /proc/self/fdinfo; -1 if none. */
static long fd_flags_of(const char *path) {
        for (int fd = 3; fd < 1024; fd++) {
                char link[64], target[4096], info[64], line[256];
                _cleanup_fclose_ FILE *f = NULL;
                ssize_t n;
                unsigned long flags;

                snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
                n = readlink(link, target, sizeof target - 1);
                if (n < 0)
                        continue;
                target[n] = '\0';
                if (strcmp(target, path) != 0)
                        continue;
                snprintf(info, sizeof info, "/proc/self/fdinfo/%d", fd);
                f = fopen(info, "re");
                while (f && fgets(line, sizeof line, f))
                        if (sscanf(line, "flags: %lo", &flags) == 1)
                                return (long) flags;
        }
        return -1;
}

TEST(only_regular_files) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir(), *other = test_tmpdir();
        _cleanup_free_ char *secret = join(other, "secret"), *fifo = join(dir, "fifo.log"),
                            *sub = join(dir, "sub.log"), *link = join(dir, "link.log"),
                            *link2 = join(dir, "link2.log"), *real = join(dir, "real.log");
        TailStats s;
        long flags;

        append(secret, "secret\n");
        ASSERT_OK(mkfifo(fifo, 0644));
        ASSERT_OK(mkdir(sub, 0755));
        ASSERT_OK(symlink(secret, link));
        append(real, "ok\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 1));
        ASSERT_OK(symlink(secret, link2));
        append(real, "ok2\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 2);
        ASSERT_EQ(count_line(&c, "secret"), 0);
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.files, 1);

        flags = fd_flags_of(real);
        ASSERT_TRUE(flags >= 0 || access("/proc/self/fdinfo", F_OK) < 0);
        if (flags >= 0) {
                ASSERT_EQ(flags & O_ACCMODE, O_RDONLY);
                ASSERT_TRUE(flags & O_CLOEXEC);
                ASSERT_TRUE(flags & O_NONBLOCK);
        }
        return 0;
}

/* At max_files, drained idle files are closed to make room and reopened from
 * where they were when they grow: every file is read, and a busy glob
 * cannot starve another watch. */
TEST(max_files) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a"), *b = join(dir, "b"),
                            *d = join(dir, "d");
        TailOptions o = { .max_files = 2 };
        TailStats s;

        append(a, "a\n");
        append(b, "b\n");
        append(d, "d\n");
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        tailer_get_stats(t, &s);
        ASSERT_TRUE(s.files <= 2);
        ASSERT_EQ(s.files + s.dormant, 3);
        ASSERT_EQ(s.waiting, 0);

        /* Each grows: read once each, from where it was. */
        append(a, "a2\n");
        append(b, "b2\n");
        append(d, "d2\n");
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 6));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 6);
        for (size_t i = 0; i < 3; i++) {
                const char *l[] = { "a", "b", "d" }, *l2[] = { "a2", "b2", "d2" };
                ASSERT_EQ(count_line(&c, l[i]), 1);
                ASSERT_EQ(count_line(&c, l2[i]), 1);
                ASSERT_EQ(c.recs[find_line(&c, l2[i])].offset, 2);
        }
        tailer_get_stats(t, &s);
        ASSERT_TRUE(s.files <= 2);
        ASSERT_TRUE(s.evictions > 0);
        ASSERT_EQ(c.closes, 0);

        /* A dormant file still gives its position. */
        for (size_t i = 0; i < c.n; i++) {
                TailPosition p;
                ASSERT_OK(tailer_position(t, c.recs[i].dev, c.recs[i].inode,
                                          c.recs[i].next_offset, &p));
        }

        /* A deleted file, dormant or not, is closed and reported once. */
        ASSERT_OK(unlink(a));
        ASSERT_TRUE(run_until(e, t, &c, files_equal, 2));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.closes, 1);
        return 0;
}

/* One glob with more files than max_files does not keep another watch's new
 * file out (the fd-starvation of issue 8, item 7). */
TEST(max_files_big_glob_does_not_starve_others) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *many = join(dir, "many"), *glob = join(many, "*.log"),
                            *other = join(dir, "other"), *n = join(other, "new.log"),
                            *f0 = join(many, "f0.log");
        TailOptions o = { .max_files = 8 };
        TailStats s;

        ASSERT_OK(mkdir(many, 0755));
        ASSERT_OK(mkdir(other, 0755));
        for (int i = 0; i < 40; i++) {
                char name[32];
                _cleanup_free_ char *p = NULL;

                snprintf(name, sizeof name, "f%d.log", i);
                p = join(many, name);
                append(p, "old\n");
        }
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "glob", glob, NULL, true));
        ASSERT_OK(tailer_add_watch(t, "other", other, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 40));

        append(n, "FAIL: other watch\n");
        ASSERT_TRUE(run_until(e, t, &c, has_line, (size_t) "FAIL: other watch"));
        append(f0, "FAIL: glob\n");
        ASSERT_TRUE(run_until(e, t, &c, has_line, (size_t) "FAIL: glob"));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 42);
        ASSERT_EQ(count_line(&c, "FAIL: other watch"), 1);
        ASSERT_EQ(count_line(&c, "FAIL: glob"), 1);
        tailer_get_stats(t, &s);
        ASSERT_TRUE(s.files <= 8);
        ASSERT_EQ(s.files + s.dormant, 41);
        ASSERT_EQ(s.waiting, 0);
        return 0;
}

/* Files closed while idle (dormant), written to and then rotated out of the
 * glob's names before the tailer looks: their last lines are still read. */
TEST(max_files_dormant_rotated_away) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *glob = join(dir, "*.log");
        TailOptions o = { .max_files = 2 };
        TailStats s;

        for (int i = 0; i < 5; i++) {
                char name[16];
                _cleanup_free_ char *p = NULL;

                snprintf(name, sizeof name, "f%d.log", i);
                p = join(dir, name);
                append(p, "first\n");
        }
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", glob, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 5));
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.dormant, 3);

        for (int i = 0; i < 5; i++) {
                char name[16], last[16];
                _cleanup_free_ char *p = NULL, *q = NULL;

                snprintf(name, sizeof name, "f%d.log", i);
                snprintf(last, sizeof last, "last %d\n", i);
                p = join(dir, name);
                append(p, last);
                q = strjoin_alloc(p, ".1");
                ASSERT_OK(rename(p, q));
        }
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 10));
        ASSERT_OK(tailer_poll(t));
        for (int i = 0; i < 5; i++) {
                char last[16];

                snprintf(last, sizeof last, "last %d", i);
                ASSERT_EQ(count_line(&c, last), 1);
        }
        ASSERT_EQ(c.n, 10);
        return 0;
}

static bool line_contains(const Ctx *c, const char *needle) {
        for (size_t i = 0; i < c->n; i++)
                if (strstr(c->recs[i].data, needle))
                        return true;
        return false;
}

/* The owner of a watched directory swaps it for a symlink to a directory it
 * cannot read: nothing there is read, now or later (issue 8, item 3); the
 * watch follows a real directory put back in its place. */
TEST(symlink_swap_not_followed) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *logs = join(dir, "logs"), *real = join(dir, "logs.real"),
                            *secret = join(dir, "secret"), *glogs = join(dir, "glogs"),
                            *greal = join(dir, "glogs.real"), *glob = join(glogs, "*.log"),
                            *a = join(logs, "a.log"), *ga = join(glogs, "a.log"),
                            *s1 = join(secret, "s.log"), *s2 = join(secret, "new.log"),
                            *ra = join(real, "a.log"), *b = join(logs, "b.log");

        ASSERT_OK(mkdir(logs, 0755));
        ASSERT_OK(mkdir(glogs, 0755));
        ASSERT_OK(mkdir(secret, 0700));
        append(a, "mine\n");
        append(ga, "mine too\n");
        append(s1, "SECRET old\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "dir", logs, NULL, true));
        ASSERT_OK(tailer_add_watch(t, "glob", glob, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 2));

        ASSERT_OK(rename(logs, real));
        ASSERT_OK(symlink(secret, logs));
        ASSERT_OK(rename(glogs, greal));
        ASSERT_OK(symlink(secret, glogs));
        run_for(e, 100 * USEC_PER_MSEC);
        append(s1, "SECRET appended\n");
        append(s2, "SECRET new file\n");
        append(ra, "late\n");      /* the old file's writer: still its owner's */
        ASSERT_TRUE(run_until(e, t, &c, has_line, (size_t) "late"));
        ASSERT_OK(tailer_poll(t));
        run_for(e, 100 * USEC_PER_MSEC);
        ASSERT_TRUE(!line_contains(&c, "SECRET"));

        /* A real directory again: followed. */
        ASSERT_OK(unlink(logs));
        ASSERT_OK(mkdir(logs, 0755));
        append(b, "back\n");
        ASSERT_TRUE(run_until(e, t, &c, has_line, (size_t) "back"));
        ASSERT_OK(tailer_poll(t));
        ASSERT_TRUE(!line_contains(&c, "SECRET"));
        return 0;
}

/* A symlink anywhere in Path= is not followed, from the start. */
TEST(symlink_in_path_not_followed) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *secret = join(dir, "secret"), *sub = join(secret, "logs"),
                            *link = join(dir, "link"), *path = join(link, "logs"),
                            *glob = join(link, "logs/*.log"), *f = join(sub, "s.log"),
                            *lfile = join(dir, "file.log"), *target = join(sub, "t.log");

        ASSERT_OK(mkdir(secret, 0700));
        ASSERT_OK(mkdir(sub, 0700));
        append(f, "SECRET\n");
        append(target, "SECRET file\n");
        ASSERT_OK(symlink(secret, link));
        ASSERT_OK(symlink(target, lfile));
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "dir", path, NULL, true));
        ASSERT_OK(tailer_add_watch(t, "glob", glob, NULL, true));
        ASSERT_OK(tailer_add_watch(t, "file", lfile, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_OK(tailer_poll(t));
        append(f, "SECRET later\n");
        run_for(e, 100 * USEC_PER_MSEC);
        ASSERT_OK(tailer_poll(t));
        ASSERT_EQ(c.n, 0);
        return 0;
}

/* Run as root: a file that neither the directory's owner nor the app's user
 * could read is skipped; what they can read is read. */
TEST(unreadable_for_owner_skipped) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *logs = join(dir, "logs"), *root = join(logs, "root.log"),
                            *pub = join(logs, "public.log"), *mine = join(logs, "mine.log"),
                            *later = join(logs, "later.log"), *logs2 = join(dir, "logs2"),
                            *root2 = join(logs2, "root.log");
        const uid_t nobody = 65534;
        TailStats s;

        if (geteuid() != 0)
                return EXIT_TEST_SKIP;
        ASSERT_OK(mkdir(logs, 0755));
        ASSERT_OK(mkdir(logs2, 0755));
        append(root, "ROOT ONLY\n");
        ASSERT_OK(chmod(root, 0600));
        append(root2, "ROOT for the app user\n");
        ASSERT_OK(chmod(root2, 0600));
        append(pub, "public\n");
        append(mine, "mine\n");
        ASSERT_OK(chmod(mine, 0600));
        ASSERT_OK(chown(mine, nobody, nobody));
        ASSERT_OK(chown(logs, nobody, nobody));
        ASSERT_OK(chown(logs2, nobody, nobody));

        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", logs, NULL, true));
        ASSERT_OK(tailer_add_watch(t, "w2", logs2, "app", true));
        /* The app runs as root: what root can read is its business. */
        ASSERT_OK(tailer_set_watch_user(t, "w2", "root"));
        ASSERT_ERROR(tailer_set_watch_user(t, "none", "root"), ENOENT);
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        append_mode(later, "ROOT later\n", 0600);
        append(later, "ROOT later 2\n");
        append(pub, "public 2\n");
        ASSERT_TRUE(run_until(e, t, &c, has_line, (size_t) "public 2"));
        ASSERT_OK(tailer_poll(t));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(count_line(&c, "public"), 1);
        ASSERT_EQ(count_line(&c, "mine"), 1);
        ASSERT_EQ(count_line(&c, "ROOT for the app user"), 1);
        ASSERT_EQ(find_line(&c, "ROOT ONLY"), -1);
        ASSERT_TRUE(!line_contains(&c, "ROOT later"));
        tailer_get_stats(t, &s);
        ASSERT_EQ(s.unreadable, 2);
        return 0;
}

TEST(backpressure) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");

        append(a, "l1\nl2\nl3\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        c.refuse_at = 1;
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 1));
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 1);
        ASSERT_TRUE(tailer_is_paused(t));

        /* The refused line comes again, once. */
        tailer_resume(t);
        ASSERT_TRUE(!tailer_is_paused(t));
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 3));
        ASSERT_STREQ(c.recs[1].data, "l2");
        ASSERT_EQ(c.recs[1].offset, 3);
        ASSERT_STREQ(c.recs[2].data, "l3");

        /* Paused from outside: events are still collected. */
        tailer_pause(t);
        append(a, "l4\n");
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 3);
        ASSERT_EQ(tailer_poll(t), 1);
        ASSERT_EQ(c.n, 3);
        tailer_resume(t);
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 4));
        ASSERT_STREQ(c.recs[3].data, "l4");

        /* A refused line in the middle of a long one (kept in the buffer). */
        c.refuse_at = 4;
        append(a, "l5-");
        run_for(e, 20 * USEC_PER_MSEC);
        append(a, "continued\nl6\n");
        run_for(e, 50 * USEC_PER_MSEC);
        ASSERT_EQ(c.n, 4);
        tailer_resume(t);
        ASSERT_TRUE(run_until(e, t, &c, lines_at_least, 6));
        ASSERT_STREQ(c.recs[4].data, "l5-continued");
        ASSERT_EQ(c.recs[4].offset, 12);
        ASSERT_STREQ(c.recs[5].data, "l6");
        return 0;
}

TEST(read_budget) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");
        TailOptions o = { .read_budget = 64 };
        size_t max_step = 0, steps = 0;
        usec_t end = now_monotonic() + WAIT_USEC;
        _cleanup_fclose_ FILE *f = fopen(a, "we");

        ASSERT_TRUE(f);
        for (int i = 0; i < 200; i++)
                fprintf(f, "line %03d\n", i);
        ASSERT_OK(fflush(f));

        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        while (c.n < 200 && now_monotonic() < end) {
                size_t before = c.n;

                ASSERT_OK(sd_event_run(e, 10 * USEC_PER_MSEC));
                if (c.n - before > max_step)
                        max_step = c.n - before;
                steps++;
        }
        ASSERT_EQ(c.n, 200);
        /* 64 bytes hold at most 8 lines of 9 bytes (one finished from before). */
        ASSERT_TRUE(max_step <= 8);
        ASSERT_TRUE(steps >= 25);
        for (int i = 0; i < 200; i++)
                ASSERT_EQ(c.recs[i].offset, (uint64_t) i * 9);
        return 0;
}

typedef struct PipeSeen {
        const Ctx *c;
        long lines_then;        /* c->n when the pipe was served; -1 = not yet */
} PipeSeen;

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PipeSeen *p = userdata;
        char b;

        if (read(fd, &b, 1) != 1)
                abort();
        p->lines_then = (long) p->c->n;
        return 0;
}

/* A slow consumer: each dispatch stops after time_budget, and whatever else
 * became ready (a control request, say) is served before reading goes on. */
TEST(time_budget) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *io = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");
        TailOptions o = { .time_budget = 5 * USEC_PER_MSEC };
        size_t max_step = 0, steps = 0;
        usec_t end = now_monotonic() + WAIT_USEC;
        _cleanup_fclose_ FILE *f = fopen(a, "we");
        int pipefd[2];
        TailStats st;

        ASSERT_TRUE(f);
        for (int i = 0; i < 200; i++)
                fprintf(f, "line %03d\n", i);
        ASSERT_OK(fflush(f));

        ASSERT_OK(setup(&o, &c, &e, &t));
        c.line_cost = USEC_PER_MSEC;
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_OK(sd_event_run(e, 10 * USEC_PER_MSEC));     /* the first batch */
        ASSERT_TRUE(c.n > 0 && c.n < 200);

        /* Ready now, while much is left to read: served at the next turn. */
        ASSERT_OK(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK));
        ASSERT_EQ(write(pipefd[1], "x", 1), 1);
        PipeSeen seen = { .c = &c, .lines_then = -1 };
        ASSERT_OK(sd_event_add_io(e, &io, pipefd[0], EPOLLIN, on_pipe, &seen));
        size_t lines_before = c.n;
        ASSERT_OK(sd_event_run(e, 10 * USEC_PER_MSEC));
        ASSERT_EQ(c.n, lines_before);           /* the pipe went first */
        ASSERT_EQ(seen.lines_then, (long) lines_before);

        while (c.n < 200 && now_monotonic() < end) {
                size_t before = c.n;

                ASSERT_OK(sd_event_run(e, 10 * USEC_PER_MSEC));
                if (c.n - before > max_step)
                        max_step = c.n - before;
                steps++;
        }
        ASSERT_EQ(c.n, 200);
        /* Each line takes at least 1 ms, so after 5 of them 5 ms are gone. */
        ASSERT_TRUE(max_step <= 5);
        ASSERT_TRUE(steps >= 39);
        /* Every line once, in order; the bytes read past the deadline are
         * not counted twice. */
        for (int i = 0; i < 200; i++)
                ASSERT_EQ(c.recs[i].offset, (uint64_t) i * 9);
        tailer_get_stats(t, &st);
        ASSERT_EQ(st.bytes, 200 * 9);
        ASSERT_EQ(st.lines, 200);
        io = sd_event_source_disable_unref(io);
        close(pipefd[0]);
        close(pipefd[1]);
        return 0;
}

TEST(poll_and_single_file) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "app.log"),
                            *a1 = join(dir, "app.log.1"), *other = join(dir, "other.log");
        TailOptions o = { .rotate_wait = 1 };

        append(a, "one\n");
        append(other, "no\n");
        ASSERT_OK(setup(&o, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", a, NULL, true));
        ASSERT_EQ(tailer_poll(t), 0);  /* not started: nothing */
        ASSERT_OK(tailer_start(t));
        ASSERT_EQ(tailer_poll(t), 0);
        ASSERT_EQ(c.n, 1);
        ASSERT_STREQ(c.recs[0].data, "one");

        /* A file given by name follows that name across rotation. */
        ASSERT_OK(rename(a, a1));
        append(a, "two\n");
        ASSERT_EQ(tailer_poll(t), 0);
        ASSERT_EQ(c.n, 2);
        ASSERT_STREQ(c.recs[1].data, "two");
        ASSERT_EQ(count_line(&c, "no"), 0);
        return 0;
}

TEST(invalid_arguments) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        Tailer *t2 = NULL;

        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_ERROR(tailer_new(e, NULL, NULL, NULL, NULL, NULL, &t2), EINVAL);
        ASSERT_ERROR(tailer_add_watch(t, "w", "relative/dir", NULL, true), EINVAL);
        ASSERT_ERROR(tailer_add_watch(t, "w", "/var/*/log/x.log", NULL, true), EINVAL);
        ASSERT_ERROR(tailer_add_watch(t, "", "/var/log", NULL, true), EINVAL);
        ASSERT_OK(tailer_add_watch(t, "w", "/nonexistent/appwatch-test/", NULL, true));
        ASSERT_ERROR(tailer_add_watch(t, "w", "/var/log", NULL, true), EEXIST);
        ASSERT_OK(tailer_start(t));
        ASSERT_ERROR(tailer_start(t), EALREADY);
        ASSERT_ERROR(tailer_position(t, 1, 2, 0, &(TailPosition) {}), ENOENT);
        ASSERT_TRUE(tailer_free(NULL) == NULL);
        return 0;
}

static void count_destroy(void *userdata) {
        (*(unsigned *) userdata)++;
}

TEST(destroy_userdata) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Tailer *t = NULL;
        unsigned destroyed = 0, close_destroyed = 0;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(tailer_new(e, NULL, on_line, NULL, &destroyed, count_destroy, &t));
        ASSERT_EQ(destroyed, 0);
        ASSERT_ERROR(tailer_set_close_callback(NULL, on_close, NULL, NULL), EINVAL);
        ASSERT_OK(tailer_set_close_callback(t, on_close, &close_destroyed, count_destroy));
        /* Replaced: the old userdata is destroyed. */
        ASSERT_OK(tailer_set_close_callback(t, on_close, &close_destroyed, count_destroy));
        ASSERT_EQ(close_destroyed, 1);
        tailer_free(t);
        ASSERT_EQ(destroyed, 1);
        ASSERT_EQ(close_destroyed, 2);
        return 0;
}

TEST(free_does_not_report_closes) {
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Tailer *t = NULL;
        const char *dir = test_tmpdir();
        _cleanup_free_ char *a = join(dir, "a.log");

        append(a, "x\n");
        ASSERT_OK(setup(NULL, &c, &e, &t));
        ASSERT_OK(tailer_add_watch(t, "w", dir, NULL, true));
        ASSERT_OK(tailer_start(t));
        ASSERT_EQ(tailer_poll(t), 0);
        ASSERT_EQ(c.n, 1);
        tailer_free(t);
        ASSERT_EQ(c.closes, 0);
        return 0;
}

/* The tailer refuses exactly the paths --check-config does (shared/parse.h). */
TEST(add_watch_agrees_with_watch_path_validate) {
        static const char *const paths[] = {
                "/var/log/app", "/var/log/app/", "/var/log/*.log", "/var/log/app-[0-9].log",
                "/", "/*", "/tmp/*//", "/tmp/*/logs/*.log", "/tmp/?/x", "/tmp/[ab]/x.log",
                "relative/dir", "logs/*.log", "",
                "/var/log/../../root", "/var/./log", "/var/log/..", "/var/log/./*.log",
                "/var/log/..x", "/var/log/.app/",
        };
        _cleanup_(ctx_done) Ctx c = {};
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(tailer_freep) Tailer *t = NULL;
        unsigned refused = 0;

        ASSERT_OK(setup(NULL, &c, &e, &t));
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
                char name[16];
                int r, v;

                snprintf(name, sizeof name, "w%zu", i);
                r = tailer_add_watch(t, name, paths[i], NULL, true);
                v = watch_path_validate(paths[i], NULL);
                if ((r == -EINVAL) != (v < 0))
                        TEST_FAIL("'%s': tailer_add_watch() = %d, watch_path_validate() = %d",
                                  paths[i], r, v);
                refused += v < 0;
        }
        ASSERT_EQ(refused, 10);
        return 0;
}
