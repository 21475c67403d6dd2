/* SPDX-License-Identifier: MIT */
/*
 * What the status and health checks read and write in the store: fixes
 * that never finished (fix_attempts, written by the fixer), appwatch's own
 * open incidents by the key they were recorded with, the health check's
 * results (health_results) and small facts in the meta table (the last
 * Notion sync). Writes happen in the caller's open transaction. Loop thread
 * only.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "shared/taxonomy.h"
#include "store/store.h"

/*
 * The fix attempts still 'running' or 'verifying' that started before
 * started_before (realtime usec), oldest first, as a JSON array of
 * {"id", "incident_id", "fix_id", "state", "started"}. Returns 0 and *ret
 * (owned by the caller), or -errno.
 */
int checks_stuck_fixes(Store *s, int64_t started_before, json_t **ret);

/*
 * appwatch's own incidents on host that are not Resolved and whose key
 * (lifecycle_record_internal()'s, kept as the source of their occurrences)
 * starts with prefix. Returns 0 with *ret_keys (a NULL-terminated strv),
 * *ret_ids (as many ids) and *ret_n, or -errno.
 */
int checks_open_internal(Store *s, const char *host, const char *prefix, char ***ret_keys,
                         int64_t **ret_ids, size_t *ret_n);

/* Appends one probe's result to health_results. Returns 0 or -errno. */
int health_result_add(Store *s, int64_t time, const char *app, const char *probe, bool ok,
                      const char *detail);

/* The value of a meta key: 1 and *ret (malloc'ed), 0 when unset, or -errno. */
int store_meta_get(Store *s, const char *key, char **ret);
/* Sets (or with value NULL, clears) a meta key. Returns 0 or -errno. */
int store_meta_set(Store *s, const char *key, const char *value);

/*
 * The incident whose Notion page is page_id (compared without dashes,
 * ignoring case): 1 with *ret_id and *ret_status, 0 when none, or -errno.
 */
int checks_incident_by_notion_page(Store *s, const char *page_id, int64_t *ret_id,
                                   IncidentStatus *ret_status);
/* Whether incident id has a Notion outbox row not yet delivered: 1, 0, or -errno. */
int checks_notion_pending(Store *s, int64_t id);
