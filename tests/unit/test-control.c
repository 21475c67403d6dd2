/* SPDX-License-Identifier: MIT */
/*
 * Tests for core/control: the real server on a real listening socket (in
 * the abstract namespace, so no file permissions get in the way of another
 * user) and a real sd-event loop, driven from the test's own client sockets.
 * The asynchronous verbs answer from timers, as a worker's completion
 * would. Leaks and use after free are what ASan and valgrind look for
 * here: each test frees everything it made.
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/control.h"
#include "core/verbs.h"
#include "shared/protocol.h"
#include "tests.h"

#define WAIT_USEC (20 * USEC_PER_SEC)   /* generous: valgrind is slow */

typedef struct Harness {
        sd_event *event;
        ControlServer *server;
        struct sockaddr_un address;
        socklen_t address_len;
        unsigned mutated;
        unsigned started;         /* asynchronous jobs begun */
        unsigned finished;        /* ... whose timer fired */
        unsigned cancelled;       /* cancel callbacks run */
        unsigned destroyed;       /* jobs freed */
        unsigned late_replies;    /* replies to a cancelled request (-ECANCELED) */
        unsigned errors;          /* unexpected results inside callbacks */
        char order[256];          /* the handlers and answers, in the order they ran */
} Harness;

typedef struct Job {
        Harness *h;
        ControlRequest *req;
        sd_event_source *timer;
        json_t *args;
        bool reply_on_cancel;     /* the cancel callback answers, or the timer does */
} Job;

static void note(Harness *h, const char *what) {
        size_t l = strlen(h->order);
        snprintf(h->order + l, sizeof h->order - l, "%s%s", l ? "," : "", what);
}

static int verb_echo(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        note(userdata, "echo");
        *ret = json_deep_copy(control_request_args(req));
        return *ret ? 0 : -ENOMEM;
}

static int verb_mark(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        note(userdata, "mark");
        return 0;
}

static int verb_fail(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        *msg = strdup("no such thing");
        return -ENOENT;
}

static int verb_mutate(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        ((Harness *) userdata)->mutated++;
        return 0;
}

static void job_free(void *userdata) {
        Job *j = userdata;

        j->h->destroyed++;
        sd_event_source_disable_unref(j->timer);
        json_decref(j->args);
        free(j);
}

static int on_job_done(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;
        Harness *h = j->h;
        json_t *data;
        int r;

        h->finished++;
        note(h, "answer");
        data = json_pack("{s:b, s:O}", "done", 1, "args", j->args);
        /* Frees j, with its timer source (sd-event keeps it until we return). */
        r = control_request_reply(j->req, data);
        if (r == -ECANCELED)
                h->late_replies++;
        return 0;
}

static void on_job_cancel(ControlRequest *req, void *userdata) {
        Job *j = userdata;
        Harness *h = j->h;

        h->cancelled++;
        if (!j->reply_on_cancel)
                return;   /* the work goes on; its answer will only free the request */
        (void) sd_event_source_set_enabled(j->timer, SD_EVENT_OFF);
        if (control_request_reply_error(req, -ECANCELED, NULL) != -ECANCELED)
                h->errors++;
}

/* Answers after args.ms milliseconds; args.lazy: keeps working when cancelled. */
static int verb_later(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Harness *h = userdata;
        json_t *args = control_request_args(req);
        Job *j;
        int r;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        *j = (Job) {
                .h = h,
                .req = req,
                .args = json_incref(args),
                .reply_on_cancel = !json_is_true(json_object_get(args, "lazy")),
        };
        r = sd_event_add_time_relative(h->event, &j->timer, CLOCK_MONOTONIC,
                                       (usec_t) json_integer_value(json_object_get(args, "ms")) *
                                               USEC_PER_MSEC,
                                       USEC_PER_MSEC, on_job_done, j);
        if (r < 0) {
                json_decref(j->args);
                free(j);
                return r;
        }
        control_request_set_cancel(req, on_job_cancel, j, job_free);
        h->started++;
        note(h, "later");
        return CONTROL_REPLY_LATER;
}

/* An asynchronous verb that happens to have its answer at once. */
static int verb_now(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Harness *h = userdata;

        note(h, "now");
        if (control_request_reply(req, json_pack("{s:s}", "verb", control_request_verb(req))) < 0)
                h->errors++;
        return CONTROL_REPLY_LATER;
}

static const ControlVerb test_verbs[] = {
        { .name = "echo", .handler = verb_echo },
        { .name = "mark", .handler = verb_mark },
        { .name = "fail", .handler = verb_fail },
        { .name = "mutate", .mutating = true, .handler = verb_mutate },
        { .name = "later", .async = true, .handler = verb_later },
        { .name = "now", .async = true, .handler = verb_now },
};

static const ControlLimits default_limits = {
        .max_request = 1024,
        .max_output = 1024 * 1024,
        .max_clients = 8,
        .idle_timeout = 10 * USEC_PER_SEC,
};

static int harness_init(Harness *h, const ControlLimits *limits) {
        static unsigned counter;
        int fd;

        *h = (Harness) { .address = { .sun_family = AF_UNIX } };
        /* Abstract: sun_path[0] stays 0. */
        snprintf(h->address.sun_path + 1, sizeof h->address.sun_path - 1,
                 "appwatch-test-control-%d-%u", (int) getpid(), counter++);
        h->address_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 +
                                      strlen(h->address.sun_path + 1));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &h->address, h->address_len) < 0 ||
            listen(fd, 16) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (sd_event_new(&h->event) < 0) {
                close(fd);
                return -ENOMEM;
        }
        return control_server_new(h->event, fd, limits ?: &default_limits, NULL, test_verbs,
                                  ELEMENTSOF(test_verbs), h, &h->server);
}

/* Frees everything; returns how many unexpected results callbacks saw. */
static unsigned harness_done(Harness *h) {
        h->server = control_server_free(h->server);
        h->event = sd_event_unref(h->event);
        return h->errors;
}

typedef struct Client {
        int fd;
        char buf[65536];
        size_t len;
        bool eof;
} Client;

static int client_connect(Harness *h, Client *c) {
        *c = (Client) { .fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) };
        if (c->fd < 0)
                return -errno;
        if (connect(c->fd, (struct sockaddr *) &h->address, h->address_len) < 0)
                return -errno;
        return 0;
}

static void client_close(Client *c) {
        c->fd = safe_close(c->fd);
}

static int client_send(Client *c, const char *s) {
        size_t n = strlen(s);

        while (n > 0) {
                ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (k < 0)
                        return -errno;
                s += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Runs the loop a little and takes what the server sent. */
static int client_pump(Harness *h, Client *c) {
        int r;

        r = sd_event_run(h->event, 10 * USEC_PER_MSEC);
        if (r < 0)
                return r;
        while (!c->eof && c->len < sizeof c->buf - 1) {
                ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, MSG_DONTWAIT);
                if (n < 0 && errno == ECONNRESET)
                        n = 0;
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                if (n == 0)
                        c->eof = true;
                c->len += (size_t) n;
                c->buf[c->len] = 0;
        }
        return 0;
}

/*
 * The next reply line, without its newline, into line (size bytes). Returns
 * 1, 0 at EOF, -ETIMEDOUT.
 */
static int client_read_line(Harness *h, Client *c, char *line, size_t size) {
        usec_t deadline = now_monotonic() + WAIT_USEC;
        char *nl;
        int r;

        for (;;) {
                nl = memchr(c->buf, '\n', c->len);
                if (nl)
                        break;
                if (c->eof)
                        return 0;
                if (now_monotonic() > deadline)
                        return -ETIMEDOUT;
                r = client_pump(h, c);
                if (r < 0)
                        return r;
        }
        size_t l = (size_t) (nl - c->buf);
        snprintf(line, size, "%.*s", (int) l, c->buf);
        memmove(c->buf, nl + 1, c->len - l - 1);
        c->len -= l + 1;
        c->buf[c->len] = 0;
        return 1;
}

/* Runs the loop until *counter reaches want. */
static int wait_for(Harness *h, const unsigned *counter, unsigned want) {
        usec_t deadline = now_monotonic() + WAIT_USEC;

        while (*counter < want) {
                if (now_monotonic() > deadline)
                        return -ETIMEDOUT;
                int r = sd_event_run(h->event, 10 * USEC_PER_MSEC);
                if (r < 0)
                        return r;
        }
        return 0;
}

TEST(synchronous_verbs) {
        Harness h;
        Client c;
        char line[4096];

        ASSERT_OK(harness_init(&h, NULL));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, "{\"verb\":\"echo\",\"args\":{\"x\":1},\"id\":7}\n"));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":true,\"data\":{\"x\":1},\"id\":7}");
        ASSERT_OK(client_send(&c, "{\"verb\":\"fail\",\"id\":\"a\"}\n"));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":false,\"error\":{\"code\":\"ENOENT\",\"message\":"
                           "\"no such thing\"},\"id\":\"a\"}");
        ASSERT_OK(client_send(&c, "{\"verb\":\"nope\"}\n"));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":false,\"error\":{\"code\":\"EOPNOTSUPP\",\"message\":"
                           "\"unknown verb 'nope'\"}}");
        /* We are root or the server's own user: privileged. */
        ASSERT_OK(client_send(&c, "{\"verb\":\"mutate\"}\n"));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":true,\"data\":{}}");
        ASSERT_EQ(h.mutated, 1);
        /* Only requests that reach a handler count as served. */
        ASSERT_EQ(control_server_n_served(h.server), 3);
        ASSERT_EQ(control_server_n_clients(h.server), 1);
        client_close(&c);
        for (int k = 0; k < 100 && control_server_n_clients(h.server) > 0; k++)
                ASSERT_OK(sd_event_run(h.event, 10 * USEC_PER_MSEC));
        ASSERT_EQ(control_server_n_clients(h.server), 0);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(asynchronous_verb_answered_after_a_delay) {
        ControlLimits limits = default_limits;
        Harness h;
        Client c;
        char line[4096];

        /* The answer takes longer than the idle timeout (plus sd-event's
         * default 250 ms accuracy), which must not close a connection the
         * daemon owes an answer. */
        limits.idle_timeout = 50 * USEC_PER_MSEC;
        ASSERT_OK(harness_init(&h, &limits));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, "{\"verb\":\"later\",\"args\":{\"ms\":1000},\"id\":1}\n"));
        ASSERT_OK(wait_for(&h, &h.started, 1));
        ASSERT_EQ(h.finished, 0);
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_EQ(h.finished, 1);
        ASSERT_STREQ(line, "{\"ok\":true,\"data\":{\"done\":true,\"args\":{\"ms\":1000}},\"id\":1}");
        ASSERT_EQ(h.destroyed, 1);
        ASSERT_EQ(h.cancelled, 0);
        /* Answered, the connection is idle again, and times out as one. */
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 0);
        ASSERT_EQ(control_server_n_clients(h.server), 0);
        client_close(&c);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(idle_timeout_closes_a_stalled_client) {
        ControlLimits limits = default_limits;
        Harness h;
        Client c;
        char line[256];

        limits.idle_timeout = 50 * USEC_PER_MSEC;
        ASSERT_OK(harness_init(&h, &limits));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, "{\"verb\":\"ec"));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 0);
        ASSERT_EQ(control_server_n_clients(h.server), 0);
        client_close(&c);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

static int hang_up_while_waiting(bool lazy) {
        Harness h;
        Client c;

        ASSERT_OK(harness_init(&h, NULL));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, lazy ? "{\"verb\":\"later\",\"args\":{\"ms\":200,\"lazy\":true}}\n"
                                       : "{\"verb\":\"later\",\"args\":{\"ms\":60000}}\n"));
        ASSERT_OK(wait_for(&h, &h.started, 1));
        client_close(&c);
        ASSERT_OK(wait_for(&h, &h.cancelled, 1));
        ASSERT_EQ(control_server_n_clients(h.server), 0);
        if (lazy) {
                /* The work went on; its reply finds the request cancelled. */
                ASSERT_EQ(h.destroyed, 0);
                ASSERT_OK(wait_for(&h, &h.finished, 1));
                ASSERT_EQ(h.late_replies, 1);
        } else
                ASSERT_EQ(h.finished, 0);
        ASSERT_EQ(h.destroyed, 1);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(hang_up_cancels_and_the_cancel_callback_answers) {
        return hang_up_while_waiting(false);
}

TEST(hang_up_cancels_and_the_late_answer_only_frees) {
        return hang_up_while_waiting(true);
}

TEST(half_closed_client_still_gets_its_answer) {
        Harness h;
        Client c;
        char line[4096];

        ASSERT_OK(harness_init(&h, NULL));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, "{\"verb\":\"later\",\"args\":{\"ms\":100},\"id\":1}\n"
                                  "{\"verb\":\"echo\",\"id\":2}\n"));
        ASSERT_OK(shutdown(c.fd, SHUT_WR));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STRSTR(line, "\"done\":true");
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":true,\"data\":{},\"id\":2}");
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 0);
        ASSERT_EQ(h.cancelled, 0);
        ASSERT_EQ(h.destroyed, 1);
        client_close(&c);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(pipelined_requests_wait_behind_an_asynchronous_one) {
        Harness h;
        Client c, other;
        char line[4096];

        ASSERT_OK(harness_init(&h, NULL));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_connect(&h, &other));
        ASSERT_OK(client_send(&c, "{\"verb\":\"later\",\"args\":{\"ms\":200},\"id\":1}\n"
                                  "{\"verb\":\"echo\",\"id\":2}\n"
                                  "{\"verb\":\"now\",\"id\":3}\n"
                                  "{\"verb\":\"later\",\"args\":{\"ms\":1},\"id\":4}\n"
                                  "{\"verb\":\"echo\",\"id\":5}\n"));
        ASSERT_OK(wait_for(&h, &h.started, 1));
        /* Another connection is served meanwhile. */
        ASSERT_OK(client_send(&other, "{\"verb\":\"echo\",\"id\":9}\n"));
        ASSERT_EQ(client_read_line(&h, &other, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":true,\"data\":{},\"id\":9}");
        ASSERT_EQ(h.finished, 0);
        for (int id = 1; id <= 5; id++) {
                char want[32];

                ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
                snprintf(want, sizeof want, ",\"id\":%d}", id);
                ASSERT_STRSTR(line, want);
        }
        ASSERT_STREQ(h.order, "later,echo,answer,echo,now,later,answer,echo");
        ASSERT_EQ(h.destroyed, 2);
        client_close(&c);
        client_close(&other);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(a_flood_on_one_connection_is_interleaved_with_the_others) {
        Harness h;
        Client a, b;
        char line[4096], flood[40 * 20 + 1] = "";
        const char *mark;
        unsigned before = 0;

        ASSERT_OK(harness_init(&h, NULL));
        ASSERT_OK(client_connect(&h, &a));
        ASSERT_OK(client_connect(&h, &b));
        for (int i = 0; i < 40; i++)
                strcat(flood, "{\"verb\":\"echo\"}\n");
        ASSERT_OK(client_send(&a, flood));
        /* a's first dispatch has begun when b asks. */
        for (int k = 0; k < 1000 && !h.order[0]; k++)
                ASSERT_OK(sd_event_run(h.event, 10 * USEC_PER_MSEC));
        ASSERT_OK(client_send(&b, "{\"verb\":\"mark\"}\n"));
        ASSERT_EQ(client_read_line(&h, &b, line, sizeof line), 1);
        for (int i = 0; i < 40; i++)
                ASSERT_EQ(client_read_line(&h, &a, line, sizeof line), 1);
        mark = strstr(h.order, "mark");
        ASSERT_TRUE(mark);
        for (const char *p = h.order; p < mark; p++)
                before += *p == ',';
        /* b was answered while a still had requests waiting. */
        ASSERT_TRUE(before < 40);
        client_close(&a);
        client_close(&b);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

/* Runs the loop until the server holds n connections. */
static int wait_clients(Harness *h, unsigned n) {
        usec_t deadline = now_monotonic() + WAIT_USEC;

        while (control_server_n_clients(h->server) != n) {
                if (now_monotonic() > deadline)
                        return -ETIMEDOUT;
                int r = sd_event_run(h->event, 10 * USEC_PER_MSEC);
                if (r < 0)
                        return r;
        }
        return 0;
}

TEST(full_slots_close_the_longest_idle_then_refuse) {
        ControlLimits limits = default_limits;
        Harness h;
        Client a, b, c, d;
        char line[4096];

        limits.max_clients = 2;
        ASSERT_OK(harness_init(&h, &limits));
        /* a holds a slot and does nothing; b waits for an answer. */
        ASSERT_OK(client_connect(&h, &a));
        ASSERT_OK(wait_clients(&h, 1));
        ASSERT_OK(client_connect(&h, &b));
        ASSERT_OK(client_send(&b, "{\"verb\":\"later\",\"args\":{\"ms\":3000}}\n"));
        ASSERT_OK(wait_for(&h, &h.started, 1));
        /* c takes a's slot: a is closed, c is served. */
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, "{\"verb\":\"echo\",\"args\":{\"n\":1}}\n"));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":true,\"data\":{\"n\":1}}");
        ASSERT_EQ(client_read_line(&h, &a, line, sizeof line), 0);
        /* Now both slots wait for answers: no one is idle, d is refused. */
        ASSERT_OK(client_send(&c, "{\"verb\":\"later\",\"args\":{\"ms\":3000}}\n"));
        ASSERT_OK(wait_for(&h, &h.started, 2));
        ASSERT_OK(client_connect(&h, &d));
        ASSERT_EQ(client_read_line(&h, &d, line, sizeof line), 1);
        ASSERT_STRSTR(line, "EUSERS");
        ASSERT_EQ(control_server_n_clients(h.server), 2);
        ASSERT_EQ(h.cancelled, 0);
        client_close(&a);
        client_close(&b);
        client_close(&c);
        client_close(&d);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(unprivileged_peer_is_refused_mutating_verbs) {
        Harness h;
        int p[2];
        pid_t pid;
        int status;
        char out[4096] = {};
        ssize_t n;

        if (geteuid() != 0) {
                fprintf(stderr, "needs root to connect as another user\n");
                return EXIT_TEST_SKIP;
        }
        ASSERT_OK(harness_init(&h, NULL));
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                Client c = {};
                char line[1024];

                /* SO_PEERCRED is taken at connect(): become nobody first. */
                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                    setresuid(65534, 65534, 65534) < 0)
                        _exit(3);
                c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (c.fd < 0 || connect(c.fd, (struct sockaddr *) &h.address, h.address_len) < 0)
                        _exit(4);
                const char *req = "{\"verb\":\"mutate\",\"id\":1}\n{\"verb\":\"nope\",\"id\":2}\n"
                                  "{\"verb\":\"echo\",\"id\":3}\n";
                if (send(c.fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t) strlen(req))
                        _exit(5);
                /* The parent's loop answers; a blocking read waits for it. */
                for (int lines = 0; lines < 3;) {
                        ssize_t k = recv(c.fd, line, sizeof line, 0);
                        if (k <= 0)
                                _exit(6);
                        for (ssize_t i = 0; i < k; i++)
                                lines += line[i] == '\n';
                        if (write(p[1], line, (size_t) k) != k)
                                _exit(7);
                }
                _exit(0);
        }
        close(p[1]);
        usec_t deadline = now_monotonic() + WAIT_USEC;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                ASSERT_TRUE(w >= 0);
                if (w == pid)
                        break;
                ASSERT_TRUE(now_monotonic() < deadline);
                ASSERT_OK(sd_event_run(h.event, 10 * USEC_PER_MSEC));
        }
        ASSERT_TRUE(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
        n = read(p[0], out, sizeof out - 1);
        close(p[0]);
        ASSERT_TRUE(n > 0);
        /* Refused before the handler ran; an unknown verb is refused as if
         * mutating; a read-only verb is served. */
        ASSERT_STREQ(out, "{\"ok\":false,\"error\":{\"code\":\"EPERM\",\"message\":\"this verb "
                          "needs root or membership in the appwatch group\"},\"id\":1}\n"
                          "{\"ok\":false,\"error\":{\"code\":\"EPERM\",\"message\":\"this verb "
                          "needs root or membership in the appwatch group\"},\"id\":2}\n"
                          "{\"ok\":true,\"data\":{},\"id\":3}\n");
        ASSERT_EQ(h.mutated, 0);
        ASSERT_EQ(control_server_n_served(h.server), 1);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(malformed_request_closes_the_connection) {
        static const char *const garbage[] = {
                "this is not json\n", "[1,2,3]\n", "{\"verb\": 5}\n",
                "{\"verb\":\"echo\",\"args\":\"x\"}\n",
        };
        Harness h;
        char line[4096];

        ASSERT_OK(harness_init(&h, NULL));
        for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
                char req[256];
                Client c;

                ASSERT_OK(client_connect(&h, &c));
                snprintf(req, sizeof req, "%s{\"verb\":\"echo\"}\n", garbage[i]);
                ASSERT_OK(client_send(&c, req));
                ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
                ASSERT_STRSTR(line, "\"code\":\"EBADMSG\"");
                /* The echo after the garbage is not answered. */
                ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 0);
                client_close(&c);
        }
        ASSERT_STREQ(h.order, "");
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(oversized_request_closes_the_connection) {
        Harness h;
        char line[4096], big[8192];
        Client c;

        ASSERT_OK(harness_init(&h, NULL));
        /* A complete line over the limit... */
        ASSERT_OK(client_connect(&h, &c));
        snprintf(big, sizeof big, "{\"verb\":\"echo\",\"args\":{\"pad\":\"%05000d\"}}\n", 0);
        ASSERT_OK(client_send(&c, big));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STREQ(line, "{\"ok\":false,\"error\":{\"code\":\"EMSGSIZE\",\"message\":"
                           "\"request is larger than 1024 bytes\"}}");
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 0);
        client_close(&c);
        /* ...and one that never ends. */
        ASSERT_OK(client_connect(&h, &c));
        memset(big, 'x', sizeof big - 1);
        big[sizeof big - 1] = 0;
        ASSERT_OK(client_send(&c, big));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 1);
        ASSERT_STRSTR(line, "EMSGSIZE");
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 0);
        client_close(&c);
        ASSERT_STREQ(h.order, "");
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(late_answer_too_big_for_the_output_limit_drops_the_client) {
        ControlLimits limits = default_limits;
        Harness h;
        Client c;
        char line[4096];

        limits.max_output = 64;
        ASSERT_OK(harness_init(&h, &limits));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, "{\"verb\":\"later\",\"args\":{\"ms\":10,\"pad\":"
                                  "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}\n"));
        ASSERT_EQ(client_read_line(&h, &c, line, sizeof line), 0);
        ASSERT_EQ(h.finished, 1);
        ASSERT_EQ(h.destroyed, 1);
        ASSERT_EQ(h.cancelled, 0);
        ASSERT_EQ(control_server_n_clients(h.server), 0);
        client_close(&c);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(freeing_the_server_cancels_what_it_owes) {
        Harness h;
        Client c;

        ASSERT_OK(harness_init(&h, NULL));
        ASSERT_OK(client_connect(&h, &c));
        ASSERT_OK(client_send(&c, "{\"verb\":\"later\",\"args\":{\"ms\":60000}}\n"));
        ASSERT_OK(wait_for(&h, &h.started, 1));
        h.server = control_server_free(h.server);
        ASSERT_EQ(h.cancelled, 1);
        ASSERT_EQ(h.destroyed, 1);
        ASSERT_EQ(recv(c.fd, (char[8]) {}, 8, MSG_DONTWAIT), 0);
        client_close(&c);
        ASSERT_EQ(harness_done(&h), 0);
        return 0;
}

TEST(daemon_verb_table) {
        static const char *const read_only[] = { "ping", "status", "incidents", "show", "outbox",
                                                 "report-print" };
        static const char *const mutating[] = { "resolve", "submit", "reload", "outbox-retry",
                                                "test-notify", "check", "health", "report",
                                                "fix" };

        ASSERT_EQ(manager_n_verbs, ELEMENTSOF(read_only) + ELEMENTSOF(mutating));
        for (size_t i = 0; i < ELEMENTSOF(read_only); i++) {
                const ControlVerb *v = control_verb_find(manager_verbs, manager_n_verbs,
                                                         read_only[i]);
                ASSERT_TRUE(v && !v->mutating && v->handler);
        }
        for (size_t i = 0; i < ELEMENTSOF(mutating); i++) {
                const ControlVerb *v = control_verb_find(manager_verbs, manager_n_verbs,
                                                         mutating[i]);
                ASSERT_TRUE(v && v->mutating && v->handler);
        }
        for (size_t i = 0; i < manager_n_verbs; i++)
                for (size_t k = i + 1; k < manager_n_verbs; k++)
                        ASSERT_TRUE(strcmp(manager_verbs[i].name, manager_verbs[k].name) != 0);
        ASSERT_TRUE(!control_verb_find(manager_verbs, manager_n_verbs, "something-new"));
        return 0;
}
