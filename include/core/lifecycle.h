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
int lifecycle_set_status(Txn *t, Store *s, IncidentBus *b, int64_t id, IncidentStatus status);

/* Resolves app's open incidents of origin. Returns how many, or -errno. */
int lifecycle_resolve_app(Txn *t, Store *s, IncidentBus *b, const char *app, const char *origin);
