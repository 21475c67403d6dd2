/* SPDX-License-Identifier: MIT */
/*
 * The child runner: a plan's steps as direct children of appwatchd, for a
 * run without a system bus. Each step is posix_spawn()ed (no shell) in the
 * plan's directory with exactly the plan's environment, its own process
 * group, an empty signal mask, default signal dispositions, stdin from
 * /dev/null and stdout+stderr into one pipe whose tail is kept. sd-event
 * follows the child (a child source: nothing waits in a thread), and
 * RuntimeMaxSec= is a timer: SIGTERM to the group, SIGKILL after a grace
 * period, result "timeout". Only appwatchd's own user may be the plan's
 * User=: nothing here changes uid. The words of the result are systemd's,
 * and so are the exit statuses of a step that cannot start (200 for the
 * directory, 203 for the program). Loop thread only.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner-internal.h"
#include "shared/log.h"

/* systemd's fixed search path for a bare ExecStart= program (no ExecSearchPath=). */
#define DEFAULT_EXEC_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
/* Between SIGTERM and SIGKILL, as TimeoutStopSec= would be. */
#define KILL_GRACE_USEC (5 * 1000000ULL)
/* The soft descriptor limit a fix gets: systemd's default for services,
 * the one select() needs; appwatchd itself runs with 65536. */
#define CHILD_NOFILE_SOFT 1024
/* systemd's exit statuses of a unit's process that could not start. */
#define EXIT_CHDIR 200
#define EXIT_EXEC 203

extern char **environ;

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata);

/* Resolves a user name or a numeric uid. */
static int user_uid(const char *user, uid_t *ret) {
        struct passwd pw, *res = NULL;
        char buf[4096], *end;
        unsigned long u;
        int k;

        if (user[0] >= '0' && user[0] <= '9') {
                errno = 0;
                u = strtoul(user, &end, 10);
                if (errno == 0 && !*end && u < UINT32_MAX) {
                        *ret = (uid_t) u;
                        return 0;
                }
        }
        k = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
        if (k != 0)
                return -k;
        if (!res)
                return -ESRCH;
        *ret = pw.pw_uid;
        return 0;
}

static char *uid_name(uid_t uid) {
        struct passwd pw, *res = NULL;
        char buf[4096], *s = NULL;

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
                return strdup(pw.pw_name);
        if (asprintf(&s, "%u", (unsigned) uid) < 0)
                return NULL;
        return s;
}

int fix_child_check(const FixRunner *r, const FixPlan *plan, char **reterr) {
        _cleanup_free_ char *me = NULL;
        uid_t uid, euid = geteuid();
        int k;

        k = user_uid(plan->unit.user, &uid);
        if (k == -ESRCH) {
                if (reterr)
                        (void) asprintf(reterr, "%s: refused: User=%s does not exist",
                                        plan->unit.name, plan->unit.user);
                return -EPERM;
        }
        if (k < 0)
                return k;
        if (uid == euid)
                return 0;
        me = uid_name(euid);
        if (reterr)
                (void) asprintf(reterr,
                                "%s: refused: its User=%s (uid %u) is not appwatchd's user %s "
                                "(uid %u); without systemd a fix runs only as appwatchd's own user",
                                plan->unit.name, plan->unit.user, (unsigned) uid, me ?: "?",
                                (unsigned) euid);
        return -EPERM;
}

/* argv[0] as systemd finds it: a path as it is, a bare name in the plan's
 * ExecSearchPath= or systemd's fixed path. */
static int find_program(const FixPlan *p, const char *name, char **ret) {
        const char *path = p->unit.exec_search_path ?: DEFAULT_EXEC_PATH;

        if (strchr(name, '/')) {
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        for (const char *d = path; *d;) {
                size_t n = strcspn(d, ":");
                _cleanup_free_ char *f = NULL;
                struct stat st;

                if (n > 0 && d[0] == '/') {
                        if (asprintf(&f, "%.*s/%s", (int) n, d, name) < 0)
                                return -ENOMEM;
                        if (stat(f, &st) == 0 && S_ISREG(st.st_mode) && access(f, X_OK) == 0) {
                                *ret = TAKE_PTR(f);
                                return 0;
                        }
                }
                d += n;
                if (*d == ':')
                        d++;
        }
        return -ENOENT;
}

static void drain(FixRun *run) {
        char buf[4096];
        ssize_t n;

        while (run->out_fd >= 0) {
                n = read(run->out_fd, buf, sizeof(buf));
                if (n > 0) {
                        fix_tail_append(&run->tail, buf, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n == 0 || errno != EAGAIN) {
                        /* EOF (or an error): nobody writes any more. */
                        run->out_source = sd_event_source_disable_unref(run->out_source);
                        run->out_fd = safe_close(run->out_fd);
                }
                break;
        }
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        drain(userdata);
        return 0;
}

/* Ends the run; its note says what systemd would have applied and this did not. */
static void child_finish(FixRun *run, const char *result, int status, const char *why) {
        const FixUnit *u = &run->plan.unit;
        _cleanup_free_ char *note = NULL;
        char missing[128] = "";

        if (u->memory_max > 0 && u->memory_max != UINT64_MAX)
                strcat(missing, " MemoryMax=");
        if (u->cpu_quota_per_sec_usec > 0 && u->cpu_quota_per_sec_usec != UINT64_MAX)
                strcat(missing, " CPUQuota=");
        if (u->private_tmp)
                strcat(missing, " PrivateTmp=");
        if (u->no_new_privileges && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
                strcat(missing, " NoNewPrivileges=");
        if (why || missing[0])
                (void) asprintf(&note, "%s%s%s%s", why ?: "", why && missing[0] ? "; " : "",
                                missing[0] ? "run as a child of appwatchd, not applied:" : "",
                                missing);
        run->pid = 0;
        fix_run_finish(run, result, status, 0, note);
}

static int on_defer(sd_event_source *s, void *userdata) {
        FixRun *run = userdata;
        _cleanup_free_ char *why = TAKE_PTR(run->note);

        child_finish(run, run->defer_result, run->defer_status, why);
        return 0;
}

/* A step that could not start: the run ends from the loop, never from
 * inside fix_runner_start(). Takes why. */
static int fail_later(FixRun *run, int status, char *why) {
        int k;

        free(run->note);
        run->note = why;
        run->defer_result = "exit-code";
        run->defer_status = status;
        k = sd_event_add_defer(run->runner->event, &run->defer_source, on_defer, run);
        if (k < 0)
                return k;
        return 0;
}

/* Spawns step run->step. Returns 0 (running, or failing later), or -errno
 * when nothing could be tried. */
static int spawn_step(FixRun *run) {
        const FixPlan *p = &run->plan;
        char **argv = p->steps[run->step];
        static char *empty_env[] = { NULL };
        _cleanup_free_ char *prog = NULL, *why = NULL;
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        struct rlimit old, low;
        bool lowered = false;
        struct stat st;
        sigset_t ss;
        int pipefd[2], k, e;
        pid_t pid;

        e = stat(p->unit.working_directory, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
        if (e) {
                (void) asprintf(&why, "step %zu: cannot change to WorkingDirectory=%s: %s",
                                run->step + 1, p->unit.working_directory, strerror(e));
                return fail_later(run, EXIT_CHDIR, TAKE_PTR(why));
        }
        k = find_program(p, argv[0], &prog);
        if (k == -ENOMEM)
                return k;
        if (k < 0) {
                (void) asprintf(&why, "step %zu: '%s' not found in %s", run->step + 1, argv[0],
                                p->unit.exec_search_path ?: DEFAULT_EXEC_PATH);
                return fail_later(run, EXIT_EXEC, TAKE_PTR(why));
        }

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        rfd = pipefd[0];
        wfd = pipefd[1];
        if (fcntl(rfd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        e = posix_spawn_file_actions_init(&fa);
        if (e)
                return -e;
        e = posix_spawnattr_init(&attr);
        if (e) {
                posix_spawn_file_actions_destroy(&fa);
                return -e;
        }
        /* The directory first, so nothing else is opened relative to ours. */
        e = posix_spawn_file_actions_addchdir_np(&fa, p->unit.working_directory);
        if (!e)
                e = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (!e)
                e = posix_spawn_file_actions_adddup2(&fa, wfd, STDOUT_FILENO);
        if (!e)
                e = posix_spawn_file_actions_adddup2(&fa, wfd, STDERR_FILENO);
        /* Nothing of appwatchd's (the database, sockets) reaches a fix, even
         * a descriptor someone forgot to mark O_CLOEXEC. */
        if (!e)
                e = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        /* The loop's blocked signals and appwatchd's ignored SIGPIPE are
         * not the fix's; its own process group lets a timeout reach
         * everything it started. */
        sigemptyset(&ss);
        if (!e)
                e = posix_spawnattr_setsigmask(&attr, &ss);
        sigfillset(&ss);
        if (!e)
                e = posix_spawnattr_setsigdefault(&attr, &ss);
        if (!e)
                e = posix_spawnattr_setpgroup(&attr, 0);
        if (!e)
                e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                            POSIX_SPAWN_SETPGROUP);
        if (e) {
                posix_spawn_file_actions_destroy(&fa);
                posix_spawnattr_destroy(&attr);
                return -e;
        }

        /* posix_spawn() has no rlimit action, and a limit set on the child
         * after it started comes too late for a program that looks at it at
         * once. So the process's soft limit is lowered for the moment of the
         * spawn (the child inherits it at clone time) and restored: another
         * thread opening a descriptor meanwhile still finds a free one below
         * 1024 but for a daemon following more files than that, and that
         * thread's open() then fails with EMFILE, which the tail retries. */
        if (getrlimit(RLIMIT_NOFILE, &old) == 0 && old.rlim_cur > CHILD_NOFILE_SOFT) {
                low = old;
                low.rlim_cur = CHILD_NOFILE_SOFT;
                lowered = setrlimit(RLIMIT_NOFILE, &low) == 0;
        }
        e = posix_spawn(&pid, prog, &fa, &attr, argv, p->unit.environment ?: empty_env);
        if (lowered)
                (void) setrlimit(RLIMIT_NOFILE, &old);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (e) {
                (void) asprintf(&why, "step %zu: cannot run %s: %s", run->step + 1, prog,
                                strerror(e));
                return fail_later(run, EXIT_EXEC, TAKE_PTR(why));
        }
        wfd = safe_close(wfd);
        run->pid = pid;
        log_debug("%s: step %zu is process %d: %s", p->unit.name, run->step + 1, (int) pid, prog);

        k = sd_event_add_child(run->runner->event, &run->child_source, pid, WEXITED, on_child, run);
        if (k < 0) {
                (void) kill(-pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                run->pid = 0;
                return k;
        }
        run->out_fd = TAKE_FD(rfd);
        k = sd_event_add_io(run->runner->event, &run->out_source, run->out_fd, EPOLLIN, on_output,
                            run);
        if (k < 0)
                /* The step runs on; only its output is lost. */
                log_warning_errno(k, "%s: cannot read the output of step %zu: %m", p->unit.name,
                                  run->step + 1);
        return 0;
}

static int on_kill(sd_event_source *s, uint64_t usec, void *userdata) {
        FixRun *run = userdata;

        if (run->pid > 0) {
                log_warning("%s: process %d still there after SIGTERM, sending SIGKILL",
                            run->plan.unit.name, (int) run->pid);
                (void) kill(-run->pid, SIGKILL);
        }
        return 0;
}

/* SIGTERM to the step's group now, SIGKILL after the grace period. */
static void terminate(FixRun *run) {
        int k;

        if (run->pid <= 0)
                return;
        /* The leader is not reaped until its child source is dispatched, so
         * its pid (and group id) cannot have been reused. */
        (void) kill(-run->pid, SIGTERM);
        if (run->kill_source)
                return;
        k = sd_event_add_time_relative(run->runner->event, &run->kill_source, CLOCK_MONOTONIC,
                                       KILL_GRACE_USEC, 0, on_kill, run);
        if (k < 0)
                (void) kill(-run->pid, SIGKILL);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        FixRun *run = userdata;

        log_warning("%s: RuntimeMaxSec=%" PRIu64 "ms exceeded, stopping it", run->plan.unit.name,
                    run->plan.unit.runtime_max_usec / 1000);
        run->timed_out = true;
        terminate(run);
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        FixRun *run = userdata;
        _cleanup_free_ char *why = NULL;
        int k;

        drain(run);
        run->out_source = sd_event_source_disable_unref(run->out_source);
        run->out_fd = safe_close(run->out_fd);
        run->child_source = sd_event_source_disable_unref(run->child_source);
        run->kill_source = sd_event_source_disable_unref(run->kill_source);
        run->pid = 0;

        if (run->cancelled) {
                fix_run_finish(run, NULL, -1, 0, NULL);
                return 0;
        }
        if (run->timed_out) {
                child_finish(run, "timeout", si->si_status, NULL);
                return 0;
        }
        if (si->si_code == CLD_KILLED || si->si_code == CLD_DUMPED) {
                (void) asprintf(&why, "step %zu (%s) killed by signal %s", run->step + 1,
                                run->plan.steps[run->step][0], sigabbrev_np(si->si_status) ?: "?");
                child_finish(run, si->si_code == CLD_DUMPED ? "core-dump" : "signal", si->si_status,
                             why);
                return 0;
        }
        if (si->si_status != 0) {
                (void) asprintf(&why, "step %zu (%s) exited with status %d", run->step + 1,
                                run->plan.steps[run->step][0], si->si_status);
                child_finish(run, "exit-code", si->si_status, why);
                return 0;
        }
        if (++run->step >= run->plan.n_steps) {
                child_finish(run, "success", 0, NULL);
                return 0;
        }
        k = spawn_step(run);
        if (k < 0) {
                (void) asprintf(&why, "step %zu: cannot start it: %s", run->step + 1, strerror(-k));
                child_finish(run, "resources", -1, why);
        }
        return 0;
}

int fix_child_start(FixRun *run) {
        uint64_t t = run->plan.unit.runtime_max_usec;
        int k;

        if (t > 0 && t != UINT64_MAX) {
                k = sd_event_add_time_relative(run->runner->event, &run->timeout_source,
                                               CLOCK_MONOTONIC, t, 0, on_timeout, run);
                if (k < 0)
                        return k;
        }
        return spawn_step(run);
}

void fix_child_cancel(FixRun *run) {
        run->timeout_source = sd_event_source_disable_unref(run->timeout_source);
        if (run->pid > 0) {
                /* The run stays on the list until its child is reaped. */
                terminate(run);
                return;
        }
        fix_run_free(run);
}

void fix_child_release(FixRun *run) {
        if (run->pid <= 0)
                return;
        (void) kill(-run->pid, SIGKILL);
        (void) waitpid(run->pid, NULL, 0);
        run->pid = 0;
}
