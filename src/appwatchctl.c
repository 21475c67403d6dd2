/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl: the client. Global options, then a verb; each verb lives in
 * src/ctl/ and talks to appwatchd over the control socket (except scan,
 * which runs the detection engine itself). See appwatchctl --help.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl/client.h"
#include "shared/log.h"

static void help(void) {
        printf("Usage: appwatchctl [OPTIONS...] VERB [ARGS...]\n\n"
               "Talks to appwatchd, the build failure watcher.\n\n"
               "Options:\n"
               "  -h --help           Show this help\n"
               "     --version        Show the version\n"
               "  -s --socket=PATH    Control socket (default: $APPWATCH_SOCKET or %s)\n"
               "  -j --json           Print JSON instead of text\n"
               "     --timeout=SPAN   How long to wait for the daemon (default: 30s)\n\n",
               CTL_DEFAULT_SOCKET);
        ctl_verbs_help();
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_TIMEOUT };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                {}
        };
        CtlGlobals g = {
                .socket_path = getenv("APPWATCH_SOCKET") ?: CTL_DEFAULT_SOCKET,
                .timeout = CTL_DEFAULT_TIMEOUT,
        };
        int c;

        log_set_target_stderr(1);
        while ((c = getopt_long(argc, argv, "+hs:j", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return CTL_EXIT_OK;
                case ARG_VERSION:
                        printf("appwatchctl %s\n", PACKAGE_VERSION);
                        return CTL_EXIT_OK;
                case 's':
                        g.socket_path = optarg;
                        break;
                case 'j':
                        g.json = true;
                        break;
                case ARG_TIMEOUT:
                        if (parse_timespan(optarg, &g.timeout) < 0 || g.timeout == 0) {
                                fprintf(stderr, "Invalid --timeout='%s': expected a time span "
                                        "such as 10s or 2min.\n", optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind >= argc) {
                help();
                return CTL_EXIT_USAGE;
        }
        const CtlVerb *v = ctl_verb_find(argv[optind]);
        if (v)
                return v->run(&g, argc - optind, argv + optind);
        fprintf(stderr, "appwatchctl: unknown verb '%s'; see appwatchctl --help.\n", argv[optind]);
        return CTL_EXIT_USAGE;
}
