/* SPDX-License-Identifier: MIT */
/*
 * Analysis jobs; see analyzer.h. Two lists: incoming (published in the open
 * transaction, not yet durable) and waiting (committed, not yet accepted by
 * the pool). A post-commit hook moves incoming to waiting and submits what
 * the lane takes; the lane's drain callback submits more. Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/offline.h"
#include "core/analyzer.h"
#include "shared/log.h"

typedef struct Job {
        struct Job *next;
        Analyzer *analyzer;
        int64_t incident_id;
        Finding *finding;
        char *app;
        Language language;
        char *result;
} Job;

typedef struct JobList {
        Job *head, *tail;
        size_t n;
} JobList;

struct Analyzer {
        Txn *txn;
        Store *store;
        Pool *pool;
        Language language;
        IncidentListener *listener;
        TxnHook *hook;
        JobList incoming, waiting;
        AnalyzerThrottleFunc throttle;
        void *throttle_userdata;
        AnalyzerVerdictFunc verdict;
        void *verdict_userdata;
        AnalyzerStats stats;
};

static void job_free(void *data) {
        Job *j = data;

        finding_free(j->finding);
        free(j->app);
        free(j->result);
        free(j);
}

static void list_push(JobList *l, Job *j) {
        j->next = NULL;
        if (l->tail)
                l->tail->next = j;
        else
                l->head = j;
        l->tail = j;
        l->n++;
}

static Job *list_pop(JobList *l) {
        Job *j = l->head;

        if (j) {
                l->head = j->next;
                if (!l->head)
                        l->tail = NULL;
                l->n--;
        }
        return j;
}

static void list_clear(JobList *l) {
        Job *j;

        while ((j = list_pop(l)))
                job_free(j);
}

static int job_work(void *data, PoolJob *pj) {
        Job *j = data;
        Analysis a = {};
        AnalyzeContext ctx = { .app = j->app };
        int r;

        r = analyze_offline(j->finding, j->language, &ctx, &a);
        if (r >= 0) {
                j->result = analysis_format(&a);
                if (!j->result)
                        r = -ENOMEM;
        }
        analysis_done(&a);
        return r;
}

static void job_done(void *data, int result) {
        Job *j = data;
        Analyzer *a = j->analyzer;
        int r;

        if (result == -ECANCELED)
                return;          /* stays unanalyzed: queued again at the next start */
        if (result < 0) {
                log_warning_errno(result, "Cannot analyse incident #%lld: %m, ignoring",
                                  (long long) j->incident_id);
                return;
        }
        r = txn_begin(a->txn);
        if (r < 0) {
                (void) txn_fatal(a->txn, r, "begin a transaction");
                return;
        }
        r = incident_set_analysis(a->store, j->incident_id, j->result);
        if (r == -ENOENT)
                return;          /* deleted meanwhile */
        if (r < 0) {
                (void) txn_fatal(a->txn, r, "store an analysis");
                return;
        }
        a->stats.analyses++;
        if (a->verdict) {
                const char *fix = j->finding->fix && *j->finding->fix ? j->finding->fix : "none";
                AnalyzerVerdict v = {
                        .incident_id = j->incident_id,
                        .app = j->app,
                        .fingerprint = j->finding->fingerprint,
                        .fix = fix,
                        .auto_fix = j->finding->auto_fixable && strcmp(fix, "none") != 0,
                        .source = "offline",
                };
                a->verdict(a, &v, a->verdict_userdata);
        }
}

static void set_throttled(Analyzer *a, bool pause) {
        if (a->stats.throttled == pause)
                return;
        a->stats.throttled = pause;
        if (pause)
                log_notice("Analysis queue full (%zu jobs): pausing ingestion until it drains.",
                           a->pool ? pool_pending(a->pool, POOL_LANE_ANALYZE) : 0);
        else
                log_info("Analysis queue drained: resuming ingestion.");
        if (a->throttle)
                a->throttle(a, pause, a->throttle_userdata);
}

void analyzer_detach(Analyzer *a) {
        /* What is not queued yet stays unanalyzed in the store, for the
         * next start. */
        a->pool = NULL;
}

/* Hands waiting jobs to the lane while it takes them. */
static void submit_waiting(Analyzer *a) {
        if (!a->pool)
                return;        /* stopping */
        while (a->waiting.head && !pool_is_full(a->pool, POOL_LANE_ANALYZE)) {
                Job *j = list_pop(&a->waiting);
                int r;

                /* On refusal the pool frees j; it cannot refuse while not
                 * full, except while stopping or out of memory, and then the
                 * incident stays unanalyzed and is queued at the next start. */
                r = pool_submit(a->pool, POOL_LANE_ANALYZE, job_work, job_done, job_free, j, NULL);
                if (r < 0 && r != -ESHUTDOWN)
                        log_warning_errno(r, "Cannot queue an analysis: %m, ignoring");
        }
        set_throttled(a, a->waiting.n > 0);
}

static void on_drain(Pool *p, PoolLane lane, void *userdata) {
        submit_waiting(userdata);
}

static int on_postcommit(Txn *t, void *userdata) {
        Analyzer *a = userdata;
        Job *j;

        size_t added = a->incoming.n;

        if (added == 0)
                return 0;
        while ((j = list_pop(&a->incoming)))
                list_push(&a->waiting, j);
        submit_waiting(a);
        /* Those of the new ones the lane could not take yet. */
        a->stats.jobs_deferred += a->waiting.n < added ? a->waiting.n : added;
        return 0;
}

static int job_new(Analyzer *a, int64_t id, const Finding *f, const char *app, Job **ret) {
        Job *j = calloc(1, sizeof *j);

        if (!j)
                return -ENOMEM;
        *j = (Job) { .analyzer = a, .incident_id = id, .language = a->language };
        j->app = strdup(app ?: "unknown");
        if (!j->app || finding_copy(f, &j->finding) < 0) {
                job_free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

static int on_incident(const IncidentNotice *n, void *userdata) {
        Analyzer *a = userdata;
        Job *j;
        int r;

        if ((n->event != INCIDENT_EVENT_NEW && n->event != INCIDENT_EVENT_REGRESSION) ||
            !n->finding)
                return 0;
        r = job_new(a, n->id, n->finding, n->app, &j);
        if (r < 0)
                return r;
        list_push(&a->incoming, j);
        return 0;
}

int analyzer_restore(Analyzer *a) {
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0, queued = 0;
        int r;

        r = incident_list_unanalyzed(a->store, 10000, &ids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(incident_freep) Incident *inc = NULL;
                Finding f = {};
                Job *j;

                if (incident_get(a->store, ids[i], &inc) < 0)
                        continue;
                /* Enough of the finding for the offline analyzer. */
                f.category = inc->category;
                f.severity = inc->severity;
                f.fix = inc->fix_id ?: (char *) "none";
                /* The store keeps the rules' fix, not whether it was allowed
                 * to run by itself: an analysis a crash interrupted proposes
                 * its fix to people (appwatchctl fix), it does not run it. */
                f.auto_fixable = false;
                f.title = inc->title;
                f.excerpt = inc->excerpt;
                f.stream = (char *) "";
                memcpy(f.fingerprint, inc->fingerprint,
                       strnlen(inc->fingerprint, DETECT_FINGERPRINT_HEX_LEN));
                r = job_new(a, inc->id, &f, inc->app, &j);
                if (r < 0)
                        return r;
                list_push(&a->waiting, j);
                queued++;
        }
        if (queued > 0)
                log_info("Queued %zu incident%s without an analysis.", queued,
                         queued == 1 ? "" : "s");
        submit_waiting(a);
        return (int) queued;
}

int analyzer_new(Txn *txn, Store *store, Pool *pool, IncidentBus *bus, const AnalyzerOptions *o,
                 Analyzer **ret) {
        _cleanup_(analyzer_freep) Analyzer *a = NULL;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        *a = (Analyzer) { .txn = txn, .store = store, .pool = pool, .language = o->language };
        r = incident_bus_listen(bus, on_incident, a, NULL, &a->listener);
        if (r < 0)
                return r;
        r = txn_add_hook(txn, TXN_HOOK_POSTCOMMIT, TXN_PRIORITY_DEFAULT, on_postcommit, a, NULL,
                         &a->hook);
        if (r < 0)
                return r;
        pool_set_drain_callback(pool, POOL_LANE_ANALYZE, on_drain, a);
        *ret = TAKE_PTR(a);
        return 0;
}

Analyzer *analyzer_free(Analyzer *a) {
        if (!a)
                return NULL;
        incident_listener_free(a->listener);
        txn_hook_free(a->hook);
        list_clear(&a->incoming);
        list_clear(&a->waiting);
        free(a);
        return NULL;
}

void analyzer_set_throttle(Analyzer *a, AnalyzerThrottleFunc f, void *userdata) {
        a->throttle = f;
        a->throttle_userdata = userdata;
}

void analyzer_set_verdict_callback(Analyzer *a, AnalyzerVerdictFunc f, void *userdata) {
        a->verdict = f;
        a->verdict_userdata = userdata;
}

void analyzer_get_stats(const Analyzer *a, AnalyzerStats *ret) {
        *ret = a->stats;
        ret->waiting = a->waiting.n + a->incoming.n;
}
