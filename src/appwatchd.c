/* SPDX-License-Identifier: MIT */
/*
 * appwatchd: the daemon. Parses the command line and the configuration,
 * builds the Manager and runs its loop. See appwatchd --help.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "core/manager.h"
#include "shared/config.h"
#include "shared/http.h"
#include "shared/log.h"

static const char *arg_config = NULL;
static bool arg_check_config = false;
static bool arg_foreground = false;
static bool arg_dry_run = false;
static const char *arg_state_dir = NULL;
static const char *arg_runtime_dir = NULL;

static void help(void) {
        printf("Usage: appwatchd [OPTIONS...]\n\n"
               "Watches app builds and scripts, and turns each failure into a diagnosed,\n"
               "recorded and announced incident.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "  -c --config=PATH       Configuration file (default: %s/appwatch.conf,\n"
               "                         or $CONFIGURATION_DIRECTORY/appwatch.conf)\n"
               "     --check-config      Parse and validate the configuration, print every\n"
               "                         problem, and exit (non-zero when invalid)\n"
               "  -f --foreground        Log to stderr even when the journal is available\n"
               "     --state-dir=DIR     Database directory (default: $STATE_DIRECTORY or %s)\n"
               "     --runtime-dir=DIR   Control socket directory (default: $RUNTIME_DIRECTORY\n"
               "                         or %s); used when not socket-activated\n"
               "     --dry-run           Log fixes as skipped instead of running them\n"
               "     --log-level=LEVEL   debug, info, notice, warning or err (default: info)\n",
               PKGSYSCONFDIR, DEFAULT_STATE_DIR, DEFAULT_RUNTIME_DIR);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CHECK_CONFIG,
                ARG_STATE_DIR,
                ARG_RUNTIME_DIR,
                ARG_DRY_RUN,
                ARG_LOG_LEVEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "foreground", no_argument, NULL, 'f' },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
                { "dry-run", no_argument, NULL, ARG_DRY_RUN },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "hc:f", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("appwatchd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case 'f':
                        arg_foreground = true;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        arg_runtime_dir = optarg;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                case ARG_LOG_LEVEL:
                        r = log_level_from_string(optarg);
                        if (r < 0) {
                                fprintf(stderr, "Invalid --log-level='%s': expected debug, info, "
                                        "notice, warning or err.\n", optarg);
                                return -EINVAL;
                        }
                        log_set_max_level(r);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
        if (optind < argc) {
                fprintf(stderr, "appwatchd takes no arguments; '%s' is extra.\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static void print_diags(const ConfigDiags *d, FILE *f) {
        for (size_t i = 0; i < d->n; i++) {
                const ConfigDiag *x = &d->items[i];
                const char *what = x->level == CONFIG_DIAG_ERROR ? "error" : "warning";
                if (x->line > 0)
                        fprintf(f, "%s:%u: %s: %s\n", x->file, x->line, what, x->message);
                else
                        fprintf(f, "%s: %s: %s\n", x->file, what, x->message);
        }
}

/*
 * systemd gives services a soft RLIMIT_NOFILE of 1024 (for select(), which
 * appwatchd does not use) and a much higher hard one. Every followed log
 * file holds a descriptor, so take the hard limit, as systemd's own daemons
 * do; the tailer still keeps a reserve below it (see TailOptions).
 */
static void raise_nofile_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_debug_errno(-errno, "Cannot raise the soft limit of open files, ignoring: %m");
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(config_diags_done) ConfigDiags diags = {};
        Config *config = NULL;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (arg_foreground)
                log_set_target_stderr(1);

        r = config_load(arg_config, arg_config != NULL, &config, &diags);
        if (arg_check_config) {
                print_diags(&diags, stdout);
                if (r < 0) {
                        printf("Configuration is invalid (%zu error%s).\n", diags.n_errors,
                               diags.n_errors == 1 ? "" : "s");
                        config_free(config);
                        return EXIT_FAILURE;
                }
                printf("Configuration is valid: %s", config->path);
                for (char **f = config->files; f && *f; f++)
                        if (strcmp(*f, config->path) != 0)
                                printf(", %s", *f);
                printf("%s\n", config->files ? "" : " (not present: built-in defaults)");
                config_free(config);
                return EXIT_SUCCESS;
        }
        config_diags_log(&diags);
        if (r < 0) {
                log_error_errno(r, "Refusing to start with an invalid configuration (%zu error%s).",
                                diags.n_errors, diags.n_errors == 1 ? "" : "s");
                return EXIT_FAILURE;
        }

        raise_nofile_limit();

        /* Before any thread exists, as libcurl requires. */
        if (http_global_init() < 0) {
                log_error("Cannot initialise libcurl.");
                config_free(config);
                return EXIT_FAILURE;
        }

        r = manager_new(&(ManagerOptions) {
                                .config_path = arg_config,
                                .config_explicit = arg_config != NULL,
                                .state_dir = arg_state_dir,
                                .runtime_dir = arg_runtime_dir,
                                .dry_run = arg_dry_run,
                        },
                        config, &m);
        if (r < 0) {
                log_error_errno(r, "Cannot create the manager: %m");
                return EXIT_FAILURE;
        }
        r = manager_start(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_run(m);
        m = manager_free(m);
        http_global_done();
        return r;
}
