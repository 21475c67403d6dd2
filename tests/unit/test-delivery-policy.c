/* SPDX-License-Identifier: MIT */
/*
 * Tests for deliver/policy: backoff, rate limits, the meaning of answers,
 * and a two-hour outage simulated on the backoff's own clock: nothing is
 * lost, the sink is not hammered while down, and the backlog drains in
 * order at the rate limit once it is back.
 */
#include "deliver/policy.h"
#include "tests.h"

TEST(backoff_doubles_with_jitter_and_a_cap) {
        uint64_t rng = 1;
        usec_t prev_max = 0;

        for (uint64_t a = 1; a <= 40; a++) {
                usec_t d = delivery_backoff(a, 0, &rng);
                usec_t full = DELIVERY_BACKOFF_BASE_USEC;
                for (uint64_t i = 1; i < a && full < DELIVERY_BACKOFF_MAX_USEC; i++)
                        full *= 2;
                if (full > DELIVERY_BACKOFF_MAX_USEC)
                        full = DELIVERY_BACKOFF_MAX_USEC;
                ASSERT_TRUE(d >= full / 2 && d <= full);
                ASSERT_TRUE(full >= prev_max);
                prev_max = full;
        }
        /* Retry-After is a floor, even past the cap. */
        ASSERT_EQ(delivery_backoff(1, 120 * USEC_PER_SEC, &rng), 120 * USEC_PER_SEC);
        ASSERT_EQ(delivery_backoff(50, 3600 * USEC_PER_SEC, &rng), 3600 * USEC_PER_SEC);
        return 0;
}

TEST(rate_limit_spaces_requests) {
        RateLimit r = { .interval = USEC_PER_SEC };

        ASSERT_EQ(rate_limit_next(&r, 100), 100);
        rate_limit_take(&r, 100);
        ASSERT_EQ(rate_limit_next(&r, 200), 100 + USEC_PER_SEC);
        rate_limit_take(&r, rate_limit_next(&r, 200));
        ASSERT_EQ(rate_limit_next(&r, 0), 100 + 2 * USEC_PER_SEC);
        /* Idle for long: no burst credit is saved up. */
        ASSERT_EQ(rate_limit_next(&r, 10 * USEC_PER_SEC), 10 * USEC_PER_SEC);
        return 0;
}

TEST(answers_are_classified_as_the_apis_mean_them) {
        static const struct {
                OutboxSink sink;
                int error;
                long status;
                const char *body;
                DeliveryOutcome outcome;
                const char *reason;
        } cases[] = {
                { OUTBOX_SLACK, 0, 200, "ok", DELIVERY_OK, NULL },
                { OUTBOX_SLACK, 0, 200, "\x01garbage", DELIVERY_RETRY, "unexpected_answer" },
                { OUTBOX_SLACK, 0, 400, "invalid_payload", DELIVERY_DEAD, "invalid_payload" },
                { OUTBOX_SLACK, 0, 400, "invalid_blocks", DELIVERY_DEAD, "invalid_blocks" },
                { OUTBOX_SLACK, 0, 400, "no_text", DELIVERY_DEAD, "no_text" },
                { OUTBOX_SLACK, 0, 403, "invalid_token", DELIVERY_BLOCKED, "invalid_token" },
                { OUTBOX_SLACK, 0, 404, "no_service", DELIVERY_BLOCKED, "no_service" },
                { OUTBOX_SLACK, 0, 404, "channel_not_found", DELIVERY_BLOCKED, "channel_not_found" },
                { OUTBOX_SLACK, 0, 410, "channel_is_archived", DELIVERY_BLOCKED,
                  "channel_is_archived" },
                { OUTBOX_SLACK, 0, 403, "action_prohibited", DELIVERY_BLOCKED, "action_prohibited" },
                { OUTBOX_SLACK, 0, 429, "rate_limited", DELIVERY_RETRY, "rate_limited" },
                { OUTBOX_SLACK, 0, 500, "", DELIVERY_RETRY, "server_error" },
                { OUTBOX_SLACK, 0, 503, "<html>", DELIVERY_RETRY, "server_error" },
                { OUTBOX_SLACK, -ETIMEDOUT, 0, NULL, DELIVERY_RETRY, "transport" },
                { OUTBOX_SLACK, -ECONNRESET, 0, NULL, DELIVERY_RETRY, "transport" },
                { OUTBOX_SLACK, -EBADMSG, 0, NULL, DELIVERY_RETRY, "transport" },
                { OUTBOX_NOTION, 0, 200, "{\"object\":\"page\"}", DELIVERY_OK, NULL },
                { OUTBOX_NOTION, 0, 200, "{\"obj", DELIVERY_RETRY, "unexpected_answer" },
                { OUTBOX_NOTION, 0, 400, "{\"object\":\"error\",\"status\":400,\"code\":"
                                         "\"validation_error\",\"message\":\"x\"}",
                  DELIVERY_DEAD, "validation_error" },
                { OUTBOX_NOTION, 0, 401, "{\"object\":\"error\",\"status\":401,\"code\":"
                                         "\"unauthorized\",\"message\":\"x\"}",
                  DELIVERY_BLOCKED, "unauthorized" },
                { OUTBOX_NOTION, 0, 403, "{\"object\":\"error\",\"code\":\"restricted_resource\"}",
                  DELIVERY_BLOCKED, "restricted_resource" },
                { OUTBOX_NOTION, 0, 404, "{\"object\":\"error\",\"code\":\"object_not_found\"}",
                  DELIVERY_BLOCKED, "object_not_found" },
                { OUTBOX_NOTION, 0, 409, "{\"object\":\"error\",\"code\":\"conflict_error\"}",
                  DELIVERY_RETRY, "conflict_error" },
                { OUTBOX_NOTION, 0, 429, "{\"object\":\"error\",\"code\":\"rate_limited\"}",
                  DELIVERY_RETRY, "rate_limited" },
                { OUTBOX_NOTION, 0, 502, "Bad Gateway", DELIVERY_RETRY, "server_error" },
                { OUTBOX_NOTION, 0, 401, "not json", DELIVERY_BLOCKED, "unauthorized" },
                { OUTBOX_NOTION, 0, 400, "{\"truncated", DELIVERY_DEAD, "validation_error" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const char *reason = NULL;
                DeliveryOutcome o = delivery_classify(cases[i].sink, cases[i].error,
                                                      cases[i].status, cases[i].body, &reason);
                if (o != cases[i].outcome)
                        TEST_FAIL("case %zu: %s, expected %s", i, delivery_outcome_to_string(o),
                                  delivery_outcome_to_string(cases[i].outcome));
                if (cases[i].reason)
                        ASSERT_STREQ(reason, cases[i].reason);
        }
        return 0;
}

/* The sender's loop on a simulated clock: the head of the queue goes when
 * both the rate limit and its own next attempt allow. */
TEST(two_hour_outage_loses_nothing_and_drains_at_the_rate_limit) {
        enum { N = 1000 };
        const usec_t outage_end = 2 * 3600 * USEC_PER_SEC;
        static usec_t created[N], delivered[N];
        uint64_t attempts_during_outage = 0, attempts = 0, rng = 42;
        RateLimit rate = { .interval = USEC_PER_SEC };
        usec_t now = 0, head_next = 0, first_after = 0;
        uint64_t head_attempts = 0;
        size_t head = 0, queued = 0;

        /* A message every 7.2 s through the outage: 1000 of them. */
        for (size_t i = 0; i < N; i++)
                created[i] = (usec_t) i * 7200 * USEC_PER_MSEC;
        while (head < N) {
                while (queued < N && created[queued] <= now)
                        queued++;
                if (head == queued) {
                        now = created[queued];
                        continue;
                }
                usec_t t = rate_limit_next(&rate, now);
                if (head_next > t)
                        t = head_next;
                now = t;
                rate_limit_take(&rate, now);
                attempts++;
                if (now < outage_end) {
                        attempts_during_outage++;
                        head_attempts++;
                        head_next = now + delivery_backoff(head_attempts, 0, &rng);
                        continue;
                }
                if (first_after == 0)
                        first_after = now;
                delivered[head++] = now;
                head_attempts = 0;
                head_next = 0;
        }
        /* In order, each once, none before it was written. */
        for (size_t i = 1; i < N; i++) {
                ASSERT_TRUE(delivered[i] > delivered[i - 1]);
                ASSERT_TRUE(delivered[i] - delivered[i - 1] >= USEC_PER_SEC);
        }
        /* Not hammered while down: doubling up to the 30 min cap. */
        fprintf(stderr, "attempts during the 2 h outage: %llu; first delivery %.0f s after it "
                "ended; 1000 messages drained in %.0f s (%.2f/s)\n",
                (unsigned long long) attempts_during_outage,
                (double) (first_after - outage_end) / USEC_PER_SEC,
                (double) (delivered[N - 1] - first_after) / USEC_PER_SEC,
                (N - 1) / ((double) (delivered[N - 1] - first_after) / USEC_PER_SEC));
        ASSERT_TRUE(attempts_during_outage <= 30);
        ASSERT_TRUE(first_after - outage_end <= DELIVERY_BACKOFF_MAX_USEC);
        /* The backlog (every message of the outage) drains at 1/s. */
        ASSERT_TRUE(delivered[N - 1] - first_after >= (N - 1) * USEC_PER_SEC);
        ASSERT_TRUE(delivered[N - 1] - first_after <= (N - 1) * USEC_PER_SEC + USEC_PER_SEC);
        ASSERT_EQ(attempts, attempts_during_outage + N);
        return 0;
}
