/* SPDX-License-Identifier: MIT */
/*
 * Structured journal records of incident events: one record per event with
 * MESSAGE_ID= and the APPWATCH_* fields (DESIGN.md §5), so that
 * `journalctl -u appwatch APPWATCH_SEVERITY=High` lists the High incidents.
 *
 * A RecordSink listens on the incident bus and writes the records of new
 * incidents, regressions and status changes once the transaction that made
 * them has committed: the journal never tells of an incident the database
 * does not have. Repeats are not recorded (a flood would flood the journal).
 * record_incident_event() is thread-safe (sd_journal_send is); the sink is
 * loop-thread only.
 */
#pragma once

#include "core/incident-bus.h"
#include "core/txn.h"
#include "shared/taxonomy.h"
#include "store/incidents.h"

/*
 * Records event of incident i: INCIDENT_EVENT_NEW or _REGRESSION for a
 * sighting, INCIDENT_EVENT_STATUS after a status change (to i->status;
 * APPWATCH_EVENT=resolved when that is Resolved). A repeat is not recorded.
 * Returns 0.
 */
int record_incident_event(const Incident *i, IncidentEvent event);

typedef struct RecordSink RecordSink;

int record_sink_new(IncidentBus *bus, Txn *txn, Store *store, RecordSink **ret);
RecordSink *record_sink_free(RecordSink *s);
DEFINE_CLEANUP(RecordSink, record_sink_free)
