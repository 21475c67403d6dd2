/* SPDX-License-Identifier: MIT */
/* Loopback HTTP server for tests; see http-stub.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-stub.h"
#include "shared/cleanup.h"

#define STUB_MAX_REQUEST (4u * 1024 * 1024)
#define STUB_IO_TIMEOUT_MS 60000

typedef struct Script {
        struct Script *next;
        HttpStubResponse r;     /* strings owned */
} Script;

struct HttpStub {
        int listen_fd;
        int stop_fd;            /* eventfd: readable once http_stub_free() runs */
        uint16_t port;
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        Script *head, *tail;
        HttpStubRequest *requests;
        size_t n_requests;
};

static void *xmalloc(size_t n) {
        void *p = malloc(n ?: 1);
        if (!p)
                abort();
        return p;
}

static char *xstrndup(const char *s, size_t n) {
        char *p = xmalloc(n + 1);
        memcpy(p, s, n);
        p[n] = 0;
        return p;
}

static char *xstrdup0(const char *s) {
        return s ? xstrndup(s, strlen(s)) : NULL;
}

/* 1 when fd has events, 0 on timeout, -ECANCELED when the stub is stopping. */
static int wait_fd(HttpStub *s, int fd, short events, int timeout_ms) {
        struct pollfd p[2] = {
                { .fd = s->stop_fd, .events = POLLIN },
                { .fd = fd, .events = events },
        };
        int n;

        do
                n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (p[0].revents)
                return -ECANCELED;
        return n > 0;
}

static int send_all(HttpStub *s, int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n;
                int r = wait_fd(s, fd, POLLOUT, STUB_IO_TIMEOUT_MS);

                if (r <= 0)
                        return r < 0 ? r : -ETIMEDOUT;
                n = send(fd, p, size, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                p += n;
                size -= n;
        }
        return 0;
}

static void request_free_fields(HttpStubRequest *r) {
        free(r->method);
        free(r->target);
        strv_free(r->headers);
        free(r->body);
        *r = (HttpStubRequest) {};
}

void http_stub_request_done(HttpStubRequest *r) {
        request_free_fields(r);
}

const char *http_stub_request_header(const HttpStubRequest *r, const char *name) {
        size_t n = strlen(name);

        for (char **h = r->headers; h && *h; h++)
                if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
                        return *h + n + 1 + strspn(*h + n + 1, " \t");
        return NULL;
}

/* Reads one request head and its Content-Length body, and parses it into *ret. */
static int read_request(HttpStub *s, int fd, HttpStubRequest *ret) {
        _cleanup_free_ char *buf = xmalloc(STUB_MAX_REQUEST + 1);
        size_t size = 0, head = 0, body = 0, n_headers = 0;
        HttpStubRequest req = {};
        char *line, *next, *end;
        const char *cl;

        for (;;) {
                ssize_t n;
                int r;

                if (head > 0 && size >= head + body)
                        break;
                if (size >= STUB_MAX_REQUEST)
                        return -E2BIG;
                r = wait_fd(s, fd, POLLIN, STUB_IO_TIMEOUT_MS);
                if (r <= 0)
                        return r < 0 ? r : -ETIMEDOUT;
                n = recv(fd, buf + size, STUB_MAX_REQUEST - size, 0);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -ECONNRESET;
                size += n;
                buf[size] = 0;
                if (head == 0 && (end = strstr(buf, "\r\n\r\n"))) {
                        head = end - buf + 4;
                        /* Parsed again below; here only the length matters. */
                        cl = strcasestr(buf, "\r\nContent-Length:");
                        if (cl && cl < end)
                                body = strtoull(cl + 17, NULL, 10);
                        if (body > STUB_MAX_REQUEST - head)
                                return -E2BIG;
                }
        }

        buf[head - 2] = 0;      /* cut after the last header line's CRLF */
        line = buf;
        next = strstr(line, "\r\n");
        *next = 0;
        end = strchr(line, ' ');
        if (!end)
                return -EBADMSG;
        req.method = xstrndup(line, end - line);
        line = end + 1;
        end = strchr(line, ' ');
        req.target = xstrndup(line, end ? (size_t) (end - line) : strlen(line));

        req.headers = xmalloc(sizeof(char *));
        req.headers[0] = NULL;
        for (line = next + 2; *line; line = next + 2) {
                next = strstr(line, "\r\n");
                if (!next)
                        break;
                *next = 0;
                req.headers = realloc(req.headers, (n_headers + 2) * sizeof(char *));
                if (!req.headers)
                        abort();
                req.headers[n_headers++] = xstrdup0(line);
                req.headers[n_headers] = NULL;
        }
        req.body = xstrndup(buf + head, body);
        req.body_size = body;
        *ret = req;
        return 0;
}

static const char *reason(unsigned status) {
        switch (status) {
        case 200: return "OK";
        case 302: return "Found";
        case 404: return "Not Found";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Status";
        }
}

static void record(HttpStub *s, HttpStubRequest *req) {
        pthread_mutex_lock(&s->lock);
        s->requests = realloc(s->requests, (s->n_requests + 1) * sizeof *s->requests);
        if (!s->requests)
                abort();
        s->requests[s->n_requests++] = *req;
        *req = (HttpStubRequest) {};
        pthread_mutex_unlock(&s->lock);
}

static int send_chunked(HttpStub *s, int fd, size_t total) {
        static const char hdr[] = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                  "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        char chunk[16384 + 16];
        size_t sent = 0;
        int r;

        r = send_all(s, fd, hdr, sizeof hdr - 1);
        while (r >= 0 && sent < total) {
                int k = snprintf(chunk, sizeof chunk, "%x\r\n", 16384);

                memset(chunk + k, 'x', 16384);
                memcpy(chunk + k + 16384, "\r\n", 2);
                /* Fails once the client has given up, which is the expected end. */
                r = send_all(s, fd, chunk, k + 16384 + 2);
                sent += 16384;
        }
        if (r >= 0)
                r = send_all(s, fd, "0\r\n\r\n", 5);
        return r;
}

static void serve(HttpStub *s, int fd, const HttpStubResponse *resp) {
        HttpStubRequest req = {};
        _cleanup_free_ char *out = NULL;
        char buf[4096];
        int r;

        if (resp->mode == HTTP_STUB_GARBAGE) {
                static const char garbage[] = "this is not HTTP at all\r\n\r\n";
                (void) send_all(s, fd, garbage, sizeof garbage - 1);
                return;
        }

        r = read_request(s, fd, &req);
        if (r < 0) {
                request_free_fields(&req);
                return;
        }
        record(s, &req);

        switch (resp->mode) {
        case HTTP_STUB_CLOSE:
        case HTTP_STUB_GARBAGE:
                return;
        case HTTP_STUB_HANG:
                /* Until the client closes its end, or the stub is freed. */
                while (wait_fd(s, fd, POLLIN, -1) > 0)
                        if (recv(fd, buf, sizeof buf, 0) <= 0)
                                return;
                return;
        case HTTP_STUB_HUGE_CHUNKED:
                if (resp->delay_ms && wait_fd(s, -1, 0, (int) resp->delay_ms) < 0)
                        return;
                (void) send_chunked(s, fd, resp->huge_size);
                return;
        case HTTP_STUB_ANSWER:
                break;
        }

        if (resp->delay_ms && wait_fd(s, -1, 0, (int) resp->delay_ms) < 0)
                return;
        unsigned status = resp->status ?: 200;
        size_t body_size = resp->body ? strlen(resp->body) : 0;
        if (asprintf(&out, "HTTP/1.1 %u %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                     status, reason(status), body_size, resp->headers ?: "",
                     resp->body ?: "") < 0)
                abort();
        (void) send_all(s, fd, out, strlen(out));
}

static void script_free(Script *sc) {
        free((char *) sc->r.headers);
        free((char *) sc->r.body);
        free(sc);
}

static void *server_main(void *arg) {
        HttpStub *s = arg;

        for (;;) {
                Script *sc;
                int fd, r;

                r = wait_fd(s, s->listen_fd, POLLIN, -1);
                if (r < 0)
                        break;
                fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                        continue;

                pthread_mutex_lock(&s->lock);
                sc = s->head;
                if (sc) {
                        s->head = sc->next;
                        if (!s->head)
                                s->tail = NULL;
                }
                pthread_mutex_unlock(&s->lock);

                serve(s, fd, sc ? &sc->r : &(HttpStubResponse) { .status = 404 });
                /* Lingering-free close: the client sees EOF right away. */
                (void) shutdown(fd, SHUT_WR);
                (void) close(fd);
                if (sc)
                        script_free(sc);
        }
        return NULL;
}

int http_stub_new(HttpStub **ret) {
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        socklen_t len = sizeof sa;
        HttpStub *s;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (HttpStub) { .listen_fd = -EBADF, .stop_fd = -EBADF };
        pthread_mutex_init(&s->lock, NULL);

        s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            listen(s->listen_fd, 16) < 0 ||
            getsockname(s->listen_fd, (struct sockaddr *) &sa, &len) < 0)
                goto fail;
        s->port = ntohs(sa.sin_port);
        s->stop_fd = eventfd(0, EFD_CLOEXEC);
        if (s->stop_fd < 0)
                goto fail;
        errno = pthread_create(&s->thread, NULL, server_main, s);
        if (errno != 0)
                goto fail;
        s->thread_started = true;
        *ret = s;
        return 0;

fail:;
        int r = -errno;
        http_stub_free(s);
        return r;
}

HttpStub *http_stub_free(HttpStub *s) {
        if (!s)
                return NULL;
        if (s->thread_started) {
                uint64_t one = 1;
                (void) !write(s->stop_fd, &one, sizeof one);
                pthread_join(s->thread, NULL);
        }
        while (s->head) {
                Script *n = s->head->next;
                script_free(s->head);
                s->head = n;
        }
        for (size_t i = 0; i < s->n_requests; i++)
                request_free_fields(&s->requests[i]);
        free(s->requests);
        safe_close(s->listen_fd);
        safe_close(s->stop_fd);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

uint16_t http_stub_port(const HttpStub *s) {
        return s->port;
}

char *http_stub_url(const HttpStub *s, const char *path) {
        char *u;

        if (asprintf(&u, "http://127.0.0.1:%u%s", (unsigned) s->port, path ?: "") < 0)
                abort();
        return u;
}

void http_stub_push(HttpStub *s, const HttpStubResponse *r) {
        Script *sc = xmalloc(sizeof *sc);

        *sc = (Script) { .r = *r };
        sc->r.headers = xstrdup0(r->headers);
        sc->r.body = xstrdup0(r->body);
        pthread_mutex_lock(&s->lock);
        if (s->tail)
                s->tail->next = sc;
        else
                s->head = sc;
        s->tail = sc;
        pthread_mutex_unlock(&s->lock);
}

size_t http_stub_n_requests(HttpStub *s) {
        size_t n;

        pthread_mutex_lock(&s->lock);
        n = s->n_requests;
        pthread_mutex_unlock(&s->lock);
        return n;
}

bool http_stub_request(HttpStub *s, size_t i, HttpStubRequest *ret) {
        HttpStubRequest c = {};
        bool found = false;

        pthread_mutex_lock(&s->lock);
        if (i < s->n_requests) {
                const HttpStubRequest *r = &s->requests[i];
                size_t n = 0;

                c.method = xstrdup0(r->method);
                c.target = xstrdup0(r->target);
                c.body = xstrndup(r->body, r->body_size);
                c.body_size = r->body_size;
                while (r->headers[n])
                        n++;
                c.headers = xmalloc((n + 1) * sizeof(char *));
                for (size_t k = 0; k < n; k++)
                        c.headers[k] = xstrdup0(r->headers[k]);
                c.headers[n] = NULL;
                found = true;
        }
        pthread_mutex_unlock(&s->lock);
        if (found)
                *ret = c;
        return found;
}
