/* SPDX-License-Identifier: MIT */
/*
 * The daily report's verbs and appwatchd's record of when it ran.
 *
 * report (mutating; appwatch-report.timer runs `appwatchctl report daily`)
 *   covers everything since the previous report ended (the last 24 hours
 *   for the first one), records it in `reports` and queues it for Slack and
 *   Notion in the same transaction: it goes out exactly once, and a
 *   missed 09:00 (Persistent=true fires once at boot) is one report over
 *   the whole time since the last, not one per missed day.
 * report-print (read-only; `appwatchctl report daily --print`) renders the
 *   same without recording or sending anything, optionally from "since".
 *
 * daemon_runs: a row at start, its heartbeat moved by each scheduled verb
 * (report here; the status check calls manager_heartbeat() too), with a
 * commit of other work at most once a minute, and at stop. appwatchd keeps
 * no clock of its own for it: the timers' verb calls and the work it does
 * are its moments. Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/report.h"
#include "detect/redact.h"
#include "manager-internal.h"
#include "shared/log.h"
#include "shared/protocol.h"
#include "store/ai.h"
#include "store/reports.h"

#define REPORT_FIRST_WINDOW (24 * 3600 * (int64_t) USEC_PER_SEC)

/* Commits of work that is being done anyway carry the heartbeat at most
 * this often: a busy daemon's gaps are exact to about this, and an idle one
 * writes nothing (its scheduled verbs move the heartbeat). */
#define HEARTBEAT_WITH_COMMITS_USEC (60 * (int64_t) USEC_PER_SEC)

static int heartbeat_with_commit(Txn *t, void *userdata) {
        Manager *m = userdata;
        int64_t now = (int64_t) now_realtime();

        if (!txn_in_progress(t) || now - m->run_heartbeat < HEARTBEAT_WITH_COMMITS_USEC)
                return 0;
        m->run_heartbeat = now;
        return daemon_run_heartbeat(m->store, m->run_id, now, false);
}

int manager_run_started(Manager *m) {
        int64_t now = (int64_t) now_realtime();
        int r;

        r = txn_begin(m->txn);
        if (r >= 0)
                r = daemon_run_start(m->store, now, &m->run_id);
        if (r >= 0)
                r = txn_add_hook(m->txn, TXN_HOOK_PRECOMMIT, TXN_PRIORITY_DEFAULT,
                                 heartbeat_with_commit, m, NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot record the start of this run: %m");
        m->run_heartbeat = now;
        return 0;
}

int manager_heartbeat(Manager *m, bool stopped) {
        int64_t now = (int64_t) now_realtime();
        int r;

        if (m->run_id <= 0 || txn_failed(m->txn))
                return 0;
        r = txn_begin(m->txn);
        if (r >= 0)
                r = daemon_run_heartbeat(m->store, m->run_id, now, stopped);
        if (r < 0)
                return log_warning_errno(r, "Cannot record that appwatchd runs: %m");
        m->run_heartbeat = now;
        return 0;
}

static int fail_msg(char **msg, int error, const char *text) {
        *msg = strdup(text);
        return error;
}

/* Titles come from logs: redacted like every text sent. */
static int redact_items(ReportItem *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                char *t = NULL;
                int r = detect_redact(items[i].title, strlen(items[i].title), &t);
                if (r < 0)
                        return r;
                free(items[i].title);
                items[i].title = t;
        }
        return 0;
}

/* Reads the arguments and fills r for the window they ask for. */
static int collect(Manager *m, json_t *args, bool allow_since, Report *rep, char **msg) {
        const char *kind = NULL;
        int64_t since = 0, last = 0, end = (int64_t) now_realtime(), start;
        bool first = false;
        int r;

        r = protocol_get_string(args, "kind", &kind, msg);
        if (r < 0)
                return r;
        if (kind && strcmp(kind, "daily") != 0)
                return fail_msg(msg, -EINVAL, "unknown report kind: expected \"daily\"");
        r = protocol_get_integer(args, "since", &since, NULL);
        if (r < 0 || (r > 0 && (since <= 0 || since >= end)))
                return fail_msg(msg, -EINVAL, "\"since\" must be microseconds since the epoch, "
                                "in the past");
        if (r > 0 && !allow_since)
                return fail_msg(msg, -EINVAL, "\"since\" is only for printing a report "
                                "(report-print): a recorded report starts where the last ended");
        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        if (since > 0)
                start = since;
        else {
                r = report_last_end(m->store, "daily", &last);
                if (r < 0)
                        return r;
                first = r == 0 || last >= end;
                start = first ? end - REPORT_FIRST_WINDOW : last;
        }
        r = report_collect(m->store, start, end, rep);
        if (r < 0)
                return r;
        rep->first = first;
        if ((r = redact_items(rep->top, rep->n_top)) < 0 ||
            (r = redact_items(rep->regressions, rep->n_regressions)) < 0 ||
            (r = redact_items(rep->open, rep->n_open)) < 0) {
                report_done(rep);
                return r;
        }
        return 0;
}

static int reply(Report *rep, const char *text, int64_t id, int queued, json_t **ret) {
        json_t *o = report_to_json(rep);

        if (!o || json_object_set_new(o, "text", json_string(text)) < 0 ||
            (id > 0 && json_object_set_new(o, "id", json_integer(id)) < 0) ||
            (id > 0 && json_object_set_new(o, "queued", json_integer(queued)) < 0)) {
                json_decref(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

int manager_verb_report_print(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        _cleanup_free_ char *text = NULL;
        Report rep = {};
        int r;

        r = collect(m, control_request_args(req), true, &rep, msg);
        if (r < 0)
                return r;
        r = report_render_text(&rep, m->config->language, &text);
        if (r >= 0)
                r = reply(&rep, text, 0, 0, ret);
        report_done(&rep);
        return r;
}

int manager_verb_report(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        _cleanup_free_ char *text = NULL, *title = NULL, *slack = NULL;
        Report rep = {};
        int64_t id = 0;
        int queued = 0, r;

        r = collect(m, control_request_args(req), false, &rep, msg);
        if (r < 0)
                return r;
        r = report_render_text(&rep, m->config->language, &text);
        if (r >= 0)
                r = report_title(&rep, m->config->language, &title);
        if (r >= 0)
                r = report_render_slack(&rep, m->config->language, &slack);
        if (r < 0)
                goto finish;
        /* The report, its messages and the heartbeat: one transaction. */
        r = txn_begin(m->txn);
        if (r >= 0)
                r = report_record(m->store, "daily", rep.window_start, rep.window_end,
                                  (int64_t) now_realtime(), text, &id);
        if (r >= 0)
                r = queued = outbox_writer_add_report(m->outbox, id, slack, title, text);
        /* The daily timer is what keeps the call log bounded. */
        if (r >= 0)
                r = ai_call_prune(m->store, (int64_t) (now_realtime() - AI_CALL_KEEP_USEC));
        if (r >= 0)
                r = manager_heartbeat(m, false);
        if (r >= 0)
                r = txn_commit(m->txn);
        if (r < 0) {
                log_error_errno(r, "Cannot record the daily report: %m");
                goto finish;
        }
        sender_kick(m->sender);
        log_info("Daily report #%lld recorded (%llu incidents), %d message%s queued.",
                 (long long) id, (unsigned long long) rep.total, queued, queued == 1 ? "" : "s");
        r = reply(&rep, text, id, queued, ret);
finish:
        report_done(&rep);
        return r;
}
