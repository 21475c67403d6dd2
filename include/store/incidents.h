/* SPDX-License-Identifier: MIT */
/*
 * Incidents, their occurrences and the ingest positions, on top of the
 * store's connection. An incident is one distinct failure, identified by
 * (host, app, fingerprint); every sighting bumps its count and adds an
 * occurrence (the newest STORE_MAX_OCCURRENCES are kept per incident).
 * Status lifecycle: New -> In Progress -> Resolved | Manual Required; a
 * sighting of a Resolved incident reopens it as New with the regression flag
 * set and its regressions counter bumped.
 *
 * The database keeps category, severity and status as their taxonomy strings
 * (shared/taxonomy.h); Incident and Occurrence carry the enums, converted
 * here, and a row with a string the taxonomy does not know fails to load.
 *
 * Recording and position updates do not open transactions: the pipeline
 * wraps one batch (incidents + the positions they came from) in one.
 * Threading: loop thread only.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "shared/taxonomy.h"
#include "store/store.h"

#define STORE_MAX_OCCURRENCES 50

/* One sighting, as the pipeline hands it in. Strings are borrowed. */
typedef struct Occurrence {
        const char *fingerprint;
        const char *app;
        const char *host;
        Category category;
        Severity severity;
        const char *title;
        const char *excerpt;
        const char *fix_id;          /* NULL or "none" when manual */
        const char *origin;          /* journal, file, run, unit, submit */
        const char *source;          /* e.g. the file path or unit name */
        int64_t seen;                /* CLOCK_REALTIME usec */
} Occurrence;

typedef struct Incident {
        int64_t id;
        char *fingerprint, *app, *host;
        Category category;
        Severity severity;
        IncidentStatus status;
        char *title, *excerpt, *analysis, *fix_id, *fix_state, *notion_page_id, *origin;
        int64_t count, regressions, fix_attempts;
        bool regression;
        int64_t first_seen, last_seen, resolved_at;  /* resolved_at 0 when not resolved */
} Incident;

Incident *incident_free(Incident *i);
DEFINE_CLEANUP(Incident, incident_free)
void incident_list_free(Incident **l, size_t n);

/*
 * Records o: creates its incident or bumps it. Returns the IncidentEvent
 * (INCIDENT_EVENT_NEW, _REPEAT or _REGRESSION) and *ret_id, or a negative
 * errno.
 */
int incident_record(Store *s, const Occurrence *o, int64_t *ret_id);
/* The same, and the incident's count after it in *ret_count (may be NULL). */
int incident_record_counted(Store *s, const Occurrence *o, int64_t *ret_id, int64_t *ret_count);

/* Loads one incident: 0, -ENOENT, -EBADMSG (logged) when its row holds a
 * category, severity or status the taxonomy does not know, or another -errno. */
int incident_get(Store *s, int64_t id, Incident **ret);

typedef struct IncidentFilter {
        const char *app;             /* NULL: any */
        int status;                  /* an IncidentStatus, or -1 for any */
        int64_t since;               /* last_seen at or after this; 0: any */
        size_t limit;                /* 0: 1000 */
} IncidentFilter;

/* Lists incidents, most recently seen first. *ret is NULL when none. Fails
 * with -EBADMSG like incident_get when one of the rows cannot be loaded. */
int incident_list(Store *s, const IncidentFilter *f, Incident ***ret, size_t *ret_n);

/*
 * Sets the status. Resolved sets resolved_at and clears the regression flag.
 * Returns 1 when it changed, 0 when it was already so, -ENOENT.
 */
int incident_set_status(Store *s, int64_t id, IncidentStatus status, int64_t now);

/*
 * Resolves the open incidents of app whose origin is origin (a successful
 * wrapped build resolves that app's build incidents). Returns how many, and
 * their ids in *ret_ids (malloc'ed; may be NULL) when asked.
 */
int incident_resolve_app(Store *s, const char *app, const char *origin, int64_t now,
                         int64_t **ret_ids, size_t *ret_n);

/* The newest occurrences of an incident as a JSON array of {seen, source, excerpt}. */
int incident_occurrences_json(Store *s, int64_t id, size_t limit, json_t **ret);

/* The incident as a JSON object with every field. NULL on OOM. */
json_t *incident_to_json(const Incident *i);

/* A saved ingest position: a journal cursor, or a file's place. */
typedef struct StorePosition {
        char *cursor;                /* journal sources */
        uint64_t dev, inode, offset; /* file sources */
        char marker[17];             /* hash of the bytes before offset, hex; "" at 0 */
} StorePosition;

void store_position_done(StorePosition *p);

/* Upserts the position of source (e.g. "journal", "file:DEV:INODE"). */
int position_save(Store *s, const char *source, const StorePosition *p, int64_t now);
/* Returns 1 with *ret filled, 0 when there is none, or -errno. */
int position_load(Store *s, const char *source, StorePosition *ret);
/* Deletes a position (a deleted file, a reset cursor). */
int position_delete(Store *s, const char *source);

/*
 * Lines of a block still being assembled, per stream (see the schema). data
 * is opaque here. pending_save with len 0 deletes the row.
 */
int pending_save(Store *s, const char *stream, const char *meta, const void *data, size_t len,
                 int64_t now);
typedef int (*PendingFunc)(const char *stream, const char *meta, const void *data, size_t len,
                           void *userdata);
/* Calls f for every saved stream; a negative return from f stops and is returned. */
int pending_foreach(Store *s, PendingFunc f, void *userdata);

/* Stores the Notion page made for an incident (NULL forgets it). 0 or -ENOENT. */
int incident_set_notion_page(Store *s, int64_t id, const char *page_id);

/* Stores the analysis text of an incident. 0 or -ENOENT. */
int incident_set_analysis(Store *s, int64_t id, const char *analysis);
/* Lists ids of incidents without an analysis (jobs a crash interrupted). */
int incident_list_unanalyzed(Store *s, size_t limit, int64_t **ret, size_t *ret_n);
