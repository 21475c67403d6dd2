/* SPDX-License-Identifier: MIT */
/*
 * A loopback HTTP/1.1 server for tests: 127.0.0.1 on a random port, one
 * thread, one request per connection (it always answers "Connection:
 * close"). Each accepted connection takes the next scripted response from a
 * FIFO; with none left it answers 404. Every request it reads is recorded
 * (method, target, headers, body) so a test can check what arrived.
 *
 * Threading: the http_stub_* functions are called from the test's threads;
 * the server thread touches the script and the records under a mutex.
 * http_stub_free() interrupts any delay or hung connection at once.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum HttpStubMode {
        HTTP_STUB_ANSWER,       /* read the request, wait delay_ms, send status/headers/body */
        HTTP_STUB_HANG,         /* read the request, then never answer (until the client goes) */
        HTTP_STUB_CLOSE,        /* read the request, then close without a byte */
        HTTP_STUB_GARBAGE,      /* on accept, send bytes that are not HTTP, then close */
        HTTP_STUB_HUGE_CHUNKED, /* read the request, then stream huge_size bytes chunked */
} HttpStubMode;

typedef struct HttpStubResponse {
        HttpStubMode mode;
        unsigned status;        /* ANSWER: 0 means 200 */
        const char *headers;    /* ANSWER: extra header lines, each ending "\r\n"; may be NULL */
        const char *body;       /* ANSWER: may be NULL (empty) */
        unsigned delay_ms;      /* ANSWER, HUGE_CHUNKED: before the first byte */
        size_t huge_size;       /* HUGE_CHUNKED */
} HttpStubResponse;

typedef struct HttpStubRequest {
        char *method;
        char *target;           /* as sent: path and query */
        char **headers;         /* NULL-terminated "Name: value" lines as received */
        char *body;             /* NUL-terminated */
        size_t body_size;
} HttpStubRequest;

typedef struct HttpStub HttpStub;

/* Binds, listens and starts the server thread. Returns 0 or -errno. */
int http_stub_new(HttpStub **ret);
/* Stops the thread (interrupting a hang or a delay), frees everything. NULL is fine. */
HttpStub *http_stub_free(HttpStub *s);
static inline void http_stub_freep(HttpStub **s) {
        *s = http_stub_free(*s);
}

uint16_t http_stub_port(const HttpStub *s);
/* "http://127.0.0.1:PORT" + path; malloc'ed, aborts on OOM. */
char *http_stub_url(const HttpStub *s, const char *path);
/* Appends a scripted response (copied). Aborts on OOM. */
void http_stub_push(HttpStub *s, const HttpStubResponse *r);

/* How many requests were read so far, and a copy of the i-th (free with
 * http_stub_request_done()); returns false if there is no such request. */
size_t http_stub_n_requests(HttpStub *s);
bool http_stub_request(HttpStub *s, size_t i, HttpStubRequest *ret);
void http_stub_request_done(HttpStubRequest *r);
/* The value of the first header called name (case-insensitive) in r, or NULL. */
const char *http_stub_request_header(const HttpStubRequest *r, const char *name);
