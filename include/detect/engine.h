/* SPDX-License-Identifier: MIT */
/*
 * The detection engine: lines in, findings out. Lines are fed per stream (a
 * file, a journal unit or identifier, a wrapped command); each stream has its
 * own assembler, so interleaved streams never mix. The assembler joins
 * multi-line errors into blocks:
 *
 *   - Python tracebacks, chained ones, 3.11+ caret lines, SyntaxError blocks;
 *   - Gradle "FAILURE:" ... "BUILD FAILED in ..." reports;
 *   - pub "Because ... version solving failed." paragraphs;
 *   - Dart "file.dart:L:C: Error:" messages with their context lines;
 *   - "Unhandled exception:" stacks and Flutter "EXCEPTION CAUGHT BY" boxes;
 *   - groups of pip "ERROR:" lines with their explanations;
 *   - CocoaPods "[!]" errors and Xcode failure reports;
 *   - everything else as one-line blocks.
 *
 * A block ends at its natural end, at the line/byte limit, or when a caller
 * supplied clock says it has been idle too long: there are no timers inside.
 * Each finished block is classified by the rules (highest priority wins; a
 * block whose deciding rule has category "none" yields nothing) and reported
 * through the callback.
 *
 * Threading: an engine is used by one thread at a time. Several engines may
 * share one sealed DetectRules.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/finding.h"
#include "detect/rules.h"

typedef struct DetectEngine DetectEngine;

typedef struct DetectOptions {
        size_t max_line_length;                 /* bytes kept of one line; default 4096 */
        size_t max_block_lines;                 /* lines kept of one block; default 200 */
        size_t max_block_bytes;                 /* bytes kept of one block; default 64 KiB */
        uint64_t idle_timeout_usec;             /* default 2 s; 0 = the default */
        size_t max_streams;                     /* default 4096; the idlest is flushed */
        bool no_prefilter;                      /* run every rule on every block (tests) */
        void (*stream_data_free)(void *data);   /* frees a stream's data when it is dropped */
} DetectOptions;

#define DETECT_OPTIONS_DEFAULT_LINE_LENGTH 4096
#define DETECT_OPTIONS_DEFAULT_BLOCK_LINES 200
#define DETECT_OPTIONS_DEFAULT_BLOCK_BYTES (64 * 1024)
#define DETECT_OPTIONS_DEFAULT_IDLE_USEC (2 * 1000 * 1000)
#define DETECT_OPTIONS_DEFAULT_STREAMS 4096

/* Called for each finished finding. The finding is borrowed: valid until the
 * callback returns (use finding_copy to keep it). A negative return stops the
 * current feed/flush call, which then returns that value. */
typedef int (*DetectFindingFunc)(DetectEngine *e, const Finding *f, void *userdata);

/* Creates an engine on rules (sealing them, taking a reference). opts may be
 * NULL for the defaults; zero fields take defaults. Returns 0, -ENOMEM, or
 * -EINVAL for unusable options. */
int detect_engine_new(DetectRules *rules, const DetectOptions *opts, DetectEngine **ret);
/* Frees the engine, dropping open blocks without reporting them (flush first
 * to get them). Accepts NULL; returns NULL. */
DetectEngine *detect_engine_free(DetectEngine *e);
static inline void detect_engine_freep(DetectEngine **e) {
        if (*e)
                (void) detect_engine_free(*e);
}

/* Feeds one line (without its newline) of the given stream. The line is
 * cleaned first: a trailing '\r', ANSI escape sequences, text overwritten by
 * a carriage return, markdown quotes and fences, box frames and log prefixes
 * (syslog/journalctl, flutter -v, timestamps and levels, logcat) are
 * removed, a line a terminal wrapped at 80 columns is joined again (its
 * first piece waits for the next line, or for the idle timeout), and it is
 * cut at max_line_length. timestamp_usec is the caller's clock
 * (CLOCK_MONOTONIC or the journal's realtime, consistently), 0 if unknown.
 * Findings the line completes are reported through cb before returning.
 * Returns 0, -ENOMEM, or the callback's negative value. */
int detect_engine_feed(DetectEngine *e, const char *stream, const char *line, size_t len,
                       uint64_t timestamp_usec, DetectFindingFunc cb, void *userdata);

/* As detect_engine_feed(), with the line's wall-clock time, which the
 * finding of the block it starts carries (Finding.realtime_usec) and which
 * is kept with its pending line. */
int detect_engine_feed_at(DetectEngine *e, const char *stream, const char *line, size_t len,
                          uint64_t timestamp_usec, uint64_t realtime_usec, DetectFindingFunc cb,
                          void *userdata);

/* Feeds a chunk of raw bytes; complete lines are fed one by one, a trailing
 * partial line is kept per stream until the next chunk or a flush. Returns as
 * detect_engine_feed. */
int detect_engine_feed_data(DetectEngine *e, const char *stream, const char *data, size_t len,
                            uint64_t timestamp_usec, DetectFindingFunc cb, void *userdata);

/* Finishes blocks that have been idle for the idle timeout at time now; with
 * now == UINT64_MAX every open block (and pending partial line) is finished,
 * e.g. at end of file. stream NULL means all streams. Returns the number of
 * findings reported (>= 0), or a negative error as above. */
int detect_engine_flush(DetectEngine *e, const char *stream, uint64_t now, DetectFindingFunc cb,
                        void *userdata);

/* Lines of the stream fed into its still open block (0 when none is open):
 * what a caller must keep to feed again after a restart. */
size_t detect_engine_pending_lines(const DetectEngine *e, const char *stream);

/*
 * The engine owns the per-stream state; a caller may attach its own data to
 * a stream (who the stream belongs to, say). This creates the stream if
 * needed — which may finish the idlest stream's block through cb when at
 * max_streams — and replaces (frees) data attached before. The data is
 * freed with DetectOptions.stream_data_free whenever the engine drops the
 * stream: evicted, forgotten, or with the engine. Returns 0 or -ENOMEM.
 */
int detect_engine_set_stream_data(DetectEngine *e, const char *stream, void *data,
                                  DetectFindingFunc cb, void *userdata);
/* The data attached to a stream, or NULL. */
void *detect_engine_get_stream_data(const DetectEngine *e, const char *stream);

/*
 * The lines of each stream's open block, for saving them: f is called for
 * every stream whose open block changed since the last call (len 0: no
 * block is open any more), with the lines serialised (opaque; give them to
 * detect_engine_replay()). A negative return from f stops and is returned,
 * and that stream stays dirty.
 */
typedef int (*DetectPendingFunc)(const char *stream, void *stream_data, const void *lines,
                                 size_t len, void *userdata);
int detect_engine_foreach_dirty(DetectEngine *e, DetectPendingFunc f, void *userdata);

/* Feeds saved lines (from foreach_dirty) again. -EBADMSG when damaged. */
int detect_engine_replay(DetectEngine *e, const char *stream, const void *lines, size_t len,
                         uint64_t timestamp_usec, DetectFindingFunc cb, void *userdata);

/* Forgets a stream (e.g. its file was deleted) without reporting its block. */
void detect_engine_forget(DetectEngine *e, const char *stream);

/* Earliest time at which detect_engine_flush(e, NULL, t) would finish an
 * idle block; UINT64_MAX if there is none. For arming the caller's timer. */
uint64_t detect_engine_next_deadline(const DetectEngine *e);

typedef struct DetectStats {
        uint64_t lines, bytes, blocks, findings;
        uint64_t regex_runs;                    /* PCRE2 matches attempted */
        uint64_t truncated_lines, truncated_blocks;
        uint64_t match_errors;                  /* PCRE2 limits hit, treated as no match */
        uint64_t echoes;                        /* findings suppressed as echoes of an earlier one */
        uint64_t rules_disabled;                /* rules given up on: see DETECT_RULE_LIMIT_HITS */
} DetectStats;

void detect_engine_get_stats(const DetectEngine *e, DetectStats *ret);

/*
 * The match budget of a rule: a rule whose patterns hit PCRE2's limits
 * (match, depth or heap: about a millisecond of work each time, for no
 * match) DETECT_RULE_LIMIT_HITS times within DETECT_RULE_LIMIT_WINDOW of its
 * tries is disabled: it is not tried again by this engine (a reload makes a
 * new one). stats.rules_disabled counts them; the caller tells the user.
 */
#define DETECT_RULE_LIMIT_HITS 64
#define DETECT_RULE_LIMIT_WINDOW 1024

typedef struct DetectDisabledRule {
        const char *name;                       /* borrowed from the rules */
        const char *file;                       /* where it was defined; may be NULL */
        unsigned line;
        uint64_t limit_hits;                    /* in the window that disabled it */
} DetectDisabledRule;

/* The n-th rule disabled, in the order they were (n < stats.rules_disabled).
 * The strings are valid while the engine lives. Returns 0 or -ENOENT. */
int detect_engine_get_disabled_rule(const DetectEngine *e, size_t n, DetectDisabledRule *ret);

/*
 * Whether dist is the distribution of one of the well-known import names
 * whose distribution the engine knows by name (cv2 -> opencv-python, yaml ->
 * PyYAML, requests, ...; PEP 503 comparison). The fixer installs a missing
 * module by itself only when its distribution is one of these, on
 * [Fix] PipAllowlist=, or declared by the app (fix/declared.h).
 */
bool detect_python_distribution_known(const char *dist);
