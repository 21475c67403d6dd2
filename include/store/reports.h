/* SPDX-License-Identifier: MIT */
/*
 * The tables of the schedules (schema version 5): reports (the reports
 * recorded, with their windows: the next one starts where the last ended)
 * and daemon_runs (when appwatchd ran: started at start, heartbeat moved
 * at each scheduled verb and at stop, stopped at a clean stop; the gaps
 * between runs are the times it did not run). Also the queries that fill a
 * deliver/report.h Report. Does not open transactions. Loop thread only.
 */
#pragma once

#include <stdint.h>

#include "deliver/report.h"
#include "store/store.h"

/* The end of the newest report of kind: 1 and *ret, 0 when there is none. */
int report_last_end(Store *s, const char *kind, int64_t *ret);
/* Records a report; *ret_id (may be NULL) its id. */
int report_record(Store *s, const char *kind, int64_t window_start, int64_t window_end,
                  int64_t now, const char *body, int64_t *ret_id);

/* Fills r (zeroed first) for the window [start, end). */
int report_collect(Store *s, int64_t start, int64_t end, Report *r);

/* A run of appwatchd begins at now: *ret_id is its row. */
int daemon_run_start(Store *s, int64_t now, int64_t *ret_id);
/* It is still running at now (stopped too when stopped is true). */
int daemon_run_heartbeat(Store *s, int64_t id, int64_t now, bool stopped);
