/* SPDX-License-Identifier: MIT */
/*
 * The fixer; see fixer.h. Three in-memory lists, all rebuilt from the
 * store at start: the runs going (one per app at most), the plans whose
 * 'running'/'verifying' row is written but not committed yet (started by
 * the post-commit hook), and the clients of `appwatchctl fix` waiting for
 * an attempt to end. What runs next is decided by a defer source ("kick")
 * from the 'queued' rows, so a queue survives a restart and the writes of a
 * decision are always followed by a commit. Loop thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fixer.h"
#include "core/lifecycle.h"
#include "detect/engine.h"
#include "detect/redact.h"
#include "fix/declared.h"
#include "shared/catalog-ids.h"
#include "shared/log.h"
#include "shared/parse.h"
#include "shared/utf8.h"
#include "store/fixes.h"
#include "store/incidents.h"

/* Bytes of a unit's output kept in the store (after redaction). */
#define FIXER_OUTPUT_KEEP 8192

typedef struct Active {
        struct Active *next;
        Fixer *fixer;
        int64_t attempt_id;
        char *app;
        bool verify;
        bool started;           /* false: waits for the commit (plan set) */
        FixPlan plan;
        FixRun *run;
} Active;

struct FixerWaiter {
        FixerWaiter *next;
        Fixer *fixer;
        int64_t attempt_id;
        FixerDoneFunc done;
        void *userdata;
};

struct Fixer {
        sd_event *event;
        Txn *txn;
        Store *store;
        IncidentBus *bus;
        FixRunner *runner;
        const Config *config;
        bool dry_run;
        TxnHook *hook;
        sd_event_source *kick;
        Active *active;
        FixerWaiter *waiters;
        int64_t *finished;      /* attempts that ended in the open transaction */
        size_t n_finished;
        FixerStats stats;
};

static void active_free(Active *x) {
        if (!x)
                return;
        fix_plan_done(&x->plan);
        free(x->app);
        free(x);
}

static void active_unlink(Fixer *f, Active *x) {
        for (Active **p = &f->active; *p; p = &(*p)->next)
                if (*p == x) {
                        *p = x->next;
                        return;
                }
}

static bool app_busy(Fixer *f, const char *app) {
        for (Active *x = f->active; x; x = x->next)
                if (strcmp(x->app, app) == 0)
                        return true;
        return false;
}

static void kick(Fixer *f) {
        if (f->kick)
                (void) sd_event_source_set_enabled(f->kick, SD_EVENT_ONESHOT);
}

/* $APPWATCH_FIX_KILL_SWITCH moves the kill switch, so that the tests do
 * not disable the fixes of the whole machine. */
static const char *kill_switch_path(void) {
        const char *e = getenv("APPWATCH_FIX_KILL_SWITCH");

        return e && e[0] == '/' ? e : fix_kill_switch_path();
}

static bool kill_switch_present(void) {
        return access(kill_switch_path(), F_OK) == 0;
}

/* fix_plan() names the built-in path; name the one looked at. */
static int kill_switch_reason(int r, char **err) {
        if (r != -EPERM || !*err || strncmp(*err, "kill switch ", 12) != 0 ||
            strcmp(kill_switch_path(), fix_kill_switch_path()) == 0)
                return 0;
        free(*err);
        return asprintf(err, "kill switch %s present", kill_switch_path()) < 0 ? -ENOMEM : 0;
}

static int free_and_strdup(char **p, const char *s) {
        char *c = NULL;

        if (s) {
                c = strdup(s);
                if (!c)
                        return -ENOMEM;
        }
        free(*p);
        *p = c;
        return 0;
}

/* The redacted, valid UTF-8 tail of a unit's output. */
static char *output_tail(const char *output) {
        _cleanup_free_ char *valid = NULL;
        const char *p = output ?: "";
        size_t l = strlen(p);
        char *out = NULL;

        if (l > FIXER_OUTPUT_KEEP) {
                p += l - FIXER_OUTPUT_KEEP;
                /* Start at a line: a cut word or character helps no one. */
                const char *nl = memchr(p, '\n', l - (size_t) (p - output));
                if (nl && nl[1])
                        p = nl + 1;
        }
        valid = utf8_dup(p);
        if (!valid || detect_redact(valid, strlen(valid), &out) < 0)
                return NULL;
        return out;
}

/* "exit-code (status 1)", "timeout", "success"; why for "refused" and
 * "lost" (the child runner's note on limits not applied is logged only). */
static char *describe_result(const FixRunResult *res) {
        bool why = res->note && (strcmp(res->result ?: "", "refused") == 0 ||
                                 strcmp(res->result ?: "", "lost") == 0);
        char *s = NULL;

        if (res->exit_status > 0 && strcmp(res->result ?: "", "exit-code") == 0) {
                if (asprintf(&s, "exit-code (status %d)", res->exit_status) < 0)
                        return NULL;
        } else if (asprintf(&s, "%s%s%s%s", res->result ?: "unknown", why ? " (" : "",
                            why ? res->note : "", why ? ")" : "") < 0)
                return NULL;
        return s;
}

/* One journal record per decision and outcome (MESSAGE_ID_FIX). */
static void fix_event(int level, const FixAttempt *a, const char *result, const char *unit,
                      const char *detail) {
        _cleanup_free_ char *inc = NULL, *app = NULL, *action = NULL, *res = NULL, *u = NULL;

        if (asprintf(&inc, "APPWATCH_INCIDENT=%" PRIi64, a->incident_id) < 0 ||
            asprintf(&app, "APPWATCH_APP=%s", a->app) < 0 ||
            asprintf(&action, "APPWATCH_ACTION=%s", a->fix_id) < 0 ||
            asprintf(&res, "APPWATCH_RESULT=%s", result) < 0 ||
            asprintf(&u, "APPWATCH_UNIT=%s", unit ?: "") < 0) {
                (void) log_oom();
                return;
        }
        const char *fields[] = { inc, app, action, res, u, NULL };
        (void) log_event(level, MESSAGE_ID_FIX, fields, "Fix %s of incident #%" PRIi64
                         " (%s): %s%s%s.", a->fix_id, a->incident_id, a->app, result,
                         detail ? ": " : "", detail ?: "");
}

static int note_finished(Fixer *f, int64_t id) {
        int64_t *n = realloc(f->finished, (f->n_finished + 1) * sizeof *n);

        if (!n)
                return -ENOMEM;
        f->finished = n;
        f->finished[f->n_finished++] = id;
        return 0;
}

/*
 * Ends attempt a in state with reason, in the open transaction: the
 * incident's fix_state, the backoff, and the status (when status is valid)
 * through the lifecycle, whose STATUS event sends "자동 수정 완료" or
 * "수동 수정 필요" with fix_state as the result.
 */
static int settle(Fixer *f, FixAttempt *a, FixState state, const char *reason,
                  IncidentStatus status, const char *fix_state) {
        int64_t now = (int64_t) now_realtime();
        int r;

        r = txn_begin(f->txn);
        if (r < 0)
                return r;
        a->state = state;
        a->finished = now;
        r = free_and_strdup(&a->reason, reason);
        if (r < 0)
                return r;
        r = fix_attempt_update(f->store, a);
        if (r < 0)
                return r;
        if (fix_state) {
                r = incident_set_fix_state(f->store, a->incident_id, fix_state, false);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        if (state == FIX_STATE_FAILED || state == FIX_STATE_LOST) {
                r = fix_backoff_failed(f->store, a->app, a->fingerprint, now, FIXER_BACKOFF_BASE,
                                       FIXER_BACKOFF_MAX, NULL);
                if (r < 0)
                        return r;
                f->stats.failed++;
        } else if (state == FIX_STATE_RESOLVED) {
                r = fix_backoff_clear(f->store, a->app, a->fingerprint);
                if (r < 0)
                        return r;
                f->stats.resolved++;
        } else if (state == FIX_STATE_REFUSED)
                f->stats.refused++;
        if ((int) status >= 0) {
                r = lifecycle_set_status(f->txn, f->store, f->bus, a->incident_id, status,
                                         INCIDENT_REASON_FIX);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        /* a->reason: reason may have been the old a->reason, freed above. */
        fix_event(state == FIX_STATE_RESOLVED || state == FIX_STATE_DRY_RUN ? LOG_INFO
                                                                            : LOG_NOTICE,
                  a, fix_state_to_string(state), a->verify_unit ?: a->unit,
                  state == FIX_STATE_RESOLVED ? fix_state : a->reason);
        r = note_finished(f, a->id);
        if (r < 0)
                return r;
        kick(f);
        return 0;
}

static int settle_manual(Fixer *f, FixAttempt *a, FixState state, const char *reason) {
        _cleanup_free_ char *fs = NULL;

        if (asprintf(&fs, "%s: %s", state == FIX_STATE_REFUSED ? "refused" : "failed",
                     reason) < 0)
                return -ENOMEM;
        return settle(f, a, state, reason, INCIDENT_MANUAL_REQUIRED, fs);
}

/* Queues x for the post-commit hook, which starts it. Takes x. */
static void active_add(Fixer *f, Active *x) {
        x->next = f->active;
        f->active = x;
        kick(f);        /* makes sure a commit follows */
}

static int active_new(Fixer *f, const FixAttempt *a, bool verify, FixPlan *plan, Active **ret) {
        Active *x = calloc(1, sizeof *x);

        if (!x)
                return -ENOMEM;
        *x = (Active) { .fixer = f, .attempt_id = a->id, .verify = verify };
        x->app = strdup(a->app);
        if (!x->app) {
                free(x);
                return -ENOMEM;
        }
        if (plan) {
                x->plan = *plan;
                *plan = (FixPlan) {};
        } else
                x->started = true;      /* adopted */
        *ret = x;
        return 0;
}

static void on_run_done(FixRun *run, const FixRunResult *res, void *userdata);

/* The name of "No module named 'X'" (or of an unquoted "No module named X")
 * in an incident's title, as written: NULL when there is none or it is
 * longer than FIX_MODULE_MAX. */
static char *title_module(const char *title) {
        const char *p = title ? strstr(title, "No module named ") : NULL;
        size_t l;

        if (!p)
                return NULL;
        p += strlen("No module named ");
        if (*p == '\'') {
                const char *e = strchr(++p, '\'');

                l = e ? (size_t) (e - p) : 0;
        } else
                l = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.");
        if (l == 0 || l > FIX_MODULE_MAX)
                return NULL;
        return strndup(p, l);
}

/* The module whose import failed, for pip's verification: a valid module
 * name, else NULL. */
static char *module_from_title(const char *title) {
        char *m = title_module(title);

        if (m && !fix_python_module_valid(m)) {
                free(m);
                return NULL;
        }
        return m;
}

/* The name when it is no Python module name at all ("x; rm -rf /",
 * "--index-url=…"): detection proposed no fix for it, and the fixer says
 * why nothing runs. NULL otherwise. */
static char *hostile_module_from_title(const char *title) {
        char *m = title_module(title);

        if (m && fix_python_module_valid(m)) {
                free(m);
                return NULL;
        }
        return m;
}

/* After a fix that passed: plans its verification and queues it, or
 * settles the attempt. */
static int start_verification(Fixer *f, FixAttempt *a) {
        _cleanup_(incident_freep) Incident *inc = NULL;
        _cleanup_free_ char *command = NULL, *cwd = NULL, *module = NULL, *err = NULL,
                            *reason = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_(fix_plan_done) FixPlan plan = {};
        Active *x;
        int r;

        r = incident_get(f->store, a->incident_id, &inc);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        r = incident_get_run_command(f->store, a->incident_id, &command, &cwd);
        if (r < 0)
                return r;
        if (command) {
                r = fix_split_command(command, &argv, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* A command appwatchctl quoted always splits; say
                         * why and fall back to BuildCommand=. */
                        log_warning("Incident #%" PRIi64 ": the wrapped command cannot be run "
                                    "again (%s), verifying with BuildCommand= instead.",
                                    a->incident_id, err ?: "invalid");
                        err = mfree(err);
                }
        }
        module = module_from_title(inc->title);
        if (kill_switch_present()) {
                if (asprintf(&reason, "the kill switch %s appeared before the verification",
                             kill_switch_path()) < 0)
                        return -ENOMEM;
                return settle_manual(f, a, FIX_STATE_REFUSED, reason);
        }
        FixVerifyRequest req = {
                .app = a->app,
                .config = f->config,
                .fix_id = a->fix_id,
                .wrapped_argv = argv,
                .wrapped_directory = argv ? cwd : NULL,
                .module = module,
                .incident = a->incident_id,
                .attempt = a->attempt,
        };
        r = fix_verify_plan(&req, &plan, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (asprintf(&reason, "the fix ran, but it cannot be verified: %s",
                             err ?: strerror(-r)) < 0)
                        return -ENOMEM;
                return settle_manual(f, a, FIX_STATE_FAILED, reason);
        }
        a->state = FIX_STATE_VERIFYING;
        r = free_and_strdup(&a->verify_unit, plan.unit.name);
        if (r < 0)
                return r;
        r = fix_attempt_update(f->store, a);
        if (r < 0)
                return r;
        r = incident_set_fix_state(f->store, a->incident_id, "verifying", false);
        if (r < 0 && r != -ENOENT)
                return r;
        r = active_new(f, a, true, &plan, &x);
        if (r < 0)
                return r;
        active_add(f, x);
        return 0;
}

static int run_done(Fixer *f, Active *x, const FixRunResult *res) {
        _cleanup_(fix_attempt_freep) FixAttempt *a = NULL;
        _cleanup_free_ char *out = NULL, *result = NULL, *reason = NULL, *fs = NULL;
        int r;

        r = txn_begin(f->txn);
        if (r < 0)
                return r;
        r = fix_attempt_get(f->store, x->attempt_id, &a);
        if (r == -ENOENT)
                return 0;       /* the incident was deleted meanwhile */
        if (r < 0)
                return r;
        if (res->note)
                log_debug("%s: %s", res->unit ?: "fix unit", res->note);
        out = output_tail(res->output);
        result = describe_result(res);
        if (!out || !result)
                return -ENOMEM;
        if (!x->verify) {
                a->fix_result = TAKE_PTR(result);
                a->fix_output = TAKE_PTR(out);
                r = fix_attempt_update(f->store, a);
                if (r < 0)
                        return r;
                if (res->success)
                        return start_verification(f, a);
                if (asprintf(&reason, "the fix '%s' failed: %s", a->command_line,
                             a->fix_result) < 0)
                        return -ENOMEM;
                return settle_manual(f, a, FIX_STATE_FAILED, reason);
        }
        a->verify_result = TAKE_PTR(result);
        a->verify_output = TAKE_PTR(out);
        if (res->success) {
                if (asprintf(&fs, "succeeded: %s, verified by %s", a->command_line,
                             a->verify_unit ?: "a re-run") < 0)
                        return -ENOMEM;
                return settle(f, a, FIX_STATE_RESOLVED, NULL, INCIDENT_RESOLVED, fs);
        }
        if (asprintf(&reason, "the fix '%s' ran, but the failed step still fails: %s",
                     a->command_line, a->verify_result) < 0)
                return -ENOMEM;
        return settle_manual(f, a, FIX_STATE_FAILED, reason);
}

static void on_run_done(FixRun *run, const FixRunResult *res, void *userdata) {
        Active *x = userdata;
        Fixer *f = x->fixer;
        int r;

        active_unlink(f, x);
        f->stats.running--;
        r = run_done(f, x, res);
        if (r < 0)
                (void) txn_fatal(f->txn, r, "record the end of a fix");
        active_free(x);
        kick(f);
}

/* Starts what waits for the commit; a unit that cannot start ends its attempt. */
static int start_pending(Fixer *f) {
        for (Active *x = f->active, *next; x; x = next) {
                _cleanup_(fix_attempt_freep) FixAttempt *a = NULL;
                _cleanup_free_ char *reason = NULL;
                int r;

                next = x->next;
                if (x->started)
                        continue;
                r = fix_runner_start(f->runner, &x->plan, on_run_done, x, &x->run);
                if (r >= 0) {
                        x->started = true;
                        f->stats.running++;
                        f->stats.started++;
                        if (fix_attempt_get(f->store, x->attempt_id, &a) >= 0)
                                fix_event(LOG_INFO, a, "started", x->plan.unit.name,
                                          x->plan.command_line);
                        a = fix_attempt_free(a);
                        continue;
                }
                int64_t id = x->attempt_id;
                active_unlink(f, x);
                if (asprintf(&reason, "%s could not be started: %s%s", x->plan.unit.name,
                             strerror(-r),
                             r == -EPERM ? " (without systemd a fix runs only as appwatchd's "
                                           "own user)" : "") < 0) {
                        active_free(x);
                        return -ENOMEM;
                }
                active_free(x);
                r = txn_begin(f->txn);
                if (r >= 0)
                        r = fix_attempt_get(f->store, id, &a);
                if (r >= 0)
                        r = settle_manual(f, a, FIX_STATE_FAILED, reason);
                if (r < 0 && r != -ENOENT)
                        return txn_fatal(f->txn, r, "record a fix that did not start");
        }
        return 0;
}

static int on_postcommit(Txn *t, void *userdata) {
        Fixer *f = userdata;
        _cleanup_free_ int64_t *done = TAKE_PTR(f->finished);
        size_t n = f->n_finished;

        f->n_finished = 0;
        (void) start_pending(f);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(fix_attempt_freep) FixAttempt *a = NULL;

                if (fix_attempt_get(f->store, done[i], &a) < 0)
                        continue;
                for (FixerWaiter **p = &f->waiters; *p;) {
                        FixerWaiter *w = *p;
                        if (w->attempt_id != done[i]) {
                                p = &w->next;
                                continue;
                        }
                        *p = w->next;
                        json_t *o = fix_attempt_to_json(a);
                        w->done(o, o ? 0 : -ENOMEM, NULL, w->userdata);
                        json_decref(o);
                        free(w);
                }
        }
        return 0;
}

/* Plans a queued attempt and marks it running; the post-commit hook starts it. */
static int schedule_one(Fixer *f, FixAttempt *a) {
        _cleanup_(fix_plan_done) FixPlan plan = {};
        _cleanup_free_ char *err = NULL;
        Active *x;
        int r;

        FixRequest req = {
                .fix_id = a->fix_id,
                .app = a->app,
                .config = f->config,
                .kill_switch = kill_switch_present(),
                .on_request = a->on_request,
                .dry_run = f->dry_run,
                .incident = a->incident_id,
                .attempt = a->attempt,
        };
        r = fix_plan(&req, &plan, &err);
        if (r == -ENOMEM || kill_switch_reason(r, &err) < 0)
                return -ENOMEM;
        if (r < 0)
                return settle_manual(f, a, FIX_STATE_REFUSED, err ?: strerror(-r));
        if (r == FIX_PLAN_DRY_RUN)
                /* DryRun= was turned on while it waited: nothing ran, the
                 * incident goes back to where it was before. */
                return settle(f, a, FIX_STATE_DRY_RUN, err, INCIDENT_NEW, NULL);
        a->state = FIX_STATE_RUNNING;
        a->started = (int64_t) now_realtime();
        r = free_and_strdup(&a->unit, plan.unit.name);
        if (r >= 0)
                r = free_and_strdup(&a->command_line, plan.command_line);
        if (r < 0)
                return r;
        r = fix_attempt_update(f->store, a);
        if (r < 0)
                return r;
        r = incident_set_fix_state(f->store, a->incident_id, "running", true);
        if (r < 0 && r != -ENOENT)
                return r;
        r = active_new(f, a, false, &plan, &x);
        if (r < 0)
                return r;
        active_add(f, x);
        return 0;
}

static int on_kick(sd_event_source *s, void *userdata) {
        Fixer *f = userdata;
        FixAttempt **l = NULL;
        size_t n = 0;
        int r;

        if (txn_failed(f->txn))
                return 0;
        r = fix_attempt_list_state(f->store, FIX_STATE_QUEUED, &l, &n);
        if (r < 0) {
                log_warning_errno(r, "Cannot list the queued fixes: %m, ignoring");
                return 0;
        }
        f->stats.queued = 0;
        for (size_t i = 0; i < n; i++) {
                if (app_busy(f, l[i]->app)) {
                        f->stats.queued++;
                        continue;
                }
                r = txn_begin(f->txn);
                if (r >= 0)
                        r = schedule_one(f, l[i]);
                if (r < 0) {
                        (void) txn_fatal(f->txn, r, "start a fix");
                        break;
                }
        }
        fix_attempt_list_free(l, n);
        return 0;
}

/*
 * Decides on incident inc's fix fix_id, in the open transaction: a row
 * refused or dry_run (final), or queued. *ret_attempt gets the row.
 */
/* veto: the analysis's reason not to run an automatic fix (see
 * AnalyzerVerdict), or NULL; a request from a person overrides it. */
static int decide(Fixer *f, const Incident *inc, const char *fix_id, bool on_request,
                  bool dry_run, const char *veto, FixAttempt **ret_attempt) {
        _cleanup_(fix_attempt_freep) FixAttempt *a = NULL;
        _cleanup_(fix_plan_done) FixPlan plan = {};
        _cleanup_free_ char *err = NULL;
        int64_t now = (int64_t) now_realtime(), next = 0;
        unsigned number = 0, failures = 0;
        int r;

        r = txn_begin(f->txn);
        if (r < 0)
                return r;
        r = fix_attempt_next_number(f->store, inc->id, &number);
        if (r < 0)
                return r;
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        *a = (FixAttempt) { .incident_id = inc->id, .attempt = number, .on_request = on_request,
                            .state = FIX_STATE_QUEUED, .started = now };
        a->app = strdup(inc->app);
        a->fingerprint = strdup(inc->fingerprint);
        a->fix_id = strdup(fix_id);
        if (!a->app || !a->fingerprint || !a->fix_id)
                return -ENOMEM;

        FixRequest req = {
                .fix_id = fix_id,
                .app = inc->app,
                .config = f->config,
                .kill_switch = kill_switch_present(),
                .on_request = on_request,
                .dry_run = dry_run || f->dry_run,
                .incident = inc->id,
                .attempt = number,
        };
        r = fix_plan(&req, &plan, &err);
        if (r == -ENOMEM || kill_switch_reason(r, &err) < 0)
                return -ENOMEM;
        if (veto && !on_request && r != -EINVAL) {
                /* The analysis's word comes first, unless the fix id itself
                 * is bad (that is named whatever else holds). */
                free(err);
                err = strdup(veto);
                if (!err)
                        return -ENOMEM;
                r = -EPERM;
        }
        if ((r == 0 || r == FIX_PLAN_DRY_RUN) && !on_request && plan.kind == FIX_PIP_INSTALL) {
                /* A name from a log line alone is not enough to install it
                 * from PyPI: it may be the project's own module, a typo, or
                 * a package registered to catch that typo. See fix/declared.h. */
                const ConfigApp *app = config_find_app(f->config, inc->app);
                _cleanup_free_ char *file = NULL;
                int d = 0;

                if ((f->config->fix_pip_allowlist && f->config->fix_pip_allowlist[0]) ||
                    detect_python_distribution_known(plan.param))
                        d = 1;
                else if (app && app->directory)
                        d = fix_pip_declared(app->directory, plan.param, &file);
                if (d == -ENOMEM)
                        return -ENOMEM;
                if (d <= 0) {
                        free(err);
                        if (asprintf(&err, "pip_install:%s: '%s' is not declared by the app "
                                     "(requirements*.txt, pyproject.toml, Pipfile in %s), not a "
                                     "well-known module's distribution and not on [Fix] "
                                     "PipAllowlist=; a name from a log alone is not installed "
                                     "(appwatchctl fix %" PRIi64 " installs it)", plan.param,
                                     plan.param, app && app->directory ? app->directory : "?",
                                     inc->id) < 0)
                                return -ENOMEM;
                        r = -EPERM;
                }
        }
        if (r == 0 && !on_request) {
                /* Automatic attempts only: someone who asks gets a run. */
                int q = fix_backoff_get(f->store, inc->app, inc->fingerprint, &failures, &next);
                if (q < 0)
                        return q;
                if (q > 0 && f->config->fix_max_attempts > 0 &&
                    failures >= f->config->fix_max_attempts) {
                        if (asprintf(&err, "[Fix] MaxAttempts=%u: the fix of this failure "
                                     "failed %u times (appwatchctl fix %" PRIi64 " runs it "
                                     "anyway)", f->config->fix_max_attempts, failures,
                                     inc->id) < 0)
                                return -ENOMEM;
                        r = -EPERM;
                } else if (q > 0 && now < next) {
                        if (asprintf(&err, "backoff: the fix of this failure failed %u time%s, "
                                     "the next automatic attempt is not before %" PRIi64
                                     "s from now (appwatchctl fix %" PRIi64 " runs it now)",
                                     failures, failures == 1 ? "" : "s",
                                     (next - now + 999999) / 1000000, inc->id) < 0)
                                return -ENOMEM;
                        r = -EPERM;
                }
        }
        if (plan.command_line) {
                a->command_line = strdup(plan.command_line);
                if (!a->command_line)
                        return -ENOMEM;
        }
        if (r < 0) {
                a->state = FIX_STATE_REFUSED;
                a->finished = now;
                a->reason = err ? TAKE_PTR(err) : strdup(strerror(-r));
        } else if (r == FIX_PLAN_DRY_RUN) {
                a->state = FIX_STATE_DRY_RUN;
                a->finished = now;
                a->reason = TAKE_PTR(err);
        }
        r = fix_attempt_insert(f->store, a, &a->id);
        if (r < 0)
                return r;
        switch (a->state) {
        case FIX_STATE_REFUSED:
                /* The row's fields are settled again, with the status. An
                 * app without an [App.x] section is one appwatch only reads
                 * the logs of: nothing was wanted of it by itself, so the
                 * row says why and the status stays (else every fixable
                 * incident of such an app would be announced twice). */
                if (dry_run || (!on_request && !config_find_app(f->config, inc->app))) {
                        f->stats.refused++;
                        r = note_finished(f, a->id);
                } else
                        r = settle_manual(f, a, FIX_STATE_REFUSED, a->reason ?: "refused");
                break;
        case FIX_STATE_DRY_RUN:
                fix_event(LOG_INFO, a, "dry_run", NULL, a->reason);
                r = note_finished(f, a->id);
                break;
        case FIX_STATE_QUEUED:
                r = incident_set_fix_state(f->store, inc->id, "queued", false);
                if (r >= 0)
                        r = lifecycle_set_status(f->txn, f->store, f->bus, inc->id,
                                                 INCIDENT_IN_PROGRESS, INCIDENT_REASON_FIX);
                if (r >= 0)
                        r = 0;
                kick(f);
                break;
        case FIX_STATE_RUNNING:
        case FIX_STATE_VERIFYING:
        case FIX_STATE_RESOLVED:
        case FIX_STATE_FAILED:
        case FIX_STATE_LOST:
        case _FIX_STATE_MAX:
        case _FIX_STATE_INVALID:
                break;
        }
        if (r < 0)
                return r;
        *ret_attempt = TAKE_PTR(a);
        return 0;
}

void fixer_on_verdict(Analyzer *analyzer, const AnalyzerVerdict *v, void *userdata) {
        Fixer *f = userdata;
        _cleanup_(incident_freep) Incident *inc = NULL;
        _cleanup_(fix_attempt_freep) FixAttempt *a = NULL;
        int r;

        /* An incident whose rules propose no fix (or only to people) stays
         * as it is: nothing was wanted, so nothing was refused. */
        if (!v->fix || strcmp(v->fix, "none") == 0) {
                _cleanup_free_ char *module = NULL, *fix = NULL;

                /* A missing module whose name is shell or option syntax:
                 * nothing runs, and the incident says so (the PEP 508 check
                 * of fix_plan() names the name). */
                r = incident_get(f->store, v->incident_id, &inc);
                if (r < 0)
                        return;
                module = hostile_module_from_title(inc->title);
                if (!module || asprintf(&fix, "pip_install:%s", module) < 0)
                        return;
                r = decide(f, inc, fix, false, false, NULL, &a);
                if (r < 0)
                        (void) txn_fatal(f->txn, r, "decide on a fix");
                return;
        }
        if (!v->auto_fix && !v->veto)
                return;
        r = incident_get(f->store, v->incident_id, &inc);
        if (r == -ENOENT)
                return;
        if (r >= 0)
                r = fix_attempt_find_active(f->store, v->incident_id, NULL);
        if (r > 0)
                return;         /* one under way already */
        if (r >= 0)
                r = decide(f, inc, v->fix, false, false, v->auto_fix ? NULL : v->veto, &a);
        if (r < 0)
                (void) txn_fatal(f->txn, r, "decide on a fix");
}

int fixer_request(Fixer *f, int64_t id, bool dry_run, FixerDoneFunc done, void *userdata,
                  json_t **ret_attempt, FixerWaiter **ret_waiter, char **ret_message) {
        _cleanup_(incident_freep) Incident *inc = NULL;
        _cleanup_(fix_attempt_freep) FixAttempt *a = NULL;
        int64_t active = 0;
        FixerWaiter *w;
        int r;

        r = txn_commit(f->txn);
        if (r < 0)
                return r;
        r = incident_get(f->store, id, &inc);
        if (r == -ENOENT) {
                if (asprintf(ret_message, "no incident #%" PRIi64, id) < 0)
                        *ret_message = NULL;
                return r;
        }
        if (r < 0)
                return r;
        if (!inc->fix_id || strcmp(inc->fix_id, "none") == 0) {
                if (asprintf(ret_message, "incident #%" PRIi64 " has no fix in the catalogue: "
                             "its rules propose none", id) < 0)
                        *ret_message = NULL;
                return -ENOMEDIUM;
        }
        r = fix_attempt_find_active(f->store, id, &active);
        if (r < 0)
                return r;
        if (r > 0) {
                if (asprintf(ret_message, "a fix of incident #%" PRIi64 " is under way (attempt "
                             "#%" PRIi64 ")", id, active) < 0)
                        *ret_message = NULL;
                return -EBUSY;
        }
        r = decide(f, inc, inc->fix_id, true, dry_run, NULL, &a);
        if (r < 0)
                return txn_fatal(f->txn, r, "decide on a fix");
        /* The answer means it is on disk. */
        r = txn_commit(f->txn);
        if (r < 0)
                return r;
        if (fix_state_is_final(a->state)) {
                *ret_attempt = fix_attempt_to_json(a);
                return *ret_attempt ? 0 : -ENOMEM;
        }
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (FixerWaiter) { .fixer = f, .attempt_id = a->id, .done = done,
                             .userdata = userdata, .next = f->waiters };
        f->waiters = w;
        *ret_waiter = w;
        return 1;
}

void fixer_waiter_cancel(FixerWaiter *w) {
        Fixer *f;

        if (!w)
                return;
        f = w->fixer;
        for (FixerWaiter **p = &f->waiters; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        break;
                }
        free(w);
}

int fixer_attempts_json(Fixer *f, int64_t id, json_t **ret) {
        FixAttempt **l = NULL;
        size_t n = 0;
        json_t *arr;
        int r;

        r = fix_attempt_list_incident(f->store, id, &l, &n);
        if (r < 0)
                return r;
        arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
                if (json_array_append_new(arr, fix_attempt_to_json(l[i])) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        fix_attempt_list_free(l, n);
        if (!arr)
                return -ENOMEM;
        *ret = arr;
        return 0;
}

static int restore_state(Fixer *f, FixState state) {
        FixAttempt **l = NULL;
        size_t n = 0;
        int taken = 0, r;

        r = fix_attempt_list_state(f->store, state, &l, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++) {
                FixAttempt *a = l[i];
                bool verify = state == FIX_STATE_VERIFYING;
                const char *unit = verify ? a->verify_unit : a->unit;
                _cleanup_free_ char *reason = NULL;
                Active *x = NULL;

                if (unit && fix_runner_kind(f->runner) == FIX_RUNNER_UNIT) {
                        r = active_new(f, a, verify, NULL, &x);
                        if (r < 0)
                                break;
                        r = fix_runner_adopt(f->runner, unit, on_run_done, x, &x->run);
                        if (r >= 0) {
                                x->next = f->active;
                                f->active = x;
                                f->stats.running++;
                                taken++;
                                log_info("Following %s again (incident #%" PRIi64 ").", unit,
                                         a->incident_id);
                                continue;
                        }
                        active_free(x);
                        if (asprintf(&reason, "appwatchd restarted while %s ran, and cannot "
                                     "follow it again: %s", unit, strerror(-r)) < 0)
                                reason = NULL;
                } else if (asprintf(&reason, "appwatchd restarted while %s ran; without "
                                    "systemd it cannot follow it again, so its result is "
                                    "unknown", unit ?: "the fix") < 0)
                        reason = NULL;
                if (!reason) {
                        r = -ENOMEM;
                        break;
                }
                r = settle_manual(f, a, FIX_STATE_LOST, reason);
                taken++;
        }
        fix_attempt_list_free(l, n);
        return r < 0 ? r : taken;
}

int fixer_restore(Fixer *f) {
        int a, b;

        a = restore_state(f, FIX_STATE_RUNNING);
        if (a < 0)
                return a;
        b = restore_state(f, FIX_STATE_VERIFYING);
        if (b < 0)
                return b;
        kick(f);        /* the queued ones */
        return a + b;
}

int fixer_new(sd_event *event, Txn *txn, Store *store, IncidentBus *bus, FixRunner *runner,
              const Config *config, bool dry_run, Fixer **ret) {
        _cleanup_(fixer_freep) Fixer *f = NULL;
        int r;

        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        *f = (Fixer) { .event = sd_event_ref(event), .txn = txn, .store = store, .bus = bus,
                       .runner = runner, .config = config, .dry_run = dry_run };
        r = sd_event_add_defer(event, &f->kick, on_kick, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->kick, "fixer-kick");
        (void) sd_event_source_set_enabled(f->kick, SD_EVENT_OFF);
        r = txn_add_hook(txn, TXN_HOOK_POSTCOMMIT, TXN_PRIORITY_DEFAULT, on_postcommit, f, NULL,
                         &f->hook);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

Fixer *fixer_free(Fixer *f) {
        if (!f)
                return NULL;
        while (f->waiters) {
                FixerWaiter *w = f->waiters;
                f->waiters = w->next;
                w->done(NULL, -ECANCELED, "appwatchd is stopping; the fix goes on and "
                        "`appwatchctl show` tells its end", w->userdata);
                free(w);
        }
        while (f->active) {
                Active *x = f->active;
                f->active = x->next;
                /* The runner is freed before us and cancelled its runs. */
                active_free(x);
        }
        txn_hook_free(f->hook);
        sd_event_source_disable_unref(f->kick);
        sd_event_unref(f->event);
        free(f->finished);
        free(f);
        return NULL;
}

void fixer_set_config(Fixer *f, const Config *config) {
        f->config = config;
}

void fixer_get_stats(const Fixer *f, FixerStats *ret) {
        *ret = f->stats;
}
