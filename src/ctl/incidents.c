/* SPDX-License-Identifier: MIT */
/* appwatchctl incidents / show / resolve. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/client.h"
#include "shared/protocol.h"

static const char *str(json_t *o, const char *k) {
        return json_string_value(json_object_get(o, k)) ?: "-";
}

static long long num(json_t *o, const char *k) {
        return (long long) json_integer_value(json_object_get(o, k));
}

static char *format_time(char *buf, size_t size, long long usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec <= 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "-");
        return buf;
}

/*
 * --since: a span ago ("2h", "3d"), "today", or a local date and time
 * ("2026-11-26", "2026-11-26 09:00"). Returns CLOCK_REALTIME usec or -EINVAL.
 */
static long long parse_since(const char *s) {
        struct tm tm = {};
        usec_t span;
        const char *end;

        if (parse_timespan(s, &span) >= 0)
                return (long long) (now_realtime() - (span > now_realtime() ? now_realtime() : span));
        if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0) {
                time_t now = time(NULL);
                localtime_r(&now, &tm);
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                if (s[0] == 'y')
                        tm.tm_mday--;
                tm.tm_isdst = -1;
                return (long long) mktime(&tm) * 1000000;
        }
        end = strptime(s, "%Y-%m-%d %H:%M", &tm);
        if (!end || *end) {
                memset(&tm, 0, sizeof tm);
                end = strptime(s, "%Y-%m-%d", &tm);
        }
        if (!end || *end)
                return -EINVAL;
        tm.tm_isdst = -1;
        return (long long) mktime(&tm) * 1000000;
}

static void print_json(json_t *o) {
        char *s = json_dumps(o, JSON_COMPACT);
        if (s)
                puts(s);
        free(s);
}

/*
 * Says on stderr that the daemon cut the list at its limit: standard output
 * stays one incident per line (or the table), for scripts and pipes.
 */
static void print_truncated(json_t *data, bool as_json) {
        long long limit = num(data, "limit");

        if (!json_is_true(json_object_get(data, "truncated")))
                return;
        if (as_json) {
                json_auto_t *o = json_pack("{s:b, s:I}", "truncated", 1, "limit",
                                           (json_int_t) limit);
                _cleanup_free_ char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
                if (s)
                        fprintf(stderr, "%s\n", s);
                return;
        }
        fprintf(stderr, "appwatchctl: the list stops at %lld incidents, the most recently seen; "
                "there are more. Use --limit=N to see more, or narrow it with --app, --status "
                "or --since.\n", limit);
}

int verb_incidents(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "app", required_argument, NULL, 'a' },
                { "status", required_argument, NULL, 's' },
                { "since", required_argument, NULL, 'S' },
                { "limit", required_argument, NULL, 'n' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        json_auto_t *args = json_object(), *data = NULL;
        _cleanup_free_ char *message = NULL;
        bool as_json = g->json;
        json_t *list, *i;
        size_t idx;
        int c, r;

        if (!args)
                return CTL_EXIT_FAILURE;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+ha:s:S:n:j", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        ctl_verb_help("incidents");
                        return CTL_EXIT_OK;
                case 'a':
                        json_object_set_new(args, "app", json_string(optarg));
                        break;
                case 's':
                        json_object_set_new(args, "status", json_string(optarg));
                        break;
                case 'S': {
                        long long since = parse_since(optarg);
                        if (since < 0) {
                                fprintf(stderr, "appwatchctl: invalid --since='%s': expected a "
                                        "span such as 2h or 3d, 'today', or YYYY-MM-DD[ HH:MM].\n",
                                        optarg);
                                return CTL_EXIT_USAGE;
                        }
                        json_object_set_new(args, "since", json_integer(since));
                        break;
                }
                case 'n': {
                        char *end;
                        long n = strtol(optarg, &end, 10);
                        if (*end || n <= 0) {
                                fprintf(stderr, "appwatchctl: invalid --limit='%s'.\n", optarg);
                                return CTL_EXIT_USAGE;
                        }
                        json_object_set_new(args, "limit", json_integer(n));
                        break;
                }
                case 'j':
                        as_json = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind < argc) {
                fprintf(stderr, "appwatchctl incidents takes no arguments; '%s' is extra.\n",
                        argv[optind]);
                return CTL_EXIT_USAGE;
        }

        r = ctl_call(g, "incidents", json_incref(args), &data, &message);
        if (r < 0) {
                ctl_print_error(g, "incidents", r, message);
                return CTL_EXIT_FAILURE;
        }
        list = json_object_get(data, "incidents");
        if (as_json) {
                /* One object per line, for scripts. */
                json_array_foreach(list, idx, i)
                        print_json(i);
                print_truncated(data, true);
                return CTL_EXIT_OK;
        }
        if (json_array_size(list) == 0) {
                printf("No incidents.\n");
                return CTL_EXIT_OK;
        }
        printf("%-5s %-8s %-15s %-14s %-24s %6s %-19s %s\n", "ID", "SEVERITY", "STATUS", "APP",
               "TYPE", "COUNT", "LAST SEEN", "TITLE");
        json_array_foreach(list, idx, i) {
                char t[32];
                printf("%-5lld %-8s %-15s %-14.14s %-24.24s %6lld %-19s %.60s%s\n", num(i, "id"),
                       str(i, "severity"), str(i, "status"), str(i, "app"), str(i, "category"),
                       num(i, "count"), format_time(t, sizeof t, num(i, "last_seen")),
                       str(i, "title"), json_is_true(json_object_get(i, "regression"))
                                                ? " (regression)" : "");
        }
        print_truncated(data, false);
        return CTL_EXIT_OK;
}

/* Returns 0 with *ret_id, 1 when the help was shown, -EINVAL on a usage error. */
static int parse_id_args(const char *verb, int argc, char **argv, bool *json, long long *ret_id) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                {}
        };
        char *end;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+hj", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        ctl_verb_help(verb);
                        return 1;
                case 'j':
                        *json = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: appwatchctl %s [--json] ID\n", verb);
                return -EINVAL;
        }
        *ret_id = strtoll(argv[optind], &end, 10);
        if (*end || *ret_id <= 0) {
                fprintf(stderr, "appwatchctl %s: '%s' is not an incident id.\n", verb, argv[optind]);
                return -EINVAL;
        }
        return 0;
}

int verb_show(const CtlGlobals *g, int argc, char **argv) {
        json_auto_t *data = NULL;
        _cleanup_free_ char *message = NULL;
        bool as_json = g->json;
        long long id;
        json_t *occ, *o;
        size_t idx;
        char a[32], b[32];
        int r;

        r = parse_id_args("show", argc, argv, &as_json, &id);
        if (r != 0)
                return r > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
        r = ctl_call(g, "show", json_pack("{s:I}", "id", (json_int_t) id), &data, &message);
        if (r < 0) {
                ctl_print_error(g, "show", r, message);
                return CTL_EXIT_FAILURE;
        }
        if (as_json) {
                print_json(data);
                return CTL_EXIT_OK;
        }
        printf("Incident #%lld: %s\n", num(data, "id"), str(data, "title"));
        printf("  App:         %s (host %s)\n", str(data, "app"), str(data, "host"));
        printf("  Type:        %s\n", str(data, "category"));
        printf("  Severity:    %s\n", str(data, "severity"));
        printf("  Status:      %s%s\n", str(data, "status"),
               json_is_true(json_object_get(data, "regression")) ? " (regression)" : "");
        printf("  Seen:        %lld time%s, first %s, last %s\n", num(data, "count"),
               num(data, "count") == 1 ? "" : "s", format_time(a, sizeof a, num(data, "first_seen")),
               format_time(b, sizeof b, num(data, "last_seen")));
        if (num(data, "regressions") > 0)
                printf("  Regressions: %lld\n", num(data, "regressions"));
        printf("  Fix:         %s\n", json_is_string(json_object_get(data, "fix"))
                                             ? str(data, "fix") : "none (manual)");
        printf("  Fingerprint: %s\n", str(data, "fingerprint"));
        printf("  Source:      %s\n", str(data, "origin"));
        if (json_is_string(json_object_get(data, "analysis")))
                printf("\nAnalysis:\n%s\n", str(data, "analysis"));
        if (json_is_string(json_object_get(data, "analysis_source"))) {
                bool ai = strcmp(str(data, "analysis_source"), "gemini") == 0;

                printf("Analysis by: %s\n", ai ? "Gemini" : "the offline analyzer");
                if (json_is_string(json_object_get(data, "ai_category")))
                        printf("AI's type:   %s (the rules': %s)\n", str(data, "ai_category"),
                               str(data, "category"));
                if (json_is_string(json_object_get(data, "analysis_note")))
                        printf("%s %s\n", ai ? "AI verdict: " : "Why offline:",
                               str(data, "analysis_note"));
        }
        printf("\nExcerpt:\n%s\n", str(data, "excerpt"));
        occ = json_object_get(data, "occurrences");
        if (json_array_size(occ) > 0) {
                printf("\nRecent occurrences:\n");
                json_array_foreach(occ, idx, o)
                        printf("  %s  %s\n", format_time(a, sizeof a, num(o, "seen")),
                               str(o, "source"));
        }
        ctl_print_fix_attempts(json_object_get(data, "fix_attempts"));
        return CTL_EXIT_OK;
}

int verb_resolve(const CtlGlobals *g, int argc, char **argv) {
        json_auto_t *data = NULL;
        _cleanup_free_ char *message = NULL;
        bool as_json = g->json;
        long long id;
        int r;

        r = parse_id_args("resolve", argc, argv, &as_json, &id);
        if (r != 0)
                return r > 0 ? CTL_EXIT_OK : CTL_EXIT_USAGE;
        r = ctl_call(g, "resolve", json_pack("{s:I}", "id", (json_int_t) id), &data, &message);
        if (r < 0) {
                ctl_print_error(g, "resolve", r, message);
                return CTL_EXIT_FAILURE;
        }
        if (as_json)
                print_json(data);
        else if (json_is_true(json_object_get(data, "changed")))
                printf("Incident #%lld resolved.\n", id);
        else
                printf("Incident #%lld was already resolved.\n", id);
        return CTL_EXIT_OK;
}

long long ctl_parse_since(const char *s) {
        return parse_since(s);
}
