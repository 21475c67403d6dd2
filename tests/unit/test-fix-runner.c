/* SPDX-License-Identifier: MIT */
/*
 * Tests for the child runner (fix/runner.h, FIX_RUNNER_CHILD) with real
 * processes: fix-runner-helper (built next to this test, $FIX_RUNNER_HELPER)
 * prints, sleeps, reports its cwd, environment and limits and exits as
 * told. The unit runner needs systemd: tests/e2e/e2e-fix-runner.sh.
 */
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "fix/runner.h"
#include "shared/parse.h"
#include "tests.h"

static const char *helper(void) {
        const char *h = getenv("FIX_RUNNER_HELPER");

        if (!h) {
                fprintf(stderr, "FIX_RUNNER_HELPER is not set\n");
                abort();
        }
        return h;
}

static char *my_user(void) {
        struct passwd *pw = getpwuid(geteuid());

        return strdup(pw ? pw->pw_name : "root");
}

static void plan_init(FixPlan *p, const char *name) {
        *p = (FixPlan) { .kind = _FIX_KIND_INVALID };
        p->unit.name = strdup(name);
        p->unit.user = my_user();
        p->unit.working_directory = strdup("/");
        p->unit.runtime_max_usec = 30 * 1000000ULL;
        p->unit.no_new_privileges = true;
        p->unit.private_tmp = true;
}

/* Appends a step running the helper with the given arguments. */
static void add_step(FixPlan *p, const char *first, ...) {
        char **argv = NULL;
        va_list ap;

        strv_extend(&argv, helper());
        va_start(ap, first);
        for (const char *a = first; a; a = va_arg(ap, const char *))
                strv_extend(&argv, a);
        va_end(ap);
        p->steps = realloc(p->steps, sizeof(char **) * (p->n_steps + 2));
        p->steps[p->n_steps++] = argv;
        p->steps[p->n_steps] = NULL;
}

typedef struct Outcome {
        bool called;
        unsigned calls;
        FixRun *run;
        bool success;
        char *result, *unit, *output, *note;
        int exit_status, error;
} Outcome;

static void outcome_done(Outcome *o) {
        free(o->result);
        free(o->unit);
        free(o->output);
        free(o->note);
}

static void on_done(FixRun *run, const FixRunResult *res, void *userdata) {
        Outcome *o = userdata;

        o->called = true;
        o->calls++;
        o->run = run;
        o->success = res->success;
        o->result = strdup(res->result);
        o->unit = res->unit ? strdup(res->unit) : NULL;
        o->output = strdup(res->output);
        o->note = res->note ? strdup(res->note) : NULL;
        o->exit_status = res->exit_status;
        o->error = res->error;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* Runs the loop until o is called (or 60 s pass). */
static int run_until_done(sd_event *e, Outcome *o) {
        uint64_t end = now_usec() + 60 * 1000000ULL;

        while (!o->called && now_usec() < end)
                if (sd_event_run(e, 100 * 1000) < 0)
                        return -EIO;
        return o->called ? 0 : -ETIMEDOUT;
}

/* Runs plan to its end with a fresh child runner. */
static int run_plan(FixPlan *p, Outcome *o) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(fix_runner_freep) FixRunner *r = NULL;
        FixRun *run = NULL;
        int k;

        *o = (Outcome) {};
        if (sd_event_new(&e) < 0 || fix_runner_new(e, FIX_RUNNER_CHILD, &r) < 0)
                return -EIO;
        if (fix_runner_kind(r) != FIX_RUNNER_CHILD)
                return -EINVAL;
        k = fix_runner_start(r, p, on_done, o, &run);
        fix_plan_done(p);               /* the runner has its own copy */
        if (k < 0)
                return k;
        if (o->called || fix_runner_active(r) != 1)
                return -EBADE;          /* done must never come from inside start */
        k = run_until_done(e, o);
        if (k < 0)
                return k;
        if (o->run != run || o->calls != 1 || fix_runner_active(r) != 0)
                return -EBADE;
        return 0;
}

TEST(steps_run_in_order_and_succeed) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        plan_init(&p, "appwatch-fix-shop-1-1.service");
        p.unit.memory_max = 512ULL << 20;
        p.unit.cpu_quota_per_sec_usec = 500000;
        add_step(&p, "print", "one", NULL);
        add_step(&p, "stderr", "two", "print", "three", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_TRUE(o.success);
        ASSERT_STREQ(o.result, "success");
        ASSERT_EQ(o.exit_status, 0);
        ASSERT_EQ(o.error, 0);
        ASSERT_STREQ(o.unit, "appwatch-fix-shop-1-1.service");
        /* stdout and stderr in one stream, in the order written */
        ASSERT_STREQ(o.output, "one\ntwo\nthree\n");
        ASSERT_STRSTR(o.note, "not applied");
        ASSERT_STRSTR(o.note, "MemoryMax=");
        ASSERT_STRSTR(o.note, "CPUQuota=");
        ASSERT_STRSTR(o.note, "PrivateTmp=");
        return 0;
}

TEST(no_limits_no_note) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        plan_init(&p, "appwatch-fix-shop-1-2.service");
        p.unit.private_tmp = false;
        p.unit.no_new_privileges = false;
        add_step(&p, "print", "ok", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "success");
        ASSERT_TRUE(!o.note);
        return 0;
}

TEST(a_failing_step_stops_the_rest) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        plan_init(&p, "appwatch-fix-shop-2-1.service");
        add_step(&p, "print", "a", NULL);
        add_step(&p, "print", "b", "exit", "3", NULL);
        add_step(&p, "print", "c", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_TRUE(!o.success);
        ASSERT_STREQ(o.result, "exit-code");
        ASSERT_EQ(o.exit_status, 3);
        ASSERT_STREQ(o.output, "a\nb\n");
        ASSERT_STRSTR(o.note, "step 2");
        ASSERT_STRSTR(o.note, "status 3");
        return 0;
}

TEST(a_signal_is_reported) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        plan_init(&p, "appwatch-fix-shop-2-2.service");
        add_step(&p, "print", "x", "raise", "9", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "signal");
        ASSERT_EQ(o.exit_status, SIGKILL);
        ASSERT_STRSTR(o.note, "KILL");
        return 0;
}

TEST(a_missing_program_is_exit_code_203) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};
        char **argv = NULL;

        plan_init(&p, "appwatch-fix-shop-2-3.service");
        add_step(&p, "print", "first", NULL);
        strv_extend(&argv, "appwatch-no-such-program");
        p.steps = realloc(p.steps, sizeof(char **) * 3);
        p.steps[p.n_steps++] = argv;
        p.steps[p.n_steps] = NULL;
        p.unit.exec_search_path = strdup("/nonexistent:/usr/bin");
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "exit-code");
        ASSERT_EQ(o.exit_status, 203);
        ASSERT_STREQ(o.output, "first\n");
        ASSERT_STRSTR(o.note, "'appwatch-no-such-program' not found in /nonexistent:/usr/bin");
        return 0;
}

TEST(a_bare_name_is_found_in_exec_search_path) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *dir = strdup(helper());
        char **argv = NULL;

        *strrchr(dir, '/') = '\0';
        plan_init(&p, "appwatch-fix-shop-2-4.service");
        strv_extend(&argv, "fix-runner-helper");
        strv_extend(&argv, "print");
        strv_extend(&argv, "found");
        p.steps = calloc(2, sizeof(char **));
        p.steps[p.n_steps++] = argv;
        p.unit.exec_search_path = strdup(dir);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "success");
        ASSERT_STREQ(o.output, "found\n");
        return 0;
}

TEST(a_missing_directory_is_exit_code_200) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        plan_init(&p, "appwatch-fix-shop-2-5.service");
        free(p.unit.working_directory);
        p.unit.working_directory = strdup("/nonexistent/app");
        add_step(&p, "print", "never", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "exit-code");
        ASSERT_EQ(o.exit_status, 200);
        ASSERT_STREQ(o.output, "");
        ASSERT_STRSTR(o.note, "/nonexistent/app");
        return 0;
}

TEST(the_output_tail_is_bounded) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        plan_init(&p, "appwatch-fix-shop-3-1.service");
        add_step(&p, "print", "head", "spew", "200000", NULL);
        add_step(&p, "stderr", "last words", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "success");
        ASSERT_EQ(strlen(o.output), FIX_OUTPUT_TAIL_MAX);
        ASSERT_TRUE(!strstr(o.output, "head"));
        ASSERT_STREQ(o.output + strlen(o.output) - strlen("x<END>\nlast words\n"),
                     "x<END>\nlast words\n");
        ASSERT_EQ(o.output[0], 'x');
        return 0;
}

TEST(the_environment_is_exactly_the_plans) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        setenv("APPWATCH_TEST_LEAK", "1", 1);
        plan_init(&p, "appwatch-fix-shop-4-1.service");
        strv_extend(&p.unit.environment, "PUB_CACHE=/srv/cache");
        strv_extend(&p.unit.environment, "LITERAL=$HOME ${PATH}");
        add_step(&p, "env", "print", "$HOME", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "success");
        /* nothing of the runner's own environment, nothing expanded */
        ASSERT_STREQ(o.output, "PUB_CACHE=/srv/cache\nLITERAL=$HOME ${PATH}\n$HOME\n");
        unsetenv("APPWATCH_TEST_LEAK");
        return 0;
}

TEST(no_environment_is_an_empty_one) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};

        plan_init(&p, "appwatch-fix-shop-4-2.service");
        add_step(&p, "env", "print", "end", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.output, "end\n");
        return 0;
}

TEST(the_working_directory_and_signal_mask) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *want = NULL;
        char real[PATH_MAX];
        sigset_t ss;

        ASSERT_TRUE(realpath(test_tmpdir(), real));
        ASSERT_TRUE(asprintf(&want, "%s\nclear\n", real) > 0);
        /* The loop blocks signals (and the runner SIGCHLD); the child must not inherit that. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGHUP);
        ASSERT_OK(-pthread_sigmask(SIG_BLOCK, &ss, NULL));
        plan_init(&p, "appwatch-fix-shop-5-1.service");
        free(p.unit.working_directory);
        p.unit.working_directory = strdup(real);
        add_step(&p, "cwd", "sigmask", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.output, want);
        return 0;
}

static bool under_valgrind(void) {
        const char *p = getenv("LD_PRELOAD");

        return p && strstr(p, "vgpreload");
}

TEST(the_descriptor_limit_is_lowered_for_the_child) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};
        _cleanup_free_ char *want = NULL;
        struct rlimit rl, after;

        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &rl));
        if (rl.rlim_max <= 1024) {
                fprintf(stderr, "hard RLIMIT_NOFILE %llu: nothing to lower\n",
                        (unsigned long long) rl.rlim_max);
                return EXIT_TEST_SKIP;
        }
        /* As appwatchd does at start. */
        rl.rlim_cur = rl.rlim_max;
        ASSERT_OK(setrlimit(RLIMIT_NOFILE, &rl));
        ASSERT_TRUE(asprintf(&want, "1024 %llu\n", (unsigned long long) rl.rlim_max) > 0);
        plan_init(&p, "appwatch-fix-shop-6-1.service");
        add_step(&p, "nofile", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_STREQ(o.result, "success");
        /* valgrind keeps setrlimit(RLIMIT_NOFILE) to itself: the real limit never changes */
        if (!under_valgrind())
                ASSERT_STREQ(o.output, want);
        ASSERT_OK(getrlimit(RLIMIT_NOFILE, &after));
        ASSERT_EQ(after.rlim_cur, rl.rlim_cur);
        return 0;
}

TEST(runtime_max_sec_terminates_it) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};
        uint64_t t0 = now_usec();

        plan_init(&p, "appwatch-fix-shop-7-1.service");
        p.unit.runtime_max_usec = 300 * 1000;
        add_step(&p, "print", "started", "sleep", "20000", "print", "not reached", NULL);
        add_step(&p, "print", "never", NULL);
        ASSERT_OK(run_plan(&p, &o));
        ASSERT_TRUE(!o.success);
        ASSERT_STREQ(o.result, "timeout");
        ASSERT_EQ(o.exit_status, SIGTERM);
        ASSERT_STREQ(o.output, "started\n");
        ASSERT_TRUE(now_usec() - t0 < 4 * 1000000ULL);
        return 0;
}

TEST(runtime_max_sec_kills_what_ignores_sigterm) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_(outcome_done) Outcome o = {};
        uint64_t t0 = now_usec(), dt;

        plan_init(&p, "appwatch-fix-shop-7-2.service");
        p.unit.runtime_max_usec = 200 * 1000;
        add_step(&p, "ignore-term", "print", "stubborn", "sleep", "30000", NULL);
        ASSERT_OK(run_plan(&p, &o));
        dt = now_usec() - t0;
        ASSERT_STREQ(o.result, "timeout");
        ASSERT_EQ(o.exit_status, SIGKILL);
        /* the grace period is 5 s */
        ASSERT_TRUE(dt >= 5 * 1000000ULL && dt < 15 * 1000000ULL);
        return 0;
}

TEST(another_user_is_refused) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(fix_runner_freep) FixRunner *r = NULL;
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_free_ char *err = NULL, *me = my_user();
        Outcome o = {};
        FixRun *run = NULL;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(fix_runner_new(e, FIX_RUNNER_CHILD, &r));
        plan_init(&p, "appwatch-fix-shop-8-1.service");
        free(p.unit.user);
        p.unit.user = strdup(geteuid() == 0 ? "nobody" : "root");
        add_step(&p, "print", "never", NULL);
        ASSERT_ERROR(fix_runner_check(r, &p, &err), EPERM);
        ASSERT_STRSTR(err, "appwatch-fix-shop-8-1.service");
        ASSERT_STRSTR(err, geteuid() == 0 ? "User=nobody" : "User=root (uid 0)");
        ASSERT_STRSTR(err, me);
        ASSERT_ERROR(fix_runner_start(r, &p, on_done, &o, &run), EPERM);
        ASSERT_TRUE(!run && !o.called);
        ASSERT_EQ(fix_runner_active(r), 0);

        free(p.unit.user);
        p.unit.user = strdup("appwatch-no-such-user");
        free(err);
        err = NULL;
        ASSERT_ERROR(fix_runner_check(r, &p, &err), EPERM);
        ASSERT_STRSTR(err, "User=appwatch-no-such-user does not exist");

        /* our own uid by number is fine */
        free(p.unit.user);
        ASSERT_TRUE(asprintf(&p.unit.user, "%u", (unsigned) geteuid()) > 0);
        ASSERT_OK(fix_runner_check(r, &p, NULL));
        return 0;
}

TEST(bad_plans_and_adopt_are_refused) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(fix_runner_freep) FixRunner *r = NULL;
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        Outcome o = {};

        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(fix_runner_new(e, FIX_RUNNER_CHILD, &r));
        plan_init(&p, "appwatch-fix-shop-9-1.service");
        ASSERT_ERROR(fix_runner_start(r, &p, on_done, &o, NULL), EINVAL);      /* no steps */
        add_step(&p, "print", "x", NULL);
        free(p.unit.working_directory);
        p.unit.working_directory = strdup("relative");
        ASSERT_ERROR(fix_runner_start(r, &p, on_done, &o, NULL), EINVAL);
        ASSERT_ERROR(fix_runner_adopt(r, "appwatch-fix-shop-9-1.service", on_done, &o, NULL),
                     EOPNOTSUPP);
        ASSERT_TRUE(!o.called);
        return 0;
}

static pid_t read_pid(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        int pid = 0;

        if (!f || fscanf(f, "%d", &pid) != 1)
                return 0;
        return pid;
}

/* Runs the loop until pid is gone (reaped) or 20 s pass. */
static bool wait_gone(sd_event *e, const char *pidfile) {
        uint64_t end = now_usec() + 20 * 1000000ULL;
        pid_t pid = 0;

        while (now_usec() < end) {
                if (!pid)
                        pid = read_pid(pidfile);
                if (pid && kill(pid, 0) < 0 && errno == ESRCH)
                        return true;
                (void) sd_event_run(e, 50 * 1000);
        }
        return false;
}

TEST(cancel_stops_it_without_done) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(fix_runner_freep) FixRunner *r = NULL;
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_free_ char *pidfile = NULL;
        Outcome o = {}, o2 = {};
        FixRun *run = NULL;
        uint64_t end;

        ASSERT_TRUE(asprintf(&pidfile, "%s/pid", test_tmpdir()) > 0);
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(fix_runner_new(e, FIX_RUNNER_CHILD, &r));
        plan_init(&p, "appwatch-fix-shop-10-1.service");
        add_step(&p, "pidfile", pidfile, "sleep", "30000", NULL);
        ASSERT_OK(fix_runner_start(r, &p, on_done, &o, &run));
        ASSERT_TRUE(run);
        /* the same unit name again, while it runs */
        ASSERT_ERROR(fix_runner_start(r, &p, on_done, &o2, NULL), EEXIST);
        for (end = now_usec() + 20 * 1000000ULL; !read_pid(pidfile) && now_usec() < end;)
                (void) sd_event_run(e, 20 * 1000);
        ASSERT_TRUE(read_pid(pidfile) > 0);
        fix_run_cancel(run);
        ASSERT_EQ(fix_runner_active(r), 0);
        ASSERT_TRUE(wait_gone(e, pidfile));
        ASSERT_TRUE(!o.called && !o2.called);
        /* the name is free again */
        ASSERT_OK(fix_runner_start(r, &p, on_done, &o2, &run));
        ASSERT_EQ(fix_runner_active(r), 1);
        fix_run_cancel(run);
        ASSERT_EQ(fix_runner_active(r), 0);
        return 0;
}

TEST(freeing_the_runner_kills_its_children) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        FixRunner *r = NULL;
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_free_ char *pidfile = NULL;
        Outcome o = {};
        pid_t pid = 0;
        uint64_t end;

        ASSERT_TRUE(asprintf(&pidfile, "%s/pid2", test_tmpdir()) > 0);
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(fix_runner_new(e, FIX_RUNNER_CHILD, &r));
        plan_init(&p, "appwatch-fix-shop-11-1.service");
        add_step(&p, "pidfile", pidfile, "ignore-term", "sleep", "30000", NULL);
        ASSERT_OK(fix_runner_start(r, &p, on_done, &o, NULL));
        for (end = now_usec() + 20 * 1000000ULL; !(pid = read_pid(pidfile)) && now_usec() < end;)
                (void) sd_event_run(e, 20 * 1000);
        ASSERT_TRUE(pid > 0);
        fix_runner_free(r);
        ASSERT_TRUE(kill(pid, 0) < 0 && errno == ESRCH);
        ASSERT_TRUE(!o.called);
        return 0;
}

TEST(the_kind_is_chosen_by_the_bus) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(fix_runner_freep) FixRunner *r = NULL;
        FixRunner *u = NULL;
        int k;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_ERROR(fix_runner_new(e, _FIX_RUNNER_KIND_MAX, &r), EINVAL);
        if (sd_booted() > 0) {
                fprintf(stderr, "booted with systemd: the fallback is for systems without it\n");
                return EXIT_TEST_SKIP;
        }
        /* Without systemd: no unit runner, and the automatic choice is the child. */
        k = fix_runner_new(e, FIX_RUNNER_UNIT, &u);
        ASSERT_TRUE(k < 0 && !u);
        ASSERT_OK(fix_runner_new(e, _FIX_RUNNER_KIND_INVALID, &r));
        ASSERT_EQ(fix_runner_kind(r), FIX_RUNNER_CHILD);
        return 0;
}
