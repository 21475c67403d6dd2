/* SPDX-License-Identifier: MIT */
/*
 * Lines to incidents; see pipeline.h. Per stream we keep a copy of the lines
 * the engine holds in its open block (the engine reports how many), so a
 * commit can save them and a restart can feed them again. Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "analyze/offline.h"
#include "core/pipeline.h"
#include "deliver/record.h"
#include "detect/engine.h"
#include "shared/log.h"
#include "shared/parse.h"
#include "shared/protocol.h"

typedef struct Line {
        char *data;
        size_t len;
        uint64_t realtime;
} Line;

typedef struct Stream {
        struct Stream *next;        /* hash chain */
        char *key;
        char *app, *host, *origin, *source;
        Line *lines;                /* ring of the open block's lines */
        size_t n_lines, cap_lines, first;
        bool dirty;                 /* pending lines changed since the last commit */
        uint64_t last_realtime;     /* of the line being fed */
} Stream;

typedef struct Position {
        char *source;
        StorePosition pos;
        bool drop;
} Position;

typedef struct Event {
        int64_t id;
        IncidentEvent event;
} Event;

typedef struct Job {
        Pipeline *pipeline;
        int64_t incident_id;
        Finding *finding;
        char *app;
        Language language;
        char *result;
} Job;

struct Pipeline {
        sd_event *event;
        Store *store;
        Pool *pool;
        DetectRules *rules;
        DetectEngine *engine;
        sd_event_source *commit_source;
        sd_event_source *flush_timer;
        char *host;
        Language language;
        size_t max_line;

        Stream **buckets;
        size_t n_buckets, n_streams;

        bool in_txn;
        Position *positions;
        size_t n_positions;
        Event *events;
        size_t n_events;
        Job **deferred;             /* analysis jobs the full pool refused, in order */
        size_t n_deferred;

        PipelineThrottleFunc throttle;
        void *throttle_userdata;
        PipelinePrecommitFunc precommit;
        void *precommit_userdata;
        PipelineStats stats;
        bool failed;                /* a write failed: nothing more is committed */
        int64_t *collected;         /* incident ids of findings, while collecting */
        size_t n_collected;
        bool collecting;
};

static uint64_t hash_string(const char *s) {
        uint64_t h = UINT64_C(14695981039346656037);
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return h;
}

static void stream_free(Stream *s) {
        for (size_t i = 0; i < s->n_lines; i++)
                free(s->lines[(s->first + i) % s->cap_lines].data);
        free(s->lines);
        free(s->key);
        free(s->app);
        free(s->host);
        free(s->origin);
        free(s->source);
        free(s);
}

static Stream *stream_find(Pipeline *p, const char *key) {
        for (Stream *s = p->buckets[hash_string(key) % p->n_buckets]; s; s = s->next)
                if (strcmp(s->key, key) == 0)
                        return s;
        return NULL;
}

static int grow_buckets(Pipeline *p) {
        size_t n = p->n_buckets * 2;
        Stream **b = calloc(n, sizeof(Stream *));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_buckets; i++)
                while (p->buckets[i]) {
                        Stream *s = p->buckets[i];
                        p->buckets[i] = s->next;
                        s->next = b[hash_string(s->key) % n];
                        b[hash_string(s->key) % n] = s;
                }
        free(p->buckets);
        p->buckets = b;
        p->n_buckets = n;
        return 0;
}

static int set_str(char **field, const char *v) {
        char *c;

        /* Called for every line: copy only what changed. */
        if (v && *field && strcmp(*field, v) == 0)
                return 0;
        c = v ? strdup(v) : NULL;
        if (v && !c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* Finds or creates the stream; refreshes its metadata when meta is given. */
static int stream_get(Pipeline *p, const char *key, const StreamMeta *meta, Stream **ret) {
        Stream *s = stream_find(p, key);

        if (!s) {
                if (p->n_streams >= p->n_buckets && grow_buckets(p) < 0)
                        return -ENOMEM;
                s = calloc(1, sizeof *s);
                if (!s)
                        return -ENOMEM;
                s->key = strdup(key);
                if (!s->key) {
                        free(s);
                        return -ENOMEM;
                }
                size_t b = hash_string(key) % p->n_buckets;
                s->next = p->buckets[b];
                p->buckets[b] = s;
                p->n_streams++;
        }
        if (meta && (set_str(&s->app, meta->app ?: "unknown") < 0 ||
                     set_str(&s->host, meta->host ?: p->host) < 0 ||
                     set_str(&s->origin, meta->origin ?: "file") < 0 ||
                     set_str(&s->source, meta->source ?: key) < 0))
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int stream_push(Stream *s, const char *data, size_t len, uint64_t realtime) {
        Line l = { .len = len, .realtime = realtime };

        if (s->n_lines == s->cap_lines) {
                size_t cap = s->cap_lines ? s->cap_lines * 2 : 8;
                Line *n = malloc(sizeof(Line) * cap);
                if (!n)
                        return -ENOMEM;
                for (size_t i = 0; i < s->n_lines; i++)
                        n[i] = s->lines[(s->first + i) % s->cap_lines];
                free(s->lines);
                s->lines = n;
                s->cap_lines = cap;
                s->first = 0;
        }
        l.data = malloc(len + 1);
        if (!l.data)
                return -ENOMEM;
        memcpy(l.data, data, len);
        l.data[len] = 0;
        s->lines[(s->first + s->n_lines) % s->cap_lines] = l;
        s->n_lines++;
        s->dirty = true;
        return 0;
}

/* Drops lines from the front until only keep remain. */
static void stream_trim(Stream *s, size_t keep) {
        while (s->n_lines > keep) {
                free(s->lines[s->first].data);
                s->first = (s->first + 1) % s->cap_lines;
                s->n_lines--;
                s->dirty = true;
        }
}

static int txn_begin(Pipeline *p) {
        int r;

        if (p->failed)
                return -EIO;
        if (p->in_txn)
                return 0;
        r = store_begin(p->store);
        if (r < 0)
                return r;
        p->in_txn = true;
        return 0;
}

static void job_free(void *data) {
        Job *j = data;

        finding_free(j->finding);
        free(j->app);
        free(j->result);
        free(j);
}

static void job_work(void *data) {
        Job *j = data;
        Analysis a = {};
        AnalyzeContext ctx = { .app = j->app };

        if (analyze_offline(j->finding, j->language, &ctx, &a) >= 0)
                j->result = analysis_format(&a);
        analysis_done(&a);
}

static void job_done(Pool *pool, void *data, void *userdata) {
        Job *j = data;
        Pipeline *p = j->pipeline;
        int r;

        if (!j->result)
                return;
        r = txn_begin(p);
        if (r >= 0)
                r = incident_set_analysis(p->store, j->incident_id, j->result);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot store the analysis of incident #%lld: %m, ignoring",
                                  (long long) j->incident_id);
        else
                p->stats.analyses++;
}

static void throttle(Pipeline *p, bool pause) {
        if (p->stats.throttled == pause)
                return;
        p->stats.throttled = pause;
        if (pause)
                log_notice("Job queue full (%zu jobs): pausing ingestion until it drains.",
                           pool_pending(p->pool));
        else
                log_info("Job queue drained: resuming ingestion.");
        if (p->throttle)
                p->throttle(p, pause, p->throttle_userdata);
}

static int queue_analysis(Pipeline *p, int64_t id, const Finding *f, const char *app) {
        Job *j = calloc(1, sizeof *j);
        Job **d;

        if (!j)
                return -ENOMEM;
        *j = (Job) { .pipeline = p, .incident_id = id, .language = p->language };
        j->app = strdup(app);
        if (!j->app || (f && finding_copy(f, &j->finding) < 0)) {
                job_free(j);
                return -ENOMEM;
        }
        /* Never dropped: if the pool is full the job waits here and the
         * sources pause until the pool drains. */
        if (p->n_deferred == 0 && !pool_is_full(p->pool)) {
                /* On refusal the pool frees j; it cannot refuse while not full. */
                return pool_submit(p->pool, job_work, job_done, job_free, j);
        }
        d = realloc(p->deferred, sizeof(Job *) * (p->n_deferred + 1));
        if (!d) {
                job_free(j);
                return -ENOMEM;
        }
        p->deferred = d;
        p->deferred[p->n_deferred++] = j;
        p->stats.jobs_deferred++;
        throttle(p, true);
        return 0;
}

static void on_pool_drain(Pool *pool, void *userdata) {
        Pipeline *p = userdata;
        size_t i = 0;

        while (i < p->n_deferred && !pool_is_full(pool)) {
                /* A refused job is freed by the pool: it leaves the list
                 * either way (its incident keeps a NULL analysis, and the
                 * next start queues it again). */
                int r = pool_submit(pool, job_work, job_done, job_free, p->deferred[i++]);
                if (r < 0)
                        break;
        }
        memmove(p->deferred, p->deferred + i, sizeof(Job *) * (p->n_deferred - i));
        p->n_deferred -= i;
        if (p->n_deferred == 0)
                throttle(p, false);
}

static int on_finding(DetectEngine *e, const Finding *f, void *userdata) {
        Pipeline *p = userdata;
        Stream *s = stream_find(p, f->stream);
        Occurrence o;
        int64_t id;
        Event *ev;
        int r;

        if (!s)
                return 0;
        r = txn_begin(p);
        if (r < 0)
                return r;
        o = (Occurrence) {
                .fingerprint = f->fingerprint,
                .app = s->app ?: "unknown",
                .host = s->host ?: p->host,
                .category = f->category,
                .severity = f->severity,
                .title = f->title,
                .excerpt = f->excerpt,
                .fix_id = f->fix && strcmp(f->fix, "none") != 0 ? f->fix : NULL,
                .origin = s->origin ?: "file",
                .source = s->source ?: s->key,
                /* The block's first line is still at the front of the ring;
                 * a block of the line being fed is not in it yet. */
                .seen = (int64_t) (s->n_lines > 0 ? s->lines[s->first].realtime : s->last_realtime),
        };
        if (o.seen == 0)
                o.seen = (int64_t) now_realtime();
        r = incident_record(p->store, &o, &id);
        if (r < 0)
                return r;
        p->stats.findings++;
        if (p->collecting) {
                int64_t *c = realloc(p->collected, sizeof(int64_t) * (p->n_collected + 1));
                if (!c)
                        return -ENOMEM;
                p->collected = c;
                p->collected[p->n_collected++] = id;
        }
        if (r == INCIDENT_EVENT_REPEAT) {
                p->stats.repeats++;
                return 0;
        }
        if (r == INCIDENT_EVENT_NEW)
                p->stats.incidents_new++;
        else
                p->stats.regressions++;
        ev = realloc(p->events, sizeof(Event) * (p->n_events + 1));
        if (!ev)
                return -ENOMEM;
        p->events = ev;
        p->events[p->n_events++] = (Event) { .id = id, .event = r };
        return queue_analysis(p, id, f, o.app);
}

static void arm_flush_timer(Pipeline *p) {
        uint64_t t = detect_engine_next_deadline(p->engine);

        if (t == UINT64_MAX) {
                (void) sd_event_source_set_enabled(p->flush_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(p->flush_timer, t);
        (void) sd_event_source_set_enabled(p->flush_timer, SD_EVENT_ONESHOT);
}

/* After the engine took lines: keep only what its open block still holds. */
static void stream_sync(Pipeline *p, Stream *s) {
        stream_trim(s, detect_engine_pending_lines(p->engine, s->key));
}

static int fatal(Pipeline *p, int r, const char *what) {
        /* Crash-only: the last commit is consistent, and a restart resumes
         * from it. Going on would mean losing what this batch read. */
        log_error_errno(r, "Cannot %s: %m. Exiting so that nothing is lost; ingestion resumes "
                        "from the last committed position.", what);
        p->stats.commit_errors++;
        if (p->in_txn)
                (void) store_rollback(p->store);
        p->in_txn = false;
        p->failed = true;
        (void) sd_event_exit(p->event, -r);
        return r;
}

int pipeline_feed(Pipeline *p, const char *stream, const StreamMeta *meta, const char *line,
                  size_t len, uint64_t realtime_usec) {
        Stream *s;
        int r;

        size_t pending;

        r = stream_get(p, stream, meta, &s);
        if (r < 0)
                return r;
        p->stats.lines++;
        s->last_realtime = realtime_usec ?: now_realtime();
        /* The engine's idle clock is ours, not the line's: replayed journal
         * entries are old but must still be assembled. */
        r = detect_engine_feed(p->engine, stream, line, len, now_monotonic(), on_finding, p);
        if (r < 0)
                return fatal(p, r, "record an incident");
        /* Keep a copy only of lines the engine still holds in an open block:
         * the earlier ones were kept when they were fed, this one now. Most
         * lines belong to no block and are never copied. */
        pending = detect_engine_pending_lines(p->engine, stream);
        if (pending > 0) {
                r = stream_push(s, line, len, s->last_realtime);
                if (r < 0)
                        return r;
        }
        stream_trim(s, pending);
        arm_flush_timer(p);
        return 0;
}

static void sync_all(Pipeline *p) {
        for (size_t b = 0; b < p->n_buckets; b++)
                for (Stream *s = p->buckets[b]; s; s = s->next)
                        stream_sync(p, s);
}

int pipeline_flush_stream(Pipeline *p, const char *stream) {
        Stream *s = stream_find(p, stream);
        int r;

        r = detect_engine_flush(p->engine, stream, UINT64_MAX, on_finding, p);
        if (r < 0)
                return fatal(p, r, "record an incident");
        if (s)
                stream_sync(p, s);
        arm_flush_timer(p);
        return 0;
}

static int on_flush_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        Pipeline *p = userdata;
        int r;

        r = detect_engine_flush(p->engine, NULL, now_monotonic(), on_finding, p);
        if (r < 0)
                return fatal(p, r, "record an incident"), 0;
        sync_all(p);
        arm_flush_timer(p);
        return 0;
}

void pipeline_forget_stream(Pipeline *p, const char *stream) {
        Stream **prev = &p->buckets[hash_string(stream) % p->n_buckets];

        detect_engine_forget(p->engine, stream);
        for (Stream *s = *prev; s; prev = &s->next, s = s->next)
                if (strcmp(s->key, stream) == 0) {
                        /* A pending row it may have had must go too. */
                        if (s->n_lines > 0 || s->dirty) {
                                if (txn_begin(p) >= 0)
                                        (void) pending_save(p->store, stream, NULL, NULL, 0, 0);
                        }
                        *prev = s->next;
                        stream_free(s);
                        p->n_streams--;
                        return;
                }
}

void pipeline_collect_begin(Pipeline *p) {
        p->collecting = true;
        p->n_collected = 0;
}

size_t pipeline_collect_count(const Pipeline *p) {
        return p->n_collected;
}

size_t pipeline_collect_end(Pipeline *p, const int64_t **ret_ids) {
        p->collecting = false;
        *ret_ids = p->collected;
        return p->n_collected;
}

static Position *position_slot(Pipeline *p, const char *source) {
        Position *n;

        for (size_t i = 0; i < p->n_positions; i++)
                if (strcmp(p->positions[i].source, source) == 0)
                        return &p->positions[i];
        n = realloc(p->positions, sizeof(Position) * (p->n_positions + 1));
        if (!n)
                return NULL;
        p->positions = n;
        n = &p->positions[p->n_positions];
        *n = (Position) { .source = strdup(source) };
        if (!n->source)
                return NULL;
        p->n_positions++;
        return n;
}

int pipeline_set_position(Pipeline *p, const char *source, const StorePosition *pos) {
        Position *slot = position_slot(p, source);
        char *cursor = NULL;

        if (!slot)
                return -ENOMEM;
        if (pos->cursor && !(cursor = strdup(pos->cursor)))
                return -ENOMEM;
        store_position_done(&slot->pos);
        slot->pos = *pos;
        slot->pos.cursor = cursor;
        slot->drop = false;
        return 0;
}

int pipeline_drop_position(Pipeline *p, const char *source) {
        Position *slot = position_slot(p, source);

        if (!slot)
                return -ENOMEM;
        store_position_done(&slot->pos);
        slot->drop = true;
        return 0;
}

/* Serialises a stream's pending lines: per line a 4-byte LE length and the bytes. */
static int save_pending(Pipeline *p, Stream *s, int64_t now) {
        _cleanup_free_ char *meta = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0, off = 0;
        json_t *m;

        for (size_t i = 0; i < s->n_lines; i++)
                size += 4 + s->lines[(s->first + i) % s->cap_lines].len;
        if (size == 0)
                return pending_save(p->store, s->key, NULL, NULL, 0, now);
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_lines; i++) {
                const Line *l = &s->lines[(s->first + i) % s->cap_lines];
                uint32_t n = (uint32_t) l->len;
                buf[off++] = n & 0xff;
                buf[off++] = (n >> 8) & 0xff;
                buf[off++] = (n >> 16) & 0xff;
                buf[off++] = (n >> 24) & 0xff;
                memcpy(buf + off, l->data, l->len);
                off += l->len;
        }
        m = json_pack("{s:s?, s:s?, s:s?, s:s?}", "app", s->app, "host", s->host, "origin",
                      s->origin, "source", s->source);
        if (!m)
                return -ENOMEM;
        meta = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        if (!meta)
                return -ENOMEM;
        return pending_save(p->store, s->key, meta, buf, size, now);
}

static void emit_events(Pipeline *p) {
        for (size_t i = 0; i < p->n_events; i++) {
                _cleanup_(incident_freep) Incident *inc = NULL;
                if (incident_get(p->store, p->events[i].id, &inc) >= 0)
                        record_incident_event(inc, p->events[i].event);
        }
        p->n_events = 0;
}

int pipeline_commit(Pipeline *p) {
        int64_t now = (int64_t) now_realtime();
        bool work = p->in_txn || p->n_positions > 0;
        int r;

        if (p->failed)
                return -EIO;
        if (p->precommit) {
                r = p->precommit(p, p->precommit_userdata);
                if (r < 0)
                        return fatal(p, r, "collect source positions");
        }
        /* The engine may have finished blocks of streams other than the one
         * fed (evicting the idlest): bring every ring in line first. */
        sync_all(p);
        for (size_t b = 0; b < p->n_buckets && !work; b++)
                for (Stream *s = p->buckets[b]; s && !work; s = s->next)
                        work = s->dirty;
        if (!work)
                return 0;

        r = txn_begin(p);
        if (r < 0)
                return fatal(p, r, "begin a transaction");
        for (size_t b = 0; b < p->n_buckets; b++)
                for (Stream *s = p->buckets[b]; s; s = s->next) {
                        if (!s->dirty)
                                continue;
                        r = save_pending(p, s, now);
                        if (r < 0)
                                return fatal(p, r, "save a pending block");
                        s->dirty = false;
                }
        for (size_t i = 0; i < p->n_positions; i++) {
                Position *pos = &p->positions[i];
                r = pos->drop ? position_delete(p->store, pos->source)
                              : position_save(p->store, pos->source, &pos->pos, now);
                if (r < 0)
                        return fatal(p, r, "save a source position");
                free(pos->source);
                store_position_done(&pos->pos);
        }
        p->n_positions = 0;
        r = store_commit(p->store);
        if (r < 0)
                return fatal(p, r, "commit to the database");
        p->in_txn = false;
        p->stats.commits++;
        emit_events(p);
        return 0;
}

static int on_commit(sd_event_source *es, void *userdata) {
        (void) pipeline_commit(userdata);
        return 0;
}

typedef struct RestoreState {
        Pipeline *p;
        int count;
} RestoreState;

static int restore_one(const char *stream, const char *meta, const void *data, size_t len,
                       void *userdata) {
        RestoreState *st = userdata;
        const uint8_t *d = data;
        json_auto_t *m = json_loads(meta, 0, NULL);
        StreamMeta sm = {
                .app = json_string_value(json_object_get(m, "app")),
                .host = json_string_value(json_object_get(m, "host")),
                .origin = json_string_value(json_object_get(m, "origin")),
                .source = json_string_value(json_object_get(m, "source")),
        };
        size_t off = 0;
        int r;

        while (off + 4 <= len) {
                uint32_t n = (uint32_t) d[off] | (uint32_t) d[off + 1] << 8 |
                             (uint32_t) d[off + 2] << 16 | (uint32_t) d[off + 3] << 24;
                off += 4;
                if (n > len - off) {
                        log_warning("Pending block of stream '%s' is damaged, ignoring the rest.",
                                    stream);
                        break;
                }
                r = pipeline_feed(st->p, stream, &sm, (const char *) d + off, n, 0);
                if (r < 0)
                        return r;
                off += n;
        }
        st->count++;
        return 0;
}

int pipeline_restore(Pipeline *p) {
        RestoreState st = { .p = p };
        int r;

        r = pending_foreach(p->store, restore_one, &st);
        if (r < 0)
                return r;
        if (st.count > 0)
                log_info("Restored %d stream%s with blocks still being assembled.", st.count,
                         st.count == 1 ? "" : "s");

        /* Analyses a crash interrupted: queue them again. */
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0;
        r = incident_list_unanalyzed(p->store, 10000, &ids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(incident_freep) Incident *inc = NULL;
                Finding f = {};
                if (incident_get(p->store, ids[i], &inc) < 0)
                        continue;
                /* Enough of the finding for the offline analyzer. */
                f.category = inc->category;
                f.severity = inc->severity;
                f.fix = inc->fix_id ?: (char *) "none";
                f.title = inc->title;
                f.excerpt = inc->excerpt;
                f.stream = (char *) "";
                memcpy(f.fingerprint, inc->fingerprint,
                       strnlen(inc->fingerprint, DETECT_FINGERPRINT_HEX_LEN));
                r = queue_analysis(p, inc->id, &f, inc->app);
                if (r < 0)
                        return r;
        }
        return st.count;
}

int pipeline_resolve_app(Pipeline *p, const char *app, const char *origin) {
        int r;

        r = txn_begin(p);
        if (r < 0)
                return r;
        return incident_resolve_app(p->store, app, origin, (int64_t) now_realtime());
}

int pipeline_set_status(Pipeline *p, int64_t id, IncidentStatus status) {
        _cleanup_(incident_freep) Incident *inc = NULL;
        int r;

        /* Its own transaction, so the reply means it is on disk. */
        r = pipeline_commit(p);
        if (r < 0)
                return r;
        r = incident_set_status(p->store, id, status, (int64_t) now_realtime());
        if (r > 0 && incident_get(p->store, id, &inc) >= 0)
                record_incident_event(inc, INCIDENT_EVENT_STATUS);
        return r;
}

int pipeline_set_rules(Pipeline *p, DetectRules *rules) {
        DetectOptions dopts = { .max_line_length = p->max_line };
        DetectEngine *e;
        int r;

        r = detect_engine_new(rules, &dopts, &e);
        if (r < 0)
                return r;
        /* Open blocks are finished under the rules they started with. */
        r = detect_engine_flush(p->engine, NULL, UINT64_MAX, on_finding, p);
        if (r < 0) {
                detect_engine_free(e);
                return fatal(p, r, "record an incident");
        }
        sync_all(p);
        detect_engine_free(p->engine);
        p->engine = e;
        detect_rules_unref(p->rules);
        p->rules = detect_rules_ref(rules);
        arm_flush_timer(p);
        return 0;
}

void pipeline_get_stats(const Pipeline *p, PipelineStats *ret) {
        *ret = p->stats;
}

void pipeline_set_precommit(Pipeline *p, PipelinePrecommitFunc f, void *userdata) {
        p->precommit = f;
        p->precommit_userdata = userdata;
}

void pipeline_set_throttle(Pipeline *p, PipelineThrottleFunc f, void *userdata) {
        p->throttle = f;
        p->throttle_userdata = userdata;
}

int pipeline_new(sd_event *event, Store *store, Pool *pool, DetectRules *rules,
                 const PipelineOptions *o, Pipeline **ret) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        DetectOptions dopts = { .max_line_length = o->max_line };
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *p = (Pipeline) {
                .event = sd_event_ref(event),
                .store = store,
                .pool = pool,
                .rules = detect_rules_ref(rules),
                .language = o->language,
                .max_line = o->max_line,
                .n_buckets = 64,
        };
        p->host = strdup(o->host ?: "localhost");
        p->buckets = calloc(p->n_buckets, sizeof(Stream *));
        if (!p->host || !p->buckets)
                return -ENOMEM;
        r = detect_engine_new(p->rules, &dopts, &p->engine);
        if (r < 0)
                return r;
        /* Commit once per loop iteration that did something: a post source.
         * It stays enabled: one enabled only from inside a dispatch is not
         * run for that dispatch, which left batches uncommitted until the
         * next event. With nothing to do a commit returns at once, and post
         * sources never wake the loop by themselves. */
        r = sd_event_add_post(event, &p->commit_source, on_commit, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->commit_source, "pipeline-commit");
        r = sd_event_add_time(event, &p->flush_timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
                              on_flush_timer, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->flush_timer, "pipeline-idle-flush");
        (void) sd_event_source_set_enabled(p->flush_timer, SD_EVENT_OFF);
        pool_set_userdata(pool, p, on_pool_drain);
        *ret = TAKE_PTR(p);
        return 0;
}

Pipeline *pipeline_free(Pipeline *p) {
        if (!p)
                return NULL;
        if (p->in_txn)
                (void) store_rollback(p->store);
        for (size_t b = 0; b < p->n_buckets; b++)
                while (p->buckets && p->buckets[b]) {
                        Stream *s = p->buckets[b];
                        p->buckets[b] = s->next;
                        stream_free(s);
                }
        free(p->buckets);
        for (size_t i = 0; i < p->n_positions; i++) {
                free(p->positions[i].source);
                store_position_done(&p->positions[i].pos);
        }
        free(p->positions);
        free(p->events);
        free(p->collected);
        for (size_t i = 0; i < p->n_deferred; i++)
                job_free(p->deferred[i]);
        free(p->deferred);
        sd_event_source_disable_unref(p->commit_source);
        sd_event_source_disable_unref(p->flush_timer);
        detect_engine_free(p->engine);
        detect_rules_unref(p->rules);
        sd_event_unref(p->event);
        free(p->host);
        free(p);
        return NULL;
}
