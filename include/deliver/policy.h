/* SPDX-License-Identifier: MIT */
/*
 * Delivery policy, pure: how long to wait before the next attempt, how
 * fast a sink may be sent to, and what an answer means.
 *
 *  - Backoff: 1 s doubled per failed attempt, capped at 30 minutes, with
 *    jitter (a random point in the upper half), so that many daemons that
 *    failed together do not come back together. A Retry-After from the
 *    sink is a floor: never retried early.
 *  - Rate: one request per interval per sink (Slack's webhooks allow about
 *    one message a second; Notion averages three requests a second).
 *  - Answers: success; retry later (5xx, 429, timeouts, dropped
 *    connections, 409); this row is refused for good (a payload the sink
 *    rejects); or the sink itself is refused (a bad token, a webhook or
 *    database that is gone, no access) — retrying cannot fix that, so the
 *    sink holds its rows until the configuration changes.
 * Thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "shared/parse.h"
#include "store/outbox.h"

#define DELIVERY_BACKOFF_BASE_USEC (1 * USEC_PER_SEC)
#define DELIVERY_BACKOFF_MAX_USEC (30 * USEC_PER_MINUTE)

/*
 * The wait before attempt number attempts + 1 (attempts >= 1 failed so far),
 * at least retry_after. *rng is a xorshift state (any non-zero start).
 */
usec_t delivery_backoff(uint64_t attempts, usec_t retry_after, uint64_t *rng);

typedef struct RateLimit {
        usec_t interval;         /* between two requests */
        usec_t next;             /* the earliest time of the next one */
} RateLimit;

/* When the next request may go, at or after now. */
usec_t rate_limit_next(const RateLimit *r, usec_t now);
/* Records a request made at now. */
void rate_limit_take(RateLimit *r, usec_t now);

typedef enum DeliveryOutcome {
        DELIVERY_OK,
        DELIVERY_RETRY,
        DELIVERY_DEAD,           /* this row only */
        DELIVERY_BLOCKED,        /* the sink's configuration */
        _DELIVERY_OUTCOME_MAX,
} DeliveryOutcome;

const char *delivery_outcome_to_string(DeliveryOutcome o);

/*
 * Classifies an answer: error is a transport -errno (then status and body
 * are ignored), else status and body are the HTTP answer. *ret_reason gets
 * a static text for the error (e.g. "invalid_token"), or NULL.
 */
DeliveryOutcome delivery_classify(OutboxSink sink, int error, long status, const char *body,
                                  const char **ret_reason);
