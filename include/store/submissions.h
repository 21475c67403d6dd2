/* SPDX-License-Identifier: MIT */
/*
 * The submissions taken: appwatchctl gives every submission (run, submit,
 * submit-unit) a random id, and the daemon records the id in the same
 * transaction as the submission's incidents. A second copy of a submission
 * (the client gave up waiting and spooled it while the daemon still took
 * the first from the socket) is recognised by its id and ignored, so no
 * failure is counted twice. Ids are kept for a while (a week) and pruned.
 * Does not open transactions (core/txn does). Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

/* Longest id accepted (the client makes 32 hex digits). */
#define SUBMISSION_ID_MAX 64

/* Whether s is a well-formed submission id: 1..SUBMISSION_ID_MAX of [0-9a-f-]. */
bool submission_id_is_valid(const char *s);

/* 1 when the id was recorded (a copy of it was taken), 0 when not, or -errno. */
int submission_seen(Store *s, const char *id);

/*
 * Records id as taken at taken (CLOCK_REALTIME µs), inside the caller's
 * transaction. Returns 1 when recorded, 0 when it was recorded already, or
 * -errno.
 */
int submission_record(Store *s, const char *id, int64_t taken);

/* Deletes the ids taken before before (µs). Returns how many, or -errno. */
int submission_prune(Store *s, int64_t before);
