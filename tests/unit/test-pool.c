/* SPDX-License-Identifier: MIT */
/* Tests for core/pool: real threads, completions on a real sd-event loop. */
#include <pthread.h>
#include <unistd.h>

#include "core/pool.h"
#include "tests.h"

typedef struct Counter {
        unsigned done;
        unsigned drained;
        unsigned freed;
        unsigned long sum;
} Counter;

typedef struct Job {
        Counter *c;
        unsigned long value;
        unsigned long result;
        pthread_t ran_on;
        useconds_t sleep;
} Job;

static pthread_t loop_thread;

static void work(void *data) {
        Job *j = data;
        if (j->sleep)
                usleep(j->sleep);
        j->ran_on = pthread_self();
        j->result = j->value * 2;
}

static void done(Pool *p, void *data, void *userdata) {
        Job *j = data;
        Counter *c = userdata;

        /* done() runs on the loop thread, work() did not. */
        if (pthread_equal(pthread_self(), loop_thread) && !pthread_equal(j->ran_on, loop_thread))
                c->sum += j->result;
        c->done++;
}

static void free_job(void *data) {
        Job *j = data;
        j->c->freed++;
        free(j);
}

static void on_drain(Pool *p, void *userdata) {
        ((Counter *) userdata)->drained++;
}

static Job *new_job(Counter *c, unsigned long v, useconds_t sleep) {
        Job *j = calloc(1, sizeof *j);
        if (!j)
                abort();
        *j = (Job) { .c = c, .value = v, .sleep = sleep };
        return j;
}

TEST(jobs_complete_on_loop_thread) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Counter c = {};

        loop_thread = pthread_self();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(pool_new(e, 4, 1000, &p));
        pool_set_userdata(p, &c, on_drain);
        for (unsigned long i = 1; i <= 100; i++)
                ASSERT_OK(pool_submit(p, work, done, free_job, new_job(&c, i, 0)));
        for (int k = 0; k < 1000 && c.done < 100; k++)
                ASSERT_OK(sd_event_run(e, 100000));
        ASSERT_EQ(c.done, 100);
        ASSERT_EQ(c.freed, 100);
        ASSERT_EQ(c.sum, 2 * 5050);
        ASSERT_EQ(pool_pending(p), 0);
        pool_free(p);
        return 0;
}

TEST(full_queue_refuses_then_drains) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Counter c = {};
        unsigned accepted = 0;
        int r;

        loop_thread = pthread_self();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(pool_new(e, 1, 8, &p));
        pool_set_userdata(p, &c, on_drain);
        for (int i = 0; i < 20; i++) {
                r = pool_submit(p, work, done, free_job, new_job(&c, 1, 20000));
                if (r == -EAGAIN)
                        break;
                ASSERT_OK(r);
                accepted++;
        }
        ASSERT_EQ(accepted, 8);
        ASSERT_TRUE(pool_is_full(p));
        ASSERT_EQ(c.freed, 1);          /* the refused job's data was freed */
        ASSERT_EQ(c.drained, 0);
        for (int k = 0; k < 1000 && c.drained == 0; k++)
                ASSERT_OK(sd_event_run(e, 100000));
        ASSERT_EQ(c.drained, 1);
        ASSERT_TRUE(!pool_is_full(p));
        ASSERT_TRUE(pool_pending(p) <= 4);
        pool_free(p);
        ASSERT_EQ(c.done, 8);           /* freeing the pool finished the rest */
        ASSERT_EQ(c.freed, 9);
        return 0;
}

TEST(free_runs_queued_jobs) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Counter c = {};

        loop_thread = pthread_self();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(pool_new(e, 2, 100, &p));
        pool_set_userdata(p, &c, NULL);
        for (int i = 0; i < 50; i++)
                ASSERT_OK(pool_submit(p, work, done, free_job, new_job(&c, 1, 1000)));
        pool_free(p);
        ASSERT_EQ(c.done, 50);
        ASSERT_EQ(c.freed, 50);
        return 0;
}

TEST(invalid_arguments) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_ERROR(pool_new(e, 0, 10, &p), EINVAL);
        ASSERT_ERROR(pool_new(e, 1, 0, &p), EINVAL);
        return 0;
}
