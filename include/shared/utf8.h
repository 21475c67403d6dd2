/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 at the boundary. Everything that reaches JSON, the journal or the
 * database from outside — file names, paths, unit names, hosts, apps,
 * commands — is made valid UTF-8 once, where it comes in: jansson refuses
 * invalid UTF-8, and a refusal must never look like an out-of-memory error.
 * Invalid bytes are written as \xHH, so a name stays recognisable (and
 * reversible, except for a name that itself contains such an escape).
 * Pure; thread-safe.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..n) is valid UTF-8 (no overlong forms, no surrogates) without NUL. */
bool utf8_is_valid(const char *s, size_t n);

/*
 * A malloc'ed NUL-terminated copy of s[0..n) with every byte that is not
 * part of a valid UTF-8 sequence (and every NUL) written as \xHH. NULL on
 * out of memory.
 */
char *utf8_escape_invalid(const char *s, size_t n);

/* As utf8_escape_invalid(), but copies a valid string as is; s may be NULL. */
char *utf8_dup(const char *s);
