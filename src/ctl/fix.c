/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl fix: runs an incident's catalogue fix on request and waits
 * for it and its verification; and the fix attempts `show` prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/client.h"
#include "shared/cleanup.h"

/* A fix and its verification run for at most [Fix] TimeoutSec= each
 * (default 10 min, at most a day); wait that long unless told otherwise. */
#define FIX_WAIT_DEFAULT (2 * 24 * 3600 * USEC_PER_SEC)

static const char *s(json_t *o, const char *k) {
        const char *v = json_string_value(json_object_get(o, k));
        return v ?: "";
}

static void print_block(const char *title, const char *text) {
        const char *p = text;

        if (!text || !*text)
                return;
        printf("    %s:\n", title);
        while (*p) {
                size_t l = strcspn(p, "\n");
                printf("      %.*s\n", (int) l, p);
                p += l + (p[l] == '\n');
        }
}

void ctl_print_fix_attempt(json_t *a) {
        printf("  Attempt %lld (%s%s): %s\n",
               (long long) json_integer_value(json_object_get(a, "attempt")), s(a, "fix"),
               json_is_true(json_object_get(a, "on_request")) ? ", on request" : "",
               s(a, "state"));
        if (*s(a, "command_line"))
                printf("    Command:      %s\n", s(a, "command_line"));
        if (*s(a, "reason"))
                printf("    Reason:       %s\n", s(a, "reason"));
        if (*s(a, "unit"))
                printf("    Fix unit:     %s (%s)  journalctl -u %s\n", s(a, "unit"),
                       *s(a, "fix_result") ? s(a, "fix_result") : "no result yet", s(a, "unit"));
        if (*s(a, "verify_unit"))
                printf("    Verification: %s (%s)  journalctl -u %s\n", s(a, "verify_unit"),
                       *s(a, "verify_result") ? s(a, "verify_result") : "no result yet",
                       s(a, "verify_unit"));
        print_block("Fix output", s(a, "fix_output"));
        print_block("Verification output", s(a, "verify_output"));
}

void ctl_print_fix_attempts(json_t *list) {
        size_t i;
        json_t *a;

        if (json_array_size(list) == 0)
                return;
        printf("\nFix attempts:\n");
        json_array_foreach(list, i, a)
                ctl_print_fix_attempt(a);
}

int verb_fix(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "json", no_argument, NULL, 'j' },
                { "dry-run", no_argument, NULL, 'n' },
                {}
        };
        json_auto_t *data = NULL;
        _cleanup_free_ char *message = NULL;
        bool as_json = g->json, dry_run = false;
        CtlGlobals wait = *g;
        long long id;
        char *end;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+hjn", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        ctl_verb_help("fix");
                        return CTL_EXIT_OK;
                case 'j':
                        as_json = true;
                        break;
                case 'n':
                        dry_run = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: appwatchctl fix [--dry-run] [--json] ID\n");
                return CTL_EXIT_USAGE;
        }
        id = strtoll(argv[optind], &end, 10);
        if (*end || id <= 0) {
                fprintf(stderr, "appwatchctl fix: '%s' is not an incident id.\n", argv[optind]);
                return CTL_EXIT_USAGE;
        }
        if (wait.timeout == CTL_DEFAULT_TIMEOUT)
                wait.timeout = FIX_WAIT_DEFAULT;
        r = ctl_call(&wait, "fix", json_pack("{s:I, s:b}", "id", (json_int_t) id, "dry_run",
                                             dry_run), &data, &message);
        if (r < 0) {
                ctl_print_error(g, "fix", r, message);
                return CTL_EXIT_FAILURE;
        }
        if (as_json) {
                _cleanup_free_ char *t = json_dumps(data, JSON_COMPACT);
                if (t)
                        printf("%s\n", t);
        } else {
                printf("Incident #%lld:\n", id);
                ctl_print_fix_attempt(data);
        }
        /* Scripts can tell a fix that worked (or a dry run) from one that did not. */
        return strcmp(s(data, "state"), "resolved") == 0 ||
               strcmp(s(data, "state"), "dry_run") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
