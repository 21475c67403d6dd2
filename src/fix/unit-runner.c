/* SPDX-License-Identifier: MIT */
/*
 * The unit runner: each plan as a transient Type=oneshot service of
 * systemd, asked for over the system bus (StartTransientUnit, as
 * systemd-run does), in appwatch-fix.slice. Its steps are successive
 * ExecStartEx= with the "no-env-expand" flag, so systemd runs them in order,
 * stops at the first that fails and passes every word verbatim.
 *
 * Following a unit without polling and without a thread: the runner is
 * subscribed to the manager's signals, and each run matches its unit's
 * PropertiesChanged; JobRemoved (of our start job or, after an adopt, of any
 * job of that unit) or a change of ActiveState makes it read the unit's
 * properties (one asynchronous GetAll); a settled state ends the run. Every
 * call is asynchronous; only the journal read at the end is synchronous,
 * and bounded (FIX_OUTPUT_TAIL_MAX, one invocation's entries).
 *
 * Keeping the result until it is read, even across a restart of appwatchd:
 * RemainAfterExit=yes keeps a unit that succeeded active (exited), and a
 * failed one stays failed (CollectMode= is left at "inactive"); AddRef=yes
 * keeps it loaded while we are connected. Once the result is read the runner
 * lets go of it: StopUnit (success) or ResetFailedUnit (failure).
 *
 * A oneshot's commands run while the unit is "activating", which
 * RuntimeMaxSec= does not cover in systemd 252 (only TimeoutStartSec= does,
 * with Result=timeout): the plan's RuntimeMaxSec= is sent as
 * TimeoutStartUSec. RuntimeMaxUSec itself is not sent: it would count the
 * time the unit stays active (exited) for us to read it, and turn a success
 * not yet read (appwatchd restarting) into a timeout. Loop thread only.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "runner-internal.h"
#include "shared/log.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT_PREFIX "/org/freedesktop/systemd1/unit"
/* Between SIGTERM and SIGKILL when RuntimeMaxSec= is up, or on cancel. */
#define STOP_TIMEOUT_USEC (10 * 1000000ULL)
/* journald reads a unit's stdout from a stream, apart from systemd's own
 * signals: the last lines may reach the journal a while after the unit
 * ended. The output is read once the unit's newest entry stays the same
 * for one look, JOURNAL_LOOK_USEC apart, JOURNAL_LOOKS_MAX looks at most. */
#define JOURNAL_LOOK_USEC (300 * 1000ULL)
#define JOURNAL_LOOKS_MAX 20

static int query_unit(FixRun *run);

/* systemd's error names as errno, for FixRunResult.error. */
static int bus_error_errno(const sd_bus_error *e) {
        static const struct {
                const char *name;
                int error;
        } map[] = {
                { "org.freedesktop.systemd1.UnitExists", EEXIST },
                { "org.freedesktop.systemd1.NoSuchUnit", ENOENT },
                { "org.freedesktop.systemd1.LoadFailed", EIO },
                { "org.freedesktop.systemd1.TransactionIsDestructive", EDEADLK },
                { "org.freedesktop.systemd1.UnitMasked", ERFKILL },
                { "org.freedesktop.systemd1.JobTypeNotApplicable", EBADR },
                { "org.freedesktop.systemd1.ShuttingDown", ECANCELED },
                { "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired", EACCES },
        };
        int k;

        if (!e || !e->name)
                return EIO;
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (strcmp(e->name, map[i].name) == 0)
                        return map[i].error;
        k = sd_bus_error_get_errno(e);
        return k > 0 ? k : EIO;
}

static char *bus_error_note(const FixRun *run, const char *what, const sd_bus_error *e) {
        char *s = NULL;

        if (asprintf(&s, "%s: %s: %s: %s", run->plan.unit.name, what,
                     e && e->name ? e->name : "?", e && e->message ? e->message : "") < 0)
                return NULL;
        return s;
}

/* Fire and forget: the unit no longer needs us (or we no longer need it). */
static void unit_call(FixRunner *r, const char *method, const char *unit, bool with_mode) {
        int k;

        if (with_mode)
                k = sd_bus_call_method_async(r->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, method,
                                             NULL, NULL, "ss", unit, "replace");
        else
                k = sd_bus_call_method_async(r->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, method,
                                             NULL, NULL, "s", unit);
        if (k < 0)
                log_warning_errno(k, "%s: cannot ask systemd for %s: %m", unit, method);
}

/*
 * The last FIX_OUTPUT_TAIL_MAX bytes this invocation wrote to stdout and
 * stderr. Its entries are found by _SYSTEMD_UNIT=, which journald takes
 * from the stream's header: _SYSTEMD_INVOCATION_ID comes from the process's
 * cgroup, which a short step has left before journald looks. Other runs of
 * the same name are told apart by time (back to when this invocation left
 * "inactive") and by their invocation id where an entry has one.
 */
static int open_journal(FixRun *run) {
        _cleanup_free_ char *match = NULL;
        sd_journal *j = NULL;
        int k;

        /* Not SD_JOURNAL_SYSTEM: journald puts what a service of a user
         * writes into that user's journal file (user-UID.journal). */
        k = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (k < 0)
                return k;
        if (asprintf(&match, "_SYSTEMD_UNIT=%s", run->plan.unit.name) < 0)
                k = -ENOMEM;
        if (k >= 0)
                k = sd_journal_add_match(j, match, 0);
        if (k >= 0)
                k = sd_journal_add_match(j, "_TRANSPORT=stdout", 0);
        if (k < 0) {
                sd_journal_close(j);
                return k;
        }
        run->journal = j;
        return 0;
}

/* The cursor of the newest entry of the unit, or NULL. */
static char *newest_cursor(FixRun *run) {
        char *c = NULL;

        (void) sd_journal_process(run->journal);
        if (sd_journal_seek_tail(run->journal) < 0 || sd_journal_previous(run->journal) <= 0 ||
            sd_journal_get_cursor(run->journal, &c) < 0)
                return NULL;
        return c;
}

static void read_journal(FixRun *run) {
        sd_journal *j = run->journal;
        char **lines = NULL;
        size_t n_lines = 0, total = 0;

        if (sd_journal_seek_tail(j) < 0)
                return;
        /* Backwards, until the tail is full; then in order into the tail. */
        while (total < FIX_OUTPUT_TAIL_MAX && sd_journal_previous(j) > 0) {
                const void *d;
                size_t l;
                uint64_t t;
                char **nl;

                if (run->started_usec > 0 && sd_journal_get_realtime_usec(j, &t) >= 0 &&
                    t < run->started_usec)
                        break;
                if (run->invocation_id &&
                    sd_journal_get_data(j, "_SYSTEMD_INVOCATION_ID", &d, &l) >= 0 &&
                    (l != strlen("_SYSTEMD_INVOCATION_ID=") + 32 ||
                     memcmp((const char *) d + strlen("_SYSTEMD_INVOCATION_ID="),
                            run->invocation_id, 32) != 0))
                        continue;
                if (sd_journal_get_data(j, "MESSAGE", &d, &l) < 0 || l < 8)
                        continue;
                nl = realloc(lines, sizeof(char *) * (n_lines + 1));
                if (!nl)
                        break;
                lines = nl;
                lines[n_lines] = strndup((const char *) d + 8, l - 8);
                if (!lines[n_lines])
                        break;
                total += l - 8 + 1;
                n_lines++;
        }
        log_debug("%s: %zu lines of output in the journal, after %u looks", run->plan.unit.name,
                  n_lines, run->journal_looks);
        for (size_t i = n_lines; i > 0; i--) {
                fix_tail_append(&run->tail, lines[i - 1], strlen(lines[i - 1]));
                fix_tail_append(&run->tail, "\n", 1);
                free(lines[i - 1]);
        }
        free(lines);
}

typedef struct UnitState {
        char *active_state, *sub_state, *result, *invocation_id;
        int32_t exec_main_code, exec_main_status;
        uint32_t job_id;
        uint64_t inactive_exit_usec;
        char *load_state;
} UnitState;

static void unit_state_done(UnitState *s) {
        free(s->active_state);
        free(s->sub_state);
        free(s->result);
        free(s->invocation_id);
        free(s->load_state);
}

static int read_string(sd_bus_message *m, char **ret) {
        const char *s;
        int k;

        k = sd_bus_message_read(m, "v", "s", &s);
        if (k < 0)
                return k;
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int parse_properties(sd_bus_message *m, UnitState *st) {
        int k;

        k = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (k < 0)
                return k;
        while ((k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                k = sd_bus_message_read(m, "s", &name);
                if (k < 0)
                        return k;
                if (strcmp(name, "ActiveState") == 0)
                        k = read_string(m, &st->active_state);
                else if (strcmp(name, "SubState") == 0)
                        k = read_string(m, &st->sub_state);
                else if (strcmp(name, "LoadState") == 0)
                        k = read_string(m, &st->load_state);
                else if (strcmp(name, "Result") == 0)
                        k = read_string(m, &st->result);
                else if (strcmp(name, "InactiveExitTimestamp") == 0)
                        k = sd_bus_message_read(m, "v", "t", &st->inactive_exit_usec);
                else if (strcmp(name, "ExecMainCode") == 0)
                        k = sd_bus_message_read(m, "v", "i", &st->exec_main_code);
                else if (strcmp(name, "ExecMainStatus") == 0)
                        k = sd_bus_message_read(m, "v", "i", &st->exec_main_status);
                else if (strcmp(name, "Job") == 0) {
                        const char *path;

                        k = sd_bus_message_read(m, "v", "(uo)", &st->job_id, &path);
                } else if (strcmp(name, "InvocationID") == 0) {
                        const void *p;
                        size_t n;

                        k = sd_bus_message_enter_container(m, 'v', "ay");
                        if (k >= 0)
                                k = sd_bus_message_read_array(m, 'y', &p, &n);
                        if (k >= 0 && n == 16) {
                                free(st->invocation_id);
                                st->invocation_id = malloc(33);
                                if (!st->invocation_id)
                                        return -ENOMEM;
                                for (size_t i = 0; i < 16; i++)
                                        sprintf(st->invocation_id + 2 * i, "%02x",
                                                ((const uint8_t *) p)[i]);
                        }
                        if (k >= 0)
                                k = sd_bus_message_exit_container(m);
                } else
                        k = sd_bus_message_skip(m, "v");
                if (k < 0)
                        return k;
                k = sd_bus_message_exit_container(m);
                if (k < 0)
                        return k;
        }
        if (k < 0)
                return k;
        return sd_bus_message_exit_container(m);
}

/*
 * Every JOURNAL_LOOK_USEC: has the unit's newest entry changed since the
 * last look? Once it has not (or after JOURNAL_LOOKS_MAX looks), journald
 * has caught up: the tail is read and the run ends.
 */
static int on_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        FixRun *run = userdata;
        const char *result = run->defer_result;
        _cleanup_free_ char *note = NULL, *cursor = NULL;
        int k;

        if (!run->journal) {
                k = open_journal(run);
                if (k < 0)
                        log_warning_errno(k, "%s: cannot open the journal for its output: %m",
                                          run->plan.unit.name);
        }
        if (run->journal) {
                bool changed;

                cursor = newest_cursor(run);
                changed = run->journal_looks == 0 ||
                          (cursor && run->journal_cursor ? strcmp(cursor, run->journal_cursor) != 0
                                                         : cursor != run->journal_cursor);
                if (s && changed && run->journal_looks < JOURNAL_LOOKS_MAX) {
                        run->journal_looks++;
                        free(run->journal_cursor);
                        run->journal_cursor = TAKE_PTR(cursor);
                        if (sd_event_source_set_time_relative(s, JOURNAL_LOOK_USEC) >= 0 &&
                            sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) >= 0)
                                return 0;
                }
                read_journal(run);
        }
        note = TAKE_PTR(run->note);
        fix_run_finish(run, result, run->defer_status, 0, note);
        return 0;
}

/* The unit has settled: its result, after the journal has caught up. */
static void unit_ended(FixRun *run, const UnitState *st) {
        FixRunner *r = run->runner;
        bool ok;
        int status = -1, k;

        ok = strcmp(st->active_state, "active") == 0 &&
             (!st->result || strcmp(st->result, "success") == 0);
        if (st->exec_main_code == CLD_EXITED)
                status = st->exec_main_status;
        else if (st->exec_main_code > 0)
                status = st->exec_main_status; /* the signal */
        run->defer_result = ok ? "success" : NULL;
        if (!ok) {
                /* Result= is one of systemd's static words; keep ours. */
                static const char *const words[] = { "exit-code", "signal", "core-dump",
                                                     "timeout", "oom-kill", "resources",
                                                     "watchdog", "start-limit-hit",
                                                     "protocol", "exec-condition" };
                run->defer_result = "failed";
                for (size_t i = 0; i < ELEMENTSOF(words); i++)
                        if (strcmp(st->result, words[i]) == 0)
                                run->defer_result = words[i];
        } else
                status = 0;
        run->defer_status = status;
        free(run->note);
        run->note = NULL;
        if (!ok)
                (void) asprintf(&run->note, "%s: %s (Result=%s, ExecMainStatus=%d)",
                                run->plan.unit.name, st->active_state, st->result, status);
        if (st->invocation_id && !run->invocation_id)
                run->invocation_id = strdup(st->invocation_id);

        /* Let go of the unit: it was kept only so we could read this. */
        if (strcmp(st->active_state, "active") == 0)
                unit_call(r, "StopUnit", run->plan.unit.name, true);
        else if (strcmp(st->active_state, "failed") == 0)
                unit_call(r, "ResetFailedUnit", run->plan.unit.name, false);

        run->props_slot = sd_bus_slot_unref(run->props_slot);
        run->call_slot = sd_bus_slot_unref(run->call_slot);
        k = sd_event_add_time_relative(r->event, &run->defer_source, CLOCK_MONOTONIC,
                                       JOURNAL_LOOK_USEC, 0, on_settled, run);
        if (k < 0)
                on_settled(NULL, 0, run);
}

static void unit_lost(FixRun *run, int error, const char *why) {
        _cleanup_free_ char *note = NULL;

        (void) asprintf(&note, "%s: %s", run->plan.unit.name, why);
        fix_run_finish(run, "lost", -1, -error, note);
}

static int on_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FixRun *run = userdata;
        _cleanup_(unit_state_done) UnitState st = { .exec_main_status = -1 };
        const sd_bus_error *e;
        int k;

        run->call_slot = sd_bus_slot_unref(run->call_slot);
        e = sd_bus_message_get_error(m);
        if (e) {
                /* Gone between two looks (an adopt of a unit garbage-collected). */
                if (sd_bus_error_has_name(e, "org.freedesktop.DBus.Error.UnknownObject") ||
                    sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                        unit_lost(run, ENOENT, "the unit is gone, its result with it");
                        return 0;
                }
                log_warning("%s: cannot read its properties: %s", run->plan.unit.name, e->message);
                return 0; /* the next signal asks again */
        }
        k = parse_properties(m, &st);
        if (k < 0 || !st.active_state) {
                log_warning_errno(k, "%s: cannot parse its properties: %m", run->plan.unit.name);
                return 0;
        }
        log_debug("%s: %s/%s result=%s job=%" PRIu32, run->plan.unit.name, st.active_state,
                  st.sub_state ?: "?", st.result ?: "?", st.job_id);
        if (st.load_state && strcmp(st.load_state, "not-found") == 0) {
                unit_lost(run, ENOENT, "the unit is gone, its result with it");
                return 0;
        }
        if (st.invocation_id && !run->invocation_id)
                run->invocation_id = strdup(st.invocation_id);
        if (st.inactive_exit_usec > 0)
                run->started_usec = st.inactive_exit_usec;
        if (strcmp(st.active_state, "failed") == 0 ||
            (strcmp(st.active_state, "active") == 0 && st.job_id == 0)) {
                unit_ended(run, &st);
                return 0;
        }
        if (strcmp(st.active_state, "inactive") == 0 && st.job_id == 0 &&
            (run->job_done || run->adopted)) {
                /* Stopped before it finished (or never started): nothing to report but that. */
                unit_lost(run, ECANCELED, "stopped before it finished, without a result");
                return 0;
        }
        return 0; /* activating, deactivating, or a job pending: the next signal tells */
}

static int query_unit(FixRun *run) {
        FixRunner *r = run->runner;
        int k;

        if (run->call_slot || run->defer_source)
                return 0;
        k = sd_bus_call_method_async(r->bus, &run->call_slot, SD_DEST, run->unit_path,
                                     "org.freedesktop.DBus.Properties", "GetAll", on_properties,
                                     run, "s", "");
        if (k < 0)
                log_warning_errno(k, "%s: cannot ask for its properties: %m", run->plan.unit.name);
        return k;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FixRun *run = userdata;
        const char *iface;

        if (sd_bus_message_read(m, "s", &iface) < 0)
                return 0;
        if (strcmp(iface, "org.freedesktop.systemd1.Unit") == 0 ||
            strcmp(iface, "org.freedesktop.systemd1.Service") == 0)
                (void) query_unit(run);
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FixRunner *r = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        for (FixRun *run = r->runs; run; run = run->next) {
                if (run->cancelled || run->finished || !run->unit_path ||
                    strcmp(run->plan.unit.name, unit) != 0)
                        continue;
                if (run->job_path && strcmp(run->job_path, job) == 0) {
                        run->job_done = true;
                        log_debug("%s: start job %s: %s", unit, job, result);
                }
                (void) query_unit(run);
        }
        return 0;
}

static int watch_unit(FixRun *run) {
        FixRunner *r = run->runner;
        int k;

        if (!run->unit_path) {
                k = sd_bus_path_encode(SD_UNIT_PREFIX, run->plan.unit.name, &run->unit_path);
                if (k < 0)
                        return k;
        }
        return sd_bus_match_signal_async(r->bus, &run->props_slot, SD_DEST, run->unit_path,
                                         "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                         on_properties_changed, NULL, run);
}

static int append_strv(sd_bus_message *m, char *const *l) {
        return sd_bus_message_append_strv(m, (char **) l);
}

static int append_properties(sd_bus_message *m, const FixPlan *p) {
        const FixUnit *u = &p->unit;
        _cleanup_free_ char *desc = NULL;
        uint64_t t = u->runtime_max_usec ?: UINT64_MAX;
        int k;

        if (asprintf(&desc, "appwatch %s: %s", p->fix_id ? "fix" : "verification",
                     p->command_line ?: p->steps[0][0]) < 0)
                return -ENOMEM;
        k = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Type", "s", "oneshot",
                                  "Description", "s", desc,
                                  "Slice", "s", FIX_UNIT_SLICE,
                                  "User", "s", u->user,
                                  "WorkingDirectory", "s", u->working_directory,
                                  "StandardOutput", "s", "journal",
                                  "StandardError", "s", "journal",
                                  "RemainAfterExit", "b", 1,
                                  "AddRef", "b", 1,
                                  "NoNewPrivileges", "b", (int) u->no_new_privileges,
                                  "PrivateTmp", "b", (int) u->private_tmp,
                                  "TimeoutStartUSec", "t", t,
                                  "TimeoutStopUSec", "t", STOP_TIMEOUT_USEC);
        if (k < 0)
                return k;
        if (u->memory_max > 0) {
                k = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", u->memory_max);
                if (k < 0)
                        return k;
        }
        if (u->cpu_quota_per_sec_usec > 0) {
                k = sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t",
                                          u->cpu_quota_per_sec_usec);
                if (k < 0)
                        return k;
        }
        /* Environment= even when empty: exactly the plan's. */
        k = sd_bus_message_open_container(m, 'r', "sv");
        if (k >= 0)
                k = sd_bus_message_append(m, "s", "Environment");
        if (k >= 0)
                k = sd_bus_message_open_container(m, 'v', "as");
        if (k >= 0)
                k = append_strv(m, u->environment);
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        if (k < 0)
                return k;
        if (u->exec_search_path) {
                _cleanup_strv_free_ char **dirs = NULL;
                size_t n = 0;

                for (const char *d = u->exec_search_path; *d;) {
                        size_t l = strcspn(d, ":");

                        if (l > 0) {
                                char **nd = realloc(dirs, sizeof(char *) * (n + 2));

                                if (!nd)
                                        return -ENOMEM;
                                dirs = nd;
                                dirs[n] = strndup(d, l);
                                if (!dirs[n])
                                        return -ENOMEM;
                                dirs[++n] = NULL;
                        }
                        d += l;
                        if (*d == ':')
                                d++;
                }
                k = sd_bus_message_open_container(m, 'r', "sv");
                if (k >= 0)
                        k = sd_bus_message_append(m, "s", "ExecSearchPath");
                if (k >= 0)
                        k = sd_bus_message_open_container(m, 'v', "as");
                if (k >= 0)
                        k = append_strv(m, dirs);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
                if (k < 0)
                        return k;
        }

        /* One ExecStartEx= with every step, each verbatim. */
        k = sd_bus_message_open_container(m, 'r', "sv");
        if (k >= 0)
                k = sd_bus_message_append(m, "s", "ExecStartEx");
        if (k >= 0)
                k = sd_bus_message_open_container(m, 'v', "a(sasas)");
        if (k >= 0)
                k = sd_bus_message_open_container(m, 'a', "(sasas)");
        for (size_t i = 0; k >= 0 && i < p->n_steps; i++) {
                k = sd_bus_message_open_container(m, 'r', "sasas");
                if (k >= 0)
                        k = sd_bus_message_append(m, "s", p->steps[i][0]);
                if (k >= 0)
                        k = append_strv(m, p->steps[i]);
                if (k >= 0)
                        k = sd_bus_message_append(m, "as", 1, "no-env-expand");
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        return k;
}

static int on_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FixRun *run = userdata;
        const sd_bus_error *e;
        const char *job;
        int k;

        run->call_slot = sd_bus_slot_unref(run->call_slot);
        e = sd_bus_message_get_error(m);
        if (e) {
                _cleanup_free_ char *note = bus_error_note(run, "systemd refused to start it", e);

                log_warning("%s", note ?: e->message);
                fix_run_finish(run, "refused", -1, -bus_error_errno(e), note);
                return 0;
        }
        k = sd_bus_message_read(m, "o", &job);
        if (k < 0) {
                log_warning_errno(k, "%s: bad answer to StartTransientUnit: %m", run->plan.unit.name);
                job = NULL;
        }
        if (job) {
                run->job_path = strdup(job);
                log_debug("%s: started, job %s", run->plan.unit.name, job);
        }
        /* The job may be gone already (a fast unit): look now. */
        (void) query_unit(run);
        return 0;
}

int fix_unit_start(FixRun *run) {
        FixRunner *r = run->runner;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int k;

        k = watch_unit(run);
        if (k < 0)
                return k;
        k = sd_bus_message_new_method_call(r->bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                           "StartTransientUnit");
        if (k < 0)
                return k;
        k = sd_bus_message_append(m, "ss", run->plan.unit.name, "fail");
        if (k >= 0)
                k = sd_bus_message_open_container(m, 'a', "(sv)");
        if (k >= 0)
                k = append_properties(m, &run->plan);
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        if (k >= 0)
                k = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (k < 0)
                return k;
        return sd_bus_call_async(r->bus, &run->call_slot, m, on_start_reply, run, 0);
}

static int on_get_unit(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FixRun *run = userdata;
        const sd_bus_error *e;
        _cleanup_free_ char *note = NULL;

        run->call_slot = sd_bus_slot_unref(run->call_slot);
        e = sd_bus_message_get_error(m);
        if (e) {
                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                        unit_lost(run, ENOENT, "gone: systemd no longer knows it");
                else {
                        note = bus_error_note(run, "cannot find it", e);
                        fix_run_finish(run, "lost", -1, -bus_error_errno(e), note);
                }
                return 0;
        }
        (void) query_unit(run);
        return 0;
}

int fix_unit_adopt(FixRun *run) {
        FixRunner *r = run->runner;
        int k;

        /* Match first, then look: no change falls between the two. */
        k = watch_unit(run);
        if (k < 0)
                return k;
        return sd_bus_call_method_async(r->bus, &run->call_slot, SD_DEST, SD_PATH, SD_MANAGER,
                                        "GetUnit", on_get_unit, run, "s", run->plan.unit.name);
}

void fix_unit_cancel(FixRun *run) {
        unit_call(run->runner, "StopUnit", run->plan.unit.name, true);
        fix_run_free(run);
}

void fix_unit_release(FixRun *run) {
}

int fix_unit_runner_init(FixRunner *r) {
        int k;

        if (sd_booted() <= 0)
                return -EOPNOTSUPP;
        k = sd_bus_open_system(&r->bus);
        if (k < 0)
                return k;
        k = sd_bus_attach_event(r->bus, r->event, SD_EVENT_PRIORITY_NORMAL);
        if (k < 0)
                return k;
        k = sd_bus_match_signal_async(r->bus, &r->job_removed, SD_DEST, SD_PATH, SD_MANAGER,
                                      "JobRemoved", on_job_removed, NULL, r);
        if (k < 0)
                return k;
        /* systemd sends its unit and job signals only to subscribed clients. */
        return sd_bus_call_method_async(r->bus, NULL, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe",
                                        NULL, NULL, "");
}

void fix_unit_runner_done(FixRunner *r) {
        r->job_removed = sd_bus_slot_unref(r->job_removed);
        if (r->bus) {
                (void) sd_bus_flush(r->bus);
                r->bus = sd_bus_flush_close_unref(r->bus);
        }
}
