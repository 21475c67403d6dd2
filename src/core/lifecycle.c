/* SPDX-License-Identifier: MIT */
/* Incident status changes; see lifecycle.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/lifecycle.h"
#include "detect/fingerprint.h"
#include "shared/parse.h"

static int publish(IncidentBus *b, int64_t id, IncidentStatus status, IncidentReason reason,
                   int64_t count, const char *app) {
        IncidentNotice n = { .event = INCIDENT_EVENT_STATUS, .id = id, .status = status,
                             .reason = reason, .count = count, .app = app };

        return incident_bus_publish(b, &n);
}

int lifecycle_set_status(Txn *t, Store *s, IncidentBus *b, int64_t id, IncidentStatus status,
                         IncidentReason reason) {
        _cleanup_(incident_freep) Incident *inc = NULL;
        int r, changed;

        r = txn_begin(t);
        if (r < 0)
                return r;
        changed = incident_set_status(s, id, status, (int64_t) now_realtime());
        if (changed <= 0)
                return changed;
        r = incident_get(s, id, &inc);
        if (r < 0)
                return r;
        r = publish(b, id, status, reason, inc->count, inc->app);
        return r < 0 ? r : changed;
}

int lifecycle_resolve_app(Txn *t, Store *s, IncidentBus *b, const char *app, const char *origin) {
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0;
        int r;

        r = txn_begin(t);
        if (r < 0)
                return r;
        r = incident_resolve_app(s, app, origin, (int64_t) now_realtime(), &ids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = publish(b, ids[i], INCIDENT_RESOLVED, INCIDENT_REASON_BUILD, 0, app);
                if (r < 0)
                        return r;
        }
        return (int) n;
}

int lifecycle_record_internal(Txn *t, Store *s, IncidentBus *b, const char *host, const char *key,
                              Category category, Severity severity, const char *title,
                              const char *detail, int64_t *ret_id) {
        Finding f = {
                .category = category,
                .severity = severity,
                .fix = (char *) "none",
                .title = (char *) title,
                .excerpt = (char *) (detail ?: title),
                .stream = (char *) "appwatch",
                .rule = (char *) "appwatch",
        };
        int64_t id, count = 0;
        int r, event;

        r = detect_fingerprint(category, key, strlen(key), f.fingerprint);
        if (r < 0)
                return r;
        r = txn_begin(t);
        if (r < 0)
                return r;
        Occurrence o = {
                .fingerprint = f.fingerprint,
                .app = "appwatch",
                .host = host,
                .category = category,
                .severity = severity,
                .title = title,
                .excerpt = f.excerpt,
                .origin = "appwatch",
                .source = key,
                .seen = (int64_t) now_realtime(),
        };
        event = incident_record_counted(s, &o, &id, &count);
        if (event < 0)
                return event;
        IncidentNotice n = {
                .event = (IncidentEvent) event,
                .id = id,
                .status = event == INCIDENT_EVENT_REPEAT ? _INCIDENT_STATUS_INVALID : INCIDENT_NEW,
                .reason = INCIDENT_REASON_SYSTEM,
                .count = count,
                .app = "appwatch",
                .finding = &f,
        };
        r = incident_bus_publish(b, &n);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = id;
        return 0;
}
