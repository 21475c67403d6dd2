/* SPDX-License-Identifier: MIT */
/*
 * Turns incident events into outbox rows, in the transaction of the change
 * that caused them (a listener on the incident bus), so a message is
 * durable exactly when its incident is. What is sent, per the users' guide:
 *
 *   Slack   new incidents, regressions and repeats of open incidents (at most
 *           once per RepeatIntervalSec=, with the count since the last one),
 *           resolved and manual-required outcomes; only from MinSeverity= up
 *           ("알림 필터링": Low, such as a fix that worked, is sent unless
 *           the bar is raised).
 *   Notion  one page per incident (created for a new one), and its 상태
 *           following the incident's status; a regression sets it back.
 *
 * Loop thread only.
 */
#pragma once

#include <stdbool.h>

#include "core/incident-bus.h"
#include "core/txn.h"
#include "shared/parse.h"
#include "shared/taxonomy.h"
#include "store/store.h"

typedef struct OutboxWriter OutboxWriter;

typedef struct OutboxWriterOptions {
        bool slack;                    /* a webhook is configured */
        bool notion;                   /* a token and a database are configured */
        Severity slack_min_severity;
        usec_t slack_repeat_interval;  /* 0: never re-announce repeats */
} OutboxWriterOptions;

/* Called once something was written, after the commit made it durable. */
typedef void (*OutboxWrittenFunc)(void *userdata);

int outbox_writer_new(IncidentBus *bus, Txn *txn, Store *store, const OutboxWriterOptions *o,
                      OutboxWriter **ret);
OutboxWriter *outbox_writer_free(OutboxWriter *w);
DEFINE_CLEANUP(OutboxWriter, outbox_writer_free)

void outbox_writer_set_options(OutboxWriter *w, const OutboxWriterOptions *o);
void outbox_writer_set_written_callback(OutboxWriter *w, OutboxWrittenFunc f, void *userdata);

/*
 * Queues daily report report_id in the open transaction (begun if none), the
 * one that records it, so it goes out exactly once: to Slack as a Low
 * message (only when MinSeverity=Low, the guide's tier for it) with the
 * Block Kit body slack_body, and to Notion (when configured) as a page
 * titled title with text as its body. Returns how many rows were written.
 */
int outbox_writer_add_report(OutboxWriter *w, int64_t report_id, const char *slack_body,
                             const char *title, const char *text);
