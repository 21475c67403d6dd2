/* SPDX-License-Identifier: MIT */
/*
 * Scope-bound cleanup in the systemd manner: _cleanup_(fn) runs fn(&var) when
 * var leaves scope. TAKE_PTR/TAKE_FD hand ownership out of such a variable.
 * Header-only; no threading concerns.
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((__cleanup__(f)))
#define _unused_ __attribute__((__unused__))
#define _printf_(a, b) __attribute__((__format__(printf, a, b)))
#define _noreturn_ __attribute__((__noreturn__))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define TAKE_PTR(p)                                   \
        ({                                            \
                __typeof__(p) _ptr_ = (p);            \
                (p) = NULL;                           \
                _ptr_;                                \
        })

#define TAKE_FD(fd)                                   \
        ({                                            \
                int _fd_ = (fd);                      \
                (fd) = -EBADF;                        \
                _fd_;                                 \
        })

/* Generates `static inline void fnp(Type **p)` calling fn(*p) when non-NULL. */
#define DEFINE_CLEANUP(Type, fn)                      \
        static inline void fn##p(Type **p) {          \
                if (*p)                               \
                        (void) fn(*p);                \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Frees a NULL-terminated array of strings. */
static inline char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}
DEFINE_CLEANUP(char *, strv_free)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

#define RET_NERRNO(expr)                              \
        ({                                            \
                int _r_ = (expr);                     \
                _r_ < 0 ? -errno : _r_;               \
        })

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}
