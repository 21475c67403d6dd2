/* SPDX-License-Identifier: MIT */
/*
 * Analysis of new incidents and regressions on the pool's analyze lane.
 * It listens on the incident bus; once the incident is committed it queues
 * a job (the offline analyzer today; Gemini joins it later) and writes the
 * result back through the transaction owner. Work is never dropped: when
 * the lane is full, jobs wait here in order and the owner is told to pause
 * ingestion (the throttle callback) until the lane drains. An incident
 * without an analysis is durable work: analyzer_restore() queues those
 * again at start, so jobs dropped at a stop or a crash are not lost.
 * Loop thread only (the jobs run on workers with copies of their inputs).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/incident-bus.h"
#include "core/pool.h"
#include "core/txn.h"
#include "detect/category.h"
#include "store/incidents.h"

typedef struct Analyzer Analyzer;

typedef struct AnalyzerOptions {
        Language language;
} AnalyzerOptions;

/* Pauses (pause=true) or resumes ingestion. */
typedef void (*AnalyzerThrottleFunc)(Analyzer *a, bool pause, void *userdata);

int analyzer_new(Txn *txn, Store *store, Pool *pool, IncidentBus *bus, const AnalyzerOptions *o,
                 Analyzer **ret);
/*
 * Jobs still waiting are dropped (their incidents stay unanalyzed). Free the
 * pool first: its last done() callbacks still use the analyzer.
 */
Analyzer *analyzer_free(Analyzer *a);
DEFINE_CLEANUP(Analyzer, analyzer_free)

void analyzer_set_throttle(Analyzer *a, AnalyzerThrottleFunc f, void *userdata);

/*
 * What an analysis concluded about acting on an incident: the fixer's input.
 * fix is the rules' fix id (the AI never adds one, see analyze/gemini.h);
 * auto_fix says whether it may run without being asked.
 */
typedef struct AnalyzerVerdict {
        int64_t incident_id;
        const char *app;
        const char *fingerprint;
        const char *fix;            /* "flutter_clean", "pip_install:PyYAML", or "none" */
        bool auto_fix;
        const char *source;         /* "offline" or "gemini" */
} AnalyzerVerdict;

/* Called on the loop once an analysis is stored, inside the open
 * transaction (work started from it belongs in a post-commit hook). */
typedef void (*AnalyzerVerdictFunc)(Analyzer *a, const AnalyzerVerdict *v, void *userdata);
void analyzer_set_verdict_callback(Analyzer *a, AnalyzerVerdictFunc f, void *userdata);

/* The pool was freed (stopping): queue nothing more. */
void analyzer_detach(Analyzer *a);

/* Queues every incident without an analysis. Returns how many, or -errno. */
int analyzer_restore(Analyzer *a);

typedef struct AnalyzerStats {
        uint64_t analyses;          /* results stored */
        uint64_t jobs_deferred;     /* jobs that had to wait for room in the lane */
        size_t waiting;             /* waiting now */
        bool throttled;
} AnalyzerStats;
void analyzer_get_stats(const Analyzer *a, AnalyzerStats *ret);
