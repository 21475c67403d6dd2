/* SPDX-License-Identifier: MIT */
/*
 * The file tailer (see include/ingest/tail.h for the contract).
 *
 * One inotify instance watches directories, never files: a watch's
 * directory gets IN_MODIFY for appends and the namespace events (create,
 * move, delete) for rotation. Namespace events do not patch state event by
 * event; they make the watch "reconcile": list the directory, match names,
 * and compare inodes with the open files. A tracked inode found under a new
 * name was renamed (it keeps its offset); a tracked file not found under any
 * matching name was rotated away or deleted and is retired; an unknown
 * inode is a new file. Startup and IN_Q_OVERFLOW rescans are the same
 * reconcile, so there is one code path for "what is in the directory".
 *
 * Directories are opened without following symlinks (open_nofollow()),
 * watched through their fd, listed and their files opened from a fresh fd
 * whose dev and inode are checked against the watched one at every
 * reconcile; a file is opened only if the directory's owner or the app's
 * user could read it (TailReader). Open files are capped at max_files: an
 * idle, drained file can be closed to make room ("dormant": fd < 0, its
 * position and marker kept) and is reopened by name from the directory fd
 * when IN_MODIFY names it, after checking it is still the same inode.
 *
 * Reading happens only in a defer source, at most read_budget bytes and
 * time_budget of delivering lines (the callback can be slow on some lines: a
 * rule that backtracks) per loop iteration: retired files first (so an old
 * file's last lines come before its replacement's), then the others
 * round-robin. Each file keeps the offset of the start of its current line
 * and the bytes of that line read so far (at most max_line of them); a line
 * is consumed only when the callback accepts it, so a refused line is read
 * again on resume.
 *
 * Threading: loop thread only.
 */

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ingest/tail.h"
#include "shared/log.h"

#define TAIL_DEFAULT_MAX_LINE (64U * 1024U)
#define TAIL_DEFAULT_MAX_FILES 1024U
#define TAIL_DEFAULT_READ_BUDGET (1024U * 1024U)
#define TAIL_DEFAULT_TIME_BUDGET (50 * USEC_PER_MSEC)
#define TAIL_DEFAULT_ROTATE_WAIT (5 * USEC_PER_SEC)
#define TAIL_CHUNK (64U * 1024U)
/* A line buffer bigger than this is given back once its line is consumed. */
#define TAIL_KEEP_BUF (16U * 1024U)
#define TAIL_WARN_INTERVAL USEC_PER_MINUTE
/* Descriptors left to the rest of the daemon below RLIMIT_NOFILE. */
#define TAIL_DEFAULT_FD_RESERVE 256U
/* Files that could not be opened for the descriptor limit are tried again after this. */
#define TAIL_RETRY_INTERVAL USEC_PER_SEC

/* A watched directory reports appends and every change of its names. */
#define MASK_ACTIVE                                                                  \
        (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE |      \
         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK | IN_MASK_ADD)
/* An ancestor waited on only needs to say that something appeared in it. */
#define MASK_WAITING \
        (IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_MASK_ADD)

#define MIN(a, b) ((a) < (b) ? (a) : (b))

typedef enum WatchState {
        WATCH_NEW,      /* not set up, or failed: retried on the next rescan */
        WATCH_WAITING,  /* directory missing; wd is on its nearest existing ancestor */
        WATCH_ACTIVE,   /* wd is on the directory */
} WatchState;

/* Someone on whose behalf a watch reads: may they read a file? */
typedef struct TailReader {
        bool valid;
        uid_t uid;
        gid_t *gids;            /* primary and supplementary groups */
        int n_gids;
} TailReader;

typedef struct TailWatch {
        char *name, *app;
        char *user;             /* the app's User=, NULL if none */
        char *dir;              /* the directory holding the files */
        char *pattern;          /* fnmatch() pattern of their names; NULL = every name */
        bool literal;           /* pattern is one exact name */
        bool from_head;
        bool initial_done;      /* files found from now on appeared later: read from 0 */
        bool skipped;           /* the last reconcile left files out (max_files) */
        size_t n_skipped;       /* files left out by the last reconcile */
        size_t n_unreadable;    /* files it did not open: none of our readers may read them */
        WatchState state;
        int wd;
        int dir_fd;             /* the directory watched (ACTIVE), opened without symlinks */
        uint64_t dir_dev, dir_ino;
        TailReader owner;       /* the directory's owner */
        TailReader app_user;    /* the app's user */
        usec_t last_link_warning;
        bool need_setup, need_reset, need_reconcile;
        bool retry_setup;       /* setup failed for want of a descriptor */
} TailWatch;

typedef struct TailFile {
        Tailer *tailer;
        TailWatch *watch;
        char *name;             /* within watch->dir, when last seen */
        char *path;
        int fd;
        uint64_t dev, inode;
        uint64_t pos;           /* offset of the first byte of the current line */
        uint64_t line_len;      /* bytes of the current line read so far */
        char *buf;              /* the first buf_len (<= max_line) of them */
        size_t buf_len, buf_size;
        bool discard;           /* skipping up to the next '\n' (a line begun before pos) */
        bool pending;           /* may have unread data */
        bool retired;           /* left its watch: drain, then close once expired */
        bool expired;           /* rotate_wait is over */
        bool dormant;           /* closed while idle to make room (fd < 0); reopened by
                                 * name when it grows */
        char marker[17];        /* of pos, while dormant */
        bool want_open;         /* dormant, grew, and found no descriptor: retried */
        uint64_t last_used;     /* tailer->use_clock when last opened or read */
        unsigned scan_gen;
        sd_event_source *timer;
} TailFile;

struct Tailer {
        sd_event *event;
        TailOptions opts;
        TailLineFunc on_line;
        TailLookupFunc lookup;
        void *userdata;
        TailDestroyFunc destroy;
        TailCloseFunc on_close;
        void *close_userdata;
        TailDestroyFunc close_destroy;

        int inotify_fd;
        sd_event_source *inotify_source;
        sd_event_source *defer_source;

        TailWatch **watches;
        size_t n_watches;
        TailFile **files;
        size_t n_files;
        size_t n_open;          /* files with an fd (not dormant) */
        uint64_t use_clock;
        sd_event_source *retry_timer;
        bool want_retry;        /* something waits for a descriptor */
        size_t rr;              /* where the next round-robin pass starts */

        char *chunk;            /* TAIL_CHUNK bytes */
        bool started, paused, need_rescan;
        bool closed_some;       /* a file was closed or went idle: room for skipped ones */
        usec_t deadline;        /* CLOCK_MONOTONIC end of this dispatch's time budget */
        unsigned scan_gen;
        usec_t last_files_warning;
        usec_t last_read_warning;
        TailStats stats;
};

/* Outcomes of reading one file. */
enum {
        READ_EOF = 0,   /* everything readable was consumed */
        READ_BUDGET,    /* the budget ran out first */
        READ_STOPPED,   /* the tailer is paused (the callback refused a line, or paused) */
        READ_CLOSED,    /* the file was retired, drained and closed (it is freed) */
};

/* FNV-1a, 64 bit: fast, stable across versions and architectures, and good
 * enough to notice that different bytes now sit before a saved offset. */
void tail_marker(const void *data, size_t len, char ret[static 17]) {
        const unsigned char *p = data;
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        (void) snprintf(ret, 17, "%016" PRIx64, h);
}

/* Reads exactly len bytes at off; -ESTALE if the file is shorter now. */
static int pread_full(int fd, void *buf, size_t len, uint64_t off) {
        size_t done = 0;

        while (done < len) {
                ssize_t n = pread(fd, (char *) buf + done, len - done, (off_t) (off + done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -ESTALE;
                done += (size_t) n;
        }
        return 0;
}

/* The marker of the <= TAIL_MARKER_WINDOW bytes before offset in fd. */
static int fd_marker(int fd, uint64_t offset, char ret[static 17]) {
        char buf[TAIL_MARKER_WINDOW];
        size_t len = (size_t) MIN(offset, (uint64_t) sizeof buf);
        int r;

        if (offset == 0) {
                ret[0] = '\0';
                return 0;
        }
        r = pread_full(fd, buf, len, offset - len);
        if (r < 0)
                return r;
        tail_marker(buf, len, ret);
        return 0;
}

static bool watch_matches(const TailWatch *w, const char *name) {
        if (!w->pattern)
                return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
        if (w->literal)
                return strcmp(w->pattern, name) == 0;
        return fnmatch(w->pattern, name, FNM_PERIOD) == 0;
}

/*
 * Names logrotate and friends give rotated copies: "app.log.1", "app.log.2.gz",
 * "app.log-20261126", "app.log.old". In a directory watch such a file that
 * we do not already follow is a copy of lines already read (copytruncate,
 * compression), so it is not opened; a file we follow keeps being followed
 * when it is renamed to one (rotation by rename is drained to its end).
 */
static bool is_rotated_name(const char *name) {
        static const char *const suffixes[] = { ".gz", ".xz", ".bz2", ".zst", ".lz4", ".zip",
                                                ".old", ".bak", "~" };
        size_t n = strlen(name), d = 0;

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);
                if (n > l && strcmp(name + n - l, suffixes[i]) == 0)
                        return true;
        }
        while (d < n && isdigit((unsigned char) name[n - 1 - d]))
                d++;
        /* ".1", ".12" after a name, or a date stamp "-20261126" / "-2026112609" */
        if (d > 0 && d < n && name[n - 1 - d] == '.' && d <= 3)
                return true;
        return d >= 8 && d < n && name[n - 1 - d] == '-';
}

static char *path_join(const char *dir, const char *name) {
        char *p;

        if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0)
                return NULL;
        return p;
}

/*
 * Opens the absolute path without following a symlink in any component
 * (watch_path_validate() has refused "." and ".."), so that whoever owns a
 * directory on the way cannot point the rest of the path elsewhere. flags
 * apply to the last component (O_NOFOLLOW and O_CLOEXEC are added); the
 * others are opened O_PATH|O_DIRECTORY. openat2(RESOLVE_NO_SYMLINKS) does
 * it in one call where the kernel has it (5.6); the walk with openat() is
 * the fallback. A symlink gives -ELOOP.
 */
static int open_nofollow(const char *path, int flags) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *copy = NULL;
        struct open_how how = {
                .flags = (uint64_t) (flags | O_NOFOLLOW | O_CLOEXEC),
                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        char *p, *next;

        if (path[0] != '/')
                return -EINVAL;
#ifdef SYS_openat2
        fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
        if (fd >= 0)
                return TAKE_FD(fd);
        /* ENOSYS: an old kernel; EPERM: a seccomp filter that does not know it.
         * ENOTDIR may be a symlink where a directory should be: the walk says. */
        if (errno != ENOSYS && errno != EPERM && errno != E2BIG && errno != ENOTDIR)
                return -errno;
#else
        (void) how;
#endif
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (p = copy; *p == '/'; p++)
                ;
        if (*p == '\0')
                return flags & O_PATH ? TAKE_FD(fd) : open("/", flags | O_CLOEXEC);
        for (; p; p = next) {
                struct stat st;
                int nfd;

                next = strchr(p, '/');
                if (next) {
                        *next++ = '\0';
                        while (*next == '/')
                                next++;
                        if (*next == '\0')
                                next = NULL;
                }
                nfd = openat(fd, p, next ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                                         : flags | O_NOFOLLOW | O_CLOEXEC);
                if (nfd < 0) {
                        int error = -errno;

                        /* O_PATH|O_DIRECTORY on a symlink says ENOTDIR: say what it is. */
                        if (fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode))
                                return -ELOOP;
                        return error;
                }
                safe_close(fd);
                fd = nfd;
        }
        return TAKE_FD(fd);
}

static void reader_done(TailReader *r) {
        free(r->gids);
        *r = (TailReader) {};
}

/* Fills r for uid (name NULL) or for the user name. An unknown user gives an
 * invalid reader (it can read nothing), a uid without a passwd entry one
 * without groups. */
static int reader_resolve(TailReader *r, const char *name, uid_t uid) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        gid_t *gids;
        int n = 32, e;

        reader_done(r);
        if (name)
                e = getpwnam_r(name, &pw, buf, sizeof buf, &res);
        else
                e = getpwuid_r(uid, &pw, buf, sizeof buf, &res);
        if (!res) {
                if (name)
                        return e > 0 ? -e : -ESRCH;
                *r = (TailReader) { .valid = true, .uid = uid };
                return 0;
        }
        for (;;) {
                int got = n;

                gids = calloc((size_t) n, sizeof *gids);
                if (!gids)
                        return -ENOMEM;
                if (getgrouplist(pw.pw_name, pw.pw_gid, gids, &got) >= 0) {
                        n = got;
                        break;
                }
                free(gids);
                if (got <= n || n > 65536)
                        return -EINVAL;
                n = got;
        }
        *r = (TailReader) { .valid = true, .uid = pw.pw_uid, .gids = gids, .n_gids = n };
        return 0;
}

/* Could r open st for reading, by its mode bits (ACLs are not consulted, so
 * a file readable only through an ACL counts as unreadable)? */
static bool reader_can_read(const TailReader *r, const struct stat *st) {
        if (!r->valid)
                return false;
        if (r->uid == 0)
                return true;
        if (st->st_uid == r->uid)
                return st->st_mode & S_IRUSR;
        for (int i = 0; i < r->n_gids; i++)
                if (r->gids[i] == st->st_gid)
                        return st->st_mode & S_IRGRP;
        return st->st_mode & S_IROTH;
}

static bool ratelimit(usec_t *last) {
        usec_t now = now_monotonic();

        if (*last != 0 && now < *last + TAIL_WARN_INTERVAL)
                return false;
        *last = now;
        return true;
}

static TailFile *find_file(Tailer *t, uint64_t dev, uint64_t inode) {
        for (size_t i = 0; i < t->n_files; i++)
                if (t->files[i]->dev == dev && t->files[i]->inode == inode)
                        return t->files[i];
        return NULL;
}

/* A live (not retired) file of w by its name. */
static TailFile *find_file_by_name(Tailer *t, const TailWatch *w, const char *name) {
        for (size_t i = 0; i < t->n_files; i++) {
                TailFile *f = t->files[i];
                if (f->watch == w && !f->retired && strcmp(f->name, name) == 0)
                        return f;
        }
        return NULL;
}

static TailFile *file_free(TailFile *f) {
        if (!f)
                return NULL;
        sd_event_source_disable_unref(f->timer);
        safe_close(f->fd);
        free(f->buf);
        free(f->path);
        free(f->name);
        return mfree(f);
}
DEFINE_CLEANUP(TailFile, file_free)

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* Removes f from the tailer, frees it and tells the owner. */
static void file_close(Tailer *t, TailFile *f) {
        uint64_t dev = f->dev, inode = f->inode;

        for (size_t i = 0; i < t->n_files; i++) {
                if (t->files[i] != f)
                        continue;
                memmove(t->files + i, t->files + i + 1, (t->n_files - i - 1) * sizeof *t->files);
                t->n_files--;
                if (t->rr > i)
                        t->rr--;
                break;
        }
        log_debug("Watch '%s': closed '%s' at offset %" PRIu64 ".", f->watch->name, f->path,
                  f->pos);
        if (f->fd >= 0)
                t->n_open--;
        file_free(f);
        t->closed_some = true;
        /* Last, so that the callback sees the tailer without the file. */
        if (t->on_close)
                t->on_close(t, dev, inode, t->close_userdata);
}

static void file_reset(TailFile *f) {
        f->pos = 0;
        f->line_len = 0;
        f->buf_len = 0;
        f->discard = false;
}

/*
 * Where a file with no saved position is read from when the watch starts
 * from the tail: the start of its last line, so a line being written is not
 * cut; if that is more than a marker window back, the end, skipping up to the
 * next '\n'.
 */
static void file_seek_last_line(TailFile *f, uint64_t size) {
        char buf[TAIL_MARKER_WINDOW];
        size_t len = (size_t) MIN(size, (uint64_t) sizeof buf);
        const char *nl;

        f->pos = size;
        if (size == 0)
                return;
        if (pread_full(f->fd, buf, len, size - len) < 0)
                return;
        if (buf[len - 1] == '\n')
                return;
        nl = memrchr(buf, '\n', len);
        if (nl)
                f->pos = size - len + (uint64_t) (nl - buf) + 1;
        else if (len == size)
                f->pos = 0;
        else
                f->discard = true;
}

/* Decides where a newly opened file starts: its saved position if still valid,
 * else the head or the last line. */
static void file_seek_start(Tailer *t, TailFile *f, uint64_t size, bool initial) {
        TailPosition saved = {};
        int r = 0;

        if (t->lookup) {
                r = t->lookup(t, f->dev, f->inode, &saved, t->userdata);
                if (r < 0)
                        log_debug_errno(r, "Watch '%s': looking up the position of '%s' failed, "
                                        "ignoring: %m", f->watch->name, f->path);
        }
        if (r > 0 && saved.dev == f->dev && saved.inode == f->inode) {
                char marker[17];

                saved.marker[sizeof saved.marker - 1] = '\0';
                if (saved.offset <= size && fd_marker(f->fd, saved.offset, marker) >= 0 &&
                    strcmp(marker, saved.marker) == 0) {
                        f->pos = saved.offset;
                        log_debug("Watch '%s': resuming '%s' at offset %" PRIu64 ".",
                                  f->watch->name, f->path, f->pos);
                        return;
                }
                t->stats.truncations++;
                log_debug("Watch '%s': saved position %" PRIu64 " of '%s' no longer matches "
                          "(size %" PRIu64 "), reading it from the start.",
                          f->watch->name, saved.offset, f->path, size);
                return;
        }
        if (initial && !f->watch->from_head)
                file_seek_last_line(f, size);
}

static void warn_unreadable(Tailer *t, const TailWatch *w, const char *path,
                            const struct stat *st) {
        if (!ratelimit(&t->last_read_warning))
                return;
        if (w->user)
                log_warning("Watch '%s': '%s' (owner %u, mode %04o) is readable by neither the "
                            "directory's owner (uid %u) nor the app's user '%s', not reading it.",
                            w->name, path, (unsigned) st->st_uid, (unsigned) (st->st_mode & 07777),
                            (unsigned) w->owner.uid, w->user);
        else
                log_warning("Watch '%s': '%s' (owner %u, mode %04o) is not readable by the "
                            "directory's owner (uid %u), not reading it.",
                            w->name, path, (unsigned) st->st_uid, (unsigned) (st->st_mode & 07777),
                            (unsigned) w->owner.uid);
}

/*
 * The files of a directory are read on behalf of its owner (who decides
 * what is in it) and of the app's user: a file neither of them could read
 * (a root-only file hard-linked or moved in, say) is none of their
 * business, and reading it as root would leak it into incidents.
 */
static bool watch_may_read(const TailWatch *w, const struct stat *st) {
        return reader_can_read(&w->owner, st) || reader_can_read(&w->app_user, st);
}

static void tailer_want_retry(Tailer *t);

/* Opens name in dir_fd for f's watch: -EACCES (warned) when its readers may
 * not read it, -EBADFD when it is not a regular file. */
static int file_open_fd(Tailer *t, TailWatch *w, int dir_fd, const char *name, const char *path,
                        struct stat *ret_st) {
        _cleanup_close_ int fd = -EBADF;

        /* O_NOFOLLOW: a symlink planted in a log directory must not make us
         * read (and ship off) some other file. O_NONBLOCK: a FIFO swapped in
         * after the stat cannot block the loop. */
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                        t->stats.open_errors++;
                        tailer_want_retry(t);
                }
                return log_debug_errno(-errno, "Watch '%s': cannot open '%s', ignoring: %m",
                                       w->name, path);
        }
        if (fstat(fd, ret_st) < 0)
                return log_debug_errno(-errno, "Watch '%s': cannot stat '%s', ignoring: %m",
                                       w->name, path);
        if (!S_ISREG(ret_st->st_mode))
                return log_debug_errno(-EBADFD, "Watch '%s': '%s' is not a regular file, ignoring.",
                                       w->name, path);
        if (!watch_may_read(w, ret_st)) {
                warn_unreadable(t, w, path, ret_st);
                return -EACCES;
        }
        return TAKE_FD(fd);
}

/*
 * Closes the least recently used open file that is drained and idle: it
 * becomes dormant and is reopened when it grows. Returns 0, or -EMFILE when
 * every open file is busy.
 */
static int tailer_evict_idle(Tailer *t) {
        TailFile *victim = NULL;

        for (size_t i = 0; i < t->n_files; i++) {
                TailFile *f = t->files[i];

                if (f->fd < 0 || f->pending || f->retired)
                        continue;
                /* Rather not one with a line begun: it is read again on reopen, and
                 * lost if the file is deleted meanwhile. */
                if (!victim || (victim->line_len > 0 && f->line_len == 0) ||
                    ((victim->line_len > 0) == (f->line_len > 0) &&
                     f->last_used < victim->last_used))
                        victim = f;
        }
        if (!victim)
                return -EMFILE;
        /* tailer_position() may still be asked for the current position. */
        if (fd_marker(victim->fd, victim->pos, victim->marker) < 0)
                return -EMFILE; /* cannot tell later where it was: keep it */
        victim->fd = safe_close(victim->fd);
        victim->dormant = true;
        victim->line_len = 0;   /* the line is read again from pos */
        victim->buf_len = 0;
        victim->buf = mfree(victim->buf);
        victim->buf_size = 0;
        t->n_open--;
        t->stats.evictions++;
        log_debug("Watch '%s': closed idle '%s' at offset %" PRIu64 " to make room.",
                  victim->watch->name, victim->path, victim->pos);
        return 0;
}

/* Makes room for one more open file under max_files. Returns 0 or -EMFILE. */
static int tailer_make_room(Tailer *t) {
        if (t->n_open < t->opts.max_files)
                return 0;
        return tailer_evict_idle(t);
}

/* file_open_fd(), and once more after closing an idle file of ours if the
 * process is out of descriptors. */
static int file_open_fd_room(Tailer *t, TailWatch *w, int dir_fd, const char *name,
                             const char *path, struct stat *ret_st) {
        int fd = file_open_fd(t, w, dir_fd, name, path, ret_st);

        if ((fd == -EMFILE || fd == -ENFILE) && tailer_evict_idle(t) >= 0)
                fd = file_open_fd(t, w, dir_fd, name, path, ret_st);
        return fd;
}

/* Opens a dormant file again by its name, if that is still the same file.
 * Returns 0, -EMFILE (no room: retried later) or another -errno (the name
 * is now another file or none: the watch reconciles). */
static int file_reopen(Tailer *t, TailFile *f) {
        TailWatch *w = f->watch;
        struct stat st;
        int fd, r;

        if (w->dir_fd < 0)
                return -ENOENT;
        r = tailer_make_room(t);
        if (r < 0)
                return r;
        fd = file_open_fd_room(t, w, w->dir_fd, f->name, f->path, &st);
        if (fd == -EMFILE || fd == -ENFILE)
                return -EMFILE;
        if (fd < 0 || (uint64_t) st.st_dev != f->dev || (uint64_t) st.st_ino != f->inode) {
                if (fd >= 0)
                        safe_close(fd);
                w->need_reconcile = true;
                return -ENOENT;
        }
        f->fd = fd;
        f->dormant = false;
        f->want_open = false;
        f->last_used = ++t->use_clock;
        t->n_open++;
        log_debug("Watch '%s': reopened '%s' at offset %" PRIu64 ".", w->name, f->path, f->pos);
        return 0;
}

/* Opens name (an entry of w's directory, dir_fd) and starts following it. */
static int file_open(Tailer *t, TailWatch *w, int dir_fd, const char *name, bool initial) {
        _cleanup_(file_freep) TailFile *f = NULL;
        TailFile **files;
        struct stat st;
        int r;

        f = calloc(1, sizeof *f);
        if (!f)
                return log_oom();
        *f = (TailFile) {
                .tailer = t,
                .watch = w,
                .fd = -EBADF,
        };
        f->name = strdup(name);
        f->path = path_join(w->dir, name);
        if (!f->name || !f->path)
                return log_oom();

        r = tailer_make_room(t);
        if (r < 0)
                return r;
        f->fd = file_open_fd_room(t, w, dir_fd, name, f->path, &st);
        if (f->fd < 0)
                return f->fd;
        f->dev = (uint64_t) st.st_dev;
        f->inode = (uint64_t) st.st_ino;
        if (find_file(t, f->dev, f->inode))
                return 0; /* raced with a rename: already followed */

        files = reallocarray(t->files, t->n_files + 1, sizeof *files);
        if (!files)
                return log_oom();
        t->files = files;

        file_seek_start(t, f, (uint64_t) st.st_size, initial);
        /* Started at its end: idle (its appends come with IN_MODIFY), so it can
         * make room at max_files for the files after it. */
        f->pending = f->pos < (uint64_t) st.st_size || f->discard;
        f->scan_gen = t->scan_gen;
        f->last_used = ++t->use_clock;
        t->n_open++;
        log_debug("Watch '%s': following '%s' (inode %" PRIu64 ") from offset %" PRIu64 ".",
                  w->name, f->path, f->inode, f->pos);
        t->files[t->n_files++] = TAKE_PTR(f);
        return 0;
}

static int on_rotate_wait(sd_event_source *s, uint64_t usec, void *userdata) {
        TailFile *f = userdata;

        f->timer = sd_event_source_disable_unref(f->timer);
        f->expired = true;
        f->pending = true;
        if (!f->tailer->paused)
                (void) sd_event_source_set_enabled(f->tailer->defer_source, SD_EVENT_ONESHOT);
        return 0;
}

/* f left its watch (renamed away, deleted, or its directory went): drain it
 * now, keep it open for rotate_wait, then drain it again and close it. */
static void file_retire(Tailer *t, TailFile *f) {
        int r;

        if (f->retired)
                return;
        f->retired = true;
        f->pending = true;
        t->stats.rotations++;
        log_debug("Watch '%s': '%s' was rotated or deleted, draining it.", f->watch->name,
                  f->path);
        r = sd_event_add_time_relative(t->event, &f->timer, CLOCK_MONOTONIC,
                                       t->opts.rotate_wait, USEC_PER_MSEC, on_rotate_wait, f);
        if (r < 0) {
                log_debug_errno(r, "Failed to add a rotation timer, closing '%s' once drained: %m",
                                f->path);
                f->expired = true;
                return;
        }
        (void) sd_event_source_set_description(f->timer, "tail-rotate-wait");
}

/* A retired file that shows up again under a matching name (renamed back). */
static void file_unretire(TailFile *f) {
        f->timer = sd_event_source_disable_unref(f->timer);
        f->retired = false;
        f->expired = false;
}

static int file_rename(TailFile *f, const char *name) {
        char *n, *p;

        n = strdup(name);
        p = path_join(f->watch->dir, name);
        if (!n || !p) {
                free(n);
                free(p);
                return log_oom();
        }
        log_debug("Watch '%s': '%s' was renamed to '%s'.", f->watch->name, f->path, p);
        free(f->name);
        free(f->path);
        f->name = n;
        f->path = p;
        return 0;
}

static void warn_too_many_files(Tailer *t, const TailWatch *w, size_t skipped) {
        if (!ratelimit(&t->last_files_warning))
                return;
        log_warning("Watch '%s': %zu more file(s) in '%s' cannot be opened now (%zu open, "
                    "limit %zu, all busy, or out of descriptors); following them as soon as "
                    "there is room.", w->name, skipped, w->dir, t->n_open, t->opts.max_files);
}

/*
 * Opens w's directory again, without symlinks, and checks that it is still
 * the one watched: if its owner replaced it (or a directory above it) with
 * a symlink or another directory, the watch starts over on what the path is
 * now, and nothing is read from the new place before that. Returns the fd,
 * or -ESTALE (reset requested) or -errno.
 */
static int watch_open_dir(Tailer *t, TailWatch *w) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open_nofollow(w->dir, O_RDONLY | O_DIRECTORY);
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM) {
                /* Nothing changed: try again, without starting over. */
                t->stats.open_errors++;
                w->need_reconcile = true;
                tailer_want_retry(t);
                return log_debug_errno(fd, "Watch '%s': cannot open '%s' now, retrying: %m",
                                       w->name, w->dir);
        }
        if (fd < 0 || fstat(fd, &st) < 0 || (uint64_t) st.st_dev != w->dir_dev ||
            (uint64_t) st.st_ino != w->dir_ino) {
                log_debug("Watch '%s': '%s' is no longer the directory watched, starting over.",
                          w->name, w->dir);
                w->need_reset = true;
                return -ESTALE;
        }
        return TAKE_FD(fd);
}

/*
 * A dormant file of w renamed to a name w does not match (app.log to
 * app.log.1 under a glob of *.log) is about to be retired: reopen it under
 * that name first, so that what was written to it since it was closed is
 * still read (an open file is drained from its fd). Returns whether name
 * was one.
 */
static bool watch_find_dormant(Tailer *t, TailWatch *w, int dir_fd, const char *name) {
        struct stat st;
        TailFile *f;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                return false;
        f = find_file(t, (uint64_t) st.st_dev, (uint64_t) st.st_ino);
        if (!f || f->watch != w || f->fd >= 0 || f->retired)
                return false;
        if (file_rename(f, name) >= 0)
                (void) file_reopen(t, f);
        return true;
}

/*
 * Brings w's files in line with its directory: follows new files, notes
 * renames, retires the files that left. initial: files without a saved
 * position start as from_head says; otherwise they appeared later and are
 * read from 0.
 */
static int watch_reconcile(Tailer *t, TailWatch *w) {
        _cleanup_(closedirp) DIR *d = NULL;
        bool initial = !w->initial_done;
        size_t skipped = 0, unreadable = 0, n_dormant = 0;
        unsigned gen;
        struct dirent *de;
        int fd, r;

        w->need_reconcile = false;
        fd = watch_open_dir(t, w);
        if (fd < 0)
                return 0; /* reset: gone, moved or replaced under us */
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                safe_close(fd);
                return log_warning_errno(r, "Watch '%s': cannot list '%s', ignoring: %m",
                                         w->name, w->dir);
        }

        for (size_t i = 0; i < t->n_files; i++)
                if (t->files[i]->watch == w && t->files[i]->fd < 0 && !t->files[i]->retired)
                        n_dormant++;
        gen = ++t->scan_gen;
        while ((errno = 0, de = readdir(d))) {
                struct stat st;
                TailFile *f;

                if (!watch_matches(w, de->d_name)) {
                        if (n_dormant > 0 && watch_find_dormant(t, w, dirfd(d), de->d_name))
                                n_dormant--;
                        continue;
                }
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;

                f = find_file(t, (uint64_t) st.st_dev, (uint64_t) st.st_ino);
                if (f) {
                        if (f->watch != w)
                                continue; /* another watch follows it */
                        f->scan_gen = gen;
                        /* Its appends come with IN_MODIFY; a file renamed, or back
                         * from retirement, is read now. Not every file: that would
                         * keep them all busy, and none could make room for a new
                         * one at max_files. */
                        if (f->retired) {
                                file_unretire(f);
                                f->pending = true;
                        }
                        if (strcmp(f->name, de->d_name) != 0) {
                                (void) file_rename(f, de->d_name);
                                f->pending = true;
                        }
                        continue;
                }
                if (!w->pattern && is_rotated_name(de->d_name))
                        continue;
                r = file_open(t, w, dirfd(d), de->d_name, initial);
                if (r == -EMFILE || r == -ENFILE)
                        skipped++;
                else if (r == -EACCES)
                        unreadable++;
        }
        if (errno != 0)
                log_warning_errno(-errno, "Watch '%s': reading '%s' failed, ignoring: %m",
                                  w->name, w->dir);
        w->skipped = skipped > 0;
        w->n_skipped = skipped;
        w->n_unreadable = unreadable;
        if (skipped > 0) {
                warn_too_many_files(t, w, skipped);
                tailer_want_retry(t);
        }

        /* A file not met under a matching name lost it: rotated away or deleted. */
        for (size_t i = 0; i < t->n_files; i++) {
                TailFile *f = t->files[i];
                if (f->watch == w && !f->retired && f->scan_gen != gen)
                        file_retire(t, f);
        }
        return 0;
}

/* Drops our use of wd, removing it from inotify when no watch shares it. */
static void tailer_release_wd(Tailer *t, int wd) {
        if (wd < 0)
                return;
        for (size_t i = 0; i < t->n_watches; i++)
                if (t->watches[i]->wd == wd)
                        return;
        (void) inotify_rm_watch(t->inotify_fd, wd);
}

static void watch_set_wd(Tailer *t, TailWatch *w, int wd) {
        int old = w->wd;

        w->wd = wd;
        if (old != wd)
                tailer_release_wd(t, old);
}

/* The first component of w->dir below its ancestor a ("/a/b" under "/"
 * gives "/a"). */
static char *path_child_towards(const char *a, const char *dir) {
        size_t n = strcmp(a, "/") == 0 ? 1 : strlen(a) + 1;
        const char *slash = strchr(dir + n, '/');

        return strndup(dir, slash ? (size_t) (slash - dir) : strlen(dir));
}

static int watch_setup_failed(Tailer *t, TailWatch *w, int error) {
        watch_set_wd(t, w, -1);
        w->state = WATCH_NEW;
        if (error == -EMFILE || error == -ENFILE) {
                t->stats.open_errors++;
                w->retry_setup = true;
                tailer_want_retry(t);
        }
        return log_warning_errno(error, "Watch '%s': cannot watch '%s', ignoring until the next "
                                 "rescan: %m", w->name, w->dir);
}

/*
 * Adds an inotify watch on the directory open as fd, through /proc/self/fd
 * so that it is that directory and not whatever the path leads to by now.
 * Without /proc, the path is used with IN_DONT_FOLLOW, and the caller's
 * next check of dev and inode (each reconcile) notices a swap.
 */
static int inotify_add_watch_fd(int inotify_fd, int fd, const char *path, uint32_t mask) {
        char p[sizeof "/proc/self/fd/" + 12];
        int wd;

        (void) snprintf(p, sizeof p, "/proc/self/fd/%i", fd);
        wd = inotify_add_watch(inotify_fd, p, mask);
        if (wd >= 0)
                return wd;
        if (errno != ENOENT || access("/proc/self/fd", F_OK) >= 0)
                return -errno;
        wd = inotify_add_watch(inotify_fd, path, mask | IN_DONT_FOLLOW);
        return wd >= 0 ? wd : -errno;
}

static void warn_symlink(TailWatch *w) {
        if (!ratelimit(&w->last_link_warning))
                return;
        log_warning("Watch '%s': '%s' is, or passes through, a symlink; not following it, "
                    "waiting for a directory there.", w->name, w->dir);
}

/* Makes w active on its directory, open as fd (taken). */
static int watch_activate(Tailer *t, TailWatch *w, int fd) {
        _cleanup_close_ int dfd = fd;
        struct stat st;
        int wd, r;

        if (fstat(dfd, &st) < 0)
                return watch_setup_failed(t, w, -errno);
        wd = inotify_add_watch_fd(t->inotify_fd, dfd, w->dir, MASK_ACTIVE);
        if (wd < 0)
                return watch_setup_failed(t, w, wd);
        r = reader_resolve(&w->owner, NULL, st.st_uid);
        if (r < 0)
                return watch_setup_failed(t, w, r);
        if (w->user) {
                r = reader_resolve(&w->app_user, w->user, 0);
                if (r == -ENOMEM)
                        return watch_setup_failed(t, w, r);
                if (r < 0)
                        log_warning_errno(r, "Watch '%s': the app's user '%s' is unknown, "
                                          "reading only what the directory's owner can: %m",
                                          w->name, w->user);
        }
        safe_close(w->dir_fd);
        w->dir_fd = TAKE_FD(dfd);
        w->dir_dev = (uint64_t) st.st_dev;
        w->dir_ino = (uint64_t) st.st_ino;
        watch_set_wd(t, w, wd);
        w->state = WATCH_ACTIVE;
        return watch_reconcile(t, w);
}

/*
 * Watches w's directory and reconciles it, or, while it does not exist (or
 * is a symlink), waits on its nearest existing ancestor. Goes again when
 * the directory (or a step towards it) appeared before the ancestor was
 * watched. Every step is opened without following symlinks.
 */
static int watch_setup(Tailer *t, TailWatch *w) {
        w->need_setup = false;
        for (unsigned attempt = 0; attempt < 64; attempt++) {
                _cleanup_free_ char *a = NULL, *child = NULL;
                _cleanup_close_ int cfd = -EBADF;
                int fd, wd;

                fd = open_nofollow(w->dir, O_RDONLY | O_DIRECTORY);
                if (fd >= 0)
                        return watch_activate(t, w, fd);
                if (fd == -ELOOP)
                        warn_symlink(w);
                else if (fd != -ENOENT && fd != -ENOTDIR)
                        return watch_setup_failed(t, w, fd);

                a = strdup(w->dir);
                if (!a)
                        return log_oom();
                for (;;) {
                        _cleanup_close_ int afd = -EBADF;
                        char *slash = strrchr(a, '/');

                        if (!slash || strcmp(a, "/") == 0)
                                return watch_setup_failed(t, w, -ENOENT);
                        if (slash == a)
                                slash[1] = '\0';
                        else
                                *slash = '\0';
                        afd = open_nofollow(a, O_PATH | O_DIRECTORY);
                        if (afd >= 0) {
                                wd = inotify_add_watch_fd(t->inotify_fd, afd, a, MASK_WAITING);
                                if (wd < 0)
                                        return watch_setup_failed(t, w, wd);
                                break;
                        }
                        if (afd != -ENOENT && afd != -ENOTDIR && afd != -ELOOP)
                                return watch_setup_failed(t, w, afd);
                }
                if (w->state != WATCH_WAITING || w->wd != wd)
                        log_debug("Watch '%s': waiting for '%s' to appear (watching '%s').",
                                  w->name, w->dir, a);
                watch_set_wd(t, w, wd);
                w->state = WATCH_WAITING;

                child = path_child_towards(a, w->dir);
                if (!child)
                        return log_oom();
                /* Only a real directory there is a step forward. */
                cfd = open_nofollow(child, O_PATH | O_DIRECTORY);
                if (cfd == -ELOOP)
                        warn_symlink(w);
                if (cfd < 0)
                        return 0;
        }
        return 0;
}

/* w's directory went away (or was moved): retire its files and start over. */
static int watch_reset(Tailer *t, TailWatch *w) {
        w->need_reset = false;
        for (size_t i = 0; i < t->n_files; i++)
                if (t->files[i]->watch == w)
                        file_retire(t, t->files[i]);
        watch_set_wd(t, w, -1);
        w->dir_fd = safe_close(w->dir_fd);
        w->state = WATCH_NEW;
        return watch_setup(t, w);
}

static void tailer_rescan(Tailer *t) {
        t->need_rescan = false;
        t->stats.rescans++;
        log_debug("Rescanning all %zu watches.", t->n_watches);
        for (size_t i = 0; i < t->n_watches; i++) {
                TailWatch *w = t->watches[i];

                if (w->need_reset)
                        (void) watch_reset(t, w);
                else if (w->state == WATCH_ACTIVE)
                        (void) watch_reconcile(t, w);
                else
                        (void) watch_setup(t, w);
                w->need_setup = w->need_reconcile = false;
        }
        /* IN_MODIFY events may have been lost with the overflow. */
        for (size_t i = 0; i < t->n_files; i++)
                t->files[i]->pending = true;
}

static void tailer_handle_event(Tailer *t, const struct inotify_event *ev) {
        if (ev->mask & IN_Q_OVERFLOW) {
                t->stats.overflows++;
                t->need_rescan = true;
                log_debug("inotify queue overflowed, rescanning.");
                return;
        }

        for (size_t i = 0; i < t->n_watches; i++) {
                TailWatch *w = t->watches[i];
                TailFile *f;

                if (w->wd != ev->wd)
                        continue;
                if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
                        /* Our directory or the ancestor waited on is gone or moved. */
                        w->need_reset = true;
                        continue;
                }
                if (w->state != WATCH_ACTIVE) {
                        if (ev->mask & (IN_CREATE | IN_MOVED_TO))
                                w->need_setup = true;
                        continue;
                }
                if (ev->len == 0 || (ev->mask & IN_ISDIR))
                        continue;
                if (ev->mask & (IN_MODIFY | IN_ATTRIB)) {
                        f = find_file_by_name(t, w, ev->name);
                        if (f) {
                                if (ev->mask & IN_MODIFY)
                                        f->pending = true;
                        } else if (w->n_unreadable > 0 && watch_matches(w, ev->name))
                                /* Skipped as unreadable, it may be readable now: a
                                 * file created, then given to its user (logrotate's
                                 * "create" does that) or written to. */
                                w->need_reconcile = true;
                } else if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
                        if (watch_matches(w, ev->name))
                                w->need_reconcile = true;
                } else if (ev->mask & (IN_MOVED_FROM | IN_DELETE)) {
                        if (find_file_by_name(t, w, ev->name))
                                w->need_reconcile = true;
                        /* A rotated file of ours may be the one deleted: its EOF check
                         * sees whether it is, and closes it then. Its name is not
                         * known (it left the watch's names), and there are few. */
                        if (ev->mask & IN_DELETE)
                                for (size_t k = 0; k < t->n_files; k++)
                                        if (t->files[k]->watch == w && t->files[k]->retired)
                                                t->files[k]->pending = true;
                }
        }
}

static bool tailer_has_pending(Tailer *t) {
        for (size_t i = 0; i < t->n_files; i++)
                if (t->files[i]->pending)
                        return true;
        return false;
}

static void tailer_schedule(Tailer *t) {
        if (!t->started || t->paused || !tailer_has_pending(t))
                return;
        (void) sd_event_source_set_enabled(t->defer_source, SD_EVENT_ONESHOT);
}

/* Reads queued inotify events (one buffer, or all of them) and acts on them. */
static int tailer_process_inotify(Tailer *t, bool all) {
        union {
                struct inotify_event ev;
                char raw[32 * 1024];
        } buf;
        int r = 0;

        for (;;) {
                ssize_t n = read(t->inotify_fd, &buf, sizeof buf);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                r = log_warning_errno(-errno, "Failed to read inotify events, "
                                                      "ignoring: %m");
                        break;
                }
                for (char *p = buf.raw; p < buf.raw + n;) {
                        const struct inotify_event *ev = (const struct inotify_event *) p;

                        tailer_handle_event(t, ev);
                        p += sizeof *ev + ev->len;
                }
                if (!all)
                        break;
        }

        if (t->need_rescan)
                tailer_rescan(t);
        for (size_t i = 0; i < t->n_watches; i++) {
                TailWatch *w = t->watches[i];

                /* A reconcile may find the directory gone: then reset at once. */
                if (w->need_reconcile)
                        (void) watch_reconcile(t, w);
                if (w->need_reset)
                        (void) watch_reset(t, w);
                else if (w->need_setup)
                        (void) watch_setup(t, w);
        }
        tailer_schedule(t);
        return r;
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) tailer_process_inotify(userdata, false);
        return 0;
}

/* Hands the current line to the callback; consumes it if accepted. */
static int file_deliver(Tailer *t, TailFile *f, const char *data, size_t len, bool truncated,
                        uint64_t next_offset) {
        const TailLine line = {
                .watch = f->watch->name,
                .app = f->watch->app,
                .path = f->path,
                .dev = f->dev,
                .inode = f->inode,
                .offset = f->pos,
                .next_offset = next_offset,
                .data = data,
                .len = len,
                .truncated = truncated,
        };

        if (t->on_line(t, &line, t->userdata) < 0) {
                t->paused = true;
                return READ_STOPPED;
        }
        t->stats.lines++;
        if (truncated)
                t->stats.truncated_lines++;
        f->pos = next_offset;
        f->line_len = 0;
        f->buf_len = 0;
        if (f->buf_size > TAIL_KEEP_BUF) {
                f->buf = mfree(f->buf);
                f->buf_size = 0;
        }
        return t->paused ? READ_STOPPED : READ_EOF;
}

/* Keeps what fits of a piece of the current line in f->buf. If memory runs
 * out the line is cut shorter than max_line (and flagged), never failed. */
static void file_append(Tailer *t, TailFile *f, const char *p, size_t n) {
        size_t want = MIN(n, t->opts.max_line - f->buf_len);

        f->line_len += n;
        if (f->buf_len + want > f->buf_size) {
                size_t size = f->buf_size ? f->buf_size : 256;
                char *b;

                while (size < f->buf_len + want)
                        size *= 2;
                size = MIN(size, t->opts.max_line);
                b = realloc(f->buf, size);
                if (!b) {
                        log_debug("Out of memory for a line of '%s', cutting it.", f->path);
                        want = f->buf_size - f->buf_len;
                        if (want == 0)
                                return;
                } else {
                        f->buf = b;
                        f->buf_size = size;
                }
        }
        if (want == 0)
                return;
        memcpy(f->buf + f->buf_len, p, want);
        f->buf_len += want;
}

/* Splits freshly read bytes into lines and delivers them. */
static int file_consume(Tailer *t, TailFile *f, const char *p, size_t n) {
        const char *end = p + n;
        int r;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t seg = (size_t) ((nl ? nl : end) - p);

                if (f->discard) {
                        f->pos += seg;
                        if (!nl)
                                return READ_EOF;
                        f->pos++;
                        f->discard = false;
                } else if (nl && f->line_len == 0) {
                        /* The whole line is in the chunk: no copy. */
                        r = file_deliver(t, f, p, MIN(seg, t->opts.max_line),
                                         seg > t->opts.max_line, f->pos + seg + 1);
                        if (r != READ_EOF)
                                return r;
                        /* The rest of the chunk is read again from f->pos. */
                        if (now_monotonic() >= t->deadline)
                                return READ_BUDGET;
                } else {
                        file_append(t, f, p, seg);
                        if (!nl)
                                return READ_EOF;
                        /* A refused line keeps line_len, so the next read starts at its '\n'. */
                        r = file_deliver(t, f, f->buf ? f->buf : "", f->buf_len,
                                         f->line_len > f->buf_len, f->pos + f->line_len + 1);
                        if (r != READ_EOF)
                                return r;
                        if (now_monotonic() >= t->deadline)
                                return READ_BUDGET;
                }
                p = nl + 1;
        }
        return READ_EOF;
}

/* At EOF: notices truncation and deletion; closes a retired file that is
 * deleted or expired after delivering its final unterminated line. */
static int file_at_eof(Tailer *t, TailFile *f, bool *ret_again) {
        uint64_t read_off = f->pos + f->line_len;
        struct stat st;
        int r;

        *ret_again = false;
        if (fstat(f->fd, &st) < 0) {
                log_warning_errno(-errno, "Watch '%s': cannot stat '%s', closing it: %m",
                                  f->watch->name, f->path);
                file_close(t, f);
                return READ_CLOSED;
        }
        if ((uint64_t) st.st_size < read_off) {
                /* copytruncate, or shrunk some other way: start over. */
                log_debug("Watch '%s': '%s' shrank to %" PRIu64 " below offset %" PRIu64
                          ", reading it from the start.", f->watch->name, f->path,
                          (uint64_t) st.st_size, read_off);
                t->stats.truncations++;
                file_reset(f);
                *ret_again = true;
                return READ_EOF;
        }
        if (!f->retired && st.st_nlink == 0)
                file_retire(t, f); /* deleted, and the event was lost in an overflow */

        f->pending = false;
        t->closed_some = true; /* idle now: it can make room for a file left out */
        /* A deleted file is closed once drained: no writer can open it again,
         * and keeping it for rotate_wait would pin its disk space and an fd
         * (a churn of short-lived files would pile them up to max_files). */
        if (!f->retired || (!f->expired && st.st_nlink > 0))
                return READ_EOF;

        if (f->line_len > 0 && !f->discard) {
                r = file_deliver(t, f, f->buf ? f->buf : "", f->buf_len, f->line_len > f->buf_len,
                                 f->pos + f->line_len);
                if (r != READ_EOF) {
                        f->pending = true;
                        return r;
                }
        }
        file_close(t, f);
        return READ_CLOSED;
}

/* Reads f until EOF, the budget runs out or delivery stops. */
static int file_read(Tailer *t, TailFile *f, size_t *budget) {
        if (f->fd < 0) {
                int r;

                /* Dormant: open it again. A retired one too, by the name it was
                 * last seen under, as it may have grown before it left: if that is
                 * no longer it (deleted, moved out), what it had is lost. */
                r = file_reopen(t, f);
                if (r < 0 && f->retired && r != -EMFILE) {
                        file_close(t, f);
                        return READ_CLOSED;
                }
                if (r < 0) {
                        f->pending = false;
                        f->want_open = r == -EMFILE;
                        if (r == -EMFILE)
                                tailer_want_retry(t);
                        return READ_EOF;
                }
        }
        for (;;) {
                uint64_t read_off = f->pos + f->line_len;
                size_t want = MIN((size_t) TAIL_CHUNK, *budget);
                bool again;
                ssize_t n;
                int r;

                if (want == 0)
                        return READ_BUDGET;
                n = pread(f->fd, t->chunk, want, (off_t) read_off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN) {
                                log_warning_errno(-errno, "Watch '%s': cannot read '%s', "
                                                  "closing it: %m", f->watch->name, f->path);
                                file_close(t, f);
                                return READ_CLOSED;
                        }
                        n = 0;
                }
                if (n == 0) {
                        r = file_at_eof(t, f, &again);
                        if (again)
                                continue;
                        return r;
                }
                *budget -= (size_t) n;
                t->stats.bytes += (uint64_t) n;
                f->last_used = ++t->use_clock;
                r = file_consume(t, f, t->chunk, (size_t) n);
                if (r == READ_BUDGET) {
                        /* Out of time within the chunk: its rest is read again. */
                        uint64_t left = read_off + (uint64_t) n - (f->pos + f->line_len);

                        *budget += (size_t) left;
                        t->stats.bytes -= left;
                }
                if (r != READ_EOF)
                        return r;
        }
}

/* One reading pass: retired files first, then the others round-robin.
 * Returns READ_EOF when nothing is left to read now. */
static int tailer_read_pass(Tailer *t, size_t budget) {
        size_t n;
        int r;

        if (t->paused)
                return READ_STOPPED;

        for (size_t i = 0; i < t->n_files;) {
                TailFile *f = t->files[i];

                if (!f->retired || !f->pending) {
                        i++;
                        continue;
                }
                r = file_read(t, f, &budget);
                if (r == READ_CLOSED) {
                        if (t->paused)
                                return READ_STOPPED; /* by the close callback */
                        continue; /* files[i] is the next one now */
                }
                if (r != READ_EOF)
                        return r;
                i++;
        }

        n = t->n_files;
        for (size_t k = 0; k < n; k++) {
                size_t i = (t->rr + k) % n;
                TailFile *f = t->files[i];

                if (f->retired || !f->pending)
                        continue;
                r = file_read(t, f, &budget);
                if (r == READ_CLOSED)
                        return t->paused ? READ_STOPPED : READ_BUDGET; /* the array changed */
                if (r != READ_EOF) {
                        /* The next pass starts with the next file, so one busy file cannot
                         * starve the others; this one keeps its pending flag. */
                        t->rr = (i + 1) % n;
                        return r;
                }
        }
        return READ_EOF;
}

/*
 * Files left out over max_files are followed once others have closed, not
 * only at the next change in their directory: the event of a deletion is
 * handled before the deleted file is drained and closed, so its reconcile
 * still finds no room, and there may be no later event.
 */
static void tailer_retry_skipped(Tailer *t) {
        if (!t->closed_some)
                return;
        t->closed_some = false;
        for (size_t i = 0; i < t->n_files; i++)
                if (t->files[i]->fd < 0 && t->files[i]->want_open)
                        t->files[i]->pending = true;
        /* At the cap too: the reconcile closes idle files to make room. */
        for (size_t i = 0; i < t->n_watches; i++) {
                TailWatch *w = t->watches[i];

                if (w->skipped && w->state == WATCH_ACTIVE)
                        (void) watch_reconcile(t, w);
        }
}

/* Reconciles watches that asked for it outside of inotify handling (a
 * dormant file whose name is now another file). */
static void tailer_reconcile_pending(Tailer *t) {
        for (size_t i = 0; i < t->n_watches; i++) {
                TailWatch *w = t->watches[i];

                if (w->need_reconcile && w->state == WATCH_ACTIVE)
                        (void) watch_reconcile(t, w);
                if (w->need_reset)
                        (void) watch_reset(t, w);
        }
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Tailer *t = userdata;

        t->retry_timer = sd_event_source_disable_unref(t->retry_timer);
        t->want_retry = false;
        /* Every file waiting for a descriptor tries again: the skipped new ones
         * through a reconcile of their watch, the dormant ones that grew by
         * reading. */
        t->closed_some = true;
        for (size_t i = 0; i < t->n_files; i++)
                if (t->files[i]->fd < 0 && t->files[i]->want_open)
                        t->files[i]->pending = true;
        for (size_t i = 0; i < t->n_watches; i++) {
                TailWatch *w = t->watches[i];

                if (w->retry_setup && w->state == WATCH_NEW) {
                        w->retry_setup = false;
                        (void) watch_setup(t, w);
                }
        }
        tailer_retry_skipped(t);
        tailer_reconcile_pending(t);
        tailer_schedule(t);
        return 0;
}

/* Something could not get a descriptor: try again in a while (not at once,
 * which would spin while the limit lasts). */
static void tailer_want_retry(Tailer *t) {
        int r;

        t->want_retry = true;
        if (t->retry_timer || !t->started)
                return;
        r = sd_event_add_time_relative(t->event, &t->retry_timer, CLOCK_MONOTONIC,
                                       TAIL_RETRY_INTERVAL, 100 * USEC_PER_MSEC, on_retry, t);
        if (r < 0) {
                log_debug_errno(r, "Cannot add the retry timer, retrying at the next change: %m");
                return;
        }
        (void) sd_event_source_set_description(t->retry_timer, "tail-retry");
}

static int on_defer(sd_event_source *s, void *userdata) {
        Tailer *t = userdata;

        /* Bounded by bytes and by time, whichever runs out first; the loop then
         * commits (txn's post source) and serves the other sources before the
         * defer source continues. */
        t->deadline = now_monotonic() + t->opts.time_budget;
        (void) tailer_read_pass(t, t->opts.read_budget);
        tailer_retry_skipped(t);
        tailer_reconcile_pending(t);
        tailer_schedule(t);
        return 0;
}

/*
 * Keeps max_files open files below RLIMIT_NOFILE with fd_reserve to spare,
 * so that the database, the spool, the control socket and the journal still
 * find descriptors however many files the watches match (16 at least).
 */
static void tailer_cap_files(Tailer *t) {
        struct rlimit rl;
        size_t cap;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return;
        cap = rl.rlim_cur > t->opts.fd_reserve + 16 ? (size_t) rl.rlim_cur - t->opts.fd_reserve
                                                     : 16;
        if (cap < t->opts.max_files) {
                log_debug("Following at most %zu files at once (RLIMIT_NOFILE %llu, %zu kept "
                          "for the rest).", cap, (unsigned long long) rl.rlim_cur,
                          t->opts.fd_reserve);
                t->opts.max_files = cap;
        }
}

int tailer_new(sd_event *e, const TailOptions *o, TailLineFunc on_line, TailLookupFunc lookup,
               void *userdata, TailDestroyFunc destroy, Tailer **ret) {
        _cleanup_(tailer_freep) Tailer *t = NULL;
        int r;

        if (!e || !on_line || !ret)
                return -EINVAL;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        *t = (Tailer) {
                .event = sd_event_ref(e),
                .opts = o ? *o : (TailOptions) {},
                .on_line = on_line,
                .lookup = lookup,
                .inotify_fd = -EBADF,
        };
        if (t->opts.max_line == 0)
                t->opts.max_line = TAIL_DEFAULT_MAX_LINE;
        if (t->opts.max_files == 0)
                t->opts.max_files = TAIL_DEFAULT_MAX_FILES;
        if (t->opts.read_budget == 0)
                t->opts.read_budget = TAIL_DEFAULT_READ_BUDGET;
        if (t->opts.rotate_wait == 0)
                t->opts.rotate_wait = TAIL_DEFAULT_ROTATE_WAIT;
        if (t->opts.time_budget == 0)
                t->opts.time_budget = TAIL_DEFAULT_TIME_BUDGET;
        if (t->opts.fd_reserve == 0)
                t->opts.fd_reserve = TAIL_DEFAULT_FD_RESERVE;
        tailer_cap_files(t);

        t->chunk = malloc(TAIL_CHUNK);
        if (!t->chunk)
                return -ENOMEM;

        t->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (t->inotify_fd < 0)
                return -errno;

        r = sd_event_add_io(e, &t->inotify_source, t->inotify_fd, EPOLLIN, on_inotify, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(t->inotify_source, "tail-inotify");

        r = sd_event_add_defer(e, &t->defer_source, on_defer, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(t->defer_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(t->defer_source, "tail-read");
        /* Below the io sources. A defer source stays pending across its
         * dispatches, so sd-event ranks it as old as its first arming and,
         * at equal priority, it would win over a control request or a
         * signal that became ready since, for as long as there is more to
         * read: the loop would turn, but serve nothing else. */
        (void) sd_event_source_set_priority(t->defer_source, SD_EVENT_PRIORITY_NORMAL + 1);

        /* Set last, so a failed constructor does not destroy the caller's userdata. */
        t->userdata = userdata;
        t->destroy = destroy;
        *ret = TAKE_PTR(t);
        return 0;
}

static TailWatch *watch_free(TailWatch *w) {
        if (!w)
                return NULL;
        safe_close(w->dir_fd);
        reader_done(&w->owner);
        reader_done(&w->app_user);
        free(w->name);
        free(w->app);
        free(w->user);
        free(w->dir);
        free(w->pattern);
        return mfree(w);
}
DEFINE_CLEANUP(TailWatch, watch_free)

Tailer *tailer_free(Tailer *t) {
        if (!t)
                return NULL;
        for (size_t i = t->n_files; i > 0; i--)
                file_free(t->files[i - 1]);
        free(t->files);
        for (size_t i = t->n_watches; i > 0; i--)
                watch_free(t->watches[i - 1]);
        free(t->watches);
        sd_event_source_disable_unref(t->retry_timer);
        sd_event_source_disable_unref(t->defer_source);
        sd_event_source_disable_unref(t->inotify_source);
        safe_close(t->inotify_fd);
        free(t->chunk);
        sd_event_unref(t->event);
        if (t->close_destroy)
                t->close_destroy(t->close_userdata);
        if (t->destroy)
                t->destroy(t->userdata);
        return mfree(t);
}

int tailer_set_close_callback(Tailer *t, TailCloseFunc on_close, void *userdata,
                              TailDestroyFunc destroy) {
        if (!t)
                return -EINVAL;
        if (t->close_destroy)
                t->close_destroy(t->close_userdata);
        t->on_close = on_close;
        t->close_userdata = on_close ? userdata : NULL;
        t->close_destroy = on_close ? destroy : NULL;
        return 0;
}

/* Splits path into the watch's directory and name pattern. */
static int watch_parse_path(TailWatch *w, const char *path) {
        _cleanup_free_ char *p = NULL;
        const char *base;
        char *slash;
        _cleanup_close_ int fd = -EBADF;
        size_t len;
        struct stat st;

        /* The rules --check-config applies too (shared/parse.h). */
        if (watch_path_validate(path, NULL) < 0)
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        len = strlen(p);
        while (len > 1 && p[len - 1] == '/')
                p[--len] = '\0';

        slash = strrchr(p, '/');
        base = slash + 1;
        if (strpbrk(base, "*?[")) {
                *slash = '\0';
                w->pattern = strdup(base);
                w->dir = strdup(slash == p ? "/" : p);
        } else if ((fd = open_nofollow(p, O_PATH)) >= 0 && fstat(fd, &st) >= 0 &&
                   S_ISREG(st.st_mode)) {
                /* One file: follow its name, so its rotations are followed too. */
                *slash = '\0';
                w->pattern = strdup(base);
                w->literal = true;
                w->dir = strdup(slash == p ? "/" : p);
        } else {
                w->dir = TAKE_PTR(p);
                return 0;
        }
        if (!w->pattern || !w->dir)
                return -ENOMEM;
        return 0;
}

int tailer_add_watch(Tailer *t, const char *name, const char *path, const char *app,
                     bool from_head) {
        _cleanup_(watch_freep) TailWatch *w = NULL;
        TailWatch **watches;
        int r;

        if (!t || !name || !name[0] || !path)
                return -EINVAL;
        for (size_t i = 0; i < t->n_watches; i++)
                if (strcmp(t->watches[i]->name, name) == 0)
                        return -EEXIST;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (TailWatch) {
                .from_head = from_head,
                .state = WATCH_NEW,
                .wd = -1,
                .dir_fd = -EBADF,
        };
        w->name = strdup(name);
        if (!w->name)
                return -ENOMEM;
        if (app) {
                w->app = strdup(app);
                if (!w->app)
                        return -ENOMEM;
        }
        r = watch_parse_path(w, path);
        if (r < 0)
                return r;

        watches = reallocarray(t->watches, t->n_watches + 1, sizeof *watches);
        if (!watches)
                return -ENOMEM;
        t->watches = watches;
        t->watches[t->n_watches++] = TAKE_PTR(w);

        if (t->started) {
                TailWatch *added = t->watches[t->n_watches - 1];

                (void) watch_setup(t, added);
                added->initial_done = true;
                tailer_schedule(t);
        }
        return 0;
}

int tailer_start(Tailer *t) {
        if (!t)
                return -EINVAL;
        if (t->started)
                return -EALREADY;

        t->started = true;
        for (size_t i = 0; i < t->n_watches; i++) {
                (void) watch_setup(t, t->watches[i]);
                t->watches[i]->initial_done = true;
        }
        tailer_schedule(t);
        return 0;
}

void tailer_pause(Tailer *t) {
        if (!t)
                return;
        t->paused = true;
        (void) sd_event_source_set_enabled(t->defer_source, SD_EVENT_OFF);
}

void tailer_resume(Tailer *t) {
        if (!t || !t->paused)
                return;
        t->paused = false;
        tailer_schedule(t);
}

bool tailer_is_paused(Tailer *t) {
        return t && t->paused;
}

int tailer_position(Tailer *t, uint64_t dev, uint64_t inode, uint64_t offset,
                    TailPosition *ret) {
        TailPosition p = { .dev = dev, .inode = inode, .offset = offset };
        TailFile *f;
        int r;

        if (!t || !ret)
                return -EINVAL;
        f = find_file(t, dev, inode);
        if (!f)
                return -ENOENT;
        if (offset > f->pos)
                return -ESTALE;
        if (f->fd < 0) {
                _cleanup_close_ int fd = -EBADF;
                struct stat st;

                if (offset == f->pos) {
                        memcpy(p.marker, f->marker, sizeof p.marker);
                        *ret = p;
                        return 0;
                }
                /* Dormant: look at it again by name, if that is still the file. */
                if (f->watch->dir_fd < 0)
                        return -ENOENT;
                fd = openat(f->watch->dir_fd, f->name,
                            O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
                if (fd < 0)
                        return -errno;
                if (fstat(fd, &st) < 0)
                        return -errno;
                if ((uint64_t) st.st_dev != dev || (uint64_t) st.st_ino != inode)
                        return -ENOENT;
                r = fd_marker(fd, offset, p.marker);
                if (r < 0)
                        return r;
                *ret = p;
                return 0;
        }
        r = fd_marker(f->fd, offset, p.marker);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int tailer_poll(Tailer *t) {
        int r;

        if (!t)
                return -EINVAL;
        if (!t->started)
                return 0;
        r = tailer_process_inotify(t, true);
        if (r < 0)
                return r;
        t->deadline = UINT64_MAX;       /* the caller asked for everything */
        for (;;) {
                r = tailer_read_pass(t, SIZE_MAX);
                if (r == READ_STOPPED)
                        return 1;
                if (r == READ_EOF) {
                        tailer_retry_skipped(t);
                        if (!tailer_has_pending(t))
                                return 0;
                }
        }
}

void tailer_get_stats(Tailer *t, TailStats *ret) {
        *ret = t->stats;
        ret->files = t->n_open;
        ret->dormant = 0;
        ret->waiting = 0;
        for (size_t i = 0; i < t->n_files; i++) {
                if (t->files[i]->fd >= 0)
                        continue;
                ret->dormant++;
                if (t->files[i]->want_open)
                        ret->waiting++;
        }
        ret->unreadable = 0;
        for (size_t i = 0; i < t->n_watches; i++) {
                ret->waiting += t->watches[i]->n_skipped;
                ret->unreadable += t->watches[i]->n_unreadable;
        }
}

int tailer_set_watch_user(Tailer *t, const char *name, const char *user) {
        char *u = NULL;

        if (!t || !name)
                return -EINVAL;
        for (size_t i = 0; i < t->n_watches; i++) {
                TailWatch *w = t->watches[i];

                if (strcmp(w->name, name) != 0)
                        continue;
                if (user) {
                        u = strdup(user);
                        if (!u)
                                return -ENOMEM;
                }
                free(w->user);
                w->user = u;
                reader_done(&w->app_user);
                if (user && w->state == WATCH_ACTIVE) {
                        int r = reader_resolve(&w->app_user, user, 0);
                        if (r == -ENOMEM)
                                return r;
                }
                return 0;
        }
        return -ENOENT;
}
