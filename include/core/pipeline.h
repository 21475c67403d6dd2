/* SPDX-License-Identifier: MIT */
/*
 * The pipeline from lines to incidents, on the loop thread. Sources feed
 * lines per stream; the detection engine assembles and classifies them; each
 * finding becomes an occurrence of an incident in the store, written in the
 * transaction of core/txn.h, and an IncidentNotice on the incident bus (new,
 * repeat, regression) for whoever acts on incidents.
 *
 * The engine owns the streams and the lines of their open blocks; the
 * pipeline attaches who a stream belongs to, and at every commit saves the
 * open blocks that changed (the pending_blocks table), so a restart feeds
 * them again and a block split by a restart is still one finding. A stream
 * is forgotten, and its saved block deleted, when its source is done with
 * it (a closed file, a finished submission) or the engine evicts it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "core/incident-bus.h"
#include "core/txn.h"
#include "detect/engine.h"
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
        size_t max_line;                  /* 0: the engine's default */
        size_t max_streams;               /* 0: the engine's default */
} PipelineOptions;

/* Takes a reference on rules; registers a pre-commit hook on txn. */
int pipeline_new(sd_event *event, Txn *txn, Store *store, IncidentBus *bus, DetectRules *rules,
                 const PipelineOptions *o, Pipeline **ret);
Pipeline *pipeline_free(Pipeline *p);
DEFINE_CLEANUP(Pipeline, pipeline_free)

/*
 * Feeds pending blocks saved by the last run to the engine again; call once
 * before any source starts. Returns the number of streams restored.
 */
int pipeline_restore(Pipeline *p);

/*
 * Feeds one line (no newline) of a stream, with its wall-clock time (0:
 * now). Returns 0 or -errno (a store failure, which has stopped the loop).
 */
int pipeline_feed(Pipeline *p, const char *stream, const StreamMeta *meta, const char *line,
                  size_t len, uint64_t realtime_usec);

/* Finishes the stream's open block now (end of a wrapped command, closed file). */
int pipeline_flush_stream(Pipeline *p, const char *stream);

/* Forgets a finished stream (a wrapped command, a closed file): flush it first. */
void pipeline_forget_stream(Pipeline *p, const char *stream);

/*
 * Between these two calls the incident ids of the findings of one stream
 * are collected (to answer a submission); findings of other streams, e.g.
 * finished by an eviction meanwhile, are not. The array stays owned by the
 * pipeline, valid until the next pipeline_collect_begin().
 */
int pipeline_collect_begin(Pipeline *p, const char *stream);
size_t pipeline_collect_count(const Pipeline *p);
size_t pipeline_collect_end(Pipeline *p, const int64_t **ret_ids);

/*
 * Switches to new rules (a reload): open blocks are finished with the old
 * ones first. Takes a reference on rules. Returns 0 or -errno.
 */
int pipeline_set_rules(Pipeline *p, DetectRules *rules);

typedef struct PipelineStats {
        uint64_t lines, findings, incidents_new, repeats, regressions;
        size_t streams;
        size_t rules_disabled;    /* by their match budget, since the last reload */
} PipelineStats;
void pipeline_get_stats(const Pipeline *p, PipelineStats *ret);

/*
 * The n-th rule (n < PipelineStats.rules_disabled) the engine gave up on
 * because it kept hitting PCRE2's limits (see DETECT_RULE_LIMIT_HITS). Each
 * is logged once (RULE_DISABLED) at the commit after it happened; the
 * rules are tried again after the next reload. The strings are valid until
 * the next reload. Returns 0 or -ENOENT.
 */
int pipeline_get_disabled_rule(const Pipeline *p, size_t n, DetectDisabledRule *ret);
