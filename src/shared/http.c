/* SPDX-License-Identifier: MIT */
/*
 * HTTP over libcurl's easy interface; see http.h for the policy. Every call
 * keeps its state on the stack (Transfer), so calls on different threads
 * share nothing but libcurl's global state, set up once by
 * http_global_init(). Logs only at debug level, and only redacted URLs.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "shared/http.h"
#include "shared/log.h"

#define HTTP_ERROR_MAX 160

static const char *strna(const char *s) {
        return s ?: "n/a";
}

static const char *const method_table[_HTTP_METHOD_MAX] = {
        [HTTP_GET] = "GET",
        [HTTP_POST] = "POST",
        [HTTP_PATCH] = "PATCH",
};

const char *http_method_to_string(HttpMethod m) {
        if (m < 0 || m >= _HTTP_METHOD_MAX)
                return NULL;
        return method_table[m];
}

void http_response_done(HttpResponse *r) {
        if (!r)
                return;
        free(r->body);
        free(r->content_type);
        *r = (HttpResponse) {};
}

int http_global_init(void) {
        const curl_version_info_data *v;
        CURLcode c;

        c = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (c != CURLE_OK)
                return log_debug_errno(http_errno_from_curl(c), "curl_global_init() failed: %s",
                                       curl_easy_strerror(c));
        /* "TLS always on" means refusing to run with a libcurl that has none. */
        v = curl_version_info(CURLVERSION_NOW);
        if (!v || !(v->features & CURL_VERSION_SSL)) {
                curl_global_cleanup();
                return log_debug_errno(-EPROTONOSUPPORT, "libcurl was built without TLS support.");
        }
        return 0;
}

void http_global_done(void) {
        curl_global_cleanup();
}

int http_errno_from_curl(CURLcode c) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_SSL_CLIENTCERT:
        case CURLE_USE_SSL_FAILED:
                return -EPROTO;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_BAD_CONTENT_ENCODING:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_HTTP3:
                return -EBADMSG;
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EPROTONOSUPPORT;
        case CURLE_URL_MALFORMAT:
        case CURLE_BAD_FUNCTION_ARGUMENT:
                return -EINVAL;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        case CURLE_LOGIN_DENIED:
        case CURLE_REMOTE_ACCESS_DENIED:
                return -EACCES;
        case CURLE_NOT_BUILT_IN:
        case CURLE_UNKNOWN_OPTION:
                return -EOPNOTSUPP;
        case CURLE_AGAIN:
                return -EAGAIN;
        default:
                return -EIO;
        }
}

/* --- URL redaction --- */

char *http_url_redact(const char *url) {
        const char *p, *authority, *end, *at;
        size_t scheme_len;
        char *s;

        if (!url)
                return strdup("(invalid URL)");
        /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
        for (p = url; *p && (isalnum((unsigned char) *p) || strchr("+-.", *p)); p++)
                ;
        scheme_len = p - url;
        if (scheme_len == 0 || !isalpha((unsigned char) url[0]) || strncmp(p, "://", 3) != 0)
                return strdup("(invalid URL)");

        authority = p + 3;
        end = authority + strcspn(authority, "/?#");
        /* Userinfo (user:password@) is a credential: drop it. */
        at = memrchr(authority, '@', end - authority);
        if (at)
                authority = at + 1;
        if (authority == end)
                return strdup("(invalid URL)");

        if (asprintf(&s, "%.*s://%.*s%s", (int) scheme_len, url, (int) (end - authority),
                     authority, *end == 0 || strcmp(end, "/") == 0 ? end : "/…") < 0)
                return NULL;
        /* Hosts come from configuration, but never put control characters in a log. */
        for (char *q = s; *q; q++)
                if ((unsigned char) *q < 0x20 || *q == 0x7f)
                        *q = '?';
        return s;
}

/* --- Retry-After --- */

int http_parse_retry_after(const char *value, usec_t now, usec_t *ret) {
        const char *p;
        time_t t;

        if (!value)
                return -EINVAL;
        p = value + strspn(value, " \t");
        if (isdigit((unsigned char) *p)) {
                char buf[32];
                size_t n = strcspn(p, " \t");
                uint64_t secs;

                if (n >= sizeof buf || p[n + strspn(p + n, " \t")] != 0)
                        return -EINVAL;
                memcpy(buf, p, n);
                buf[n] = 0;
                if (parse_uint64(buf, &secs) < 0)
                        return -EINVAL;
                /* An absurd delay saturates rather than wrapping; the caller caps it. */
                *ret = secs > (USEC_INFINITY - 1) / USEC_PER_SEC ? USEC_INFINITY - 1
                                                                  : secs * USEC_PER_SEC;
                return 0;
        }

        /* curl_getdate() knows IMF-fixdate, RFC 850 and asctime, and is thread-safe. */
        t = curl_getdate(p, NULL);
        if (t < 0)
                return -EINVAL;
        if ((usec_t) t > now / USEC_PER_SEC)
                *ret = (usec_t) t * USEC_PER_SEC - now;
        else
                *ret = 0;
        return 0;
}

/* --- the request --- */

typedef enum WriteFailure {
        WRITE_OK,
        WRITE_TOO_LARGE,
        WRITE_NO_MEMORY,
} WriteFailure;

typedef struct Transfer {
        const HttpRequest *req;
        char *body;
        size_t size, allocated, max;
        WriteFailure write_failure;
} Transfer;

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;

        if (n > t->max - t->size) {
                t->write_failure = WRITE_TOO_LARGE;
                return 0;
        }
        if (t->size + n + 1 > t->allocated) {
                /* Doubling, but never past the cap (+1 for the NUL). */
                size_t a = t->allocated ? t->allocated : 4096;
                char *b;

                while (a < t->size + n + 1)
                        a = a > SIZE_MAX / 2 ? SIZE_MAX : a * 2;
                if (a > t->max + 1)
                        a = t->max + 1;
                b = realloc(t->body, a);
                if (!b) {
                        t->write_failure = WRITE_NO_MEMORY;
                        return 0;
                }
                t->body = b;
                t->allocated = a;
        }
        memcpy(t->body + t->size, data, n);
        t->size += n;
        return n;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
        Transfer *t = userdata;

        return t->req->cancelled && t->req->cancelled(t->req->userdata);
}

static long usec_to_msec_long(usec_t u) {
        usec_t ms = u / USEC_PER_MSEC + (u % USEC_PER_MSEC != 0);

        return ms > LONG_MAX ? LONG_MAX : (long) ms;
}

static bool scheme_allowed(const char *url) {
        return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static bool header_valid(const char *h) {
        const char *colon = strchr(h, ':');

        /* A CR or LF would let a value smuggle in another header or request. */
        return colon && colon != h && !strpbrk(h, "\r\n");
}

/* Copies s into buf as one printable line. */
static void set_text(char *buf, size_t size, const char *s) {
        size_t i;

        for (i = 0; s[i] && i + 1 < size; i++)
                buf[i] = (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i];
        buf[i] = 0;
}

/*
 * libcurl's error buffer is more useful than curl_easy_strerror() ("Failed
 * to connect to host port 443 after 3 ms: Connection refused"), and names
 * only the host. We still refuse it when it contains any part of the URL
 * after the host, or its userinfo, in case some code path echoes the URL.
 */
static bool text_leaks_url(const char *text, const char *url) {
        const char *authority = strstr(url, "://"), *end, *at, *query;

        if (!authority)
                return strstr(text, url) != NULL;
        authority += 3;
        end = authority + strcspn(authority, "/?#");
        at = memrchr(authority, '@', end - authority);
        if (at && memmem(text, strlen(text), authority, at - authority))
                return true;
        if (*end == '/')
                end++;
        /* The path and the query each on their own, as either may be echoed. */
        query = end + strcspn(end, "?#");
        if (query > end && memmem(text, strlen(text), end, query - end))
                return true;
        return strlen(query) > 1 && strstr(text, query + 1);
}

static bool has_header(const char *const *headers, const char *name) {
        size_t n = strlen(name);

        for (const char *const *h = headers; h && *h; h++)
                if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
                        return true;
        return false;
}

static int append(struct curl_slist **list, const char *h) {
        struct curl_slist *l = curl_slist_append(*list, h);

        if (!l)
                return -ENOMEM;
        *list = l;
        return 0;
}

static int build_headers(const HttpRequest *req, struct curl_slist **ret) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *list = NULL;
        _cleanup_free_ char *ct = NULL;

        for (const char *const *h = req->headers; h && *h; h++) {
                if (!header_valid(*h))
                        return -EINVAL;
                if (append(&list, *h) < 0)
                        return -ENOMEM;
        }
        if (req->content_type) {
                if (strpbrk(req->content_type, "\r\n"))
                        return -EINVAL;
                if (asprintf(&ct, "Content-Type: %s", req->content_type) < 0 ||
                    append(&list, ct) < 0)
                        return -ENOMEM;
        } else if (!has_header(req->headers, "Content-Type") &&
                   /* An empty header removes libcurl's x-www-form-urlencoded default for POST. */
                   append(&list, "Content-Type:") < 0)
                return -ENOMEM;
        /* No 100-continue: a server that ignores it would cost a second per large POST. */
        if (!has_header(req->headers, "Expect") && append(&list, "Expect:") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(list);
        return 0;
}

#define SETOPT(curl, opt, val)                                  \
        do {                                                    \
                CURLcode _c_ = curl_easy_setopt((curl), (opt), (val)); \
                if (_c_ != CURLE_OK)                            \
                        return http_errno_from_curl(_c_);       \
        } while (0)

static int setup(CURL *curl, const HttpRequest *req, struct curl_slist *headers, Transfer *t,
                 char *errbuf) {
        SETOPT(curl, CURLOPT_ERRORBUFFER, errbuf);
        SETOPT(curl, CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the _STR forms; the bitmask one is deprecated */
        SETOPT(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        SETOPT(curl, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        SETOPT(curl, CURLOPT_FOLLOWLOCATION, 0L);
        SETOPT(curl, CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(curl, CURLOPT_SSL_VERIFYHOST, 2L);
        /* Threads: no SIGALRM-based DNS timeouts, no SIGPIPE games. */
        SETOPT(curl, CURLOPT_NOSIGNAL, 1L);
        SETOPT(curl, CURLOPT_TIMEOUT_MS,
               usec_to_msec_long(req->timeout ?: HTTP_DEFAULT_TIMEOUT));
        SETOPT(curl, CURLOPT_CONNECTTIMEOUT_MS,
               usec_to_msec_long(req->connect_timeout ?: HTTP_DEFAULT_CONNECT_TIMEOUT));
        SETOPT(curl, CURLOPT_USERAGENT, "appwatch/" PACKAGE_VERSION);
        SETOPT(curl, CURLOPT_HTTPHEADER, headers);

        SETOPT(curl, CURLOPT_WRITEFUNCTION, on_write);
        SETOPT(curl, CURLOPT_WRITEDATA, t);
        /* A declared Content-Length over the cap fails before any byte is read;
         * a chunked or undeclared body is stopped by on_write(). */
        SETOPT(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) t->max);
        SETOPT(curl, CURLOPT_NOPROGRESS, 0L);
        SETOPT(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        SETOPT(curl, CURLOPT_XFERINFODATA, t);

        switch (req->method) {
        case HTTP_GET:
                SETOPT(curl, CURLOPT_HTTPGET, 1L);
                break;
        case HTTP_POST:
        case HTTP_PATCH:
                SETOPT(curl, CURLOPT_POST, 1L);
                SETOPT(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_size);
                SETOPT(curl, CURLOPT_POSTFIELDS, req->body ?: "");
                if (req->method == HTTP_PATCH)
                        SETOPT(curl, CURLOPT_CUSTOMREQUEST, "PATCH");
                break;
        case _HTTP_METHOD_MAX:
        case _HTTP_METHOD_INVALID:
                return -EINVAL;
        }
        return 0;
}

/* Sets *reterr_message to a copy of text (NULL on OOM) and returns r. */
static int fail(int r, const char *text, char **reterr_message) {
        if (reterr_message)
                *reterr_message = strdup(text);
        return r;
}

/* One transfer on a handle already reset; the caller resets it again afterwards. */
static int perform(CURL *curl, const HttpRequest *req, HttpResponse *ret, char **reterr_message) {
        _cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
        _cleanup_free_ char *redacted = NULL, *content_type = NULL;
        char errbuf[CURL_ERROR_SIZE] = "", text[HTTP_ERROR_MAX];
        struct curl_header *h = NULL;
        Transfer t = {
                .req = req,
                .max = req->max_response_size ?: HTTP_DEFAULT_MAX_RESPONSE_SIZE,
        };
        usec_t retry_after = 0;
        const char *ct = NULL;
        long status = 0;
        CURLcode c;
        int r;

        redacted = http_url_redact(req->url);
        r = build_headers(req, &headers);
        if (r == -EINVAL)
                return fail(r, "Invalid HTTP header (no ':' or a line break).", reterr_message);
        if (r < 0)
                return fail(r, "Out of memory.", reterr_message);

        r = setup(curl, req, headers, &t, errbuf);
        if (r < 0) {
                free(t.body);
                log_debug_errno(r, "Cannot set up %s %s: %m", http_method_to_string(req->method),
                                strna(redacted));
                return fail(r, "Cannot set up the HTTP request.", reterr_message);
        }

        c = curl_easy_perform(curl);
        if (c != CURLE_OK) {
                r = http_errno_from_curl(c);
                if (c == CURLE_WRITE_ERROR)
                        r = t.write_failure == WRITE_TOO_LARGE ? -EFBIG
                            : t.write_failure == WRITE_NO_MEMORY ? -ENOMEM : -EIO;
                else if (c == CURLE_UNSUPPORTED_PROTOCOL)
                        /* http_request() checked the scheme, so this is libcurl refusing an
                         * answer without a status line (HTTP/0.9): not HTTP at all. */
                        r = -EBADMSG;
                else if (c == CURLE_COULDNT_CONNECT) {
                        long os_errno = 0;

                        /* Tell refused from unreachable when the kernel said which. */
                        if (curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
                            os_errno > 0)
                                r = -(int) os_errno;
                }
                free(t.body);

                if (r == -EFBIG)
                        (void) snprintf(text, sizeof text,
                                        "Response body exceeds the limit of %zu bytes.", t.max);
                else if (r == -ECANCELED)
                        set_text(text, sizeof text, "Cancelled.");
                else if (errbuf[0] && !text_leaks_url(errbuf, req->url))
                        set_text(text, sizeof text, errbuf);
                else
                        set_text(text, sizeof text, curl_easy_strerror(c));
                log_debug_errno(r, "%s %s failed: %s", http_method_to_string(req->method),
                                strna(redacted), text);
                return fail(r, text, reterr_message);
        }

        (void) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) {
                content_type = strdup(ct);
                if (!content_type) {
                        free(t.body);
                        return fail(-ENOMEM, "Out of memory.", reterr_message);
                }
        }
        /* -1: the last request of this transfer, which with redirects off is the only one. */
        if (curl_easy_header(curl, "Retry-After", 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
            http_parse_retry_after(h->value, now_realtime(), &retry_after) < 0) {
                log_debug("Ignoring unparsable Retry-After from %s.", strna(redacted));
                retry_after = 0;
        }

        if (!t.body) {
                t.body = malloc(1);
                if (!t.body)
                        return fail(-ENOMEM, "Out of memory.", reterr_message);
        }
        t.body[t.size] = 0;

        log_debug("%s %s: HTTP %ld, %zu bytes.", http_method_to_string(req->method),
                  strna(redacted), status, t.size);
        *ret = (HttpResponse) {
                .status = status,
                .body = t.body,
                .body_size = t.size,
                .content_type = TAKE_PTR(content_type),
                .retry_after = retry_after,
        };
        return 0;
}

int http_request(CURL *curl, const HttpRequest *req, HttpResponse *ret, char **reterr_message) {
        _cleanup_(curl_easy_cleanupp) CURL *own = NULL;
        int r;

        assert(req);
        assert(ret);

        if (reterr_message)
                *reterr_message = NULL;
        if (!req->url || !http_method_to_string(req->method) ||
            (req->body_size > 0 && !req->body) ||
            (req->method == HTTP_GET && req->body_size > 0) ||
            req->max_response_size >= SIZE_MAX - 1)
                return fail(-EINVAL, "Invalid HTTP request.", reterr_message);
        /* libcurl would refuse these too, but with a message that may echo the URL. */
        if (!scheme_allowed(req->url))
                return fail(-EPROTONOSUPPORT, "Only http:// and https:// URLs are allowed.",
                            reterr_message);
        if (req->cancelled && req->cancelled(req->userdata))
                return fail(-ECANCELED, "Cancelled.", reterr_message);

        if (curl)
                /* Keeps the connection, DNS and TLS session caches; drops every option. */
                curl_easy_reset(curl);
        else {
                curl = own = curl_easy_init();
                if (!curl)
                        return fail(-ENOMEM, "Cannot create a curl handle.", reterr_message);
        }

        r = perform(curl, req, ret, reterr_message);
        /* The options point into perform()'s stack and our header list: a handle
         * the caller keeps must not hold on to them. */
        if (!own)
                curl_easy_reset(curl);
        return r;
}
