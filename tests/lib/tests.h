/* SPDX-License-Identifier: MIT */
/*
 * A tiny unit-test harness in the manner of systemd's tests.h: TEST(name)
 * registers a function, ASSERT_* print the expression and file:line and abort
 * the test, a test may return EXIT_TEST_SKIP (77). Run a subset by passing
 * test names (substring match) on the command line.
 */
#pragma once

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/cleanup.h"

#define EXIT_TEST_SKIP 77

typedef int (*TestFunc)(void);

void test_register(const char *name, TestFunc f);
/* Creates a fresh directory under $TMPDIR; removed recursively at exit. */
char *test_tmpdir(void);
/* Writes data to dir/name, creating it; returns a malloc'ed path. */
char *test_write_file(const char *dir, const char *name, const char *data);
/* A new store in a fresh temporary directory; aborts on failure. The
 * return type is the store's (store/store.h), left opaque here. */
struct Store *test_open_store(void);
/* Directory holding tests/ sources (from the TEST_SRCDIR environment). */
const char *test_srcdir(void);

#define TEST(name)                                                        \
        static int test_##name(void);                                     \
        __attribute__((__constructor__)) static void register_##name(void) { \
                test_register(#name, test_##name);                        \
        }                                                                 \
        static int test_##name(void)

#define TEST_FAIL(...)                                                    \
        do {                                                              \
                fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);           \
                fprintf(stderr, __VA_ARGS__);                             \
                fputc('\n', stderr);                                      \
                return 1;                                                 \
        } while (0)

#define ASSERT_TRUE(expr)                                                 \
        do {                                                              \
                if (!(expr))                                              \
                        TEST_FAIL("assertion failed: %s", #expr);         \
        } while (0)

#define ASSERT_OK(expr)                                                   \
        do {                                                              \
                long long _r = (long long) (expr);                        \
                if (_r < 0)                                               \
                        TEST_FAIL("%s failed: %lld (%s)", #expr, _r,      \
                                  strerror((int) -_r));                   \
        } while (0)

#define ASSERT_ERROR(expr, err)                                           \
        do {                                                              \
                long long _r = (long long) (expr);                        \
                if (_r != -(long long) (err))                             \
                        TEST_FAIL("%s returned %lld, expected -%s", #expr, _r, #err); \
        } while (0)

#define ASSERT_EQ(a, b)                                                   \
        do {                                                              \
                long long _a = (long long) (a), _b = (long long) (b);     \
                if (_a != _b)                                             \
                        TEST_FAIL("%s == %s failed: %lld != %lld", #a, #b, _a, _b); \
        } while (0)

#define ASSERT_STREQ(a, b)                                                \
        do {                                                              \
                const char *_a = (a), *_b = (b);                          \
                if (!_a || !_b || strcmp(_a, _b) != 0)                    \
                        TEST_FAIL("%s == %s failed: '%s' != '%s'", #a, #b, \
                                  _a ? _a : "(null)", _b ? _b : "(null)"); \
        } while (0)

#define ASSERT_STRSTR(hay, needle)                                        \
        do {                                                              \
                const char *_h = (hay), *_n = (needle);                   \
                if (!_h || !strstr(_h, _n))                               \
                        TEST_FAIL("'%s' not found in %s ('%s')", _n, #hay, \
                                  _h ? _h : "(null)");                    \
        } while (0)
