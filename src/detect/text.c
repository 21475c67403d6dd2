/* SPDX-License-Identifier: MIT */
/*
 * Small text utilities for the detection engine: a growable buffer, UTF-8
 * sanitising, terminal clean-up of log lines, and the import-name to PyPI
 * distribution table used by pip fixes. Pure; thread-safe.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect-internal.h"
#include "detect/engine.h"
#include "shared/parse.h"
#include "shared/cleanup.h"

int detect_buf_reserve(DetectBuf *b, size_t extra) {
        size_t need, cap;
        char *p;

        if (extra > SIZE_MAX / 2 - b->len - 1)
                return -ENOMEM;
        need = b->len + extra + 1;
        if (need <= b->cap)
                return 0;
        cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        p = realloc(b->data, cap);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->cap = cap;
        return 0;
}

int detect_buf_append(DetectBuf *b, const char *p, size_t n) {
        int r;

        r = detect_buf_reserve(b, n);
        if (r < 0)
                return r;
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
        return 0;
}

int detect_buf_putc(DetectBuf *b, char c) {
        return detect_buf_append(b, &c, 1);
}

int detect_buf_printf(DetectBuf *b, const char *fmt, ...) {
        va_list ap;
        int n, r;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        r = detect_buf_reserve(b, (size_t) n);
        if (r < 0)
                return r;
        va_start(ap, fmt);
        (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
        return 0;
}

void detect_buf_done(DetectBuf *b) {
        free(b->data);
        *b = (DetectBuf) {};
}

char *detect_buf_steal(DetectBuf *b) {
        char *p;

        if (!b->data && detect_buf_reserve(b, 0) < 0)
                return NULL;
        b->data[b->len] = 0;
        p = b->data;
        *b = (DetectBuf) {};
        return p;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
        unsigned char c = s[0];
        size_t len;
        uint32_t cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                len = 2, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
                len = 3, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
                len = 4, cp = c & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

int detect_utf8_sanitize_append(DetectBuf *b, const char *in, size_t n) {
        const unsigned char *s = (const unsigned char *) in;
        size_t i = 0;
        int r;

        r = detect_buf_reserve(b, n);
        if (r < 0)
                return r;
        while (i < n) {
                size_t start = i;

                /* Copy the run of plain printable ASCII in one go. */
                while (i < n && s[i] >= 0x20 && s[i] < 0x7f)
                        i++;
                if (i > start) {
                        r = detect_buf_append(b, in + start, i - start);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (s[i] < 0x80) {
                        r = detect_buf_putc(b, (s[i] == '\n' || s[i] == '\t') ? (char) s[i] : '?');
                        i++;
                } else {
                        size_t l = utf8_seq_len(s + i, n - i);

                        if (l == 0) {
                                r = detect_buf_append(b, "\xef\xbf\xbd", 3);
                                i++;
                        } else {
                                r = detect_buf_append(b, in + i, l);
                                i += l;
                        }
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

char *detect_utf8_sanitize(const char *in, size_t n) {
        DetectBuf b = {};

        if (detect_utf8_sanitize_append(&b, in, n) < 0) {
                detect_buf_done(&b);
                return NULL;
        }
        return detect_buf_steal(&b);
}

size_t detect_utf8_truncate(const char *s, size_t n, size_t max) {
        if (n <= max)
                return n;
        /* Step back over continuation bytes so that no sequence is split. */
        while (max > 0 && ((unsigned char) s[max] & 0xc0) == 0x80)
                max--;
        return max;
}

/* ---- decorations ----
 *
 * The same failure is printed, stored and pasted with different wrappings:
 * a markdown quote or fence around it (issue threads), a box drawn around it
 * (Flutter and other CLIs), a prefix on every line (flutter -v, logging
 * frameworks, CI runners, logcat). Each helper below returns the length of
 * one such decoration at the start of s[0..n), or 0. They only take what is
 * unambiguous: a warning-level prefix is kept (dropping it would make a
 * warning look like the failure it quotes), and a lone "│" is not a frame
 * (pip draws its trees with it). */

static bool is_digit_at(const char *s, size_t n, size_t i) {
        return i < n && isdigit((unsigned char) s[i]);
}

static size_t skip_digits(const char *s, size_t n, size_t i) {
        while (i < n && isdigit((unsigned char) s[i]))
                i++;
        return i;
}

static bool digit2(const char *s) {
        return (unsigned) (s[0] - '0') < 10 && (unsigned) (s[1] - '0') < 10;
}

/* "HH:MM:SS" with optional ".fff" or ",fff" at s+i; returns the end or 0. */
static size_t clock_time(const char *s, size_t n, size_t i) {
        if (i + 8 > n || s[i + 2] != ':' || s[i + 5] != ':' || !digit2(s + i) || !digit2(s + i + 3) ||
            !digit2(s + i + 6))
                return 0;
        i += 8;
        if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit_at(s, n, i + 1))
                i = skip_digits(s, n, i + 1);
        return i;
}

/* "2026-11-30 10:00:01,123", "2024-01-01T00:00:00.0000000Z", "...+02:00",
 * "2026/11/30 10:00:01" (Go's log), "30-Nov-2026 10:00:01" (Bamboo, Tomcat),
 * "10:00:01.123"; returns the end or 0. */
static size_t timestamp_at(const char *s, size_t n, size_t i) {
        size_t j, clock = i;

        /* the date, if any, then the time of day */
        if (i + 19 <= n && ((s[i + 4] == '-' && s[i + 7] == '-') || (s[i + 4] == '/' && s[i + 7] == '/')) &&
            (s[i + 10] == 'T' || s[i + 10] == ' ') &&
            digit2(s + i) && digit2(s + i + 2) && digit2(s + i + 5) && digit2(s + i + 8))
                clock = i + 11;
        else if (i + 20 <= n && digit2(s + i) && s[i + 2] == '-' && isupper((unsigned char) s[i + 3]) &&
                 islower((unsigned char) s[i + 4]) && islower((unsigned char) s[i + 5]) && s[i + 6] == '-' &&
                 digit2(s + i + 7) && digit2(s + i + 9) && s[i + 11] == ' ')
                clock = i + 12;
        j = clock_time(s, n, clock);
        if (j == 0)
                return 0;
        if (j < n && s[j] == 'Z')
                j++;
        else if (j + 2 < n && (s[j] == '+' || s[j] == '-') && is_digit_at(s, n, j + 1) &&
                 is_digit_at(s, n, j + 2)) {
                j += 3;
                if (j < n && s[j] == ':')
                        j++;
                j = skip_digits(s, n, j);
        }
        return j;
}

/* "Sep 21 09:00:01 ", "Dec  3 09:00:01.123456 ", "12月 15 09:00:01 ": a
 * month word of letters and non-ASCII bytes (or digits before non-ASCII
 * ones), the day, the time of day; returns the end or 0.
 * log_prefix() asks only for lines that start with a digit, or with a
 * capital and a space after three bytes: other locales' months ("fev 15",
 * "окт 15") would cost a look at every line that starts with a letter. */
static size_t syslog_date(const char *l, size_t n) {
        size_t i = 0, j;
        bool letter = false, high = false;

        /* a number before the month's word only where a non-ASCII one
         * follows it ("12月"): a digit starts many lines */
        if (isdigit((unsigned char) l[0])) {
                i = skip_digits(l, n, 0);
                if (i > 2 || i >= n || (unsigned char) l[i] < 0x80)
                        return 0;
        }
        for (; i < n && i < 12 && l[i] != ' '; i++) {
                unsigned char c = (unsigned char) l[i];

                if (c >= 0x80)
                        high = true;
                else if (isalpha(c))
                        letter = true;
                else if (!isdigit(c))
                        return 0;
        }
        /* letters, or digits and non-ASCII ("12月"); not a number alone */
        if (i < 2 || i >= n || !(letter || high) || (isdigit((unsigned char) l[0]) && !high))
                return 0;
        i++;
        if (i < n && l[i] == ' ')
                i++;                            /* "Dec  3": the day padded */
        j = skip_digits(l, n, i);
        if (j == i || j - i > 2 || j >= n || l[j] != ' ')
                return 0;
        j = clock_time(l, n, j + 1);
        if (j == 0 || j >= n || l[j] != ' ')
                return 0;
        return j + 1;
}

/* Length of a syslog/journalctl prefix ("Sep 21 09:00:01 host ident[pid]: ",
 * "2024-09-21T09:00:01+0000 host ident[pid]: "), or 0. Log files written by
 * rsyslog or "journalctl > file" carry one on every line, which would hide
 * the indentation that multi-line assembly relies on. */
static size_t syslog_prefix(const char *l, size_t n) {
        size_t i;
        const char *colon;
        bool iso = false;

        i = syslog_date(l, n);
        if (i == 0) {
                const char *sp;

                if (!(n > 20 && isdigit((unsigned char) l[0]) && l[4] == '-' && l[7] == '-' && l[10] == 'T' &&
                      l[13] == ':' && l[16] == ':'))
                        return 0;
                sp = memchr(l, ' ', n);
                if (!sp)
                        return 0;
                i = (size_t) (sp - l) + 1;
                iso = true;
        }
        /* host: a host name ("2024-01-01T00:00:00Z Error: x.dart:3:" and
         * "... * Try:" are CI timestamps before a message, not syslog lines) */
        for (size_t h = i; i < n && l[i] != ' '; i++)
                if (!isalnum((unsigned char) l[i]) && !strchr("-._", l[i]))
                        return 0;
                else if (i == h && !isalnum((unsigned char) l[i]))
                        return 0;
        if (i >= n)
                return 0;
        i++;
        /* ident[pid]: a name, with no space inside, not too long */
        if (i >= n || !(isalpha((unsigned char) l[i]) || l[i] == '_'))
                return 0;
        colon = memchr(l + i, ':', n - i < 96 ? n - i : 96);
        if (!colon || memchr(l + i, ' ', (size_t) (colon - l) - i))
                return 0;
        /* After an ISO timestamp only "ident[pid]:" (journalctl -o short-iso):
         * CI runners put the same timestamp before "Unhandled exception:". */
        if (iso && colon[-1] != ']')
                return 0;
        i = (size_t) (colon - l) + 1;
        if (i < n && l[i] == ' ')
                i++;
        return i;
}

/* Levels whose prefix is dropped; warnings and notices are not among them. */
static size_t level_word(const char *s, size_t n, size_t i, bool any_case) {
        static const char *const words[] = { "CRITICAL", "CRIT", "DEBUG", "ERROR", "ERR", "FATAL",
                                             "INFO", "SEVERE", "TRACE" };
        size_t from, to;

        if (i + 3 > n)
                return 0;
        switch (any_case ? toupper((unsigned char) s[i]) : s[i]) {
        case 'C': from = 0, to = 2; break;
        case 'D': from = 2, to = 3; break;
        case 'E': from = 3, to = 5; break;
        case 'F': from = 5, to = 6; break;
        case 'I': from = 6, to = 7; break;
        case 'S': from = 7, to = 8; break;
        case 'T': from = 8, to = 9; break;
        default: return 0;
        }
        for (size_t k = from; k < to; k++) {
                size_t l = strlen(words[k]);

                if (i + l <= n &&
                    (any_case ? strncasecmp(s + i, words[k], l) : memcmp(s + i, words[k], l)) == 0 &&
                    (i + l == n || !isalnum((unsigned char) s[i + l])))
                        return l;
        }
        return 0;
}

/* Skips " ", " - ", " | " after a prefix; returns the new position, or 0 if
 * the prefix is not followed by a separator (then it is not a prefix). */
static size_t prefix_separator(const char *s, size_t n, size_t i) {
        if (i >= n)
                return i;
        if (s[i] != ' ')
                return 0;
        if (i + 2 < n && (s[i + 1] == '-' || s[i + 1] == '|') && s[i + 2] == ' ')
                return i + 3;
        return i + 1;
}

/* A timestamp, bare or in brackets, and an optional level after it. */
static size_t timestamp_prefix(const char *s, size_t n) {
        bool bracket = n > 0 && s[0] == '[';
        size_t i = timestamp_at(s, n, bracket), l;

        if (i == 0)
                return 0;
        if (bracket) {
                if (i >= n || s[i] != ']')
                        return 0;
                i++;
                /* fastlane: "[10:35:51]: " */
                if (i + 1 < n && s[i] == ':' && s[i + 1] == ' ')
                        i++;
        } else if (i < n && s[i] == '|' && (l = level_word(s, n, i + 1, true)) && i + 1 + l < n &&
                   s[i + 1 + l] == '|') {
                /* NLog's default layout (Sonarr, Radarr, .NET tools):
                 * "2023-11-06 10:39:02.0|Error|logger|message" */
                size_t j = i + 2 + l, k = j;

                while (k < n && k - j < 96 && s[k] != '|' && s[k] != ' ')
                        k++;
                return k < n && s[k] == '|' ? k + 1 : j;
        }
        i = prefix_separator(s, n, i);
        if (i == 0)
                return 0;
        /* fastlane's xcpretty and gradle lines: "[10:35:51]: ▸ " */
        if (bracket && detect_startswith(s + i, n - i, "\xe2\x96\xb8 "))
                return i + 4;
        if (i < n && s[i] == '[' && (l = level_word(s, n, i + 1, true)) && i + 1 + l < n &&
            s[i + 1 + l] == ']') {
                size_t j = prefix_separator(s, n, i + 2 + l);

                if (j > 0)
                        i = j;
        } else if ((l = level_word(s, n, i, false))) {
                size_t j = i + l;

                /* "%-5s" pads "INFO" to five columns */
                while (j < n && s[j] == ' ' && j + 1 < n && s[j + 1] == ' ' && j - i < 5)
                        j++;
                j = prefix_separator(s, n, j);
                /* "FATAL ERROR" is a message's first words (Node's "FATAL
                 * ERROR: Reached heap limit"), not a level and a message;
                 * a level before a line of its own ("ERROR ERROR: ...",
                 * pip's line logged) is still a level */
                if (j > 0 && !(l == 5 && memcmp(s + i, "FATAL", 5) == 0 && detect_startswith(s + j, n - j, "ERROR")))
                        i = j;
        }
        return i;
}

/* flutter -v: "[  +24 ms] ", "[+1024 ms] ", "[        ] " */
static size_t flutter_verbose_prefix(const char *s, size_t n) {
        size_t i = 1;

        if (n < 3 || s[0] != '[')
                return 0;
        while (i < n && s[i] == ' ')
                i++;
        if (i < n && s[i] == '+') {
                size_t d = skip_digits(s, n, i + 1);

                if (d == i + 1 || d >= n || s[d] != ' ')
                        return 0;
                i = d + 1;
                if (i + 1 < n && s[i] == 'm' && s[i + 1] == 's')
                        i += 2;
                else if (i < n && s[i] == 's')
                        i++;
                else
                        return 0;
        } else if (i < 4)
                return 0;                       /* "[ ]" is a checkbox, not a prefix */
        if (i >= n || s[i] != ']' || i > 16)
                return 0;
        i++;
        return i < n && s[i] == ' ' ? i + 1 : i;
}

/* "[ERROR] ", "[info] " */
static size_t level_prefix(const char *s, size_t n) {
        size_t l;

        if (n < 3 || s[0] != '[' || !(l = level_word(s, n, 1, true)) || 1 + l >= n || s[1 + l] != ']')
                return 0;
        return prefix_separator(s, n, 2 + l);
}

/* Android logcat: "E/flutter (12345): ", "I/flutter( 1234): " */
static size_t logcat_prefix(const char *s, size_t n) {
        size_t i = 2;

        if (n < 6 || !strchr("VDIEF", s[0]) || s[0] == 0 || s[1] != '/')
                return 0;
        while (i < n && i < 40 && (isalnum((unsigned char) s[i]) || strchr("._-", s[i])))
                i++;
        if (i == 2)
                return 0;
        if (i < n && s[i] == ' ')
                i++;
        if (i >= n || s[i] != '(')
                return 0;
        i++;
        while (i < n && s[i] == ' ')
                i++;
        i = skip_digits(s, n, i);
        if (i + 1 >= n || s[i] != ')' || s[i + 1] != ':')
                return 0;
        i += 2;
        return i < n && s[i] == ' ' ? i + 1 : i;
}

/* Docker BuildKit (plain progress): "#12 3.456 " before each line a step prints. */
static size_t buildkit_prefix(const char *s, size_t n) {
        size_t i = skip_digits(s, n, 1), d;

        if (i == 1 || i >= n || s[i] != ' ')
                return 0;
        d = skip_digits(s, n, i + 1);
        if (d == i + 1 || d >= n || s[d] != '.')
                return 0;
        i = skip_digits(s, n, d + 1);
        if (i == d + 1 || (i < n && s[i] != ' '))
                return 0;
        return i < n ? i + 1 : i;
}

/* GitHub Actions' workflow commands as its log shows them: "##[error]",
 * "##[group]", "##[endgroup]", "##[command]", "##[debug]", and as a step
 * prints them: "::error::", "::error file=a.py,line=3::". "##[warning]" and
 * "::warning" stay: a warning that quotes an error is still a warning. */
static size_t actions_prefix(const char *s, size_t n) {
        static const char *const marks[] = { "##[error]", "##[group]", "##[endgroup]", "##[command]",
                                             "##[debug]" };

        for (size_t i = 0; i < ELEMENTSOF(marks); i++)
                if (detect_startswith(s, n, marks[i]))
                        return strlen(marks[i]);
        if (detect_startswith(s, n, "::error::"))
                return strlen("::error::");
        if (detect_startswith(s, n, "::error ")) {
                const char *e = detect_memmem_str(s + 8, n - 8 < 512 ? n - 8 : 512, "::");

                if (e && !memchr(s + 8, '\n', (size_t) (e - s) - 8))
                        return (size_t) (e - s) + 2;
        }
        return 0;
}

/* docker compose: "web_1     | " (v1) and "app-1  | " (v2), a service name
 * and its replica number, padded to the widest, before each line the
 * container prints. The number is required: "cat | grep x" is no prefix. */
static size_t compose_prefix(const char *s, size_t n) {
        size_t i = 0, d, name;
        bool numbered;

        /* most lines have no '|' near their start: one vector search */
        if (!memchr(s, '|', n < 80 ? n : 80))
                return 0;
        while (i < n && i < 64 && (islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) ||
                                   s[i] == '_' || s[i] == '-' || s[i] == '.'))
                i++;
        name = i;
        if (i < 3 || i >= n || s[i] != ' ')
                return 0;
        d = i;
        while (d > 0 && isdigit((unsigned char) s[d - 1]))
                d--;
        numbered = d < i && d >= 2 && (s[d - 1] == '_' || s[d - 1] == '-');
        while (i < n && s[i] == ' ')
                i++;
        if (i >= n || s[i] != '|')
                return 0;
        /* a container_name: has no number; then compose's padding (two
         * spaces or more) must tell it from a shell pipe ("cat | grep") */
        if (!numbered && i - name < 2)
                return 0;
        i++;
        return i < n && s[i] == ' ' ? i + 1 : i;
}

/* First bytes of log_prefix()'s prefixes: '[', '#', ':', digits, letters
 * (lower case: docker compose's service names). */
static const bool prefix_start[256] = {
        ['['] = true, ['#'] = true, [':'] = true,
        ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
        ['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
        ['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true,
        ['G'] = true, ['H'] = true, ['I'] = true, ['J'] = true, ['K'] = true, ['L'] = true,
        ['M'] = true, ['N'] = true, ['O'] = true, ['P'] = true, ['Q'] = true, ['R'] = true,
        ['S'] = true, ['T'] = true, ['U'] = true, ['V'] = true, ['W'] = true, ['X'] = true,
        ['Y'] = true, ['Z'] = true,
        ['a'] = true, ['b'] = true, ['c'] = true, ['d'] = true, ['e'] = true, ['f'] = true,
        ['g'] = true, ['h'] = true, ['i'] = true, ['j'] = true, ['k'] = true, ['l'] = true,
        ['m'] = true, ['n'] = true, ['o'] = true, ['p'] = true, ['q'] = true, ['r'] = true,
        ['s'] = true, ['t'] = true, ['u'] = true, ['v'] = true, ['w'] = true, ['x'] = true,
        ['y'] = true, ['z'] = true,
};

/* First bytes of any decoration detect_line_clean() strips: a quote, a
 * fence, a frame (UTF-8 lead byte of the box characters) or a prefix. */
static const bool decoration_start[256] = {
        ['>'] = true, ['`'] = true, ['~'] = true, [0xe2] = true, ['*'] = true, ['_'] = true,
        ['['] = true, ['#'] = true, [':'] = true,
        ['0'] = true, ['1'] = true, ['2'] = true, ['3'] = true, ['4'] = true,
        ['5'] = true, ['6'] = true, ['7'] = true, ['8'] = true, ['9'] = true,
        ['A'] = true, ['B'] = true, ['C'] = true, ['D'] = true, ['E'] = true, ['F'] = true,
        ['G'] = true, ['H'] = true, ['I'] = true, ['J'] = true, ['K'] = true, ['L'] = true,
        ['M'] = true, ['N'] = true, ['O'] = true, ['P'] = true, ['Q'] = true, ['R'] = true,
        ['S'] = true, ['T'] = true, ['U'] = true, ['V'] = true, ['W'] = true, ['X'] = true,
        ['Y'] = true, ['Z'] = true,
};

static inline __attribute__((__always_inline__)) size_t log_prefix(const char *s, size_t n) {
        size_t k;

        if (n == 0)
                return 0;
        if (isdigit((unsigned char) s[0]))
                return (k = syslog_prefix(s, n)) ? k : timestamp_prefix(s, n);
        /* "Sep 21 09:00:01 ": checked here, most capitals start no prefix
         * (a month of other letters, "fev 15", "окт 15", would cost a look
         * at every line that starts with a letter: not taken) */
        if (isupper((unsigned char) s[0]) && n > 16 && s[3] == ' ' && s[9] == ':' &&
            (k = syslog_prefix(s, n)))
                return k;
        if (s[0] == '[') {
                if ((k = flutter_verbose_prefix(s, n)) || (k = level_prefix(s, n)))
                        return k;
                return timestamp_prefix(s, n);
        }
        if (s[0] == '#')
                return s[1 < n ? 1 : 0] == '#' ? actions_prefix(s, n) : buildkit_prefix(s, n);
        if (s[0] == ':')
                return actions_prefix(s, n);
        if (islower((unsigned char) s[0]))
                return compose_prefix(s, n);
        if (s[1 < n ? 1 : 0] == '/')
                return logcat_prefix(s, n);
        return 0;
}

/* Takes up to four log prefixes off d[start..end); returns the new start. */
static inline __attribute__((__always_inline__)) size_t strip_prefixes(const char *d, size_t start, size_t end,
                                                                       DetectLineInfo *info) {
        for (int round = 0; round < 4 && start < end && prefix_start[(unsigned char) d[start]]; round++) {
                size_t k = log_prefix(d + start, end - start);

                if (k == 0)
                        break;
                start += k;
                info->prefixed = true;
        }
        return start;
}

/* Vertical frame characters: │ (e2 94 82), ┃ (e2 94 83), ║ (e2 95 91). */
static bool frame_bar(const char *s, size_t n) {
        return n >= 3 && (unsigned char) s[0] == 0xe2 &&
               (((unsigned char) s[1] == 0x94 && ((unsigned char) s[2] == 0x82 || (unsigned char) s[2] == 0x83)) ||
                ((unsigned char) s[1] == 0x95 && (unsigned char) s[2] == 0x91));
}

/* Corners and tees of light, heavy, double and rounded boxes. */
static bool frame_corner(const char *s, size_t n) {
        static const char *const corners[] = {
                "\xe2\x94\x8c", "\xe2\x94\x90", "\xe2\x94\x94", "\xe2\x94\x98", /* ┌┐└┘ */
                "\xe2\x94\x8f", "\xe2\x94\x93", "\xe2\x94\x97", "\xe2\x94\x9b", /* ┏┓┗┛ */
                "\xe2\x95\x94", "\xe2\x95\x97", "\xe2\x95\x9a", "\xe2\x95\x9d", /* ╔╗╚╝ */
                "\xe2\x95\xad", "\xe2\x95\xae", "\xe2\x95\xb0", "\xe2\x95\xaf", /* ╭╮╰╯ */
                "\xe2\x94\x9c", "\xe2\x94\xa4", "\xe2\x94\xa3", "\xe2\x94\xab", /* ├┤┣┫ */
                "\xe2\x95\xa0", "\xe2\x95\xa3",                                 /* ╠╣ */
        };

        if (n < 3 || (unsigned char) s[0] != 0xe2)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(corners); i++)
                if (memcmp(s, corners[i], 3) == 0)
                        return true;
        return false;
}

static size_t skip_quotes(const char *d, size_t start, size_t end) {
        while (start < end && d[start] == '>' && (start + 1 == end || d[start + 1] == ' '))
                start += start + 1 == end ? 1 : 2;
        return start;
}

/* Takes the backticks off a whole line of `inline code` in d[*start..*end):
 * markdown's code span opens and closes with the same run of one or two
 * backticks (``a line with ` in it``); three open a fence. */
static inline __attribute__((__always_inline__)) bool inline_code(const char *d, size_t *start, size_t *end) {
        size_t k, n = *end - *start;

        if (n <= 2 || d[*start] != '`' || d[*end - 1] != '`')
                return false;
        k = d[*start + 1] == '`' ? 2 : 1;
        if (n <= 2 * k || (k == 2 && (d[*start + 2] == '`' || d[*end - 2] != '`')))
                return false;
        *start += k;
        *end -= k;
        return true;
}

/* Takes markdown's emphasis off a whole line in d[*start..*end): one or two
 * '*' or '_' on both ends, as a person marks the message of a sentence
 * (_IndentationError: unexpected indent_, **Error: ...**, _MemoryError_),
 * also inside inline code.
 * Not __init__: a dunder name alone is no emphasis. */
static bool emphasis(const char *d, size_t *start, size_t *end) {
        size_t k, n = *end - *start;
        char m;

        if (n < 5 || (d[*start] != '*' && d[*start] != '_'))
                return false;
        m = d[*start];
        k = d[*start + 1] == m ? 2 : 1;
        if (n < 2 * k + 3 || d[*end - 1] != m || (k == 2 && d[*end - 2] != m) || d[*start + k] == m ||
            d[*end - 1 - k] == m || isspace((unsigned char) d[*start + k]) ||
            isspace((unsigned char) d[*end - 1 - k]) || (m == '_' && k == 2 && !memchr(d + *start + k, ' ', n - 2 * k)))
                return false;
        *start += k;
        *end -= k;
        return true;
}

static bool is_fence(const char *s, size_t n) {
        size_t i = 0;

        if (n - i < 3 || (memcmp(s + i, "```", 3) != 0 && memcmp(s + i, "~~~", 3) != 0))
                return false;
        for (i += 3; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("`~-_+ ", s[i]))
                        return false;
        return true;
}

static bool wide_codepoint(uint32_t c) {
        return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0x303e) ||
               (c >= 0x3041 && c <= 0x33ff) || (c >= 0x3400 && c <= 0x4dbf) ||
               (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa000 && c <= 0xa4cf) ||
               (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
               (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
               (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1f64f) ||
               (c >= 0x1f900 && c <= 0x1f9ff) || (c >= 0x20000 && c <= 0x3fffd);
}

/* Display width, as a terminal counts it: tabs to the next multiple of 8,
 * East Asian wide characters and emoji as two columns. */
size_t detect_display_columns(const char *s, size_t n) {
        const unsigned char *u = (const unsigned char *) s;
        typedef unsigned char V16 __attribute__((__vector_size__(16)));
        size_t cols = 0, i = 0;

        /* Fast path, sixteen bytes at a time (SSE2/NEON through the
         * compiler's vector extension): ASCII without a tab is one column a
         * byte. */
        while (n >= 16) {
                V16 v, odd;
                uint64_t lo, hi;

                /* the last block overlaps the one before: no byte loop */
                if (i + 16 > n)
                        i = n - 16;
                memcpy(&v, u + i, 16);
                odd = (V16) ((v >= 0x80) | (v == '\t'));
                memcpy(&lo, &odd, 8);
                memcpy(&hi, (const char *) &odd + 8, 8);
                if (lo | hi)
                        break;
                i += 16;
                if (i >= n)
                        return n;
        }
        for (i = 0; i < n;) {
                size_t l;
                uint32_t c;

                if (u[i] < 0x80) {
                        cols = u[i] == '\t' ? (cols / 8 + 1) * 8 : cols + 1;
                        i++;
                        continue;
                }
                l = utf8_seq_len(u + i, n - i);
                if (l == 0) {
                        cols++;
                        i++;
                        continue;
                }
                c = l == 2 ? u[i] & 0x1f : l == 3 ? u[i] & 0x0f : u[i] & 0x07;
                for (size_t k = 1; k < l; k++)
                        c = (c << 6) | (u[i + k] & 0x3f);
                cols += wide_codepoint(c) ? 2 : 1;
                i += l;
        }
        return cols;
}

/* Copies line[0..n) without its ANSI escape sequences into b; esc is the
 * first ESC in it. */
static int strip_ansi(DetectBuf *b, const char *line, size_t n, const char *esc) {
        size_t i = 0;
        int r;

        detect_buf_clear(b);
        r = detect_buf_reserve(b, n);
        if (r < 0)
                return r;
        while (i < n) {
                size_t upto = esc ? (size_t) (esc - line) : n;

                r = detect_buf_append(b, line + i, upto - i);
                if (r < 0)
                        return r;
                if (!esc)
                        break;
                i = upto + 1;
                if (i < n && line[i] == '[') {
                        /* CSI: parameters and intermediates, then one final byte. */
                        i++;
                        while (i < n && (unsigned char) line[i] >= 0x20 &&
                               (unsigned char) line[i] <= 0x3f)
                                i++;
                        if (i < n)
                                i++;
                } else if (i < n && line[i] == ']') {
                        /* OSC: up to BEL or ESC \ */
                        while (i < n && line[i] != 0x07 && line[i] != 0x1b)
                                i++;
                        if (i < n && line[i] == 0x1b && i + 1 < n && line[i + 1] == '\\')
                                i++;
                        if (i < n)
                                i++;
                } else if (i < n) {
                        i++;
                }
                esc = i < n ? memchr(line + i, 0x1b, n - i) : NULL;
        }
        return 0;
}

/* Whether s[0..n) holds a CR or an ESC, sixteen bytes at a time (through
 * the compiler's vector extension, as in detect_display_columns()): one
 * pass instead of a memrchr() and a memchr() on every line, and most lines
 * hold neither. */
static bool has_cr_or_esc(const char *s, size_t n) {
        typedef unsigned char V16 __attribute__((__vector_size__(16)));
        const unsigned char *u = (const unsigned char *) s;
        size_t i = 0;

        if (n >= 16)
                for (;;) {
                        V16 v, m;
                        uint64_t lo, hi;

                        /* the last block overlaps the one before: no byte loop */
                        if (i + 16 > n)
                                i = n - 16;
                        memcpy(&v, u + i, 16);
                        m = (V16) ((v == '\r') | (v == 0x1b));
                        memcpy(&lo, &m, 8);
                        memcpy(&hi, (const char *) &m + 8, 8);
                        if (lo | hi)
                                return true;
                        i += 16;
                        if (i >= n)
                                return false;
                }
        for (; i < n; i++)
                if (u[i] == '\r' || u[i] == 0x1b)
                        return true;
        return false;
}

/* Takes inline code, then the emphasis inside it, off a whole line:
 * whether either was there. */
static bool take_off_marks(const char *d, size_t *start, size_t *end) {
        bool code = inline_code(d, start, end);

        return emphasis(d, start, end) || code;
}

void detect_line_unwrap_marks(const char *d, size_t *start, size_t *end) {
        DetectLineInfo info = {};

        /* and what the marks quoted: a prefix, a quote ("`#19 43.74 Warning: ...`") */
        if (take_off_marks(d, start, end))
                *start = skip_quotes(d, strip_prefixes(d, *start, *end, &info), *end);
}

int detect_line_clean(DetectBuf *b, const char *line, size_t n, DetectLineInfo *ret) {
        DetectLineInfo info = {};
        bool framed = false;
        const char *cr = NULL, *esc = NULL, *d;
        bool special;
        size_t start = 0, end;
        int r;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        special = has_cr_or_esc(line, n);
        /* "progress\rprogress\rfinal": the terminal shows what follows the last CR. */
        if (special)
                cr = memrchr(line, '\r', n);
        if (cr) {
                size_t skip = (size_t) (cr - line) + 1;
                line += skip;
                n -= skip;
        }
        /* Without escape sequences (most lines) the line is used in place:
         * every step below only moves the start and the end. */
        if (special)
                esc = memchr(line, 0x1b, n);
        if (esc) {
                r = strip_ansi(b, line, n, esc);
                if (r < 0)
                        return r;
                d = b->data;
                end = b->len;
        } else {
                d = line;
                end = n;
        }
        if (end == 0)
                goto done;
        /* Most lines start with a lower-case letter, white space or
         * punctuation that begins no decoration, and are shorter than a
         * terminal: one table look-up, and they are used as they are. */
        if (end < DETECT_WRAP_COLUMNS && !decoration_start[(unsigned char) d[0]] &&
            !(islower((unsigned char) d[0]) && compose_prefix(d, end) > 0))
                goto done;

        /* Decorations, outermost first. The common undecorated line costs a
         * few byte comparisons. */
        /* markdown quotes, nested ones too ("> > ", ">") */
        start = skip_quotes(d, start, end);
        info.quote_columns = start;
        if (start < end && (d[start] == '`' || d[start] == '~') && is_fence(d + start, end - start)) {
                info.boundary = true;
                start = end;
                goto done;
        }
        /* a whole line in `inline code`, as issue threads quote one line,
         * or in _emphasis_ */
        if (take_off_marks(d, &start, &end))
                start = skip_quotes(d, start, end);
        if (start + 3 <= end && (unsigned char) d[start] == 0xe2) {
                size_t e = end;

                while (e > start && (d[e - 1] == ' ' || d[e - 1] == '\t'))
                        e--;
                if (e - start >= 6 && frame_corner(d + start, e - start) && frame_corner(d + e - 3, 3)) {
                        /* ┌─ Title ─┐, └──┘: the box's edge, a boundary like a fence */
                        info.boundary = true;
                        start = end;
                        goto done;
                }
                if (e - start >= 6 && frame_bar(d + start, e - start) && frame_bar(d + e - 3, 3)) {
                        start += 3;
                        if (start < e - 3 && d[start] == ' ')
                                start++;
                        end = e - 3;
                        while (end > start && (d[end - 1] == ' ' || d[end - 1] == '\t'))
                                end--;
                        framed = true;
                }
        }
        /* What the terminal showed: wrapping happened at this width. */
        if (!framed && end - start + info.quote_columns >= DETECT_WRAP_COLUMNS)
                info.columns = detect_display_columns(d + start, end - start);
        /* Most lines start with a lower-case letter, white space or
         * punctuation, which begin no prefix: one table look-up. */
        start = strip_prefixes(d, start, end, &info);
        /* Gradle's own "> " markers inside a frame or under a prefix go too:
         * the same lines bare lost them as quote markers above. */
        if (info.prefixed || framed) {
                size_t q = skip_quotes(d, start, end);

                /* a line of inline code or emphasis in a frame, as a box
                 * around a person's notes has it */
                if (framed && !info.prefixed && q == start && take_off_marks(d, &q, &end))
                        q = skip_quotes(d, strip_prefixes(d, q, end, &info), end);
                /* Under a prefix: a quote or a line of inline code, and
                 * then the decorations of the line they quote ("[  +3 ms]
                 * > app-1  | > ...", "2024-01-01T00:00:00Z `[ERROR] ...`") */
                for (int round = 0; round < 2 && info.prefixed && (q > start || take_off_marks(d, &q, &end));
                     round++) {
                        start = strip_prefixes(d, skip_quotes(d, q, end), end, &info);
                        q = skip_quotes(d, start, end);
                }
                start = q;
        }
done:
        info.text = d + start;
        info.len = end - start;
        *ret = info;
        return 0;
}

bool detect_startswith(const char *s, size_t n, const char *prefix) {
        size_t l = strlen(prefix);
        return n >= l && memcmp(s, prefix, l) == 0;
}

bool detect_startswith_case(const char *s, size_t n, const char *prefix) {
        size_t l = strlen(prefix);
        return n >= l && strncasecmp(s, prefix, l) == 0;
}

const char *detect_memmem_str(const char *s, size_t n, const char *needle) {
        return memmem(s, n, needle, strlen(needle));
}

/* Import names whose distribution has another name. Dotted entries are
 * matched first, then the top-level package. */
static const struct {
        const char *module, *dist;
} python_dists[] = {
        { "google.generativeai", "google-generativeai" },
        { "google.genai", "google-genai" },
        { "google.cloud.storage", "google-cloud-storage" },
        { "google.cloud.bigquery", "google-cloud-bigquery" },
        { "google.cloud.firestore", "google-cloud-firestore" },
        { "google.protobuf", "protobuf" },
        { "google.auth", "google-auth" },
        { "google.oauth2", "google-auth" },
        { "googleapiclient", "google-api-python-client" },
        { "cv2", "opencv-python" },
        { "yaml", "PyYAML" },
        { "PIL", "Pillow" },
        { "sklearn", "scikit-learn" },
        { "skimage", "scikit-image" },
        { "bs4", "beautifulsoup4" },
        { "dotenv", "python-dotenv" },
        { "dateutil", "python-dateutil" },
        { "jwt", "PyJWT" },
        { "serial", "pyserial" },
        { "usb", "pyusb" },
        { "Crypto", "pycryptodome" },
        { "Cryptodome", "pycryptodomex" },
        { "OpenSSL", "pyOpenSSL" },
        { "magic", "python-magic" },
        { "docx", "python-docx" },
        { "pptx", "python-pptx" },
        { "telegram", "python-telegram-bot" },
        { "discord", "discord.py" },
        { "attr", "attrs" },
        { "fitz", "PyMuPDF" },
        { "MySQLdb", "mysqlclient" },
        { "psycopg2", "psycopg2-binary" },
        { "zmq", "pyzmq" },
        { "github", "PyGithub" },
        { "slack_sdk", "slack-sdk" },
        { "notion_client", "notion-client" },
        { "socks", "PySocks" },
        { "dns", "dnspython" },
        { "websocket", "websocket-client" },
        { "markdown", "Markdown" },
        { "Levenshtein", "python-Levenshtein" },
        { "kafka", "kafka-python" },
        { "ruamel", "ruamel.yaml" },
        { "distutils", "setuptools" },
        { "pkg_resources", "setuptools" },
        { "mpl_toolkits", "matplotlib" },
        { "win32api", "pywin32" },
        { "Xlib", "python-xlib" },
        { "multipart", "python-multipart" },
        { "jose", "python-jose" },
        { "lxml", "lxml" },
        { "schedule", "schedule" },
        { "requests", "requests" },
        { "git", "GitPython" },
        { "grpc", "grpcio" },
        { "sentry_sdk", "sentry-sdk" },
        { "requests_oauthlib", "requests-oauthlib" },
        { "jinja2", "Jinja2" },
        { "sqlalchemy", "SQLAlchemy" },
        /* Django's add-ons, imported under names of their own */
        { "rest_framework", "djangorestframework" },
        { "corsheaders", "django-cors-headers" },
        { "environ", "django-environ" },
        { "debug_toolbar", "django-debug-toolbar" },
        { "crispy_forms", "django-crispy-forms" },
        { "django_filters", "django-filter" },
        { "storages", "django-storages" },
        { "allauth", "django-allauth" },
        /* pywin32's modules */
        { "win32com", "pywin32" },
        { "win32con", "pywin32" },
        { "win32gui", "pywin32" },
        { "pythoncom", "pywin32" },
        { "pywintypes", "pywin32" },
        { "crontab", "python-crontab" },
        { "skbuild", "scikit-build" },
        { "RPi", "RPi.GPIO" },
        { "telebot", "pyTelegramBotAPI" },
        { "speech_recognition", "SpeechRecognition" },
        { "wx", "wxPython" },
        { "OpenGL", "PyOpenGL" },
        { "Bio", "biopython" },
        { "absl", "absl-py" },
        { "nacl", "PyNaCl" },
        { "ldap", "python-ldap" },
        { "umap", "umap-learn" },
        { "pdfminer", "pdfminer.six" },
        { "socketio", "python-socketio" },
        { "engineio", "python-engineio" },
        { "cairo", "pycairo" },
        { "vlc", "python-vlc" },
        /* IPython extensions a notebook loads with %load_ext NAME */
        { "lab_black", "nb_black" },
        { "autotime", "ipython-autotime" },
        /* Popular distributions imported under their own name. A name the
         * log gives that is on this list vouches for itself; any other one
         * is installed only where the app declares it. The big frameworks
         * whose build depends on the machine (torch, tensorflow: CUDA or
         * not) are not here: a person picks the variant. */
        { "numpy", "numpy" }, { "pandas", "pandas" }, { "scipy", "scipy" },
        { "matplotlib", "matplotlib" }, { "seaborn", "seaborn" }, { "plotly", "plotly" },
        { "flask", "Flask" }, { "django", "Django" }, { "fastapi", "fastapi" },
        { "uvicorn", "uvicorn" }, { "gunicorn", "gunicorn" }, { "werkzeug", "Werkzeug" },
        { "pydantic", "pydantic" }, { "httpx", "httpx" }, { "aiohttp", "aiohttp" },
        { "urllib3", "urllib3" }, { "certifi", "certifi" }, { "websockets", "websockets" },
        { "boto3", "boto3" }, { "botocore", "botocore" }, { "openai", "openai" },
        { "anthropic", "anthropic" }, { "tiktoken", "tiktoken" }, { "tqdm", "tqdm" },
        { "rich", "rich" }, { "click", "click" }, { "colorama", "colorama" },
        { "tabulate", "tabulate" }, { "toml", "toml" }, { "tomli", "tomli" },
        { "pytz", "pytz" }, { "six", "six" }, { "mock", "mock" }, { "pytest", "pytest" },
        { "selenium", "selenium" }, { "redis", "redis" }, { "celery", "celery" },
        { "pymongo", "pymongo" }, { "psutil", "psutil" }, { "paramiko", "paramiko" },
        { "cryptography", "cryptography" }, { "openpyxl", "openpyxl" }, { "xlrd", "xlrd" },
        { "streamlit", "streamlit" }, { "gradio", "gradio" }, { "nltk", "nltk" },
        { "sympy", "sympy" }, { "networkx", "networkx" }, { "joblib", "joblib" },
        { "tweepy", "tweepy" }, { "stripe", "stripe" }, { "twilio", "twilio" },
        { "jsonschema", "jsonschema" }, { "alembic", "alembic" }, { "chardet", "chardet" },
        { "emoji", "emoji" }, { "regex", "regex" }, { "docker", "docker" },
        { "setuptools", "setuptools" }, { "wheel", "wheel" }, { "packaging", "packaging" },
        { "nb_black", "nb_black" }, { "jupyter_black", "jupyter-black" },
        { "watermark", "watermark" }, { "line_profiler", "line_profiler" },
        { "memory_profiler", "memory_profiler" },
};

bool detect_python_distribution_known(const char *dist) {
        char a[129], b[129];

        if (!dist || !python_dist_name_normalize(dist, a, sizeof a))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(python_dists); i++)
                if (python_dist_name_normalize(python_dists[i].dist, b, sizeof b) &&
                    strcmp(a, b) == 0)
                        return true;
        return false;
}

/* Modules pip cannot provide (they come with the interpreter or the OS, or
 * are pip itself: a missing pip cannot install anything) or whose top-level
 * name does not tell which distribution is meant. */
static const char *const python_not_pip[] = {
        "tkinter", "_tkinter", "_ctypes", "_sqlite3", "_ssl", "_bz2", "_lzma", "readline",
        "pip", "ensurepip", "venv", "lib2to3", "sqlite3", "ssl", "ctypes", "curses",
        "google", "azure", "apt", "gi", "dbus", "app", "src", "main", "config", "utils", "tests",
};

const char *detect_python_distribution(const char *module, char *buf, size_t bufsz) {
        size_t top;

        if (!module || !*module)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(python_dists); i++)
                if (strcmp(module, python_dists[i].module) == 0)
                        return python_dists[i].dist;
        /* Python names the first part of a dotted name that failed: for
         * "a.b" it imported "a", so a's distribution is installed and lacks
         * b (a submodule it stopped shipping, like sklearn.externals.joblib,
         * or a local a.py shadowing it). Installing it changes nothing. Only
         * the namespace packages listed above (google.genai, ...) name a
         * distribution of their own. */
        top = strcspn(module, ".");
        if (top == 0 || top >= bufsz || module[top] == '.')
                return NULL;
        memcpy(buf, module, top);
        buf[top] = 0;
        for (size_t i = 0; i < ELEMENTSOF(python_not_pip); i++)
                if (strcmp(buf, python_not_pip[i]) == 0)
                        return NULL;
        /* A leading underscore is a private or C extension module of some
         * other distribution; guessing would install the wrong thing. */
        if (buf[0] == '_')
                return NULL;
        return buf;
}

