/* SPDX-License-Identifier: MIT */
/*
 * Finding: the record the detection engine hands to later stages, one per
 * diagnosed block of log output. A plain struct with visible fields; once
 * handed on it is never modified. Every string is NUL-terminated valid UTF-8
 * without control characters other than '\n' and '\t', so it can go into JSON
 * as-is.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/category.h"

/* Hex digits of a fingerprint (128 bits of SHA-256) plus the NUL. */
#define DETECT_FINGERPRINT_HEX_LEN 32

typedef struct DetectParam {
        char *name;                             /* named capture group of the rule */
        char *value;
} DetectParam;

typedef struct Finding {
        Category category;
        Severity severity;
        bool auto_fixable;                      /* true only if the taxonomy, the rule and
                                                 * the parameter check all agree */
        bool needs_declaration;                 /* auto_fixable, but it runs by itself only
                                                 * where the app declares the distribution:
                                                 * a pip install whose name the log alone
                                                 * does not vouch for (fix/declared.h) */
        int priority;                           /* of the deciding rule */
        char *rule;                             /* name of the deciding rule */
        char *fix;                              /* fix id, "none" when manual */
        char fingerprint[DETECT_FINGERPRINT_HEX_LEN + 1];
        char *title;                            /* the line the deciding rule matched on */
        char *excerpt;                          /* the block, possibly shortened */
        char *stream;                           /* the stream key given to the engine */
        uint64_t line_start, line_end;          /* 1-based, inclusive, per stream */
        uint64_t timestamp_usec;                /* of the block's first line, 0 if unknown */
        uint64_t realtime_usec;                 /* its wall-clock time (feed_at), 0 if unknown */
        DetectParam *params;
        size_t n_params;
} Finding;

/* Frees a finding and everything it owns; accepts NULL; returns NULL. */
Finding *finding_free(Finding *f);
static inline void finding_freep(Finding **f) {
        if (*f)
                (void) finding_free(*f);
}

/* Deep copy. Returns 0 or -ENOMEM; *ret is written only on success. */
int finding_copy(const Finding *f, Finding **ret);

/* The value of a parameter, or NULL. */
const char *finding_get_param(const Finding *f, const char *name);
