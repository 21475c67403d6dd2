/* SPDX-License-Identifier: MIT */
/* The Manager's fields, shared by manager.c and the control verbs in verbs.c. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>

#include "core/analyzer.h"
#include "core/control.h"
#include "core/fixer.h"
#include "core/incident-bus.h"
#include "core/manager.h"
#include "core/pipeline.h"
#include "core/pool.h"
#include "core/positions.h"
#include "core/sources.h"
#include "core/txn.h"
#include "deliver/outbox-writer.h"
#include "deliver/record.h"
#include "deliver/sender.h"
#include "detect/rules.h"
#include "store/store.h"

struct Manager {
        sd_event *event;
        Config *config;
        char *config_path;
        bool config_explicit;
        bool dry_run;
        char *state_dir;
        char *runtime_dir;
        char *spool_dir;
        char *socket_path;        /* NULL when socket-activated */
        bool socket_activated;
        char *host;
        Store *store;
        DetectRules *rules;
        size_t n_rules;
        Txn *txn;
        IncidentBus *bus;
        Positions *positions;
        RecordSink *records;
        Pool *pool;
        Analyzer *analyzer;
        OutboxWriter *outbox;
        Sender *sender;
        Pipeline *pipeline;
        Sources *sources;
        ControlServer *control;
        FixRunner *fix_runner;
        Fixer *fixer;
        usec_t start_monotonic;
        unsigned n_reloads;
        unsigned n_reloads_rejected;
        char *last_status;
        uint64_t status_commits;  /* commits when STATUS= was last computed */
        size_t status_jobs;       /* ... and the analysis lane's length then */
        char *check_summary;      /* the last status check's result, for STATUS= */
        int64_t run_id;           /* this run's row in daemon_runs, 0: none yet */
        int64_t run_heartbeat;    /* when its heartbeat was last written */
};

/* The status object of `appwatchctl status` (manager.c). */
int manager_build_status(Manager *m, json_t **ret);
/* Re-sends STATUS= if it changed (manager.c). */
void manager_refresh_status(Manager *m);
/* Delivery verbs (verbs-delivery.c). */
int manager_verb_outbox(ControlRequest *req, void *userdata, json_t **ret, char **msg);
int manager_verb_outbox_retry(ControlRequest *req, void *userdata, json_t **ret, char **msg);
int manager_verb_test_notify(ControlRequest *req, void *userdata, json_t **ret, char **msg);
/* The status check (verbs-check.c). */
int manager_verb_check(ControlRequest *req, void *userdata, json_t **ret, char **msg);
/*
 * Notion's statuses back to the incidents (notion-sync.c): queues one sync
 * on the deliver lane; done gets {"since", "pages_edited", "changed",
 * "error"?} (owned by done; NULL on OOM, or when a stopping pool dropped
 * the job) on the loop, exactly once. Returns 0 and *ret (valid until done runs),
 * -ENOMEDIUM when Notion is not configured, -EAGAIN, or -errno.
 */
typedef struct NotionSync NotionSync;
typedef void (*NotionSyncDone)(json_t *result, void *userdata);
int notion_sync_start(Manager *m, NotionSyncDone done, void *userdata, NotionSync **ret);
void notion_sync_cancel(NotionSync *s);
/* The health check (verbs-health.c). */
int manager_verb_health(ControlRequest *req, void *userdata, json_t **ret, char **msg);
/* Fix verbs (verbs-fix.c): `fix`, and the attempts `show` adds to o. */
int manager_verb_fix(ControlRequest *req, void *userdata, json_t **ret, char **msg);
int manager_show_fix_attempts(Manager *m, int64_t id, json_t *o);

/* Processes spooled submissions (verbs.c). Returns how many. */
int manager_process_spool(Manager *m);
/* Forgets the ids of submissions taken more than a week ago (verbs.c). */
int manager_prune_submissions(Manager *m);

/* The daily report (verbs-report.c). */
int manager_verb_report(ControlRequest *req, void *userdata, json_t **ret, char **msg);
int manager_verb_report_print(ControlRequest *req, void *userdata, json_t **ret, char **msg);
/* Records this run in daemon_runs (at start), and that it still runs or
 * stopped (each scheduled verb: report, the status check; and at stop), in
 * the open transaction (verbs-report.c). */
int manager_run_started(Manager *m);
int manager_heartbeat(Manager *m, bool stopped);
