/* SPDX-License-Identifier: MIT */
/* Tests for core/pool: real threads, completions on a real sd-event loop. */
#include <pthread.h>
#include <unistd.h>

#include "core/pool.h"
#include "http-stub.h"
#include "shared/http.h"
#include "tests.h"

typedef struct Counter {
        unsigned done;
        unsigned cancelled;
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
        bool block;            /* sleep until cancelled */
        bool started;
} Job;

static pthread_t loop_thread;

static int work(void *data, PoolJob *job) {
        Job *j = data;

        j->started = true;
        if (j->block)
                return pool_job_sleep(job, 3600 * USEC_PER_SEC);
        if (j->sleep)
                usleep(j->sleep);
        j->ran_on = pthread_self();
        j->result = j->value * 2;
        return 0;
}

static void done(void *data, int result) {
        Job *j = data;
        Counter *c = j->c;

        if (result == -ECANCELED) {
                c->cancelled++;
                return;
        }
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

static void on_drain(Pool *p, PoolLane lane, void *userdata) {
        ((Counter *) userdata)->drained++;
}

static Job *new_job(Counter *c, unsigned long v, useconds_t sleep) {
        Job *j = calloc(1, sizeof *j);
        if (!j)
                abort();
        *j = (Job) { .c = c, .value = v, .sleep = sleep };
        return j;
}

static Job *blocking_job(Counter *c) {
        Job *j = new_job(c, 0, 0);
        j->block = true;
        return j;
}

static int make_pool(sd_event *e, unsigned analyze, size_t queue, Pool **ret) {
        const PoolLaneConfig lanes[_POOL_LANE_MAX] = {
                [POOL_LANE_ANALYZE] = { analyze, queue },
                [POOL_LANE_DELIVER] = { 1, 4 },
                [POOL_LANE_FIX] = { 1, 4 },
        };
        return pool_new(e, lanes, ret);
}

static void run_until(sd_event *e, const unsigned *v, unsigned want) {
        for (int k = 0; k < 2000 && *v < want; k++)
                (void) sd_event_run(e, 10000);
}

TEST(jobs_complete_on_loop_thread) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Counter c = {};

        loop_thread = pthread_self();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(make_pool(e, 4, 1000, &p));
        for (unsigned long i = 1; i <= 100; i++)
                ASSERT_OK(pool_submit(p, POOL_LANE_ANALYZE, work, done, free_job,
                                      new_job(&c, i, 0), NULL));
        run_until(e, &c.done, 100);
        ASSERT_EQ(c.done, 100);
        ASSERT_EQ(c.freed, 100);
        ASSERT_EQ(c.sum, 2 * 5050);
        ASSERT_EQ(pool_pending(p, POOL_LANE_ANALYZE), 0);
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
        ASSERT_OK(make_pool(e, 1, 8, &p));
        pool_set_drain_callback(p, POOL_LANE_ANALYZE, on_drain, &c);
        for (int i = 0; i < 20; i++) {
                r = pool_submit(p, POOL_LANE_ANALYZE, work, done, free_job,
                                new_job(&c, 1, 20000), NULL);
                if (r == -EAGAIN)
                        break;
                ASSERT_OK(r);
                accepted++;
        }
        ASSERT_EQ(accepted, 8);
        ASSERT_TRUE(pool_is_full(p, POOL_LANE_ANALYZE));
        ASSERT_EQ(c.freed, 1);          /* the refused job's data was freed */
        ASSERT_EQ(c.drained, 0);
        run_until(e, &c.drained, 1);
        ASSERT_EQ(c.drained, 1);
        ASSERT_TRUE(!pool_is_full(p, POOL_LANE_ANALYZE));
        ASSERT_TRUE(pool_pending(p, POOL_LANE_ANALYZE) <= 4);
        pool_free(p);
        /* Stopping ran no queued job: every accepted job either finished or
         * was dropped with its data freed, none is left behind. */
        ASSERT_TRUE(c.done >= 4 && c.done <= 8);
        ASSERT_EQ(c.freed, 9);
        return 0;
}

TEST(lanes_do_not_block_each_other) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Counter c = {}, hung = {};

        loop_thread = pthread_self();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(make_pool(e, 1, 100, &p));
        /* The deliver lane's only worker hangs, and its queue fills up. */
        for (int i = 0; i < 4; i++)
                ASSERT_OK(pool_submit(p, POOL_LANE_DELIVER, work, done, free_job,
                                      blocking_job(&hung), NULL));
        ASSERT_TRUE(pool_is_full(p, POOL_LANE_DELIVER));
        for (int k = 0; k < 5000 && pool_running(p, POOL_LANE_DELIVER) == 0; k++)
                usleep(1000);
        ASSERT_ERROR(pool_submit(p, POOL_LANE_DELIVER, work, done, free_job, new_job(&hung, 1, 0),
                                 NULL), EAGAIN);
        /* Analysis still runs, and its lane is not full. */
        ASSERT_TRUE(!pool_is_full(p, POOL_LANE_ANALYZE));
        for (unsigned long i = 1; i <= 10; i++)
                ASSERT_OK(pool_submit(p, POOL_LANE_ANALYZE, work, done, free_job,
                                      new_job(&c, i, 0), NULL));
        run_until(e, &c.done, 10);
        ASSERT_EQ(c.done, 10);
        ASSERT_EQ(pool_running(p, POOL_LANE_DELIVER), 1);
        /* Stop: the hung job is cancelled, the three queued behind it are
         * dropped without running. */
        pool_free(p);
        ASSERT_EQ(hung.cancelled, 1);
        ASSERT_EQ(hung.done, 0);
        ASSERT_EQ(hung.freed, 5);
        return 0;
}

TEST(cancel_queued_and_running) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        PoolJob *running = NULL, *queued = NULL;
        Counter c = {};
        Job *first;

        loop_thread = pthread_self();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(make_pool(e, 1, 10, &p));
        first = blocking_job(&c);
        ASSERT_OK(pool_submit(p, POOL_LANE_ANALYZE, work, done, free_job, first, &running));
        ASSERT_OK(pool_submit(p, POOL_LANE_ANALYZE, work, done, free_job, blocking_job(&c),
                              &queued));
        for (int k = 0; k < 1000 && pool_running(p, POOL_LANE_ANALYZE) == 0; k++)
                usleep(1000);
        ASSERT_EQ(pool_running(p, POOL_LANE_ANALYZE), 1);
        ASSERT_TRUE(!pool_job_cancelled(running));
        /* A queued job completes as cancelled without running. */
        pool_job_cancel(queued);
        run_until(e, &c.cancelled, 1);
        ASSERT_EQ(c.cancelled, 1);
        ASSERT_EQ(c.freed, 1);
        /* A running one sees the flag and wakes from its sleep. */
        pool_job_cancel(running);
        run_until(e, &c.cancelled, 2);
        ASSERT_EQ(c.cancelled, 2);
        ASSERT_EQ(c.freed, 2);
        ASSERT_EQ(pool_pending(p, POOL_LANE_ANALYZE), 0);
        pool_free(p);
        return 0;
}

TEST(stop_with_a_hung_job_is_prompt) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        Pool *p = NULL;
        Counter c = {};
        usec_t t0, took;

        loop_thread = pthread_self();
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(make_pool(e, 2, 100, &p));
        for (int i = 0; i < 2; i++)
                ASSERT_OK(pool_submit(p, POOL_LANE_ANALYZE, work, done, free_job,
                                      blocking_job(&c), NULL));
        for (int i = 0; i < 20; i++)
                ASSERT_OK(pool_submit(p, POOL_LANE_ANALYZE, work, done, free_job,
                                      new_job(&c, 1, 0), NULL));
        for (int k = 0; k < 1000 && pool_running(p, POOL_LANE_ANALYZE) < 2; k++)
                usleep(1000);
        t0 = now_monotonic();
        pool_free(p);
        took = now_monotonic() - t0;
        fprintf(stderr, "stop with 2 jobs blocked for an hour and 20 queued: %.1f ms\n",
                took / 1000.0);
        /* Not a speed target: the jobs would block for an hour otherwise. */
        ASSERT_TRUE(took < 10 * USEC_PER_SEC);
        ASSERT_EQ(c.cancelled, 2);
        ASSERT_EQ(c.freed, 22);
        return 0;
}

typedef struct HttpJob {
        Counter *c;
        char *url;
        int result;
} HttpJob;

static bool job_cancelled(void *userdata) {
        return pool_job_cancelled(userdata);
}

static int http_work(void *data, PoolJob *job) {
        HttpJob *j = data;
        HttpRequest req = {
                .method = HTTP_GET,
                .url = j->url,
                .timeout = 3600 * USEC_PER_SEC,
                .cancelled = job_cancelled,
                .userdata = job,
        };
        HttpResponse resp = {};
        _cleanup_free_ char *err = NULL;

        j->result = http_request(NULL, &req, &resp, &err);
        http_response_done(&resp);
        return j->result;
}

static void http_done(void *data, int result) {
        HttpJob *j = data;

        if (result == -ECANCELED)
                j->c->cancelled++;
        j->c->done++;
}

static void http_free(void *data) {
        HttpJob *j = data;

        j->c->freed++;
        free(j->url);
        free(j);
}

TEST(stop_with_a_job_on_a_hung_peer) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(http_stub_freep) HttpStub *stub = NULL;
        Pool *p = NULL;
        Counter c = {};
        HttpJob *j;
        usec_t t0, took;

        loop_thread = pthread_self();
        ASSERT_OK(http_global_init());
        ASSERT_OK(http_stub_new(&stub));
        /* The peer takes the request and never answers. */
        http_stub_push(stub, &(HttpStubResponse) { .mode = HTTP_STUB_HANG });
        ASSERT_OK(sd_event_new(&e));
        ASSERT_OK(make_pool(e, 1, 10, &p));
        j = calloc(1, sizeof *j);
        ASSERT_TRUE(j);
        *j = (HttpJob) { .c = &c, .url = http_stub_url(stub, "/hang") };
        ASSERT_OK(pool_submit(p, POOL_LANE_DELIVER, http_work, http_done, http_free, j, NULL));
        for (int k = 0; k < 5000 && http_stub_n_requests(stub) == 0; k++)
                usleep(1000);
        ASSERT_EQ(http_stub_n_requests(stub), 1);
        t0 = now_monotonic();
        pool_free(p);
        took = now_monotonic() - t0;
        fprintf(stderr, "stop with a request hung for up to an hour: %.1f ms\n", took / 1000.0);
        /* Well under TimeoutStopSec (90 s by default); curl polls the flag
         * about once a second. Not a speed target. */
        ASSERT_TRUE(took < 10 * USEC_PER_SEC);
        ASSERT_EQ(c.cancelled, 1);
        ASSERT_EQ(c.freed, 1);
        http_global_done();
        return 0;
}

TEST(invalid_arguments) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        const PoolLaneConfig bad[_POOL_LANE_MAX] = { [POOL_LANE_ANALYZE] = { 1, 0 } };
        const PoolLaneConfig none[_POOL_LANE_MAX] = { [POOL_LANE_ANALYZE] = { 1, 1 } };
        Counter c = {};
        Pool *p = NULL;

        ASSERT_OK(sd_event_new(&e));
        ASSERT_ERROR(pool_new(e, bad, &p), EINVAL);
        ASSERT_OK(pool_new(e, none, &p));
        ASSERT_ERROR(pool_submit(p, POOL_LANE_FIX, work, done, free_job, new_job(&c, 1, 0), NULL),
                     EOPNOTSUPP);
        ASSERT_EQ(c.freed, 1);
        ASSERT_STREQ(pool_lane_to_string(POOL_LANE_DELIVER), "deliver");
        pool_free(p);
        return 0;
}
