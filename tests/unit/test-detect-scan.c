/* SPDX-License-Identifier: MIT */
/* Tests for ctl/scan.h: output formats, exit codes, stdin, redaction. The
 * verb runs in a child process so that its stdout can be captured. */
#include <fcntl.h>
#include <jansson.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/scan.h"
#include "test-detect-util.h"
#include "tests.h"

/* Runs verb_scan with args in a child; stdin from in (may be NULL); returns
 * the exit code and the captured stdout in *out. */
static int run_scan(char **args, const char *in, char **out) {
        _cleanup_free_ char *rules = NULL;
        char *argv[16];
        int argc = 0, p_out[2], p_in[2], status;
        size_t len = 0, cap = 65536;
        pid_t pid;

        if (asprintf(&rules, "--rules-dir=%s", detect_test_rules_dir()) < 0)
                abort();
        argv[argc++] = (char *) "scan";
        argv[argc++] = rules;
        for (; *args && argc < 15; args++)
                argv[argc++] = *args;
        argv[argc] = NULL;
        if (pipe2(p_out, O_CLOEXEC) < 0 || pipe2(p_in, O_CLOEXEC) < 0)
                abort();
        fflush(stdout);
        pid = fork();
        if (pid < 0)
                abort();
        if (pid == 0) {
                close(p_out[0]);
                close(p_in[1]);
                (void) dup2(p_out[1], STDOUT_FILENO);
                (void) dup2(p_in[0], STDIN_FILENO);
                _exit(verb_scan(argc, argv));
        }
        close(p_out[1]);
        close(p_in[0]);
        if (in && write(p_in[1], in, strlen(in)) < 0)
                abort();
        close(p_in[1]);
        *out = malloc(cap);
        for (;;) {
                ssize_t n = read(p_out[0], *out + len, cap - len - 1);
                if (n <= 0)
                        break;
                len += (size_t) n;
                if (len + 1 >= cap)
                        *out = realloc(*out, cap *= 2);
        }
        (*out)[len] = 0;
        close(p_out[0]);
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
                abort();
        return WEXITSTATUS(status);
}

TEST(json_lines_with_the_documented_keys) {
        static const char *const keys[] = { "category", "severity", "auto_fixable", "fix", "fingerprint",
                                            "title", "excerpt", "analysis", "line_start", "line_end",
                                            "source" };
        char *args[] = { (char *) "--json", (char *) "--language=en", (char *) "-", NULL };
        _cleanup_free_ char *out = NULL;
        json_error_t err;
        json_t *o;

        ASSERT_EQ(run_scan(args, "ok\nERROR: No matching distribution found for tensorflow==99\n"
                                 "Traceback (most recent call last):\n  File \"a.py\", line 1\n"
                                 "ModuleNotFoundError: No module named 'PIL'\n", &out), 1);
        ASSERT_TRUE(strchr(out, '\n'));
        o = json_loadb(out, strcspn(out, "\n"), 0, &err);
        ASSERT_TRUE(o);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                ASSERT_TRUE(json_object_get(o, keys[i]));
        ASSERT_STREQ(json_string_value(json_object_get(o, "category")), "pip_resolution");
        ASSERT_STREQ(json_string_value(json_object_get(o, "source")), "-");
        ASSERT_EQ(json_integer_value(json_object_get(o, "line_start")), 2);
        json_decref(o);
        o = json_loads(strchr(out, '\n') + 1, JSON_DISABLE_EOF_CHECK, &err);
        ASSERT_TRUE(o);
        ASSERT_STREQ(json_string_value(json_object_get(o, "fix")), "pip_install:Pillow");
        ASSERT_TRUE(json_is_true(json_object_get(o, "auto_fixable")));
        ASSERT_STRSTR(json_string_value(json_object_get(o, "analysis")), "pip install Pillow");
        json_decref(o);
        return 0;
}

TEST(exit_codes) {
        char *clean_args[] = { (char *) "-", NULL };
        char *missing[] = { (char *) "/nonexistent/build.log", NULL };
        char *bad_lang[] = { (char *) "--language=fr", (char *) "-", NULL };
        char *bad_opt[] = { (char *) "--frobnicate", (char *) "-", NULL };
        char *none[] = { NULL };
        _cleanup_free_ char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *o5 = NULL;

        ASSERT_EQ(run_scan(clean_args, "Running Gradle task 'assembleRelease'...\nBUILD SUCCESSFUL in 5s\n"
                                       "0 errors, 0 warnings\n", &o1), 0);
        ASSERT_STREQ(o1, "");
        ASSERT_EQ(run_scan(missing, NULL, &o2), 2);
        ASSERT_EQ(run_scan(bad_lang, "", &o3), 2);
        ASSERT_EQ(run_scan(bad_opt, "", &o4), 2);
        ASSERT_EQ(run_scan(none, NULL, &o5), 2);
        return 0;
}

TEST(human_output_and_files) {
        const char *dir = test_tmpdir();
        _cleanup_free_ char *path = test_write_file(dir, "build.log",
                "FAILURE: Build failed with an exception.\n\n* What went wrong:\n"
                "Execution failed for task ':app:mergeDebugResources'.\n\nBUILD FAILED in 3s\n");
        char *args[] = { (char *) "--language=ko", path, NULL };
        _cleanup_free_ char *out = NULL;

        ASSERT_EQ(run_scan(args, NULL, &out), 1);
        ASSERT_STRSTR(out, "build.log:1-6: [High] Flutter 빌드 실패 (flutter_build)");
        ASSERT_STRSTR(out, "지문:");
        ASSERT_STRSTR(out, "다음 단계:");
        return 0;
}

TEST(secrets_are_redacted_in_output) {
        char *args[] = { (char *) "--json", (char *) "-", NULL };
        char *raw[] = { (char *) "--json", (char *) "--no-redact", (char *) "-", NULL };
        const char *log = "google.api_core.exceptions.InvalidArgument: 400 API key not valid. Please pass a valid API key. "
                          "key=AIzaSyA1234567890abcdefghijklmnopqrstuv\n";
        _cleanup_free_ char *out = NULL, *out2 = NULL;

        ASSERT_EQ(run_scan(args, log, &out), 1);
        ASSERT_TRUE(!strstr(out, "AIzaSyA1234567890"));
        ASSERT_STRSTR(out, "[REDACTED:google_api_key#1]");
        ASSERT_EQ(run_scan(raw, log, &out2), 1);
        ASSERT_STRSTR(out2, "AIzaSyA1234567890");
        return 0;
}
