/* SPDX-License-Identifier: MIT */
/*
 * Benchmark driver: runs the detection engine over a file the way the daemon
 * and "appwatchctl scan" do (1 MiB reads, detect_engine_feed_data, one flush
 * at the end) and prints throughput and peak RSS. Also prints the loaded
 * rules' patterns for the grep comparison. No timing assertions: this is not
 * a test.
 *
 *   bench-detect --rules-dir=DIR [--no-prefilter] [--no-jit] FILE
 *   bench-detect --rules-dir=DIR --print-patterns
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "detect/engine.h"
#include "shared/cleanup.h"

#define CHUNK (1024 * 1024)

static int count_cb(DetectEngine *e, const Finding *f, void *userdata) {
        (void) e, (void) f;
        (*(uint64_t *) userdata)++;
        return 0;
}

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "rules-dir", required_argument, NULL, 'r' },
                { "no-prefilter", no_argument, NULL, 'P' },
                { "no-jit", no_argument, NULL, 'J' },
                { "print-patterns", no_argument, NULL, 'p' },
                {},
        };
        const char *dirs[8];
        size_t n_dirs = 0;
        bool print = false;
        DetectOptions opts = {};
        DetectRulesFlags flags = 0;
        _cleanup_(detect_rules_unrefp) DetectRules *rules = NULL;
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        _cleanup_free_ char *buf = NULL;
        DetectRuleErrors errs = {};
        uint64_t findings = 0, bytes = 0;
        DetectStats st;
        struct rusage ru;
        double t0, t;
        int c, fd, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        if (n_dirs < ELEMENTSOF(dirs))
                                dirs[n_dirs++] = optarg;
                        break;
                case 'P':
                        opts.no_prefilter = true;
                        break;
                case 'J':
                        flags |= DETECT_RULES_NO_JIT;
                        break;
                case 'p':
                        print = true;
                        break;
                default:
                        return 2;
                }
        if (detect_rules_new(flags, &rules) < 0 || detect_rules_load_dirs(rules, dirs, n_dirs, &errs) < 0)
                return 2;
        for (size_t i = 0; i < errs.n_errors; i++)
                fprintf(stderr, "%s:%u: %s\n", errs.errors[i].file, errs.errors[i].line, errs.errors[i].message);
        detect_rule_errors_done(&errs);
        if (print) {
                _cleanup_strv_free_ char **p = detect_rules_patterns(rules);

                for (char **i = p; i && *i; i++)
                        puts(*i);
                return 0;
        }
        if (optind >= argc) {
                fprintf(stderr, "usage: bench-detect --rules-dir=DIR FILE\n");
                return 2;
        }
        if (detect_engine_new(rules, &opts, &e) < 0)
                return 2;
        buf = malloc(CHUNK);
        fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
        if (!buf || fd < 0) {
                perror(argv[optind]);
                return 2;
        }
        t0 = now();
        for (;;) {
                ssize_t n = read(fd, buf, CHUNK);

                if (n < 0) {
                        perror("read");
                        return 2;
                }
                if (n == 0)
                        break;
                bytes += (uint64_t) n;
                r = detect_engine_feed_data(e, "bench", buf, (size_t) n, 0, count_cb, &findings);
                if (r < 0)
                        return 2;
        }
        r = detect_engine_flush(e, NULL, UINT64_MAX, count_cb, &findings);
        t = now() - t0;
        close(fd);
        if (r < 0)
                return 2;
        detect_engine_get_stats(e, &st);
        (void) getrusage(RUSAGE_SELF, &ru);
        printf("engine: %.1f MB in %.3f s = %.1f MB/s, %.0f lines/s, %" PRIu64 " lines, %" PRIu64
               " blocks, %" PRIu64 " findings, %" PRIu64 " regex runs, %" PRIu64 " echoes, peak RSS %ld KiB\n",
               bytes / 1e6, t, bytes / 1e6 / t, st.lines / t, st.lines, st.blocks, findings, st.regex_runs,
               st.echoes, ru.ru_maxrss);
        return 0;
}
