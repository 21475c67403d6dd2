/* SPDX-License-Identifier: MIT */
/* appwatchctl's control-socket client; see client.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl/client.h"
#include "shared/protocol.h"

static int connect_socket(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int ctl_call(const CtlGlobals *g, const char *verb, json_t *args, json_t **ret_data,
             char **ret_message) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *req = NULL, *line = NULL;
        json_auto_t *reply = NULL;
        json_error_t jerr;
        LineBuffer buf;
        usec_t deadline;
        int r;

        *ret_message = NULL;
        req = protocol_request(verb, args);
        if (!req)
                return -ENOMEM;
        fd = connect_socket(g->socket_path);
        if (fd < 0)
                return fd;
        /* A daemon that refuses us (too many clients, a request too large) says why
         * and closes: when the write breaks, its reply may still be there to read. */
        int write_error = write_all(fd, req, strlen(req));
        if (write_error < 0 && write_error != -EPIPE && write_error != -ECONNRESET)
                return write_error;

        /* Replies may be large (incident lists); allow far more than requests. */
        line_buffer_init(&buf, 64 * 1024 * 1024);
        deadline = now_monotonic() + g->timeout;
        for (;;) {
                char chunk[65536];
                struct pollfd p = { .fd = fd, .events = POLLIN };
                usec_t now = now_monotonic();
                ssize_t n;

                r = line_buffer_pop(&buf, &line, NULL);
                if (r != 0)
                        break;
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = poll(&p, 1, (int) ((deadline - now) / 1000) + 1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        r = -errno;
                        break;
                }
                if (r == 0)
                        continue;
                n = recv(fd, chunk, sizeof chunk, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0) {
                        r = -ECONNRESET;
                        break;
                }
                r = line_buffer_append(&buf, chunk, (size_t) n);
                if (r < 0)
                        break;
        }
        line_buffer_done(&buf);
        if (r < 0)
                return write_error < 0 ? write_error : r;

        reply = json_loads(line, 0, &jerr);
        if (!json_is_object(reply)) {
                if (asprintf(ret_message, "malformed reply from the daemon: %s", jerr.text) < 0)
                        *ret_message = NULL;
                return -EBADMSG;
        }
        if (json_is_true(json_object_get(reply, "ok"))) {
                json_t *data = json_object_get(reply, "data");
                *ret_data = data ? json_incref(data) : json_object();
                return 0;
        }
        json_t *err = json_object_get(reply, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        const char *msg = json_string_value(json_object_get(err, "message"));
        *ret_message = strdup(msg ?: "unknown error");
        /* Map the daemon's errno name back so callers can tell EPERM apart. */
        static const struct {
                const char *name;
                int e;
        } codes[] = { { "EPERM", EPERM }, { "EINVAL", EINVAL }, { "ENOENT", ENOENT },
                      { "EOPNOTSUPP", EOPNOTSUPP }, { "EMSGSIZE", EMSGSIZE },
                      { "EBADMSG", EBADMSG }, { "EUSERS", EUSERS }, { "EBUSY", EBUSY } };
        for (size_t i = 0; code && i < ELEMENTSOF(codes); i++)
                if (strcmp(code, codes[i].name) == 0)
                        return -codes[i].e;
        return -EIO;
}

void ctl_print_error(const CtlGlobals *g, const char *what, int error, const char *message) {
        if (message) {
                fprintf(stderr, "appwatchctl: %s: %s\n", what, message);
                return;
        }
        fprintf(stderr, "appwatchctl: %s: cannot talk to appwatchd at %s: %s\n", what,
                g->socket_path, strerror(-error));
        if (error == -ENOENT || error == -ECONNREFUSED)
                fprintf(stderr, "Is it running? Try: systemctl start appwatch.socket "
                        "(or pass --socket=PATH)\n");
        else if (error == -EACCES)
                fprintf(stderr, "The control socket is for root and the 'appwatch' group.\n");
}
