/* SPDX-License-Identifier: MIT */
/*
 * Parsers for the value syntaxes of configuration files, in systemd's manner:
 * booleans (yes/no/true/false/on/off/1/0), unsigned integers with bounds,
 * time spans ("30s", "5min", "1h 30min", "500ms"; a bare number is seconds),
 * byte sizes ("64K", "1M"; base 1024) and watch paths. Pure functions,
 * thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t usec_t;

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MINUTE (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR (UINT64_C(60) * USEC_PER_MINUTE)
#define USEC_PER_DAY (UINT64_C(24) * USEC_PER_HOUR)
#define USEC_INFINITY UINT64_MAX

/* Each returns 0 and writes *ret, or -EINVAL / -ERANGE and leaves it alone. */
int parse_boolean(const char *s, bool *ret);
int parse_uint64(const char *s, uint64_t *ret);
int parse_timespan(const char *s, usec_t *ret);
/* A bare number is bytes; K, M and G (any case, optionally followed by B or
 * iB, optionally after a space) are powers of 1024: 64K = 64kB = 64 KiB. */
int parse_size(const char *s, uint64_t *ret);

/*
 * Checks a [Watch.NAME] Path= the way the tailer reads it, without touching
 * the file system: absolute, wildcards ('*', '?', '[') only in the last
 * component (the directory part is watched literally), and no "." or ".."
 * component (the tailer opens the path component by component, never
 * following a symlink, and ".." would climb out of a directory whose owner
 * controls what is below it). The configuration
 * parser and tailer_add_watch() both call it, so --check-config refuses
 * exactly what the tailer would. Returns 0, or -EINVAL with *reterr_reason
 * (may be NULL) set to a static explanation.
 */
int watch_path_validate(const char *path, const char **reterr_reason);

/*
 * A Python distribution name as PEP 508 defines it: ASCII letters and digits,
 * with '.', '_' and '-' inside (^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$,
 * case-insensitive), at most PYTHON_DIST_NAME_MAX bytes. No version, extra,
 * marker, path or URL. Shared by [Fix] PipAllowlist= and the fix catalogue.
 */
#define PYTHON_DIST_NAME_MAX 100
bool python_dist_name_valid(const char *s);
/* Writes the PEP 503 normal form of a valid name into buf (lower case, each
 * run of '.', '_', '-' as one '-'); returns buf, or NULL if it does not fit. */
char *python_dist_name_normalize(const char *s, char *buf, size_t size);

/* Formats a span like "1h 2min 3s" into buf; returns buf. */
char *format_timespan(char *buf, size_t size, usec_t t);

/* Splits on whitespace into a NULL-terminated, malloc'ed array; NULL on OOM. */
char **strv_split(const char *s);
size_t strv_length(char *const *l);
/* Appends a copy of s; returns 0 or -ENOMEM. */
int strv_extend(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);

/* Clock helpers (CLOCK_MONOTONIC and CLOCK_REALTIME) in microseconds. */
usec_t now_monotonic(void);
usec_t now_realtime(void);

/*
 * The app a systemd unit builds: the instance of a template unit
 * ("flutter-build@shop.service" -> "shop"), else the name without its
 * ".service" suffix. Returns a malloc'ed string or NULL on OOM.
 */
char *unit_to_app(const char *unit);
