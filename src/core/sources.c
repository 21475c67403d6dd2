/* SPDX-License-Identifier: MIT */
/* Sources connected to the pipeline; see sources.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sources.h"
#include "ingest/journal.h"
#include "ingest/tail.h"
#include "shared/catalog-ids.h"
#include "shared/log.h"

typedef struct FilePos {
        uint64_t dev, inode, offset;
        bool dirty;
        bool closed;    /* the tailer closed it in this batch; its row is being dropped */
} FilePos;

struct Sources {
        Store *store;
        Pipeline *pipeline;
        Positions *positions;
        TxnHook *hook;
        JournalSource *journal;
        char *journal_key;          /* "journal" or "journal:DIRECTORY" */
        Tailer *tailer;
        FilePos *files;             /* newest delivered offset per open file, and the
                                     * files closed since the last commit */
        size_t n_files;
        size_t n_watches;
        char **new_watches;         /* "watch:NAME" of watches set up for the first time */
        size_t n_new;
        json_t *watches_json;
};

static char *journal_app(const JournalLine *l) {
        return l->unit ? unit_to_app(l->unit) : strdup(l->identifier ?: "unknown");
}

static int on_journal_line(JournalSource *j, const JournalLine *l, void *userdata) {
        Sources *s = userdata;
        _cleanup_free_ char *app = journal_app(l);
        StreamMeta meta = {
                .app = app ?: "unknown",   /* out of memory: still read the line */
                .host = l->host,
                .origin = "journal",
                .source = l->unit ?: l->identifier,
        };
        int r;

        r = pipeline_feed(s->pipeline, l->stream, &meta, l->data, l->len, l->realtime_usec);
        if (r < 0)
                return 0;      /* the pipeline has already stopped the loop */
        if (l->last_of_entry) {
                StorePosition pos = { .cursor = (char *) l->cursor };
                (void) positions_set(s->positions, s->journal_key, &pos);
        }
        return 0;
}

static void on_journal_reset(JournalSource *j, const char *cursor, const char *reason,
                             void *userdata) {
        const char *fields[] = { "APPWATCH_RESULT=cursor-reset", NULL };

        log_event(LOG_WARNING, MESSAGE_ID_CURSOR_RESET, fields,
                  "Saved journal cursor cannot be used (%s); reading from the tail of the "
                  "journal, entries written while appwatchd was down are not read.", reason);
}

static FilePos *file_slot(Sources *s, uint64_t dev, uint64_t inode) {
        FilePos *n;

        for (size_t i = 0; i < s->n_files; i++)
                if (s->files[i].dev == dev && s->files[i].inode == inode)
                        return &s->files[i];
        n = realloc(s->files, sizeof(FilePos) * (s->n_files + 1));
        if (!n)
                return NULL;
        s->files = n;
        n[s->n_files] = (FilePos) { .dev = dev, .inode = inode };
        return &n[s->n_files++];
}

static void file_key(char *buf, size_t size, uint64_t dev, uint64_t inode) {
        snprintf(buf, size, "file:%" PRIu64 ":%" PRIu64, dev, inode);
}

static int on_tail_line(Tailer *t, const TailLine *l, void *userdata) {
        Sources *s = userdata;
        char key[64];
        FilePos *fp;
        StreamMeta meta = {
                .app = l->app ?: l->watch,
                .origin = "file",
                .source = l->path,
        };
        int r;

        file_key(key, sizeof key, l->dev, l->inode);
        if (l->truncated) {
                /* Cut, and said so in the line itself: never silently. */
                _cleanup_free_ char *cut = NULL;
                static const char mark[] = " [appwatch: line cut at this length]";
                cut = malloc(l->len + sizeof mark);
                if (cut) {
                        memcpy(cut, l->data, l->len);
                        memcpy(cut + l->len, mark, sizeof mark);
                }
                /* Out of memory, the cut line still goes in, unmarked. */
                r = cut ? pipeline_feed(s->pipeline, key, &meta, cut, l->len + sizeof mark - 1, 0)
                        : pipeline_feed(s->pipeline, key, &meta, l->data, l->len, 0);
        } else
                r = pipeline_feed(s->pipeline, key, &meta, l->data, l->len, 0);
        if (r < 0)
                return 0;      /* the pipeline has already stopped the loop */
        /* The line is in the pipeline now: a negative return would have it
         * delivered again. Without memory for the slot the position just
         * stays behind (a restart re-reads a little). */
        fp = file_slot(s, l->dev, l->inode);
        if (!fp)
                return log_oom(), 0;
        fp->offset = l->next_offset;
        fp->dirty = true;
        fp->closed = false;    /* a new file on the inode of one closed in this batch */
        return 0;
}

/*
 * The tailer is done with a file (rotated away or deleted, read to its end):
 * finish its open block, forget its stream and drop its position. Its slot
 * stays, marked closed, until the next commit has deleted the row: a new
 * file may get the freed inode at once, and must not be given the old
 * file's position by on_tail_lookup() (its marker matches when both files
 * begin alike, and its lines would be skipped).
 */
static void on_tail_close(Tailer *t, uint64_t dev, uint64_t inode, void *userdata) {
        Sources *s = userdata;
        char key[64];
        FilePos *fp;

        file_key(key, sizeof key, dev, inode);
        if (pipeline_flush_stream(s->pipeline, key) < 0)
                return;        /* the pipeline has already stopped the loop */
        pipeline_forget_stream(s->pipeline, key);
        fp = file_slot(s, dev, inode);
        if (!fp || positions_drop(s->positions, key) < 0) {
                (void) log_oom();
                return;
        }
        *fp = (FilePos) { .dev = dev, .inode = inode, .closed = true };
}

static int on_tail_lookup(Tailer *t, uint64_t dev, uint64_t inode, TailPosition *ret,
                          void *userdata) {
        Sources *s = userdata;
        StorePosition p = {};
        char key[64];
        int r;

        for (size_t i = 0; i < s->n_files; i++)
                if (s->files[i].dev == dev && s->files[i].inode == inode && s->files[i].closed)
                        return 0;       /* see on_tail_close() */
        file_key(key, sizeof key, dev, inode);
        r = position_load(s->store, key, &p);
        if (r <= 0)
                return r;
        *ret = (TailPosition) { .dev = p.dev, .inode = p.inode, .offset = p.offset };
        memcpy(ret->marker, p.marker, sizeof ret->marker);
        store_position_done(&p);
        return 1;
}

/* Hands the files' positions over before each commit. */
static int on_precommit(Txn *t, void *userdata) {
        Sources *s = userdata;
        size_t kept = 0;
        int r;

        for (size_t i = 0; i < s->n_files; i++) {
                FilePos *fp = &s->files[i];
                TailPosition tp;
                char key[64];

                if (fp->closed)
                        continue; /* its drop goes out with this commit */
                file_key(key, sizeof key, fp->dev, fp->inode);
                if (fp->dirty) {
                        r = tailer_position(s->tailer, fp->dev, fp->inode, fp->offset, &tp);
                        if (r == -ENOENT) {
                                /* Rotated away and closed: read to its end, forget it. */
                                r = positions_drop(s->positions, key);
                                if (r < 0)
                                        return txn_fatal(t, r, "save a source position");
                                continue;
                        }
                        if (r >= 0) {
                                StorePosition sp = { .dev = tp.dev, .inode = tp.inode,
                                                     .offset = tp.offset };
                                memcpy(sp.marker, tp.marker, sizeof sp.marker);
                                r = positions_set(s->positions, key, &sp);
                                if (r < 0)
                                        return txn_fatal(t, r, "save a source position");
                        } else
                                log_debug_errno(r, "No position for %s: %m", key);
                        fp->dirty = false;
                }
                s->files[kept++] = *fp;
        }
        s->n_files = kept;
        return 0;
}

static int setup_journal(Sources *s, sd_event *event, const Config *c) {
        StorePosition pos = {};
        int r;

        if (c->journal_directory)
                r = asprintf(&s->journal_key, "journal:%s", c->journal_directory);
        else
                r = asprintf(&s->journal_key, "journal");
        if (r < 0)
                return -ENOMEM;
        r = position_load(s->store, s->journal_key, &pos);
        if (r < 0)
                return log_error_errno(r, "Cannot load the journal position: %m");
        bool all = strv_contains(c->journal_units, "*");
        JournalOptions o = {
                .units = all ? NULL : c->journal_units,
                .identifiers = c->journal_identifiers,
                .min_priority = c->journal_min_priority,
                .directory = c->journal_directory,
                .cursor = pos.cursor,
                /* Collected journals are an archive: read them whole the first
                 * time. The local journal: only what happens from now on. */
                .from_head = c->journal_directory != NULL,
        };
        r = journal_source_new(event, &o, on_journal_line, on_journal_reset, s, &s->journal);
        store_position_done(&pos);
        if (r < 0)
                return log_error_errno(r, "Cannot open the journal%s%s: %m",
                                       c->journal_directory ? " in " : "",
                                       c->journal_directory ?: "");
        return 0;
}

static int setup_watches(Sources *s, sd_event *event, const Config *c) {
        TailOptions o = { .max_line = c->max_line_bytes };
        int r;

        s->watches_json = json_array();
        if (!s->watches_json)
                return -ENOMEM;
        if (c->n_watches == 0)
                return 0;
        r = tailer_new(event, &o, on_tail_line, on_tail_lookup, s, NULL, &s->tailer);
        if (r < 0)
                return log_error_errno(r, "Cannot set up file watches: %m");
        (void) tailer_set_close_callback(s->tailer, on_tail_close, s, NULL);
        for (size_t i = 0; i < c->n_watches; i++) {
                const ConfigWatch *w = &c->watches[i];
                _cleanup_free_ char *key = NULL;
                StorePosition seen = {};
                bool known;

                if (asprintf(&key, "watch:%s", w->name) < 0)
                        return -ENOMEM;
                r = position_load(s->store, key, &seen);
                if (r < 0)
                        return r;
                known = r > 0;
                store_position_done(&seen);
                /* The first time a watch is set up its existing files are old
                 * news: start at their ends. Later, a file without a position
                 * appeared while we were down: read it whole. */
                r = tailer_add_watch(s->tailer, w->name, w->path, w->app, known);
                if (r < 0)
                        return log_error_errno(r, "Cannot watch [Watch.%s] Path=%s: %m", w->name,
                                               w->path);
                /* Its files are read on behalf of the directory's owner and of
                 * the app's user, never beyond what one of them could read. */
                const ConfigApp *app = w->app ? config_find_app(c, w->app) : NULL;
                if (app && app->user) {
                        r = tailer_set_watch_user(s->tailer, w->name, app->user);
                        if (r < 0)
                                return log_error_errno(r, "Cannot watch [Watch.%s]: %m", w->name);
                }
                if (!known) {
                        char **l = realloc(s->new_watches, sizeof(char *) * (s->n_new + 2));
                        if (!l)
                                return -ENOMEM;
                        s->new_watches = l;
                        l[s->n_new++] = TAKE_PTR(key);
                        l[s->n_new] = NULL;
                }
                if (json_array_append_new(s->watches_json,
                                          json_pack("{s:s, s:s, s:s?}", "name", w->name, "path",
                                                    w->path, "app", w->app)) < 0)
                        return -ENOMEM;
                s->n_watches++;
        }
        return 0;
}

int sources_start(Sources *s) {
        int r;

        /* New watches are marked as set up before any of their lines is
         * read (the caller commits next): were the mark lost with a failed
         * first batch, the next start would take the files for old news and
         * skip what this one read. */
        for (char **k = s->new_watches; k && *k; k++) {
                r = positions_set(s->positions, *k, &(StorePosition) {});
                if (r < 0)
                        return r;
        }
        s->new_watches = strv_free(s->new_watches);
        s->n_new = 0;
        if (s->tailer) {
                r = tailer_start(s->tailer);
                if (r < 0)
                        return log_error_errno(r, "Cannot start file watches: %m");
        }
        return 0;
}

int sources_new(sd_event *event, const Config *c, Store *store, Txn *txn, Positions *positions,
                Pipeline *pipeline, Sources **ret) {
        _cleanup_(sources_freep) Sources *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (Sources) { .store = store, .pipeline = pipeline, .positions = positions };
        r = txn_add_hook(txn, TXN_HOOK_PRECOMMIT, TXN_PRIORITY_SOURCES, on_precommit, s, NULL,
                         &s->hook);
        if (r < 0)
                return r;
        /* Reading every unit's output would feed sshd's "Failed password"
         * to the rules: the journal is read only for what was named. */
        if (c->journal_enabled && (c->journal_units || c->journal_identifiers)) {
                r = setup_journal(s, event, c);
                if (r < 0)
                        return r;
        }
        r = setup_watches(s, event, c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Sources *sources_free(Sources *s) {
        if (!s)
                return NULL;
        txn_hook_free(s->hook);
        journal_source_free(s->journal);
        tailer_free(s->tailer);
        free(s->journal_key);
        free(s->files);
        strv_free(s->new_watches);
        json_decref(s->watches_json);
        free(s);
        return NULL;
}

void sources_pause(Sources *s, bool pause) {
        if (s->journal)
                (pause ? journal_source_pause : journal_source_resume)(s->journal);
        if (s->tailer)
                (pause ? tailer_pause : tailer_resume)(s->tailer);
}

size_t sources_count(const Sources *s) {
        return (s->journal ? 1 : 0) + s->n_watches;
}

json_t *sources_status_json(Sources *s) {
        JournalStats js = {};
        TailStats ts = {};

        if (s->journal)
                journal_source_get_stats(s->journal, &js);
        if (s->tailer)
                tailer_get_stats(s->tailer, &ts);
        return json_pack("{s:{s:b, s:I, s:I, s:I}, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                         "s:I, s:I, s:I, s:I}}",
                         "journal_reader",
                           "active", s->journal != NULL,
                           "entries", (json_int_t) js.entries,
                           "lines", (json_int_t) js.lines,
                           "skipped_own", (json_int_t) js.skipped_own,
                         "watched", s->watches_json,
                         "files",
                           "open", (json_int_t) ts.files,
                           "lines", (json_int_t) ts.lines,
                           "truncated_lines", (json_int_t) ts.truncated_lines,
                           "rotations", (json_int_t) ts.rotations,
                           "truncations", (json_int_t) ts.truncations,
                           "overflows", (json_int_t) ts.overflows,
                           "dormant", (json_int_t) ts.dormant,
                           "waiting", (json_int_t) ts.waiting,
                           "open_errors", (json_int_t) ts.open_errors,
                           "evictions", (json_int_t) ts.evictions,
                           "unreadable", (json_int_t) ts.unreadable);
}
