/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl's verb table: each verb's name, what runs it, its synopsis,
 * a one-line summary and its options. `appwatchctl --help` lists all of it
 * and `appwatchctl VERB --help` prints one entry, so the two cannot drift.
 */
#include <stdio.h>
#include <string.h>

#include "ctl/client.h"
#include "ctl/scan.h"
#include "shared/cleanup.h"

#define HELP_OPTION "  -h --help             Show this help\n"
#define JSON_OPTION "  -j --json             Print JSON instead of text\n"

static int run_scan(const CtlGlobals *g, int argc, char **argv) {
        return verb_scan(argc, argv);
}

const CtlVerb ctl_verbs[] = {
        {
                .name = "status",
                .run = verb_status,
                .synopsis = "[--json]",
                .summary = "Show the daemon's state, sources, queues and counts",
                .options = JSON_OPTION,
        },
        {
                .name = "incidents",
                .run = verb_incidents,
                .synopsis = "[OPTIONS]",
                .summary = "List incidents, most recently seen first",
                .options =
                        "  -a --app=APP          Only the incidents of this app\n"
                        "  -s --status=STATUS    Only those in this status: New, 'In Progress',\n"
                        "                        Resolved or 'Manual Required'\n"
                        "  -S --since=WHEN       Only those seen since WHEN: a span ago (2h, 3d),\n"
                        "                        today, yesterday, or YYYY-MM-DD[ HH:MM]\n"
                        "  -n --limit=N          List at most N (default: 1000); a list cut at\n"
                        "                        the limit says so on standard error\n"
                        "  -j --json             One JSON object per incident and line; a cut\n"
                        "                        list adds {\"truncated\": true, \"limit\": N}\n"
                        "                        on standard error\n",
        },
        {
                .name = "show",
                .run = verb_show,
                .synopsis = "[--json] ID",
                .summary = "Show one incident with its analysis and occurrences",
                .options = JSON_OPTION,
        },
        {
                .name = "resolve",
                .run = verb_resolve,
                .synopsis = "[--json] ID",
                .summary = "Mark an incident resolved",
                .options = JSON_OPTION,
        },
        {
                .name = "run",
                .run = verb_run,
                .synopsis = "[--app=NAME] [--quiet] -- COMMAND [ARGS...]",
                .summary = "Run a build command and report it if it fails",
                .options =
                        "  -a --app=NAME         The app it builds (default: the name of the\n"
                        "                        current directory)\n"
                        "  -q --quiet            Do not say what was recorded\n",
        },
        {
                .name = "submit",
                .run = verb_submit,
                .synopsis = "--app=NAME [--exit-code=N] [--command=TEXT] < LOG",
                .summary = "Report a failure from a log on standard input",
                .options =
                        "  -a --app=NAME         The app that failed (required)\n"
                        "  -e --exit-code=N      Its exit status, 0-255 (default: 1)\n"
                        "  -c --command=TEXT     The command that failed\n",
        },
        {
                .name = "submit-unit",
                .run = verb_submit_unit,
                .synopsis = "UNIT",
                .summary = "Report a failed unit with its journal (for OnFailure=)",
        },
        {
                .name = "scan",
                .run = run_scan,
                .synopsis = "[OPTIONS] FILE...|-",
                .summary = "Check log files for failures without the daemon",
                .options =
                        "     --json             One JSON object per finding and line\n"
                        "     --language=ko|en   Language of labels and analysis\n"
                        "     --rules-dir=DIR    Load *.rules from DIR instead of the default\n"
                        "                        directories (repeatable; built-in rules stay)\n"
                        "     --app=NAME         App name used in the analysis\n"
                        "     --no-redact        Print secrets found in the log as they are\n",
        },
        {
                .name = "reload",
                .run = verb_reload,
                .synopsis = "[--json]",
                .summary = "Re-read the configuration (like systemctl reload appwatch)",
                .options = JSON_OPTION,
        },
        {
                .name = "outbox",
                .run = verb_outbox,
                .synopsis = "[--json] [retry ID|retry --all]",
                .summary = "List the messages to Slack and Notion not delivered yet, or queue "
                           "dead ones again",
                .options = JSON_OPTION
                        "     retry ID           Queue that dead row again, and let a held\n"
                        "                        service try again\n"
                        "     retry --all        The same for every dead row\n",
        },
        {
                .name = "test-notify",
                .run = verb_test_notify,
                .synopsis = "[--notion] [--json]",
                .summary = "Send the test alert to Slack (and a test page to Notion) with the "
                           "daemon's credentials",
                .options =
                        "  -n --notion           Also create a test page in the Notion database\n"
                        JSON_OPTION,
        },
        {
                .name = "check",
                .run = verb_check,
                .synopsis = "[--json]",
                .summary = "Run the status check: disk, sources, queues, outbox, stuck fixes; "
                           "exit 3 on a breach",
                .options = JSON_OPTION,
        },
        {
                .name = "health",
                .run = verb_health,
                .synopsis = "[--print] [--json]",
                .summary = "Run the health check: API keys, model, Notion schema, Slack URL, "
                           "tools; exit 3 on a failure",
                .options =
                        "  -p --print            Show the results without recording them\n"
                        JSON_OPTION,
        },
        {
                .name = "report",
                .run = verb_report,
                .synopsis = "daily [--print [--since=WHEN]] [--json]",
                .summary = "Make the daily report of everything since the last one and send it "
                           "to Slack and Notion (appwatch-report.timer runs this)",
                .options =
                        "  -p --print            Only show it: nothing is recorded or sent\n"
                        "  -S --since=WHEN       With --print: from WHEN (a span ago such as\n"
                        "                        24h, today, yesterday, YYYY-MM-DD[ HH:MM])\n"
                        "                        instead of the end of the last report\n"
                        JSON_OPTION,
        },
        {
                .name = "notify-down",
                .run = verb_notify_down,
                .synopsis = "[--journal-file=FILE] [--lines=N] [--config=PATH] [--dry-run] UNIT",
                .summary = "Tell Slack that appwatch is down, with UNIT's last journal lines, "
                           "without the daemon (appwatch-down.service runs this)",
                .options =
                        "  -f --journal-file=FILE Read the lines from this journal file instead\n"
                        "                        of the system journal\n"
                        "  -n --lines=N          How many of its last lines (default: 20)\n"
                        "  -c --config=PATH      The configuration appwatchd reads (default:\n"
                        "                        /etc/appwatch/appwatch.conf and its drop-ins)\n"
                        "     --dry-run          Print the message instead of sending it\n",
        },
        {
                .name = "fix",
                .run = verb_fix,
                .synopsis = "[--dry-run] [--json] ID",
                .summary = "Run the incident's catalogue fix now (AutoFix= does not apply), "
                           "verify it and print the result",
                .options =
                        "  -n --dry-run          Only say what would run\n"
                        JSON_OPTION,
        },
        {
                .name = "ping",
                .run = verb_ping,
                .synopsis = "[--json]",
                .summary = "Check that the daemon answers",
                .options = JSON_OPTION,
        },
};
const size_t ctl_n_verbs = ELEMENTSOF(ctl_verbs);

const CtlVerb *ctl_verb_find(const char *name) {
        for (size_t i = 0; i < ctl_n_verbs; i++)
                if (strcmp(ctl_verbs[i].name, name) == 0)
                        return &ctl_verbs[i];
        return NULL;
}

void ctl_verb_help(const char *name) {
        const CtlVerb *v = ctl_verb_find(name);

        if (!v)
                return;
        printf("Usage: appwatchctl %s %s\n\n%s.\n\nOptions:\n%s" HELP_OPTION, v->name,
               v->synopsis, v->summary, v->options ?: "");
}

void ctl_verbs_help(void) {
        printf("Verbs (each also takes -h/--help):\n");
        for (size_t i = 0; i < ctl_n_verbs; i++) {
                const char *o = ctl_verbs[i].options ?: "";

                printf("\n  %s %s\n      %s.\n", ctl_verbs[i].name, ctl_verbs[i].synopsis,
                       ctl_verbs[i].summary);
                /* Each option line, indented under its verb. */
                while (*o) {
                        size_t l = strcspn(o, "\n");
                        printf("    %.*s\n", (int) l, o);
                        o += l + (o[l] == '\n');
                }
        }
}
