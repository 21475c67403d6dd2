/* SPDX-License-Identifier: MIT */
/*
 * The configured ingest sources — the journal and the [Watch.*] log files —
 * connected to the pipeline: each line goes in with its stream and origin,
 * and each source's position is handed to the pipeline so it is committed
 * with the incidents it produced. Rebuilt on reload (after a commit, so the
 * new sources resume exactly where the old ones stopped). Loop thread only.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "core/pipeline.h"
#include "shared/config.h"
#include "store/store.h"

typedef struct Sources Sources;

/* Creates and starts the sources of c. Returns 0 or a logged -errno. */
int sources_new(sd_event *event, const Config *c, Store *store, Pipeline *pipeline,
                Sources **ret);
Sources *sources_free(Sources *s);
DEFINE_CLEANUP(Sources, sources_free)

/* Backpressure from the pipeline. */
void sources_pause(Sources *s, bool pause);

/* Hands the files' positions to the pipeline; called before each commit. */
int sources_flush_positions(Sources *s);

size_t sources_count(const Sources *s);
/* {"journal": {...}, "watches": [...], "files": N, ...} for appwatchctl status. */
json_t *sources_status_json(Sources *s);
