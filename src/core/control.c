/* SPDX-License-Identifier: MIT */
/*
 * Control socket server; see control.h. A connection reads and answers one
 * request at a time: its io source stops asking for input while a request
 * is unanswered (the kernel buffer holds what follows, and the peer's
 * writes block), and a defer source resumes it once the answer is queued.
 * The same defer source answers a pipelined backlog REQUESTS_PER_DISPATCH
 * requests at a time, so that a flood on one connection is interleaved with
 * the others.
 * A peer that hangs up shows as EPOLLHUP, which epoll reports even when no
 * input is asked for, so an unanswered request is cancelled at once; a
 * peer that only shut down its writing side (EOF, no HUP) still gets every
 * answer it asked for before the connection closes.
 *
 * Idle connections cannot lock anyone out: when all MaxClients= slots are
 * taken, a new connection closes the one idle the longest (no request
 * being answered, no reply being written) to make room, and is refused
 * ("too many clients") only when every slot is busy. A client of ours
 * connects and sends at once, so it is never the one idle the longest.
 * Loop thread only.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/control.h"
#include "shared/log.h"
#include "shared/protocol.h"

/* Requests answered per dispatch of one connection; the rest wait their turn. */
/* Out of descriptors, accepting pauses this long: the pending connection
 * keeps the listener readable, so retrying at once would spin. */
#define ACCEPT_PAUSE (100 * USEC_PER_MSEC)

#define REQUESTS_PER_DISPATCH 16

typedef struct Connection Connection;

struct ControlServer {
        sd_event *event;
        int fd;
        sd_event_source *accept_source;
        sd_event_source *accept_retry;  /* accepting paused: out of descriptors */
        usec_t accept_logged;            /* when that was last logged */
        ControlLimits limits;
        gid_t group_gid;
        bool have_group;
        const ControlVerb *verbs;
        size_t n_verbs;
        void *userdata;
        Connection *connections;
        unsigned n_connections;
        uint64_t n_served;
        uint64_t n_evicted;
        usec_t evict_logged;     /* when closing an idle client was last logged */
};

struct Connection {
        ControlServer *server;
        Connection *prev, *next;
        int fd;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        sd_event_source *resume_source;
        ControlPeer peer;
        usec_t last_active;      /* CLOCK_MONOTONIC: connected, read from, or answered */
        LineBuffer in;
        char *out;
        size_t out_len, out_sent;
        ControlRequest *pending; /* handed to a handler and not answered yet */
        bool read_eof;           /* the peer shut down its side: answer what is buffered */
        bool backlog;            /* complete lines are buffered beyond this dispatch's share */
        bool closing;            /* close once the pending output is written */
        bool broken;             /* an answer could not be queued: drop */
        bool dispatching;        /* in a handler, called from this connection's callbacks */
};

struct ControlRequest {
        Connection *connection;  /* NULL once cancelled */
        Request request;
        ControlPeer peer;
        ControlCancelFunc cancel;
        void *cancel_userdata;
        void (*cancel_destroy)(void *userdata);
        bool cancelled;
};

static ControlRequest *control_request_free(ControlRequest *req) {
        if (!req)
                return NULL;
        assert(!req->connection || req->connection->pending != req);
        if (req->cancel_destroy)
                req->cancel_destroy(req->cancel_userdata);
        request_done(&req->request);
        free(req);
        return NULL;
}

/* Detaches the connection's unanswered request and tells its owner. */
static void connection_cancel(Connection *c) {
        ControlRequest *req = TAKE_PTR(c->pending);

        if (!req)
                return;
        log_debug("Control: client PID %d went away before the answer to '%s', cancelling.",
                  (int) c->peer.pid, req->request.verb);
        req->connection = NULL;
        req->cancelled = true;
        /* May reply, which frees req: nothing touches it after this. */
        if (req->cancel)
                req->cancel(req, req->cancel_userdata);
}

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;
        connection_cancel(c);
        if (c->server) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        c->server->connections = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                c->server->n_connections--;
        }
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->timer_source);
        sd_event_source_disable_unref(c->resume_source);
        safe_close(c->fd);
        line_buffer_done(&c->in);
        free(c->out);
        free(c);
        return NULL;
}

static int connection_arm_timer(Connection *c) {
        usec_t now;
        int r;

        if (sd_event_now(c->server->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_monotonic();
        r = sd_event_source_set_time(c->timer_source, now + c->server->limits.idle_timeout);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(c->timer_source, SD_EVENT_ONESHOT);
}

/* Whether to read: not while requests already read wait to be answered. */
static bool connection_wants_input(const Connection *c) {
        return !c->closing && !c->read_eof && !c->pending && !c->backlog;
}

static int connection_update_events(Connection *c) {
        uint32_t ev = 0;

        if (connection_wants_input(c))
                ev |= EPOLLIN;
        if (c->out_len > c->out_sent)
                ev |= EPOLLOUT;
        /* Even with no events asked for, epoll reports a hang-up. */
        return sd_event_source_set_io_events(c->io_source, ev);
}

/* Writes as much pending output as the socket takes. 1: all written. */
static int connection_flush(Connection *c) {
        while (c->out_sent < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno;
                }
                c->out_sent += (size_t) n;
        }
        c->out_len = c->out_sent = 0;
        return 1;
}

static int connection_queue(Connection *c, char *line) {
        size_t l;
        char *n;

        if (!line)
                return -ENOMEM;
        l = strlen(line);
        if (c->out_sent > 0) {
                memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
                c->out_len -= c->out_sent;
                c->out_sent = 0;
        }
        /* A client that does not read its replies must not make us hoard memory. */
        if (c->out_len + l > c->server->limits.max_output) {
                free(line);
                return -ENOBUFS;
        }
        n = realloc(c->out, c->out_len + l);
        if (!n) {
                free(line);
                return -ENOMEM;
        }
        memcpy(n + c->out_len, line, l);
        c->out = n;
        c->out_len += l;
        free(line);
        return 0;
}

/* Queues line (taken; NULL on OOM) as the answer to req and frees req. */
static int request_answer(ControlRequest *req, char *line) {
        Connection *c = req->connection;
        int r;

        if (!c) {
                free(line);
                control_request_free(req);
                return -ECANCELED;
        }
        assert(c->pending == req);
        c->pending = NULL;
        r = connection_queue(c, line);
        if (r < 0)
                c->broken = true;
        /* The connection is idle again from now on; and when the answer
         * comes from outside the connection's own callbacks, it goes on
         * reading and writing from a defer source. */
        c->last_active = now_monotonic();
        (void) connection_arm_timer(c);
        if (!c->dispatching)
                (void) sd_event_source_set_enabled(c->resume_source, SD_EVENT_ONESHOT);
        control_request_free(req);
        return r;
}

int control_request_reply(ControlRequest *req, json_t *data) {
        assert(req);
        if (!req->connection) {
                json_decref(data);
                return request_answer(req, NULL);
        }
        return request_answer(req, protocol_reply_ok(req->request.id, data));
}

int control_request_reply_error(ControlRequest *req, int error, const char *message) {
        assert(req);
        assert(error < 0);
        if (!req->connection)
                return request_answer(req, NULL);
        return request_answer(req, protocol_reply_error(req->request.id, error, message));
}

void control_request_set_cancel(ControlRequest *req, ControlCancelFunc cancel, void *userdata,
                                void (*destroy)(void *userdata)) {
        assert(req);
        if (req->cancel_destroy)
                req->cancel_destroy(req->cancel_userdata);
        req->cancel = cancel;
        req->cancel_userdata = userdata;
        req->cancel_destroy = destroy;
}

const ControlPeer *control_request_peer(const ControlRequest *req) {
        return &req->peer;
}

const char *control_request_verb(const ControlRequest *req) {
        return req->request.verb;
}

json_t *control_request_args(const ControlRequest *req) {
        return req->request.args;
}

bool control_request_is_cancelled(const ControlRequest *req) {
        return req->cancelled;
}

const ControlVerb *control_verb_find(const ControlVerb *verbs, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(verbs[i].name, name) == 0)
                        return &verbs[i];
        return NULL;
}

/* Runs the verb of a parsed request (taken). Returns -errno to drop the connection. */
static int connection_dispatch(Connection *c, Request *parsed) {
        _cleanup_free_ char *message = NULL;
        const ControlVerb *verb;
        ControlRequest *req;
        json_t *data = NULL;
        int r;

        verb = control_verb_find(c->server->verbs, c->server->n_verbs, parsed->verb);
        if ((!verb || verb->mutating) && !c->peer.privileged) {
                r = connection_queue(c, protocol_reply_error(parsed->id, -EPERM,
                        "this verb needs root or membership in the appwatch group"));
                request_done(parsed);
                return r;
        }
        if (!verb) {
                if (asprintf(&message, "unknown verb '%s'", parsed->verb) < 0)
                        message = NULL;
                r = connection_queue(c, protocol_reply_error(parsed->id, -EOPNOTSUPP, message));
                request_done(parsed);
                return r;
        }

        req = calloc(1, sizeof *req);
        if (!req) {
                request_done(parsed);
                return -ENOMEM;
        }
        *req = (ControlRequest) {
                .connection = c,
                .request = *parsed,
                .peer = c->peer,
        };
        *parsed = (Request) {};
        c->pending = req;
        c->server->n_served++;

        c->dispatching = true;
        r = verb->handler(req, c->server->userdata, &data, &message);
        c->dispatching = false;
        if (r == CONTROL_REPLY_LATER) {
                /* A handler that keeps the request owns it; data is unused. */
                assert(verb->async);
                json_decref(data);
                /* Answered already, or owed: then the idle timeout must not
                 * close a connection that waits for us. */
                if (c->pending)
                        (void) sd_event_source_set_enabled(c->timer_source, SD_EVENT_OFF);
                return c->broken ? -ENOBUFS : 0;
        }
        /* Only a handler that returns CONTROL_REPLY_LATER may have replied. */
        assert(c->pending == req);
        if (r < 0) {
                json_decref(data);
                r = control_request_reply_error(req, r, message);
        } else
                r = control_request_reply(req, data);
        return r == -ECANCELED ? 0 : r;
}

static int connection_handle_line(Connection *c, const char *line, size_t len) {
        _cleanup_free_ char *err = NULL;
        Request req = {};
        int r;

        r = protocol_parse_request(line, len, &req, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug("Control: malformed request from PID %d: %s", (int) c->peer.pid,
                          err ?: "?");
                c->closing = true;
                return connection_queue(c, protocol_reply_error(NULL, -EBADMSG, err));
        }
        return connection_dispatch(c, &req);
}

/*
 * Answers the complete lines buffered, until one is answered later, this
 * dispatch's share is used (the resume source goes on next iteration, so a
 * client that floods us delays nobody else), or the input is used up (at
 * EOF: then the connection closes). Returns -errno to drop the connection.
 */
static int connection_process(Connection *c) {
        unsigned handled = 0;
        int r;

        c->backlog = false;
        while (!c->closing && !c->pending && !c->broken) {
                _cleanup_free_ char *line = NULL;
                size_t len;

                if (handled >= REQUESTS_PER_DISPATCH) {
                        c->backlog = true;
                        (void) sd_event_source_set_enabled(c->resume_source, SD_EVENT_ONESHOT);
                        break;
                }

                r = line_buffer_pop(&c->in, &line, &len);
                if (r == -EMSGSIZE) {
                        char msg[128];

                        snprintf(msg, sizeof msg, "request is larger than %zu bytes",
                                 c->server->limits.max_request);
                        log_debug("Control: oversized request from PID %d, closing.",
                                  (int) c->peer.pid);
                        c->closing = true;
                        line_buffer_done(&c->in);
                        return connection_queue(c, protocol_reply_error(NULL, -EMSGSIZE, msg));
                }
                if (r < 0)
                        return r;
                if (r == 0) {
                        /* Peer closed its side: what is complete was answered. */
                        if (c->read_eof)
                                c->closing = true;
                        break;
                }
                (void) connection_arm_timer(c);
                if (len == 0)
                        continue;
                r = connection_handle_line(c, line, len);
                if (r < 0)
                        return r;
                handled++;
        }
        return c->broken ? -ENOBUFS : 0;
}

/* Writes what is queued and closes when done. Returns -errno to drop. */
static int connection_service(Connection *c) {
        int r;

        r = connection_flush(c);
        if (r < 0)
                return r;
        if (r > 0 && c->closing)
                return -ECONNRESET;
        return connection_update_events(c);
}

static int on_connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;

        if (revents & EPOLLIN && connection_wants_input(c)) {
                char buf[16384];
                /* Bounded work per dispatch so one busy client cannot starve the loop. */
                for (unsigned rounds = 0; rounds < 4 && connection_wants_input(c); rounds++) {
                        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        break;
                                goto drop;
                        }
                        if (n == 0)
                                c->read_eof = true;
                        else if (line_buffer_append(&c->in, buf, (size_t) n) < 0)
                                goto drop;
                        c->last_active = now_monotonic();
                        if (connection_process(c) < 0)
                                goto drop;
                        if (n == 0 || (size_t) n < sizeof buf)
                                break;
                }
        }

        /* The peer is gone altogether: nobody reads what we would send, and
         * whoever works on an answer for it can stop. */
        if (revents & (EPOLLERR | EPOLLHUP))
                goto drop;
        if (connection_service(c) < 0)
                goto drop;
        return 0;

drop:
        connection_free(c);
        return 0;
}

/* After an answer given outside on_connection_io, or for the requests left
 * over from the last dispatch: go on with the connection. */
static int on_connection_resume(sd_event_source *s, void *userdata) {
        Connection *c = userdata;

        if (c->broken || connection_process(c) < 0 || connection_service(c) < 0)
                connection_free(c);
        return 0;
}

static int on_connection_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Connection *c = userdata;

        log_debug("Control: client PID %d idle for too long, closing.", (int) c->peer.pid);
        connection_free(c);
        return 0;
}

static bool peer_in_group(int fd, gid_t gid, gid_t primary) {
        gid_t groups[256];
        socklen_t len = sizeof groups;

        if (primary == gid)
                return true;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                return false;
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

/*
 * Closes the connection idle the longest — no request being answered, no
 * reply being written, whatever partial line it sent — to make room for a
 * new one. Returns whether one was closed.
 */
static bool server_evict_idle(ControlServer *server) {
        Connection *victim = NULL;
        usec_t now = now_monotonic();

        for (Connection *c = server->connections; c; c = c->next)
                if (!c->pending && !c->dispatching && c->out_len == c->out_sent &&
                    (!victim || c->last_active < victim->last_active))
                        victim = c;
        if (!victim)
                return false;
        server->n_evicted++;
        /* A flood of connections would log one line each: once a minute is enough. */
        if (server->evict_logged == 0 || now - server->evict_logged >= 60 * USEC_PER_SEC) {
                log_warning("Control: all %u client slots taken; closing the connection idle "
                            "the longest (PID %d, UID %u) to make room, ignoring "
                            "(%" PRIu64 " closed so far)", server->n_connections,
                            (int) victim->peer.pid, (unsigned) victim->peer.uid,
                            server->n_evicted);
                server->evict_logged = now;
        }
        connection_free(victim);
        return true;
}

static int on_accept_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        ControlServer *server = userdata;

        server->accept_retry = sd_event_source_disable_unref(server->accept_retry);
        (void) sd_event_source_set_enabled(server->accept_source, SD_EVENT_ON);
        return 0;
}

/*
 * accept() found no descriptor (or memory) for the connection. It stays
 * queued and the listener stays readable, so stop listening for a moment
 * instead of failing in a loop; the clients already connected are served
 * meanwhile and may free descriptors.
 */
static void server_pause_accepting(ControlServer *server, int error) {
        usec_t now = now_monotonic();
        int r;

        if (server->accept_logged == 0 || now >= server->accept_logged + USEC_PER_MINUTE) {
                server->accept_logged = now;
                log_warning_errno(error, "Control: cannot accept a connection: %m; pausing "
                                  "accepting for %u ms, ignoring",
                                  (unsigned) (ACCEPT_PAUSE / USEC_PER_MSEC));
        }
        if (server->accept_retry)
                return;
        r = sd_event_add_time_relative(server->event, &server->accept_retry, CLOCK_MONOTONIC,
                                       ACCEPT_PAUSE, 10 * USEC_PER_MSEC, on_accept_retry, server);
        if (r < 0)
                return; /* cannot pause: keep trying rather than stop accepting for good */
        (void) sd_event_source_set_description(server->accept_retry, "control-accept-retry");
        (void) sd_event_source_set_enabled(server->accept_source, SD_EVENT_OFF);
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ControlServer *server = userdata;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred;
        socklen_t len = sizeof cred;
        Connection *c;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        server_pause_accepting(server, -errno);
                else if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(-errno, "Control: accept() failed: %m, ignoring");
                return 0;
        }
        if (server->n_connections >= server->limits.max_clients &&
            !server_evict_idle(server)) {
                _cleanup_free_ char *line = protocol_reply_error(NULL, -EUSERS,
                                                                 "too many clients");
                if (line)
                        (void) send(cfd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
                log_warning("Control: %u clients connected, all busy, refusing another, ignoring",
                            server->n_connections);
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                log_warning_errno(-errno, "Control: SO_PEERCRED failed: %m, ignoring");
                return 0;
        }

        bool privileged = cred.uid == 0 || cred.uid == geteuid() ||
                          (server->have_group && peer_in_group(cfd, server->group_gid, cred.gid));

        c = calloc(1, sizeof *c);
        if (!c)
                return log_oom(), 0;
        *c = (Connection) {
                .server = server,
                .fd = TAKE_FD(cfd),
                .last_active = now_monotonic(),
                .peer = {
                        .pid = cred.pid,
                        .uid = cred.uid,
                        .gid = cred.gid,
                        .privileged = privileged,
                },
        };
        line_buffer_init(&c->in, server->limits.max_request);
        c->next = server->connections;
        if (c->next)
                c->next->prev = c;
        server->connections = c;
        server->n_connections++;

        r = sd_event_add_io(server->event, &c->io_source, c->fd, EPOLLIN, on_connection_io, c);
        if (r >= 0) {
                (void) sd_event_source_set_description(c->io_source, "control-connection");
                r = sd_event_add_time_relative(server->event, &c->timer_source, CLOCK_MONOTONIC,
                                               server->limits.idle_timeout, 0,
                                               on_connection_timeout, c);
        }
        if (r >= 0) {
                (void) sd_event_source_set_description(c->timer_source, "control-idle");
                r = sd_event_add_defer(server->event, &c->resume_source, on_connection_resume, c);
        }
        if (r >= 0) {
                (void) sd_event_source_set_description(c->resume_source, "control-resume");
                /* Below the io sources: whatever else is ready (another
                 * client's request, say) goes before a backlog's next share. */
                r = sd_event_source_set_priority(c->resume_source, SD_EVENT_PRIORITY_NORMAL + 1);
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(c->resume_source, SD_EVENT_OFF);
        if (r < 0) {
                log_warning_errno(r, "Control: cannot watch connection: %m, ignoring");
                connection_free(c);
        }
        return 0;
}

int control_server_new(sd_event *event, int listen_fd, const ControlLimits *limits,
                       const char *group, const ControlVerb *verbs, size_t n_verbs,
                       void *userdata, ControlServer **ret) {
        _cleanup_(control_server_freep) ControlServer *s = NULL;
        int flags, r;

        s = calloc(1, sizeof *s);
        if (!s) {
                safe_close(listen_fd);
                return -ENOMEM;
        }
        *s = (ControlServer) {
                .event = sd_event_ref(event),
                .fd = listen_fd,
                .limits = *limits,
                .verbs = verbs,
                .n_verbs = n_verbs,
                .userdata = userdata,
        };
        if (group) {
                struct group *g = getgrnam(group);
                if (g) {
                        s->group_gid = g->gr_gid;
                        s->have_group = true;
                }
        }
        flags = fcntl(listen_fd, F_GETFL);
        if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        r = sd_event_add_io(event, &s->accept_source, listen_fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->accept_source, "control-accept");
        *ret = TAKE_PTR(s);
        return 0;
}

ControlServer *control_server_free(ControlServer *s) {
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->accept_retry);
        sd_event_source_disable_unref(s->accept_source);
        safe_close(s->fd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

void control_server_set_limits(ControlServer *s, const ControlLimits *limits) {
        s->limits = *limits;
}

unsigned control_server_n_clients(const ControlServer *s) {
        return s->n_connections;
}

uint64_t control_server_n_served(const ControlServer *s) {
        return s->n_served;
}

void control_server_stop_accepting(ControlServer *s) {
        s->accept_retry = sd_event_source_disable_unref(s->accept_retry);
        (void) sd_event_source_set_enabled(s->accept_source, SD_EVENT_OFF);
}

int control_socket_bind(const char *path, const char *group) {
        _cleanup_close_ int fd = -EBADF, probe = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t salen;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);

        /* A socket file nobody answers on is stale; one that answers is a live daemon. */
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
                return -errno;
        if (connect(probe, (struct sockaddr *) &sa, salen) == 0)
                return -EADDRINUSE;
        if (errno == ECONNREFUSED)
                (void) unlink(path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, salen) < 0)
                return -errno;
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;
        if (chmod(path, 0660) < 0)
                return -errno;
        if (group && geteuid() == 0) {
                struct group *g = getgrnam(group);
                /* Without CAP_CHOWN the socket stays root's: still usable by root. */
                if (g && chown(path, 0, g->gr_gid) < 0)
                        log_warning_errno(-errno, "Cannot give %s to group %s: %m, ignoring",
                                          path, group);
        }
        return TAKE_FD(fd);
}
