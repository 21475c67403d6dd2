/* SPDX-License-Identifier: MIT */
/*
 * Fingerprints: the same failure seen again hashes the same, a different root
 * cause hashes differently. The text is normalised first (version 1):
 *
 *   1. lines of only carets/tildes/dashes/box drawing (column markers) and
 *      blank lines are dropped; runs of white space become one space;
 *   2. absolute paths ("/x/y", and Windows' "C:\x\y" or "C:/x/y") keep
 *      only their last component; temporary paths
 *      (/tmp, /var/tmp, /var/folders, /private/var, %TEMP%) become "<tmp>";
 *      URLs keep scheme and host;
 *   3. UUIDs become "<uuid>", hex strings of 7+ digits (hashes, addresses,
 *      0x...) become "<hex>";
 *   4. every other run of digits becomes "#" unless it is glued to the end of
 *      an identifier ("cv2", "sha256", "utf8" stay); digits joined by . : , -
 *      or _ are one number; this folds line and column numbers, timestamps,
 *      versions, sizes, PIDs and ports;
 *   5. a number followed by a time unit (ms, s, m, h, sec, min, ...), and a
 *      run of such ("1m 23s"), becomes "<dur>".
 *
 * The hash is SHA-256 over "appwatch-fp-v1\0" + category id + "\0" +
 * normalised text, shown as the first 32 hex digits. Changing any of this
 * means bumping DETECT_FINGERPRINT_VERSION. Pure; thread-safe.
 */
#pragma once

#include <stddef.h>

#include "detect/category.h"
#include "detect/finding.h"

#define DETECT_FINGERPRINT_VERSION 1

/* Normalises text as above. Returns 0 or -ENOMEM; *ret is malloc'ed. */
int detect_fingerprint_normalize(const char *text, size_t len, char **ret);

/* Computes the fingerprint of text for category into ret (33 bytes, hex,
 * NUL-terminated). Returns 0 or -ENOMEM. */
int detect_fingerprint(Category category, const char *text, size_t len,
                       char ret[static DETECT_FINGERPRINT_HEX_LEN + 1]);

/* SHA-256 of data into out (exposed for tests). */
void detect_sha256(const void *data, size_t len, unsigned char out[static 32]);
