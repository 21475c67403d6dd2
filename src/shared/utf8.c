/* SPDX-License-Identifier: MIT */
/* UTF-8 validation and escaping; see utf8.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/utf8.h"

/* Length of the valid sequence at s (at most n bytes), or 0 when invalid. */
static size_t sequence_length(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;

        if (c == 0)
                return 0;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                len = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                len = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                len = 4;
                cp = c & 0x07;
        } else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        /* Overlong forms, surrogates and beyond U+10FFFF. */
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

bool utf8_is_valid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;

        for (size_t i = 0; i < n;) {
                size_t l;

                if (p[i] >= 0x01 && p[i] < 0x80) {
                        i++;
                        continue;
                }
                l = sequence_length(p + i, n - i);
                if (l == 0)
                        return false;
                i += l;
        }
        return true;
}

char *utf8_escape_invalid(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;
        char *out, *o;

        /* At worst every byte becomes four. */
        out = malloc(n * 4 + 1);
        if (!out)
                return NULL;
        o = out;
        for (size_t i = 0; i < n;) {
                size_t l = sequence_length(p + i, n - i);

                if (l == 0) {
                        o += sprintf(o, "\\x%02x", p[i]);
                        i++;
                        continue;
                }
                memcpy(o, p + i, l);
                o += l;
                i += l;
        }
        *o = 0;
        return out;
}

char *utf8_dup(const char *s) {
        size_t n;

        if (!s)
                return NULL;
        n = strlen(s);
        return utf8_is_valid(s, n) ? strdup(s) : utf8_escape_invalid(s, n);
}
