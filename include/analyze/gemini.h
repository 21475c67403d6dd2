/* SPDX-License-Identifier: MIT */
/*
 * The pure core of the Gemini client: the generateContent request body, the
 * parser of a 200 answer (validated against our response schema), the
 * classifier of an error answer, and the trust rule that merges the AI's
 * answer with the rules' verdict. No HTTP, no database, no logging above
 * debug: the caller (a worker of core/pool) sends the body with the key in
 * the x-goog-api-key header, and hands the status and body back here.
 * Pure functions; thread-safe.
 *
 * API reference read for it (the `search` tool's stored copies, 2026-12-02):
 *   - the request's GenerationConfig (responseMimeType, responseSchema,
 *     responseJsonSchema, maxOutputTokens, temperature):
 *     firebase.google.com/docs/reference/js/ai.generationconfig;
 *   - the response (candidates, promptFeedback, usageMetadata,
 *     modelVersion): the generativelanguage v1beta GenerateContentResponse
 *     of docs.cloud.google.com/nodejs/docs/reference/generativelanguage;
 *   - FinishReason: STOP, MAX_TOKENS, SAFETY, RECITATION, OTHER, BLOCKLIST,
 *     PROHIBITED_CONTENT, SPII, MALFORMED_FUNCTION_CALL, … (the Candidate
 *     FinishReason enum of the Google Cloud client references);
 *   - errors: ai.google.dev/gemini-api/docs/troubleshooting (400
 *     INVALID_ARGUMENT / FAILED_PRECONDITION, 403 PERMISSION_DENIED, 404
 *     NOT_FOUND, 429 RESOURCE_EXHAUSTED, 500 INTERNAL, 503 UNAVAILABLE, 504
 *     DEADLINE_EXCEEDED), and the google.rpc ErrorInfo / RetryInfo details.
 *
 * The trust rule (issue 10, item 2): the AI's answer is data. The rules
 * decide about an automatic fix; the AI may switch it off (fix_id "none", or
 * a confidence below GEMINI_MIN_CONFIDENCE) and never adds one. A fix id of
 * the AI that differs from the rules' is recorded as its suggestion and never
 * run; the AI's category is recorded next to the rules', never instead of it.
 * Nothing of an answer is ever executed or becomes an argument: the fix that
 * runs is always the rules' own string.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/config.h"
#include "shared/parse.h"
#include "shared/taxonomy.h"

/* Version of the system instruction, the prompt layout and the response
 * schema; part of the cache key of AI answers. Bump it whenever one of them
 * changes meaning. */
#define GEMINI_PROMPT_VERSION 1

/* Bounds on what we send and keep, in bytes. Longer strings are cut at a
 * character boundary and end in "…". */
#define GEMINI_MAX_EXCERPT (16 * 1024)
#define GEMINI_MAX_CONTEXT 512          /* app, command, each */
#define GEMINI_MAX_CAUSE 1024
#define GEMINI_MAX_FIX_SUMMARY 512
#define GEMINI_MAX_DETAILS 4096
#define GEMINI_MAX_MESSAGE 512          /* the API's error message */
#define GEMINI_MAX_FIX_ID 64

/* Below this confidence the AI switches the rules' fix off. */
#define GEMINI_MIN_CONFIDENCE 0.5

/* The longest retryDelay we take from a 429; longer ones are clamped. */
#define GEMINI_MAX_RETRY_DELAY USEC_PER_DAY

typedef struct GeminiPrompt {
        Language language;                      /* [Service] Language= */
        const char *app;                        /* app name, or NULL */
        AppKind app_kind;
        const char *command;                    /* the failed command if known (redacted), or NULL */
        Category rules_category;
        const char *rules_fix;                  /* the rules' fix ("pip_install:PyYAML"), "none" or NULL */
        const char *excerpt;                    /* the log excerpt, ALREADY REDACTED */
        const char *const *fix_ids;             /* the catalogue's fix ids ("flutter_clean",
                                                 * "pip_install", …), NULL-terminated, without
                                                 * "none"; each [a-z0-9_]{1,64} */
        unsigned max_output_tokens;             /* > 0 */
        double temperature;                     /* < 0: not sent (the model's default; Gemini 3
                                                 * models are tuned for it) */
        const char *thinking_level;             /* "minimal", "low", "medium", "high" (Gemini 3
                                                 * thinkingConfig.thinkingLevel), or NULL: not
                                                 * sent. Thinking tokens count against
                                                 * maxOutputTokens, so a small budget with deep
                                                 * thinking ends in MAX_TOKENS */
} GeminiPrompt;

/*
 * The generateContent request body for p, as one malloc'ed compact JSON
 * string: systemInstruction, one user content (the context, then the
 * excerpt as its own part), and generationConfig with responseMimeType
 * application/json, the responseSchema (OpenAPI subset) of
 * {category, cause, fix_summary, fix_id, confidence, details} and
 * maxOutputTokens (and temperature, thinkingConfig when asked for). Strings that are not valid
 * UTF-8 are sent with the bad bytes as \xHH; app and command are cut at
 * GEMINI_MAX_CONTEXT bytes, the excerpt at GEMINI_MAX_EXCERPT (its head is
 * kept). Nothing is redacted here: the caller redacts excerpt and command.
 * The key is never part of the body.
 * Returns 0; -EINVAL for a fix id that is not [a-z0-9_]{1,64}, a
 * duplicate, "none", no excerpt, max_output_tokens 0, a temperature above
 * 2, an unknown thinking level or an out-of-range language, kind or
 * category; -ENOMEM.
 */
int gemini_request_body(const GeminiPrompt *p, char **ret_json);

typedef struct GeminiUsage {
        uint64_t prompt_tokens;                 /* usageMetadata.promptTokenCount */
        uint64_t output_tokens;                 /* candidatesTokenCount */
        uint64_t thoughts_tokens;               /* thoughtsTokenCount: thinking, billed as
                                                 * output, not in output_tokens */
        uint64_t total_tokens;                  /* totalTokenCount (all of them) */
} GeminiUsage;

typedef struct GeminiAnswer {
        Category category;                      /* the AI's; never replaces the rules' */
        char *cause;                            /* valid UTF-8, bounded, no control
                                                 * characters but '\n' and '\t' */
        char *fix_summary;
        char *fix_id;                           /* one of the fix_ids given, or "none" */
        double confidence;                      /* 0..1 */
        char *details;
        GeminiUsage usage;
        char *model_version;                    /* modelVersion, or NULL */
} GeminiAnswer;

void gemini_answer_done(GeminiAnswer *a);

/*
 * Parses the body of a 200 answer. The first candidate's text (its parts
 * that are not thoughts, joined) is parsed as JSON and checked against the
 * schema of the request: every field present with its type, category a
 * taxonomy id, fix_id one of fix_ids (NULL-terminated, as given to the
 * request) or "none", confidence a number in 0..1. Extra fields are
 * ignored. Long strings are cut; control characters become spaces.
 * Returns 0 with *ret filled (free with gemini_answer_done), or:
 *   -EACCES    the prompt was blocked (promptFeedback.blockReason);
 *   -EPERM     the answer was stopped for safety, recitation, a blocklist,
 *              prohibited content or personal data (finishReason);
 *   -EMSGSIZE  the answer was cut at maxOutputTokens (finishReason MAX_TOKENS);
 *   -ENODATA   no candidate, an empty text, or another finishReason;
 *   -EBADMSG   the body, or the answer's text, is not JSON (or the body is
 *              not a GenerateContentResponse);
 *   -EPROTO    the answer's JSON does not match the schema;
 *   -ENOMEM.
 * On each failure but -ENOMEM, *reterr (may be NULL) gets a malloc'ed reason
 * for the incident ("AI answer was cut at maxOutputTokens").
 */
int gemini_parse_answer(const char *body, size_t size, const char *const *fix_ids,
                        GeminiAnswer *ret, char **reterr);

/* The token usage of any answer, including blocked or cut ones, for the
 * daily report. Returns 0 (all zero when the body has no usageMetadata),
 * -EBADMSG when the body is not a JSON object. */
int gemini_parse_usage(const char *body, size_t size, GeminiUsage *ret);

typedef enum GeminiErrorKind {
        GEMINI_ERROR_KEY_INVALID,               /* 400 API_KEY_INVALID, expired key; 401 */
        GEMINI_ERROR_PERMISSION,                /* 403 PERMISSION_DENIED, SERVICE_DISABLED,
                                                 * no key; 400 FAILED_PRECONDITION (billing) */
        GEMINI_ERROR_MODEL_NOT_FOUND,           /* 404: the model is retired or misspelt */
        GEMINI_ERROR_QUOTA,                     /* 429 RESOURCE_EXHAUSTED */
        GEMINI_ERROR_SERVER,                    /* 500, 504 and other 5xx */
        GEMINI_ERROR_UNAVAILABLE,               /* 503: overloaded */
        GEMINI_ERROR_BAD_REQUEST,               /* another 400: the API refused our request */
        GEMINI_ERROR_OTHER,                     /* any other status */
        _GEMINI_ERROR_KIND_MAX,
        _GEMINI_ERROR_KIND_INVALID = -EINVAL,
} GeminiErrorKind;

/* "key_invalid", "permission", "model_not_found", "quota", "server",
 * "unavailable", "bad_request", "other"; NULL when out of range. */
const char *gemini_error_kind_to_string(GeminiErrorKind k);
GeminiErrorKind gemini_error_kind_from_string(const char *s);

typedef struct GeminiError {
        GeminiErrorKind kind;
        long http_status;
        bool key_expired;                       /* KEY_INVALID because the key expired */
        bool quota_per_day;                     /* QUOTA, and a QuotaFailure names a per-day
                                                 * quota: exhausted until the quota resets */
        bool config_problem;                    /* key, permission or model: one High
                                                 * incident, calls wait until it is fixed */
        bool transient;                         /* retry later, or fall back now */
        usec_t retry_delay;                     /* RetryInfo.retryDelay, 0 when not given */
        char *status;                           /* "RESOURCE_EXHAUSTED", or NULL */
        char *reason;                           /* ErrorInfo.reason ("API_KEY_INVALID"), or NULL */
        char *message;                          /* the API's message (bounded, UTF-8), or NULL */
} GeminiError;

void gemini_error_done(GeminiError *e);

/*
 * Classifies an answer whose HTTP status is not 200. The body may be
 * anything (Google's error JSON, a proxy's HTML page, empty). A 400 is a
 * bad key only with ErrorInfo reason API_KEY_INVALID (or API_KEY_EXPIRED)
 * or a message "API key not valid" / "API key expired". Returns 0 with *ret
 * filled (free with gemini_error_done), or -ENOMEM.
 */
int gemini_parse_error(long status, const char *body, size_t size, GeminiError *ret);

/* One line for the incident and the journal: "Gemini API key is invalid or
 * expired (400 API_KEY_INVALID): API key expired. Please renew the API
 * key." NULL on OOM. Never contains the key (the API does not echo it). */
char *gemini_error_describe(const GeminiError *e);

/* What the rules concluded about a finding. */
typedef struct RuleVerdict {
        Category category;
        const char *fix;                        /* "flutter_clean", "pip_install:PyYAML", "none"
                                                 * or NULL */
        bool auto_fixable;                      /* the rules allow running it automatically */
} RuleVerdict;

typedef enum GeminiMergeReason {
        GEMINI_MERGE_NO_AI,                     /* no usable answer: the rules alone */
        GEMINI_MERGE_AGREED,                    /* the same fix (or both none), confident */
        GEMINI_MERGE_SWITCHED_OFF_NONE,         /* the AI proposes no fix: off */
        GEMINI_MERGE_SWITCHED_OFF_CONFIDENCE,   /* the same fix, but below GEMINI_MIN_CONFIDENCE */
        GEMINI_MERGE_IGNORED,                   /* the AI proposed another fix: ignored */
        _GEMINI_MERGE_REASON_MAX,
        _GEMINI_MERGE_REASON_INVALID = -EINVAL,
} GeminiMergeReason;

/* "no_ai", "agreed", "switched_off_none", "switched_off_confidence",
 * "ignored"; NULL when out of range. */
const char *gemini_merge_reason_to_string(GeminiMergeReason r);
GeminiMergeReason gemini_merge_reason_from_string(const char *s);

typedef struct MergedVerdict {
        Category category;                      /* always the rules' */
        Category ai_category;                   /* recorded next to it; _CATEGORY_INVALID
                                                 * without an AI answer */
        char *fix;                              /* the rules' fix, a copy; "none" when
                                                 * they have none */
        bool auto_fix;                          /* whether fix may run automatically */
        double ai_confidence;                   /* -1 without an AI answer */
        char *ai_fix;                           /* the AI's fix id, a copy, or NULL */
        bool ai_fix_ignored;                    /* ai_fix differs from the rules' and was ignored */
        GeminiMergeReason reason;
        char *reason_text;                      /* for `appwatchctl show` */
} MergedVerdict;

void merged_verdict_done(MergedVerdict *m);

/*
 * Applies the trust rule. ai may be NULL (no usable answer). A fix is
 * compared by its catalogue id: the rules' "pip_install:PyYAML" and the
 * AI's "pip_install" agree, and what may run is the rules' string. auto_fix
 * is never true unless rules->auto_fixable and the rules name a fix.
 * Returns 0 with *ret filled (free with merged_verdict_done), -ENOMEM.
 */
int gemini_merge(const GeminiAnswer *ai, const RuleVerdict *rules, MergedVerdict *ret);
