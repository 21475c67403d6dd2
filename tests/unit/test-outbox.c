/* SPDX-License-Identifier: MIT */
/* Tests for store/outbox: idempotent adds, order, retries, dead rows, stats. */
#include "store/incidents.h"
#include "store/outbox.h"
#include "tests.h"

TEST(strings) {
        ASSERT_STREQ(outbox_sink_to_string(OUTBOX_NOTION), "notion");
        ASSERT_EQ(outbox_sink_from_string("slack"), OUTBOX_SLACK);
        ASSERT_ERROR(outbox_sink_from_string("email"), EINVAL);
        ASSERT_STREQ(outbox_state_to_string(OUTBOX_DEAD), "dead");
        ASSERT_EQ(outbox_state_from_string("pending"), OUTBOX_PENDING);
        ASSERT_TRUE(outbox_state_to_string(_OUTBOX_STATE_MAX) == NULL);
        return 0;
}

TEST(add_is_idempotent_and_ordered) {
        _cleanup_(store_freep) Store *s = test_open_store();
        OutboxRow *rows = NULL;
        size_t n = 0;

        ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "1", "slack:1:new:1", "{\"kind\":\"new\"}", 10), 1);
        ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "1", "slack:1:new:1", "{\"kind\":\"new\"}", 11), 0);
        ASSERT_EQ(outbox_add(s, OUTBOX_NOTION, "1", "notion:1:new:1", "{\"kind\":\"new\"}", 12), 1);
        ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "2", "slack:2:new:1", "{\"kind\":\"new\"}", 13), 1);
        ASSERT_OK(outbox_head(s, OUTBOX_SLACK, 10, &rows, &n));
        ASSERT_EQ(n, 2);
        ASSERT_STREQ(rows[0].key, "slack:1:new:1");
        ASSERT_STREQ(rows[1].target, "2");
        ASSERT_EQ(rows[0].created, 10);
        ASSERT_EQ(rows[0].state, OUTBOX_PENDING);
        ASSERT_TRUE(rows[0].last_error == NULL);
        outbox_rows_free(rows, n);
        return 0;
}

TEST(retry_done_dead_and_requeue) {
        _cleanup_(store_freep) Store *s = test_open_store();
        OutboxRow *rows = NULL, last = {};
        OutboxStats st;
        json_t *list = NULL;
        size_t n = 0;

        for (int i = 1; i <= 3; i++) {
                char key[32];
                snprintf(key, sizeof key, "slack:%d:new:1", i);
                ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "7", key, "{\"kind\":\"new\"}", 100 + i), 1);
        }
        ASSERT_OK(outbox_mark_retry(s, 1, 5000, "HTTP 503"));
        ASSERT_OK(outbox_head(s, OUTBOX_SLACK, 1, &rows, &n));
        ASSERT_EQ(n, 1);
        ASSERT_EQ(rows[0].attempts, 1);
        ASSERT_EQ(rows[0].next_attempt, 5000);
        ASSERT_STREQ(rows[0].last_error, "HTTP 503");
        outbox_rows_free(rows, n);

        ASSERT_EQ(outbox_make_due(s, OUTBOX_SLACK, 200), 1);
        ASSERT_OK(outbox_mark_done(s, 1, 300));
        ASSERT_OK(outbox_mark_dead(s, 2, "invalid_blocks"));
        ASSERT_ERROR(outbox_mark_done(s, 99, 300), ENOENT);
        ASSERT_OK(outbox_stats(s, &st));
        ASSERT_EQ(st.pending, 1);
        ASSERT_EQ(st.dead, 1);
        ASSERT_EQ(st.oldest_pending, 103);
        ASSERT_EQ(st.pending_by_sink[OUTBOX_SLACK], 1);

        ASSERT_OK(outbox_list_json(s, 100, &list));
        ASSERT_EQ(json_array_size(list), 2);
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(list, 0), "state")), "dead");
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(list, 0), "event")), "new");
        json_decref(list);

        ASSERT_EQ(outbox_retry_dead(s, 0, 400), 1);
        ASSERT_OK(outbox_stats(s, &st));
        ASSERT_EQ(st.pending, 2);
        ASSERT_EQ(st.dead, 0);
        /* A delivered key stays a no-op until it is pruned. */
        ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "7", "slack:1:new:1", "{}", 500), 0);
        ASSERT_EQ(outbox_prune(s, 301), 1);
        ASSERT_EQ(outbox_add(s, OUTBOX_SLACK, "7", "slack:1:new:1", "{}", 500), 1);

        ASSERT_EQ(outbox_last_for(s, OUTBOX_SLACK, "7", "slack:", &last), 1);
        ASSERT_STREQ(last.key, "slack:1:new:1");
        outbox_row_done(&last);
        ASSERT_EQ(outbox_last_for(s, OUTBOX_NOTION, "7", "notion:", &last), 0);
        return 0;
}
