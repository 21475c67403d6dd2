/* SPDX-License-Identifier: MIT */
/*
 * The fixer: decides whether an incident's catalogue fix runs, runs it and
 * then its verification through the FixRunner, and settles the incident
 * (Resolved, or Manual Required with the reason) through the lifecycle, so
 * that Slack and Notion hear of it like of any other status change.
 *
 * Input: the analyzer's verdicts (automatic: auto_fix set by the rules and
 * the analysis) and `appwatchctl fix` (on request: AutoFix= does not apply,
 * the backoff does not either; every other switch does). Each decision is a
 * fix_attempts row (store/fixes.h): refused and dry_run rows end at once;
 * the others are queued and run one at a time per app, oldest first. A unit
 * starts only after the row saying it runs is committed, so a crash never
 * leaves a unit the store does not know of; at start, fixer_restore()
 * follows running units again (unit runner) or marks them lost, and queues
 * what was waiting.
 *
 * A failed automatic attempt backs off per (app, fingerprint): the next one
 * not before FIXER_BACKOFF_BASE * 2^(failures - 1) (at most
 * FIXER_BACKOFF_MAX), and none after [Fix] MaxAttempts= failures.
 *
 * Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <systemd/sd-event.h>

#include "core/analyzer.h"
#include "core/incident-bus.h"
#include "core/txn.h"
#include "fix/runner.h"
#include "shared/config.h"
#include "store/store.h"

#define FIXER_BACKOFF_BASE (10 * 60 * INT64_C(1000000))
#define FIXER_BACKOFF_MAX (24 * 3600 * INT64_C(1000000))

typedef struct Fixer Fixer;

/*
 * config must stay valid until the next fixer_set_config(); runner is
 * borrowed. dry_run is appwatchd --dry-run (every plan is a dry run).
 */
int fixer_new(sd_event *event, Txn *txn, Store *store, IncidentBus *bus, FixRunner *runner,
              const Config *config, bool dry_run, Fixer **ret);
/* Cancels the waiters (their clients get ECANCELED); runs keep going in
 * systemd (unit runner) and are followed again at the next start. */
Fixer *fixer_free(Fixer *f);
DEFINE_CLEANUP(Fixer, fixer_free)

void fixer_set_config(Fixer *f, const Config *config);

/* The analyzer's verdict callback (userdata: the Fixer). */
void fixer_on_verdict(Analyzer *a, const AnalyzerVerdict *v, void *userdata);

/* Follows again (or marks lost) what was running at the last stop, and
 * queues what was waiting. Returns how many attempts it took up, or -errno. */
int fixer_restore(Fixer *f);

/*
 * Called once with the attempt (as JSON) when it is final and committed; or
 * with error < 0 and a message. Not called after fixer_waiter_cancel().
 */
typedef void (*FixerDoneFunc)(json_t *attempt, int error, const char *message, void *userdata);
typedef struct FixerWaiter FixerWaiter;

/*
 * `appwatchctl fix ID`: plans incident id's fix on request (dry_run: only
 * say what would run). Returns 0 when the attempt is final already (refused,
 * dry run: committed, *ret_attempt set, done not called), 1 when it is
 * queued or running and done will be called (*ret_waiter set), -ENOENT (no
 * such incident), -ENOMEDIUM (its rules propose no fix), -EBUSY (a fix of
 * it is under way), or -errno; *ret_message then says why.
 */
int fixer_request(Fixer *f, int64_t id, bool dry_run, FixerDoneFunc done, void *userdata,
                  json_t **ret_attempt, FixerWaiter **ret_waiter, char **ret_message);
void fixer_waiter_cancel(FixerWaiter *w);

/* The attempts of an incident as a JSON array, for show. */
int fixer_attempts_json(Fixer *f, int64_t id, json_t **ret);

typedef struct FixerStats {
        unsigned running;           /* units going now */
        unsigned queued;            /* attempts waiting for their app */
        uint64_t started, resolved, failed, refused;
} FixerStats;
void fixer_get_stats(const Fixer *f, FixerStats *ret);
