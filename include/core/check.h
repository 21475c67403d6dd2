/* SPDX-License-Identifier: MIT */
/*
 * The status check's judgement (appwatchctl check, every 10 minutes): the
 * samples the daemon took (free blocks and inodes of its directories'
 * filesystems, whether each source is alive, queue depths, the outbox, fixes
 * that never finished) are compared with the [Check] thresholds into a
 * CheckReport, one CheckItem per thing looked at. A breach has a stable key
 * ("check:disk:/var/lib/appwatch") that names the incident of appwatch's own
 * it becomes; the verb (verbs-check.c) records and resolves those. Pure: no
 * I/O, any thread.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#include "shared/config.h"
#include "shared/taxonomy.h"

/* The prefix of every status check key. */
#define CHECK_KEY_PREFIX "check:"

typedef struct CheckThresholds {
        unsigned min_free_disk;      /* percent; 0: not checked */
        unsigned min_free_inodes;    /* percent; 0: not checked */
        usec_t max_outbox_age;
        unsigned max_queue_depth;
        usec_t stuck_after;          /* [Fix] TimeoutSec= + [Check] StuckFixMarginSec= */
} CheckThresholds;

CheckThresholds check_thresholds_from_config(const Config *c);

typedef struct CheckItem {
        char *key;            /* CHECK_KEY_PREFIX "kind:what" */
        char *kind;           /* "disk", "inodes", "watch", "journal", "queue", "outbox", "fix" */
        bool breach;
        Category category;
        Severity severity;
        char *title;          /* one line, in English, naming what and the threshold */
        json_t *data;         /* the figures: {"free_percent": 3, "min_percent": 5, ...} */
} CheckItem;

typedef struct CheckReport {
        CheckItem *items;
        size_t n;
} CheckReport;

void check_report_done(CheckReport *r);
size_t check_report_breaches(const CheckReport *r);
/*
 * Adds an item under key (any prefix: the health check's are "gemini:...",
 * "notion:...", "slack:..."); steals data, which must be an object (NULL:
 * -ENOMEM). Returns 0 or -ENOMEM.
 */
int check_report_add(CheckReport *r, const char *key, const char *kind, bool breach, Category c,
                     Severity sev, json_t *data, const char *format, ...) _printf_(8, 9);
/* The item with key, or NULL. */
const CheckItem *check_report_find(const CheckReport *r, const char *key);

/*
 * A filesystem sample of path: error is statvfs()'s (-errno) or 0 with sv
 * filled. Adds a "disk" and an "inodes" item (a filesystem that reports no
 * inodes, like btrfs, gets none), or one breach of kind role ("state",
 * "spool" or "watch") when path cannot be looked at. role_key names that
 * breach's key ("watch:NAME"); NULL uses "ROLE:PATH". Returns 0 or -ENOMEM.
 */
int check_eval_fs(CheckReport *r, const CheckThresholds *t, const char *role,
                  const char *role_key, const char *path, int error, const struct statvfs *sv);
/* A source that must be alive: "journal" or "watch:NAME". why may be NULL. */
int check_eval_source(CheckReport *r, const char *what, bool alive, const char *why);
/* Jobs waiting in a queue (a pool lane, "analyze", or "analyzer_deferred"). */
int check_eval_queue(CheckReport *r, const CheckThresholds *t, const char *name, size_t depth);
/* The outbox: pending rows, the oldest one's creation (0: none), dead rows. */
int check_eval_outbox(CheckReport *r, const CheckThresholds *t, uint64_t pending,
                      int64_t oldest_pending, uint64_t dead, int64_t now);
/* Fix attempts that outlived stuck_after (checks_stuck_fixes()'s rows): one breach each. */
int check_eval_stuck_fixes(CheckReport *r, const CheckThresholds *t, json_t *rows, int64_t now);

/* {"ok": bool, "breaches": N, "items": [{key, kind, ok, severity, title, ...data}]}. */
json_t *check_report_json(const CheckReport *r);
/* For STATUS=: "check ok" or "check: N breach(es): TITLE; ...", at most about 200 bytes. */
char *check_report_summary(const CheckReport *r);
