/* SPDX-License-Identifier: MIT */
/*
 * The AI tables (schema version 3): the cache of validated Gemini answers,
 * one row per call made (the budget and the daily report read it), and an
 * incident's analysis source, the reason an analysis is offline, and the
 * AI's category. Does not open transactions (core/txn does). Loop thread
 * only, like the rest of the store.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* What an answer's meaning depends on: one cached answer per key. */
typedef struct AiCacheKey {
        const char *fingerprint;
        const char *model;
        int prompt_version;         /* GEMINI_PROMPT_VERSION */
        int redaction_version;      /* DETECT_REDACT_VERSION */
        const char *language;       /* of the answer's texts: "ko", "en" */
} AiCacheKey;

/* 0 with *ret (malloc'ed JSON of the answer), -ENOENT when none, -errno. */
int ai_answer_get(Store *s, const AiCacheKey *k, char **ret);
/* Stores (or replaces) the answer for k. Returns 0 or -errno. */
int ai_answer_put(Store *s, const AiCacheKey *k, const char *answer, int64_t created);

/* One HTTP request made to the AI. */
typedef struct AiCall {
        int64_t time;               /* CLOCK_REALTIME µs, when it was sent */
        int64_t incident_id;        /* 0: none */
        const char *model;
        const char *outcome;        /* "ok", or why not ("quota", "safety", "transport", …) */
        long http_status;           /* 0: no HTTP answer */
        uint64_t prompt_tokens, output_tokens, thoughts_tokens;
        int64_t latency_usec;       /* < 0: not measured */
} AiCall;

int ai_call_add(Store *s, const AiCall *c);
/* Forgets the calls made before `before` (CLOCK_REALTIME µs): the budget
 * looks back an hour and the reports a day, so the daily report keeps the
 * table to AI_CALL_KEEP_USEC. Returns how many rows went, or -errno. */
#define AI_CALL_KEEP_USEC (90 * 24 * 3600 * UINT64_C(1000000))
int ai_call_prune(Store *s, int64_t before);

/* The calls made in [from, to) (CLOCK_REALTIME µs) and their tokens. */
typedef struct AiUsage {
        uint64_t calls;             /* every request sent */
        uint64_t calls_ok;          /* outcome "ok" */
        uint64_t prompt_tokens;
        uint64_t output_tokens;
        uint64_t thoughts_tokens;   /* thinking: billed as output */
        int64_t latency_usec_max;   /* slowest call; 0 when none */
        int64_t latency_usec_sum;
} AiUsage;

int ai_usage_between(Store *s, int64_t from, int64_t to, AiUsage *ret);

/* Where an incident's analysis came from. */
typedef struct IncidentAi {
        char *source;               /* "gemini", "offline", or NULL (not analysed yet) */
        char *note;                 /* why offline (or what the AI's answer changed), or NULL */
        char *ai_category;          /* the AI's category, or NULL */
} IncidentAi;

void incident_ai_done(IncidentAi *a);

/* Returns 0, -ENOENT for no such incident, -errno. NULL strings store NULL. */
int incident_set_ai(Store *s, int64_t id, const char *source, const char *note,
                    const char *ai_category);
int incident_get_ai(Store *s, int64_t id, IncidentAi *ret);
