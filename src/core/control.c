/* SPDX-License-Identifier: MIT */
/* Control socket server; see control.h. Loop thread only. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/control.h"
#include "shared/log.h"
#include "shared/protocol.h"

typedef struct Connection Connection;

struct ControlServer {
        sd_event *event;
        int fd;
        sd_event_source *accept_source;
        ControlLimits limits;
        gid_t group_gid;
        bool have_group;
        ControlHandler handler;
        void *userdata;
        Connection *connections;
        unsigned n_connections;
        uint64_t n_served;
};

struct Connection {
        ControlServer *server;
        Connection *prev, *next;
        int fd;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        ControlPeer peer;
        LineBuffer in;
        char *out;
        size_t out_len, out_sent;
        bool closing;            /* close once the pending output is written */
};

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;
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
        safe_close(c->fd);
        line_buffer_done(&c->in);
        free(c->out);
        free(c);
        return NULL;
}

static int connection_arm_timer(Connection *c) {
        usec_t now;

        if (sd_event_now(c->server->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_monotonic();
        return sd_event_source_set_time(c->timer_source, now + c->server->limits.idle_timeout);
}

static int connection_update_events(Connection *c) {
        uint32_t ev = 0;

        if (!c->closing)
                ev |= EPOLLIN;
        if (c->out_len > c->out_sent)
                ev |= EPOLLOUT;
        if (ev == 0)
                return 0;
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

static int connection_handle_line(Connection *c, const char *line, size_t len) {
        _cleanup_free_ char *err = NULL, *message = NULL;
        json_t *data = NULL;
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

        if (protocol_verb_is_mutating(req.verb) && !c->peer.privileged) {
                r = connection_queue(c, protocol_reply_error(req.id, -EPERM,
                        "this verb needs root or membership in the appwatch group"));
                request_done(&req);
                return r;
        }

        c->server->n_served++;
        r = c->server->handler(c->server->userdata, &c->peer, req.verb, req.args, &data, &message);
        if (r < 0)
                r = connection_queue(c, protocol_reply_error(req.id, r, message));
        else
                r = connection_queue(c, protocol_reply_ok(req.id, data));
        request_done(&req);
        return r;
}

static int on_connection_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        int r;

        if (revents & EPOLLIN && !c->closing) {
                char buf[16384];
                /* Bounded work per dispatch so one busy client cannot starve the loop. */
                for (unsigned rounds = 0; rounds < 4 && !c->closing; rounds++) {
                        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        break;
                                goto drop;
                        }
                        if (n == 0) {
                                /* Peer closed its side: answer what is complete, then close. */
                                c->closing = true;
                        } else if (line_buffer_append(&c->in, buf, (size_t) n) < 0)
                                goto drop;

                        for (;;) {
                                _cleanup_free_ char *line = NULL;
                                size_t len;

                                if (c->closing && n != 0)
                                        break;
                                r = line_buffer_pop(&c->in, &line, &len);
                                if (r == -EMSGSIZE) {
                                        char msg[128];
                                        snprintf(msg, sizeof msg,
                                                 "request is larger than %zu bytes",
                                                 c->server->limits.max_request);
                                        log_debug("Control: oversized request from PID %d, closing.",
                                                  (int) c->peer.pid);
                                        c->closing = true;
                                        line_buffer_done(&c->in);
                                        if (connection_queue(c, protocol_reply_error(NULL,
                                                                -EMSGSIZE, msg)) < 0)
                                                goto drop;
                                        break;
                                }
                                if (r < 0)
                                        goto drop;
                                if (r == 0)
                                        break;
                                (void) connection_arm_timer(c);
                                if (len == 0)
                                        continue;
                                r = connection_handle_line(c, line, len);
                                if (r < 0)
                                        goto drop;
                        }
                        if (n == 0 || (size_t) n < sizeof buf)
                                break;
                }
        }

        if (revents & (EPOLLERR | EPOLLHUP) && !(revents & EPOLLIN))
                goto drop;

        r = connection_flush(c);
        if (r < 0)
                goto drop;
        if (r > 0 && c->closing)
                goto drop;
        if (connection_update_events(c) < 0)
                goto drop;
        return 0;

drop:
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

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ControlServer *server = userdata;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred;
        socklen_t len = sizeof cred;
        Connection *c;
        int r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(-errno, "Control: accept() failed: %m, ignoring");
                return 0;
        }
        if (server->n_connections >= server->limits.max_clients) {
                _cleanup_free_ char *line = protocol_reply_error(NULL, -EUSERS,
                                                                 "too many clients");
                if (line)
                        (void) send(cfd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
                log_warning("Control: %u clients connected, refusing another, ignoring",
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
        if (r >= 0)
                (void) sd_event_source_set_description(c->timer_source, "control-idle");
        if (r < 0) {
                log_warning_errno(r, "Control: cannot watch connection: %m, ignoring");
                connection_free(c);
        }
        return 0;
}

int control_server_new(sd_event *event, int listen_fd, const ControlLimits *limits,
                       const char *group, ControlHandler handler, void *userdata,
                       ControlServer **ret) {
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
                .handler = handler,
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

void control_server_stop_accepting(ControlServer *s) {
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
