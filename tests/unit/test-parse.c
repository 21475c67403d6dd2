/* SPDX-License-Identifier: MIT */
/* Tests for shared/parse: value syntaxes of the configuration. */
#include "shared/parse.h"
#include "tests.h"

TEST(boolean) {
        bool b = false;

        ASSERT_OK(parse_boolean("yes", &b));
        ASSERT_TRUE(b);
        ASSERT_OK(parse_boolean("OFF", &b));
        ASSERT_TRUE(!b);
        ASSERT_OK(parse_boolean("1", &b));
        ASSERT_TRUE(b);
        ASSERT_ERROR(parse_boolean("maybe", &b), EINVAL);
        ASSERT_ERROR(parse_boolean("", &b), EINVAL);
        return 0;
}

TEST(uint64) {
        uint64_t u = 7;

        ASSERT_OK(parse_uint64("42", &u));
        ASSERT_EQ(u, 42);
        ASSERT_ERROR(parse_uint64("-1", &u), EINVAL);
        ASSERT_ERROR(parse_uint64("4x", &u), EINVAL);
        ASSERT_ERROR(parse_uint64("99999999999999999999999", &u), ERANGE);
        ASSERT_EQ(u, 42);
        return 0;
}

TEST(timespan) {
        usec_t t;

        ASSERT_OK(parse_timespan("30", &t));
        ASSERT_EQ(t, 30 * USEC_PER_SEC);
        ASSERT_OK(parse_timespan("5min", &t));
        ASSERT_EQ(t, 5 * USEC_PER_MINUTE);
        ASSERT_OK(parse_timespan("1h 30min", &t));
        ASSERT_EQ(t, 90 * USEC_PER_MINUTE);
        ASSERT_OK(parse_timespan("500ms", &t));
        ASSERT_EQ(t, 500 * USEC_PER_MSEC);
        ASSERT_OK(parse_timespan("2d", &t));
        ASSERT_EQ(t, 2 * USEC_PER_DAY);
        ASSERT_OK(parse_timespan("infinity", &t));
        ASSERT_EQ(t, USEC_INFINITY);
        ASSERT_ERROR(parse_timespan("", &t), EINVAL);
        ASSERT_ERROR(parse_timespan("5 parsecs", &t), EINVAL);
        ASSERT_ERROR(parse_timespan("min", &t), EINVAL);
        ASSERT_ERROR(parse_timespan("99999999999999999999d", &t), ERANGE);
        ASSERT_ERROR(parse_timespan("999999999999d", &t), ERANGE);
        return 0;
}

TEST(size) {
        uint64_t u;

        ASSERT_OK(parse_size("64K", &u));
        ASSERT_EQ(u, 65536);
        ASSERT_OK(parse_size("1M", &u));
        ASSERT_EQ(u, 1 << 20);
        ASSERT_OK(parse_size("2GiB", &u));
        ASSERT_EQ(u, UINT64_C(2) << 30);
        ASSERT_OK(parse_size("100", &u));
        ASSERT_EQ(u, 100);
        ASSERT_ERROR(parse_size("1T", &u), EINVAL);
        ASSERT_ERROR(parse_size("K", &u), EINVAL);

        /* Every common spelling of a unit is the same power of 1024. */
        static const char *const k64[] = { "64K", "64k", "64KB", "64kB", "64kb", "64KiB",
                                           "64kib", "64 K", "64 KB", "64\tKiB" };
        for (size_t i = 0; i < sizeof k64 / sizeof k64[0]; i++) {
                u = 0;
                ASSERT_OK(parse_size(k64[i], &u));
                ASSERT_EQ(u, 65536);
        }
        ASSERT_OK(parse_size("3MB", &u));
        ASSERT_EQ(u, UINT64_C(3) << 20);
        ASSERT_OK(parse_size("1 GiB", &u));
        ASSERT_EQ(u, UINT64_C(1) << 30);
        ASSERT_OK(parse_size("512B", &u));
        ASSERT_EQ(u, 512);
        ASSERT_OK(parse_size("512 b", &u));
        ASSERT_EQ(u, 512);
        /* What would be a guess is refused, never read as something else. */
        ASSERT_ERROR(parse_size("1.5M", &u), EINVAL);
        ASSERT_ERROR(parse_size("64iB", &u), EINVAL);
        ASSERT_ERROR(parse_size("64KBB", &u), EINVAL);
        ASSERT_ERROR(parse_size("64 K B", &u), EINVAL);
        ASSERT_ERROR(parse_size("64KiBytes", &u), EINVAL);
        ASSERT_ERROR(parse_size("-1K", &u), EINVAL);
        ASSERT_ERROR(parse_size("99999999999999999999", &u), ERANGE);
        ASSERT_ERROR(parse_size("17179869184G", &u), ERANGE);
        return 0;
}

TEST(watch_path_validate) {
        const char *reason = NULL;

        ASSERT_OK(watch_path_validate("/var/log/app", NULL));
        ASSERT_OK(watch_path_validate("/var/log/app/", NULL));
        ASSERT_OK(watch_path_validate("/var/log/app/*.log", NULL));
        ASSERT_OK(watch_path_validate("/var/log/app/*.log/", NULL));
        ASSERT_OK(watch_path_validate("/var/log/app-[0-9]?.log", NULL));
        ASSERT_OK(watch_path_validate("/*", NULL));
        ASSERT_OK(watch_path_validate("/", NULL));

        ASSERT_ERROR(watch_path_validate("/tmp/*/logs/*.log", &reason), EINVAL);
        ASSERT_STRSTR(reason, "may only be in the last component");
        ASSERT_ERROR(watch_path_validate("/tmp/?/x", NULL), EINVAL);
        ASSERT_ERROR(watch_path_validate("/tmp/[ab]/x", NULL), EINVAL);
        ASSERT_OK(watch_path_validate("/tmp/*//", NULL));   /* trailing slashes do not count */
        reason = NULL;
        ASSERT_ERROR(watch_path_validate("logs/*.log", &reason), EINVAL);
        ASSERT_STRSTR(reason, "absolute");
        ASSERT_ERROR(watch_path_validate("", NULL), EINVAL);
        ASSERT_ERROR(watch_path_validate(NULL, NULL), EINVAL);
        return 0;
}

TEST(format_timespan) {
        char buf[64];

        ASSERT_STREQ(format_timespan(buf, sizeof buf, 0), "0");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, 90 * USEC_PER_SEC), "1min 30s");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, 250 * USEC_PER_MSEC), "250ms");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, USEC_PER_DAY + USEC_PER_HOUR), "1d 1h");
        ASSERT_STREQ(format_timespan(buf, sizeof buf, USEC_INFINITY), "infinity");
        return 0;
}

TEST(strv) {
        _cleanup_strv_free_ char **l = strv_split("  a bb\tccc \n");

        ASSERT_TRUE(l);
        ASSERT_EQ(strv_length(l), 3);
        ASSERT_STREQ(l[1], "bb");
        ASSERT_TRUE(strv_contains(l, "ccc"));
        ASSERT_TRUE(!strv_contains(l, "c"));
        ASSERT_OK(strv_extend(&l, "d"));
        ASSERT_EQ(strv_length(l), 4);
        ASSERT_TRUE(now_monotonic() > 0);
        ASSERT_TRUE(now_realtime() > 1600000000 * USEC_PER_SEC);
        return 0;
}

TEST(unit_to_app) {
        static const char *const cases[][2] = {
                { "flutter-build@shop.service", "shop" },
                { "nightly.service", "nightly" },
                { "scraper", "scraper" },
                { "weird@.service", "weird@" },
                { "backup.timer", "backup.timer" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *a = unit_to_app(cases[i][0]);
                ASSERT_STREQ(a, cases[i][1]);
        }
        return 0;
}

TEST(python_dist_names) {
        static const char *const good[] = { "a", "PyYAML", "python-dateutil", "zope.interface",
                                            "a_b", "0x", "x9" };
        static const char *const bad[] = { "", "-e", ".", "_x", "x_", "x y", "x;y", "../x",
                                           "a/b", "x==1", "x[y]", "caf\xc3\xa9", "https://x" };
        static const char *const norm[][2] = {
                { "PyYAML", "pyyaml" },
                { "Python_DateUtil", "python-dateutil" },
                { "a.-_b", "a-b" },
                { "zope.interface", "zope-interface" },
        };
        char longname[PYTHON_DIST_NAME_MAX + 2], buf[PYTHON_DIST_NAME_MAX + 1];

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ASSERT_TRUE(python_dist_name_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_TRUE(!python_dist_name_valid(bad[i]));
        ASSERT_TRUE(!python_dist_name_valid(NULL));
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        ASSERT_TRUE(!python_dist_name_valid(longname));
        longname[PYTHON_DIST_NAME_MAX] = 0;
        ASSERT_TRUE(python_dist_name_valid(longname));
        for (size_t i = 0; i < ELEMENTSOF(norm); i++)
                ASSERT_STREQ(python_dist_name_normalize(norm[i][0], buf, sizeof buf), norm[i][1]);
        ASSERT_TRUE(python_dist_name_normalize("abcd", buf, 4) == NULL);
        ASSERT_STREQ(python_dist_name_normalize("abc", buf, 4), "abc");
        return 0;
}
