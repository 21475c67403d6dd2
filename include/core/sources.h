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
#include "core/positions.h"
#include "core/txn.h"
#include "shared/config.h"
#include "store/store.h"

typedef struct Sources Sources;

/*
 * Creates the sources of c, reading nothing yet: a reload builds them all
 * before it lets go of the old ones. Their positions go to positions,
 * handed over in a pre-commit hook on txn. Returns 0 or a logged -errno.
 */
int sources_new(sd_event *event, const Config *c, Store *store, Txn *txn, Positions *positions,
                Pipeline *pipeline, Sources **ret);
/* Starts reading. Commit right after (see sources.c). Returns 0 or -errno. */
int sources_start(Sources *s);
Sources *sources_free(Sources *s);
DEFINE_CLEANUP(Sources, sources_free)

/* Backpressure from the pipeline. */
void sources_pause(Sources *s, bool pause);

size_t sources_count(const Sources *s);
/* {"journal": {...}, "watches": [...], "files": N, ...} for appwatchctl status. */
json_t *sources_status_json(Sources *s);
