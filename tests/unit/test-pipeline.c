/* SPDX-License-Identifier: MIT */
/*
 * Tests for the core hub: core/txn, core/pipeline, core/analyzer and
 * core/positions together, on a temporary SQLite store and a real sd-event
 * loop with real worker threads — commit per loop iteration, restore of a
 * block split by a restart, deferral and throttling when the analysis lane
 * is full, stream bookkeeping, and the fatal path of a failed commit.
 */
#include <pthread.h>
#include <unistd.h>

#include "core/analyzer.h"
#include "core/incident-bus.h"
#include "core/lifecycle.h"
#include "core/pipeline.h"
#include "core/positions.h"
#include "core/pool.h"
#include "core/txn.h"
#include "store/incidents.h"
#include "tests.h"

typedef struct Hub {
        sd_event *event;
        Store *store;
        Txn *txn;
        IncidentBus *bus;
        Positions *positions;
        Pool *pool;
        Analyzer *analyzer;
        Pipeline *pipeline;
        DetectRules *rules;
        IncidentListener *listener;
        unsigned notices[_INCIDENT_EVENT_MAX];
        unsigned pauses, resumes;
        bool paused;
} Hub;

static char *db_path(void) {
        char *p;

        if (asprintf(&p, "%s/appwatch.db", test_tmpdir()) < 0)
                abort();
        return p;
}

static int on_notice(const IncidentNotice *n, void *userdata) {
        Hub *h = userdata;

        h->notices[n->event]++;
        return 0;
}

static void on_throttle(Analyzer *a, bool pause, void *userdata) {
        Hub *h = userdata;

        h->paused = pause;
        if (pause)
                h->pauses++;
        else
                h->resumes++;
}

static void hub_close(Hub *h) {
        /* The daemon's order: pool first (its last done() use the analyzer). */
        h->pool = pool_free(h->pool);
        if (h->analyzer)
                analyzer_detach(h->analyzer);
        if (h->txn && !txn_failed(h->txn))
                (void) txn_commit(h->txn);
        pipeline_free(h->pipeline);
        analyzer_free(h->analyzer);
        incident_listener_free(h->listener);
        positions_free(h->positions);
        incident_bus_free(h->bus);
        txn_free(h->txn);
        detect_rules_unref(h->rules);
        store_free(h->store);
        sd_event_unref(h->event);
        *h = (Hub) {};
}

static int hub_open(Hub *h, const char *path, unsigned workers, size_t queue, size_t max_streams) {
        const PoolLaneConfig lanes[_POOL_LANE_MAX] = {
                [POOL_LANE_ANALYZE] = { workers, queue },
        };
        int r;

        *h = (Hub) {};
        r = sd_event_new(&h->event);
        if (r >= 0)
                r = store_open(path, &h->store);
        if (r >= 0)
                r = detect_rules_new(0, &h->rules);
        if (r >= 0)
                r = txn_new(h->event, h->store, &h->txn);
        if (r >= 0)
                r = incident_bus_new(&h->bus);
        if (r >= 0)
                r = incident_bus_listen(h->bus, on_notice, h, NULL, &h->listener);
        if (r >= 0)
                r = positions_new(h->txn, h->store, &h->positions);
        if (r >= 0)
                r = pool_new(h->event, lanes, &h->pool);
        if (r >= 0)
                r = analyzer_new(h->txn, h->store, h->pool, h->bus,
                                 &(AnalyzerOptions) { .language = LANGUAGE_EN },
                                 &h->analyzer);
        if (r >= 0) {
                analyzer_set_throttle(h->analyzer, on_throttle, h);
                r = pipeline_new(h->event, h->txn, h->store, h->bus, h->rules,
                                 &(PipelineOptions) { .host = "test", .max_streams = max_streams },
                                 &h->pipeline);
        }
        if (r >= 0)
                r = pipeline_restore(h->pipeline);
        if (r >= 0)
                r = analyzer_restore(h->analyzer);
        return r < 0 ? r : 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        return 0;
}

/* One loop iteration that dispatches something, as a source's wake-up
 * would: then the post source commits. */
static void iterate(Hub *h) {
        if (sd_event_add_defer(h->event, NULL, on_defer, NULL) < 0)
                abort();
        /* One dispatch per run: the defer source, then the post source. */
        (void) sd_event_run(h->event, 0);
        (void) sd_event_run(h->event, 0);
}

static size_t n_incidents(Hub *h) {
        Incident **l = NULL;
        size_t n = 0;

        if (incident_list(h->store, &(IncidentFilter) { .status = -1 }, &l, &n) < 0)
                abort();
        incident_list_free(l, n);
        return n;
}

static int count_pending(const char *stream, const char *meta, const void *data, size_t len,
                         void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

static unsigned n_pending_rows(Hub *h) {
        unsigned n = 0;

        if (pending_foreach(h->store, count_pending, &n) < 0)
                abort();
        return n;
}

static const StreamMeta meta = { .app = "app", .origin = "file", .source = "/var/log/app.log" };

static int feed(Hub *h, const char *stream, const char *line) {
        return pipeline_feed(h->pipeline, stream, &meta, line, strlen(line), 0);
}

TEST(commit_once_per_iteration) {
        _cleanup_free_ char *path = db_path();
        Hub h;
        uint64_t commits;

        ASSERT_OK(hub_open(&h, path, 1, 16, 0));
        commits = txn_commits(h.txn);
        ASSERT_OK(feed(&h, "s1", "Failed: first failure"));
        ASSERT_OK(feed(&h, "s1", "Failed: second failure"));
        ASSERT_OK(feed(&h, "s1", "Failed: first failure"));
        /* Written but not committed: nothing durable until the iteration ends. */
        ASSERT_TRUE(txn_in_progress(h.txn));
        ASSERT_EQ(txn_commits(h.txn), commits);
        iterate(&h);
        ASSERT_TRUE(!txn_in_progress(h.txn));
        ASSERT_EQ(txn_commits(h.txn), commits + 1);
        ASSERT_EQ(n_incidents(&h), 2);
        ASSERT_EQ(h.notices[INCIDENT_EVENT_NEW], 2);
        ASSERT_EQ(h.notices[INCIDENT_EVENT_REPEAT], 1);
        /* Nothing to do: no commit. */
        iterate(&h);
        ASSERT_EQ(txn_commits(h.txn), commits + 1);

        /* A status change is written in the transaction and published. */
        ASSERT_EQ(lifecycle_set_status(h.txn, h.store, h.bus, 1, INCIDENT_RESOLVED,
                                       INCIDENT_REASON_HUMAN), 1);
        ASSERT_OK(txn_commit(h.txn));
        ASSERT_EQ(h.notices[INCIDENT_EVENT_STATUS], 1);
        ASSERT_OK(feed(&h, "s1", "Failed: first failure"));
        iterate(&h);
        ASSERT_EQ(h.notices[INCIDENT_EVENT_REGRESSION], 1);
        hub_close(&h);
        return 0;
}

TEST(block_split_by_a_restart_is_one_finding) {
        _cleanup_free_ char *path = db_path();
        _cleanup_(incident_freep) Incident *inc = NULL;
        Hub h;

        ASSERT_OK(hub_open(&h, path, 1, 16, 0));
        ASSERT_OK(feed(&h, "s1", "Traceback (most recent call last):"));
        ASSERT_OK(feed(&h, "s1", "  File \"/srv/app/main.py\", line 3, in <module>"));
        iterate(&h);
        ASSERT_EQ(n_incidents(&h), 0);
        ASSERT_EQ(n_pending_rows(&h), 1);   /* the open block is saved */
        hub_close(&h);

        /* "Restart": the block is fed again, the rest of it arrives. */
        ASSERT_OK(hub_open(&h, path, 1, 16, 0));
        ASSERT_OK(feed(&h, "s1", "    import yaml"));
        ASSERT_OK(feed(&h, "s1", "ModuleNotFoundError: No module named 'yaml'"));
        ASSERT_OK(pipeline_flush_stream(h.pipeline, "s1"));
        iterate(&h);
        ASSERT_EQ(n_incidents(&h), 1);
        ASSERT_OK(incident_get(h.store, 1, &inc));
        ASSERT_STRSTR(inc->excerpt, "Traceback (most recent call last):");
        ASSERT_STRSTR(inc->excerpt, "No module named 'yaml'");
        ASSERT_EQ(inc->count, 1);
        /* Finished: its saved row is gone. */
        ASSERT_EQ(n_pending_rows(&h), 0);
        hub_close(&h);
        return 0;
}

TEST(forgotten_and_evicted_streams_leave_no_rows) {
        _cleanup_free_ char *path = db_path();
        PipelineStats ps;
        Hub h;

        ASSERT_OK(hub_open(&h, path, 1, 16, 4));
        for (int i = 0; i < 3; i++) {
                char key[16];
                snprintf(key, sizeof key, "s%d", i);
                ASSERT_OK(feed(&h, key, "Traceback (most recent call last):"));
        }
        iterate(&h);
        ASSERT_EQ(n_pending_rows(&h), 3);
        pipeline_forget_stream(h.pipeline, "s0");
        iterate(&h);
        ASSERT_EQ(n_pending_rows(&h), 2);
        pipeline_get_stats(h.pipeline, &ps);
        ASSERT_EQ(ps.streams, 2);
        /* Past max_streams the idlest stream is finished and dropped. */
        for (int i = 10; i < 20; i++) {
                char key[16];
                snprintf(key, sizeof key, "s%d", i);
                ASSERT_OK(feed(&h, key, "no failure here"));
        }
        iterate(&h);
        pipeline_get_stats(h.pipeline, &ps);
        ASSERT_EQ(ps.streams, 4);
        ASSERT_EQ(n_pending_rows(&h), 0);
        hub_close(&h);
        return 0;
}

TEST(collect_counts_only_its_stream) {
        _cleanup_free_ char *path = db_path();
        const int64_t *ids;
        Hub h;

        /* One stream slot: feeding the submission evicts the other stream,
         * whose open block becomes a finding meanwhile. */
        ASSERT_OK(hub_open(&h, path, 1, 16, 1));
        ASSERT_OK(feed(&h, "other", "Traceback (most recent call last):"));
        ASSERT_OK(feed(&h, "other", "ValueError: boom"));
        ASSERT_OK(pipeline_collect_begin(h.pipeline, "submit:1"));
        ASSERT_OK(feed(&h, "submit:1", "Failed: the submission's own failure"));
        ASSERT_OK(pipeline_flush_stream(h.pipeline, "submit:1"));
        ASSERT_EQ(pipeline_collect_end(h.pipeline, &ids), 1);
        iterate(&h);
        ASSERT_EQ(n_incidents(&h), 2);
        hub_close(&h);
        return 0;
}

static int wait_analysed(Hub *h, size_t want) {
        for (int k = 0; k < 3000; k++) {
                AnalyzerStats as;
                analyzer_get_stats(h->analyzer, &as);
                if (as.analyses >= want)
                        return 0;
                (void) sd_event_run(h->event, 10000);
        }
        return -ETIMEDOUT;
}

TEST(full_lane_defers_and_throttles) {
        _cleanup_free_ char *path = db_path();
        _cleanup_free_ int64_t *ids = NULL;
        AnalyzerStats as;
        size_t n = 0;
        Hub h;

        ASSERT_OK(hub_open(&h, path, 1, 1, 0));
        for (int i = 0; i < 50; i++) {
                char line[64];
                snprintf(line, sizeof line, "Failed: distinct failure number %c%c", 'a' + i / 10,
                         'a' + i % 10);
                ASSERT_OK(feed(&h, "s1", line));
        }
        iterate(&h);
        ASSERT_TRUE(h.paused);
        ASSERT_EQ(h.pauses, 1);
        ASSERT_OK(wait_analysed(&h, 50));
        analyzer_get_stats(h.analyzer, &as);
        ASSERT_EQ(as.analyses, 50);
        ASSERT_TRUE(as.jobs_deferred >= 49);
        ASSERT_TRUE(!h.paused);
        ASSERT_EQ(h.resumes, 1);
        iterate(&h);
        ASSERT_OK(incident_list_unanalyzed(h.store, 100, &ids, &n));
        ASSERT_EQ(n, 0);
        hub_close(&h);
        return 0;
}

static int block_until_cancelled(void *data, PoolJob *job) {
        *(bool *) data = true;
        return pool_job_sleep(job, 3600 * USEC_PER_SEC);
}

static void nop_done(void *data, int result) {
}

TEST(jobs_dropped_at_stop_are_queued_again) {
        _cleanup_free_ char *path = db_path();
        _cleanup_free_ int64_t *ids = NULL;
        AnalyzerStats as;
        bool started = false;
        usec_t t0, took;
        size_t n = 0;
        Hub h;

        ASSERT_OK(hub_open(&h, path, 1, 64, 0));
        /* The lane's only worker is stuck on a hung peer... */
        ASSERT_OK(pool_submit(h.pool, POOL_LANE_ANALYZE, block_until_cancelled, nop_done, NULL,
                              &started, NULL));
        for (int k = 0; k < 5000 && !started; k++)
                usleep(1000);
        ASSERT_TRUE(started);
        /* ... so the analyses of these queue up behind it. */
        for (int i = 0; i < 30; i++) {
                char line[64];
                snprintf(line, sizeof line, "Failed: distinct failure number %c%c", 'a' + i / 10,
                         'a' + i % 10);
                ASSERT_OK(feed(&h, "s1", line));
        }
        iterate(&h);
        ASSERT_EQ(pool_pending(h.pool, POOL_LANE_ANALYZE), 31);
        t0 = now_monotonic();
        hub_close(&h);
        took = now_monotonic() - t0;
        fprintf(stderr, "stop with a hung job and 30 queued: %.1f ms\n", took / 1000.0);
        ASSERT_TRUE(took < 10 * USEC_PER_SEC);

        /* Nothing ran, nothing is lost: the next start finds all 30. */
        ASSERT_OK(hub_open(&h, path, 2, 64, 0));
        ASSERT_OK(wait_analysed(&h, 30));
        analyzer_get_stats(h.analyzer, &as);
        ASSERT_EQ(as.analyses, 30);
        iterate(&h);
        ASSERT_OK(incident_list_unanalyzed(h.store, 100, &ids, &n));
        ASSERT_EQ(n, 0);
        ASSERT_EQ(n_incidents(&h), 30);
        hub_close(&h);
        return 0;
}

static int failing_hook(Txn *t, void *userdata) {
        return -EIO;
}

TEST(failed_commit_is_fatal_and_commits_nothing) {
        _cleanup_free_ char *path = db_path();
        TxnHook *hook = NULL;
        int code = 0;
        Hub h;

        ASSERT_OK(hub_open(&h, path, 1, 16, 0));
        ASSERT_OK(feed(&h, "s1", "Failed: kept"));
        iterate(&h);
        ASSERT_EQ(n_incidents(&h), 1);

        ASSERT_OK(txn_add_hook(h.txn, TXN_HOOK_PRECOMMIT, TXN_PRIORITY_DEFAULT, failing_hook, NULL,
                               NULL, &hook));
        ASSERT_OK(feed(&h, "s1", "Failed: lost with the batch, read again after a restart"));
        ASSERT_ERROR(txn_commit(h.txn), EIO);
        ASSERT_TRUE(txn_failed(h.txn));
        /* The loop is told to exit with the error. */
        ASSERT_OK(sd_event_get_exit_code(h.event, &code));
        ASSERT_EQ(code, EIO);
        /* Nothing more is accepted or committed. */
        ASSERT_ERROR(feed(&h, "s1", "Failed: after the failure"), EIO);
        ASSERT_ERROR(txn_commit(h.txn), EIO);
        ASSERT_ERROR(txn_begin(h.txn), EIO);
        ASSERT_EQ(n_incidents(&h), 1);
        txn_hook_free(hook);
        hub_close(&h);
        return 0;
}

TEST(positions_are_saved_with_the_batch) {
        _cleanup_free_ char *path = db_path();
        StorePosition p = {};
        Hub h;

        ASSERT_OK(hub_open(&h, path, 1, 16, 0));
        ASSERT_OK(positions_set(h.positions, "journal", &(StorePosition) { .cursor = "c1" }));
        ASSERT_OK(positions_set(h.positions, "journal", &(StorePosition) { .cursor = "c2" }));
        ASSERT_EQ(position_load(h.store, "journal", &p), 0);
        ASSERT_OK(txn_commit(h.txn));
        ASSERT_EQ(position_load(h.store, "journal", &p), 1);
        ASSERT_STREQ(p.cursor, "c2");
        store_position_done(&p);
        ASSERT_OK(positions_drop(h.positions, "journal"));
        ASSERT_OK(txn_commit(h.txn));
        ASSERT_EQ(position_load(h.store, "journal", &p), 0);
        hub_close(&h);
        return 0;
}
