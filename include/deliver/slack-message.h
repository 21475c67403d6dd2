/* SPDX-License-Identifier: MIT */
/*
 * The Slack message of an incident event: an incoming-webhook payload (a
 * top-level `text` fallback plus Block Kit `blocks`) rendered from an
 * IncidentMessage, in the message's language, within Block Kit's limits.
 * Layout, limits and their sources are described in slack-message.c.
 * Pure (no I/O); thread-safe.
 */
#pragma once

#include <stddef.h>

#include "deliver/message.h"
#include "shared/taxonomy.h"

/* Limits of Block Kit (see slack-message.c for the sources). "Characters"
 * are counted as UTF-16 code units of the text as sent, which is never less
 * than its number of code points. */
#define SLACK_MAX_BLOCKS 50
#define SLACK_MAX_SECTION_TEXT 3000
#define SLACK_MAX_FIELDS 10
#define SLACK_MAX_FIELD_TEXT 2000
#define SLACK_MAX_HEADER_TEXT 150
#define SLACK_MAX_CONTEXT_ELEMENTS 10
/* Our own bounds, well below Slack's: the fallback `text` (Slack truncates
 * beyond 40,000) and the text of all blocks together (Slack answers
 * msg_blocks_too_long somewhere above 13,000). */
#define SLACK_MAX_FALLBACK_TEXT 300
#define SLACK_MAX_MESSAGE_TEXT 12000
/* Lines of a grouped message before "…and N more". */
#define SLACK_GROUP_MAX_LINES 30

/*
 * One message for one incident event (m->kind says which). Every string of
 * m must be valid UTF-8 (it is checked). For MESSAGE_TEST the guide's test
 * alert is rendered (app "Test", type "Test Alert", severity Low, not
 * auto-fixable) and only m->host is used.
 *
 * Returns 0 and a malloc'ed compact JSON string in *ret_json; -EINVAL for
 * an invalid language, kind, severity, status or category, a missing app,
 * or a string that is not valid UTF-8; -ENOMEM.
 */
int slack_render_incident(const IncidentMessage *m, Language lang, char **ret_json);

/*
 * One message for n new incidents seen within a short window, one line per
 * incident (mark, app, type, severity, title cut short, id), at most
 * SLACK_GROUP_MAX_LINES lines and then "…and N more". A group of one is
 * rendered as slack_render_incident() renders it. The host of the context
 * block is m[0]'s.
 *
 * Returns 0 and a malloc'ed compact JSON string in *ret_json; -EINVAL for
 * n == 0 or any message slack_render_incident() would refuse; -ENOMEM.
 */
int slack_render_group(const IncidentMessage *const *m, size_t n, Language lang, char **ret_json);
