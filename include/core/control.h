/* SPDX-License-Identifier: MIT */
/*
 * The control socket server: accepts appwatchctl connections on a listening
 * Unix stream socket, frames newline-delimited JSON requests, checks the
 * peer's credentials (SO_PEERCRED, SO_PEERGROUPS) and hands each request to
 * a handler. Everything is non-blocking on the loop thread: a client that
 * sends half a line and stalls, or never reads its replies, is timed out or
 * dropped without delaying anyone else. Limits come from ControlLimits.
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

/*
 * Handles one request. Returns 0 with *ret_data (owned by the caller; may be
 * left NULL for an empty object) or a negative errno with an optional
 * malloc'ed *ret_message for the error reply.
 */
typedef int (*ControlHandler)(void *userdata, const ControlPeer *peer, const char *verb,
                              json_t *args, json_t **ret_data, char **ret_message);

/*
 * Takes ownership of listen_fd (made non-blocking). Returns 0 or -errno.
 * group names the group whose members count as privileged (may be NULL).
 */
int control_server_new(sd_event *event, int listen_fd, const ControlLimits *limits,
                       const char *group, ControlHandler handler, void *userdata,
                       ControlServer **ret);
ControlServer *control_server_free(ControlServer *s);
DEFINE_CLEANUP(ControlServer, control_server_free)

void control_server_set_limits(ControlServer *s, const ControlLimits *limits);
unsigned control_server_n_clients(const ControlServer *s);
/* Stops accepting new connections (shutdown); open ones are served still. */
void control_server_stop_accepting(ControlServer *s);

/*
 * Binds and listens on a Unix socket at path, replacing a stale socket file.
 * Returns the fd, -EADDRINUSE when another process answers there, or -errno.
 */
int control_socket_bind(const char *path, const char *group);
