/* SPDX-License-Identifier: MIT */
/* Tests for detect/redact.h: what must go, what must stay, stable numbering. */
#include <pthread.h>

#include "detect/redact.h"
#include "tests.h"

static const struct {
        const char *in, *out;
} must_redact[] = {
        { "key=AIzaSyA1234567890abcdefghijklmnopqrstuv used",
          "key=[REDACTED:google_api_key#1] used" },
        { "POST https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX failed",
          "POST [REDACTED:slack_webhook#1] failed" },
        { "token xoxb-1234567890-0987654321-AbCdEfGhIjKl", "token [REDACTED:slack_token#1]" },
        { "git push with ghp_abcdefghijklmnopqrstuvwxyz0123456789",
          "git push with [REDACTED:github_token#1]" },
        { "github_pat_11AAAAAAA0abcdefghijklmnopqrstuvwxyz", "[REDACTED:github_token#1]" },
        { "aws AKIAIOSFODNN7EXAMPLE region", "aws [REDACTED:aws_access_key#1] region" },
        { "openai sk-proj-abcdefghijklmnopqrstuvwxyz012345", "openai [REDACTED:openai_key#1]" },
        { "notion secret_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG!",
          "notion [REDACTED:notion_token#1]!" },
        { "notion ntn_1234567890abcdefghijklmnopqrstuvwxyzABCD",
          "notion [REDACTED:notion_token#1]" },
        { "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U x",
          "jwt [REDACTED:jwt#1] x" },
        { "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter",
          "[REDACTED:private_key#1]\nafter" },
        { "Authorization: Bearer abc.def-ghi_12345", "Authorization: [REDACTED:authorization#1]" },
        { "curl -H 'authorization: token deadbeefcafe'", "curl -H 'authorization: [REDACTED:authorization#1]'" },
        { "sent Bearer abcdefgh12345678 to api", "sent Bearer [REDACTED:bearer#1] to api" },
        { "DATABASE password=hunter2&user=x", "DATABASE password=[REDACTED:password#1]&user=x" },
        { "{\"api_key\": \"s3cr3t-v4lue\"}", "{\"api_key\": \"[REDACTED:token#1]\"}" },
        { "GEMINI_API_KEY=abc123xyz make", "GEMINI_API_KEY=[REDACTED:token#1] make" },
        { "clone https://bob:pa55w0rd@git.example.com/repo.git",
          "clone https://[REDACTED:url_credentials#1]@git.example.com/repo.git" },
        { "mail alice.kim@example.co.kr or bob@example.com then alice.kim@example.co.kr",
          "mail [REDACTED:email#1] or [REDACTED:email#2] then [REDACTED:email#1]" },
};

static const char *const must_stay[] = {
        "commit 3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49 merged",
        "flutter 3.19.6 • channel stable • dart 3.3.4",
        "Successfully installed PyYAML-6.0.1 requests-2.31.0",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "max_tokens=100 and tokens: 5",
        "dependency firebase_core@2.4.0 resolved",
        "Running Gradle task 'assembleDebug'...",
        "password: [REDACTED:password#1]",
        "",
};

TEST(redacts_secrets) {
        for (size_t i = 0; i < ELEMENTSOF(must_redact); i++) {
                _cleanup_free_ char *out = NULL;
                int r = detect_redact(must_redact[i].in, strlen(must_redact[i].in), &out);

                ASSERT_TRUE(r > 0);
                if (strcmp(out, must_redact[i].out) != 0)
                        TEST_FAIL("redact('%s') = '%s', expected '%s'", must_redact[i].in, out,
                                  must_redact[i].out);
        }
        return 0;
}

TEST(keeps_ordinary_text) {
        for (size_t i = 0; i < ELEMENTSOF(must_stay); i++) {
                _cleanup_free_ char *out = NULL;

                ASSERT_EQ(detect_redact(must_stay[i], strlen(must_stay[i]), &out), 0);
                ASSERT_STREQ(out, must_stay[i]);
        }
        return 0;
}

TEST(idempotent_and_binary_safe) {
        static const char bin[] = "x\0y password=\xff\xfe zz AIzaSyA1234567890abcdefghijklmnopqrstuv";
        _cleanup_free_ char *once = NULL, *twice = NULL, *b = NULL;
        const char *in = must_redact[14].in;

        ASSERT_TRUE(detect_redact(in, strlen(in), &once) > 0);
        ASSERT_EQ(detect_redact(once, strlen(once), &twice), 0);
        ASSERT_STREQ(once, twice);
        ASSERT_EQ(detect_redact(bin, sizeof bin - 1, &b), 2);
        ASSERT_TRUE(memcmp(b, "x\0y password=[REDACTED:password#1]", 34) == 0);
        return 0;
}

static void *thread_main(void *arg) {
        for (int i = 0; i < 200; i++) {
                char *out = NULL;

                if (detect_redact(must_redact[i % ELEMENTSOF(must_redact)].in,
                                  strlen(must_redact[i % ELEMENTSOF(must_redact)].in), &out) <= 0)
                        return (void *) 1;
                free(out);
        }
        return arg;
}

TEST(thread_safe) {
        pthread_t t[4];
        void *res;

        for (int i = 0; i < 4; i++)
                ASSERT_EQ(pthread_create(&t[i], NULL, thread_main, NULL), 0);
        for (int i = 0; i < 4; i++) {
                ASSERT_EQ(pthread_join(t[i], &res), 0);
                ASSERT_TRUE(res == NULL);
        }
        return 0;
}
