/* SPDX-License-Identifier: MIT */
/*
 * The control verbs of delivery: outbox (list the rows not yet delivered),
 * outbox-retry (re-queue dead rows and let held sinks try again) and
 * test-notify (the users' guide's test alert, sent by the daemon with its
 * own credentials, answered when Slack and Notion have answered).
 * Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager-internal.h"
#include "shared/log.h"

int manager_verb_outbox(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *rows = NULL, *limit = json_object_get(control_request_args(req), "limit");
        json_int_t n = 1000;
        int r;

        if (limit && (!json_is_integer(limit) || json_integer_value(limit) <= 0)) {
                *msg = strdup("\"limit\" must be a positive integer");
                return -EINVAL;
        }
        if (limit)
                n = json_integer_value(limit);
        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        r = outbox_list_json(m->store, (size_t) n, &rows);
        if (r < 0)
                return r;
        *ret = json_pack("{s:o, s:o}", "rows", rows, "delivery", sender_status_json(m->sender));
        return *ret ? 0 : -ENOMEM;
}

int manager_verb_outbox_retry(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *id = json_object_get(control_request_args(req), "id");
        int r;

        if (id && (!json_is_integer(id) || json_integer_value(id) <= 0)) {
                *msg = strdup("\"id\" must be a positive integer (or absent for every row)");
                return -EINVAL;
        }
        r = sender_retry(m->sender, id ? json_integer_value(id) : 0);
        if (r < 0)
                return r;
        /* On disk before the answer, then sent. */
        int n = r;
        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        sender_kick(m->sender);
        log_info("Outbox: %d row%s queued again on request.", n, n == 1 ? "" : "s");
        *ret = json_pack("{s:i}", "requeued", n);
        return *ret ? 0 : -ENOMEM;
}

typedef struct TestNotify {
        ControlRequest *req;
        PoolJob *job;
} TestNotify;

static void test_notify_cancel(ControlRequest *req, void *userdata) {
        TestNotify *t = userdata;

        /* The client is gone: stop waiting on Slack or Notion. */
        if (t->job)
                pool_job_cancel(t->job);
}

static void test_notify_done(json_t *result, int error, const char *message, void *userdata) {
        TestNotify *t = userdata;
        ControlRequest *req = t->req;

        free(t);
        if (error < 0 && !result) {
                (void) control_request_reply_error(req, error, message);
                return;
        }
        if (error < 0) {
                /* What was sent and answered is the useful part: keep it. */
                (void) json_object_set_new(result, "failed", json_string(message));
        }
        (void) control_request_reply(req, result);
}

int manager_verb_test_notify(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *notion = json_object_get(control_request_args(req), "notion");
        TestNotify *t;
        int r;

        if (notion && !json_is_boolean(notion)) {
                *msg = strdup("\"notion\" must be true or false");
                return -EINVAL;
        }
        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->req = req;
        r = sender_test_notify(m->sender, json_is_true(notion), test_notify_done, t, &t->job);
        if (r == -ENOMEDIUM) {
                free(t);
                *msg = strdup(json_is_true(notion)
                                      ? "Notion is not configured: set NOTION_API_TOKEN and "
                                        "NOTION_DATABASE_ID (or [Notion] DatabaseId=)"
                                      : "Slack is not configured: set SLACK_WEBHOOK_URL (or the "
                                        "slack_webhook_url credential)");
                return -ENOMEDIUM;
        }
        if (r < 0) {
                free(t);
                return r;
        }
        control_request_set_cancel(req, test_notify_cancel, t, NULL);
        return CONTROL_REPLY_LATER;
}
