/* SPDX-License-Identifier: MIT */
/*
 * Tests for shared/http: real libcurl against a real loopback server
 * (tests/lib/http-stub), no mocks. Timeouts are generous so the suite also
 * passes under valgrind, where curl is slow; only the hung-peer tests wait
 * on purpose.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http-stub.h"
#include "shared/http.h"
#include "tests.h"

/* Generous: a slow valgrind run must never turn a pass into -ETIMEDOUT. */
#define T_TIMEOUT (120 * USEC_PER_SEC)

__attribute__((__constructor__)) static void setup_globals(void) {
        /* An inherited proxy would send loopback requests elsewhere. */
        (void) setenv("no_proxy", "127.0.0.1,localhost", 1);
        (void) setenv("NO_PROXY", "127.0.0.1,localhost", 1);
        /* Before any thread: the contract of http_global_init(). */
        if (http_global_init() < 0)
                abort();
}

__attribute__((__destructor__)) static void done_globals(void) {
        http_global_done();
}

static void stub_request_donep(HttpStubRequest *r) {
        http_stub_request_done(r);
}

TEST(get_200_with_body) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_(stub_request_donep) HttpStubRequest req = {};
        _cleanup_free_ char *url = NULL, *err = NULL;

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) {
                .status = 200,
                .headers = "Content-Type: text/plain; charset=utf-8\r\n",
                .body = "hello, world",
        });
        url = http_stub_url(s, "/a/b?c=1");
        ASSERT_OK(http_request(NULL, &(HttpRequest) { .method = HTTP_GET, .url = url,
                                                       .timeout = T_TIMEOUT },
                               &resp, &err));
        ASSERT_TRUE(err == NULL);
        ASSERT_EQ(resp.status, 200);
        ASSERT_STREQ(resp.body, "hello, world");
        ASSERT_EQ(resp.body_size, strlen("hello, world"));
        ASSERT_STREQ(resp.content_type, "text/plain; charset=utf-8");
        ASSERT_EQ(resp.retry_after, 0);

        ASSERT_EQ(http_stub_n_requests(s), 1);
        ASSERT_TRUE(http_stub_request(s, 0, &req));
        ASSERT_STREQ(req.method, "GET");
        ASSERT_STREQ(req.target, "/a/b?c=1");
        ASSERT_EQ(req.body_size, 0);
        ASSERT_STRSTR(http_stub_request_header(&req, "User-Agent"), "appwatch/");
        return 0;
}

TEST(empty_body_is_empty_string) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *url = NULL;

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .status = 204 });
        url = http_stub_url(s, "/");
        ASSERT_OK(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT }, &resp,
                               NULL));
        ASSERT_EQ(resp.status, 204);
        ASSERT_TRUE(resp.body != NULL);
        ASSERT_STREQ(resp.body, "");
        ASSERT_TRUE(resp.content_type == NULL);
        return 0;
}

TEST(post_body_and_headers_arrive_intact) {
        /* Binary-safe: a NUL and high bytes in the middle, and UTF-8. */
        static const char body[] = "{\"text\":\"빌드 실패\"}\0\xff\x01tail";
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_(stub_request_donep) HttpStubRequest req = {};
        _cleanup_free_ char *url = NULL;
        const char *const headers[] = {
                "Authorization: Bearer secret-token",
                "Notion-Version: 2025-09-03",
                NULL,
        };

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .body = "ok" });
        url = http_stub_url(s, "/services/T0/B0/XYZ");
        ASSERT_OK(http_request(NULL,
                               &(HttpRequest) {
                                       .method = HTTP_POST,
                                       .url = url,
                                       .headers = headers,
                                       .body = body,
                                       .body_size = sizeof body - 1,
                                       .content_type = "application/json; charset=utf-8",
                                       .timeout = T_TIMEOUT,
                               },
                               &resp, NULL));
        ASSERT_EQ(resp.status, 200);
        ASSERT_STREQ(resp.body, "ok");

        ASSERT_TRUE(http_stub_request(s, 0, &req));
        ASSERT_STREQ(req.method, "POST");
        ASSERT_STREQ(req.target, "/services/T0/B0/XYZ");
        ASSERT_EQ(req.body_size, sizeof body - 1);
        ASSERT_TRUE(memcmp(req.body, body, sizeof body - 1) == 0);
        ASSERT_STREQ(http_stub_request_header(&req, "Authorization"), "Bearer secret-token");
        ASSERT_STREQ(http_stub_request_header(&req, "Notion-Version"), "2025-09-03");
        ASSERT_STREQ(http_stub_request_header(&req, "Content-Type"),
                     "application/json; charset=utf-8");
        ASSERT_TRUE(http_stub_request_header(&req, "Expect") == NULL);
        return 0;
}

TEST(patch_and_post_without_type) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL;
        CURL *curl;

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .body = "1" });
        http_stub_push(s, &(HttpStubResponse) { .body = "2" });
        http_stub_push(s, &(HttpStubResponse) { .body = "3" });
        url = http_stub_url(s, "/v1/pages/abc");
        /* One handle for both, as a worker keeps it. */
        curl = curl_easy_init();
        ASSERT_TRUE(curl);

        for (unsigned i = 0; i < 2; i++) {
                _cleanup_(http_response_done) HttpResponse resp = {};
                _cleanup_(stub_request_donep) HttpStubRequest req = {};

                ASSERT_OK(http_request(curl,
                                       &(HttpRequest) {
                                               .method = i == 0 ? HTTP_PATCH : HTTP_POST,
                                               .url = url,
                                               .body = "{}",
                                               .body_size = 2,
                                               .content_type = i == 0 ? "application/json" : NULL,
                                               .timeout = T_TIMEOUT,
                                       },
                                       &resp, NULL));
                ASSERT_STREQ(resp.body, i == 0 ? "1" : "2");
                ASSERT_TRUE(http_stub_request(s, i, &req));
                ASSERT_STREQ(req.method, i == 0 ? "PATCH" : "POST");
                ASSERT_STREQ(req.body, "{}");
                if (i == 0)
                        ASSERT_STREQ(http_stub_request_header(&req, "Content-Type"),
                                     "application/json");
                else    /* not libcurl's x-www-form-urlencoded default */
                        ASSERT_TRUE(http_stub_request_header(&req, "Content-Type") == NULL);
        }

        /* A Content-Type among the headers is kept when content_type is NULL. */
        {
                _cleanup_(http_response_done) HttpResponse resp = {};
                _cleanup_(stub_request_donep) HttpStubRequest req = {};
                const char *const headers[] = { "content-type: text/csv", NULL };

                ASSERT_OK(http_request(curl,
                                       &(HttpRequest) {
                                               .method = HTTP_POST,
                                               .url = url,
                                               .headers = headers,
                                               .body = "a,b",
                                               .body_size = 3,
                                               .timeout = T_TIMEOUT,
                                       },
                                       &resp, NULL));
                ASSERT_STREQ(resp.body, "3");
                ASSERT_TRUE(http_stub_request(s, 2, &req));
                ASSERT_STREQ(http_stub_request_header(&req, "Content-Type"), "text/csv");
                ASSERT_STREQ(req.body, "a,b");
        }
        curl_easy_cleanup(curl);
        return 0;
}

TEST(status_429_retry_after_seconds) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *url = NULL;

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) {
                .status = 429,
                .headers = "Retry-After: 7\r\nContent-Type: application/json\r\n",
                .body = "{\"ok\":false,\"error\":\"rate_limited\"}",
        });
        url = http_stub_url(s, "/");
        ASSERT_OK(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT }, &resp,
                               NULL));
        ASSERT_EQ(resp.status, 429);
        ASSERT_EQ(resp.retry_after, 7 * USEC_PER_SEC);
        ASSERT_STRSTR(resp.body, "rate_limited");
        ASSERT_STREQ(resp.content_type, "application/json");
        return 0;
}

TEST(status_429_retry_after_http_date) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *url = NULL, *hdr = NULL;
        time_t when = time(NULL) + 120;
        struct tm tm;
        char date[64];

        /* IMF-fixdate is always English and GMT. */
        ASSERT_TRUE(gmtime_r(&when, &tm));
        static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char *const mo[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        (void) snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday],
                        tm.tm_mday, mo[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                        tm.tm_sec);
        ASSERT_TRUE(asprintf(&hdr, "Retry-After: %s\r\n", date) > 0);

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .status = 429, .headers = hdr });
        url = http_stub_url(s, "/");
        ASSERT_OK(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT }, &resp,
                               NULL));
        ASSERT_EQ(resp.status, 429);
        fprintf(stderr, "Retry-After: %s -> %" PRIu64 " ms\n", date,
                resp.retry_after / USEC_PER_MSEC);
        /* Whole seconds on the wire, and a slow run eats into the delay; it is never more. */
        ASSERT_TRUE(resp.retry_after <= 120 * USEC_PER_SEC);
        ASSERT_TRUE(resp.retry_after >= 60 * USEC_PER_SEC);
        return 0;
}

TEST(retry_after_parse) {
        /* 2015-10-21 07:28:00 UTC */
        const usec_t t0 = UINT64_C(1445412480) * USEC_PER_SEC;
        static const struct {
                const char *value;
                usec_t now_offset;      /* now = t0 - offset */
                int r;
                usec_t expect;
        } cases[] = {
                { "120", 0, 0, 120 * USEC_PER_SEC },
                { " 5 ", 0, 0, 5 * USEC_PER_SEC },
                { "0", 0, 0, 0 },
                { "Wed, 21 Oct 2015 07:28:00 GMT", 30 * USEC_PER_SEC, 0, 30 * USEC_PER_SEC },
                { "Wednesday, 21-Oct-15 07:28:00 GMT", 30 * USEC_PER_SEC, 0, 30 * USEC_PER_SEC },
                { "Wed Oct 21 07:28:00 2015", 30 * USEC_PER_SEC, 0, 30 * USEC_PER_SEC },
                /* Sub-second "now" still gives the exact remaining time. */
                { "Wed, 21 Oct 2015 07:28:00 GMT", 500 * USEC_PER_MSEC, 0, 500 * USEC_PER_MSEC },
                /* In the past: retry now. */
                { "Wed, 21 Oct 2015 07:28:00 GMT", 0, 0, 0 },
                { "Tue, 20 Oct 2015 07:28:00 GMT", 0, 0, 0 },
                { "99999999999999999999999", 0, -EINVAL, 0 },
                { "", 0, -EINVAL, 0 },
                { "soon", 0, -EINVAL, 0 },
                { "-5", 0, -EINVAL, 0 },
                { "5x", 0, -EINVAL, 0 },
                { "1.5", 0, -EINVAL, 0 },
                { "5 6", 0, -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                usec_t v = 4242;
                int r = http_parse_retry_after(cases[i].value, t0 - cases[i].now_offset, &v);

                if (r != cases[i].r)
                        TEST_FAIL("'%s': returned %d, expected %d", cases[i].value, r, cases[i].r);
                if (r == 0 && v != cases[i].expect)
                        TEST_FAIL("'%s': %" PRIu64 " usec, expected %" PRIu64, cases[i].value, v,
                                  cases[i].expect);
                if (r < 0 && v != 4242)
                        TEST_FAIL("'%s': output written on failure", cases[i].value);
        }
        /* Huge but parsable: saturates instead of wrapping. */
        usec_t v;
        ASSERT_OK(http_parse_retry_after("18446744073709551615", t0, &v));
        ASSERT_TRUE(v > 1000 * USEC_PER_DAY);
        ASSERT_ERROR(http_parse_retry_after(NULL, t0, &v), EINVAL);
        return 0;
}

TEST(status_500_is_a_response) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *url = NULL;

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .status = 500, .body = "oops" });
        url = http_stub_url(s, "/");
        ASSERT_OK(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT }, &resp,
                               NULL));
        ASSERT_EQ(resp.status, 500);
        ASSERT_STREQ(resp.body, "oops");
        ASSERT_EQ(resp.retry_after, 0);
        return 0;
}

TEST(redirects_are_not_followed) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *url = NULL;

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .status = 302, .headers = "Location: /elsewhere\r\n" });
        http_stub_push(s, &(HttpStubResponse) { .status = 200, .body = "followed" });
        url = http_stub_url(s, "/");
        ASSERT_OK(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT }, &resp,
                               NULL));
        ASSERT_EQ(resp.status, 302);
        ASSERT_EQ(http_stub_n_requests(s), 1);
        return 0;
}

typedef struct CancelCtx {
        atomic_bool cancel;
        HttpRequest req;
        int r;
        char *err;
        usec_t returned_at;
} CancelCtx;

static bool is_cancelled(void *userdata) {
        CancelCtx *c = userdata;
        return atomic_load(&c->cancel);
}

static void *run_request(void *arg) {
        CancelCtx *c = arg;
        HttpResponse resp = {};

        c->r = http_request(NULL, &c->req, &resp, &c->err);
        c->returned_at = now_monotonic();
        http_response_done(&resp);
        return NULL;
}

TEST(hung_peer_cancelled_from_another_thread) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL;
        CancelCtx c = { .cancel = false };
        usec_t cancelled_at;
        pthread_t t;

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_HANG });
        url = http_stub_url(s, "/hang");
        c.req = (HttpRequest) {
                .url = url,
                .timeout = 30 * USEC_PER_SEC,
                .cancelled = is_cancelled,
                .userdata = &c,
        };
        ASSERT_EQ(pthread_create(&t, NULL, run_request, &c), 0);
        usleep(200 * 1000);
        cancelled_at = now_monotonic();
        atomic_store(&c.cancel, true);
        ASSERT_EQ(pthread_join(t, NULL), 0);

        fprintf(stderr, "cancelled request returned %" PRIu64 " ms after cancellation: %s\n",
                (c.returned_at - cancelled_at) / USEC_PER_MSEC, c.err ?: "(no text)");
        free(c.err);
        ASSERT_ERROR(c.r, ECANCELED);
        /* A correctness bound (far below the 30 s timeout), not a speed target. */
        ASSERT_TRUE(c.returned_at - cancelled_at < 5 * USEC_PER_SEC);
        return 0;
}

TEST(cancelled_before_start) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL, *err = NULL;
        CancelCtx c = { .cancel = true };
        HttpResponse resp = {};

        ASSERT_OK(http_stub_new(&s));
        url = http_stub_url(s, "/");
        ASSERT_ERROR(http_request(NULL,
                                  &(HttpRequest) { .url = url, .cancelled = is_cancelled,
                                                   .userdata = &c },
                                  &resp, &err),
                     ECANCELED);
        ASSERT_TRUE(err);
        ASSERT_TRUE(resp.body == NULL);
        ASSERT_EQ(http_stub_n_requests(s), 0);
        return 0;
}

TEST(hung_peer_times_out) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL, *err = NULL;
        HttpResponse resp = {};

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_HANG });
        url = http_stub_url(s, "/hang");
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .timeout = USEC_PER_SEC },
                                  &resp, &err),
                     ETIMEDOUT);
        ASSERT_TRUE(err);
        fprintf(stderr, "timeout: %s\n", err);
        ASSERT_TRUE(resp.body == NULL);
        return 0;
}

TEST(connect_refused_and_no_secret_in_error) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof sa;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *url = NULL, *err = NULL;
        HttpResponse resp = {};

        /* Bound but not listening: the port stays ours, and connecting is refused. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_OK(fd);
        ASSERT_OK(bind(fd, (struct sockaddr *) &sa, sizeof sa));
        ASSERT_OK(getsockname(fd, (struct sockaddr *) &sa, &len));
        ASSERT_TRUE(asprintf(&url, "http://user:hunter2@127.0.0.1:%u/services/T0/B0/XYZsecret?token=abc",
                             (unsigned) ntohs(sa.sin_port)) > 0);

        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT },
                                  &resp, &err),
                     ECONNREFUSED);
        ASSERT_TRUE(err);
        fprintf(stderr, "refused: %s\n", err);
        ASSERT_TRUE(!strstr(err, "XYZsecret"));
        ASSERT_TRUE(!strstr(err, "services"));
        ASSERT_TRUE(!strstr(err, "token"));
        ASSERT_TRUE(!strstr(err, "hunter2"));
        return 0;
}

TEST(body_over_limit) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL, *big = NULL;
        HttpResponse resp = {};

        big = malloc(2049);
        ASSERT_TRUE(big);
        memset(big, 'b', 2048);
        big[2048] = 0;

        ASSERT_OK(http_stub_new(&s));
        url = http_stub_url(s, "/big");

        /* Chunked, no length: stopped by the write callback. 64 MiB offered, 64 KiB allowed. */
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_HUGE_CHUNKED,
                                                .huge_size = 64u * 1024 * 1024 });
        {
                _cleanup_free_ char *err = NULL;
                ASSERT_ERROR(http_request(NULL,
                                          &(HttpRequest) { .url = url, .timeout = T_TIMEOUT,
                                                           .max_response_size = 64 * 1024 },
                                          &resp, &err),
                             EFBIG);
                ASSERT_STRSTR(err, "65536");
        }

        /* A declared Content-Length over the limit. */
        http_stub_push(s, &(HttpStubResponse) { .body = big });
        ASSERT_ERROR(http_request(NULL,
                                  &(HttpRequest) { .url = url, .timeout = T_TIMEOUT,
                                                   .max_response_size = 2047 },
                                  &resp, NULL),
                     EFBIG);

        /* Exactly at the limit is fine. */
        http_stub_push(s, &(HttpStubResponse) { .body = big });
        ASSERT_OK(http_request(NULL,
                               &(HttpRequest) { .url = url, .timeout = T_TIMEOUT,
                                                .max_response_size = 2048 },
                               &resp, NULL));
        ASSERT_EQ(resp.body_size, 2048);
        ASSERT_STREQ(resp.body, big);
        http_response_done(&resp);
        return 0;
}

TEST(close_without_answer) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL, *err = NULL;
        HttpResponse resp = {};

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_CLOSE });
        url = http_stub_url(s, "/");
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT },
                                  &resp, &err),
                     ECONNRESET);
        fprintf(stderr, "closed: %s\n", err);
        ASSERT_EQ(http_stub_n_requests(s), 1);
        return 0;
}

TEST(garbage_answer) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL, *err = NULL;
        HttpResponse resp = {};

        ASSERT_OK(http_stub_new(&s));
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_GARBAGE });
        url = http_stub_url(s, "/");
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT },
                                  &resp, &err),
                     EBADMSG);
        fprintf(stderr, "garbage: %s\n", err);
        return 0;
}

TEST(tls_failure_is_eproto) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL, *err = NULL;
        HttpResponse resp = {};

        ASSERT_OK(http_stub_new(&s));
        /* Not a TLS server: the handshake fails. */
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_GARBAGE });
        ASSERT_TRUE(asprintf(&url, "https://127.0.0.1:%u/", (unsigned) http_stub_port(s)) > 0);
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT },
                                  &resp, &err),
                     EPROTO);
        fprintf(stderr, "tls: %s\n", err);
        return 0;
}

TEST(refused_requests) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *url = NULL;
        HttpResponse resp = {};
        const char *const crlf[] = { "X-Ok: 1", "X-Evil: a\r\nX-Injected: b", NULL };
        const char *const nocolon[] = { "NoColon", NULL };

        ASSERT_OK(http_stub_new(&s));
        url = http_stub_url(s, "/");

        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = "file:///etc/passwd" }, &resp, NULL),
                     EPROTONOSUPPORT);
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = "ftp://127.0.0.1/x" }, &resp, NULL),
                     EPROTONOSUPPORT);
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .headers = crlf }, &resp, NULL),
                     EINVAL);
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .headers = nocolon }, &resp,
                                  NULL),
                     EINVAL);
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .body = "x", .body_size = 1 },
                                  &resp, NULL),
                     EINVAL);
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = url, .method = _HTTP_METHOD_MAX },
                                  &resp, NULL),
                     EINVAL);
        ASSERT_ERROR(http_request(NULL, &(HttpRequest) { .url = NULL }, &resp, NULL), EINVAL);
        ASSERT_ERROR(http_request(NULL,
                                  &(HttpRequest) { .url = url, .method = HTTP_POST,
                                                   .content_type = "a\r\nb: c" },
                                  &resp, NULL),
                     EINVAL);
        ASSERT_EQ(http_stub_n_requests(s), 0);
        ASSERT_TRUE(resp.body == NULL);
        return 0;
}

TEST(url_redact) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/…" },
                { "https://api.notion.com/v1/pages?x=1", "https://api.notion.com/…" },
                { "https://example.com?key=secret", "https://example.com/…" },
                { "https://example.com#frag", "https://example.com/…" },
                { "https://example.com", "https://example.com" },
                { "https://example.com/", "https://example.com/" },
                { "http://127.0.0.1:8080/x", "http://127.0.0.1:8080/…" },
                { "http://[::1]:8080/x", "http://[::1]:8080/…" },
                { "https://user:pass@host.example/p", "https://host.example/…" },
                { "https://a@b@host.example", "https://host.example" },
                { "HTTPS://Host.Example/P", "HTTPS://Host.Example/…" },
                { "https://ho\nst/x", "https://ho?st/…" },
                { "hooks.slack.com/services/T0", "(invalid URL)" },
                { "https:///path", "(invalid URL)" },
                { "https://user@/path", "(invalid URL)" },
                { "://x", "(invalid URL)" },
                { "1http://x", "(invalid URL)" },
                { "", "(invalid URL)" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *r = http_url_redact(cases[i].in);
                ASSERT_STREQ(r, cases[i].out);
        }
        _cleanup_free_ char *n = http_url_redact(NULL);
        ASSERT_STREQ(n, "(invalid URL)");
        return 0;
}

TEST(errno_from_curl) {
        static const struct {
                CURLcode c;
                int r;
        } cases[] = {
                { CURLE_OK, 0 },
                { CURLE_OPERATION_TIMEDOUT, -ETIMEDOUT },
                { CURLE_COULDNT_CONNECT, -ECONNREFUSED },
                { CURLE_COULDNT_RESOLVE_HOST, -EHOSTUNREACH },
                { CURLE_PEER_FAILED_VERIFICATION, -EPROTO },
                { CURLE_SSL_CONNECT_ERROR, -EPROTO },
                { CURLE_ABORTED_BY_CALLBACK, -ECANCELED },
                { CURLE_FILESIZE_EXCEEDED, -EFBIG },
                { CURLE_OUT_OF_MEMORY, -ENOMEM },
                { CURLE_GOT_NOTHING, -ECONNRESET },
                { CURLE_WEIRD_SERVER_REPLY, -EBADMSG },
                { CURLE_UNSUPPORTED_PROTOCOL, -EPROTONOSUPPORT },
                { CURLE_URL_MALFORMAT, -EINVAL },
                { CURLE_WRITE_ERROR, -EIO },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (http_errno_from_curl(cases[i].c) != cases[i].r)
                        TEST_FAIL("%s: %d, expected %d", curl_easy_strerror(cases[i].c),
                                  http_errno_from_curl(cases[i].c), cases[i].r);
        return 0;
}

TEST(method_names) {
        ASSERT_STREQ(http_method_to_string(HTTP_GET), "GET");
        ASSERT_STREQ(http_method_to_string(HTTP_POST), "POST");
        ASSERT_STREQ(http_method_to_string(HTTP_PATCH), "PATCH");
        ASSERT_TRUE(http_method_to_string(_HTTP_METHOD_MAX) == NULL);
        ASSERT_TRUE(http_method_to_string(_HTTP_METHOD_INVALID) == NULL);
        return 0;
}

TEST(worker_handle_survives_failures) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(curl_easy_cleanupp) CURL *curl = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        _cleanup_free_ char *url = NULL;

        ASSERT_OK(http_stub_new(&s));
        url = http_stub_url(s, "/");
        curl = curl_easy_init();
        ASSERT_TRUE(curl);

        /* A failure leaves nothing of its request behind on the handle ... */
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_HUGE_CHUNKED,
                                                .huge_size = 1024 * 1024 });
        ASSERT_ERROR(http_request(curl,
                                  &(HttpRequest) { .url = url, .timeout = T_TIMEOUT,
                                                   .max_response_size = 1000 },
                                  &resp, NULL),
                     EFBIG);
        http_stub_push(s, &(HttpStubResponse) { .mode = HTTP_STUB_CLOSE });
        ASSERT_ERROR(http_request(curl, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT },
                                  &resp, NULL),
                     ECONNRESET);

        /* ... and the next request on it works as on a fresh one. */
        http_stub_push(s, &(HttpStubResponse) { .status = 201, .body = "created" });
        ASSERT_OK(http_request(curl, &(HttpRequest) { .url = url, .timeout = T_TIMEOUT }, &resp,
                               NULL));
        ASSERT_EQ(resp.status, 201);
        ASSERT_STREQ(resp.body, "created");
        ASSERT_EQ(http_stub_n_requests(s), 3);
        return 0;
}
