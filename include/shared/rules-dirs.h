/* SPDX-License-Identifier: MIT */
/*
 * Where rules are read from: the one policy that appwatchd and
 * `appwatchctl scan` share, so that both classify a log the same way.
 *
 *   1. the shipped rules, PKGDATADIR/rules.d, or $APPWATCH_RULES_DIR
 *      instead (a checkout's etc/rules.d, a test's own rules);
 *   2. the local rules, rules.d next to the main configuration file
 *      (PKGSYSCONFDIR/rules.d, i.e. /etc/appwatch/rules.d, when installed).
 *
 * A file in a later directory replaces the file of the same name in an
 * earlier one (detect_rules_load_dirs). Paths only: this module neither
 * reads rules nor depends on detect/. Thread-safe.
 */
#pragma once

#include <stddef.h>

#define RULES_DIRS_MAX 2

typedef struct RulesDirs {
        char *dirs[RULES_DIRS_MAX];        /* in load order */
        size_t n;
} RulesDirs;

/*
 * Fills *ret with the directories for the main configuration file
 * config_path (as config_load resolved it; see config_default_path).
 * Returns 0 or -ENOMEM; on success the caller calls rules_dirs_done.
 */
int rules_dirs_default(const char *config_path, RulesDirs *ret);
void rules_dirs_done(RulesDirs *d);

/* How many of dirs exist as directories (0: only the built-in patterns
 * will be in use). */
size_t rules_dirs_count_existing(const char *const *dirs, size_t n);

/* "A, B and C" for messages; NULL on OOM. */
char *rules_dirs_join(const char *const *dirs, size_t n);
