/* SPDX-License-Identifier: MIT */
/*
 * Lines to incidents; see pipeline.h. The per-stream state lives in the
 * engine; what the pipeline attaches to a stream is its Stream: who the
 * lines belong to and whether a saved block of it may be in the store.
 * When the engine drops a stream whose block was saved, its key goes on the
 * dead list, and the next commit deletes that row. Loop thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pipeline.h"
#include "detect/engine.h"
#include "shared/catalog-ids.h"
#include "shared/log.h"
#include "shared/parse.h"
#include "shared/protocol.h"
#include "shared/utf8.h"

/* The format of saved blocks: 2 adds each line's wall-clock time. */
#define PENDING_FORMAT 2

typedef struct Stream {
        Pipeline *pipeline;
        char *key;
        char *app, *host, *origin, *source;
        bool saved;                 /* a pending row of it may be in the store */
} Stream;

struct Pipeline {
        sd_event *event;
        Txn *txn;
        Store *store;
        IncidentBus *bus;
        DetectRules *rules;
        DetectEngine *engine;
        TxnHook *hook;
        sd_event_source *flush_timer;
        char *host;
        size_t max_line, max_streams;
        size_t n_streams;
        size_t n_disabled_logged;   /* rules of this engine disabled and logged so far */

        char **dead;                /* keys whose saved rows must go at the next commit */
        size_t n_dead;
        bool freeing;

        char *collect_stream;       /* collecting the incident ids of this stream's findings */
        int64_t *collected;
        size_t n_collected;

        PipelineStats stats;
};

static void stream_free(void *data) {
        Stream *s = data;
        Pipeline *p = s->pipeline;

        p->n_streams--;
        if (s->saved && !p->freeing) {
                char **d = realloc(p->dead, sizeof(char *) * (p->n_dead + 1));
                if (d) {
                        p->dead = d;
                        p->dead[p->n_dead++] = TAKE_PTR(s->key);
                } else
                        /* The row stays; it is fed again, harmlessly late, at the
                         * next start. */
                        log_oom();
        }
        free(s->key);
        free(s->app);
        free(s->host);
        free(s->origin);
        free(s->source);
        free(s);
}

static int set_str(char **field, const char *v) {
        char *c;

        /* Called for every line: copy only what changed. A name that came
         * from outside (a file name, a unit, a host) is made valid UTF-8
         * here, once, before it can reach JSON or the database. */
        if (v && *field && strcmp(*field, v) == 0)
                return 0;
        c = utf8_dup(v);
        if (v && !c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

static int on_finding(DetectEngine *e, const Finding *f, void *userdata);

/* Finds or creates the stream; refreshes who it belongs to when meta is given. */
static int stream_get(Pipeline *p, const char *key, const StreamMeta *meta, Stream **ret) {
        Stream *s = detect_engine_get_stream_data(p->engine, key);
        int r;

        if (!s) {
                s = calloc(1, sizeof *s);
                if (!s)
                        return -ENOMEM;
                *s = (Stream) { .pipeline = p, .key = strdup(key) };
                if (!s->key) {
                        free(s);
                        return -ENOMEM;
                }
                p->n_streams++;
                /* May finish the idlest stream's block (on_finding); from here
                 * on the engine owns s. */
                r = detect_engine_set_stream_data(p->engine, key, s, on_finding, p);
                if (r < 0) {
                        stream_free(s);
                        return r;
                }
        }
        if (meta && (set_str(&s->app, meta->app ?: "unknown") < 0 ||
                     set_str(&s->host, meta->host ?: p->host) < 0 ||
                     set_str(&s->origin, meta->origin ?: "file") < 0 ||
                     set_str(&s->source, meta->source ?: key) < 0))
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int collect(Pipeline *p, const Finding *f, int64_t id) {
        int64_t *c;

        if (!p->collect_stream || strcmp(f->stream, p->collect_stream) != 0)
                return 0;
        c = realloc(p->collected, sizeof(int64_t) * (p->n_collected + 1));
        if (!c)
                return -ENOMEM;
        p->collected = c;
        p->collected[p->n_collected++] = id;
        return 0;
}

static int on_finding(DetectEngine *e, const Finding *f, void *userdata) {
        Pipeline *p = userdata;
        Stream *s = detect_engine_get_stream_data(e, f->stream);
        IncidentNotice n;
        Occurrence o;
        int64_t id, count = 0;
        int r;

        if (!s)
                return 0;
        r = txn_begin(p->txn);
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
                .seen = (int64_t) f->realtime_usec,
        };
        if (o.seen == 0)
                o.seen = (int64_t) now_realtime();
        r = incident_record_counted(p->store, &o, &id, &count);
        if (r < 0)
                return r;
        p->stats.findings++;
        switch ((IncidentEvent) r) {
        case INCIDENT_EVENT_NEW:
                p->stats.incidents_new++;
                break;
        case INCIDENT_EVENT_REPEAT:
                p->stats.repeats++;
                break;
        case INCIDENT_EVENT_REGRESSION:
                p->stats.regressions++;
                break;
        case INCIDENT_EVENT_STATUS:
        case _INCIDENT_EVENT_MAX:
        case _INCIDENT_EVENT_INVALID:
                return -EINVAL;
        }
        n = (IncidentNotice) {
                .event = (IncidentEvent) r,
                .id = id,
                /* A repeat leaves the status as it was, which is not known here. */
                .status = (IncidentEvent) r == INCIDENT_EVENT_REPEAT ? _INCIDENT_STATUS_INVALID
                                                                     : INCIDENT_NEW,
                .count = count,
                .app = o.app,
                .finding = f,
        };
        r = collect(p, f, id);
        if (r < 0)
                return r;
        return incident_bus_publish(p->bus, &n);
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

int pipeline_feed(Pipeline *p, const char *stream, const StreamMeta *meta, const char *line,
                  size_t len, uint64_t realtime_usec) {
        Stream *s;
        int r;

        if (txn_failed(p->txn))
                return -EIO;
        r = stream_get(p, stream, meta, &s);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return txn_fatal(p->txn, r, "record an incident");
        p->stats.lines++;
        /* The engine's idle clock is ours, not the line's: replayed journal
         * entries are old but must still be assembled. */
        r = detect_engine_feed_at(p->engine, stream, line, len, now_monotonic(),
                                  realtime_usec ?: now_realtime(), on_finding, p);
        if (r < 0)
                return txn_fatal(p->txn, r, "record an incident");
        arm_flush_timer(p);
        return 0;
}

int pipeline_flush_stream(Pipeline *p, const char *stream) {
        int r;

        r = detect_engine_flush(p->engine, stream, UINT64_MAX, on_finding, p);
        if (r < 0)
                return txn_fatal(p->txn, r, "record an incident");
        arm_flush_timer(p);
        return 0;
}

static int on_flush_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        Pipeline *p = userdata;
        int r;

        r = detect_engine_flush(p->engine, NULL, now_monotonic(), on_finding, p);
        if (r < 0)
                return txn_fatal(p->txn, r, "record an incident"), 0;
        arm_flush_timer(p);
        return 0;
}

void pipeline_forget_stream(Pipeline *p, const char *stream) {
        /* Frees its Stream, which puts a saved row on the dead list. */
        detect_engine_forget(p->engine, stream);
        arm_flush_timer(p);
}

int pipeline_collect_begin(Pipeline *p, const char *stream) {
        char *c = strdup(stream);

        if (!c)
                return -ENOMEM;
        free(p->collect_stream);
        p->collect_stream = c;
        p->n_collected = 0;
        return 0;
}

size_t pipeline_collect_count(const Pipeline *p) {
        return p->n_collected;
}

size_t pipeline_collect_end(Pipeline *p, const int64_t **ret_ids) {
        free(p->collect_stream);
        p->collect_stream = NULL;
        *ret_ids = p->collected;
        return p->n_collected;
}

/* Saves one stream's open block (len 0: none is open any more). */
static int save_pending(const char *key, void *data, const void *lines, size_t len,
                        void *userdata) {
        Pipeline *p = userdata;
        Stream *s = data;
        _cleanup_free_ char *meta = NULL;
        int64_t now = (int64_t) now_realtime();
        json_t *m;
        int r;

        if (!s)
                return 0;
        if (len == 0 && !s->saved)
                return 0;     /* opened and finished within one batch */
        r = txn_begin(p->txn);
        if (r < 0)
                return r;
        if (len == 0) {
                r = pending_save(p->store, key, NULL, NULL, 0, now);
                if (r >= 0)
                        s->saved = false;
                return r;
        }
        m = json_pack("{s:i, s:s?, s:s?, s:s?, s:s?}", "format", PENDING_FORMAT, "app", s->app,
                      "host", s->host, "origin", s->origin, "source", s->source);
        if (!m)
                return -ENOMEM;
        meta = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        if (!meta)
                return -ENOMEM;
        r = pending_save(p->store, key, meta, lines, len, now);
        if (r >= 0)
                s->saved = true;
        return r;
}

/* One record per rule the engine disabled since the last call. */
static void log_disabled_rules(Pipeline *p) {
        DetectDisabledRule d;

        while (detect_engine_get_disabled_rule(p->engine, p->n_disabled_logged, &d) >= 0) {
                _cleanup_free_ char *field = NULL, *file = utf8_dup(d.file ?: "?");
                const char *fields[] = { NULL, "APPWATCH_RESULT=disabled", NULL };

                p->n_disabled_logged++;
                if (asprintf(&field, "APPWATCH_RULE=%s", d.name) < 0)
                        field = NULL;
                fields[0] = field;
                log_event(LOG_WARNING, MESSAGE_ID_RULE_DISABLED, field ? fields : NULL,
                          "Rule '%s' (%s:%u) hit PCRE2's match limits %" PRIu64 " times in at "
                          "most %u tries, disabling it until the next reload; rewrite its "
                          "pattern so that it cannot backtrack without bound.",
                          d.name, file ?: "?", d.line, d.limit_hits, DETECT_RULE_LIMIT_WINDOW);
        }
}

static int on_precommit(Txn *t, void *userdata) {
        Pipeline *p = userdata;
        int r;

        /* Here rather than after each feed: every path that runs the rules
         * (lines, the idle flush, replays) ends in this commit. */
        log_disabled_rules(p);

        /* Rows of dropped streams first: a stream of the same key made
         * since then saves its own row after. */
        for (size_t i = 0; i < p->n_dead; i++) {
                r = txn_begin(t);
                if (r >= 0)
                        r = pending_save(p->store, p->dead[i], NULL, NULL, 0, 0);
                if (r < 0)
                        return txn_fatal(t, r, "delete a pending block");
        }
        for (size_t i = 0; i < p->n_dead; i++)
                free(p->dead[i]);
        p->n_dead = 0;
        r = detect_engine_foreach_dirty(p->engine, save_pending, p);
        if (r < 0)
                return txn_fatal(t, r, "save a pending block");
        return 0;
}

typedef struct RestoreState {
        Pipeline *p;
        int count;
} RestoreState;

/* The format of the first release: per line a 4-byte LE length and the bytes. */
static int restore_format1(Pipeline *p, const char *key, const uint8_t *d, size_t len) {
        size_t off = 0;
        int r;

        while (off + 4 <= len) {
                uint32_t n = (uint32_t) d[off] | (uint32_t) d[off + 1] << 8 |
                             (uint32_t) d[off + 2] << 16 | (uint32_t) d[off + 3] << 24;
                off += 4;
                if (n > len - off)
                        return -EBADMSG;
                r = detect_engine_feed_at(p->engine, key, (const char *) d + off, n,
                                          now_monotonic(), now_realtime(), on_finding, p);
                if (r < 0)
                        return r;
                off += n;
        }
        return 0;
}

static int restore_one(const char *key, const char *meta, const void *data, size_t len,
                       void *userdata) {
        RestoreState *st = userdata;
        Pipeline *p = st->p;
        json_auto_t *m = json_loads(meta, 0, NULL);
        StreamMeta sm = {
                .app = json_string_value(json_object_get(m, "app")),
                .host = json_string_value(json_object_get(m, "host")),
                .origin = json_string_value(json_object_get(m, "origin")),
                .source = json_string_value(json_object_get(m, "source")),
        };
        json_int_t format = json_integer_value(json_object_get(m, "format"));
        Stream *s;
        int r;

        r = stream_get(p, key, &sm, &s);
        if (r < 0)
                return r;
        s->saved = true;
        if (format == PENDING_FORMAT)
                r = detect_engine_replay(p->engine, key, data, len, now_monotonic(), on_finding, p);
        else
                r = restore_format1(p, key, data, len);
        if (r == -EBADMSG)
                log_warning("Pending block of stream '%s' is damaged, ignoring the rest.", key);
        else if (r < 0)
                return r;
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
        arm_flush_timer(p);
        return st.count;
}

static int engine_new(Pipeline *p, DetectRules *rules, DetectEngine **ret) {
        DetectOptions o = {
                .max_line_length = p->max_line,
                .max_streams = p->max_streams,
                .stream_data_free = stream_free,
        };

        return detect_engine_new(rules, &o, ret);
}

int pipeline_set_rules(Pipeline *p, DetectRules *rules) {
        DetectEngine *e;
        int r;

        /* Built first: a failure leaves the running rules as they were. */
        r = engine_new(p, rules, &e);
        if (r < 0)
                return r;
        /* Open blocks are finished under the rules they started with; their
         * streams are then dropped with the old engine (their saved rows
         * deleted) and made again, on the new one, by their next line. */
        r = detect_engine_flush(p->engine, NULL, UINT64_MAX, on_finding, p);
        if (r < 0) {
                detect_engine_free(e);
                return txn_fatal(p->txn, r, "record an incident");
        }
        log_disabled_rules(p);
        detect_engine_free(p->engine);
        p->engine = e;
        p->n_disabled_logged = 0;
        detect_rules_unref(p->rules);
        p->rules = detect_rules_ref(rules);
        arm_flush_timer(p);
        return 0;
}

void pipeline_get_stats(const Pipeline *p, PipelineStats *ret) {
        DetectStats ds;

        detect_engine_get_stats(p->engine, &ds);
        *ret = p->stats;
        ret->streams = p->n_streams;
        ret->rules_disabled = (size_t) ds.rules_disabled;
}

int pipeline_get_disabled_rule(const Pipeline *p, size_t n, DetectDisabledRule *ret) {
        return detect_engine_get_disabled_rule(p->engine, n, ret);
}

int pipeline_new(sd_event *event, Txn *txn, Store *store, IncidentBus *bus, DetectRules *rules,
                 const PipelineOptions *o, Pipeline **ret) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *p = (Pipeline) {
                .event = sd_event_ref(event),
                .txn = txn,
                .store = store,
                .bus = bus,
                .rules = detect_rules_ref(rules),
                .max_line = o->max_line,
                .max_streams = o->max_streams,
        };
        p->host = strdup(o->host ?: "localhost");
        if (!p->host)
                return -ENOMEM;
        r = engine_new(p, p->rules, &p->engine);
        if (r < 0)
                return r;
        r = txn_add_hook(txn, TXN_HOOK_PRECOMMIT, TXN_PRIORITY_DEFAULT, on_precommit, p, NULL,
                         &p->hook);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &p->flush_timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
                              on_flush_timer, p);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(p->flush_timer, "pipeline-idle-flush");
        (void) sd_event_source_set_enabled(p->flush_timer, SD_EVENT_OFF);
        *ret = TAKE_PTR(p);
        return 0;
}

Pipeline *pipeline_free(Pipeline *p) {
        if (!p)
                return NULL;
        /* The saved rows stay: they are the blocks to feed again at the next
         * start. */
        p->freeing = true;
        detect_engine_free(p->engine);
        txn_hook_free(p->hook);
        for (size_t i = 0; i < p->n_dead; i++)
                free(p->dead[i]);
        free(p->dead);
        free(p->collect_stream);
        free(p->collected);
        sd_event_source_disable_unref(p->flush_timer);
        detect_rules_unref(p->rules);
        sd_event_unref(p->event);
        free(p->host);
        free(p);
        return NULL;
}
