/* SPDX-License-Identifier: MIT */
/*
 * Status changes of incidents (New -> In Progress -> Resolved | Manual
 * Required), from whoever makes them: a verb, a successful wrapped build,
 * later a fix or Notion. Each change is written in the open transaction and
 * published on the incident bus as INCIDENT_EVENT_STATUS, so its journal
 * record (and later its Slack and Notion updates) follow from one place.
 * Loop thread only.
 */
#pragma once

#include "core/incident-bus.h"
#include "core/txn.h"
#include "store/incidents.h"

/* Returns 1 when it changed, 0 when it already was so, -ENOENT, or -errno. */
int lifecycle_set_status(Txn *t, Store *s, IncidentBus *b, int64_t id, IncidentStatus status,
                         IncidentReason reason);

/* Resolves app's open incidents of origin. Returns how many, or -errno. */
int lifecycle_resolve_app(Txn *t, Store *s, IncidentBus *b, const char *app, const char *origin);

/*
 * Records a problem of appwatch itself (a delivery refused for good, an API
 * key that stopped working) as an incident of app "appwatch", origin
 * "appwatch": key names it stably (e.g. "slack:invalid_token"), so the same
 * problem is one incident however often it is seen. Published as a new
 * incident, a repeat or a regression like any other. Returns 0 and *ret_id.
 */
int lifecycle_record_internal(Txn *t, Store *s, IncidentBus *b, const char *host, const char *key,
                              Category category, Severity severity, const char *title,
                              const char *detail, int64_t *ret_id);
