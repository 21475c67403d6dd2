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

/* Reads a whole file into a malloc'ed string; aborts on failure. */
static char *read_all(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *s = NULL;
        size_t n = 0;

        if (!f || getdelim(&s, &n, 0, f) < 0) {
                free(s);
                return strdup("");
        }
        return s;
}

/*
 * Runs verb_scan with args in a child; stdin from in (may be NULL); returns
 * the exit code and the captured stdout in *out, stderr in *err (when not
 * NULL). With default_dirs false the checkout's rules are passed with
 * --rules-dir=; with it true scan gets only the --rules-dir= of args, if
 * any, and otherwise finds rules itself: APPWATCH_RULES_DIR=rules_env
 * (unset when NULL) and a configuration directory that does not exist, so
 * no rules installed on this machine take part.
 */
static int run_scan_env(char **args, const char *in, bool default_dirs, const char *rules_env,
                        char **out, char **err) {
        _cleanup_free_ char *rules = NULL, *conf = NULL, *err_path = NULL;
        const char *tmp = default_dirs || err ? test_tmpdir() : "/nonexistent";
        char *argv[16];
        int argc = 0, p_out[2], p_in[2], status;
        size_t len = 0, cap = 65536;
        pid_t pid;

        if (asprintf(&rules, "--rules-dir=%s", detect_test_rules_dir()) < 0 ||
            asprintf(&conf, "%s/etc", tmp) < 0 || asprintf(&err_path, "%s/stderr", tmp) < 0)
                abort();
        argv[argc++] = (char *) "scan";
        if (!default_dirs)
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
                if (err) {
                        /* Under stdio's stderr, which stays unbuffered. */
                        int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                        if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
                                _exit(99);
                }
                if (default_dirs) {
                        if (rules_env ? setenv("APPWATCH_RULES_DIR", rules_env, 1)
                                      : unsetenv("APPWATCH_RULES_DIR"))
                                _exit(99);
                        if (setenv("CONFIGURATION_DIRECTORY", conf, 1) < 0)
                                _exit(99);
                }
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
        if (err)
                *err = read_all(err_path);
        return WEXITSTATUS(status);
}

static int run_scan(char **args, const char *in, char **out) {
        return run_scan_env(args, in, false, NULL, out, NULL);
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

/* The same log, classified by the checkout's rules and by the five built-in
 * patterns: the catalogue is what makes it a missing package. */
static const char missing_yaml[] =
        "Traceback (most recent call last):\n"
        "  File \"/srv/app/main.py\", line 3, in <module>\n"
        "    import yaml\n"
        "ModuleNotFoundError: No module named 'yaml'\n";

TEST(no_rules_directory_is_said_on_stderr) {
        _cleanup_free_ char *missing = NULL, *out = NULL, *err = NULL;
        char *args[] = { (char *) "--json", (char *) "-", NULL };

        if (asprintf(&missing, "%s/no-such-rules.d", test_tmpdir()) < 0)
                abort();
        ASSERT_EQ(run_scan_env(args, missing_yaml, true, missing, &out, &err), 1);
        /* It names where it looked: the shipped (here: overridden) and the
         * local directory. */
        ASSERT_STRSTR(err, "no rules directory exists (looked in ");
        ASSERT_STRSTR(err, missing);
        ASSERT_STRSTR(err, "/etc/rules.d)");
        ASSERT_STRSTR(err, "only the built-in patterns are in use");
        ASSERT_STRSTR(err, "APPWATCH_RULES_DIR=");
        ASSERT_STRSTR(err, "--rules-dir=");
        /* It still scans, with what it has. */
        ASSERT_STRSTR(out, "\"category\":\"python_runtime\"");
        out = mfree(out);
        err = mfree(err);

        /* The same with --rules-dir= naming a missing directory. */
        char *explicit[] = { (char *) "--rules-dir=/nonexistent/rules.d", (char *) "-", NULL };
        ASSERT_EQ(run_scan_env(explicit, missing_yaml, true, NULL, &out, &err), 1);
        ASSERT_STRSTR(err, "(looked in /nonexistent/rules.d)");
        out = mfree(out);
        err = mfree(err);

        /* Quiet when a directory is there. */
        ASSERT_EQ(run_scan_env(args, missing_yaml, true, detect_test_rules_dir(), &out, &err), 1);
        ASSERT_STREQ(err, "");
        return 0;
}

TEST(rules_dir_from_the_environment) {
        _cleanup_free_ char *out = NULL, *err = NULL, *out2 = NULL, *err2 = NULL, *path = NULL;
        char *args[] = { (char *) "--json", (char *) "-", NULL };
        const char *dir;

        /* The checkout's catalogue, found through APPWATCH_RULES_DIR only. */
        ASSERT_EQ(run_scan_env(args, missing_yaml, true, detect_test_rules_dir(), &out, &err), 1);
        ASSERT_STRSTR(out, "\"category\":\"python_missing_package\"");
        ASSERT_STRSTR(out, "\"fix\":\"pip_install:PyYAML\"");

        /* A directory of one's own rules replaces the shipped ones. */
        dir = test_tmpdir();
        path = test_write_file(dir, "50-local.rules",
                               "[Rule.yaml_is_disk]\n"
                               "Category=disk_full\n"
                               "Pattern=No module named 'yaml'\n"
                               "Priority=900\n");
        ASSERT_EQ(run_scan_env(args, missing_yaml, true, dir, &out2, &err2), 1);
        ASSERT_STREQ(err2, "");
        ASSERT_STRSTR(out2, "\"category\":\"disk_full\"");
        ASSERT_STRSTR(out2, "\"rule\":\"yaml_is_disk\"");
        return 0;
}
