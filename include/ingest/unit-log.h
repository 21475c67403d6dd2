/* SPDX-License-Identifier: MIT */
/*
 * The journal output of one invocation of a unit, for the OnFailure=
 * template (appwatch-failure@.service runs `appwatchctl submit-unit %i`).
 * Reads the local journal; no loop, no threads.
 */
#pragma once

#include <stddef.h>

/*
 * Collects the MESSAGE lines of unit's invocation invocation_id (NULL: the
 * unit's most recent invocation in the journal), keeping the last max_bytes.
 * Returns 0 with *ret_text (and *ret_invocation, the id used) malloc'ed,
 * -ENOENT when the journal has no entries of the unit, or -errno.
 */
int unit_log_collect(const char *unit, const char *invocation_id, size_t max_bytes,
                     char **ret_text, char **ret_invocation);
