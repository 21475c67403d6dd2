/* SPDX-License-Identifier: MIT */
/*
 * What runner.c shares with its two back ends, child-runner.c (posix_spawn)
 * and unit-runner.c (transient units over the system bus). runner.c owns
 * the list of runs, the output tail and the one way a run ends
 * (fix_run_finish()); a back end starts, follows and stops its runs.
 * Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "fix/runner.h"

/* The bytes kept from the end of a stream. */
typedef struct FixTail {
        char buf[FIX_OUTPUT_TAIL_MAX];
        size_t len;
} FixTail;

void fix_tail_append(FixTail *t, const char *p, size_t n);

struct FixRunner {
        sd_event *event;
        FixRunnerKind kind;
        sd_bus *bus;                 /* the unit runner's system bus */
        sd_bus_slot *job_removed;    /* the unit runner's JobRemoved match */
        FixRun *runs;                /* every run, cancelled ones too until they are gone */
        unsigned n_active;           /* runs whose done is still to be called */
};

struct FixRun {
        FixRunner *runner;
        FixRun *prev, *next;
        bool cancelled;              /* done is never called; the run waits for its end */
        bool finished;               /* done was called (or is being called) */
        FixRunDoneFunc done;
        void *userdata;
        FixPlan plan;                /* a copy (adopt: only plan.unit.name is set) */
        FixTail tail;

        /* The child runner. */
        size_t step;                 /* index of the step running */
        pid_t pid;                   /* its process (and process group), 0: none */
        int out_fd;                  /* read end of its stdout+stderr pipe */
        sd_event_source *child_source, *out_source, *timeout_source, *kill_source;
        sd_event_source *defer_source; /* a step that could not start ends the run from here */
        const char *defer_result;
        int defer_status;
        char *note;                  /* the result's note, malloc'ed, or NULL */
        bool timed_out;

        /* The unit runner. */
        char *unit_path;             /* the unit's object path */
        char *job_path;              /* the start job, until JobRemoved */
        char *invocation_id;         /* hex, from the unit's InvocationID */
        uint64_t started_usec;       /* its InactiveExitTimestamp (CLOCK_REALTIME) */
        sd_bus_slot *call_slot;      /* the call in flight */
        sd_bus_slot *props_slot;     /* the unit's PropertiesChanged */
        sd_journal *journal;         /* open from its end until the output is read */
        char *journal_cursor;        /* the newest entry of the unit at the last look */
        unsigned journal_looks;
        bool job_done;
        bool adopted;
};

/* Allocates a run on r's list with a copy of plan (NULL: none). */
int fix_run_new(FixRunner *r, const FixPlan *plan, FixRunDoneFunc done, void *userdata,
                FixRun **ret);
/* Calls done (unless cancelled) with what is given and the tail, then frees
 * the run. error is FixRunResult.error. */
void fix_run_finish(FixRun *run, const char *result, int exit_status, int error,
                    const char *note);
/* Frees the run without calling done (its back end has let go of it). */
void fix_run_free(FixRun *run);

/* The child runner (child-runner.c). */
int fix_child_start(FixRun *run);
void fix_child_cancel(FixRun *run);
/* At fix_runner_free(): SIGKILLs and reaps the child, synchronously. */
void fix_child_release(FixRun *run);
int fix_child_check(const FixRunner *r, const FixPlan *plan, char **reterr);

/* The unit runner (unit-runner.c). */
int fix_unit_runner_init(FixRunner *r);
void fix_unit_runner_done(FixRunner *r);
int fix_unit_start(FixRun *run);
int fix_unit_adopt(FixRun *run);
void fix_unit_cancel(FixRun *run);
/* At fix_runner_free(): lets go of the unit, which keeps running. */
void fix_unit_release(FixRun *run);
