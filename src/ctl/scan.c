/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl scan: see include/ctl/scan.h. Reads each input in 64 KiB chunks
 * (memory stays flat in the file size), feeds the engine with the file name
 * as the stream key, flushes at end of file, and prints each finding as it
 * is reported: human-readable by default, one JSON object per line with
 * --json. Titles, excerpts, parameters and the analysis are redacted unless
 * --no-redact is given, because scan output tends to be pasted elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/offline.h"
#include "config.h"
#include "ctl/scan.h"
#include "detect/engine.h"
#include "detect/redact.h"
#include "shared/cleanup.h"
#include "shared/config.h"
#include "shared/rules-dirs.h"

#define SCAN_CHUNK (64 * 1024)
#define SCAN_RULES_DIRS_MAX 16

typedef struct ScanState {
        bool json, redact;
        Language language;
        const char *app;
        unsigned n_findings;
} ScanState;

static void scan_help(void) {
        printf("appwatchctl scan [OPTIONS] FILE...|-\n\n"
               "Detect and diagnose failures in build logs without the daemon.\n\n"
               "  -h --help              Show this help\n"
               "     --json             One JSON object per finding and line\n"
               "     --language=ko|en   Language of labels and analysis\n"
               "     --rules-dir=DIR    Load *.rules from DIR instead of the default\n"
               "                        directories (repeatable; built-in rules stay)\n"
               "     --app=NAME         App name used in the analysis\n"
               "     --no-redact        Print secrets found in the log as they are\n\n"
               "Rules are read as appwatchd reads them: from $APPWATCH_RULES_DIR or\n"
               "%s, then from rules.d next to the configuration file\n"
               "($CONFIGURATION_DIRECTORY or %s).\n\n"
               "Exit status: 0 no findings, 1 findings, 2 usage or input error.\n",
               PKGDATADIR "/rules.d", PKGSYSCONFDIR);
}

/* Redacts (unless disabled) and returns a malloc'ed valid UTF-8 copy. */
static char *scan_text(const ScanState *st, const char *s) {
        _cleanup_free_ char *red = NULL;

        if (!s)
                s = "";
        if (!st->redact)
                return strdup(s);
        if (detect_redact(s, strlen(s), &red) < 0)
                return NULL;
        return TAKE_PTR(red);
}

static int print_json(const ScanState *st, const Finding *f, const char *analysis) {
        _cleanup_free_ char *title = scan_text(st, f->title), *excerpt = scan_text(st, f->excerpt),
                            *ana = scan_text(st, analysis), *dump = NULL;
        json_t *o, *params;

        if (!title || !excerpt || !ana)
                return -ENOMEM;
        params = json_object();
        for (size_t i = 0; params && i < f->n_params; i++) {
                _cleanup_free_ char *v = scan_text(st, f->params[i].value);

                if (!v || json_object_set_new(params, f->params[i].name, json_string(v)) < 0) {
                        json_decref(params);
                        return -ENOMEM;
                }
        }
        o = json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:o*}",
                      "category", category_to_string(f->category),
                      "type", detect_category_label(f->category, st->language),
                      "severity", severity_to_string(f->severity),
                      "auto_fixable", (int) f->auto_fixable,
                      "needs_declaration", (int) f->needs_declaration,
                      "fix", f->fix,
                      "fingerprint", f->fingerprint,
                      "title", title,
                      "excerpt", excerpt,
                      "analysis", ana,
                      "line_start", (json_int_t) f->line_start,
                      "line_end", (json_int_t) f->line_end,
                      "source", f->stream,
                      "rule", f->rule,
                      "params", params);
        if (!o)
                return -ENOMEM;
        dump = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (!dump)
                return -ENOMEM;
        puts(dump);
        return 0;
}

static void print_indented(const char *prefix, const char *text) {
        const char *p = text;

        while (*p) {
                size_t n = strcspn(p, "\n");

                printf("%s%.*s\n", prefix, (int) n, p);
                p += n;
                if (*p == '\n')
                        p++;
        }
}

static int print_human(const ScanState *st, const Finding *f, const Analysis *a) {
        bool ko = st->language == LANGUAGE_KO;
        _cleanup_free_ char *title = scan_text(st, f->title), *excerpt = scan_text(st, f->excerpt),
                            *cause = scan_text(st, a->cause), *step = scan_text(st, a->next_step);

        if (!title || !excerpt || !cause || !step)
                return -ENOMEM;
        if (f->line_start == f->line_end)
                printf("%s:%" PRIu64 ": ", f->stream, f->line_start);
        else
                printf("%s:%" PRIu64 "-%" PRIu64 ": ", f->stream, f->line_start, f->line_end);
        printf("[%s] %s (%s)\n", severity_to_string(f->severity),
               detect_category_label(f->category, st->language), category_to_string(f->category));
        printf("  %s %s\n", ko ? "제목:      " : "title:       ", title);
        printf("  %s %s\n", ko ? "자동수정:  " : "auto-fix:    ",
               !f->auto_fixable ? (ko ? "불가" : "no") :
               f->needs_declaration ? (ko ? "앱이 선언한 패키지일 때만 가능" : "only if the app declares it") :
               (ko ? "가능" : "yes"));
        printf("  %s %s\n", ko ? "수정:      " : "fix:         ", f->fix);
        printf("  %s %s\n", ko ? "지문:      " : "fingerprint: ", f->fingerprint);
        printf("  %s %s\n", ko ? "원인:      " : "cause:       ", cause);
        printf("  %s %s\n", ko ? "다음 단계: " : "next step:   ", step);
        if (strchr(excerpt, '\n'))
                print_indented("    | ", excerpt);
        putchar('\n');
        return 0;
}

static int on_finding(DetectEngine *e, const Finding *f, void *userdata) {
        ScanState *st = userdata;
        AnalyzeContext ctx = { .app = st->app };
        _cleanup_free_ char *text = NULL;
        Analysis a = {};
        int r;

        r = analyze_offline(f, st->language, &ctx, &a);
        if (r < 0)
                return r;
        if (st->json) {
                text = analysis_format(&a);
                r = text ? print_json(st, f, text) : -ENOMEM;
        } else
                r = print_human(st, f, &a);
        analysis_done(&a);
        if (r < 0)
                return r;
        st->n_findings++;
        return 0;
}

static int scan_fd(DetectEngine *e, ScanState *st, int fd, const char *name) {
        _cleanup_free_ char *buf = malloc(SCAN_CHUNK);
        int r;

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf, SCAN_CHUNK);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                r = detect_engine_feed_data(e, name, buf, (size_t) n, 0, on_finding, st);
                if (r < 0)
                        return r;
        }
        r = detect_engine_flush(e, name, UINT64_MAX, on_finding, st);
        if (r < 0)
                return r;
        detect_engine_forget(e, name);
        return 0;
}

int verb_scan(int argc, char **argv) {
        enum { ARG_JSON = 0x100, ARG_LANGUAGE, ARG_RULES_DIR, ARG_APP, ARG_NO_REDACT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, ARG_JSON },
                { "language", required_argument, NULL, ARG_LANGUAGE },
                { "rules-dir", required_argument, NULL, ARG_RULES_DIR },
                { "app", required_argument, NULL, ARG_APP },
                { "no-redact", no_argument, NULL, ARG_NO_REDACT },
                {},
        };
        const char *dirs[SCAN_RULES_DIRS_MAX];
        size_t n_dirs = 0;
        _cleanup_(rules_dirs_done) RulesDirs rd = {};
        _cleanup_free_ char *config_path = NULL, *looked = NULL;
        ScanState st = { .redact = true, .language = LANGUAGE_KO };
        _cleanup_(detect_rules_unrefp) DetectRules *rules = NULL;
        _cleanup_(detect_engine_freep) DetectEngine *engine = NULL;
        DetectRuleErrors errs = {};
        bool input_error = false;
        const char *lang;
        int c, r;

        lang = getenv("LANG");
        if (lang && language_from_string(lang) >= 0)
                st.language = language_from_string(lang);

        optind = 0; /* GNU: reinitialise, the caller may have parsed its own options */
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        scan_help();
                        return 0;
                case ARG_JSON:
                        st.json = true;
                        break;
                case ARG_LANGUAGE:
                        r = language_from_string(optarg);
                        if (r < 0) {
                                fprintf(stderr, "Unknown language '%s', expected ko or en.\n", optarg);
                                return 2;
                        }
                        st.language = (Language) r;
                        break;
                case ARG_RULES_DIR:
                        if (n_dirs >= ELEMENTSOF(dirs)) {
                                fprintf(stderr, "Too many --rules-dir= options (max %zu).\n",
                                        ELEMENTSOF(dirs));
                                return 2;
                        }
                        dirs[n_dirs++] = optarg;
                        break;
                case ARG_APP:
                        st.app = optarg;
                        break;
                case ARG_NO_REDACT:
                        st.redact = false;
                        break;
                case '?':
                        return 2;
                default:
                        return 2;
                }
        if (optind >= argc) {
                fprintf(stderr, "scan: no input files (use '-' for standard input).\n");
                return 2;
        }
        if (n_dirs == 0) {
                /* The daemon's directories, for the daemon's default file. */
                config_path = config_default_path();
                if (!config_path || rules_dirs_default(config_path, &rd) < 0) {
                        fprintf(stderr, "scan: out of memory.\n");
                        return 2;
                }
                for (size_t i = 0; i < rd.n; i++)
                        dirs[n_dirs++] = rd.dirs[i];
        }
        if (rules_dirs_count_existing(dirs, n_dirs) == 0) {
                /* Silently classifying with the few built-in patterns calls
                 * most failures "none"; say so, and how to get the rules. */
                looked = rules_dirs_join(dirs, n_dirs);
                fprintf(stderr,
                        "scan: no rules directory exists (looked in %s); only the built-in "
                        "patterns are in use.\n"
                        "scan: point it at rules with APPWATCH_RULES_DIR=DIR or --rules-dir=DIR "
                        "(a source checkout has them in etc/rules.d), or install appwatch.\n",
                        looked ?: "?");
        }

        r = detect_rules_new(0, &rules);
        if (r >= 0)
                r = detect_rules_load_dirs(rules, dirs, n_dirs, &errs);
        for (size_t i = 0; i < errs.n_errors; i++)
                fprintf(stderr, "%s:%u: %s\n", errs.errors[i].file, errs.errors[i].line,
                        errs.errors[i].message);
        detect_rule_errors_done(&errs);
        if (r >= 0)
                r = detect_engine_new(rules, NULL, &engine);
        if (r < 0) {
                fprintf(stderr, "scan: failed to set up the rules: %s\n", strerror(-r));
                return 2;
        }

        for (int i = optind; i < argc; i++) {
                _cleanup_close_ int fd = -EBADF;
                bool is_stdin = strcmp(argv[i], "-") == 0;

                if (!is_stdin) {
                        fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fd < 0) {
                                fprintf(stderr, "scan: cannot open '%s': %m\n", argv[i]);
                                input_error = true;
                                continue;
                        }
                }
                r = scan_fd(engine, &st, is_stdin ? STDIN_FILENO : fd, argv[i]);
                if (r < 0) {
                        fprintf(stderr, "scan: failed to read '%s': %s\n", argv[i], strerror(-r));
                        input_error = true;
                }
        }
        /* As the daemon does, a rule that kept hitting PCRE2's limits was
         * given up on; its findings may be missing, so say so. */
        for (size_t i = 0;; i++) {
                DetectDisabledRule d;

                if (detect_engine_get_disabled_rule(engine, i, &d) < 0)
                        break;
                fprintf(stderr, "%s:%u: rule '%s' hit PCRE2's match limits %" PRIu64 " times, "
                        "disabled for the rest of the scan; fix its pattern\n",
                        d.file ?: "?", d.line, d.name, d.limit_hits);
        }
        if (fflush(stdout) != 0)
                return 2;
        if (input_error)
                return 2;
        return st.n_findings > 0 ? 1 : 0;
}
