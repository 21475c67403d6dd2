/* SPDX-License-Identifier: MIT */
/*
 * Runs one plan with the fix runner's UNIT runner (a transient unit over
 * the system bus) and prints its FixRunResult as one JSON object, for
 * tests/e2e/e2e-fix-runner.sh under real systemd.
 *
 *   fix-runner-probe start --unit NAME --user USER --dir DIR [--env K=V]...
 *                    [--path P] [--timeout-ms N] [--memory-max BYTES]
 *                    [--exit-after-ms N] -- ARGV... [';' ARGV...]...
 *   fix-runner-probe adopt --unit NAME
 *
 * --exit-after-ms lets go of the run after N ms, prints {"detached":true}
 * and exits, as appwatchd does when it stops: the unit keeps running.
 * A start refused at once prints {"start_error":"EEXIST",...}, exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fix/runner.h"
#include "shared/log.h"
#include "shared/parse.h"

static bool done;
static int exit_code = 0;

static const char *errname(int e) {
        const char *s = e ? strerrorname_np(e < 0 ? -e : e) : NULL;

        return s ?: "";
}

static void on_done(FixRun *run, const FixRunResult *res, void *userdata) {
        json_t *o = json_pack("{s:b,s:s,s:i,s:s?,s:s,s:s?,s:s}", "success", res->success,
                              "result", res->result, "exit_status", res->exit_status, "unit",
                              res->unit, "output", res->output, "note", res->note, "error",
                              errname(res->error));
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

        printf("%s\n", s ?: "{}");
        free(s);
        json_decref(o);
        done = true;
}

static int on_detach(sd_event_source *s, uint64_t usec, void *userdata) {
        printf("{\"detached\":true}\n");
        done = true;
        return 0;
}

int main(int argc, char **argv) {
        enum { O_UNIT = 256, O_USER, O_DIR, O_ENV, O_PATH, O_TIMEOUT, O_MEMORY, O_EXIT_AFTER };
        static const struct option opts[] = {
                { "unit", required_argument, NULL, O_UNIT },
                { "user", required_argument, NULL, O_USER },
                { "dir", required_argument, NULL, O_DIR },
                { "env", required_argument, NULL, O_ENV },
                { "path", required_argument, NULL, O_PATH },
                { "timeout-ms", required_argument, NULL, O_TIMEOUT },
                { "memory-max", required_argument, NULL, O_MEMORY },
                { "exit-after-ms", required_argument, NULL, O_EXIT_AFTER },
                {},
        };
        FixPlan p = { .kind = _FIX_KIND_INVALID };
        sd_event *e = NULL;
        FixRunner *r = NULL;
        long exit_after = -1;
        const char *verb;
        char **step = NULL;
        int c, k;

        if (argc < 2) {
                fprintf(stderr, "usage: fix-runner-probe start|adopt ...\n");
                return 64;
        }
        if (getenv("FIX_RUNNER_PROBE_DEBUG"))
                log_set_max_level(LOG_DEBUG);
        verb = argv[1];
        optind = 2;
        p.unit.runtime_max_usec = 60 * 1000000ULL;
        p.unit.no_new_privileges = true;
        p.unit.private_tmp = true;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case O_UNIT: p.unit.name = strdup(optarg); break;
                case O_USER: p.unit.user = strdup(optarg); break;
                case O_DIR: p.unit.working_directory = strdup(optarg); break;
                case O_ENV: strv_extend(&p.unit.environment, optarg); break;
                case O_PATH: p.unit.exec_search_path = strdup(optarg); break;
                case O_TIMEOUT: p.unit.runtime_max_usec = strtoull(optarg, NULL, 10) * 1000; break;
                case O_MEMORY: p.unit.memory_max = strtoull(optarg, NULL, 10); break;
                case O_EXIT_AFTER: exit_after = atol(optarg); break;
                default: return 64;
                }
        for (int i = optind; i <= argc; i++) {
                if (i == argc || strcmp(argv[i], ";") == 0) {
                        if (!step)
                                continue;
                        p.steps = realloc(p.steps, sizeof(char **) * (p.n_steps + 2));
                        p.steps[p.n_steps++] = step;
                        p.steps[p.n_steps] = NULL;
                        step = NULL;
                        continue;
                }
                strv_extend(&step, argv[i]);
        }
        p.command_line = strdup("e2e probe");
        p.fix_id = strdup("e2e");

        if (sd_event_new(&e) < 0)
                return 70;
        k = fix_runner_new(e, FIX_RUNNER_UNIT, &r);
        if (k < 0) {
                printf("{\"start_error\":\"%s\",\"what\":\"fix_runner_new\"}\n", errname(k));
                return 2;
        }
        if (strcmp(verb, "start") == 0)
                k = fix_runner_start(r, &p, on_done, NULL, NULL);
        else if (strcmp(verb, "adopt") == 0)
                k = fix_runner_adopt(r, p.unit.name, on_done, NULL, NULL);
        else
                return 64;
        if (k < 0) {
                printf("{\"start_error\":\"%s\"}\n", errname(k));
                exit_code = 2;
                done = true;
        }
        if (exit_after >= 0)
                (void) sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC,
                                                  (uint64_t) exit_after * 1000, 0, on_detach,
                                                  NULL);
        while (!done)
                if (sd_event_run(e, UINT64_MAX) < 0)
                        return 71;
        fflush(stdout);
        fix_runner_free(r);
        sd_event_unref(e);
        fix_plan_done(&p);
        return exit_code;
}
