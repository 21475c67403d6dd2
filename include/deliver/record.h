/* SPDX-License-Identifier: MIT */
/*
 * Structured journal records of incident events: one record per event with
 * MESSAGE_ID= and the APPWATCH_* fields (DESIGN.md §5), so that
 * `journalctl -u appwatch APPWATCH_SEVERITY=High` lists the High incidents.
 * Thread-safe (sd_journal_send is).
 */
#pragma once

#include "shared/taxonomy.h"
#include "store/incidents.h"

/*
 * Records event of incident i: INCIDENT_EVENT_NEW or _REGRESSION for a
 * sighting, INCIDENT_EVENT_STATUS after a status change (to i->status;
 * APPWATCH_EVENT=resolved when that is Resolved). A repeat is not recorded.
 * Returns 0.
 */
int record_incident_event(const Incident *i, IncidentEvent event);
