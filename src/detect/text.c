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

/* Length of a syslog/journalctl prefix ("Sep 21 09:00:01 host ident[pid]: ",
 * "2024-09-21T09:00:01+0000 host ident[pid]: "), or 0. Log files written by
 * rsyslog or "journalctl > file" carry one on every line, which would hide
 * the indentation that multi-line assembly relies on. */
static size_t syslog_prefix(const char *l, size_t n) {
        size_t i;
        const char *colon;

        if (n > 16 && isupper((unsigned char) l[0]) && islower((unsigned char) l[1]) &&
            islower((unsigned char) l[2]) && l[3] == ' ' && l[6] == ' ' && l[9] == ':' &&
            l[12] == ':' && l[15] == ' ')
                i = 16;
        else if (n > 20 && isdigit((unsigned char) l[0]) && l[4] == '-' && l[7] == '-' && l[10] == 'T' &&
                 l[13] == ':' && l[16] == ':') {
                const char *sp = memchr(l, ' ', n);
                if (!sp)
                        return 0;
                i = (size_t) (sp - l) + 1;
        } else
                return 0;
        /* host */
        while (i < n && l[i] != ' ')
                i++;
        if (i >= n)
                return 0;
        i++;
        /* ident[pid]: with no space inside, not too long */
        colon = memchr(l + i, ':', n - i < 96 ? n - i : 96);
        if (!colon || memchr(l + i, ' ', (size_t) (colon - l) - i))
                return 0;
        i = (size_t) (colon - l) + 1;
        if (i < n && l[i] == ' ')
                i++;
        return i;
}

int detect_line_clean(DetectBuf *b, const char *line, size_t n) {
        const char *cr;
        size_t i = 0;
        int r;

        detect_buf_clear(b);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        /* "progress\rprogress\rfinal": the terminal shows what follows the last CR. */
        cr = memrchr(line, '\r', n);
        if (cr) {
                size_t skip = (size_t) (cr - line) + 1;
                line += skip;
                n -= skip;
        }
        r = detect_buf_reserve(b, n);
        if (r < 0)
                return r;
        i = syslog_prefix(line, n);
        while (i < n) {
                const char *esc = memchr(line + i, 0x1b, n - i);
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
        }
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
};

/* Modules pip cannot provide (they come with the interpreter or the OS) or
 * whose top-level name does not tell which distribution is meant. */
static const char *const python_not_pip[] = {
        "tkinter", "_tkinter", "_ctypes", "_sqlite3", "_ssl", "_bz2", "_lzma", "readline",
        "google", "azure", "apt", "gi", "dbus", "app", "src", "main", "config", "utils", "tests",
};

const char *detect_python_distribution(const char *module, char *buf, size_t bufsz) {
        size_t top;

        if (!module || !*module)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(python_dists); i++) {
                size_t l = strlen(python_dists[i].module);

                if (strncmp(module, python_dists[i].module, l) == 0 &&
                    (module[l] == 0 || module[l] == '.'))
                        return python_dists[i].dist;
        }
        top = strcspn(module, ".");
        if (top == 0 || top >= bufsz)
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

bool detect_pep508_name_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 100)
                return false;
        if (!isalnum((unsigned char) s[0]) || !isalnum((unsigned char) s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}
