/* SPDX-License-Identifier: MIT */
/*
 * Incident events to outbox rows; see outbox-writer.h. A row's payload is
 * {"kind": MessageKind, "incident": id, "count": n, "since": k, "status": s};
 * the sender renders the message from it and the incident as it is then.
 * Idempotency keys: "slack:ID:KIND:COUNT", "notion:ID:create",
 * "notion:ID:status:STATUS:SEQ". The repeat interval is kept per incident
 * in memory, and looked up in the outbox once per incident after a start.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "deliver/message.h"
#include "deliver/outbox-writer.h"
#include "shared/log.h"
#include "store/incidents.h"
#include "store/outbox.h"

/* Incidents whose last announcement is remembered; beyond that the outbox
 * is asked again. */
#define REPEAT_CACHE 1024

typedef struct Announced {
        int64_t id;                /* 0: free */
        int64_t when;              /* of the last Slack message about it */
        int64_t count;             /* the incident's count then */
} Announced;

struct OutboxWriter {
        Txn *txn;
        Store *store;
        OutboxWriterOptions options;
        IncidentListener *listener;
        TxnHook *hook;
        bool written;
        OutboxWrittenFunc on_written;
        void *written_userdata;
        Announced cache[REPEAT_CACHE];
};

static int add_row(OutboxWriter *w, OutboxSink sink, int64_t id, MessageKind kind,
                   int64_t count, int64_t since, IncidentStatus status, const char *key_tail) {
        _cleanup_free_ char *key = NULL, *payload = NULL, *target = NULL;
        int64_t now = (int64_t) now_realtime();
        json_t *p;
        int r;

        if (asprintf(&key, "%s:%" PRIi64 ":%s", outbox_sink_to_string(sink), id, key_tail) < 0 ||
            asprintf(&target, "%" PRIi64, id) < 0)
                return -ENOMEM;
        p = json_pack("{s:s, s:I, s:I, s:I, s:s?}", "kind", message_kind_to_string(kind),
                      "incident", (json_int_t) id, "count", (json_int_t) count, "since",
                      (json_int_t) since, "status", incident_status_to_string(status));
        if (!p)
                return -ENOMEM;
        payload = json_dumps(p, JSON_COMPACT);
        json_decref(p);
        if (!payload)
                return -ENOMEM;
        r = txn_begin(w->txn);
        if (r < 0)
                return r;
        r = outbox_add(w->store, sink, target, key, payload, now);
        if (r > 0)
                w->written = true;
        return r < 0 ? r : 0;
}

static Announced *announced_get(OutboxWriter *w, int64_t id) {
        Announced *a = &w->cache[(uint64_t) id % REPEAT_CACHE];
        OutboxRow last = {};
        char target[32];

        if (a->id == id)
                return a;
        /* Not remembered: the newest Slack row about it says. */
        *a = (Announced) { .id = id };
        snprintf(target, sizeof target, "%" PRIi64, id);
        if (outbox_last_for(w->store, OUTBOX_SLACK, target, "slack:", &last) > 0) {
                json_t *p = json_loads(last.payload, 0, NULL);
                a->when = last.created;
                a->count = json_integer_value(json_object_get(p, "count"));
                json_decref(p);
                outbox_row_done(&last);
        }
        return a;
}

static int slack_event(OutboxWriter *w, const IncidentNotice *n, Severity severity) {
        MessageKind kind = _MESSAGE_KIND_INVALID;
        Announced *a;
        char tail[96];
        int64_t now = (int64_t) now_realtime(), count = 0, since = 0;

        if (severity < w->options.slack_min_severity)
                return 0;
        switch (n->event) {
        case INCIDENT_EVENT_NEW:
        case INCIDENT_EVENT_REGRESSION:
        case INCIDENT_EVENT_REPEAT:
                count = n->count;
                a = announced_get(w, n->id);
                if (n->event == INCIDENT_EVENT_REPEAT) {
                        /* Open and announced recently: counted, not sent. */
                        if (w->options.slack_repeat_interval == 0 ||
                            now - a->when < (int64_t) w->options.slack_repeat_interval)
                                return 0;
                        kind = MESSAGE_REPEAT;
                        since = count - a->count;
                } else
                        kind = n->event == INCIDENT_EVENT_NEW ? MESSAGE_NEW : MESSAGE_REGRESSION;
                a->when = now;
                a->count = count;
                snprintf(tail, sizeof tail, "%s:%" PRIi64, message_kind_to_string(kind), count);
                break;
        case INCIDENT_EVENT_STATUS:
                if (n->status == INCIDENT_RESOLVED)
                        kind = n->reason == INCIDENT_REASON_FIX ? MESSAGE_FIX_SUCCEEDED
                                                                : MESSAGE_RESOLVED;
                else if (n->status == INCIDENT_MANUAL_REQUIRED)
                        kind = MESSAGE_MANUAL_REQUIRED;
                else
                        return 0;   /* New and In Progress by hand: not news */
                snprintf(tail, sizeof tail, "%s:%" PRIi64, message_kind_to_string(kind), now);
                break;
        case _INCIDENT_EVENT_MAX:
        case _INCIDENT_EVENT_INVALID:
                return 0;
        }
        return add_row(w, OUTBOX_SLACK, n->id, kind, count, since, n->status, tail);
}

static int notion_event(OutboxWriter *w, const IncidentNotice *n) {
        char tail[96];

        switch (n->event) {
        case INCIDENT_EVENT_NEW:
                return add_row(w, OUTBOX_NOTION, n->id, MESSAGE_NEW, n->count, 0, INCIDENT_NEW,
                               "create");
        case INCIDENT_EVENT_STATUS:
                /* Notion said so: the page has it already, and an update
                 * would be an edit that the next sync reads again. */
                if (n->reason == INCIDENT_REASON_NOTION)
                        return 0;
                __attribute__((fallthrough));
        case INCIDENT_EVENT_REGRESSION:
                snprintf(tail, sizeof tail, "status:%s:%" PRIu64,
                         incident_status_to_string(n->event == INCIDENT_EVENT_REGRESSION
                                                           ? INCIDENT_NEW : n->status),
                         (uint64_t) now_realtime());
                return add_row(w, OUTBOX_NOTION, n->id, MESSAGE_STATUS, n->count, 0,
                               n->event == INCIDENT_EVENT_REGRESSION ? INCIDENT_NEW : n->status,
                               tail);
        case INCIDENT_EVENT_REPEAT:
        case _INCIDENT_EVENT_MAX:
        case _INCIDENT_EVENT_INVALID:
                break;
        }
        return 0;
}

static int on_incident(const IncidentNotice *n, void *userdata) {
        OutboxWriter *w = userdata;
        Severity severity = n->finding ? n->finding->severity : _SEVERITY_INVALID;
        int r;

        if (!w->options.slack && !w->options.notion)
                return 0;
        if (severity < 0) {
                _cleanup_(incident_freep) Incident *inc = NULL;
                r = incident_get(w->store, n->id, &inc);
                if (r < 0)
                        return r;
                severity = inc->severity;
        }
        if (w->options.slack) {
                r = slack_event(w, n, severity);
                if (r < 0)
                        return r;
        }
        if (w->options.notion) {
                r = notion_event(w, n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_postcommit(Txn *t, void *userdata) {
        OutboxWriter *w = userdata;

        if (!w->written)
                return 0;
        w->written = false;
        if (w->on_written)
                w->on_written(w->written_userdata);
        return 0;
}

int outbox_writer_new(IncidentBus *bus, Txn *txn, Store *store, const OutboxWriterOptions *o,
                      OutboxWriter **ret) {
        _cleanup_(outbox_writer_freep) OutboxWriter *w = NULL;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->txn = txn;
        w->store = store;
        w->options = *o;
        r = incident_bus_listen(bus, on_incident, w, NULL, &w->listener);
        if (r < 0)
                return r;
        r = txn_add_hook(txn, TXN_HOOK_POSTCOMMIT, TXN_PRIORITY_DEFAULT, on_postcommit, w, NULL,
                         &w->hook);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

OutboxWriter *outbox_writer_free(OutboxWriter *w) {
        if (!w)
                return NULL;
        incident_listener_free(w->listener);
        txn_hook_free(w->hook);
        free(w);
        return NULL;
}

void outbox_writer_set_options(OutboxWriter *w, const OutboxWriterOptions *o) {
        w->options = *o;
}

void outbox_writer_set_written_callback(OutboxWriter *w, OutboxWrittenFunc f, void *userdata) {
        w->on_written = f;
        w->written_userdata = userdata;
}

int outbox_writer_add_report(OutboxWriter *w, int64_t report_id, const char *slack_body,
                             const char *title, const char *text) {
        int64_t now = (int64_t) now_realtime();
        int n = 0, r;

        r = txn_begin(w->txn);
        if (r < 0)
                return r;
        for (OutboxSink sink = 0; sink < _OUTBOX_SINK_MAX; sink++) {
                _cleanup_free_ char *key = NULL, *payload = NULL;
                json_t *p;

                if (sink == OUTBOX_SLACK &&
                    (!w->options.slack || w->options.slack_min_severity > SEVERITY_LOW))
                        continue;
                if (sink == OUTBOX_NOTION && !w->options.notion)
                        continue;
                if (asprintf(&key, "%s:report:%" PRIi64, outbox_sink_to_string(sink), report_id) < 0)
                        return -ENOMEM;
                /* Slack's body is rendered now; Notion's page needs the data
                 * source, known when it is sent. */
                p = sink == OUTBOX_SLACK
                            ? json_pack("{s:s, s:I, s:s}", "kind", "report", "report",
                                        (json_int_t) report_id, "slack", slack_body)
                            : json_pack("{s:s, s:I, s:s, s:s}", "kind", "report", "report",
                                        (json_int_t) report_id, "title", title, "text", text);
                if (!p)
                        return -ENOMEM;
                payload = json_dumps(p, JSON_COMPACT);
                json_decref(p);
                if (!payload)
                        return -ENOMEM;
                r = outbox_add(w->store, sink, "", key, payload, now);
                if (r < 0)
                        return r;
                n += r;
        }
        if (n > 0)
                w->written = true;
        return n;
}
