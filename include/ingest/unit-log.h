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
 * unit's most recent invocation in the journal), keeping the last max_bytes,
 * from the local journal (directory NULL) or the journal files in directory.
 * The invocation's lines are those that carry its id, and the unit's lines
 * without an id written between its first and last line: journald looks an
 * output line's invocation id up in the unit's cgroup, and a process that
 * printed its error and exited at once may be gone by the time journald
 * reads the line, which is then stored with the unit's name but no id.
 * Returns 0 with *ret_text (and *ret_invocation, the id used) malloc'ed,
 * -ENOENT when the journal has no entries of the unit, or -errno.
 */
int unit_log_collect(const char *directory, const char *unit, const char *invocation_id,
                     size_t max_bytes, char **ret_text, char **ret_invocation);
