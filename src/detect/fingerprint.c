/* SPDX-License-Identifier: MIT */
/*
 * Fingerprints: text normalisation (version 1, documented in fingerprint.h)
 * and SHA-256. Pure; thread-safe.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect-internal.h"
#include "detect/fingerprint.h"
#include "shared/cleanup.h"

/* ---- SHA-256 (FIPS 180-4) ---- */

static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p) {
        uint32_t w[64], a, b, c, d, e, f, g, hh;

        for (int i = 0; i < 16; i++)
                w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 |
                       (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
        for (int i = 16; i < 64; i++) {
                uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
                uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
                uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
                uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
                hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void detect_sha256(const void *data, size_t len, unsigned char out[static 32]) {
        uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
        const unsigned char *p = data;
        unsigned char tail[128] = {};
        uint64_t bits = (uint64_t) len * 8;
        size_t rest, tl;

        for (rest = len; rest >= 64; rest -= 64, p += 64)
                sha256_block(h, p);
        memcpy(tail, p, rest);
        tail[rest] = 0x80;
        tl = rest + 1 + 8 <= 64 ? 64 : 128;
        for (int i = 0; i < 8; i++)
                tail[tl - 1 - i] = (unsigned char) (bits >> (8 * i));
        sha256_block(h, tail);
        if (tl == 128)
                sha256_block(h, tail + 64);
        for (int i = 0; i < 8; i++) {
                out[4 * i] = (unsigned char) (h[i] >> 24);
                out[4 * i + 1] = (unsigned char) (h[i] >> 16);
                out[4 * i + 2] = (unsigned char) (h[i] >> 8);
                out[4 * i + 3] = (unsigned char) h[i];
        }
}

/* ---- normalisation ---- */

static bool is_ident(char c) {
        return isalnum((unsigned char) c) || c == '_';
}

static bool is_path_end(char c) {
        return isspace((unsigned char) c) || strchr("'\"`()[]{}<>,;:", c) || c == 0;
}

/* A line made only of column markers, rulers and box drawing. */
static bool is_marker_line(const char *l, size_t n) {
        bool any = false;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) l[i];

                if (strchr("^~-=_*+| \t", c) && c != 0) {
                        any = any || !isspace(c);
                        continue;
                }
                if (c == 0xe2 && i + 2 < n && ((unsigned char) l[i + 1] == 0x94 ||
                                               (unsigned char) l[i + 1] == 0x95)) {
                        any = true;
                        i += 2;
                        continue;
                }
                return false;
        }
        return true;
}

static size_t hex_run(const char *l, size_t n, size_t i, bool *digit) {
        size_t j = i;

        *digit = false;
        while (j < n && isxdigit((unsigned char) l[j])) {
                *digit = *digit || isdigit((unsigned char) l[j]);
                j++;
        }
        return j - i;
}

static bool is_uuid_at(const char *l, size_t n, size_t i) {
        static const int groups[] = { 8, 4, 4, 4, 12 };

        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                for (int k = 0; k < groups[g]; k++, i++)
                        if (i >= n || !isxdigit((unsigned char) l[i]))
                                return false;
                if (g < 4 && (i >= n || l[i++] != '-'))
                        return false;
        }
        return i >= n || !is_ident(l[i]);
}

static bool tmp_path(const char *p, size_t n) {
        static const char *const dirs[] = { "/tmp/", "/var/tmp/", "/var/folders/", "/private/var/",
                                            "/private/tmp/", "/dev/shm/" };

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if (detect_startswith(p, n, dirs[i]))
                        return true;
        return false;
}

/* "C:\Users\x\AppData\Local\Temp\..." (%TEMP%) */
static bool windows_tmp_path(const char *p, size_t n) {
        for (size_t i = 0; i + 19 <= n; i++)
                if (strncasecmp(p + i, "\\AppData\\Local\\Temp", 19) == 0 ||
                    strncasecmp(p + i, "/AppData/Local/Temp", 19) == 0)
                        return true;
        return false;
}

static size_t skip_number(const char *l, size_t n, size_t i) {
        while (i < n && isdigit((unsigned char) l[i])) {
                i++;
                if (i + 1 < n && strchr(".:,-_", l[i]) && isdigit((unsigned char) l[i + 1]))
                        i++;
        }
        return i;
}

/* Length of a time unit at l[i] (optionally after one space), or 0. */
static size_t duration_unit(const char *l, size_t n, size_t i) {
        static const char *const units[] = { "seconds", "minutes", "secs", "sec", "min", "ms", "us",
                                             "s", "m", "h" };
        size_t sp = i < n && l[i] == ' ' ? 1 : 0;

        for (size_t k = 0; k < ELEMENTSOF(units); k++) {
                size_t ul = strlen(units[k]);

                /* a bare "1 m" is too vague; units after a space must be words */
                if (sp && ul < 2)
                        continue;
                if (i + sp + ul <= n && memcmp(l + i + sp, units[k], ul) == 0 &&
                    (i + sp + ul == n || !is_ident(l[i + sp + ul])))
                        return sp + ul;
        }
        return 0;
}

static int normalize_line(DetectBuf *b, const char *l, size_t n) {
        size_t i = 0;
        int r = 0;

        while (i < n && r >= 0) {
                char c = l[i];
                char prev = i > 0 ? l[i - 1] : ' ';
                bool boundary = !is_ident(prev);

                if (isspace((unsigned char) c)) {
                        while (i < n && isspace((unsigned char) l[i]))
                                i++;
                        if (i < n)
                                r = detect_buf_putc(b, ' ');
                        continue;
                }
                /* Windows: "C:\x\y.dart" and "C:/x/y.dart" keep "y.dart" too */
                if (boundary && isalpha((unsigned char) c) && i + 3 < n && l[i + 1] == ':' &&
                    (l[i + 2] == '\\' || l[i + 2] == '/') && l[i + 3] != '/' &&
                    !is_path_end(l[i + 3])) {
                        size_t e = i + 2, base = e + 1;

                        while (e < n && !is_path_end(l[e])) {
                                if (l[e] == '\\' || l[e] == '/')
                                        base = e + 1;
                                e++;
                        }
                        if (windows_tmp_path(l + i, e - i))
                                r = detect_buf_append(b, "<tmp>", 5);
                        else if (base < e)
                                r = detect_buf_append(b, l + base, e - base);
                        else {
                                /* trailing separator: the directory's name */
                                size_t d = base - 1;

                                while (d > i + 3 && l[d - 1] != '\\' && l[d - 1] != '/')
                                        d--;
                                r = detect_buf_append(b, l + d, base - 1 - d);
                        }
                        i = e;
                        continue;
                }
                /* scheme://host/path -> scheme://host, file:// -> basename */
                if (boundary && isalpha((unsigned char) c)) {
                        size_t j = i;

                        while (j < n && (isalnum((unsigned char) l[j]) || strchr("+.-", l[j])))
                                j++;
                        if (j + 2 < n && l[j] == ':' && l[j + 1] == '/' && l[j + 2] == '/') {
                                bool file = j - i == 4 && strncmp(l + i, "file", 4) == 0;
                                size_t h = j + 3, e = h;

                                while (e < n && !is_path_end(l[e]) && (file || l[e] != '/'))
                                        e++;
                                if (!file) {
                                        r = detect_buf_append(b, l + i, e - i);
                                        while (e < n && !isspace((unsigned char) l[e]) &&
                                               !strchr("'\"`()<>,;", l[e]))
                                                e++;
                                } else {
                                        const char *base = memrchr(l + h, '/', e - h);

                                        base = base ? base + 1 : l + h;
                                        r = detect_buf_append(b, base, (size_t) (l + e - base));
                                }
                                i = e;
                                continue;
                        }
                }
                /* absolute paths keep their last component */
                if (c == '/' && boundary && prev != '/' && i + 1 < n && !isspace((unsigned char) l[i + 1])) {
                        size_t e = i;
                        const char *base;

                        while (e < n && !is_path_end(l[e]))
                                e++;
                        if (tmp_path(l + i, e - i))
                                r = detect_buf_append(b, "<tmp>", 5);
                        else {
                                base = memrchr(l + i, '/', e - i);
                                if (base + 1 == l + e) {
                                        /* trailing slash: use the directory's name */
                                        const char *d = base;
                                        while (d > l + i && d[-1] != '/')
                                                d--;
                                        r = detect_buf_append(b, d, (size_t) (base - d));
                                } else
                                        r = detect_buf_append(b, base + 1, (size_t) (l + e - base - 1));
                        }
                        i = e;
                        continue;
                }
                if (boundary && isxdigit((unsigned char) c)) {
                        bool digit;
                        size_t hl;

                        if (is_uuid_at(l, n, i)) {
                                r = detect_buf_append(b, "<uuid>", 6);
                                i += 36;
                                continue;
                        }
                        if (c == '0' && i + 2 < n && (l[i + 1] == 'x' || l[i + 1] == 'X') &&
                            isxdigit((unsigned char) l[i + 2])) {
                                i += 2 + hex_run(l, n, i + 2, &digit);
                                r = detect_buf_append(b, "<hex>", 5);
                                continue;
                        }
                        hl = hex_run(l, n, i, &digit);
                        if (hl >= 7 && digit && (i + hl >= n || !is_ident(l[i + hl]))) {
                                bool all_digits = true;

                                for (size_t k = i; k < i + hl; k++)
                                        all_digits = all_digits && isdigit((unsigned char) l[k]);
                                if (!all_digits) {
                                        r = detect_buf_append(b, "<hex>", 5);
                                        i += hl;
                                        continue;
                                }
                        }
                }
                if (isdigit((unsigned char) c)) {
                        /* Digits glued to an identifier stay ("cv2"), except a lone 'v'. */
                        if (!boundary && !(prev == 'v' && (i < 2 || !is_ident(l[i - 2])))) {
                                while (i < n && isdigit((unsigned char) l[i]))
                                        r = detect_buf_putc(b, l[i++]);
                                continue;
                        }
                        /* 1.2.3, 12:34:56, 2024-01-02, 1,234 are one number */
                        i = skip_number(l, n, i);
                        /* "41s", "1m 23s", "3.5 ms" are one duration */
                        size_t u = duration_unit(l, n, i);
                        if (u > 0) {
                                i += u;
                                for (;;) {
                                        size_t j = i;

                                        while (j < n && l[j] == ' ')
                                                j++;
                                        if (j >= n || !isdigit((unsigned char) l[j]))
                                                break;
                                        j = skip_number(l, n, j);
                                        u = duration_unit(l, n, j);
                                        if (u == 0)
                                                break;
                                        i = j + u;
                                }
                                r = detect_buf_append(b, "<dur>", 5);
                        } else
                                r = detect_buf_putc(b, '#');
                        continue;
                }
                r = detect_buf_putc(b, c);
                i++;
        }
        return r;
}

int detect_fingerprint_normalize(const char *text, size_t len, char **ret) {
        DetectBuf b = {};
        size_t pos = 0;
        int r;

        r = detect_buf_reserve(&b, len);
        if (r < 0)
                return r;
        while (pos < len) {
                const char *nl = memchr(text + pos, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - text) - pos : len - pos;
                const char *l = text + pos;

                pos += n + 1;
                while (n > 0 && isspace((unsigned char) *l))
                        l++, n--;
                while (n > 0 && isspace((unsigned char) l[n - 1]))
                        n--;
                if (n == 0 || is_marker_line(l, n))
                        continue;
                if (b.len > 0) {
                        r = detect_buf_putc(&b, '\n');
                        if (r < 0)
                                goto fail;
                }
                r = normalize_line(&b, l, n);
                if (r < 0)
                        goto fail;
        }
        *ret = detect_buf_steal(&b);
        return *ret ? 0 : -ENOMEM;
fail:
        detect_buf_done(&b);
        return r;
}

int detect_fingerprint(Category category, const char *text, size_t len,
                       char ret[static DETECT_FINGERPRINT_HEX_LEN + 1]) {
        static const char prefix[] = "appwatch-fp-v1";
        _cleanup_free_ char *norm = NULL;
        DetectBuf b = {};
        unsigned char d[32];
        const char *id = category_to_string(category) ?: "?";
        int r;

        r = detect_fingerprint_normalize(text, len, &norm);
        if (r < 0)
                return r;
        if (detect_buf_append(&b, prefix, sizeof(prefix)) < 0 ||
            detect_buf_append(&b, id, strlen(id) + 1) < 0 ||
            detect_buf_append(&b, norm, strlen(norm)) < 0) {
                detect_buf_done(&b);
                return -ENOMEM;
        }
        detect_sha256(b.data, b.len, d);
        detect_buf_done(&b);
        for (int i = 0; i < DETECT_FINGERPRINT_HEX_LEN / 2; i++) {
                ret[2 * i] = "0123456789abcdef"[d[i] >> 4];
                ret[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
        }
        ret[DETECT_FINGERPRINT_HEX_LEN] = 0;
        return 0;
}
