/* SPDX-License-Identifier: MIT */
/*
 * Incident events, published to listeners. Whoever changes an incident —
 * the pipeline recording a finding, a verb or a finished job setting a
 * status — publishes one IncidentNotice while the change is still in the
 * open transaction (core/txn.h). Listeners run synchronously, in
 * registration order, and may write in the same transaction (an outbox row
 * is then durable exactly when the change is); a listener's negative return
 * is a write failure, which the publisher treats as fatal. Work that must
 * wait until the change is durable (journal records, queueing analyses) is
 * collected here and done in a post-commit hook. Loop thread only.
 */
#pragma once

#include <stdint.h>

#include "detect/finding.h"
#include "shared/cleanup.h"
#include "store/incidents.h"

typedef struct IncidentBus IncidentBus;
typedef struct IncidentListener IncidentListener;

/* Who changed a status. */
typedef enum IncidentReason {
        INCIDENT_REASON_NONE,         /* a sighting */
        INCIDENT_REASON_HUMAN,        /* appwatchctl resolve */
        INCIDENT_REASON_BUILD,        /* a wrapped build of the app passed */
        INCIDENT_REASON_FIX,          /* an auto-fix, verified */
        INCIDENT_REASON_NOTION,       /* someone changed the page in Notion */
        INCIDENT_REASON_SYSTEM,       /* appwatch's own checks */
        _INCIDENT_REASON_MAX,
} IncidentReason;

typedef struct IncidentNotice {
        IncidentEvent event;
        int64_t id;
        IncidentStatus status;        /* after the change; a repeat: _INCIDENT_STATUS_INVALID */
        IncidentReason reason;
        int64_t count;                /* sightings after the change; 0 when not known */
        const char *app;
        const Finding *finding;       /* new, repeat, regression: the finding; else NULL */
} IncidentNotice;

typedef int (*IncidentListenerFunc)(const IncidentNotice *n, void *userdata);

int incident_bus_new(IncidentBus **ret);
/* Frees the bus and removes (destroys) every listener still registered. */
IncidentBus *incident_bus_free(IncidentBus *b);
DEFINE_CLEANUP(IncidentBus, incident_bus_free)

/* Registers a listener; destroy (may be NULL) runs on userdata at removal. */
int incident_bus_listen(IncidentBus *b, IncidentListenerFunc f, void *userdata,
                        void (*destroy)(void *), IncidentListener **ret);
IncidentListener *incident_listener_free(IncidentListener *l);
DEFINE_CLEANUP(IncidentListener, incident_listener_free)

/* Calls every listener; stops at and returns the first negative return. */
int incident_bus_publish(IncidentBus *b, const IncidentNotice *n);
