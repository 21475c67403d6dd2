/* SPDX-License-Identifier: MIT */
/*
 * The one HTTP helper every API client uses (Slack, Notion, Gemini): a
 * blocking request over libcurl's easy interface with the house policy built
 * in, so no client can forget it:
 *   - TLS peer and host verification always on; no redirects; http and https
 *     only; CURLOPT_NOSIGNAL (we run on worker threads);
 *   - a total and a connect timeout, and a cap on the response body (a larger
 *     body is -EFBIG, never unbounded memory);
 *   - a cancel check polled while the transfer runs, so a worker stuck on a
 *     hung peer returns -ECANCELED within about a second of cancellation
 *     (libcurl calls its progress hook about once a second when idle);
 *   - curl errors become -errno here, in one mapper;
 *   - secrets stay out: no URL appears in an error text or log unless it went
 *     through http_url_redact(), and headers are never logged.
 *
 * Threading: call http_global_init() once in main() before any thread starts
 * (libcurl's global init is not safe to race). After that http_request() may
 * run on any number of threads at once, each with its own CURL handle (or
 * NULL for a throwaway one); a handle is never shared between threads.
 *
 * Environment proxies (https_proxy, no_proxy, ...) are honoured as libcurl
 * does by default, so a daemon behind a proxy works without a config key.
 */
#pragma once

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "shared/cleanup.h"
#include "shared/parse.h"

DEFINE_CLEANUP(CURL, curl_easy_cleanup)
DEFINE_CLEANUP(struct curl_slist, curl_slist_free_all)

typedef enum HttpMethod {
        HTTP_GET,
        HTTP_POST,
        HTTP_PATCH,
        _HTTP_METHOD_MAX,
        _HTTP_METHOD_INVALID = -EINVAL,
} HttpMethod;

const char *http_method_to_string(HttpMethod m);

/* Defaults used when a request leaves the field at 0. */
#define HTTP_DEFAULT_TIMEOUT (30 * USEC_PER_SEC)
#define HTTP_DEFAULT_CONNECT_TIMEOUT (10 * USEC_PER_SEC)
#define HTTP_DEFAULT_MAX_RESPONSE_SIZE ((size_t) 1024 * 1024)

typedef struct HttpRequest {
        HttpMethod method;
        const char *url;                /* http:// or https:// only */
        /* NULL-terminated "Name: value" strings, may be NULL. A header with a
         * CR or LF, or without a ':', is refused (-EINVAL). Never logged. */
        const char *const *headers;
        const void *body;               /* POST/PATCH only; may be NULL when body_size is 0 */
        size_t body_size;
        /* Of the body. NULL sends none, unless headers has its own Content-Type. */
        const char *content_type;
        usec_t timeout;                 /* whole transfer; 0 = HTTP_DEFAULT_TIMEOUT */
        usec_t connect_timeout;         /* 0 = HTTP_DEFAULT_CONNECT_TIMEOUT */
        size_t max_response_size;       /* body bytes; 0 = HTTP_DEFAULT_MAX_RESPONSE_SIZE */
        /* Polled from the transfer, on the calling thread; true aborts it with
         * -ECANCELED. May be NULL. Must be cheap and thread-safe with respect
         * to whoever requests the cancellation. */
        bool (*cancelled)(void *userdata);
        void *userdata;
} HttpRequest;

typedef struct HttpResponse {
        long status;                    /* as the server sent it */
        char *body;                     /* malloc'ed, NUL-terminated, never NULL */
        size_t body_size;               /* without the NUL */
        char *content_type;             /* malloc'ed, or NULL when the server sent none */
        usec_t retry_after;             /* from Retry-After; 0 when absent or unparsable */
} HttpResponse;

/* Frees the fields and resets them; safe on a zeroed or done response. */
void http_response_done(HttpResponse *r);

/*
 * Calls curl_global_init() once. Call from main() before any thread exists.
 * Returns 0, or -EPROTONOSUPPORT when this libcurl has no TLS, or the mapped
 * curl error. http_global_done() undoes it after the last thread is joined.
 */
int http_global_init(void);
void http_global_done(void);

/*
 * Performs one request and waits for the whole answer.
 *
 * curl: the caller's easy handle, reset and reused (so connections, DNS and
 * TLS sessions are kept between calls of one worker), or NULL for a handle
 * made and freed inside the call.
 *
 * Returns 0 whenever a complete HTTP response arrived, whatever its status
 * (4xx and 5xx included: the caller decides), and fills *ret, which the
 * caller releases with http_response_done(). Otherwise returns -errno and
 * leaves *ret alone:
 *   -EINVAL bad request struct or header, -EPROTONOSUPPORT a scheme other
 *   than http/https, -ETIMEDOUT either timeout, -ECONNREFUSED (or another
 *   connect errno such as -ENETUNREACH), -EHOSTUNREACH the name does not
 *   resolve, -EPROTO TLS failed (handshake or verification), -ECONNRESET the
 *   peer closed or reset without (or in the middle of) an answer, -EBADMSG
 *   the answer is not HTTP, -EFBIG the body exceeds max_response_size,
 *   -ECANCELED the cancel check said so, -ENOMEM, -EIO anything else.
 * On failure, *reterr_message (if reterr_message is non-NULL) gets a short
 * malloc'ed text for the log or the outbox ("Connection refused", ...). It
 * never contains the URL's path, query or credentials. It stays NULL on OOM.
 */
int http_request(CURL *curl, const HttpRequest *req, HttpResponse *ret, char **reterr_message);

/*
 * The URL as it may be shown: scheme and host (and port) only, the path and
 * query replaced by "/…", any user:password dropped.
 *   "https://hooks.slack.com/services/T0/B0/XYZ" -> "https://hooks.slack.com/…"
 * A string that is not an absolute URL gives "(invalid URL)". Returns a
 * malloc'ed string, or NULL on OOM. Pure, thread-safe.
 */
char *http_url_redact(const char *url);

/*
 * Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", and the obsolete RFC 850 and asctime
 * forms), as a delay from now (CLOCK_REALTIME, usec). A date in the past is a
 * delay of 0. Returns 0 and writes *ret, or -EINVAL for anything else.
 */
int http_parse_retry_after(const char *value, usec_t now, usec_t *ret);

/* The one curl -> -errno mapper (see http_request() for the meanings). 0 for CURLE_OK. */
int http_errno_from_curl(CURLcode c);
