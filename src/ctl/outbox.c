/* SPDX-License-Identifier: MIT */
/* appwatchctl outbox [retry [ID|--all]] and appwatchctl test-notify [--notion]. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/client.h"
#include "shared/protocol.h"

static void print_json(json_t *d) {
        char *s = json_dumps(d, JSON_COMPACT);

        if (s)
                puts(s);
        free(s);
}

static const char *str(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static void format_time(char *buf, size_t size, json_int_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec <= 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "-");
}

static void print_sink(const char *name, json_t *s) {
        printf("%s: %s", name, str(s, "state") ?: "-");
        if (str(s, "reason"))
                printf(" (%s)", str(s, "reason"));
        if (str(s, "endpoint") && strcmp(str(s, "state") ?: "", "off") != 0)
                printf(", %s", str(s, "endpoint"));
        printf(", %lld pending, %lld sent, %lld retried, %lld dead\n",
               (long long) json_integer_value(json_object_get(s, "pending")),
               (long long) json_integer_value(json_object_get(s, "sent")),
               (long long) json_integer_value(json_object_get(s, "retried")),
               (long long) json_integer_value(json_object_get(s, "dead")));
        if (str(s, "last_error"))
                printf("  last error: %s\n", str(s, "last_error"));
}

static void print_outbox(json_t *d) {
        json_t *rows = json_object_get(d, "rows"), *delivery = json_object_get(d, "delivery");
        json_t *r;
        size_t i;

        print_sink("Slack", json_object_get(delivery, "slack"));
        print_sink("Notion", json_object_get(delivery, "notion"));
        if (json_array_size(rows) == 0) {
                printf("Nothing waits in the outbox.\n");
                return;
        }
        printf("\n%-6s %-7s %-8s %-9s %-16s %8s  %-19s  %s\n", "ROW", "SINK", "STATE", "INCIDENT",
               "EVENT", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR");
        json_array_foreach(rows, i, r) {
                char next[32];
                bool dead = strcmp(str(r, "state") ?: "", "dead") == 0;

                format_time(next, sizeof next, json_integer_value(json_object_get(r, "next_attempt")));
                printf("%-6lld %-7s %-8s %-9s %-16s %8lld  %-19s  %s\n",
                       (long long) json_integer_value(json_object_get(r, "id")),
                       str(r, "sink") ?: "-", str(r, "state") ?: "-",
                       str(r, "incident") && str(r, "incident")[0] ? str(r, "incident") : "-",
                       str(r, "event") ?: "-",
                       (long long) json_integer_value(json_object_get(r, "attempts")),
                       dead ? "-" : next, str(r, "last_error") ?: "");
        }
}

static int outbox_retry(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "all", no_argument, NULL, 'a' },
                {}
        };
        json_auto_t *data = NULL;
        json_t *args = json_object();
        _cleanup_free_ char *message = NULL;
        bool all = false;
        int c, r;

        if (!args)
                return CTL_EXIT_FAILURE;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+ha", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        json_decref(args);
                        ctl_verb_help("outbox");
                        return CTL_EXIT_OK;
                case 'a':
                        all = true;
                        break;
                default:
                        json_decref(args);
                        return CTL_EXIT_USAGE;
                }
        if (all == (optind < argc) || argc - optind > 1) {
                json_decref(args);
                fprintf(stderr, "appwatchctl outbox retry takes a row number or --all.\n");
                return CTL_EXIT_USAGE;
        }
        if (!all) {
                char *end;
                long long id = strtoll(argv[optind], &end, 10);
                if (*end || id <= 0) {
                        json_decref(args);
                        fprintf(stderr, "appwatchctl: '%s' is not a row number.\n", argv[optind]);
                        return CTL_EXIT_USAGE;
                }
                json_object_set_new(args, "id", json_integer(id));
        }
        r = ctl_call(g, "outbox-retry", args, &data, &message);
        if (r < 0) {
                ctl_print_error(g, "outbox retry", r, message);
                return CTL_EXIT_FAILURE;
        }
        if (g->json)
                print_json(data);
        else
                printf("%lld row%s queued again; held services are tried again.\n",
                       (long long) json_integer_value(json_object_get(data, "requeued")),
                       json_integer_value(json_object_get(data, "requeued")) == 1 ? "" : "s");
        return CTL_EXIT_OK;
}

int verb_outbox(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        json_auto_t *data = NULL;
        _cleanup_free_ char *message = NULL;
        CtlGlobals local = *g;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+hj", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        ctl_verb_help("outbox");
                        return CTL_EXIT_OK;
                case 'j':
                        local.json = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind < argc && strcmp(argv[optind], "retry") == 0)
                return outbox_retry(&local, argc - optind, argv + optind);
        if (optind < argc) {
                fprintf(stderr, "appwatchctl outbox: unknown subcommand '%s' (only 'retry').\n",
                        argv[optind]);
                return CTL_EXIT_USAGE;
        }
        r = ctl_call(&local, "outbox", NULL, &data, &message);
        if (r < 0) {
                ctl_print_error(&local, "outbox", r, message);
                return CTL_EXIT_FAILURE;
        }
        if (local.json)
                print_json(data);
        else
                print_outbox(data);
        return CTL_EXIT_OK;
}

static void print_test_sink(const char *name, json_t *s) {
        char *sent;

        if (!s)
                return;
        sent = json_dumps(json_object_get(s, "sent"), JSON_INDENT(2));
        printf("%s\n  sent: %s\n  HTTP status: %lld\n  answer: %s\n", name, sent ?: "-",
               (long long) json_integer_value(json_object_get(s, "status")),
               str(s, "answer") ?: str(s, "error") ?: "-");
        free(sent);
}

int verb_test_notify(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "notion", no_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        json_auto_t *data = NULL;
        json_t *args = json_object();
        _cleanup_free_ char *message = NULL;
        CtlGlobals local = *g;
        json_t *notion;
        int c, r;

        if (!args)
                return CTL_EXIT_FAILURE;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+hnj", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        json_decref(args);
                        ctl_verb_help("test-notify");
                        return CTL_EXIT_OK;
                case 'n':
                        json_object_set_new(args, "notion", json_true());
                        break;
                case 'j':
                        local.json = true;
                        break;
                default:
                        json_decref(args);
                        return CTL_EXIT_USAGE;
                }
        r = ctl_call(&local, "test-notify", args, &data, &message);
        if (r < 0) {
                ctl_print_error(&local, "test-notify", r, message);
                return CTL_EXIT_FAILURE;
        }
        if (local.json) {
                print_json(data);
                return json_object_get(data, "failed") ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
        }
        print_test_sink("Slack", json_object_get(data, "slack"));
        notion = json_object_get(data, "notion");
        print_test_sink("Notion", notion);
        if (str(notion, "page"))
                printf("  A test page was created (%s). Delete it in Notion: open it, then "
                       "••• → Delete.\n", str(notion, "page"));
        if (json_object_get(data, "failed")) {
                fprintf(stderr, "appwatchctl: test-notify: %s.\n", str(data, "failed"));
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}
