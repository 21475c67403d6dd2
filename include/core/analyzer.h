/* SPDX-License-Identifier: MIT */
/*
 * Analysis of new incidents and regressions on the pool's analyze lane.
 * It listens on the incident bus; once the incident is committed it queues
 * a job and writes the result back through the transaction owner. The job
 * always computes the offline analysis; with a Gemini key it also asks
 * Gemini (analyze/gemini-client.h), unless the answer is cached (per
 * fingerprint, model, language, prompt and redaction version, across
 * restarts; a failure whose call is in flight waits for it), the
 * budget is spent, the key or model was refused (one High incident of
 * appwatch's own; no calls until a reload or analyzer_gemini_unblock()) or
 * a 429's retryDelay has not passed. Then, and on any failure of the call,
 * the offline analysis is stored, with the reason in analysis_note. Work is never dropped: when
 * the lane is full, jobs wait here in order and the owner is told to pause
 * ingestion (the throttle callback) until the lane drains. An incident
 * without an analysis is durable work: analyzer_restore() queues those
 * again at start, so jobs dropped at a stop or a crash are not lost.
 * Loop thread only (the jobs run on workers with copies of their inputs).
 */
#pragma once

#include <stdbool.h>
#include <jansson.h>
#include <stdint.h>

#include "core/incident-bus.h"
#include "core/pool.h"
#include "core/txn.h"
#include "detect/category.h"
#include "shared/config.h"
#include "store/incidents.h"

typedef struct Analyzer Analyzer;

typedef struct AnalyzerGemini {
        const char *api_key;        /* a secret; NULL: offline analysis only */
        const char *model;
        const char *endpoint;
        usec_t timeout;             /* of one call */
        unsigned daily_budget;      /* calls in 24 h; 0: no calls */
        unsigned max_calls_per_hour;  /* 0: no calls */
        unsigned max_output_tokens;
} AnalyzerGemini;

typedef struct AnalyzerOptions {
        Language language;
        const char *host;           /* this machine, for appwatch's own incidents */
        AnalyzerGemini gemini;
        /* For an app's kind and BuildCommand= in the prompt; NULL: none.
         * Kept (not copied): pass the new one with analyzer_set_options()
         * before the old one is freed. */
        const Config *config;
} AnalyzerOptions;

/* A reload: new options (strings are copied). A key or model that Gemini
 * refused is tried again. */
int analyzer_set_options(Analyzer *a, const AnalyzerOptions *o);

/* Lets analyses call Gemini again after it refused the key or the model (a
 * health check found that the key works). */
void analyzer_gemini_unblock(Analyzer *a);

/* Whether Gemini calls are held because the key or the model was refused;
 * *ret_reason (may be NULL) gets the reason, owned by the analyzer. */
bool analyzer_gemini_blocked(const Analyzer *a, const char **ret_reason);

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
        const char *veto;           /* why a fix the rules would run by itself does not run:
                                     * the AI switched it off, or answered in a way that
                                     * cannot be trusted (a fix id outside the catalogue, a
                                     * shell string, not JSON, a safety block); NULL when
                                     * none. The fixer refuses with it: Manual Required */
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
        uint64_t ai_calls;          /* requests sent to Gemini */
        uint64_t ai_cache_hits;     /* analyses answered from the cache */
        uint64_t ai_fallbacks;      /* analyses stored offline while a key is set */
        uint64_t jobs_deferred;     /* jobs that had to wait for room in the lane */
        size_t waiting;             /* waiting now */
        bool throttled;
} AnalyzerStats;
void analyzer_get_stats(const Analyzer *a, AnalyzerStats *ret);

/* For `appwatchctl status`: {"state": "off"|"on"|"blocked"|"quota", "model",
 * "reason" (blocked, quota), "until" (quota, µs), "calls_hour", "calls_day",
 * "max_calls_per_hour", "daily_budget", "calls", "cache_hits", "fallbacks"}.
 * NULL on OOM or a store error. */
json_t *analyzer_status_json(Analyzer *a);
