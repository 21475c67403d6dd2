/* SPDX-License-Identifier: MIT */
/* One Gemini call on a worker thread; see gemini-client.h. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/gemini-client.h"
#include "fix/catalog.h"
#include "shared/log.h"
#include "shared/protocol.h"

static const char *catalogue_ids[_FIX_KIND_MAX + 1];
static pthread_once_t fix_ids_once = PTHREAD_ONCE_INIT;

static void fix_ids_init(void) {
        for (FixKind k = 0; k < _FIX_KIND_MAX; k++)
                catalogue_ids[k] = fix_kind_to_string(k);
        catalogue_ids[_FIX_KIND_MAX] = NULL;
}

const char *const *gemini_fix_ids(void) {
        (void) pthread_once(&fix_ids_once, fix_ids_init);
        return catalogue_ids;
}

/* One easy handle per worker thread, freed when the thread ends: the
 * connection (and its TLS session) to Gemini is kept between calls. */
static pthread_key_t curl_key;
static pthread_once_t curl_key_once = PTHREAD_ONCE_INIT;
static bool curl_key_ok;

static void curl_free_handle(void *p) {
        curl_easy_cleanup(p);
}

static void curl_key_init(void) {
        curl_key_ok = pthread_key_create(&curl_key, curl_free_handle) == 0;
}

CURL *gemini_thread_curl(void) {
        CURL *c;

        (void) pthread_once(&curl_key_once, curl_key_init);
        if (!curl_key_ok)
                return NULL;
        c = pthread_getspecific(curl_key);
        if (c)
                return c;
        c = curl_easy_init();
        if (c && pthread_setspecific(curl_key, c) != 0) {
                curl_easy_cleanup(c);
                c = NULL;
        }
        return c;
}

bool gemini_model_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        return n >= 1 && n <= 128 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
               strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static const char *outcome_of_parse(int r) {
        switch (r) {
        case -EACCES:
                return "blocked";
        case -EPERM:
                return "safety";
        case -EMSGSIZE:
                return "max_tokens";
        case -ENODATA:
                return "empty";
        case -EBADMSG:
                return "not_json";
        case -EPROTO:
                return "schema";
        default:
                return "error";
        }
}

static char *unreachable_note(const char *why) {
        char *s;

        if (asprintf(&s, "Gemini could not be reached: %s", why) < 0)
                return NULL;
        return s;
}

int gemini_call(CURL *curl, const GeminiCallOptions *o, const char *body,
                const char *const *fix_ids, GeminiAttempt *attempt, GeminiAnswer *ret_answer,
                GeminiError *ret_error, char **ret_note) {
        _cleanup_free_ char *url = NULL, *header = NULL, *error_text = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        const char *headers[2] = {};
        size_t elen;
        usec_t t0;
        int r;

        *attempt = (GeminiAttempt) { .started = now_realtime(), .outcome = "transport" };
        if (!gemini_model_is_valid(o->model)) {
                attempt->outcome = "bad_request";
                *ret_note = strdup("[Gemini] Model= is not a model id");
                return -EINVAL;
        }
        elen = strlen(o->endpoint);
        while (elen > 0 && o->endpoint[elen - 1] == '/')
                elen--;
        if (asprintf(&url, "%.*s/v1beta/models/%s:generateContent", (int) elen, o->endpoint,
                     o->model) < 0 ||
            asprintf(&header, "x-goog-api-key: %s", o->api_key) < 0)
                return -ENOMEM;
        headers[0] = header;

        HttpRequest req = {
                .method = HTTP_POST,
                .url = url,
                .headers = headers,
                .body = body,
                .body_size = strlen(body),
                .content_type = "application/json",
                .timeout = o->timeout,
                .cancelled = o->cancelled,
                .userdata = o->userdata,
        };
        t0 = now_monotonic();
        r = http_request(curl, &req, &resp, &error_text);
        attempt->latency = now_monotonic() - t0;
        /* The header holds the key: wipe it, not only free it. */
        explicit_bzero(header, strlen(header));
        if (r == -ECANCELED) {
                attempt->outcome = "cancelled";
                *ret_note = strdup("the analysis was cancelled (appwatchd is stopping)");
                return r;
        }
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                *ret_note = unreachable_note(error_text ?: strerror(-r));
                return r;
        }
        attempt->http_status = resp.status;
        (void) gemini_parse_usage(resp.body, resp.body_size, &attempt->usage);
        if (resp.status != 200) {
                r = gemini_parse_error(resp.status, resp.body, resp.body_size, ret_error);
                if (r < 0)
                        return r;
                attempt->outcome = gemini_error_kind_to_string(ret_error->kind) ?: "other";
                *ret_note = gemini_error_describe(ret_error);
                if (!*ret_note) {
                        gemini_error_done(ret_error);
                        return -ENOMEM;
                }
                return -EREMOTE;
        }
        r = gemini_parse_answer(resp.body, resp.body_size, fix_ids, ret_answer, ret_note);
        if (r == -ENOMEM)
                return r;
        attempt->outcome = r < 0 ? outcome_of_parse(r) : "ok";
        return r;
}

char *gemini_answer_to_json(const GeminiAnswer *a) {
        _cleanup_json_ json_t *o = NULL;

        o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:s, s:s?}",
                      "category", category_to_string(a->category),
                      "cause", a->cause ?: "",
                      "fix_summary", a->fix_summary ?: "",
                      "fix_id", a->fix_id ?: "none",
                      "confidence", a->confidence,
                      "details", a->details ?: "",
                      "model_version", a->model_version);
        if (!o)
                return NULL;
        return json_dumps(o, JSON_COMPACT);
}

int gemini_answer_from_json(const char *json, const char *const *fix_ids, GeminiAnswer *ret,
                            char **reterr) {
        _cleanup_json_ json_t *answer = NULL, *wrapped = NULL;
        _cleanup_free_ char *body = NULL;
        json_t *version;
        json_error_t jerr;

        /* Wrapped as the API's answer, so that one parser checks both. */
        answer = json_loads(json, 0, &jerr);
        if (!answer)
                return -EBADMSG;
        version = json_object_get(answer, "model_version");
        wrapped = json_pack("{s:[{s:{s:[{s:s}]}, s:s}], s:O?}",
                            "candidates", "content", "parts", "text", json, "finishReason", "STOP",
                            "modelVersion", json_is_string(version) ? version : NULL);
        if (!wrapped)
                return -ENOMEM;
        body = json_dumps(wrapped, JSON_COMPACT);
        if (!body)
                return -ENOMEM;
        return gemini_parse_answer(body, strlen(body), fix_ids, ret, reterr);
}
