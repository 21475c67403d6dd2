/* SPDX-License-Identifier: MIT */
/*
 * The outbox: every message to Slack or Notion is first a row here, written
 * in the same transaction as the incident change that caused it, and marked
 * done only after the sink accepted it. Rows of one sink are sent in the
 * order they were written (by id). A row's idempotency key is unique:
 * writing the same message twice is a no-op. Done rows are kept for a while
 * (so a re-queue of a delivered message stays a no-op) and pruned later.
 * Does not open transactions (core/txn does). Loop thread only.
 */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdint.h>

#include "store/store.h"

typedef enum OutboxSink {
        OUTBOX_SLACK,
        OUTBOX_NOTION,
        _OUTBOX_SINK_MAX,
        _OUTBOX_SINK_INVALID = -EINVAL,
} OutboxSink;

typedef enum OutboxState {
        OUTBOX_PENDING,
        OUTBOX_DONE,
        OUTBOX_DEAD,             /* refused for good (a payload the sink rejects) */
        _OUTBOX_STATE_MAX,
        _OUTBOX_STATE_INVALID = -EINVAL,
} OutboxState;

const char *outbox_sink_to_string(OutboxSink s);
OutboxSink outbox_sink_from_string(const char *s);
const char *outbox_state_to_string(OutboxState s);
OutboxState outbox_state_from_string(const char *s);

typedef struct OutboxRow {
        int64_t id;
        OutboxSink sink;
        char *target;            /* the incident id, or "" */
        char *key;
        char *payload;           /* JSON */
        OutboxState state;
        int64_t attempts;
        int64_t next_attempt;    /* CLOCK_REALTIME usec; 0: now */
        char *last_error;        /* NULL when none */
        int64_t created;
} OutboxRow;

void outbox_row_done(OutboxRow *r);
void outbox_rows_free(OutboxRow *rows, size_t n);

/* Adds a pending row. Returns 1 when added, 0 when the key was there already. */
int outbox_add(Store *s, OutboxSink sink, const char *target, const char *key,
               const char *payload, int64_t now);

/*
 * The oldest pending rows of sink (at most max), in order, whether due or
 * not: the first one decides when the sink sends next. *ret is NULL when
 * there are none.
 */
int outbox_head(Store *s, OutboxSink sink, size_t max, OutboxRow **ret, size_t *ret_n);

int outbox_mark_done(Store *s, int64_t id, int64_t now);
/* Counts an attempt and sets when the next one is due, keeping error. */
int outbox_mark_retry(Store *s, int64_t id, int64_t next_attempt, const char *error);
/* Counts an attempt, keeps error and sets the row dead. */
int outbox_mark_dead(Store *s, int64_t id, const char *error);
/* Makes held-back rows of sink due now (after its configuration changed). */
int outbox_make_due(Store *s, OutboxSink sink, int64_t now);
/* Puts a dead row (id > 0) or every dead row (id 0) back in the queue. Returns how many. */
int outbox_retry_dead(Store *s, int64_t id, int64_t now);
/* Deletes done rows older than before. Returns how many. */
int outbox_prune(Store *s, int64_t before);

/* The pending and dead rows (oldest first) as a JSON array for appwatchctl outbox. */
int outbox_list_json(Store *s, size_t limit, json_t **ret);

typedef struct OutboxStats {
        uint64_t pending, dead;
        int64_t oldest_pending;  /* created, 0 when none */
        uint64_t pending_by_sink[_OUTBOX_SINK_MAX];
} OutboxStats;
int outbox_stats(Store *s, OutboxStats *ret);

/* The newest row of sink for target whose key starts with prefix: 1 and *ret, 0 when none. */
int outbox_last_for(Store *s, OutboxSink sink, const char *target, const char *prefix,
                    OutboxRow *ret);
