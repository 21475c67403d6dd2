/* SPDX-License-Identifier: MIT */
/* appwatchctl status / reload / ping. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl/client.h"
#include "shared/protocol.h"

static json_int_t get_int(json_t *o, const char *path1, const char *path2) {
        json_t *v = json_object_get(o, path1);
        if (path2)
                v = json_object_get(v, path2);
        return json_integer_value(v);
}

static const char *get_str(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key)) ?: "-";
}

static void print_status(json_t *d) {
        json_t *sources = json_object_get(d, "sources");
        json_t *journal = json_object_get(sources, "journal");
        json_t *watches = json_object_get(sources, "watches");
        json_t *files = json_object_get(d, "config_files");
        json_t *disabled = json_object_get(d, "rules_disabled");
        char span[64];
        size_t i;
        json_t *w;

        printf("Version: %s\n", get_str(d, "version"));
        printf("State: %s (PID %lld)\n", get_str(d, "state"), (long long) get_int(d, "pid", NULL));
        printf("Uptime: %s\n", format_timespan(span, sizeof span,
                                               (usec_t) get_int(d, "uptime_usec", NULL)));
        printf("Config: %s%s\n", get_str(d, "config"),
               json_array_size(files) == 0 ? " (not present: built-in defaults)" : "");
        json_array_foreach(files, i, w)
                if (strcmp(json_string_value(w) ?: "", get_str(d, "config")) != 0)
                        printf("        %s\n", json_string_value(w));
        printf("Database: %s (schema %lld)\n", get_str(d, "database"),
               (long long) get_int(d, "schema_version", NULL));
        printf("Control: %s\n", json_is_true(json_object_get(d, "socket_activated"))
                                        ? "socket-activated by systemd"
                                        : get_str(d, "socket"));
        if (json_is_true(json_object_get(journal, "enabled"))) {
                json_t *units = json_object_get(journal, "units");
                json_t *ids = json_object_get(journal, "identifiers");
                if (json_array_size(units) + json_array_size(ids) == 0) {
                        printf("Sources: journal idle (name units with [Journal] Units=)\n");
                        goto watches;
                }
                printf("Sources: journal (");
                json_array_foreach(units, i, w)
                        printf("%s%s", i ? " " : "", json_string_value(w));
                json_array_foreach(ids, i, w)
                        printf("%s%s", i || json_array_size(units) ? " " : "",
                               json_string_value(w));
                printf(", priority <= %s)\n", get_str(journal, "min_priority"));
        } else
                printf("Sources: journal disabled\n");
watches:
        json_array_foreach(watches, i, w)
                printf("         watch %s: %s (app %s)\n", get_str(w, "name"), get_str(w, "path"),
                       get_str(w, "app"));
        printf("Rules: %lld loaded", (long long) get_int(d, "rules", NULL));
        if (json_array_size(disabled) > 0)
                printf(", %zu disabled until the next reload", json_array_size(disabled));
        printf("\n");
        json_array_foreach(disabled, i, w)
                printf("       disabled %s (%s:%lld): hit PCRE2's limits %lld times, "
                       "fix its pattern\n", get_str(w, "name"), get_str(w, "file"),
                       (long long) get_int(w, "line", NULL),
                       (long long) get_int(w, "limit_hits", NULL));
        printf("Queues: jobs %lld/%lld, outbox %lld pending, %lld client%s\n",
               (long long) get_int(d, "queues", "jobs"), (long long) get_int(d, "queues", "jobs_max"),
               (long long) get_int(d, "queues", "outbox_pending"),
               (long long) get_int(d, "queues", "clients"),
               get_int(d, "queues", "clients") == 1 ? "" : "s");
        json_t *delivery = json_object_get(d, "delivery");
        if (delivery) {
                json_int_t oldest = json_integer_value(json_object_get(delivery, "oldest_pending"));
                printf("Outbox: %lld pending", (long long) json_integer_value(
                                                       json_object_get(delivery, "pending")));
                if (oldest > 0)
                        printf(" (oldest %s)", format_timespan(span, sizeof span,
                                                               now_realtime() - (usec_t) oldest));
                printf(", %lld dead\n", (long long) json_integer_value(
                                                 json_object_get(delivery, "dead")));
                for (const char *const *k = (const char *const[]) { "slack", "notion", NULL }; *k;
                     k++) {
                        json_t *sink = json_object_get(delivery, *k);
                        const char *state = get_str(sink, "state");

                        printf("        %s: %s", strcmp(*k, "slack") == 0 ? "Slack" : "Notion",
                               strcmp(state, "off") == 0 ? "not configured" : state);
                        if (json_string_value(json_object_get(sink, "reason")))
                                printf(" (%s)", get_str(sink, "reason"));
                        printf("\n");
                }
        }
        json_t *ai = json_object_get(d, "ai");
        if (ai && strcmp(get_str(ai, "state"), "off") == 0)
                printf("Gemini: off (no key; offline analysis)\n");
        else if (ai) {
                json_int_t hour = get_int(ai, "calls_hour", NULL);
                json_int_t hits = get_int(ai, "cache_hits", NULL);
                const char *reason = json_string_value(json_object_get(ai, "reason"));

                printf("Gemini: %s, %s, %lld call%s in the last hour (max %lld), %lld in 24 h "
                       "(max %lld), %lld cache hit%s", get_str(ai, "state"), get_str(ai, "model"),
                       (long long) hour, hour == 1 ? "" : "s",
                       (long long) get_int(ai, "max_calls_per_hour", NULL),
                       (long long) get_int(ai, "calls_day", NULL),
                       (long long) get_int(ai, "daily_budget", NULL), (long long) hits,
                       hits == 1 ? "" : "s");
                if (reason)
                        printf(" (%s)", reason);
                printf("\n");
        }
        json_t *fx = json_object_get(d, "fixes");
        if (fx)
                printf("Fixes: %s%s, as %s; %lld running, %lld queued; since start %lld units started, "
                       "%lld resolved, %lld failed, %lld refused\n",
                       json_is_true(json_object_get(fx, "enabled")) ? "enabled" : "disabled",
                       json_is_true(json_object_get(fx, "dry_run")) ? " (dry run)" : "",
                       strcmp(get_str(fx, "runner"), "units") == 0 ? "transient units" : "children",
                       (long long) get_int(fx, "running", NULL), (long long) get_int(fx, "queued", NULL),
                       (long long) get_int(fx, "started", NULL),
                       (long long) get_int(fx, "resolved", NULL),
                       (long long) get_int(fx, "failed", NULL),
                       (long long) get_int(fx, "refused", NULL));
        printf("Incidents: %lld today, %lld open, %lld total\n",
               (long long) get_int(d, "counts", "incidents_today"),
               (long long) get_int(d, "counts", "incidents_open"),
               (long long) get_int(d, "counts", "incidents_total"));
        printf("Reloads: %lld (%lld rejected)\n", (long long) get_int(d, "counts", "reloads"),
               (long long) get_int(d, "counts", "reloads_rejected"));
}

static int simple_call(const CtlGlobals *g, const char *verb, int argc, char **argv,
                       void (*print)(json_t *)) {
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
                        ctl_verb_help(verb);
                        return CTL_EXIT_OK;
                case 'j':
                        local.json = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "appwatchctl %s takes no arguments; '%s' is extra.\n", verb,
                        argv[optind]);
                return CTL_EXIT_USAGE;
        }
        g = &local;
        r = ctl_call(g, verb, NULL, &data, &message);
        if (r < 0) {
                ctl_print_error(g, verb, r, message);
                return CTL_EXIT_FAILURE;
        }
        if (g->json) {
                char *s = json_dumps(data, JSON_COMPACT);
                if (s)
                        puts(s);
                free(s);
        } else if (print)
                print(data);
        return CTL_EXIT_OK;
}

static void print_reload(json_t *d) {
        printf("Configuration reloaded.\n");
}

static void print_ping(json_t *d) {
        printf("appwatchd %s is answering.\n", get_str(d, "version"));
}

int verb_status(const CtlGlobals *g, int argc, char **argv) {
        return simple_call(g, "status", argc, argv, print_status);
}

int verb_reload(const CtlGlobals *g, int argc, char **argv) {
        return simple_call(g, "reload", argc, argv, print_reload);
}

int verb_ping(const CtlGlobals *g, int argc, char **argv) {
        return simple_call(g, "ping", argc, argv, print_ping);
}
