/* SPDX-License-Identifier: MIT */
/*
 * The fix runner's front: the list of runs, the copy of each plan, the
 * output tail and the single place a run ends. Starting, following and
 * stopping are the back ends' (child-runner.c, unit-runner.c). See
 * fix/runner.h. Loop thread only.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runner-internal.h"
#include "shared/log.h"
#include "shared/parse.h"

void fix_tail_append(FixTail *t, const char *p, size_t n) {
        if (n >= sizeof(t->buf)) {
                memcpy(t->buf, p + n - sizeof(t->buf), sizeof(t->buf));
                t->len = sizeof(t->buf);
                return;
        }
        if (t->len + n > sizeof(t->buf)) {
                size_t drop = t->len + n - sizeof(t->buf);

                memmove(t->buf, t->buf + drop, t->len - drop);
                t->len -= drop;
        }
        memcpy(t->buf + t->len, p, n);
        t->len += n;
}

static char **strv_copy(char *const *l) {
        char **c = calloc(strv_length(l) + 1, sizeof(char *));
        size_t i = 0;

        if (!c)
                return NULL;
        for (char *const *s = l; s && *s; s++) {
                c[i] = strdup(*s);
                if (!c[i])
                        return strv_free(c);
                i++;
        }
        return c;
}

static int strdup_or_null(const char *s, char **ret) {
        if (!s) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* What a back end needs of a plan: its steps and unit, not its history. */
static int plan_copy(const FixPlan *p, FixPlan *ret) {
        _cleanup_(fix_plan_done) FixPlan c = { .kind = p->kind };
        const FixUnit *u = &p->unit;

        if (strdup_or_null(p->fix_id, &c.fix_id) < 0 || strdup_or_null(p->param, &c.param) < 0 ||
            strdup_or_null(p->command_line, &c.command_line) < 0 ||
            strdup_or_null(u->name, &c.unit.name) < 0 || strdup_or_null(u->user, &c.unit.user) < 0 ||
            strdup_or_null(u->working_directory, &c.unit.working_directory) < 0 ||
            strdup_or_null(u->exec_search_path, &c.unit.exec_search_path) < 0)
                return -ENOMEM;
        if (u->environment) {
                c.unit.environment = strv_copy(u->environment);
                if (!c.unit.environment)
                        return -ENOMEM;
        }
        c.steps = calloc(p->n_steps + 1, sizeof(char **));
        if (!c.steps)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++) {
                c.steps[i] = strv_copy(p->steps[i]);
                if (!c.steps[i])
                        return -ENOMEM;
                c.n_steps++;
        }
        c.unit.runtime_max_usec = u->runtime_max_usec;
        c.unit.memory_max = u->memory_max;
        c.unit.cpu_quota_percent = u->cpu_quota_percent;
        c.unit.cpu_quota_per_sec_usec = u->cpu_quota_per_sec_usec;
        c.unit.no_new_privileges = u->no_new_privileges;
        c.unit.private_tmp = u->private_tmp;
        *ret = c;
        c = (FixPlan) { .kind = _FIX_KIND_INVALID };
        return 0;
}

int fix_run_new(FixRunner *r, const FixPlan *plan, FixRunDoneFunc done, void *userdata,
                FixRun **ret) {
        FixRun *run;
        int k;

        run = calloc(1, sizeof(*run));
        if (!run)
                return -ENOMEM;
        run->plan.kind = _FIX_KIND_INVALID;
        run->out_fd = -EBADF;
        run->done = done;
        run->userdata = userdata;
        if (plan) {
                k = plan_copy(plan, &run->plan);
                if (k < 0) {
                        free(run);
                        return k;
                }
        }
        run->runner = r;
        run->next = r->runs;
        if (r->runs)
                r->runs->prev = run;
        r->runs = run;
        r->n_active++;
        *ret = run;
        return 0;
}

void fix_run_free(FixRun *run) {
        FixRunner *r;

        if (!run)
                return;
        r = run->runner;
        if (run->prev)
                run->prev->next = run->next;
        else
                r->runs = run->next;
        if (run->next)
                run->next->prev = run->prev;
        if (!run->cancelled && !run->finished)
                r->n_active--;

        sd_event_source_disable_unref(run->child_source);
        sd_event_source_disable_unref(run->out_source);
        sd_event_source_disable_unref(run->timeout_source);
        sd_event_source_disable_unref(run->kill_source);
        sd_event_source_disable_unref(run->defer_source);
        free(run->note);
        safe_close(run->out_fd);
        sd_bus_slot_unref(run->call_slot);
        sd_bus_slot_unref(run->props_slot);
        free(run->unit_path);
        free(run->job_path);
        free(run->invocation_id);
        if (run->journal)
                sd_journal_close(run->journal);
        free(run->journal_cursor);
        fix_plan_done(&run->plan);
        free(run);
}

void fix_run_finish(FixRun *run, const char *result, int exit_status, int error,
                    const char *note) {
        _cleanup_free_ char *output = NULL;
        FixRunResult res;

        if (!run->cancelled && !run->finished) {
                run->finished = true;
                run->runner->n_active--;
                output = strndup(run->tail.buf, run->tail.len);
                res = (FixRunResult) {
                        .success = result && strcmp(result, "success") == 0,
                        .result = result,
                        .exit_status = exit_status,
                        .unit = run->plan.unit.name,
                        .output = output ?: "",
                        .note = note,
                        .error = error,
                };
                if (run->done)
                        run->done(run, &res, run->userdata);
        }
        fix_run_free(run);
}

int fix_runner_new(sd_event *event, FixRunnerKind kind, FixRunner **ret) {
        FixRunner *r;
        int k;

        assert(event);
        assert(ret);
        if (kind != _FIX_RUNNER_KIND_INVALID && (kind < 0 || kind >= _FIX_RUNNER_KIND_MAX))
                return -EINVAL;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);

        if (kind != FIX_RUNNER_CHILD) {
                k = fix_unit_runner_init(r);
                if (k >= 0)
                        r->kind = FIX_RUNNER_UNIT;
                else if (kind == FIX_RUNNER_UNIT) {
                        fix_runner_free(r);
                        return k;
                } else {
                        fix_unit_runner_done(r);
                        log_info_errno(k, "No system bus (%m): fixes run as children of appwatchd.");
                        kind = FIX_RUNNER_CHILD;
                }
        }
        if (kind == FIX_RUNNER_CHILD) {
                sigset_t ss;

                /* sd-event follows children only with SIGCHLD blocked (the
                 * pool's threads have every signal blocked already). */
                sigemptyset(&ss);
                sigaddset(&ss, SIGCHLD);
                k = -pthread_sigmask(SIG_BLOCK, &ss, NULL);
                if (k < 0) {
                        fix_runner_free(r);
                        return k;
                }
                r->kind = FIX_RUNNER_CHILD;
        }
        *ret = r;
        return 0;
}

FixRunner *fix_runner_free(FixRunner *r) {
        if (!r)
                return NULL;
        while (r->runs) {
                FixRun *run = r->runs;

                if (r->kind == FIX_RUNNER_CHILD)
                        fix_child_release(run);
                else
                        fix_unit_release(run);
                fix_run_free(run);
        }
        if (r->kind == FIX_RUNNER_UNIT)
                fix_unit_runner_done(r);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

FixRunnerKind fix_runner_kind(const FixRunner *r) {
        return r->kind;
}

static bool plan_valid(const FixPlan *p) {
        if (!p || !p->unit.name || !p->unit.user || !p->unit.working_directory ||
            p->unit.working_directory[0] != '/' || p->n_steps == 0 || !p->steps)
                return false;
        for (size_t i = 0; i < p->n_steps; i++)
                if (!p->steps[i] || !p->steps[i][0] || !p->steps[i][0][0])
                        return false;
        return true;
}

int fix_runner_check(const FixRunner *r, const FixPlan *plan, char **reterr) {
        if (!plan_valid(plan))
                return -EINVAL;
        if (r->kind == FIX_RUNNER_CHILD)
                return fix_child_check(r, plan, reterr);
        return 0;
}

static FixRun *find_run(FixRunner *r, const char *unit) {
        for (FixRun *run = r->runs; run; run = run->next)
                if (!run->cancelled && !run->finished && run->plan.unit.name &&
                    strcmp(run->plan.unit.name, unit) == 0)
                        return run;
        return NULL;
}

int fix_runner_start(FixRunner *r, const FixPlan *plan, FixRunDoneFunc done, void *userdata,
                     FixRun **ret_run) {
        _cleanup_free_ char *err = NULL;
        FixRun *run;
        int k;

        k = fix_runner_check(r, plan, &err);
        if (k < 0) {
                if (err)
                        log_warning("%s", err);
                return k;
        }
        if (find_run(r, plan->unit.name))
                return -EEXIST;

        k = fix_run_new(r, plan, done, userdata, &run);
        if (k < 0)
                return k;
        k = r->kind == FIX_RUNNER_CHILD ? fix_child_start(run) : fix_unit_start(run);
        if (k < 0) {
                run->cancelled = true;
                r->n_active--;
                fix_run_free(run);
                return k;
        }
        if (ret_run)
                *ret_run = run;
        return 0;
}

int fix_runner_adopt(FixRunner *r, const char *unit, FixRunDoneFunc done, void *userdata,
                     FixRun **ret_run) {
        FixRun *run;
        int k;

        if (r->kind == FIX_RUNNER_CHILD)
                return -EOPNOTSUPP;
        if (!unit || !*unit)
                return -EINVAL;
        if (find_run(r, unit))
                return -EEXIST;

        k = fix_run_new(r, NULL, done, userdata, &run);
        if (k < 0)
                return k;
        run->adopted = true;
        run->plan.unit.name = strdup(unit);
        k = run->plan.unit.name ? fix_unit_adopt(run) : -ENOMEM;
        if (k < 0) {
                run->cancelled = true;
                r->n_active--;
                fix_run_free(run);
                return k;
        }
        if (ret_run)
                *ret_run = run;
        return 0;
}

void fix_run_cancel(FixRun *run) {
        if (!run || run->cancelled || run->finished)
                return;
        run->cancelled = true;
        run->runner->n_active--;
        if (run->runner->kind == FIX_RUNNER_CHILD)
                fix_child_cancel(run);
        else
                fix_unit_cancel(run);
}

unsigned fix_runner_active(const FixRunner *r) {
        return r->n_active;
}
