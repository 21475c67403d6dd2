/* SPDX-License-Identifier: MIT */
/* Journal records of incident events; see record.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "deliver/record.h"
#include "shared/catalog-ids.h"
#include "shared/log.h"

int record_incident_event(const Incident *i, const char *event) {
        char f_id[64], f_app[256], f_type[96], f_sev[64], f_status[64], f_fp[96], f_event[64],
                f_host[256], f_count[64], f_fix[160];
        const char *message_id = strcmp(event, "new") == 0          ? MESSAGE_ID_INCIDENT
                                 : strcmp(event, "regression") == 0 ? MESSAGE_ID_INCIDENT_REGRESSION
                                                                    : MESSAGE_ID_INCIDENT_STATUS;
        int level = strcmp(i->severity, "Critical") == 0 ? LOG_CRIT
                    : strcmp(i->severity, "High") == 0   ? LOG_ERR
                    : strcmp(i->severity, "Medium") == 0 ? LOG_WARNING
                                                         : LOG_NOTICE;

        if (strcmp(event, "resolved") == 0)
                level = LOG_INFO;
        snprintf(f_id, sizeof f_id, "APPWATCH_INCIDENT=%lld", (long long) i->id);
        snprintf(f_app, sizeof f_app, "APPWATCH_APP=%s", i->app);
        snprintf(f_type, sizeof f_type, "APPWATCH_TYPE=%s", i->category);
        snprintf(f_sev, sizeof f_sev, "APPWATCH_SEVERITY=%s", i->severity);
        snprintf(f_status, sizeof f_status, "APPWATCH_STATUS=%s", i->status);
        snprintf(f_fp, sizeof f_fp, "APPWATCH_FINGERPRINT=%s", i->fingerprint);
        snprintf(f_event, sizeof f_event, "APPWATCH_EVENT=%s", event);
        snprintf(f_host, sizeof f_host, "APPWATCH_HOST=%s", i->host);
        snprintf(f_count, sizeof f_count, "APPWATCH_COUNT=%lld", (long long) i->count);
        snprintf(f_fix, sizeof f_fix, "APPWATCH_FIX=%s", i->fix_id ?: "none");
        const char *fields[] = { f_id, f_app, f_type, f_sev, f_status, f_fp, f_event, f_host,
                                 f_count, f_fix, NULL };

        if (strcmp(event, "new") == 0)
                return log_event(level, message_id, fields, "Incident #%lld (%s, %s) in %s: %s",
                                 (long long) i->id, i->severity, i->category, i->app, i->title);
        if (strcmp(event, "regression") == 0)
                return log_event(level, message_id, fields,
                                 "Incident #%lld (%s, %s) in %s is back after it was resolved "
                                 "(regression %lld): %s", (long long) i->id, i->severity,
                                 i->category, i->app, (long long) i->regressions, i->title);
        return log_event(level, message_id, fields, "Incident #%lld in %s is now %s.",
                         (long long) i->id, i->app, i->status);
}

typedef struct Pending {
        int64_t id;
        const char *event;      /* a literal */
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
        const char *event = NULL;

        switch (n->event) {
        case INCIDENT_EVENT_NEW:
                event = "new";
                break;
        case INCIDENT_EVENT_REGRESSION:
                event = "regression";
                break;
        case INCIDENT_EVENT_STATUS:
                event = n->status == INCIDENT_RESOLVED ? "resolved" : "status";
                break;
        case INCIDENT_EVENT_REPEAT:
        case _INCIDENT_EVENT_MAX:
                return 0;
        }
        if (s->n_pending == s->cap_pending) {
                size_t cap = s->cap_pending ? s->cap_pending * 2 : 16;
                Pending *p = realloc(s->pending, sizeof(Pending) * cap);
                if (!p)
                        return -ENOMEM;
                s->pending = p;
                s->cap_pending = cap;
        }
        s->pending[s->n_pending++] = (Pending) { .id = n->id, .event = event };
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
