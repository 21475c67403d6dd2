/* SPDX-License-Identifier: MIT */
/*
 * The file tailer: follows the log files of [Watch.NAME] sections with
 * inotify on the sd-event loop and hands out complete lines with the exact
 * byte positions they came from. It knows nothing of SQLite or detection:
 * the pipeline persists positions (see tailer_position()) and gives them
 * back through the lookup callback on the next start.
 *
 * A watch's Path= is a directory (every regular file directly in it), a glob
 * whose last component is matched with fnmatch() (the directory part is
 * literal), or an existing regular file (matched by its exact name, so its
 * rotations are followed too). Directories that do not exist yet are waited
 * for on their nearest existing ancestor.
 *
 * Files are keyed by (dev, inode) and opened O_RDONLY|O_NONBLOCK|O_NOCTTY|
 * O_CLOEXEC|O_NOFOLLOW; symlinks, FIFOs, devices and directories are never
 * opened. A file is followed by at most one watch (the first that finds it).
 *
 * Trust: the tailer runs as root on directories others own. The directory
 * is opened component by component without following any symlink
 * (openat2(RESOLVE_NO_SYMLINKS), or openat(O_NOFOLLOW) step by step), files
 * are opened from that directory's fd, and each reconcile checks that the
 * path still leads to the same directory (dev, inode); a path that is or
 * passes through a symlink is waited on, never followed. A file is read
 * only if the directory's owner or the watch's user (tailer_set_watch_user())
 * could read it by its mode bits; others are skipped with a warning.
 *
 *   - Rotation by rename or deletion: the file leaves the watch's set of
 *     names. Its fd is read to EOF at once (before the file that replaces
 *     it), kept open for rotate_wait so late writes of the old writer are
 *     still read, then read to EOF again, its final unterminated line is
 *     delivered, and it is closed. A file renamed within a directory watch
 *     stays the same file and continues where it was.
 *   - Deletion (in place, or after being renamed away): once the file is
 *     read to EOF it is closed at once, without waiting for rotate_wait, so
 *     a deleted file never holds its disk space and a descriptor for long.
 *     What a writer that still has it open adds after that is not read.
 *     A deletion in the watch's directory is noticed at once; one elsewhere
 *     (renamed out of the directory first) at the end of rotate_wait.
 *   - Closing: every file the tailer stops following (other than in
 *     tailer_free()) is reported to the close callback, after its last
 *     line, so the owner can forget what it keeps per file.
 *   - Truncation (copytruncate, shrinking): EOF with size < offset restarts
 *     the file at 0. A truncation followed by more writes than the old
 *     offset before the tailer looks is not detectable.
 *   - Restore: a saved position is used when the inode is the same, the file
 *     is at least that long and the hash of the <=4 KiB before the offset
 *     still matches; otherwise the file is read from 0.
 *   - IN_Q_OVERFLOW: every watch is rescanned and every file re-read.
 *
 * Limits: max_line bytes kept per line (longer lines are cut and flagged),
 * max_files open files, lowered to keep fd_reserve descriptors below
 * RLIMIT_NOFILE. At the cap, the least recently used drained, idle file is
 * closed ("dormant": it keeps its position and is reopened by name, checked
 * to be the same inode, when IN_MODIFY says it grew); only when every open
 * file is busy, or open() fails with EMFILE/ENFILE, is a file left waiting
 * (counted in TailStats.waiting, warned about, retried each second and as
 * soon as a file closes). A dormant file that is rotated is reopened
 * under its new name in the directory and drained; only one that is written
 * to and then deleted or moved out of the directory before the tailer looks
 * loses those last lines. read_budget bytes read and time_budget spent
 * delivering lines per loop iteration, whichever comes first (then a defer
 * source continues, so other sources are never
 * starved). Memory is O(max_files * max_line) in the worst case, allocated
 * on demand.
 *
 * Threading: loop thread only. Callbacks run on the loop thread from within
 * the tailer and must not free it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "shared/cleanup.h"
#include "shared/parse.h"

typedef struct Tailer Tailer;

/* Bytes hashed before an offset for its marker. */
#define TAIL_MARKER_WINDOW 4096

/* Where a file was read up to, as the pipeline stores it. */
typedef struct TailPosition {
        uint64_t dev, inode, offset;
        char marker[17];    /* FNV-1a 64 of the <=4 KiB before offset, 16 hex digits; "" at 0 */
} TailPosition;

/* One line, valid only during the callback. */
typedef struct TailLine {
        const char *watch;      /* the watch's name */
        const char *app;        /* its App= (may be NULL) */
        const char *path;       /* the file's path when last seen in the watch */
        uint64_t dev, inode;
        uint64_t offset;        /* of the line's first byte */
        uint64_t next_offset;   /* just past its '\n' (past its last byte for a final
                                 * unterminated line of a rotated or deleted file) */
        const char *data;       /* the line without '\n': any bytes, NUL included */
        size_t len;
        bool truncated;         /* longer than max_line: data holds the first max_line
                                 * bytes, the rest up to the '\n' was skipped */
} TailLine;

typedef struct TailOptions {
        size_t max_line;        /* bytes kept of one line; 0 = 64 KiB */
        size_t max_files;       /* open files; 0 = 1024 */
        size_t read_budget;     /* bytes read per loop iteration; 0 = 1 MiB */
        usec_t time_budget;     /* time delivering lines per loop iteration (checked after
                                 * each line); 0 = 50 ms */
        usec_t rotate_wait;     /* how long a file rotated away stays open for late writes
                                 * of its old writer (a deleted one is closed once read
                                 * to its end); 0 = 5 s */
        size_t fd_reserve;      /* descriptors left below RLIMIT_NOFILE for the rest of
                                 * the process (max_files is lowered to keep them);
                                 * 0 = 256 */
} TailOptions;

typedef struct TailStats {
        uint64_t files;           /* open now, rotated ones still draining included */
        uint64_t dormant;         /* followed, but closed while idle to make room */
        uint64_t waiting;         /* not open now for want of a descriptor: retried */
        uint64_t open_errors;     /* opens failed with EMFILE/ENFILE (each is retried) */
        uint64_t evictions;       /* idle files closed to make room */
        uint64_t unreadable;      /* files in the watched directories not read because none
                                   * of the watch's readers may read them (as of the last
                                   * look at each directory) */
        uint64_t lines;           /* delivered (and accepted) */
        uint64_t bytes;           /* read from files */
        uint64_t truncated_lines; /* delivered cut to max_line */
        uint64_t rotations;       /* files that left their watch (renamed away or deleted) */
        uint64_t truncations;     /* restarts at 0: shrunk files, stale restored positions */
        uint64_t overflows;       /* IN_Q_OVERFLOW seen */
        uint64_t rescans;         /* full rescans of all watches */
} TailStats;

/*
 * Called for each complete line. Return 0 to go on, or <0 to stop: the line
 * is then not consumed, the tailer pauses, and tailer_resume() delivers that
 * same line again (this is how backpressure works). The callback may call
 * tailer_pause() (the line is consumed, delivery stops after it),
 * tailer_position() and tailer_get_stats(), but must not free the tailer
 * nor call tailer_poll() or tailer_add_watch().
 */
typedef int (*TailLineFunc)(Tailer *t, const TailLine *line, void *userdata);

/*
 * Asked once when a file is opened (from tailer_start(), tailer_add_watch()
 * or the loop): return 1 and fill *ret with the saved position of (dev,
 * inode), 0 when there is none. A negative return is treated as "none" (and
 * logged at debug level).
 */
typedef int (*TailLookupFunc)(Tailer *t, uint64_t dev, uint64_t inode, TailPosition *ret,
                              void *userdata);

typedef void (*TailDestroyFunc)(void *userdata);

/*
 * Called once for each file the tailer stops following for good, after the
 * last line it delivered from it: rotated away or deleted and drained (its
 * final unterminated line included), or closed because it could no longer
 * be stat'ed or read. Not called by tailer_free(). When it runs, the file is
 * no longer open (tailer_position() gives -ENOENT). The same rules as for
 * TailLineFunc apply; a file found again later under a watched name is a new
 * file to the tailer (the lookup callback is asked again).
 */
typedef void (*TailCloseFunc)(Tailer *t, uint64_t dev, uint64_t inode, void *userdata);

/*
 * Creates a tailer on the loop e (referenced). o may be NULL for defaults.
 * on_line is required; lookup may be NULL (nothing is ever restored).
 * destroy (may be NULL) is called on userdata by tailer_free(). Nothing is
 * read before tailer_start(). Returns 0, -EINVAL, -ENOMEM or -errno from
 * inotify_init1() (e.g. -EMFILE).
 */
int tailer_new(sd_event *e, const TailOptions *o, TailLineFunc on_line, TailLookupFunc lookup,
               void *userdata, TailDestroyFunc destroy, Tailer **ret);

/*
 * Sets (or, with on_close NULL, removes) the close callback. destroy (may be
 * NULL) is called on userdata when the callback is replaced or removed and
 * by tailer_free(). Returns 0 or -EINVAL.
 */
int tailer_set_close_callback(Tailer *t, TailCloseFunc on_close, void *userdata,
                              TailDestroyFunc destroy);

/* Closes all files and the inotify fd, without delivering anything more and
 * without calling the close callback. Accepts NULL; returns NULL. */
Tailer *tailer_free(Tailer *t);
DEFINE_CLEANUP(Tailer, tailer_free)

/*
 * Adds a watch (name and app are copied; app may be NULL). path must be
 * absolute; a glob may only be in its last component. from_head: files
 * found when the watch is first set up that have no saved position are read
 * from 0 (true) or from the start of their last line (false); files that
 * appear later are always read from 0. Before tailer_start() the watch is
 * only recorded; afterwards it is set up at once. Returns 0, -EINVAL (bad
 * path or name, or a duplicate name) or -ENOMEM.
 */
int tailer_add_watch(Tailer *t, const char *name, const char *path, const char *app,
                     bool from_head);

/*
 * Sets the user (a name, copied; NULL for none) on whose behalf the watch
 * name reads, besides its directory's owner: a file neither of them may
 * read by its mode bits is skipped with a warning. Returns 0, -ENOENT (no
 * such watch), -EINVAL or -ENOMEM. An unknown user is warned about when the
 * watch is set up, and reads nothing.
 */
int tailer_set_watch_user(Tailer *t, const char *name, const char *user);

/*
 * Scans the watches, opens the files, seeks to their restored positions and
 * arms inotify; lines are delivered from the loop afterwards. Watches whose
 * directory cannot be watched are logged and retried on the next rescan.
 * Returns 0, -EALREADY, or -errno when the loop sources cannot be set up.
 */
int tailer_start(Tailer *t);

/* Backpressure: stop reading files (inotify is still read, so nothing is
 * lost), and start again. Both are idempotent. */
void tailer_pause(Tailer *t);
void tailer_resume(Tailer *t);
bool tailer_is_paused(Tailer *t);

/*
 * Fills *ret for the open file (dev, inode) at offset, which must not be
 * beyond what was delivered from it (a TailLine's next_offset, typically),
 * hashing the <=4 KiB before offset from the still-open fd. Returns 0,
 * -ENOENT when the file is no longer open (rotated away and closed: its
 * position is no longer needed), -ESTALE when offset is beyond what was
 * delivered from the file's current content (it was truncated since), or
 * -errno from reading.
 */
int tailer_position(Tailer *t, uint64_t dev, uint64_t inode, uint64_t offset,
                    TailPosition *ret);

/*
 * Reads the pending inotify events and every file up to EOF now, ignoring
 * read_budget (for tests and shutdown). Returns 0 when everything was read,
 * 1 when delivery stopped because the tailer is paused, or -errno.
 */
int tailer_poll(Tailer *t);

void tailer_get_stats(Tailer *t, TailStats *ret);

/* The hex marker of data (at most TAIL_MARKER_WINDOW bytes are relevant to
 * callers; any length is hashed). ret must hold 17 bytes. */
void tail_marker(const void *data, size_t len, char ret[static 17]);
