/* SPDX-License-Identifier: MIT */
/*
 * The rule catalogue. Rules are INI sections in *.rules files:
 *
 *   [Rule.python_missing_module]
 *   Pattern=^(?:ModuleNotFoundError|ImportError): No module named '(?<module>[\w.]+)'
 *   Exclude=...            optional, repeatable; a block matching any is not this rule
 *   Category=python_missing_package
 *   Severity=Medium        optional, defaults to the category's
 *   AutoFixable=yes        optional, default no; only for fixable categories
 *   Fix=pip_install:${distribution}
 *   Priority=80            0..1000, default 50; the highest matching rule decides
 *   Literal=no module named  optional, repeatable: overrides the prefilter literals
 *   Enabled=no             drops an earlier rule of the same name
 *
 * Patterns are PCRE2, compiled with PCRE2_MULTILINE and without PCRE2_UTF so
 * that arbitrary bytes never fail. Named groups become finding parameters.
 * A later rule with the same name replaces the earlier one. Errors are
 * reported as (file, line, message) records and the broken rule is skipped;
 * the others still load.
 *
 * A DetectRules is built on one thread, then sealed (sorted, prefilter built)
 * by the first engine that uses it. Once sealed it is immutable and may be
 * shared by engines on several threads; the reference count itself is not
 * atomic, so take and drop references on one thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define DETECT_RULES_MAX 4096
#define DETECT_RULE_PATTERNS_MAX 32
#define DETECT_RULES_FILE_MAX (1024 * 1024)
#define DETECT_PRIORITY_MAX 1000

typedef struct DetectRules DetectRules;

typedef struct DetectRuleError {
        char *file;
        unsigned line;                          /* 0 when not tied to a line */
        char *message;
} DetectRuleError;

typedef struct DetectRuleErrors {
        DetectRuleError *errors;
        size_t n_errors;
} DetectRuleErrors;

typedef enum DetectRulesFlags {
        DETECT_RULES_NO_JIT = 1 << 0,           /* never try PCRE2's JIT */
        DETECT_RULES_NO_BUILTIN = 1 << 1,       /* start empty instead of with the defaults */
} DetectRulesFlags;

/* Creates a catalogue holding the built-in default rules (the users' guide's
 * ERROR:, Traceback, Exception:, Failed and TimeoutError patterns) unless
 * DETECT_RULES_NO_BUILTIN. Returns 0 or -ENOMEM. */
int detect_rules_new(DetectRulesFlags flags, DetectRules **ret);
DetectRules *detect_rules_ref(DetectRules *r);
/* Drops a reference; frees on the last. Accepts NULL; returns NULL. */
DetectRules *detect_rules_unref(DetectRules *r);
static inline void detect_rules_unrefp(DetectRules **r) {
        if (*r)
                (void) detect_rules_unref(*r);
}

/* Parses rules from memory; file names the source in error records. Problems
 * with single rules are appended to errs (may be NULL) and do not fail the
 * call. Returns 0, -ENOMEM, -EBUSY when already sealed, or -E2BIG when the
 * rule limit is reached. */
int detect_rules_load_string(DetectRules *r, const char *file, const char *text, size_t len,
                             DetectRuleErrors *errs);

/* Loads *.rules from the directories in order; a file in a later directory
 * replaces the file of the same name in an earlier one (vendor dir first, then
 * /etc). Files are read in lexical order of their names. Missing directories
 * are skipped. Unreadable files are reported in errs. This is the only
 * function of detect/ that touches the file system. Returns 0 or -errno. */
int detect_rules_load_dirs(DetectRules *r, const char *const *dirs, size_t n_dirs,
                           DetectRuleErrors *errs);

/* Sorts, builds the prefilter and freezes the set. Idempotent. Returns 0 or
 * -ENOMEM. */
int detect_rules_seal(DetectRules *r);

size_t detect_rules_count(const DetectRules *r);
/* True if the named rule is loaded (and enabled). */
bool detect_rules_has(const DetectRules *r, const char *name);

/* The patterns of all rules, one per element, in load order, for tools that
 * compare against grep. Returns a NULL-terminated strv (free with strv_free)
 * or NULL on OOM. */
char **detect_rules_patterns(const DetectRules *r);

void detect_rule_errors_done(DetectRuleErrors *errs);
