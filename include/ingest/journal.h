/* SPDX-License-Identifier: MIT */
/*
 * The journal source: follows the systemd journal (or a directory of
 * journal files, e.g. collected by systemd-journal-remote from build hosts)
 * on the sd-event loop and hands each message line to a callback with the
 * entry's cursor. It filters by units, identifiers and priority, and never
 * passes appwatch's own records, so the daemon cannot feed on itself.
 * Work per dispatch is bounded; the rest continues through a defer source.
 * Threading: loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "shared/cleanup.h"
#include "shared/parse.h"

typedef struct JournalSource JournalSource;

typedef struct JournalLine {
        const char *stream;       /* "HOST/UNIT" or "HOST/IDENTIFIER": one assembly stream */
        const char *unit;         /* _SYSTEMD_UNIT, or NULL */
        const char *identifier;   /* SYSLOG_IDENTIFIER, or NULL */
        const char *host;         /* _HOSTNAME, or NULL */
        const char *data;         /* one line of MESSAGE, without '\n' */
        size_t len;
        int priority;             /* 0-7; 6 when the entry has none */
        uint64_t realtime_usec;
        const char *cursor;       /* of the entry */
        bool last_of_entry;       /* the entry's last line: committing its cursor is safe after it */
} JournalLine;

/* Returns 0 to go on, or < 0 to stop (the entry is delivered again after journal_source_resume). */
typedef int (*JournalLineFunc)(JournalSource *j, const JournalLine *line, void *userdata);
/* Called when a saved cursor could not be used and reading fell back to the tail. */
typedef void (*JournalResetFunc)(JournalSource *j, const char *cursor, const char *reason,
                                 void *userdata);

typedef struct JournalOptions {
        char **units;             /* _SYSTEMD_UNIT values; with identifiers empty too: all */
        char **identifiers;       /* SYSLOG_IDENTIFIER values */
        int min_priority;         /* least urgent priority passed, 0-7 */
        const char *directory;    /* read these files instead of the local journal */
        const char *own_unit;     /* never passed (default "appwatch.service") */
        const char *cursor;       /* resume after this entry; NULL: see from_head */
        bool from_head;           /* without a cursor: read from the start (else only new entries) */
        unsigned batch;           /* entries per dispatch (default 1000) */
        usec_t time_budget;       /* time delivering lines per dispatch, whichever of the two
                                   * runs out first (default 50 ms) */
} JournalOptions;

int journal_source_new(sd_event *event, const JournalOptions *o, JournalLineFunc on_line,
                       JournalResetFunc on_reset, void *userdata, JournalSource **ret);
JournalSource *journal_source_free(JournalSource *j);
DEFINE_CLEANUP(JournalSource, journal_source_free)

void journal_source_pause(JournalSource *j);
void journal_source_resume(JournalSource *j);
/* Reads everything available now (start-up catch-up, tests). Returns 0 or -errno. */
int journal_source_poll(JournalSource *j);

typedef struct JournalStats {
        uint64_t entries, lines, skipped_own, invalidations;
} JournalStats;
void journal_source_get_stats(const JournalSource *j, JournalStats *ret);
