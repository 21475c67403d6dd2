/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl check and appwatchctl health: ask the daemon to run its status
 * check or its health check and print each item. Both answer
 * {"ok", "breaches", "items": [{"key", "ok", "severity", "title", ...}]}.
 *
 * Exit status: 0 when everything passed, CTL_EXIT_BREACH (3) when the check
 * ran and found breaches (each one is an incident of app "appwatch"; the
 * timer's unit counts 3 as success with SuccessExitStatus=3, so a breach is
 * not a failed unit too), 1 when the check could not run, 2 on a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "shared/cleanup.h"

#define CTL_EXIT_BREACH 3

static const char *str(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

static int print_result(const CtlGlobals *g, const char *verb, json_t *data) {
        json_t *items = json_object_get(data, "items"), *it;
        json_int_t breaches = json_integer_value(json_object_get(data, "breaches"));
        size_t i;

        if (g->json) {
                char *s = json_dumps(data, JSON_COMPACT);
                if (s)
                        puts(s);
                free(s);
        } else {
                json_array_foreach(items, i, it) {
                        bool ok = json_is_true(json_object_get(it, "ok"));
                        printf("%-4s %s", ok ? "ok" : "FAIL", str(it, "title") ?: "?");
                        if (!ok)
                                printf(" [%s, %s]", str(it, "severity") ?: "?",
                                       str(it, "key") ?: "?");
                        putchar('\n');
                }
                json_t *notion = json_object_get(data, "notion");
                if (str(notion, "error"))
                        printf("FAIL Notion status sync: %s\n", str(notion, "error"));
                else if (notion)
                        printf("ok   Notion status sync: %lld page%s edited since %s, %lld status%s "
                               "taken from Notion\n",
                               (long long) json_integer_value(json_object_get(notion, "pages_edited")),
                               json_integer_value(json_object_get(notion, "pages_edited")) == 1 ? "" : "s",
                               str(notion, "since") ?: "?",
                               (long long) json_integer_value(json_object_get(notion, "changed")),
                               json_integer_value(json_object_get(notion, "changed")) == 1 ? "" : "es");
                /* The last delivery errors, which the outbox age judges. */
                const char *sinks[] = { "slack", "notion" };
                for (size_t k = 0; k < 2; k++) {
                        json_t *d = json_object_get(json_object_get(data, "delivery"), sinks[k]);
                        if (str(d, "last_error"))
                                printf("     %s: %s, last error: %s\n",
                                       k == 0 ? "Slack" : "Notion", str(d, "state") ?: "?",
                                       str(d, "last_error"));
                }
                if (json_integer_value(json_object_get(data, "resolved")) > 0)
                        printf("%lld incident%s resolved: passing again.\n",
                               (long long) json_integer_value(json_object_get(data, "resolved")),
                               json_integer_value(json_object_get(data, "resolved")) == 1 ? "" : "s");
                bool health = strcmp(verb, "health") == 0;
                if (breaches > 0)
                        printf("%s: %lld %s%s%s.\n", verb, (long long) breaches,
                               health ? "failure" : "breach",
                               breaches == 1 ? "" : health ? "s" : "es",
                               json_is_true(json_object_get(data, "recorded"))
                                       ? ", each recorded as an incident of app appwatch" : "");
                else
                        printf("%s: all %zu passed.\n", verb, json_array_size(items));
        }
        return breaches > 0 ? CTL_EXIT_BREACH : CTL_EXIT_OK;
}

static int run_check(const CtlGlobals *g, const char *verb, int argc, char **argv, bool health) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "print", no_argument, NULL, 'p' },
                {}
        };
        json_auto_t *data = NULL;
        json_t *args = json_object();
        _cleanup_free_ char *message = NULL;
        CtlGlobals local = *g;
        int c, r;

        if (!args)
                return CTL_EXIT_FAILURE;
        optind = 0;
        while ((c = getopt_long(argc, argv, health ? "+hjp" : "+hj", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        json_decref(args);
                        ctl_verb_help(verb);
                        return CTL_EXIT_OK;
                case 'j':
                        local.json = true;
                        break;
                case 'p':
                        if (!health)
                                goto usage;
                        json_object_set_new(args, "print", json_true());
                        break;
                default:
                        goto usage;
                }
        if (optind < argc) {
                fprintf(stderr, "appwatchctl: %s takes no arguments.\n", verb);
                goto usage;
        }
        r = ctl_call(&local, verb, args, &data, &message);
        if (r < 0) {
                ctl_print_error(&local, verb, r, message);
                return CTL_EXIT_FAILURE;
        }
        return print_result(&local, verb, data);
usage:
        json_decref(args);
        return CTL_EXIT_USAGE;
}

int verb_check(const CtlGlobals *g, int argc, char **argv) {
        return run_check(g, "check", argc, argv, false);
}

int verb_health(const CtlGlobals *g, int argc, char **argv) {
        return run_check(g, "health", argc, argv, true);
}
