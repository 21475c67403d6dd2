/* SPDX-License-Identifier: MIT */
/*
 * The offline analyzer: the embedded default when no AI key is set. For each
 * category it explains the likely cause and a concrete next step, in Korean
 * or English, filled in with the finding's parameters (the missing module,
 * the pod, the Gradle task) and the app's name and directory. Pure, no I/O;
 * thread-safe.
 */
#pragma once

#include "detect/category.h"
#include "detect/finding.h"

typedef struct AnalyzeContext {
        const char *app;                        /* app name, or NULL */
        const char *directory;                  /* app directory, or NULL */
} AnalyzeContext;

typedef struct Analysis {
        char *cause;                            /* one or two sentences */
        char *next_step;                        /* a concrete action */
} Analysis;

/* Version of the texts; part of the cache key of AI answers that fall back to
 * them, and bumped whenever a text changes meaning. */
#define ANALYZE_OFFLINE_VERSION 1

/* Analyses f in lang. ctx may be NULL. Returns 0 or -ENOMEM; on success the
 * strings in *ret are malloc'ed (free with analysis_done). */
int analyze_offline(const Finding *f, Language lang, const AnalyzeContext *ctx, Analysis *ret);

/* "cause next_step" in one malloc'ed string; NULL on OOM. */
char *analysis_format(const Analysis *a);

void analysis_done(Analysis *a);
