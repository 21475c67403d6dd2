/* SPDX-License-Identifier: MIT */
/*
 * What a message to Slack or Notion says about an incident: a plain record,
 * filled from the store and the outbox row by the sender, rendered by
 * deliver/slack-message.c and deliver/notion-page.c. Every string is valid
 * UTF-8 and already redacted (detect_redact) by whoever fills it. Pure.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <errno.h>

#include "shared/taxonomy.h"

/* Why a message is sent. */
typedef enum MessageKind {
        MESSAGE_NEW,              /* a new incident */
        MESSAGE_REPEAT,           /* an open incident seen again (count_since_last) */
        MESSAGE_REGRESSION,       /* seen again after it was resolved */
        MESSAGE_RESOLVED,         /* resolved (by a passing build, by hand, in Notion) */
        MESSAGE_FIX_SUCCEEDED,    /* auto-fix verified: "자동 수정 완료" */
        MESSAGE_MANUAL_REQUIRED,  /* auto-fix failed or none applies: "수동 수정 필요" */
        MESSAGE_STATUS,           /* another status change */
        MESSAGE_TEST,             /* appwatchctl test-notify */
        _MESSAGE_KIND_MAX,
        _MESSAGE_KIND_INVALID = -EINVAL,
} MessageKind;

const char *message_kind_to_string(MessageKind k);
MessageKind message_kind_from_string(const char *s);

typedef struct IncidentMessage {
        MessageKind kind;
        int64_t id;                   /* the incident; 0 for a test message */
        const char *app;
        const char *host;
        Category category;
        const char *type_label;       /* the category's label in the message's language; may be NULL */
        Severity severity;
        IncidentStatus status;
        bool auto_fixable;
        int64_t count;                /* sightings in all */
        int64_t count_since_last;     /* since the previous message about it (repeats) */
        int64_t regressions;
        int64_t first_seen, last_seen;  /* CLOCK_REALTIME usec */
        const char *title;
        const char *summary;          /* the analysis, one paragraph; may be NULL */
        const char *fix_id;           /* the fix proposed or attempted; NULL: none */
        const char *fix_result;       /* what the fix did ("succeeded", "failed: ..."); may be NULL */
        const char *fix_output;       /* the tail of the fix's output; may be NULL */
        const char *excerpt;          /* the log excerpt; may be NULL */
        const char *fingerprint;
        const char *unit;             /* e.g. the fix's unit, for journalctl -u; may be NULL */
} IncidentMessage;
