/* SPDX-License-Identifier: MIT */
/*
 * Tests for ingest/unit-log: one invocation's lines out of real journal
 * files, written from export format by systemd-journal-remote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ingest/unit-log.h"
#include "tests.h"

#define JOURNAL_REMOTE "/lib/systemd/systemd-journal-remote"
#define INV_OLD "0123456789abcdef0123456789abcdef"
#define INV_NEW "fedcba9876543210fedcba9876543210"
#define BOOT "1111111111111111aaaaaaaaaaaaaaaa"

typedef struct Entry {
        const char *fields; /* newline-separated, without the timestamps */
} Entry;

/* A unit's two runs as journald stores them. The second run's error line
 * has the unit's name but no invocation id: its process exited before
 * journald read the line, so the cgroup it looks the id up in was gone. */
static const Entry entries[] = {
        { "_PID=1\nUNIT=build@shop.service\nINVOCATION_ID=" INV_OLD "\nMESSAGE=Starting build@shop.service..." },
        { "_SYSTEMD_UNIT=build@shop.service\n_SYSTEMD_INVOCATION_ID=" INV_OLD "\nMESSAGE=old run" },
        { "_PID=1\nUNIT=build@shop.service\nINVOCATION_ID=" INV_OLD "\nMESSAGE=old run failed" },
        { "_SYSTEMD_UNIT=build@shop.service\nMESSAGE=between the runs" },
        { "_PID=1\nUNIT=build@shop.service\nINVOCATION_ID=" INV_NEW "\nMESSAGE=Starting build@shop.service..." },
        /* a process the first run left behind (KillMode=none) */
        { "_SYSTEMD_UNIT=build@shop.service\n_SYSTEMD_INVOCATION_ID=" INV_OLD "\nMESSAGE=left over" },
        { "_SYSTEMD_UNIT=build@shop.service\n_SYSTEMD_INVOCATION_ID=" INV_NEW "\nMESSAGE=Running flutter build apk" },
        { "_SYSTEMD_UNIT=other.service\nMESSAGE=another unit's line" },
        { "_SYSTEMD_UNIT=build@shop.service\nMESSAGE=FAKE-FLUTTER: build cache is stale" },
        { "_PID=1\nUNIT=build@shop.service\nINVOCATION_ID=" INV_NEW
          "\nMESSAGE=build@shop.service: Failed with result 'exit-code'." },
        { "_SYSTEMD_UNIT=build@shop.service\nMESSAGE=after the run" },
};

static const char want_new[] = "Starting build@shop.service...\n"
                               "Running flutter build apk\n"
                               "FAKE-FLUTTER: build cache is stale\n"
                               "build@shop.service: Failed with result 'exit-code'.\n";

static char *make_journal(void) {
        char *dir = test_tmpdir(), *cmd;
        FILE *p;

        if (asprintf(&cmd, JOURNAL_REMOTE " -o %s/test.journal - >/dev/null 2>&1", dir) < 0)
                abort();
        p = popen(cmd, "w");
        free(cmd);
        if (!p)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(entries); i++)
                fprintf(p, "__REALTIME_TIMESTAMP=%zu\n__MONOTONIC_TIMESTAMP=%zu\n_BOOT_ID=" BOOT
                           "\n_HOSTNAME=builder\n%s\n\n",
                        (size_t) 1764000000000000 + i * 1000, (size_t) 1000000 + i * 1000, entries[i].fields);
        return pclose(p) == 0 ? dir : NULL;
}

TEST(one_invocation_with_its_lines_that_lost_their_id) {
        static const struct {
                const char *why, *invocation;
                size_t max_bytes;
                const char *text, *used;
        } t[] = {
                { "the invocation OnFailure= names", INV_NEW, 65536, want_new, INV_NEW },
                { "without one, the unit's newest line with an id names it", NULL, 65536, want_new, INV_NEW },
                /* its span reaches its leftover's line, so the line without
                 * an id between the runs is counted as its own */
                { "the first run", INV_OLD, 65536,
                  "Starting build@shop.service...\nold run\nold run failed\nbetween the runs\nleft over\n",
                  INV_OLD },
                { "only the tail is kept", INV_NEW, 52, "build@shop.service: Failed with result 'exit-code'.\n",
                  INV_NEW },
        };
        _cleanup_free_ char *text = NULL;
        const char *dir;

        if (access(JOURNAL_REMOTE, X_OK) < 0)
                return EXIT_TEST_SKIP;
        dir = make_journal();
        ASSERT_TRUE(dir);

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *got = NULL, *inv = NULL;

                ASSERT_OK(unit_log_collect(dir, "build@shop.service", t[i].invocation, t[i].max_bytes, &got,
                                           &inv));
                if (strcmp(got, t[i].text) != 0 || strcmp(inv, t[i].used) != 0)
                        TEST_FAIL("%s: got invocation %s and\n%s", t[i].why, inv, got);
        }
        ASSERT_TRUE(unit_log_collect(dir, "build@shop.service", "00000000000000000000000000000000", 65536,
                                     &text, NULL) == -ENOENT);
        ASSERT_TRUE(unit_log_collect(dir, "nothing.service", NULL, 65536, &text, NULL) == -ENOENT);
        return 0;
}
