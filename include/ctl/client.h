/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl's side of the control protocol: connect to the daemon's
 * socket, send one request, wait (bounded) for its reply. Also the small
 * printing helpers the verbs share.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "shared/parse.h"

#define CTL_DEFAULT_SOCKET "/run/appwatch/control.sock"
#define CTL_DEFAULT_TIMEOUT (30 * USEC_PER_SEC)

/* Exit codes shared by the verbs. */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2

typedef struct CtlGlobals {
        const char *socket_path;
        bool json;
        usec_t timeout;
} CtlGlobals;

/*
 * Sends verb with args (stolen, may be NULL) and waits for the reply.
 * Returns 0 with *ret_data set when the daemon answered ok; a negative errno
 * when it could not be reached (connection errors) or answered with an
 * error, in which case *ret_message (malloc'ed) says what the daemon or the
 * connection said.
 */
int ctl_call(const CtlGlobals *g, const char *verb, json_t *args, json_t **ret_data,
             char **ret_message);

/* Prints "appwatchctl: <what>: <message>" with a hint for connection errors. */
void ctl_print_error(const CtlGlobals *g, const char *what, int error, const char *message);

/* One verb of appwatchctl: argv[0] is its name. Returns the exit status. */
typedef struct CtlVerb {
        const char *name;
        int (*run)(const CtlGlobals *g, int argc, char **argv);
        const char *synopsis;    /* what follows "appwatchctl NAME" */
        const char *summary;     /* one line, no final period */
        const char *options;     /* its option lines, or NULL; -h/--help is implied */
} CtlVerb;

/* Every verb, in the order of the help (src/ctl/verbs.c). */
extern const CtlVerb ctl_verbs[];
extern const size_t ctl_n_verbs;

/* The verb called name, or NULL. */
const CtlVerb *ctl_verb_find(const char *name);
/* Prints the --help of the verb called name on standard output. */
void ctl_verb_help(const char *name);
/* Prints every verb with its synopsis, summary and options (appwatchctl --help). */
void ctl_verbs_help(void);

int verb_status(const CtlGlobals *g, int argc, char **argv);
int verb_reload(const CtlGlobals *g, int argc, char **argv);
int verb_ping(const CtlGlobals *g, int argc, char **argv);
int verb_incidents(const CtlGlobals *g, int argc, char **argv);
int verb_show(const CtlGlobals *g, int argc, char **argv);
int verb_resolve(const CtlGlobals *g, int argc, char **argv);
int verb_run(const CtlGlobals *g, int argc, char **argv);
int verb_submit(const CtlGlobals *g, int argc, char **argv);
int verb_submit_unit(const CtlGlobals *g, int argc, char **argv);
int verb_outbox(const CtlGlobals *g, int argc, char **argv);
int verb_test_notify(const CtlGlobals *g, int argc, char **argv);
int verb_check(const CtlGlobals *g, int argc, char **argv);
int verb_health(const CtlGlobals *g, int argc, char **argv);

/* --since WHEN (incidents, report): a span ago, today, yesterday or a local
 * YYYY-MM-DD[ HH:MM]; CLOCK_REALTIME usec, or -EINVAL (src/ctl/incidents.c). */
long long ctl_parse_since(const char *s);
int verb_report(const CtlGlobals *g, int argc, char **argv);
int verb_notify_down(const CtlGlobals *g, int argc, char **argv);
int verb_fix(const CtlGlobals *g, int argc, char **argv);
/* The fix attempts of show and fix (src/ctl/fix.c). */
void ctl_print_fix_attempt(json_t *attempt);
void ctl_print_fix_attempts(json_t *list);
