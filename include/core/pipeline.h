/* SPDX-License-Identifier: MIT */
/*
 * The pipeline from lines to incidents, on the loop thread. Sources feed
 * lines per stream; the detection engine assembles and classifies them; each
 * finding becomes an occurrence of an incident in the store. Everything one
 * loop iteration produced — incidents, occurrences, the positions the
 * sources reached, and the lines of blocks still being assembled — is
 * committed in one transaction (a post source), so a crash at any point
 * neither loses nor repeats an incident. After the commit each incident
 * event gets a structured journal record, and new incidents and regressions
 * are queued for analysis on the worker pool; a full queue pauses the
 * sources (never drops) until it drains.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/pool.h"
#include "detect/category.h"
#include "detect/rules.h"
#include "shared/cleanup.h"
#include "store/incidents.h"

typedef struct Pipeline Pipeline;

/* Who a stream's lines belong to. Strings are copied. */
typedef struct StreamMeta {
        const char *app;          /* NULL: "unknown" */
        const char *host;         /* NULL: this machine */
        const char *origin;       /* journal, file, run, unit, submit */
        const char *source;       /* a path, a unit, a command */
} StreamMeta;

typedef struct PipelineOptions {
        const char *host;                 /* this machine's name */
        Language language;
        size_t max_line;                  /* 0: the engine's default */
} PipelineOptions;

/* Pauses (pause=true) or resumes every source; set by the manager. */
typedef void (*PipelineThrottleFunc)(Pipeline *p, bool pause, void *userdata);

/* Takes a reference on rules. Returns 0 or -errno. */
int pipeline_new(sd_event *event, Store *store, Pool *pool, DetectRules *rules,
                 const PipelineOptions *o, Pipeline **ret);
Pipeline *pipeline_free(Pipeline *p);
DEFINE_CLEANUP(Pipeline, pipeline_free)

void pipeline_set_throttle(Pipeline *p, PipelineThrottleFunc f, void *userdata);

/* Called at the start of every commit, so sources can hand over positions. */
typedef int (*PipelinePrecommitFunc)(Pipeline *p, void *userdata);
void pipeline_set_precommit(Pipeline *p, PipelinePrecommitFunc f, void *userdata);

/*
 * Feeds pending blocks saved by the last run to the engine again; call once
 * before any source starts. Returns the number of streams restored.
 */
int pipeline_restore(Pipeline *p);

/* Feeds one line (no newline) of a stream. Returns 0 or -errno (store failure). */
int pipeline_feed(Pipeline *p, const char *stream, const StreamMeta *meta, const char *line,
                  size_t len, uint64_t realtime_usec);

/* Finishes the stream's open block now (end of a wrapped command, deleted file). */
int pipeline_flush_stream(Pipeline *p, const char *stream);

/* Forgets a finished stream (a wrapped command, a closed file): flush it first. */
void pipeline_forget_stream(Pipeline *p, const char *stream);

/*
 * Between these two calls the incident ids of all findings are collected
 * (e.g. to answer a submission). The array stays owned by the pipeline,
 * valid until the next pipeline_collect_begin().
 */
void pipeline_collect_begin(Pipeline *p);
/* How many have been collected so far. */
size_t pipeline_collect_count(const Pipeline *p);
size_t pipeline_collect_end(Pipeline *p, const int64_t **ret_ids);

/* Records where a source stands; saved with the next commit. pos is copied. */
int pipeline_set_position(Pipeline *p, const char *source, const StorePosition *pos);
/* Forgets a source's position at the next commit (a deleted file). */
int pipeline_drop_position(Pipeline *p, const char *source);

/*
 * Switches to new rules (a reload): open blocks are finished with the old
 * ones first. Takes a reference on rules. Returns 0 or -errno.
 */
int pipeline_set_rules(Pipeline *p, DetectRules *rules);

/* Commits the current batch now (also done automatically once per loop iteration). */
int pipeline_commit(Pipeline *p);

/*
 * Resolves app's incidents of origin (a successful wrapped run) in the
 * current batch; returns how many.
 */
int pipeline_resolve_app(Pipeline *p, const char *app, const char *origin);
/* Sets one incident's status from the control socket; as incident_set_status. */
int pipeline_set_status(Pipeline *p, int64_t id, IncidentStatus status);

typedef struct PipelineStats {
        uint64_t lines, findings, incidents_new, repeats, regressions, commits, commit_errors;
        uint64_t jobs_deferred, analyses;
        bool throttled;
} PipelineStats;
void pipeline_get_stats(const Pipeline *p, PipelineStats *ret);
