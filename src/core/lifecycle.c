/* SPDX-License-Identifier: MIT */
/* Incident status changes; see lifecycle.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>

#include "core/lifecycle.h"
#include "shared/parse.h"

static int publish(IncidentBus *b, Store *s, int64_t id, IncidentStatus status, const char *app) {
        IncidentNotice n = { .event = INCIDENT_EVENT_STATUS, .id = id, .status = status,
                             .app = app };

        return incident_bus_publish(b, &n);
}

int lifecycle_set_status(Txn *t, Store *s, IncidentBus *b, int64_t id, IncidentStatus status) {
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
        r = publish(b, s, id, status, inc->app);
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
                r = publish(b, s, ids[i], INCIDENT_RESOLVED, app);
                if (r < 0)
                        return r;
        }
        return (int) n;
}
