/* SPDX-License-Identifier: MIT */
/*
 * The control socket server: accepts appwatchctl connections on a listening
 * Unix stream socket, frames newline-delimited JSON requests, checks the
 * peer's credentials (SO_PEERCRED, SO_PEERGROUPS) and hands each request to
 * its verb's handler, found in a table of ControlVerbs. Everything is
 * non-blocking on the loop thread: a client that sends half a line and
 * stalls, or never reads its replies, is timed out or dropped without
 * delaying anyone else. Limits come from ControlLimits.
 *
 * A verb marked asynchronous may keep its ControlRequest and answer later
 * (when a worker or a timer is done). A connection is served one request at
 * a time: while one is unanswered, the connection's later requests wait
 * unread, so replies always come back in request order and a request never
 * overtakes an earlier one; a client that wants answers in parallel opens
 * more connections. The idle timeout does not run while the daemon owes a
 * connection an answer. When the client hangs up first, the request is
 * cancelled: its cancel callback runs, and the eventual reply only frees it.
 *
 * Loop thread only, like every ControlRequest function.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "shared/cleanup.h"
#include "shared/parse.h"

typedef struct ControlServer ControlServer;
typedef struct ControlRequest ControlRequest;

typedef struct ControlLimits {
        size_t max_request;      /* bytes in one request line */
        size_t max_output;       /* unread reply bytes before a client is dropped */
        unsigned max_clients;
        usec_t idle_timeout;     /* a connection with no complete request for this long is closed */
} ControlLimits;

typedef struct ControlPeer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        bool privileged;         /* root, our own uid, or a member of the appwatch group */
} ControlPeer;

/* What a handler of an asynchronous verb returns when it keeps the request. */
#define CONTROL_REPLY_LATER 1

/*
 * Handles one request; userdata is the server's. Returns:
 *   0: answer ok with *ret_data (owned by the server; may be left NULL for
 *      an empty object);
 *   a negative errno: answer with that error and the optional malloc'ed
 *      *ret_message;
 *   CONTROL_REPLY_LATER (asynchronous verbs only): the handler took req and
 *      answers it exactly once with control_request_reply*(), later or
 *      already before returning. Until then req stays valid.
 * In the first two cases req is the server's again once the handler returns.
 */
typedef int (*ControlVerbHandler)(ControlRequest *req, void *userdata, json_t **ret_data,
                                  char **ret_message);

typedef struct ControlVerb {
        const char *name;
        bool mutating;           /* changes state: needs a privileged peer */
        bool async;              /* the handler may return CONTROL_REPLY_LATER */
        ControlVerbHandler handler;
} ControlVerb;

/* The entry named name in a table of n verbs, or NULL. */
const ControlVerb *control_verb_find(const ControlVerb *verbs, size_t n, const char *name);

/*
 * Takes ownership of listen_fd (made non-blocking). verbs (n_verbs entries)
 * must outlive the server; an unknown verb is refused like a mutating one
 * (a new verb is safe by default) and otherwise answered EOPNOTSUPP.
 * userdata goes to every handler. group names the group whose members count
 * as privileged (may be NULL). Returns 0 or -errno.
 */
int control_server_new(sd_event *event, int listen_fd, const ControlLimits *limits,
                       const char *group, const ControlVerb *verbs, size_t n_verbs,
                       void *userdata, ControlServer **ret);
/* Closes every connection (cancelling unanswered requests) and frees. Accepts NULL. */
ControlServer *control_server_free(ControlServer *s);
DEFINE_CLEANUP(ControlServer, control_server_free)

void control_server_set_limits(ControlServer *s, const ControlLimits *limits);
unsigned control_server_n_clients(const ControlServer *s);
/* Requests handed to a handler so far. */
uint64_t control_server_n_served(const ControlServer *s);
/* Stops accepting new connections (shutdown); open ones are served still. */
void control_server_stop_accepting(ControlServer *s);

/*
 * Runs when the client of a kept request went away (or the server is freed)
 * before the answer. It should stop the work; it may reply (which frees req)
 * right there, or leave the reply to whoever finishes the work.
 */
typedef void (*ControlCancelFunc)(ControlRequest *req, void *userdata);

/*
 * Registers the cancel callback of a kept request. destroy (may be NULL)
 * runs on userdata when the request is freed, that is when it is answered,
 * and when another callback replaces this one.
 */
void control_request_set_cancel(ControlRequest *req, ControlCancelFunc cancel, void *userdata,
                                void (*destroy)(void *userdata));

/* The request's parts; they live as long as the request. */
const ControlPeer *control_request_peer(const ControlRequest *req);
const char *control_request_verb(const ControlRequest *req);
json_t *control_request_args(const ControlRequest *req);   /* an object, never NULL */
/* Whether the client went away; a reply then only frees. */
bool control_request_is_cancelled(const ControlRequest *req);

/*
 * Answer req and free it, with its cancel userdata. _reply steals data (may
 * be NULL for an empty object). Returns 0 when the answer is queued,
 * -ECANCELED when the client is gone (nothing is sent), or -ENOBUFS/-ENOMEM
 * when it cannot be queued (the connection is then closed). req is freed
 * whatever the result.
 */
int control_request_reply(ControlRequest *req, json_t *data);
int control_request_reply_error(ControlRequest *req, int error, const char *message);

/*
 * Binds and listens on a Unix socket at path, replacing a stale socket file.
 * Returns the fd, -EADDRINUSE when another process answers there, or -errno.
 */
int control_socket_bind(const char *path, const char *group);
