/* SPDX-License-Identifier: MIT */
/* Delivery policy; see policy.h. Pure. */
#include <jansson.h>
#include <string.h>

#include "deliver/policy.h"
#include "shared/cleanup.h"

static uint64_t xorshift(uint64_t *s) {
        uint64_t x = *s ?: UINT64_C(0x9e3779b97f4a7c15);

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

usec_t delivery_backoff(uint64_t attempts, usec_t retry_after, uint64_t *rng) {
        usec_t d = DELIVERY_BACKOFF_BASE_USEC;

        for (uint64_t i = 1; i < attempts && d < DELIVERY_BACKOFF_MAX_USEC; i++)
                d *= 2;
        if (d > DELIVERY_BACKOFF_MAX_USEC)
                d = DELIVERY_BACKOFF_MAX_USEC;
        /* Jitter in the upper half: [d/2, d]. */
        d = d / 2 + xorshift(rng) % (d / 2 + 1);
        return d > retry_after ? d : retry_after;
}

usec_t rate_limit_next(const RateLimit *r, usec_t now) {
        return r->next > now ? r->next : now;
}

void rate_limit_take(RateLimit *r, usec_t now) {
        r->next = (r->next > now ? r->next : now) + r->interval;
}

const char *delivery_outcome_to_string(DeliveryOutcome o) {
        static const char *const table[_DELIVERY_OUTCOME_MAX] = {
                [DELIVERY_OK] = "ok",
                [DELIVERY_RETRY] = "retry",
                [DELIVERY_DEAD] = "dead",
                [DELIVERY_BLOCKED] = "blocked",
        };
        return o >= 0 && o < _DELIVERY_OUTCOME_MAX ? table[o] : NULL;
}

/* Slack's incoming webhooks answer with a plain-text code. */
static DeliveryOutcome classify_slack(long status, const char *body, const char **ret_reason) {
        static const struct {
                const char *code;
                DeliveryOutcome outcome;
        } codes[] = {
                { "invalid_payload", DELIVERY_DEAD },
                { "invalid_blocks", DELIVERY_DEAD },
                { "invalid_blocks_format", DELIVERY_DEAD },
                { "no_text", DELIVERY_DEAD },
                { "too_many_attachments", DELIVERY_DEAD },
                { "invalid_token", DELIVERY_BLOCKED },
                { "no_service", DELIVERY_BLOCKED },
                { "no_service_id", DELIVERY_BLOCKED },
                { "no_team", DELIVERY_BLOCKED },
                { "team_disabled", DELIVERY_BLOCKED },
                { "channel_not_found", DELIVERY_BLOCKED },
                { "channel_is_archived", DELIVERY_BLOCKED },
                { "action_prohibited", DELIVERY_BLOCKED },
                { "posting_to_general_channel_denied", DELIVERY_BLOCKED },
                { "user_not_found", DELIVERY_BLOCKED },
        };
        size_t n = body ? strcspn(body, " \r\n") : 0;

        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (n == strlen(codes[i].code) && strncmp(body, codes[i].code, n) == 0) {
                        *ret_reason = codes[i].code;
                        return codes[i].outcome;
                }
        if (status >= 200 && status < 300) {
                /* The webhook says "ok"; anything else (a proxy's page, a
                 * broken answer) may not have been posted: at least once. */
                if (body && strncmp(body, "ok", 2) == 0)
                        return DELIVERY_OK;
                *ret_reason = "unexpected_answer";
                return DELIVERY_RETRY;
        }
        if (status == 429 || status >= 500) {
                *ret_reason = status == 429 ? "rate_limited" : "server_error";
                return DELIVERY_RETRY;
        }
        /* Another refusal of the webhook itself. */
        if (status == 401 || status == 403 || status == 404 || status == 410) {
                *ret_reason = "webhook_refused";
                return DELIVERY_BLOCKED;
        }
        if (status == 400 || status == 413) {
                *ret_reason = "invalid_payload";
                return DELIVERY_DEAD;
        }
        *ret_reason = "unexpected_status";
        return DELIVERY_RETRY;
}

/* Notion's error objects: {"object":"error","status":400,"code":"validation_error",...}. */
static DeliveryOutcome classify_notion(long status, const char *body, const char **ret_reason) {
        static const struct {
                const char *code;
                DeliveryOutcome outcome;
        } codes[] = {
                { "validation_error", DELIVERY_DEAD },
                { "invalid_json", DELIVERY_DEAD },
                { "invalid_request", DELIVERY_DEAD },
                { "invalid_request_url", DELIVERY_DEAD },
                { "missing_version", DELIVERY_BLOCKED },
                { "unauthorized", DELIVERY_BLOCKED },
                { "restricted_resource", DELIVERY_BLOCKED },
                { "object_not_found", DELIVERY_BLOCKED },
                { "conflict_error", DELIVERY_RETRY },
                { "rate_limited", DELIVERY_RETRY },
                { "internal_server_error", DELIVERY_RETRY },
                { "service_unavailable", DELIVERY_RETRY },
                { "database_connection_unavailable", DELIVERY_RETRY },
                { "gateway_timeout", DELIVERY_RETRY },
        };
        const char *code = NULL;
        json_t *j;

        j = body ? json_loads(body, 0, NULL) : NULL;
        if (status >= 200 && status < 300) {
                /* Notion answers with the object; a broken answer may not
                 * have been acted on: try again (a page is looked for by its
                 * fingerprint before it is made again). */
                bool ok = json_is_object(j);
                json_decref(j);
                if (ok)
                        return DELIVERY_OK;
                *ret_reason = "unexpected_answer";
                return DELIVERY_RETRY;
        }
        code = json_string_value(json_object_get(j, "code"));
        for (size_t i = 0; code && i < ELEMENTSOF(codes); i++)
                if (strcmp(code, codes[i].code) == 0) {
                        json_decref(j);
                        *ret_reason = codes[i].code;
                        return codes[i].outcome;
                }
        json_decref(j);
        /* Not a Notion error object (a proxy's page, garbage): by status. */
        if (status == 429 || status == 409 || status >= 500) {
                *ret_reason = status == 429 ? "rate_limited" : "server_error";
                return DELIVERY_RETRY;
        }
        if (status == 401 || status == 403 || status == 404) {
                *ret_reason = status == 401 ? "unauthorized" : status == 403 ? "restricted_resource"
                                                                             : "object_not_found";
                return DELIVERY_BLOCKED;
        }
        if (status == 400 || status == 413) {
                *ret_reason = "validation_error";
                return DELIVERY_DEAD;
        }
        *ret_reason = "unexpected_status";
        return DELIVERY_RETRY;
}

DeliveryOutcome delivery_classify(OutboxSink sink, int error, long status, const char *body,
                                  const char **ret_reason) {
        const char *reason = NULL;
        DeliveryOutcome o;

        if (error < 0) {
                /* Timeouts, refused or dropped connections, garbage answers: a
                 * sink that is down or flaky. */
                *ret_reason = "transport";
                return DELIVERY_RETRY;
        }
        o = sink == OUTBOX_SLACK ? classify_slack(status, body, &reason)
                                 : classify_notion(status, body, &reason);
        *ret_reason = reason;
        return o;
}
