/* SPDX-License-Identifier: MIT */
/*
 * One generateContent call to Gemini, for a worker of the analyze lane:
 * POST {endpoint}/v1beta/models/{model}:generateContent with the key only
 * in the x-goog-api-key header (never in the URL, so no logged or redacted
 * URL can carry it), the body from gemini_request_body(), and the answer
 * classified with gemini_parse_answer() / gemini_parse_error() /
 * gemini_parse_usage(). No database, no loop state: the caller (core/
 * analyzer) decides whether to call at all (cache, budget, a refused key)
 * and records what came back. Also the cache's form of an answer. Thread-
 * safe: every function works on its arguments only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "analyze/gemini.h"
#include "shared/http.h"

typedef struct GeminiCallOptions {
        const char *endpoint;                   /* https://generativelanguage.googleapis.com */
        const char *model;                      /* gemini-3.8-flash */
        const char *api_key;                    /* a secret: sent in the header only */
        usec_t timeout;                         /* of the whole request; 0: HTTP default */
        bool (*cancelled)(void *userdata);      /* may be NULL */
        void *userdata;
} GeminiCallOptions;

/* What one request did: an ai_calls row. */
typedef struct GeminiAttempt {
        usec_t started;                         /* CLOCK_REALTIME */
        usec_t latency;                         /* request sent to answer read (CLOCK_MONOTONIC) */
        long http_status;                       /* 0: no HTTP answer */
        const char *outcome;                    /* static: "ok", a gemini_error_kind_to_string()
                                                 * kind, "blocked", "safety", "max_tokens",
                                                 * "empty", "not_json", "schema", "transport",
                                                 * "cancelled" */
        GeminiUsage usage;
} GeminiAttempt;

/*
 * Performs one call. Returns 0 when Gemini answered with a usable answer
 * (*ret_answer filled: free with gemini_answer_done), or:
 *   -EREMOTE   Gemini answered an error (*ret_error filled: free with
 *              gemini_error_done);
 *   -EBADMSG, -EPROTO, -EMSGSIZE, -ENODATA, -EPERM, -EACCES: a 200 without
 *              a usable answer, as gemini_parse_answer() says;
 *   -EINVAL    the model is not a model id (it would change the URL);
 *   a transport error of http_request() (-ETIMEDOUT, -ECONNREFUSED, …),
 *   -ECANCELED, -ENOMEM.
 * *attempt is always filled (outcome "transport" when nothing came back),
 * and on every failure but -ENOMEM *ret_note gets a malloc'ed reason for
 * the incident that never contains the key or the URL's path.
 */
int gemini_call(CURL *curl, const GeminiCallOptions *o, const char *body,
                const char *const *fix_ids, GeminiAttempt *attempt, GeminiAnswer *ret_answer,
                GeminiError *ret_error, char **ret_note);

/* The calling thread's own easy handle for gemini_call(), made on first use
 * and cleaned up when the thread exits (so a worker keeps its connection to
 * Gemini between calls). NULL on failure: pass NULL then (a throwaway one). */
CURL *gemini_thread_curl(void);

/* Whether s may stand in a URL's path as a model id: [A-Za-z0-9._-]{1,128}. */
bool gemini_model_is_valid(const char *s);

/* The validated answer as the cache keeps it: compact JSON of category,
 * cause, fix_summary, fix_id, confidence, details (and model_version).
 * malloc'ed; NULL on OOM. */
char *gemini_answer_to_json(const GeminiAnswer *a);

/* Reads a cached answer back, through the same schema check as a fresh one
 * (the catalogue may have changed since). Returns as gemini_parse_answer(). */
int gemini_answer_from_json(const char *json, const char *const *fix_ids, GeminiAnswer *ret,
                            char **reterr);

/* The catalogue's fix ids for the prompt and the schema's enum
 * (fix_kind_to_string() of every FixKind), NULL-terminated, static. */
const char *const *gemini_fix_ids(void);
