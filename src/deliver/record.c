/* SPDX-License-Identifier: MIT */
/* Journal records of incident events; see record.h. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "deliver/record.h"
#include "shared/catalog-ids.h"
#include "shared/log.h"

static int severity_level(Severity s) {
        switch (s) {
        case SEVERITY_CRITICAL:
                return LOG_CRIT;
        case SEVERITY_HIGH:
                return LOG_ERR;
        case SEVERITY_MEDIUM:
                return LOG_WARNING;
        case SEVERITY_LOW:
        case _SEVERITY_MAX:
        case _SEVERITY_INVALID:
                break;
        }
        return LOG_NOTICE;
}

int record_incident_event(const Incident *i, IncidentEvent event) {
        char f_id[64], f_app[256], f_type[96], f_sev[64], f_status[64], f_fp[96], f_event[64],
                f_host[256], f_count[64], f_fix[160];
        const char *category = category_to_string(i->category),
                   *severity = severity_to_string(i->severity),
                   *status = incident_status_to_string(i->status), *event_name = NULL,
                   *message_id = NULL;
        int level = severity_level(i->severity);

        assert(category && severity && status);
        switch (event) {
        case INCIDENT_EVENT_NEW:
                message_id = MESSAGE_ID_INCIDENT;
                event_name = "new";
                break;
        case INCIDENT_EVENT_REGRESSION:
                message_id = MESSAGE_ID_INCIDENT_REGRESSION;
                event_name = "regression";
                break;
        case INCIDENT_EVENT_STATUS:
                message_id = MESSAGE_ID_INCIDENT_STATUS;
                /* The catalog and journalctl filters know a resolution by
                 * its own event name. */
                if (i->status == INCIDENT_RESOLVED) {
                        event_name = "resolved";
                        level = LOG_INFO;
                } else
                        event_name = "status";
                break;
        case INCIDENT_EVENT_REPEAT:
        case _INCIDENT_EVENT_MAX:
        case _INCIDENT_EVENT_INVALID:
                /* A repeat only bumps the count; nothing to record. */
                return 0;
        }
        if (!message_id)
                return 0;

        snprintf(f_id, sizeof f_id, "APPWATCH_INCIDENT=%lld", (long long) i->id);
        snprintf(f_app, sizeof f_app, "APPWATCH_APP=%s", i->app);
        snprintf(f_type, sizeof f_type, "APPWATCH_TYPE=%s", category);
        snprintf(f_sev, sizeof f_sev, "APPWATCH_SEVERITY=%s", severity);
        snprintf(f_status, sizeof f_status, "APPWATCH_STATUS=%s", status);
        snprintf(f_fp, sizeof f_fp, "APPWATCH_FINGERPRINT=%s", i->fingerprint);
        snprintf(f_event, sizeof f_event, "APPWATCH_EVENT=%s", event_name);
        snprintf(f_host, sizeof f_host, "APPWATCH_HOST=%s", i->host);
        snprintf(f_count, sizeof f_count, "APPWATCH_COUNT=%lld", (long long) i->count);
        snprintf(f_fix, sizeof f_fix, "APPWATCH_FIX=%s", i->fix_id ?: "none");
        const char *fields[] = { f_id, f_app, f_type, f_sev, f_status, f_fp, f_event, f_host,
                                 f_count, f_fix, NULL };

        if (event == INCIDENT_EVENT_NEW)
                return log_event(level, message_id, fields, "Incident #%lld (%s, %s) in %s: %s",
                                 (long long) i->id, severity, category, i->app, i->title);
        if (event == INCIDENT_EVENT_REGRESSION)
                return log_event(level, message_id, fields,
                                 "Incident #%lld (%s, %s) in %s is back after it was resolved "
                                 "(regression %lld): %s", (long long) i->id, severity,
                                 category, i->app, (long long) i->regressions, i->title);
        return log_event(level, message_id, fields, "Incident #%lld in %s is now %s.",
                         (long long) i->id, i->app, status);
}

typedef struct Pending {
        int64_t id;
        IncidentEvent event;
} Pending;

struct RecordSink {
        Store *store;
        IncidentListener *listener;
        TxnHook *hook;
        Pending *pending;
        size_t n_pending, cap_pending;
};

static int on_incident(const IncidentNotice *n, void *userdata) {
        RecordSink *s = userdata;

        /* A flood of repeats would flood the journal. */
        if (n->event == INCIDENT_EVENT_REPEAT)
                return 0;
        if (s->n_pending == s->cap_pending) {
                size_t cap = s->cap_pending ? s->cap_pending * 2 : 16;
                Pending *p = realloc(s->pending, sizeof(Pending) * cap);
                if (!p)
                        return -ENOMEM;
                s->pending = p;
                s->cap_pending = cap;
        }
        s->pending[s->n_pending++] = (Pending) { .id = n->id, .event = n->event };
        return 0;
}

static int on_postcommit(Txn *t, void *userdata) {
        RecordSink *s = userdata;

        for (size_t i = 0; i < s->n_pending; i++) {
                _cleanup_(incident_freep) Incident *inc = NULL;
                if (incident_get(s->store, s->pending[i].id, &inc) >= 0)
                        record_incident_event(inc, s->pending[i].event);
        }
        s->n_pending = 0;
        /* Give memory back after a burst. */
        if (s->cap_pending > 1024) {
                free(s->pending);
                s->pending = NULL;
                s->cap_pending = 0;
        }
        return 0;
}

int record_sink_new(IncidentBus *bus, Txn *txn, Store *store, RecordSink **ret) {
        _cleanup_(record_sink_freep) RecordSink *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->store = store;
        r = incident_bus_listen(bus, on_incident, s, NULL, &s->listener);
        if (r < 0)
                return r;
        r = txn_add_hook(txn, TXN_HOOK_POSTCOMMIT, TXN_PRIORITY_DEFAULT, on_postcommit, s, NULL,
                         &s->hook);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

RecordSink *record_sink_free(RecordSink *s) {
        if (!s)
                return NULL;
        incident_listener_free(s->listener);
        txn_hook_free(s->hook);
        free(s->pending);
        free(s);
        return NULL;
}
