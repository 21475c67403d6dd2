/* SPDX-License-Identifier: MIT */
/* Tests for detect/engine.h: assembly of every block kind, classification,
 * limits, timeouts, streams, and prefilter equivalence. Table-driven. */
#include "test-detect-util.h"
#include "detect/engine.h"
#include "tests.h"

typedef struct Expect {
        const char *category;
        uint64_t line_start, line_end;
        const char *title;                      /* substring of the title */
        const char *fix;
        bool auto_fixable;
} Expect;

typedef struct Case {
        const char *name;
        const char *text;
        size_t n;                               /* expected number of findings */
        Expect e[4];
} Case;

static const Case cases[] = {
        { "python traceback, missing module",
          "Starting job\n"
          "Traceback (most recent call last):\n"
          "  File \"/srv/app/main.py\", line 3, in <module>\n"
          "    import yaml\n"
          "ModuleNotFoundError: No module named 'yaml'\n"
          "worker exited\n",
          1, { { "python_missing_package", 2, 5, "No module named 'yaml'", "pip_install:PyYAML", true } } },
        { "python chained traceback with 3.11 carets",
          "Traceback (most recent call last):\n"
          "  File \"/app/a.py\", line 10, in load\n"
          "    return cfg[\"key\"]\n"
          "           ~~~^^^^^^^\n"
          "KeyError: 'key'\n"
          "\n"
          "During handling of the above exception, another exception occurred:\n"
          "\n"
          "Traceback (most recent call last):\n"
          "  File \"/app/a.py\", line 20, in <module>\n"
          "    load()\n"
          "RuntimeError: config incomplete\n"
          "\n"
          "Done.\n",
          1, { { "python_runtime", 1, 12, "RuntimeError: config incomplete", "none", false } } },
        { "python direct cause chain with missing cv2",
          "Traceback (most recent call last):\n"
          "  File \"/app/vision.py\", line 1, in <module>\n"
          "    import cv2\n"
          "ModuleNotFoundError: No module named 'cv2'\n"
          "\n"
          "The above exception was the direct cause of the following exception:\n"
          "\n"
          "Traceback (most recent call last):\n"
          "  File \"/app/run.py\", line 4, in <module>\n"
          "RuntimeError: vision backend unavailable\n",
          1, { { "python_missing_package", 1, 10, "No module named 'cv2'", "pip_install:opencv-python", true } } },
        { "python syntax error without traceback header",
          "$ python3 app.py\n"
          "  File \"/home/dev/app.py\", line 7\n"
          "    print(\"hello\"\n"
          "         ^\n"
          "SyntaxError: '(' was never closed\n",
          1, { { "python_syntax", 2, 5, "SyntaxError", "none", false } } },
        { "gradle failure block",
          "Running Gradle task 'assembleDebug'...\n"
          "\n"
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:processDebugResources'.\n"
          "> A failure occurred while executing a task\n"
          "\n"
          "* Try:\n"
          "> Run with --stacktrace option to get the stack trace.\n"
          "\n"
          "* Get more help at https://help.gradle.org\n"
          "\n"
          "BUILD FAILED in 12s\n"
          "Exception: Gradle task assembleDebug failed with exit code 1\n",
          1, { { "flutter_build", 3, 14, "Execution failed for task", "none", false } } },
        { "gradle dependency resolution inside failure",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Could not resolve all files for configuration ':app:debugRuntimeClasspath'.\n"
          "> Could not find com.example:lib:1.0.\n"
          "\n"
          "BUILD FAILED in 3s\n",
          /* Android/Maven artifacts: no pub fix repairs them (issue 12) */
          1, { { "flutter_dependency", 1, 7, "Could not resolve all files", "none", false } } },
        /* Pasted from the middle: no FAILURE header, Gradle's "> " gone
         * with the quote markers. Still one report, and its cause at the
         * bottom decides (it was two findings: the resolution, then the
         * network error). */
        { "gradle report without its header, network at the bottom",
          "* What went wrong:\n"
          "A problem occurred configuring project ':buildSrc'.\n"
          "> Could not resolve all artifacts for configuration ':buildSrc:classpath'.\n"
          "   > Could not download bcprov-jdk15on-1.64.jar (org.bouncycastle:bcprov-jdk15on:1.64)\n"
          "      > Could not get resource 'https://plugins.gradle.org/m2/bcprov-jdk15on-1.64.jar'.\n"
          "         > Connection reset\n"
          "\n"
          "* Try:\n"
          "> Run with --stacktrace option to get the stack trace.\n"
          "\n"
          "* Get more help at https://help.gradle.org\n"
          "Next step of the job\n",
          1, { { "network", 1, 11, "Connection reset", "none", false } } },
        { "gradle resolution report alone, network at the bottom",
          "> Could not resolve all files for configuration ':app:lintClassPath'.\n"
          "   > Could not download groovy-all-2.4.15.jar (org.codehaus.groovy:groovy-all:2.4.15)\n"
          "         > Connection reset\n"
          "Uploading artifacts\n",
          1, { { "network", 1, 3, "Connection reset", "none", false } } },
        { "pub version solving paragraph",
          "Resolving dependencies...\n"
          "Because app depends on http ^0.13.0 and firebase_core >=2.0.0 depends on http ^1.0.0,\n"
          "  http ^0.13.0 is forbidden.\n"
          "So, because app depends on firebase_core ^2.4.0, version solving failed.\n"
          "pub get failed (1; So, because app depends on firebase_core ^2.4.0, version solving failed.)\n",
          1, { { "flutter_version_conflict", 2, 4, "version solving failed", "none", false } } },
        { "pub package that does not exist",
          "Because app depends on htttp any which doesn't exist (could not find package htttp at https://pub.dev), version solving failed.\n",
          1, { { "flutter_dependency", 1, 1, "htttp", "none", false } } },
        { "dart compile errors grouped",
          "Launching lib/main.dart on sdk gphone64 x86 64 in debug mode...\n"
          "lib/main.dart:12:5: Error: Expected ';' after this.\n"
          "    print('x')\n"
          "    ^^^^^\n"
          "lib/home.dart:40:10: Error: The method 'foo' isn't defined for the class 'Bar'.\n"
          " - 'Bar' is from 'package:app/bar.dart' ('lib/bar.dart').\n"
          "Try correcting the name to the name of an existing method.\n"
          "    bar.foo();\n"
          "        ^^^\n"
          "\n"
          "FAILURE: Build failed with an exception.\n"
          "BUILD FAILED in 9s\n",
          1, { { "dart_syntax", 2, 9, "main.dart:12:5: Error", "none", false } } },
        /* One unresolved package does not say why (not fetched, not
         * declared, the app's own name, an SDK pin): no fix. */
        { "package not resolved: no fix",
          "lib/api.dart:3:8: Error: Couldn't resolve the package 'http' in 'package:http/http.dart'.\n"
          "import 'package:http/http.dart' as http;\n"
          "       ^\n",
          1, { { "flutter_dependency", 1, 3, "Couldn't resolve the package 'http'", "none", false } } },
        { "even package:flutter does not resolve, nor the others: pub get missing",
          "lib/main.dart:1:8: Error: Couldn't resolve the package 'flutter' in 'package:flutter/material.dart'.\n"
          "lib/main.dart:2:8: Error: Couldn't resolve the package 'http' in 'package:http/http.dart'.\n"
          "import 'package:flutter/material.dart';\n"
          "       ^\n",
          1, { { "flutter_dependency", 1, 4, "Couldn't resolve the package 'flutter'", "flutter_pub_get", true } } },
        { "only package:flutter does not resolve: the SDK is not seen, no pub get",
          "lib/main.dart:1:8: Error: Couldn't resolve the package 'flutter' in 'package:flutter/material.dart'.\n"
          "import 'package:flutter/material.dart';\n"
          "       ^\n",
          1, { { "flutter_dependency", 1, 3, "Couldn't resolve the package 'flutter'", "none", false } } },
        { "dart unhandled exception stack",
          "Unhandled exception:\n"
          "FormatException: Unexpected character (at character 1)\n"
          "#0      _ChunkedJsonParser.fail (dart:convert-patch/convert_patch.dart:1383:5)\n"
          "#1      main (file:///home/dev/app/bin/app.dart:9:3)\n"
          "<asynchronous suspension>\n"
          "Process finished.\n",
          1, { { "flutter_build", 1, 5, "Unhandled exception:", "none", false } } },
        { "flutter logcat unhandled exception with network cause",
          "E/flutter ( 6130): [ERROR:flutter/runtime/dart_vm_initializer.cc(41)] Unhandled Exception: SocketException: Failed host lookup: 'api.example.com'\n"
          "E/flutter ( 6130): #0      _NativeSocket.startConnect (dart:io-patch/socket_patch.dart:682:35)\n"
          "E/flutter ( 6130): #1      HttpClient.get (dart:_http/http_impl.dart:100:3)\n"
          "I/flutter ( 6130): retry scheduled\n",
          1, { { "network", 1, 3, "Failed host lookup", "none", false } } },
        { "pip error group",
          "Collecting foo==9.9\n"
          "ERROR: Could not find a version that satisfies the requirement foo==9.9 (from versions: 1.0, 1.1)\n"
          "ERROR: No matching distribution found for foo==9.9\n"
          "Done\n",
          1, { { "pip_resolution", 2, 3, "Could not find a version", "none", false } } },
        { "pip resolution impossible with explanation",
          "ERROR: Cannot install -r requirements.txt (line 2) and requests==2.0 because these package versions have conflicting dependencies.\n"
          "\n"
          "The conflict is caused by:\n"
          "    The user requested requests==2.0\n"
          "    somepkg 1.0 depends on requests>=2.20\n"
          "\n"
          "To fix this you could try to:\n"
          "1. loosen the range of package versions you've specified\n"
          "2. remove package versions to allow pip to attempt to solve the dependency conflict\n"
          "\n"
          "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/\n"
          "$ echo next\n",
          1, { { "pip_resolution", 1, 11, "Cannot install", "none", false } } },
        { "cocoapods incompatible versions",
          "Running pod install...\n"
          "[!] CocoaPods could not find compatible versions for pod \"Firebase/Messaging\":\n"
          "  In Podfile:\n"
          "    firebase_messaging (from `.symlinks/plugins/firebase_messaging/ios`) was resolved to 14.0.0, which depends on\n"
          "      Firebase/Messaging (= 10.3.0)\n"
          "\n"
          "You have either:\n"
          " * out-of-date source repos which you can update with `pod repo update`.\n"
          "Error running pod install\n"
          "Done\n",
          1, { { "ios_pods", 2, 9, "Firebase/Messaging", "none", false } } },
        { "xcode failure",
          "Failed to build iOS app\n"
          "Error output from Xcode build:\n"
          "\xe2\x86\xb3\n"
          "    ** BUILD FAILED **\n"
          "Xcode's output:\n"
          "\xe2\x86\xb3\n"
          "    lib/main.dart:5:1: Error: Expected a declaration, but got '}'.\n"
          "Could not build the application for the simulator.\n"
          "Error launching application on iPhone 15.\n"
          "Bye\n",
          1, { { "dart_syntax", 1, 9, "Expected a declaration", "none", false } } },
        { "one-line disk full",
          "Copying assets\n"
          "FileSystemException: Cannot copy file, path = '/build/app.apk' (OS Error: No space left on device, errno = 28)\n"
          "ok\n",
          1, { { "disk_full", 2, 2, "No space left", "none", false } } },
        { "gemini api key invalid",
          "google.api_core.exceptions.InvalidArgument: 400 API key not valid. Please pass a valid API key. [reason: \"API_KEY_INVALID\"]\n",
          1, { { "api_key_invalid", 1, 1, "API key not valid", "none", false } } },
        { "users' guide default pattern, generic",
          "Something odd\n"
          "Failed to open the frobnicator\n",
          1, { { "other", 2, 2, "Failed to open", "none", false } } },
        { "not failures: zero errors, warnings, deprecations, retries",
          "Analyzing app...\n"
          "No issues found! 0 errors, 0 warnings\n"
          "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError: Failed to establish a new connection': /simple/requests/\n"
          "warning: [options] source value 8 is obsolete and will be removed in a future release\n"
          "DeprecationWarning: pkg_resources is deprecated as an API\n"
          "Tests: 12 passed, 0 failed\n"
          "Failed to send analytics event, ignoring\n"
          "Successfully installed requests-2.31.0\n",
          0, {} },
        { "echo of a specific failure is not reported twice",
          "Because app depends on foo ^2.0.0 which requires SDK version >=3.0.0 <4.0.0, version solving failed.\n"
          "Failed to update packages.\n",
          1, { { "flutter_version_conflict", 1, 1, "version solving failed", "none", false } } },
        { "flutter exception box",
          "\xe2\x95\x90\xe2\x95\x90\xe2\x95\xa1 EXCEPTION CAUGHT BY WIDGETS LIBRARY \xe2\x95\x9e\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\n"
          "The following assertion was thrown building MyApp:\n"
          "\n"
          "A RenderFlex overflowed by 42 pixels on the bottom.\n"
          "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\n"
          "Reloaded 1 of 500 libraries.\n",
          1, { { "flutter_build", 1, 5, "EXCEPTION CAUGHT BY WIDGETS LIBRARY", "none", false } } },
        { "ansi colours and carriage returns are stripped",
          "\x1b[31mERROR: No matching distribution found for tensorflow==99\x1b[0m\n"
          "Downloading 10%\rDownloading 50%\rTraceback (most recent call last):\n"
          "  File \"x.py\", line 1, in <module>\n"
          "PermissionError: [Errno 13] Permission denied: '/var/lib/app'\n",
          2, { { "pip_resolution", 1, 1, "tensorflow==99", "none", false },
               { "permission", 2, 4, "Permission denied", "none", false } } },
        { "syslog prefixes do not hide the traceback's shape",
          "Sep 21 09:00:01 factory run_monitoring.py[3121]: Traceback (most recent call last):\n"
          "Sep 21 09:00:01 factory run_monitoring.py[3121]:   File \"/home/f/run.py\", line 3, in <module>\n"
          "2024-09-21T09:00:01+0900 factory run_monitoring.py[3121]: ModuleNotFoundError: No module named 'schedule'\n"
          "Sep 21 09:00:02 factory systemd[1]: monitor.service: Main process exited, code=exited, status=1/FAILURE\n",
          1, { { "python_missing_package", 1, 3, "'schedule'", "pip_install:schedule", true } } },
        { "numpy internal module missing: a broken install, no pip install",
          "Traceback (most recent call last):\n"
          "  File \"/app/x.py\", line 1, in <module>\n"
          "ModuleNotFoundError: No module named 'numpy.core._multiarray_umath'\n",
          1, { { "python_missing_package", 1, 3, "numpy.core._multiarray_umath", "none", false } } },
        { "local module is not pip-installed",
          "Traceback (most recent call last):\n"
          "  File \"/app/x.py\", line 1, in <module>\n"
          "ModuleNotFoundError: No module named 'utils'\n",
          1, { { "python_missing_package", 1, 3, "'utils'", "none", false } } },
        /* A message quoted in someone's words, as issue threads have it:
         * the message alone is read where the rules anchor it at the start
         * of a line, and the finding is of the message. */
        { "a message in backticks inside a sentence",
          "The script stops with `KeyError: 'user_id'` after a while.\n",
          1, { { "python_runtime", 1, 1, "KeyError: 'user_id'", "none", false } } },
        { "a numbered list item",
          "1. TypeError: unsupported operand type(s) for +: 'int' and 'str'\n",
          1, { { "python_runtime", 1, 1, "TypeError: unsupported operand", "none", false } } },
        { "a list item hides no anchored exception of a warning rule",
          "- Build failed due to use of deprecated Android v1 embedding.\n",
          1, { { "flutter_build", 1, 1, "Build failed due to use of deprecated", "none", false } } },
        /* near misses: the tool's own "words: message", a warning that
         * quotes an error, a retry as a list item stay no failure */
        { "a tool's own words before a message are no lead-in",
          "Retrying in 4 seconds (attempt 2 of 5): Timeout was reached\n", 0, {} },
        { "a warning quoting an error stays a warning",
          "WARNING: the docs say `KeyError: 'x'` can be raised here\n", 0, {} },
        { "a retry as a list item stays a retry",
          "- WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) "
          "after connection broke by 'NewConnectionError'\n", 0, {} },
        /* pip said the distribution is installed, and the module is still
         * missing: another interpreter or a notebook's kernel runs the
         * code, and a pip install would change nothing */
        { "pip already has it: no pip install",
          "Requirement already satisfied: PyYAML>=5.1 in /home/u/.venv/lib/python3.11/site-packages (6.0.1)\n"
          "Traceback (most recent call last):\n"
          "  File \"/app/main.py\", line 1, in <module>\n"
          "    import yaml\n"
          "ModuleNotFoundError: No module named 'yaml'\n",
          1, { { "python_missing_package", 2, 5, "No module named 'yaml'", "none", false } } },
        { "pip has another distribution: the install stands",
          "Requirement already satisfied: requests in /home/u/.venv/lib/python3.11/site-packages (2.31.0)\n"
          "Traceback (most recent call last):\n"
          "  File \"/app/main.py\", line 1, in <module>\n"
          "    import yaml\n"
          "ModuleNotFoundError: No module named 'yaml'\n",
          1, { { "python_missing_package", 2, 5, "No module named 'yaml'", "pip_install:PyYAML", true } } },
        { "pip show names it installed: no pip install",
          "Name: PyYAML\n"
          "Version: 3.13\n"
          "Location: /home/u/.local/lib/python2.7/site-packages\n"
          "Traceback (most recent call last):\n"
          "  File \"./gen.py\", line 6, in <module>\n"
          "    import yaml\n"
          "ModuleNotFoundError: No module named 'yaml'\n",
          1, { { "python_missing_package", 4, 7, "No module named 'yaml'", "none", false } } },
        { "a Name: line of something else is no pip show",
          "Name: the yaml loader of our app\n"
          "Traceback (most recent call last):\n"
          "  File \"/app/main.py\", line 1, in <module>\n"
          "    import yaml\n"
          "ModuleNotFoundError: No module named 'yaml'\n",
          1, { { "python_missing_package", 2, 5, "No module named 'yaml'", "pip_install:PyYAML", true } } },
};

static int check_case(const Case *c, const DetectOptions *opts) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        Collected got = {};
        int r = 0;

        ASSERT_OK(detect_engine_new(rules, opts, &e));
        ASSERT_OK(feed_text(e, "s", c->text, &got));
        if (got.n != c->n) {
                for (size_t i = 0; i < got.n; i++)
                        fprintf(stderr, "  got %s %" PRIu64 "-%" PRIu64 " '%s' (rule %s)\n",
                                category_to_string(got.items[i]->category),
                                got.items[i]->line_start, got.items[i]->line_end,
                                got.items[i]->title, got.items[i]->rule);
                collected_done(&got);
                TEST_FAIL("case '%s': %zu findings, expected %zu", c->name, got.n, c->n);
        }
        for (size_t i = 0; i < c->n && r == 0; i++) {
                const Finding *f = got.items[i];
                const Expect *x = &c->e[i];

                if (strcmp(category_to_string(f->category), x->category) != 0 ||
                    f->line_start != x->line_start || f->line_end != x->line_end ||
                    !strstr(f->title, x->title) || strcmp(f->fix, x->fix) != 0 ||
                    f->auto_fixable != x->auto_fixable) {
                        fprintf(stderr, "case '%s' #%zu: got %s %" PRIu64 "-%" PRIu64
                                " title='%s' fix=%s auto=%d rule=%s\n",
                                c->name, i, category_to_string(f->category), f->line_start,
                                f->line_end, f->title, f->fix, f->auto_fixable, f->rule);
                        r = 1;
                }
                if (strlen(f->fingerprint) != DETECT_FINGERPRINT_HEX_LEN || !f->excerpt ||
                    strcmp(f->stream, "s") != 0)
                        r = 1;
        }
        collected_done(&got);
        return r;
}

TEST(assembly_and_classification_table) {
        int failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                failed += check_case(&cases[i], NULL);
        ASSERT_EQ(failed, 0);
        return 0;
}

TEST(prefilter_is_only_an_optimisation) {
        DetectOptions o = { .no_prefilter = true };
        int failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                failed += check_case(&cases[i], &o);
        ASSERT_EQ(failed, 0);
        return 0;
}

TEST(interpreter_without_jit_gives_the_same_answers) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(DETECT_RULES_NO_JIT);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        Collected got = {};

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        ASSERT_OK(feed_text(e, "s", cases[0].text, &got));
        ASSERT_EQ(got.n, 1);
        ASSERT_STREQ(got.items[0]->fix, "pip_install:PyYAML");
        collected_done(&got);
        return 0;
}

TEST(interleaved_streams_never_mix) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        static const char *const a[] = {
                "Traceback (most recent call last):", "  File \"/a.py\", line 1, in <module>",
                "    import yaml", "ModuleNotFoundError: No module named 'yaml'", "a done",
        };
        static const char *const b[] = {
                "FAILURE: Build failed with an exception.", "* What went wrong:",
                "Execution failed for task ':app:compileDebugKotlin'.", "BUILD FAILED in 2s", "b done",
        };
        Collected got = {};

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        for (size_t i = 0; i < ELEMENTSOF(a); i++) {
                ASSERT_OK(detect_engine_feed(e, "unit-a", a[i], strlen(a[i]), 0, collect_cb, &got));
                ASSERT_OK(detect_engine_feed(e, "unit-b", b[i], strlen(b[i]), 0, collect_cb, &got));
        }
        /* b's block ends with BUILD FAILED (line 4), but a headline decides
         * it, so it waits for a cause that never comes until the flush; a's
         * (ended by line 5) is reported at once. */
        ASSERT_EQ(got.n, 1);
        ASSERT_EQ(detect_engine_pending_lines(e, "unit-b"), 5);
        ASSERT_EQ(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got), 1);
        ASSERT_EQ(got.n, 2);
        ASSERT_STREQ(got.items[1]->stream, "unit-b");
        ASSERT_STREQ(category_to_string(got.items[1]->category), "flutter_build");
        ASSERT_EQ(got.items[1]->line_start, 1);
        ASSERT_EQ(got.items[1]->line_end, 4);
        ASSERT_TRUE(!strstr(got.items[1]->excerpt, "yaml"));
        ASSERT_STREQ(got.items[0]->stream, "unit-a");
        ASSERT_STREQ(category_to_string(got.items[0]->category), "python_missing_package");
        ASSERT_TRUE(!strstr(got.items[0]->excerpt, "BUILD"));
        collected_done(&got);
        return 0;
}

TEST(idle_timeout_is_driven_by_the_callers_clock) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        DetectOptions o = { .idle_timeout_usec = 1000 };
        Collected got = {};
        const char *l1 = "Traceback (most recent call last):", *l2 = "  File \"/a.py\", line 1",
                   *l3 = "ValueError: bad", *l4 = "  indented but much later";

        ASSERT_OK(detect_engine_new(rules, &o, &e));
        ASSERT_EQ(detect_engine_next_deadline(e), UINT64_MAX);
        ASSERT_OK(detect_engine_feed(e, "s", l1, strlen(l1), 10000, collect_cb, &got));
        ASSERT_OK(detect_engine_feed(e, "s", l2, strlen(l2), 10100, collect_cb, &got));
        ASSERT_OK(detect_engine_feed(e, "s", l3, strlen(l3), 10200, collect_cb, &got));
        ASSERT_EQ(detect_engine_next_deadline(e), 11200);
        /* not idle long enough yet */
        ASSERT_EQ(detect_engine_flush(e, NULL, 11199, collect_cb, &got), 0);
        ASSERT_EQ(got.n, 0);
        ASSERT_EQ(detect_engine_flush(e, NULL, 11200, collect_cb, &got), 1);
        ASSERT_EQ(got.n, 1);
        ASSERT_EQ(got.items[0]->line_end, 3);
        ASSERT_EQ(got.items[0]->timestamp_usec, 10000);
        ASSERT_EQ(detect_engine_next_deadline(e), UINT64_MAX);

        /* a late continuation-looking line after a gap does not join an old block */
        ASSERT_OK(detect_engine_feed(e, "s", l1, strlen(l1), 20000, collect_cb, &got));
        ASSERT_OK(detect_engine_feed(e, "s", l4, strlen(l4), 90000, collect_cb, &got));
        ASSERT_EQ(got.n, 2);
        ASSERT_EQ(got.items[1]->line_start, 4);
        ASSERT_EQ(got.items[1]->line_end, 4);
        collected_done(&got);
        return 0;
}

TEST(block_limits_truncate_but_keep_the_terminator) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        DetectOptions o = { .max_block_lines = 10 };
        DetectStats st;
        Collected got = {};
        char line[64];
        const char *h = "Traceback (most recent call last):", *t = "ModuleNotFoundError: No module named 'bs4'";

        ASSERT_OK(detect_engine_new(rules, &o, &e));
        ASSERT_OK(detect_engine_feed(e, "s", h, strlen(h), 0, collect_cb, &got));
        for (int i = 0; i < 50; i++) {
                int n = snprintf(line, sizeof line, "  File \"/x%d.py\", line %d, in f", i, i);
                ASSERT_OK(detect_engine_feed(e, "s", line, (size_t) n, 0, collect_cb, &got));
        }
        ASSERT_OK(detect_engine_feed(e, "s", t, strlen(t), 0, collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 1);
        ASSERT_EQ(got.items[0]->line_start, 1);
        ASSERT_EQ(got.items[0]->line_end, 52);
        ASSERT_STRSTR(got.items[0]->excerpt, "lines omitted");
        ASSERT_STRSTR(got.items[0]->excerpt, "No module named 'bs4'");
        ASSERT_STREQ(got.items[0]->fix, "pip_install:beautifulsoup4");
        detect_engine_get_stats(e, &st);
        ASSERT_EQ(st.truncated_blocks, 1);
        collected_done(&got);

        /* an endless block is cut at 8x the limit and does not grow */
        ASSERT_OK(detect_engine_feed(e, "s2", h, strlen(h), 0, collect_cb, &got));
        for (int i = 0; i < 500; i++)
                ASSERT_OK(detect_engine_feed(e, "s2", "  x", 3, 0, collect_cb, &got));
        ASSERT_EQ(got.n, 1);
        ASSERT_TRUE(got.items[0]->line_end - got.items[0]->line_start < 100);
        collected_done(&got);
        return 0;
}

TEST(byte_limit_and_line_length) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        DetectOptions o = { .max_line_length = 100, .max_block_bytes = 300 };
        _cleanup_free_ char *big = malloc(10000);
        Collected got = {};
        DetectStats st;

        ASSERT_TRUE(big);
        memset(big, 'A', 10000);
        memcpy(big, "ERROR: ", 7);
        ASSERT_OK(detect_engine_new(rules, &o, &e));
        ASSERT_OK(detect_engine_feed(e, "s", big, 10000, 0, collect_cb, &got));
        /* Different lines of one group (identical ones would each count). */
        for (int i = 0; i < 20; i++) {
                big[7] = (char) ('a' + i);
                ASSERT_OK(detect_engine_feed(e, "s", big, 10000, 0, collect_cb, &got));
        }
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 1);
        ASSERT_TRUE(strlen(got.items[0]->excerpt) < 400);
        ASSERT_TRUE(strlen(got.items[0]->title) <= 300);
        detect_engine_get_stats(e, &st);
        ASSERT_EQ(st.truncated_lines, 21);
        collected_done(&got);
        return 0;
}

TEST(identical_repeats_are_counted) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        Collected got = {};

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        /* A flood of the same error: every line is one more occurrence,
         * neither grouped into one block nor folded as an echo. */
        for (int i = 0; i < 60; i++)
                ASSERT_OK(detect_engine_feed(e, "s", "ERROR: connection pool exhausted", 32, 0,
                                             collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 60);
        for (size_t i = 1; i < got.n; i++)
                ASSERT_STREQ(got.items[i]->fingerprint, got.items[0]->fingerprint);
        collected_done(&got);
        return 0;
}

TEST(feed_data_splits_lines_across_chunks) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        const char *text = cases[0].text;
        Collected got = {};

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        /* byte by byte: the worst case for the partial-line buffer */
        for (const char *p = text; *p; p++)
                ASSERT_OK(detect_engine_feed_data(e, "s", p, 1, 0, collect_cb, &got));
        ASSERT_EQ(detect_engine_flush(e, "s", UINT64_MAX, collect_cb, &got), 0);
        ASSERT_EQ(got.n, 1);
        ASSERT_EQ(got.items[0]->line_start, 2);
        ASSERT_EQ(got.items[0]->line_end, 5);
        collected_done(&got);

        /* a last line without newline is finished by the final flush */
        ASSERT_OK(detect_engine_feed_data(e, "t", "x\nOSError: [Errno 28] No space left on device", 46, 0,
                                          collect_cb, &got));
        ASSERT_EQ(got.n, 0);
        ASSERT_EQ(detect_engine_flush(e, "t", UINT64_MAX, collect_cb, &got), 1);
        ASSERT_STREQ(category_to_string(got.items[0]->category), "disk_full");
        ASSERT_EQ(got.items[0]->line_start, 2);
        collected_done(&got);
        return 0;
}

TEST(streams_are_bounded_and_forgettable) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        DetectOptions o = { .max_streams = 4 };
        const char *h = "Traceback (most recent call last):", *x = "KeyError: 'a'";
        Collected got = {};
        char key[32];

        ASSERT_OK(detect_engine_new(rules, &o, &e));
        for (int i = 0; i < 10; i++) {
                (void) snprintf(key, sizeof key, "stream-%d", i);
                ASSERT_OK(detect_engine_feed(e, key, h, strlen(h), 0, collect_cb, &got));
                ASSERT_OK(detect_engine_feed(e, key, x, strlen(x), 0, collect_cb, &got));
        }
        /* six streams were evicted, their blocks reported, not lost */
        ASSERT_EQ(got.n, 6);
        detect_engine_forget(e, "stream-9");
        ASSERT_EQ(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got), 3);
        ASSERT_EQ(got.n, 9);
        collected_done(&got);
        return 0;
}

static int stop_cb(DetectEngine *e, const Finding *f, void *userdata) {
        (void) e, (void) f, (void) userdata;
        return -ECANCELED;
}

TEST(callback_errors_propagate) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        const char *l = "OSError: [Errno 28] No space left on device";

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        ASSERT_ERROR(detect_engine_feed(e, "s", l, strlen(l), 0, stop_cb, NULL), ECANCELED);
        /* and a NULL callback is allowed: findings are only counted */
        ASSERT_OK(detect_engine_feed(e, "s", l, strlen(l), 0, NULL, NULL));
        return 0;
}

TEST(binary_and_invalid_utf8_are_harmless) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        static const char junk[] = "ERROR: \xff\xfe\x00\x01 bad \xc3\x28 utf8 \xe2\x82 end\x1b[";
        Collected got = {};

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        ASSERT_OK(detect_engine_feed(e, "s", junk, sizeof junk - 1, 0, collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 1);
        /* sanitised: valid UTF-8, no control characters */
        for (const unsigned char *p = (const unsigned char *) got.items[0]->excerpt; *p; p++)
                ASSERT_TRUE(*p >= 0x20 || *p == '\n' || *p == '\t');
        ASSERT_STRSTR(got.items[0]->excerpt, "\xef\xbf\xbd");
        collected_done(&got);
        return 0;
}

/* Built-in rules plus one whose pattern backtracks catastrophically on
 * "aaa...b": every try on such a line ends at PCRE2's match limit. */
static DetectRules *rules_with_evil(DetectRulesFlags flags) {
        static const char text[] = "[Rule.evil]\nPattern=(a+)+$\nCategory=network\nPriority=90\n";
        DetectRuleErrors errs = {};
        DetectRules *r = NULL;

        if (detect_rules_new(flags, &r) < 0 ||
            detect_rules_load_string(r, "50-evil.rules", text, sizeof text - 1, &errs) < 0 ||
            !detect_rules_has(r, "evil"))
                abort();
        detect_rule_errors_done(&errs);
        return r;
}

static const char evil_line[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
static const char evil_match[] = "aaaa";       /* the rule matches this one */

TEST(rule_that_keeps_hitting_limits_is_disabled) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = rules_with_evil(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        const char *ok = "ERROR: something else broke";
        DetectDisabledRule d;
        DetectStats st;
        Collected got = {};

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        /* Before: the rule works on the lines it matches. */
        ASSERT_OK(detect_engine_feed(e, "s", evil_match, strlen(evil_match), 0, collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 1);
        collected_done(&got);

        for (int i = 0; i < DETECT_RULE_LIMIT_HITS - 1; i++)
                ASSERT_OK(detect_engine_feed(e, "s", evil_line, strlen(evil_line), 0, NULL, NULL));
        detect_engine_get_stats(e, &st);
        ASSERT_EQ(st.match_errors, DETECT_RULE_LIMIT_HITS - 1);
        ASSERT_EQ(st.rules_disabled, 0);
        ASSERT_ERROR(detect_engine_get_disabled_rule(e, 0, &d), ENOENT);

        ASSERT_OK(detect_engine_feed(e, "s", evil_line, strlen(evil_line), 0, NULL, NULL));
        detect_engine_get_stats(e, &st);
        ASSERT_EQ(st.match_errors, DETECT_RULE_LIMIT_HITS);
        ASSERT_EQ(st.rules_disabled, 1);
        ASSERT_OK(detect_engine_get_disabled_rule(e, 0, &d));
        ASSERT_STREQ(d.name, "evil");
        ASSERT_STREQ(d.file, "50-evil.rules");
        ASSERT_EQ(d.line, 1);
        ASSERT_EQ(d.limit_hits, DETECT_RULE_LIMIT_HITS);
        ASSERT_ERROR(detect_engine_get_disabled_rule(e, 1, &d), ENOENT);

        /* After: it is tried no more, on any line, and the others still work
         * (on a new stream, where nothing earlier makes the line an echo). */
        for (int i = 0; i < 100; i++)
                ASSERT_OK(detect_engine_feed(e, "s", evil_line, strlen(evil_line), 0, NULL, NULL));
        ASSERT_OK(detect_engine_feed(e, "t", evil_match, strlen(evil_match), 0, collect_cb, &got));
        ASSERT_OK(detect_engine_feed(e, "t", ok, strlen(ok), 0, collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        detect_engine_get_stats(e, &st);
        ASSERT_EQ(st.match_errors, DETECT_RULE_LIMIT_HITS);
        ASSERT_EQ(st.rules_disabled, 1);
        ASSERT_EQ(got.n, 1);
        ASSERT_STRSTR(got.items[0]->title, "something else broke");
        collected_done(&got);

        /* A new engine (what a reload makes) starts with a fresh budget. */
        detect_engine_free(TAKE_PTR(e));
        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        ASSERT_OK(detect_engine_feed(e, "s", evil_match, strlen(evil_match), 0, collect_cb, &got));
        ASSERT_OK(detect_engine_flush(e, NULL, UINT64_MAX, collect_cb, &got));
        ASSERT_EQ(got.n, 1);
        collected_done(&got);
        return 0;
}

TEST(rule_that_rarely_hits_limits_keeps_working) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = rules_with_evil(DETECT_RULES_NO_BUILTIN);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        const char *plain = "nothing to see here";
        DetectStats st;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        /* Fewer than DETECT_RULE_LIMIT_HITS hits in each window of tries. */
        for (int w = 0; w < 4; w++) {
                for (int i = 0; i < DETECT_RULE_LIMIT_HITS - 1; i++)
                        ASSERT_OK(detect_engine_feed(e, "s", evil_line, strlen(evil_line), 0,
                                                     NULL, NULL));
                for (int i = 0; i < DETECT_RULE_LIMIT_WINDOW; i++)
                        ASSERT_OK(detect_engine_feed(e, "s", plain, strlen(plain), 0, NULL, NULL));
        }
        detect_engine_get_stats(e, &st);
        ASSERT_EQ(st.match_errors, 4 * (DETECT_RULE_LIMIT_HITS - 1));
        ASSERT_EQ(st.rules_disabled, 0);
        return 0;
}

TEST(bad_options_are_rejected) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        DetectOptions o = { .max_line_length = 8 };
        DetectEngine *e = NULL;

        ASSERT_ERROR(detect_engine_new(rules, &o, &e), EINVAL);
        o = (DetectOptions) { .max_line_length = 1000, .max_block_bytes = 100 };
        ASSERT_ERROR(detect_engine_new(rules, &o, &e), EINVAL);
        ASSERT_TRUE(e == NULL);
        return 0;
}
