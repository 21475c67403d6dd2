#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes a realistic, seeded build log for the detection benchmark.

The log interleaves what an app factory's build host prints all day: Flutter
and Gradle builds, pub and pip installs, Python workers logging with
timestamps, CocoaPods and Xcode, test runs; about one line in 400 belongs to
a failure (tracebacks, Gradle FAILURE reports, pub conflicts, pip errors,
API errors...). Same seed and size, same bytes.

usage: gen-log.py OUTPUT [--size-mb N] [--seed S]
"""
import argparse
import random

PKGS = ["http", "provider", "firebase_core", "firebase_auth", "intl", "path_provider", "shared_preferences",
        "go_router", "dio", "riverpod", "flutter_local_notifications", "cached_network_image", "url_launcher"]
PYPKGS = ["requests", "schedule", "numpy", "pandas", "PyYAML", "google-generativeai", "notion-client",
          "slack-sdk", "python-dotenv", "Pillow", "urllib3", "certifi", "idna", "charset-normalizer"]
APPS = ["shop", "factory_app", "recipes", "fitness_tracker", "news_reader", "chat_bot"]
TASKS = ["preBuild", "preDebugBuild", "compileFlutterBuildDebug", "mergeDebugResources", "processDebugManifest",
         "compileDebugKotlin", "compileDebugJavaWithJavac", "dexBuilderDebug", "mergeDebugNativeLibs",
         "packageDebug", "assembleDebug", "checkDebugAarMetadata", "generateDebugBuildConfig"]


def benign(r):
    k = r.random()
    app = r.choice(APPS)
    if k < 0.22:
        return "> Task :app:%s%s" % (r.choice(TASKS), r.choice(["", " UP-TO-DATE", " NO-SOURCE", " FROM-CACHE"]))
    if k < 0.36:
        return "%04d-%02d-%02d %02d:%02d:%02d,%03d %s %s.worker: processed batch %d (%d items) in %.2fs" % (
            2024, 9, r.randint(1, 30), r.randint(0, 23), r.randint(0, 59), r.randint(0, 59), r.randint(0, 999),
            r.choice(["INFO ", "DEBUG", "INFO "]), app, r.randint(1, 99999), r.randint(1, 500), r.random() * 9)
    if k < 0.45:
        p = r.choice(PYPKGS)
        return r.choice([
            "Collecting %s==%d.%d.%d" % (p, r.randint(0, 3), r.randint(0, 30), r.randint(0, 9)),
            "  Using cached %s-%d.%d.%d-py3-none-any.whl (%d kB)" % (p, r.randint(0, 3), r.randint(0, 30),
                                                                  r.randint(0, 9), r.randint(5, 900)),
            "Requirement already satisfied: %s in ./.venv/lib/python3.11/site-packages (%d.%d)" % (
                p, r.randint(0, 3), r.randint(0, 30)),
            "Successfully installed %s-%d.%d.%d" % (p, r.randint(0, 3), r.randint(0, 30), r.randint(0, 9)),
        ])
    if k < 0.55:
        return r.choice([
            "Resolving dependencies...",
            "Got dependencies!",
            "  %s %d.%d.%d (%d.%d.%d available)" % (r.choice(PKGS), r.randint(0, 3), r.randint(0, 20),
                                                   r.randint(0, 9), r.randint(0, 4), r.randint(0, 20),
                                                   r.randint(0, 9)),
            "Running Gradle task 'assembleDebug'...",
            "Launching lib/main.dart on sdk gphone64 x86 64 in debug mode...",
            "Syncing files to device sdk gphone64 x86 64...",
            "Flutter run key commands.",
            "I/flutter (%5d): [%s] fetched %d records from https://api.example.com/v1/items?page=%d" % (
                r.randint(1000, 30000), app, r.randint(0, 200), r.randint(1, 50)),
            "D/EGL_emulation(%5d): app_time_stats: avg=%.2fms min=%.2fms max=%.2fms count=%d" % (
                r.randint(1000, 30000), r.random() * 30, r.random() * 5, r.random() * 90, r.randint(10, 60)),
            "Font asset \"MaterialIcons-Regular.otf\" was tree-shaken, reducing it from 1645184 to %d bytes." % (
                r.randint(1000, 9000)),
            "\u2713 Built build/app/outputs/flutter-apk/app-release.apk (%.1fMB)." % (r.random() * 40),
        ])
    if k < 0.62:
        return r.choice([
            "Download https://dl.google.com/dl/android/maven2/com/android/tools/build/gradle/8.1.%d/gradle-8.1.%d.pom" % (
                r.randint(0, 4), r.randint(0, 4)),
            "Note: Some input files use or override a deprecated API.",
            "Note: Recompile with -Xlint:deprecation for details.",
            "warning: [options] source value 8 is obsolete and will be removed in a future release",
            "w: file:///home/ci/apps/%s/android/app/src/main/kotlin/MainActivity.kt:%d:5 'onBackPressed(): Unit' is deprecated." % (
                app, r.randint(1, 90)),
            "BUILD SUCCESSFUL in %ds" % r.randint(2, 300),
            "%d actionable tasks: %d executed, %d up-to-date" % (r.randint(30, 300), r.randint(1, 30), r.randint(1, 200)),
        ])
    if k < 0.70:
        return r.choice([
            "Analyzing dependencies",
            "Downloading dependencies",
            "Installing Firebase%s (10.%d.0)" % (r.choice(["", "Core", "Auth", "Messaging"]), r.randint(0, 25)),
            "Generating Pods project",
            "Pod installation complete! There are %d dependencies from the Podfile and %d total pods installed." % (
                r.randint(3, 20), r.randint(10, 60)),
            "Running Xcode build...",
            "Xcode build done.                                           %.1fs" % (r.random() * 200),
            "note: Building targets in dependency order",
        ])
    if k < 0.78:
        return "%02d:%02d +%d: %s test %d passed" % (r.randint(0, 9), r.randint(0, 59), r.randint(0, 400),
                                                    r.choice(["widget", "unit", "golden", "integration"]),
                                                    r.randint(1, 999))
    if k < 0.83:
        return ""
    if k < 0.92:
        return "    at com.example.%s.%s(%s.java:%d)" % (app, r.choice(["load", "save", "run", "apply"]),
                                                        r.choice(["Repo", "Service", "Worker"]), r.randint(1, 900))
    return "[%s] %s %s: %s" % (app, r.choice(["GET", "POST"]), "/v1/" + r.choice(["items", "orders", "users"]),
                               r.choice(["200 OK", "201 Created", "204 No Content", "304 Not Modified"]))


FAILURES = [
    """Traceback (most recent call last):
  File "/srv/apps/{app}/app/main.py", line {n}, in <module>
    import {mod}
ModuleNotFoundError: No module named '{mod}'""",
    """Traceback (most recent call last):
  File "/srv/apps/{app}/app/worker.py", line {n}, in run
    total = row["count"] + extra
            ~~~^^^^^^^^^
KeyError: 'count'""",
    """FAILURE: Build failed with an exception.

* What went wrong:
Execution failed for task ':app:{task}'.
> Process 'command '/opt/flutter/bin/flutter'' finished with non-zero exit value 1

* Try:
> Run with --stacktrace option to get the stack trace.

* Get more help at https://help.gradle.org

BUILD FAILED in {n}s""",
    """Because {app} depends on {pkg} ^{n}.0.0 and firebase_core >=2.0.0 depends on {pkg} ^{m}.0.0, firebase_core >=2.0.0 is forbidden.
So, because {app} depends on firebase_core ^2.4.0, version solving failed.""",
    """lib/screens/home.dart:{n}:{m}: Error: Expected ';' after this.
    final items = await repo.load()
                                  ^""",
    """ERROR: Could not find a version that satisfies the requirement {py}=={n}.99 (from versions: 1.0, 1.1)
ERROR: No matching distribution found for {py}=={n}.99""",
    "google.api_core.exceptions.InvalidArgument: 400 API key not valid. Please pass a valid API key.",
    "SocketException: Failed host lookup: 'pub.dev' (OS Error: Temporary failure in name resolution, errno = -3)",
    "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device",
    "[!] CocoaPods could not find compatible versions for pod \"Firebase/Messaging\":\n  In Podfile:\n    firebase_messaging was resolved to 14.{n}.0",
    "Exception: Gradle task assembleDebug failed with exit code 1",
    "Failed to send crash report, ignoring",
]
MODS = ["yaml", "cv2", "requests", "PIL", "bs4", "dotenv", "sklearn", "schedule"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20240921)
    a = ap.parse_args()
    r = random.Random(a.seed)
    limit = a.size_mb * 1024 * 1024
    written = 0
    with open(a.output, "w", encoding="utf-8", newline="\n") as f:
        buf = []
        while written < limit:
            if r.random() < 0.0025:
                s = r.choice(FAILURES).format(app=r.choice(APPS), n=r.randint(1, 300), m=r.randint(1, 80),
                                              task=r.choice(TASKS), mod=r.choice(MODS), pkg=r.choice(PKGS),
                                              py=r.choice(PYPKGS))
            else:
                s = benign(r)
            buf.append(s)
            written += len(s.encode()) + 1
            if len(buf) >= 4096:
                f.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            f.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
