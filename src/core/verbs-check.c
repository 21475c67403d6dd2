/* SPDX-License-Identifier: MIT */
/*
 * The status check verb, check (appwatchctl check; appwatch-check.timer
 * runs it every 10 minutes): samples the daemon's own state — free disk and
 * inodes where it writes and reads, its sources, its queues, the outbox,
 * fixes that never finished — judges it with core/check.c against [Check],
 * records each breach as an incident of app "appwatch" under the breach's
 * stable key, and resolves the ones whose breach cleared. The result goes
 * into STATUS= too. Everything it samples is local and quick (statvfs, a
 * few indexed queries), so it runs on the loop thread. Loop thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "core/check.h"
#include "core/lifecycle.h"
#include "manager-internal.h"
#include "shared/log.h"
#include "store/checks.h"
#include "store/outbox.h"

#define STRV_EMPTY(l) (!(l) || !(l)[0])

/* The directory a [Watch.*] Path= lives in: itself, or a glob's or file's parent. */
static char *watch_dir(const char *path) {
        struct stat st;
        _cleanup_free_ char *c = NULL;

        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                return strdup(path);
        c = strdup(path);
        return c ? strdup(dirname(c)) : NULL;
}

static int sample_fs(CheckReport *r, const CheckThresholds *t, const char *role,
                     const char *role_key, const char *path, char ***seen) {
        struct statvfs sv;
        struct stat st;
        char dev[32];
        int error = 0;

        if (stat(path, &st) < 0 || statvfs(path, &sv) < 0)
                error = -errno;
        if (error == 0) {
                /* Each filesystem once, under the first directory that names it. */
                (void) snprintf(dev, sizeof dev, "%llu", (unsigned long long) st.st_dev);
                if (strv_contains(*seen, dev))
                        return 0;
                if (strv_extend(seen, dev) < 0)
                        return -ENOMEM;
        }
        return check_eval_fs(r, t, role, role_key, path, error, &sv);
}

static int check_sample(Manager *m, CheckReport *r) {
        const Config *c = m->config;
        CheckThresholds t = check_thresholds_from_config(c);
        _cleanup_strv_free_ char **seen = NULL;
        json_auto_t *ingest = NULL, *stuck = NULL;
        OutboxStats os = {};
        AnalyzerStats as = {};
        int64_t now = (int64_t) now_realtime();
        int k;

        k = sample_fs(r, &t, "state", NULL, m->state_dir, &seen);
        if (k >= 0 && m->spool_dir)
                k = sample_fs(r, &t, "spool", NULL, m->spool_dir, &seen);
        for (size_t i = 0; k >= 0 && i < c->n_watches; i++) {
                _cleanup_free_ char *dir = watch_dir(c->watches[i].path), *key = NULL;

                if (!dir || asprintf(&key, "%s", c->watches[i].name) < 0)
                        return -ENOMEM;
                k = sample_fs(r, &t, "watch", key, dir, &seen);
        }
        if (k < 0)
                return k;

        /* The journal: read when anything is configured to be read from it. */
        if (c->journal_enabled && (!STRV_EMPTY(c->journal_units) ||
                                   !STRV_EMPTY(c->journal_identifiers) || c->journal_directory)) {
                bool active = false;

                if (m->sources) {
                        ingest = sources_status_json(m->sources);
                        active = json_is_true(json_object_get(
                                json_object_get(ingest, "journal_reader"), "active"));
                }
                k = check_eval_source(r, "journal", active,
                                      active ? NULL : "the journal could not be opened (see "
                                                      "journalctl -u appwatch)");
                if (k < 0)
                        return k;
        }

        for (PoolLane l = 0; m->pool && l < _POOL_LANE_MAX; l++) {
                k = check_eval_queue(r, &t, pool_lane_to_string(l), pool_pending(m->pool, l));
                if (k < 0)
                        return k;
        }
        if (m->analyzer) {
                analyzer_get_stats(m->analyzer, &as);
                k = check_eval_queue(r, &t, "analyzer_deferred", as.jobs_deferred);
                if (k < 0)
                        return k;
        }

        k = outbox_stats(m->store, &os);
        if (k < 0)
                return k;
        k = check_eval_outbox(r, &t, os.pending, os.oldest_pending, os.dead, now);
        if (k < 0)
                return k;

        k = checks_stuck_fixes(m->store, now - (int64_t) t.stuck_after, &stuck);
        if (k < 0)
                return k;
        return check_eval_stuck_fixes(r, &t, stuck, now);
}

/* Records the breaches, resolves what cleared. Returns how many were resolved. */
static int check_apply(Manager *m, const CheckReport *r) {
        _cleanup_strv_free_ char **keys = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0;
        int k, resolved = 0;

        for (size_t i = 0; i < r->n; i++) {
                const CheckItem *it = &r->items[i];

                if (!it->breach)
                        continue;
                k = lifecycle_record_internal(m->txn, m->store, m->bus, m->host, it->key,
                                              it->category, it->severity, it->title, it->title,
                                              NULL);
                if (k < 0)
                        return k;
        }
        k = checks_open_internal(m->store, m->host, CHECK_KEY_PREFIX, &keys, &ids, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                const CheckItem *it = check_report_find(r, keys[i]);

                if (it && it->breach)
                        continue;
                k = lifecycle_set_status(m->txn, m->store, m->bus, ids[i], INCIDENT_RESOLVED,
                                         INCIDENT_REASON_SYSTEM);
                if (k < 0)
                        return k;
                log_info("Status check: %s passes again, incident %" PRId64 " resolved.",
                         keys[i], ids[i]);
                resolved++;
        }
        return resolved;
}

typedef struct CheckReply {
        ControlRequest *req;
        json_t *result;
        NotionSync *sync;
} CheckReply;

static void check_reply_cancel(ControlRequest *req, void *userdata) {
        CheckReply *c = userdata;

        notion_sync_cancel(c->sync);
}

static void check_sync_done(json_t *notion, void *userdata) {
        CheckReply *c = userdata;
        ControlRequest *req = c->req;
        json_t *o = c->result;

        free(c);
        if (!notion) {
                json_decref(o);
                (void) control_request_reply_error(req, -ESHUTDOWN, "stopping");
                return;
        }
        if (json_object_set_new(o, "notion", notion) < 0) {
                json_decref(o);
                (void) control_request_reply_error(req, -ENOMEM, NULL);
                return;
        }
        (void) control_request_reply(req, o);
}

int manager_verb_check(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        _cleanup_(check_report_done) CheckReport r = {};
        CheckReply *c;
        json_t *o;
        int k, resolved;

        k = check_sample(m, &r);
        if (k < 0)
                return k;
        resolved = check_apply(m, &r);
        if (resolved < 0)
                return resolved;
        /* The check runs every 10 minutes: its heartbeat tells the daily
         * report when appwatchd was running, even on a quiet day. */
        (void) manager_heartbeat(m, false);
        k = txn_commit(m->txn);
        if (k < 0)
                return k;
        free(m->check_summary);
        m->check_summary = check_report_summary(&r);
        manager_refresh_status(m);
        if (check_report_breaches(&r) > 0)
                log_warning("Status %s.", m->check_summary ?: "check: breaches");
        o = check_report_json(&r);
        if (!o || json_object_set_new(o, "resolved", json_integer(resolved)) < 0 ||
            json_object_set_new(o, "recorded", json_true()) < 0 ||
            (m->sender && json_object_set_new(o, "delivery", sender_status_json(m->sender)) < 0)) {
                json_decref(o);
                return -ENOMEM;
        }

        /* Then the statuses people set in Notion, answered when Notion has answered. */
        c = calloc(1, sizeof *c);
        if (!c) {
                json_decref(o);
                return -ENOMEM;
        }
        *c = (CheckReply) { .req = req, .result = o };
        k = notion_sync_start(m, check_sync_done, c, &c->sync);
        if (k < 0) {
                free(c);
                if (k != -ENOMEDIUM)
                        (void) json_object_set_new(o, "notion", json_pack("{s:s}", "error",
                                                   k == -EAGAIN ? "the delivery lane is full"
                                                                : strerror(-k)));
                *ret = o;
                return 0;
        }
        control_request_set_cancel(req, check_reply_cancel, c, NULL);
        return CONTROL_REPLY_LATER;
}
