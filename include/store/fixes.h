/* SPDX-License-Identifier: MIT */
/*
 * Fix attempts, the backoff between automatic attempts and the fix-related
 * columns of incidents (migration 4), on top of the store's connection. An
 * attempt goes queued -> running -> verifying -> resolved | failed, or ends
 * at once as refused or dry_run; lost is a running one appwatchd could not
 * follow again after a restart. Like incidents.h, nothing here opens a
 * transaction. Loop thread only.
 */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

typedef enum FixState {
        FIX_STATE_QUEUED,
        FIX_STATE_RUNNING,
        FIX_STATE_VERIFYING,
        FIX_STATE_RESOLVED,
        FIX_STATE_FAILED,
        FIX_STATE_REFUSED,
        FIX_STATE_DRY_RUN,
        FIX_STATE_LOST,
        _FIX_STATE_MAX,
        _FIX_STATE_INVALID = -EINVAL,
} FixState;

const char *fix_state_to_string(FixState s);
FixState fix_state_from_string(const char *s);
/* resolved, failed, refused, dry_run, lost: nothing more happens to it. */
bool fix_state_is_final(FixState s);

typedef struct FixAttempt {
        int64_t id;
        int64_t incident_id;
        char *app, *fingerprint;
        unsigned attempt;
        char *fix_id;
        bool on_request;
        char *command_line;
        FixState state;
        char *reason;                   /* why refused/failed/lost, or what a dry run would do */
        char *unit, *verify_unit;
        char *fix_result, *verify_result;
        char *fix_output, *verify_output; /* redacted tails */
        int64_t started, finished;      /* finished 0 while not final */
} FixAttempt;

FixAttempt *fix_attempt_free(FixAttempt *a);
DEFINE_CLEANUP(FixAttempt, fix_attempt_free)
void fix_attempt_list_free(FixAttempt **l, size_t n);

/* Inserts a (its id is ignored). Returns 0 and *ret_id, or -errno. */
int fix_attempt_insert(Store *s, const FixAttempt *a, int64_t *ret_id);
/* Writes every mutable field of a (state, reason, units, results, outputs,
 * command line, finished) to its row. 0, -ENOENT or -errno. */
int fix_attempt_update(Store *s, const FixAttempt *a);
/* 0 with *ret, -ENOENT, -EBADMSG (unknown state) or -errno. */
int fix_attempt_get(Store *s, int64_t id, FixAttempt **ret);
/* An incident's attempts, oldest first. *ret NULL when none. */
int fix_attempt_list_incident(Store *s, int64_t incident_id, FixAttempt ***ret, size_t *ret_n);
/* The attempts in state, oldest first. */
int fix_attempt_list_state(Store *s, FixState state, FixAttempt ***ret, size_t *ret_n);
/* The number the incident's next attempt gets (1 for the first). */
int fix_attempt_next_number(Store *s, int64_t incident_id, unsigned *ret);
/* The id of the incident's attempt that is queued, running or verifying:
 * 1 with *ret_id (may be NULL), 0 when none, or -errno. */
int fix_attempt_find_active(Store *s, int64_t incident_id, int64_t *ret_id);
/* The newest attempt of an incident that ran something (has a unit): 1
 * with *ret, 0 when none, or -errno. For messages. */
int fix_attempt_latest_run(Store *s, int64_t incident_id, FixAttempt **ret);

/* An attempt as JSON, for show and fix. NULL on OOM. */
json_t *fix_attempt_to_json(const FixAttempt *a);

/* The backoff of (app, fingerprint): 1 with *ret_failures and *ret_next
 * (CLOCK_REALTIME usec), 0 when there is none, or -errno. */
int fix_backoff_get(Store *s, const char *app, const char *fingerprint, unsigned *ret_failures,
                    int64_t *ret_next);
/* Counts a failed attempt: failures + 1, the next automatic attempt not
 * before now + base * 2^(failures - 1), at most max. *ret_next (may be NULL). */
int fix_backoff_failed(Store *s, const char *app, const char *fingerprint, int64_t now,
                       int64_t base, int64_t max, int64_t *ret_next);
/* A verified fix: forgets the backoff. */
int fix_backoff_clear(Store *s, const char *app, const char *fingerprint);

/* incidents.fix_state (a line for messages: "succeeded", "failed: ...");
 * bump adds 1 to incidents.fix_attempts. 0 or -ENOENT. */
int incident_set_fix_state(Store *s, int64_t id, const char *fix_state, bool bump);
/* What `appwatchctl run` ran and where (the verification runs it again). */
int incident_set_run_command(Store *s, int64_t id, const char *command, const char *cwd);
/* 0 with *ret_command and *ret_cwd (malloc'ed, NULL when not known), or -errno. */
int incident_get_run_command(Store *s, int64_t id, char **ret_command, char **ret_cwd);
