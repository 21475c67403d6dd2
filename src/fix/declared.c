/* SPDX-License-Identifier: MIT */
/*
 * Dependency declarations of an app; see fix/declared.h. A small reader of
 * the common formats, line by line: enough to find a name, not a TOML or
 * requirements parser.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fix/declared.h"
#include "shared/cleanup.h"
#include "shared/parse.h"

#define NAME_MAX_LEN 128

static const char name_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";

/* Reads a regular file below dirfd without following a symlink. NULL when
 * it is not there, not regular, too big or unreadable. */
static char *read_small(int dirfd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        char *buf;
        size_t got = 0;

        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size > FIX_DECLARED_MAX_FILE)
                return NULL;
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return NULL;
        while (got < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t) n;
        }
        buf[got] = 0;
        return buf;
}

/* Whether the name at s (length n) is want, in PEP 503 normal form. */
static bool name_is(const char *s, size_t n, const char *want) {
        char name[NAME_MAX_LEN + 1], norm[NAME_MAX_LEN + 1];

        if (n == 0 || n > NAME_MAX_LEN)
                return false;
        memcpy(name, s, n);
        name[n] = 0;
        return python_dist_name_valid(name) && python_dist_name_normalize(name, norm, sizeof norm) &&
               strcmp(norm, want) == 0;
}

/* requirements.txt: "name[extras] op version ; marker  # comment". */
static bool requirements_names(const char *text, const char *want) {
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                size_t n;

                l += strspn(l, " \t");
                n = strspn(l, name_chars);
                /* Not a URL's scheme or a path's first component. */
                if (l[n] != ':' && l[n] != '/' && name_is(l, n, want))
                        return true;
        }
        return false;
}

/* The leading name of a quoted requirement string: "requests>=2". */
static bool quoted_names(const char *line, const char *want) {
        for (const char *q = line; (q = strpbrk(q, "\"'")); ) {
                char quote = *q++;
                const char *end = strchr(q, quote);

                if (!end)
                        return false;
                q += strspn(q, " ");
                if (name_is(q, strspn(q, name_chars), want))
                        return true;
                q = end + 1;
        }
        return false;
}

/* pyproject.toml and Pipfile, line by line. What counts: arrays of
 * requirement strings (pyproject: `dependencies` in [project], every key of
 * [project.optional-dependencies] and [dependency-groups]) and the keys of
 * dependency tables (poetry's; Pipfile's [packages], [dev-packages]). Other
 * arrays (keywords, classifiers, build-system requires) do not. */
static bool toml_names(const char *text, const char *want, bool pipfile) {
        enum { OTHER, PROJECT, ARRAYS, TABLE } section = OTHER;
        bool in_array = false;

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                size_t len = strcspn(l, "\n");
                _cleanup_free_ char *line = strndup(l, len);
                char *p;

                if (!line)
                        return false;
                if ((p = strchr(line, '#')))
                        *p = 0;          /* names have no '#' (strings with one are cut, harmlessly) */
                p = line + strspn(line, " \t");
                if (in_array) {
                        if (quoted_names(p, want))
                                return true;
                        if (strchr(p, ']'))
                                in_array = false;
                        continue;
                }
                if (*p == '[') {
                        if (pipfile)
                                section = strncmp(p, "[packages]", 10) == 0 ||
                                                  strncmp(p, "[dev-packages]", 14) == 0
                                          ? TABLE : OTHER;
                        else if (strncmp(p, "[project]", 9) == 0)
                                section = PROJECT;
                        else if (strncmp(p, "[project.optional-dependencies]", 31) == 0 ||
                                 strncmp(p, "[dependency-groups]", 19) == 0)
                                section = ARRAYS;
                        else if (strncmp(p, "[tool.poetry.dependencies]", 26) == 0 ||
                                 (strncmp(p, "[tool.poetry.group.", 19) == 0 &&
                                  strstr(p, ".dependencies]")))
                                section = TABLE;
                        else
                                section = OTHER;
                        continue;
                }
                size_t n = strspn(p, name_chars);
                const char *eq = p + n + strspn(p + n, " \t");

                if (n == 0 || *eq != '=')
                        continue;
                eq++;
                eq += strspn(eq, " \t");
                if (section == TABLE) {
                        if (!name_is(p, n, "python") && name_is(p, n, want))
                                return true;
                        continue;
                }
                if (*eq != '[' ||
                    !(section == ARRAYS || (section == PROJECT && n == 12 &&
                                            strncmp(p, "dependencies", 12) == 0)))
                        continue;
                if (quoted_names(eq, want))
                        return true;
                in_array = !strchr(eq, ']');
        }
        return false;
}

static int check_file(int dirfd, const char *name, const char *want, char **ret_file) {
        _cleanup_free_ char *text = read_small(dirfd, name);
        bool found;

        if (!text)
                return 0;
        if (strcmp(name, "pyproject.toml") == 0)
                found = toml_names(text, want, false);
        else if (strcmp(name, "Pipfile") == 0)
                found = toml_names(text, want, true);
        else
                found = requirements_names(text, want);
        if (!found)
                return 0;
        if (ret_file && !(*ret_file = strdup(name)))
                return -ENOMEM;
        return 1;
}

static bool is_requirements(const char *name, bool in_subdir) {
        size_t n = strlen(name);

        return n > 4 && strcmp(name + n - 4, ".txt") == 0 &&
               (in_subdir || strncmp(name, "requirements", 12) == 0);
}

/* The requirements files of dirfd (every .txt file, in requirements/). */
static int scan_requirements(int dirfd, const char *prefix, bool in_subdir, const char *want,
                             char **ret_file) {
        int fd = dup(dirfd);
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return 0;
        }
        while (r == 0 && (de = readdir(d)))
                if (is_requirements(de->d_name, in_subdir)) {
                        r = check_file(dirfd, de->d_name, want, ret_file);
                        if (r > 0 && ret_file && prefix) {
                                char *full = NULL;

                                if (asprintf(&full, "%s/%s", prefix, *ret_file) < 0) {
                                        r = -ENOMEM;
                                        break;
                                }
                                free(*ret_file);
                                *ret_file = full;
                        }
                }
        closedir(d);
        return r;
}

int fix_pip_declared(const char *directory, const char *dist, char **ret_file) {
        _cleanup_close_ int dirfd = -EBADF, subfd = -EBADF;
        char want[NAME_MAX_LEN + 1];
        int r;

        if (!directory || directory[0] != '/' || !dist || !python_dist_name_valid(dist) ||
            !python_dist_name_normalize(dist, want, sizeof want))
                return -EINVAL;
        dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return 0;
        r = scan_requirements(dirfd, NULL, false, want, ret_file);
        if (r != 0)
                return r;
        subfd = openat(dirfd, "requirements", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (subfd >= 0) {
                r = scan_requirements(subfd, "requirements", true, want, ret_file);
                if (r != 0)
                        return r;
        }
        r = check_file(dirfd, "pyproject.toml", want, ret_file);
        if (r != 0)
                return r;
        return check_file(dirfd, "Pipfile", want, ret_file);
}
