/* SPDX-License-Identifier: MIT */
/* Tests for store/submissions: ids seen, recorded once, pruned by age. */
#include "store/submissions.h"
#include "tests.h"

TEST(id_is_valid) {
        ASSERT_TRUE(submission_id_is_valid("0123456789abcdef0123456789abcdef"));
        ASSERT_TRUE(!submission_id_is_valid(""));
        ASSERT_TRUE(!submission_id_is_valid(NULL));
        ASSERT_TRUE(!submission_id_is_valid("0123ABCD"));
        ASSERT_TRUE(!submission_id_is_valid("x'; DROP TABLE incidents; --"));
        ASSERT_TRUE(!submission_id_is_valid("00000000000000000000000000000000"
                                            "000000000000000000000000000000000"));
        return 0;
}

TEST(record_seen_prune) {
        _cleanup_(store_freep) Store *s = test_open_store();

        ASSERT_EQ(submission_seen(s, "aa"), 0);
        ASSERT_OK(store_begin(s));
        ASSERT_EQ(submission_record(s, "aa", 100), 1);
        /* Seen inside the transaction that recorded it. */
        ASSERT_EQ(submission_seen(s, "aa"), 1);
        ASSERT_EQ(submission_record(s, "aa", 200), 0);
        ASSERT_EQ(submission_record(s, "bb", 300), 1);
        ASSERT_OK(store_commit(s));
        ASSERT_EQ(submission_seen(s, "bb"), 1);
        ASSERT_EQ(submission_seen(s, "cc"), 0);

        /* A rolled-back record is not seen: it goes with its incidents. */
        ASSERT_OK(store_begin(s));
        ASSERT_EQ(submission_record(s, "cc", 400), 1);
        ASSERT_OK(store_rollback(s));
        ASSERT_EQ(submission_seen(s, "cc"), 0);

        ASSERT_EQ(submission_prune(s, 300), 1);
        ASSERT_EQ(submission_seen(s, "aa"), 0);
        ASSERT_EQ(submission_seen(s, "bb"), 1);
        ASSERT_EQ(submission_prune(s, 300), 0);
        return 0;
}
