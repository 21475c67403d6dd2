/* SPDX-License-Identifier: MIT */
/* Tests for shared/rules-dirs: the directories appwatchd and scan read. */
#include <stdlib.h>

#include "config.h"
#include "shared/config.h"
#include "shared/rules-dirs.h"
#include "tests.h"

TEST(shipped_then_next_to_the_config) {
        _cleanup_(rules_dirs_done) RulesDirs d = {};

        ASSERT_OK(unsetenv("APPWATCH_RULES_DIR"));
        ASSERT_OK(rules_dirs_default("/srv/aw/appwatch.conf", &d));
        ASSERT_EQ(d.n, 2);
        ASSERT_STREQ(d.dirs[0], PKGDATADIR "/rules.d");
        ASSERT_STREQ(d.dirs[1], "/srv/aw/rules.d");
        rules_dirs_done(&d);

        /* A bare file name: its rules.d is in the working directory too. */
        ASSERT_OK(rules_dirs_default("appwatch.conf", &d));
        ASSERT_STREQ(d.dirs[1], "rules.d");
        rules_dirs_done(&d);

        /* Installed, the daemon's default file gives /etc/appwatch/rules.d. */
        ASSERT_OK(unsetenv("CONFIGURATION_DIRECTORY"));
        _cleanup_free_ char *conf = config_default_path();
        ASSERT_STREQ(conf, PKGSYSCONFDIR "/appwatch.conf");
        ASSERT_OK(rules_dirs_default(conf, &d));
        ASSERT_STREQ(d.dirs[1], PKGSYSCONFDIR "/rules.d");
        return 0;
}

TEST(environment_overrides_the_shipped_dir) {
        _cleanup_(rules_dirs_done) RulesDirs d = {};
        _cleanup_free_ char *conf = NULL;

        ASSERT_OK(setenv("APPWATCH_RULES_DIR", "/checkout/etc/rules.d", 1));
        ASSERT_OK(setenv("CONFIGURATION_DIRECTORY", "/run/cfg:/other", 1));
        conf = config_default_path();
        ASSERT_STREQ(conf, "/run/cfg/appwatch.conf");
        ASSERT_OK(rules_dirs_default(conf, &d));
        ASSERT_EQ(d.n, 2);
        ASSERT_STREQ(d.dirs[0], "/checkout/etc/rules.d");
        ASSERT_STREQ(d.dirs[1], "/run/cfg/rules.d");
        rules_dirs_done(&d);

        /* Empty is unset, not the working directory. */
        ASSERT_OK(setenv("APPWATCH_RULES_DIR", "", 1));
        ASSERT_OK(rules_dirs_default(conf, &d));
        ASSERT_STREQ(d.dirs[0], PKGDATADIR "/rules.d");
        ASSERT_OK(unsetenv("APPWATCH_RULES_DIR"));
        ASSERT_OK(unsetenv("CONFIGURATION_DIRECTORY"));
        return 0;
}

TEST(existing_and_join) {
        const char *dir = test_tmpdir();
        _cleanup_free_ char *file = test_write_file(dir, "not-a-dir", "");
        _cleanup_free_ char *j1 = NULL, *j2 = NULL, *j3 = NULL;
        const char *dirs[] = { "/nonexistent/rules.d", file, dir };

        ASSERT_EQ(rules_dirs_count_existing(dirs, 2), 0);
        ASSERT_EQ(rules_dirs_count_existing(dirs, 3), 1);
        j1 = rules_dirs_join(dirs, 1);
        ASSERT_STREQ(j1, "/nonexistent/rules.d");
        j2 = rules_dirs_join((const char *[]) { "a", "b" }, 2);
        ASSERT_STREQ(j2, "a and b");
        j3 = rules_dirs_join((const char *[]) { "a", "b", "c" }, 3);
        ASSERT_STREQ(j3, "a, b and c");
        return 0;
}
