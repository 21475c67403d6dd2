/* SPDX-License-Identifier: MIT */
/*
 * The daily report: what happened in a window (filled from the store by
 * store/reports.c), and its rendering as text (the users' guide's "📊 앱
 * 팩토리 일일 리포트" with more below it), as a Slack Block Kit message and
 * as JSON. Slack webhooks cannot upload images, so the charts are Unicode:
 * bars of █ and the eighth blocks, and a sparkline of ▁▂▃▄▅▆▇█ for the
 * sightings per hour. Counts are the store's, so they equal what
 * `appwatchctl incidents --since` lists for the same window: an incident is
 * in the window when it was last seen in it. Times are shown in local time
 * (the operator's TZ). Pure.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/taxonomy.h"

#define REPORT_TOP 5             /* rows in each list */
#define REPORT_HOURS 24          /* the sparkline's hours */
#define REPORT_MAX_GAPS 8        /* times appwatchd did not run, listed */
#define REPORT_BAR_WIDTH 12      /* cells of the longest bar */

typedef struct ReportItem {
        int64_t id;
        char *app, *title;
        Category category;
        Severity severity;
        IncidentStatus status;
        int64_t count;
        int64_t regressions;
        int64_t first_seen, last_seen;
} ReportItem;

typedef struct ReportGap {
        int64_t start, end;      /* CLOCK_REALTIME usec */
} ReportGap;

typedef struct Report {
        int64_t window_start, window_end;   /* CLOCK_REALTIME usec, [start, end) */
        bool first;                         /* no report before: the last 24 hours */
        uint64_t total, auto_fixed, manual;
        uint64_t by_severity[_SEVERITY_MAX];
        uint64_t by_category[_CATEGORY_MAX];
        ReportItem top[REPORT_TOP];         /* recurring: most sightings first */
        size_t n_top;
        ReportItem regressions[REPORT_TOP];
        size_t n_regressions;
        uint64_t regressions_total;
        ReportItem open[REPORT_TOP];        /* open incidents (any time), oldest first */
        size_t n_open;
        uint64_t open_total;
        uint64_t n_resolved;                /* resolved in the window ... */
        int64_t mttr_usec;                  /* ... and their mean time from first seen */
        uint64_t fixes_ok, fixes_failed;    /* fix attempts finished in the window */
        uint64_t ai_calls, ai_prompt_tokens, ai_output_tokens, ai_thoughts_tokens;
        uint64_t dead_deliveries;           /* outbox rows dead, made in the window */
        char *last_delivery_error;
        uint64_t hourly[REPORT_HOURS];      /* sightings per hour, oldest first, ending at window_end */
        ReportGap gaps[REPORT_MAX_GAPS];    /* appwatchd not running */
        size_t n_gaps;
        uint64_t gaps_total;
        int64_t down_usec;                  /* in all */
} Report;

void report_done(Report *r);

/*
 * A bar of n out of max in at most width cells (eighths of a cell for the
 * remainder; at least one eighth for any n > 0). Writes into buf (size at
 * least 3 * width + 1) and returns it.
 */
char *report_bar(uint64_t n, uint64_t max, size_t width, char *buf, size_t size);
#define REPORT_BAR_MAX (3 * REPORT_BAR_WIDTH + 1)
/* ▁..█ per value, scaled to the largest (all ▁ when all are 0). buf: 3 * n + 1. */
char *report_sparkline(const uint64_t *v, size_t n, char *buf, size_t size);

/* The report's title, e.g. "📊 앱 팩토리 일일 리포트 (2026-12-02)" (the window's end, local). */
int report_title(const Report *r, Language lang, char **ret);
/* The whole report as text (UTF-8, lines ending in \n). */
int report_render_text(const Report *r, Language lang, char **ret);
/* The Slack webhook body: a header and the text in sections within Block Kit's limits. */
int report_render_slack(const Report *r, Language lang, char **ret_json);
/* The numbers as JSON (appwatchctl report --json). NULL on OOM. */
json_t *report_to_json(const Report *r);
