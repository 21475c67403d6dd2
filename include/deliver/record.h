/* SPDX-License-Identifier: MIT */
/*
 * Structured journal records of incident events: one record per event with
 * MESSAGE_ID= and the APPWATCH_* fields (DESIGN.md §5), so that
 * `journalctl -u appwatch APPWATCH_SEVERITY=High` lists the High incidents.
 * Thread-safe (sd_journal_send is).
 */
#pragma once

#include "store/incidents.h"

/* event: "new", "regression", "resolved", "status". Returns 0. */
int record_incident_event(const Incident *i, const char *event);
