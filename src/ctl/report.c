/* SPDX-License-Identifier: MIT */
/* appwatchctl report daily [--print [--since=WHEN]] [--json]. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "shared/protocol.h"

int verb_report(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "print", no_argument, NULL, 'p' },
                { "since", required_argument, NULL, 'S' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        json_auto_t *args = json_object(), *data = NULL;
        _cleanup_free_ char *message = NULL;
        bool as_json = g->json, print = false;
        long long since = 0;
        int c, r;

        if (!args)
                return CTL_EXIT_FAILURE;
        optind = 0;
        while ((c = getopt_long(argc, argv, "hpS:j", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        ctl_verb_help("report");
                        return CTL_EXIT_OK;
                case 'p':
                        print = true;
                        break;
                case 'S':
                        since = ctl_parse_since(optarg);
                        if (since < 0) {
                                fprintf(stderr, "appwatchctl: invalid --since='%s': expected a "
                                        "span such as 2h or 3d, 'today', or YYYY-MM-DD[ HH:MM].\n",
                                        optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                case 'j':
                        as_json = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind >= argc || strcmp(argv[optind], "daily") != 0 || optind + 1 < argc) {
                fprintf(stderr, "Usage: appwatchctl report daily [--print [--since=WHEN]] "
                        "[--json]\n");
                return CTL_EXIT_USAGE;
        }
        if (since > 0 && !print) {
                fprintf(stderr, "appwatchctl report: --since is only for --print: a recorded "
                        "report covers everything since the last one.\n");
                return CTL_EXIT_USAGE;
        }
        json_object_set_new(args, "kind", json_string("daily"));
        if (since > 0)
                json_object_set_new(args, "since", json_integer(since));
        r = ctl_call(g, print ? "report-print" : "report", json_incref(args), &data, &message);
        if (r < 0) {
                ctl_print_error(g, "report", r, message);
                return CTL_EXIT_FAILURE;
        }
        if (as_json) {
                _cleanup_free_ char *s = json_dumps(data, JSON_COMPACT);
                if (s)
                        puts(s);
                return CTL_EXIT_OK;
        }
        fputs(json_string_value(json_object_get(data, "text")) ?: "", stdout);
        if (!print)
                fprintf(stderr, "Report #%lld recorded; %lld message%s queued for Slack and "
                        "Notion.\n", (long long) json_integer_value(json_object_get(data, "id")),
                        (long long) json_integer_value(json_object_get(data, "queued")),
                        json_integer_value(json_object_get(data, "queued")) == 1 ? "" : "s");
        return CTL_EXIT_OK;
}
