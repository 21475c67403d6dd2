/* SPDX-License-Identifier: MIT */
/* Tests for detect/fingerprint.h: SHA-256, normalisation, and that repeats of
 * one failure share a fingerprint while different causes do not. */
#include "test-detect-util.h"
#include "detect/fingerprint.h"
#include "tests.h"

static void hex(const unsigned char *d, size_t n, char *out) {
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", d[i]);
}

TEST(sha256_vectors) {
        unsigned char d[32];
        char h[65];
        _cleanup_free_ char *million = malloc(1000000);

        detect_sha256("abc", 3, d);
        hex(d, 32, h);
        ASSERT_STREQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        detect_sha256("", 0, d);
        hex(d, 32, h);
        ASSERT_STREQ(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        detect_sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
        hex(d, 32, h);
        ASSERT_STREQ(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        ASSERT_TRUE(million);
        memset(million, 'a', 1000000);
        detect_sha256(million, 1000000, d);
        hex(d, 32, h);
        ASSERT_STREQ(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        return 0;
}

TEST(normalisation) {
        static const struct {
                const char *in, *out;
        } t[] = {
                { "  File \"/home/alice/proj/app/main.py\", line 42, in <module>",
                  "File \"main.py\", line #, in <module>" },
                { "error at /tmp/pip-install-x8f7a/pkg/setup.py:12", "error at <tmp>:#" },
                { "commit 3f2a9c1d0e and 0x7ffd1234abcd", "commit <hex> and <hex>" },
                { "id 123e4567-e89b-12d3-a456-426614174000 ok", "id <uuid> ok" },
                { "BUILD FAILED in 1m 23s", "BUILD FAILED in <dur>" },
                { "2024-05-01 12:34:56,789 pid=4242 port 8080 v1.2.3 took 3.5s, 20 ms later",
                  "# # pid=# port # v# took <dur>, <dur> later" },
                { "No module named 'cv2' on arm64 with sha256", "No module named 'cv2' on arm64 with sha256" },
                { "GET https://user@api.example.com/v1/items?id=7 failed", "GET https://user@api.example.com failed" },
                { "#0 main (file:///home/bob/app/bin/app.dart:9:3)", "## main (app.dart:#)" },
                { "line one\n    ^^^^^\n\n   line two  with   spaces ", "line one\nline two with spaces" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *n = NULL;

                ASSERT_OK(detect_fingerprint_normalize(t[i].in, strlen(t[i].in), &n));
                if (strcmp(n, t[i].out) != 0)
                        TEST_FAIL("normalise('%s') = '%s', expected '%s'", t[i].in, n, t[i].out);
        }
        return 0;
}

static int fp_of(DetectRules *rules, const char *text, char out[static DETECT_FINGERPRINT_HEX_LEN + 1]) {
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        Collected got = {};

        if (detect_engine_new(rules, NULL, &e) < 0 || feed_text(e, "s", text, &got) < 0 || got.n != 1) {
                collected_done(&got);
                return -1;
        }
        memcpy(out, got.items[0]->fingerprint, DETECT_FINGERPRINT_HEX_LEN + 1);
        collected_done(&got);
        return 0;
}

TEST(repeats_share_a_fingerprint_causes_do_not) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        char a[33], b[33], c[33], d[33], e1[33], e2[33];

        ASSERT_OK(fp_of(rules,
                        "Traceback (most recent call last):\n"
                        "  File \"/home/ci/build-1234/app/main.py\", line 12, in <module>\n"
                        "    import yaml\n"
                        "ModuleNotFoundError: No module named 'yaml'\n", a));
        ASSERT_OK(fp_of(rules,
                        "Traceback (most recent call last):\n"
                        "  File \"/srv/deploy/releases/20240501/app/main.py\", line 14, in <module>\n"
                        "    import yaml\n"
                        "ModuleNotFoundError: No module named 'yaml'\n", b));
        ASSERT_STREQ(a, b);
        ASSERT_OK(fp_of(rules,
                        "Traceback (most recent call last):\n"
                        "  File \"/home/ci/build-1234/app/main.py\", line 12, in <module>\n"
                        "    import requests\n"
                        "ModuleNotFoundError: No module named 'requests'\n", c));
        ASSERT_TRUE(strcmp(a, c) != 0);

        ASSERT_OK(fp_of(rules, "FAILURE: Build failed with an exception.\n* What went wrong:\n"
                               "Execution failed for task ':app:mergeDebugResources'.\n"
                               "> /tmp/gradle-cache-77/abc failed after 2.31s (pid 5512)\n"
                               "BUILD FAILED in 41s\n", d));
        ASSERT_OK(fp_of(rules, "FAILURE: Build failed with an exception.\n* What went wrong:\n"
                               "Execution failed for task ':app:mergeDebugResources'.\n"
                               "> /tmp/gradle-cache-91/xyz failed after 12.9s (pid 77)\n"
                               "BUILD FAILED in 1m 3s\n", e1));
        ASSERT_STREQ(d, e1);
        ASSERT_OK(fp_of(rules, "FAILURE: Build failed with an exception.\n* What went wrong:\n"
                               "Execution failed for task ':app:compileDebugKotlin'.\n"
                               "BUILD FAILED in 1m 3s\n", e2));
        ASSERT_TRUE(strcmp(d, e2) != 0);

        /* the category is part of the hash */
        char x[33], y[33];
        ASSERT_OK(detect_fingerprint(CATEGORY_NETWORK, "same", 4, x));
        ASSERT_OK(detect_fingerprint(CATEGORY_DISK_FULL, "same", 4, y));
        ASSERT_TRUE(strcmp(x, y) != 0);
        ASSERT_EQ(strlen(x), DETECT_FINGERPRINT_HEX_LEN);
        ASSERT_EQ(DETECT_FINGERPRINT_VERSION, 1);
        return 0;
}

TEST(fingerprint_is_stable_across_releases) {
        char x[33];

        /* Pinned value: if this changes, bump DETECT_FINGERPRINT_VERSION and
         * say so in NEWS, because stored incidents will stop matching. */
        ASSERT_OK(detect_fingerprint(CATEGORY_PYTHON_MISSING_PACKAGE,
                                     "ModuleNotFoundError: No module named 'yaml'", 43, x));
        fprintf(stderr, "pinned fingerprint: %s\n", x);
        ASSERT_STREQ(x, "f8edfaee9d8a2b05bf2aaf85ecb0a58b");
        return 0;
}
