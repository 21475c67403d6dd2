/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the files of src/detect/: a growable byte buffer, text
 * clean-up helpers, the compiled rule representation and the literal
 * prefilter. Not installed, not used outside src/detect/ and its tests.
 */
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/category.h"
#include "detect/rules.h"

/* ---- growable buffer (always NUL-terminated once non-empty) ---- */

typedef struct DetectBuf {
        char *data;
        size_t len, cap;
} DetectBuf;

int detect_buf_reserve(DetectBuf *b, size_t extra);
int detect_buf_append(DetectBuf *b, const char *p, size_t n);
int detect_buf_putc(DetectBuf *b, char c);
int detect_buf_printf(DetectBuf *b, const char *fmt, ...) __attribute__((__format__(printf, 2, 3)));
static inline void detect_buf_clear(DetectBuf *b) {
        b->len = 0;
        if (b->data)
                b->data[0] = 0;
}
void detect_buf_done(DetectBuf *b);
/* Hands the (possibly empty, never NULL on success) string to the caller. */
char *detect_buf_steal(DetectBuf *b);

/* ---- text helpers ---- */

/* Appends in[0..n) to b as valid UTF-8: invalid sequences become U+FFFD,
 * control characters other than '\n' and '\t' become '?'. */
int detect_utf8_sanitize_append(DetectBuf *b, const char *in, size_t n);
/* Returns a sanitised, malloc'ed copy or NULL on OOM. */
char *detect_utf8_sanitize(const char *in, size_t n);
/* Length of the longest prefix of s[0..n) not longer than max that does not
 * cut a UTF-8 sequence in two. */
size_t detect_utf8_truncate(const char *s, size_t n, size_t max);
/* Terminals wrap long lines at this width; see detect_line_clean(). */
#define DETECT_WRAP_COLUMNS 80

typedef struct DetectLineInfo {
        /* the cleaned line: in the input line, or in the scratch buffer */
        const char *text;
        size_t len;
        /* display width of the line as a terminal showed it (log prefixes
         * included; quote markers, which may be the paste's or Gradle's own,
         * counted apart); 0 when too short to be wrapped, or framed */
        size_t columns;
        size_t quote_columns;
        bool prefixed;                          /* a log prefix was removed */
        bool boundary;                          /* a fence or box edge: left empty */
} DetectLineInfo;

/* Finds the line as the rules see it: without a trailing CR, the text
 * overwritten by a carriage return, ANSI escape sequences, a syslog prefix,
 * markdown quote markers, a box frame ("│ ... │"; fence lines and box edges
 * become empty), and log prefixes (flutter -v "[  +24 ms] ", timestamps with
 * an optional error/info/debug level, "[ERROR] ", logcat "E/flutter (12): ").
 * Windows paths stay as they are: rules write separators as [/\\], and
 * fingerprints fold "C:\x\y.dart" like "/x/y.dart". ret->text points into
 * line, or into b when escape sequences had to be taken out; valid until
 * either changes. Returns 0 or -ENOMEM. */
int detect_line_clean(DetectBuf *b, const char *line, size_t n, DetectLineInfo *ret);
/* Takes inline code and emphasis off a whole line that a terminal wrapped,
 * and then the prefix and quote they held: its pieces carried only the
 * opening and the closing marks each, so cleaning them one by one left
 * both; *start and *end move inward. */
void detect_line_unwrap_marks(const char *d, size_t *start, size_t *end);
/* Display width as a terminal counts it: tabs to the next multiple of 8, East
 * Asian wide characters and emoji as two columns. */
size_t detect_display_columns(const char *s, size_t n);
/* Whether a line of exactly the wrap width ending in last, followed by one
 * starting with first, looks like one line a terminal wrapped (engine.c). */
bool detect_wrap_cut(char last, char first);
/* Case-insensitive prefix test over a byte range. */
bool detect_startswith(const char *s, size_t n, const char *prefix);
bool detect_startswith_case(const char *s, size_t n, const char *prefix);
const char *detect_memmem_str(const char *s, size_t n, const char *needle);

/* Import name -> PyPI distribution for pip fixes: a known mapping (cv2 ->
 * opencv-python), else the top-level package name copied into buf. NULL when
 * pip cannot or should not provide it (stdlib/OS modules, private modules,
 * ambiguous namespaces such as "google", likely local modules). */
const char *detect_python_distribution(const char *module, char *buf, size_t bufsz);

/* ---- rules ---- */

typedef struct DetectPattern {
        pcre2_code *code;
        char *source;
        unsigned line;
        /* The pattern's own required literals (lower-cased; any one occurs
         * in whatever it matches) and its bit in a candidate bitset, after
         * the rules' bits. A rule whose literal is on a line is tried there,
         * but only those of its patterns whose own literal is there too: a
         * rule of thirty patterns runs one regex, not thirty. Patterns
         * without a literal (n_literals 0) run whenever their rule does.
         * Excludes are not gated. */
        char **literals;
        size_t n_literals;
        size_t bit;
} DetectPattern;

/* What a rule's match says about a failure (Role= in the rule files). A
 * headline only says that something failed ("FAILURE: Build failed", "pub
 * get failed"); a cause names why, in terms that hold whatever failed (disk
 * full, out of memory, permission, network). When a cause decides a block
 * that also carries a headline, the headline's line is the title. */
typedef enum DetectRuleRole {
        DETECT_RULE_ROLE_SYMPTOM,               /* default: a specific error */
        DETECT_RULE_ROLE_HEADLINE,
        DETECT_RULE_ROLE_CAUSE,
} DetectRuleRole;

typedef struct DetectRule {
        char *name;
        char *file;
        unsigned line;
        DetectPattern *patterns;
        size_t n_patterns;
        DetectPattern *excludes;
        size_t n_excludes;
        char **literals;                        /* lower-cased; any one must occur */
        size_t n_literals;
        bool explicit_literals;
        bool always;                            /* no literal: candidate for every block */
        Category category;
        Severity severity;
        bool auto_fixable;
        char *fix;
        int priority;
        DetectRuleRole role;
        size_t order;
} DetectRule;

typedef struct DetectPrefilter DetectPrefilter;

/* Block starters (and lines the engine remembers) the prefilter reports
 * alongside rule literals. */
enum {
        DETECT_HINT_PY_TRACEBACK = 1u << 0,
        DETECT_HINT_PY_FILE = 1u << 1,
        DETECT_HINT_GRADLE = 1u << 2,
        DETECT_HINT_PUB = 1u << 3,
        DETECT_HINT_DART = 1u << 4,
        DETECT_HINT_UNHANDLED = 1u << 5,
        DETECT_HINT_ERROR = 1u << 6,
        DETECT_HINT_PODS = 1u << 7,
        DETECT_HINT_XCODE = 1u << 8,
        DETECT_HINT_FLUTTER_BOX = 1u << 9,
        DETECT_HINT_PIP_SATISFIED = 1u << 10,
        /* pip show's "Name: " (the literal is on many other lines too:
         * its own bit spares them the search for pip's other line) */
        DETECT_HINT_PIP_SHOWN = 1u << 11,
        /* some literal occurred: bits were set */
        DETECT_HINT_LITERAL = 1u << 31,
};

struct DetectRules {
        unsigned n_ref;
        DetectRulesFlags flags;
        DetectRule **rules;
        size_t n_rules;
        size_t order_counter;
        bool sealed;
        size_t n_words;                         /* 64-bit words of the rules' bits */
        size_t n_cand_words;                    /* ... and of the patterns' after them */
        uint64_t *always;                       /* bitset of rules without literals */
        DetectPrefilter *prefilter;
};

int detect_prefilter_new(const DetectRules *rules, DetectPrefilter **ret);
DetectPrefilter *detect_prefilter_free(DetectPrefilter *p);
/* ORs the rules and the patterns whose literals occur in s into bits
 * (n_cand_words words) and returns the block-starter hints found. */
uint32_t detect_prefilter_scan(const DetectPrefilter *p, const char *s, size_t n, uint64_t *bits);
size_t detect_prefilter_states(const DetectPrefilter *p);

/* Extracts required literals from a PCRE2 pattern: a set of lower-cased
 * strings at least one of which occurs (case-insensitively) in any subject
 * the pattern matches. Returns 0 with *ret_n == 0 if no useful literal could
 * be found (the rule is then always a candidate), or -ENOMEM. */
int detect_extract_literals(const char *pattern, char ***ret, size_t *ret_n);
