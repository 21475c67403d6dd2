/* SPDX-License-Identifier: MIT */
/* Value parsers for configuration; see parse.h. Pure and thread-safe. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "shared/parse.h"

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int parse_uint64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Multiplies with overflow check. */
static int mul_add(uint64_t *acc, uint64_t n, uint64_t mult) {
        uint64_t v;

        if (__builtin_mul_overflow(n, mult, &v) || __builtin_add_overflow(*acc, v, acc))
                return -ERANGE;
        return 0;
}

int parse_timespan(const char *s, usec_t *ret) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } table[] = {
                { "usec", 1 },           { "us", 1 },
                { "msec", USEC_PER_MSEC }, { "ms", USEC_PER_MSEC },
                { "seconds", USEC_PER_SEC }, { "second", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },   { "s", USEC_PER_SEC },
                { "minutes", USEC_PER_MINUTE }, { "minute", USEC_PER_MINUTE },
                { "min", USEC_PER_MINUTE }, { "m", USEC_PER_MINUTE },
                { "hours", USEC_PER_HOUR }, { "hour", USEC_PER_HOUR },
                { "hr", USEC_PER_HOUR },   { "h", USEC_PER_HOUR },
                { "days", USEC_PER_DAY },  { "day", USEC_PER_DAY },
                { "d", USEC_PER_DAY },
        };
        usec_t total = 0;
        const char *p = s;
        bool any = false;

        if (!s)
                return -EINVAL;
        if (strcasecmp(s, "infinity") == 0) {
                *ret = USEC_INFINITY;
                return 0;
        }
        for (;;) {
                unsigned long long n;
                char *end;
                size_t i;

                while (isspace((unsigned char) *p))
                        p++;
                if (*p == 0)
                        break;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                errno = 0;
                n = strtoull(p, &end, 10);
                if (errno == ERANGE)
                        return -ERANGE;
                p = end;
                while (*p == ' ')
                        p++;
                for (i = 0; i < sizeof table / sizeof table[0]; i++) {
                        size_t l = strlen(table[i].suffix);
                        if (strncmp(p, table[i].suffix, l) == 0 && !isalpha((unsigned char) p[l]))
                                break;
                }
                if (i < sizeof table / sizeof table[0]) {
                        if (mul_add(&total, n, table[i].usec) < 0)
                                return -ERANGE;
                        p += strlen(table[i].suffix);
                } else if (*p == 0 || isspace((unsigned char) *p) || isdigit((unsigned char) *p)) {
                        if (mul_add(&total, n, USEC_PER_SEC) < 0)
                                return -ERANGE;
                } else
                        return -EINVAL;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        unsigned long long n;
        uint64_t mult = 1, v;
        char *end;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        n = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        /* "64 K", "64K", "64KB", "64kB", "64KiB", "64B": every common spelling
         * means the same power of 1024, so none is read other than meant. */
        end += strspn(end, " \t");
        switch (*end) {
        case 'K': case 'k':
                mult = UINT64_C(1) << 10;
                end++;
                break;
        case 'M': case 'm':
                mult = UINT64_C(1) << 20;
                end++;
                break;
        case 'G': case 'g':
                mult = UINT64_C(1) << 30;
                end++;
                break;
        }
        if (mult > 1 && (*end == 'i' || *end == 'I') && (end[1] == 'B' || end[1] == 'b'))
                end += 2;
        else if (*end == 'B' || *end == 'b')
                end++;
        if (*end != 0)
                return -EINVAL;
        if (__builtin_mul_overflow((uint64_t) n, mult, &v))
                return -ERANGE;
        *ret = v;
        return 0;
}

int watch_path_validate(const char *path, const char **reterr_reason) {
        const char *reason = NULL;
        size_t len, dir_len;

        if (!path || path[0] != '/')
                reason = "the path must be absolute";
        else {
                /* Trailing slashes do not count: "/a/b/" is "/a/b". */
                len = strlen(path);
                while (len > 1 && path[len - 1] == '/')
                        len--;
                dir_len = len;
                while (dir_len > 0 && path[dir_len - 1] != '/')
                        dir_len--;
                /* The directory part is literal: it is watched as one directory. */
                for (size_t i = 0; i < dir_len && !reason; i++)
                        if (strchr("*?[", path[i]))
                                reason = "a wildcard ('*', '?' or '[') may only be in the last "
                                         "component";
                /* Components are opened one by one from their parent's fd, and
                 * ".." would climb out of a directory its owner controls. */
                for (size_t i = 0; i < len && !reason; i++) {
                        size_t n = 0;

                        if (path[i] != '/')
                                continue;
                        while (i + 1 + n < len && path[i + 1 + n] != '/')
                                n++;
                        if ((n == 1 && path[i + 1] == '.') ||
                            (n == 2 && path[i + 1] == '.' && path[i + 2] == '.'))
                                reason = "'.' and '..' are not allowed as path components";
                }
        }
        if (!reason)
                return 0;
        if (reterr_reason)
                *reterr_reason = reason;
        return -EINVAL;
}

static bool is_ascii_alnum(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool python_dist_name_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        /* isalnum() would follow the locale; the grammar is ASCII. */
        if (n == 0 || n > PYTHON_DIST_NAME_MAX || !is_ascii_alnum(s[0]) ||
            !is_ascii_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_ascii_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
                        return false;
        return true;
}

char *python_dist_name_normalize(const char *s, char *buf, size_t size) {
        size_t o = 0;

        for (const char *p = s; *p; p++) {
                char c = *p;
                if (c == '.' || c == '_' || c == '-') {
                        if (o > 0 && buf[o - 1] == '-')
                                continue;
                        c = '-';
                } else if (c >= 'A' && c <= 'Z')
                        c = (char) (c - 'A' + 'a');
                if (o + 1 >= size)
                        return NULL;
                buf[o++] = c;
        }
        if (size == 0)
                return NULL;
        buf[o] = 0;
        return buf;
}

char *format_timespan(char *buf, size_t size, usec_t t) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } table[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC },
        };
        size_t n = 0;

        if (size == 0)
                return buf;
        buf[0] = 0;
        if (t == USEC_INFINITY) {
                snprintf(buf, size, "infinity");
                return buf;
        }
        for (size_t i = 0; i < sizeof table / sizeof table[0] && n < size; i++) {
                usec_t k = t / table[i].usec;
                if (k == 0)
                        continue;
                /* Sub-second detail only matters for short spans. */
                if (table[i].usec == USEC_PER_MSEC && n > 0)
                        break;
                n += (size_t) snprintf(buf + n, size - n, "%s%llu%s", n ? " " : "",
                                       (unsigned long long) k, table[i].suffix);
                t -= k * table[i].usec;
        }
        if (n == 0)
                snprintf(buf, size, "0");
        return buf;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl;
        char *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        nl = realloc(*l, sizeof(char *) * (n + 2));
        if (!nl) {
                free(c);
                return -ENOMEM;
        }
        nl[n] = c;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

char **strv_split(const char *s) {
        char **l = calloc(1, sizeof(char *));
        const char *p = s;

        if (!l)
                return NULL;
        for (;;) {
                size_t len;
                char *w;

                p += strspn(p, " \t\n");
                if (*p == 0)
                        break;
                len = strcspn(p, " \t\n");
                w = strndup(p, len);
                if (!w || strv_extend(&l, w) < 0) {
                        free(w);
                        for (char **i = l; *i; i++)
                                free(*i);
                        free(l);
                        return NULL;
                }
                free(w);
                p += len;
        }
        return l;
}

bool strv_contains(char *const *l, const char *s) {
        if (l)
                for (; *l; l++)
                        if (strcmp(*l, s) == 0)
                                return true;
        return false;
}

static usec_t now_clock(clockid_t c) {
        struct timespec ts;

        (void) clock_gettime(c, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

usec_t now_monotonic(void) {
        return now_clock(CLOCK_MONOTONIC);
}

usec_t now_realtime(void) {
        return now_clock(CLOCK_REALTIME);
}

char *unit_to_app(const char *unit) {
        const char *at = strchr(unit, '@'), *dot = strrchr(unit, '.');
        size_t n = strlen(unit);

        if (dot && strcmp(dot, ".service") == 0)
                n = (size_t) (dot - unit);
        if (at && (size_t) (at - unit) + 1 < n)
                return strndup(at + 1, n - (size_t) (at - unit) - 1);
        return strndup(unit, n);
}
