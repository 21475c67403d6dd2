/* SPDX-License-Identifier: MIT */
/*
 * Runs a FixPlan (a fix, or its verification) and reports how it ended,
 * without blocking the loop and without a worker thread waiting on it.
 *
 * Two ways, chosen once per runner:
 *   - FIX_RUNNER_UNIT: as a transient service of systemd, asked for over the
 *     system bus (StartTransientUnit, as systemd-run does) in
 *     appwatch-fix.slice, with the plan's FixUnit as its properties. The
 *     loop follows the job and the unit through sd-bus signals; the output
 *     tail is read back from the journal (_SYSTEMD_UNIT=the unit). Nothing
 *     in appwatchd changes uid: systemd does. RuntimeMaxSec= goes to systemd
 *     as TimeoutStartUSec (a oneshot's commands run while it is
 *     "activating"); RemainAfterExit=yes keeps a result until the runner (or
 *     an adopt after a restart) has read it, then the unit is stopped or
 *     reset. Output comes a little after the end: done is called once the
 *     unit's journal entries stop changing (300 ms apart, 6 s at most).
 *   - FIX_RUNNER_CHILD: without a system bus (a foreground run, tests
 *     without systemd), as a direct child (posix_spawn, no shell), only when
 *     appwatchd's own user is the plan's User=; otherwise refused. Output is
 *     read from a pipe; RuntimeMaxSec= is enforced with a timer (SIGTERM,
 *     then SIGKILL); MemoryMax= and CPUQuota= need systemd and are not
 *     applied (the result says so in its note). fix_runner_new() blocks
 *     SIGCHLD in the calling thread, as sd-event's child sources need.
 *
 * Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "fix/catalog.h"
#include "shared/cleanup.h"

/* The bytes of output kept from the end of a run (before redaction). */
#define FIX_OUTPUT_TAIL_MAX (16 * 1024)

typedef enum FixRunnerKind {
        FIX_RUNNER_UNIT,
        FIX_RUNNER_CHILD,
        _FIX_RUNNER_KIND_MAX,
        _FIX_RUNNER_KIND_INVALID = -EINVAL,
} FixRunnerKind;

typedef struct FixRunner FixRunner;
typedef struct FixRun FixRun;

typedef struct FixRunResult {
        bool success;              /* every step exited 0 */
        const char *result;        /* systemd's Result= of the unit: "success", "exit-code",
                                    * "timeout", "oom-kill", "signal", "core-dump",
                                    * "resources", ...; the child runner uses the same words;
                                    * "refused" when it never started, "lost" when the unit
                                    * vanished without a result */
        int exit_status;           /* the failing step's exit status (ExecMainStatus), -1 if none */
        const char *unit;          /* the unit's name (the child runner: the plan's too) */
        const char *output;        /* the last FIX_OUTPUT_TAIL_MAX bytes of stdout+stderr,
                                    * NOT redacted, may be "" */
        const char *note;          /* why it was refused, or what was not applied; or NULL */
        int error;                 /* "refused" and "lost": why, as -errno (-EEXIST: systemd
                                    * has a unit of that name; -EACCES: systemd said no;
                                    * -ENOENT: the unit is gone, ...); else 0 */
} FixRunResult;

/*
 * Called once per run, from the loop (never from inside fix_runner_start()
 * or fix_runner_adopt()), unless the run was cancelled first or the runner
 * freed. result and its strings, and run, are valid only during the call:
 * copy what you keep. The run is freed after the callback returns. The
 * callback may start, adopt or cancel other runs; it must not free the
 * runner.
 */
typedef void (*FixRunDoneFunc)(FixRun *run, const FixRunResult *result, void *userdata);

/*
 * kind _FIX_RUNNER_KIND_INVALID picks: FIX_RUNNER_UNIT when the system bus
 * answers, else FIX_RUNNER_CHILD. Returns 0, or -errno (the bus was asked
 * for and is not there).
 */
int fix_runner_new(sd_event *event, FixRunnerKind kind, FixRunner **ret);
/* Lets go of every run still going without calling done: units keep
 * running (systemd owns them, and fix_runner_adopt() finds them again; a
 * start still waiting for systemd's answer may not have happened, which an
 * adopt reports as "lost"); children are SIGKILLed and reaped. The unit
 * runner waits here, up to 2 s, for systemd to answer the StopUnit (a
 * cancel) and ResetFailedUnit calls it made: systemd would refuse them once
 * their caller is gone. */
FixRunner *fix_runner_free(FixRunner *r);
DEFINE_CLEANUP(FixRunner, fix_runner_free)

FixRunnerKind fix_runner_kind(const FixRunner *r);

/*
 * Starts plan (copied: the caller may free it at once). Returns 0 with
 * *ret_run (may be NULL) owned by the runner until done is called; -EPERM
 * when the child runner may not run it (another user: fix_runner_check()
 * says why), -EEXIST when a run of that unit name is going in this runner,
 * or -errno; done is not called then. The unit runner asks systemd
 * asynchronously: when systemd refuses (a unit of that name exists, access
 * denied, a bad property), done is called later with result "refused",
 * error -EEXIST, -EACCES, -EINVAL, ... and a note naming the unit and
 * systemd's error. done is never called from inside fix_runner_start().
 */
int fix_runner_start(FixRunner *r, const FixPlan *plan, FixRunDoneFunc done, void *userdata,
                     FixRun **ret_run);

/*
 * Whether r may run plan, as fix_runner_start() would decide before it
 * starts anything: 0, or -EPERM (the child runner and another user) with
 * *reterr (when not NULL) a malloc'ed message naming both users, or -errno.
 * A refusal that comes from systemd (the unit runner) arrives later, as a
 * result "refused" with its error and note.
 */
int fix_runner_check(const FixRunner *r, const FixPlan *plan, char **reterr);

/*
 * Follows a unit started before appwatchd restarted (recorded as running
 * in fix_attempts). done is called when it ends, or at once with result
 * "lost" (or its Result= when systemd still has it) when it has already
 * ended. The child runner cannot adopt: -EOPNOTSUPP.
 */
int fix_runner_adopt(FixRunner *r, const char *unit, FixRunDoneFunc done, void *userdata,
                     FixRun **ret_run);

/* done will not be called; the unit (or child) is stopped: StopUnit (what
 * systemd then records of the unit, Result=signal for a step it had to
 * SIGTERM, stays until an adopt reads it), or SIGTERM to the child's
 * process group and SIGKILL after 5 s. run is invalid afterwards. */
void fix_run_cancel(FixRun *run);

/* How many runs are going. */
unsigned fix_runner_active(const FixRunner *r);
