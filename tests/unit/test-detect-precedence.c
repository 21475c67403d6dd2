/* SPDX-License-Identifier: MIT */
/* Root cause over headline, and no wrong automatic fix, with the shipped
 * rules. Table-driven: each row is a failure as tools print it (shapes taken
 * from public issue threads) and the one reading the rules must give. The
 * near-miss rows are failures that look like a fixable one but are not:
 * each class of them has its row, so a rule change that brings back a wrong
 * fix fails here. */
#include "test-detect-util.h"
#include "detect/engine.h"
#include "tests.h"

typedef struct Case {
        const char *name;
        const char *text;
        const char *category;                   /* of the first finding; NULL: no failure */
        const char *title;                      /* substring of its title */
        const char *fix;                        /* "none": no fix at all */
        const char *param, *value;              /* optional parameter to check */
        size_t n;                               /* findings expected; 0: any */
} Case;

static const Case cases[] = {
        /* ---- root cause over headline: the cause decides, the headline titles ---- */
        { "gradle report over a full disk",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:mergeDebugNativeLibs'.\n"
          "> A failure occurred while executing com.android.build.gradle.internal.tasks.MergeNativeLibsTask$MergeNativeLibsTaskWorkAction\n"
          "   > java.io.IOException: No space left on device\n"
          "\n"
          "* Try:\n"
          "> Run with --stacktrace option to get the stack trace.\n"
          "\n"
          "* Get more help at https://help.gradle.org\n"
          "\n"
          "BUILD FAILED in 41s\n",
          "disk_full", "Execution failed for task ':app:mergeDebugNativeLibs'", "none" },
        { "gradle report over java heap space",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:packageDebug'.\n"
          "> Java heap space\n"
          "\n"
          "BUILD FAILED in 1m 41s\n",
          "out_of_memory", "Execution failed for task ':app:packageDebug'", "none" },
        { "daemon expiring before the gradle report",
          "Expiring Daemon because JVM heap space is exhausted\n"
          "Daemon will be stopped at the end of the build after running out of JVM memory\n"
          "\n"
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:compileFlutterBuildRelease'.\n"
          "> Could not resolve all files for configuration ':app:releaseRuntimeClasspath'.\n"
          "\n"
          "BUILD FAILED in 2m 3s\n",
          "out_of_memory", "Expiring Daemon", "none" },
        { "TLS interception under an artifact resolution failure",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Could not resolve all files for configuration ':classpath'.\n"
          "> Could not resolve com.android.tools.build:gradle:7.3.0.\n"
          "  Required by:\n"
          "      project :\n"
          "   > Could not resolve com.android.tools.build:gradle:7.3.0.\n"
          "      > Could not get resource 'https://dl.google.com/dl/android/maven2/com/android/tools/build/gradle/7.3.0/gradle-7.3.0.pom'.\n"
          "         > Could not GET 'https://dl.google.com/dl/android/maven2/com/android/tools/build/gradle/7.3.0/gradle-7.3.0.pom'.\n"
          "            > PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target\n"
          "\n"
          "BUILD FAILED in 5s\n",
          "network", "FAILURE: Build failed with an exception", "none" },
        { "connect timeout under an artifact resolution failure",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:checkDebugAarMetadata'.\n"
          "> Could not resolve all files for configuration ':app:debugRuntimeClasspath'.\n"
          "   > Could not resolve androidx.core:core:1.9.0.\n"
          "      > Could not get resource 'https://dl.google.com/dl/android/maven2/androidx/core/core/1.9.0/core-1.9.0.pom'.\n"
          "         > Connect to dl.google.com:443 [dl.google.com/142.250.4.136] failed: Connect timed out\n"
          "\n"
          "BUILD FAILED in 1m 20s\n",
          "network", "Execution failed for task ':app:checkDebugAarMetadata'", "none" },
        { "permission error under a gradle report",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:processDebugResources'.\n"
          "> java.nio.file.AccessDeniedException: /home/dev/app/build/app/intermediates/res/debug\n"
          "\n"
          "BUILD FAILED in 9s\n",
          "permission", "Execution failed for task ':app:processDebugResources'", "none" },
        { "pub cannot reach its server",
          "Resolving dependencies...\n"
          "Got socket error trying to find package cupertino_icons at https://pub.dev.\n"
          "pub get failed (server unavailable) -- attempting retry 1 in 1 second...\n",
          "network", "Got socket error", "none" },
        { "pub host lookup fails",
          "Resolving dependencies...\n"
          "ClientException with SocketException: Failed host lookup: 'pub.dev' (OS Error: nodename nor servname provided, or not known, errno = 8), uri=https://pub.dev/api/packages/http\n"
          "pub get failed\n"
          "exit code 69\n",
          "network", "Failed host lookup", "none" },

        { "cause printed right after the gradle report (flutter -v)",
          "[        ] FAILURE: Build failed with an exception.\n"
          "[        ] * What went wrong:\n"
          "[        ] Could not dispatch a message to the daemon.\n"
          "[   +1 ms] * Try:\n"
          "[        ] Run with --stacktrace option to get the stack trace.\n"
          "[   +1 ms] * Get more help at https://help.gradle.org\n"
          "[   +1 ms] Exhausted heap space, trying to allocate 618320 bytes.\n"
          "[        ] ../../third_party/dart/runtime/vm/object.cc: 2585: error: Out of memory.\n"
          "[ +512 ms] Running Gradle task 'assembleDebug'... (completed in 2,893ms)\n",
          "out_of_memory", "FAILURE: Build failed with an exception", "none", NULL, NULL, 1 },
        { "cause printed right after pub's headline",
          "Running \"flutter pub get\" in app...\n"
          "pub get failed\n"
          "Failed host lookup: 'pub.dev'\n",
          "network", "pub get failed", "none", NULL, NULL, 1 },
        { "a headline with no cause after it is reported on its own",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:compileDebugKotlin'.\n"
          "\n"
          "BUILD FAILED in 2s\n"
          "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\neleven\n"
          "Failed host lookup: 'pub.dev'\n",
          "flutter_build", "Execution failed for task ':app:compileDebugKotlin'", "none", NULL, NULL, 2 },

        /* ---- near misses: looks like a fixable failure, is not ---- */
        { "gradle cannot resolve a maven artifact: no pub fix",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Could not resolve all artifacts for configuration ':classpath'.\n"
          "> Could not resolve com.android.tools.build:gradle:8.1.0.\n"
          "  Required by:\n"
          "      project :\n"
          "   > No matching variant of com.android.tools.build:gradle:8.1.0 was found.\n"
          "\n"
          "BUILD FAILED in 2s\n",
          "flutter_dependency", "Could not resolve all artifacts", "none",
          "configuration", ":classpath" },
        { "gradle plugin not found: no pub fix",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* Where:\n"
          "Build file '/home/dev/app/android/build.gradle' line: 2\n"
          "\n"
          "* What went wrong:\n"
          "Plugin [id: 'com.google.gms.google-services', version: '4.4.0', apply: false] was not found in any of the following sources:\n"
          "\n"
          "BUILD FAILED in 1s\n",
          "flutter_dependency", "Plugin [id: 'com.google.gms.google-services'", "none" },
        { "error inside a package in the pub cache is no syntax error of the app",
          "../../.pub-cache/hosted/pub.dev/build_resolvers-2.0.9/lib/src/resolver.dart:442:13: Error: Method not found: 'buildSdkSummary2'.\n"
          "      await buildSdkSummary2(\n"
          "            ^^^^^^^^^^^^^^^^\n",
          "flutter_version_conflict", "build_resolvers-2.0.9", "none", "package", "build_resolvers" },
        { "Windows pub cache",
          "C:\\Users\\dev\\AppData\\Local\\Pub\\Cache\\hosted\\pub.dev\\win32-2.6.1\\lib\\src\\guid.dart:32:9: Error: Type 'UnmodifiableUint8ListView' not found.\n"
          "  final UnmodifiableUint8ListView bytes;\n"
          "        ^^^^^^^^^^^^^^^^^^^^^^^^^^\n",
          "flutter_version_conflict", "win32-2.6.1", "none", "package", "win32" },
        { "missing import inside a cached package is no pub get problem",
          "../../.pub-cache/hosted/pub.dev/url_launcher_web-2.0.0/lib/url_launcher_web.dart:8:8: Error: Not found: 'package:flutter_web_plugins/flutter_web_plugins.dart'\n"
          "import 'package:flutter_web_plugins/flutter_web_plugins.dart';\n"
          "       ^\n",
          "flutter_version_conflict", "url_launcher_web", "none" },
        { "error inside the Flutter SDK",
          "../../flutter/packages/flutter/lib/src/material/about.dart:554:24: Error: The getter 'TextAlign' isn't defined for the class '_AboutProgram'.\n"
          " - '_AboutProgram' is from 'package:flutter/src/material/about.dart' ('../../flutter/packages/flutter/lib/src/material/about.dart').\n",
          "flutter_version_conflict", "about.dart", "none" },
        { "the app's own package in a monorepo is still the app's code",
          "packages/flutter_app/lib/main.dart:3:5: Error: Expected ';' after this.\n"
          "  int x = 1\n"
          "    ^\n",
          "dart_syntax", "Expected ';'", "none" },
        { "a catch-all proposes no fix",
          "Running \"flutter pub get\" in app...\n"
          "pub get failed\n",
          "flutter_dependency", "pub get failed", "none" },
        { "two readings with different fixes: neither",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:compileFlutterBuildDebug'.\n"
          "> Stale file '/home/dev/app/build/app/intermediates/merged.dir/values/values.xml' is located outside of the allowed root paths.\n"
          "  The pubspec.lock file has changed since the .dart_tool/package_config.json file was generated, please run \"flutter pub get\" again.\n"
          "\n"
          "BUILD FAILED in 3s\n",
          "flutter_dependency", "pubspec.lock file has changed", "none" },

        /* ---- pub upgrade only for conflicts among the app's own packages ---- */
        { "a conflict with a version the Flutter SDK pins: no pub upgrade",
          "Because every version of flutter_test from sdk depends on path 1.8.0 and app depends on path 1.7.0, flutter_test from sdk is forbidden.\n"
          "So, because app depends on flutter_test any from sdk, version solving failed.\n",
          "flutter_version_conflict", "from sdk", "none" },
        { "the SDK pin in flutter -v solver lines: no pub upgrade",
          "[        ] SLVR:   conflict: every version of flutter_test from sdk depends on test_api 0.2.5\n"
          "[        ] SLVR:   ! thus: version solving failed\n",
          "flutter_version_conflict", "from sdk", "none" },
        { "plain pub on a Flutter app: no pub upgrade",
          "Because app requires the Flutter SDK, version solving failed.\n"
          "\n"
          "Flutter users should run `flutter pub get` instead of `dart pub get`.\n",
          "flutter_dependency", "Flutter SDK", "none" },
        { "versions missing from the index: no pub upgrade",
          "Because app depends on foo ^9.0.0 which doesn't match any versions, version solving failed.\n",
          "flutter_version_conflict", "doesn't match any versions", "none" },

        { "pip itself missing: pip install cannot run",
          "Traceback (most recent call last):\n"
          "  File \"/usr/bin/pip3\", line 9, in <module>\n"
          "    from pip import main\n"
          "ModuleNotFoundError: No module named 'pip'\n",
          "python_missing_package", "pip", "none" },
        { "a standard-library module the OS split off (venv): no pip install",
          "ModuleNotFoundError: No module named 'venv'\n",
          "python_missing_package", "venv", "none" },

        /* ---- pub get only when the app's packages were never fetched ---- */
        { "the app's own package name does not resolve: no pub get",
          "lib/main.dart:1:8: Error: Not found: 'package:my_app/models/user.dart'\n"
          "import 'package:my_app/models/user.dart';\n"
          "       ^\n",
          "flutter_dependency", "Not found: 'package:my_app/", "none" },
        { "the Flutter SDK's own tool misses its packages: no pub get",
          "Error: Could not resolve the package 'build' in 'package:build/build.dart'.\n"
          "flutter/packages/flutter_tools/lib/src/web_compilation_delegate.dart:9:8: Error: Not found: 'package:build/build.dart'\n",
          "flutter_dependency", "build", "none" },

        /* ---- flutter clean only for the project's own build outputs ---- */
        { "the global Gradle cache is not the project's: no flutter clean",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Could not read workspace metadata from /home/dev/.gradle/caches/transforms-3/0a1b/metadata.bin\n"
          "\n"
          "BUILD FAILED in 3s\n",
          "flutter_build_cache", "Could not read workspace metadata", "none" },
        { "the tool's or engine's kernel does not load: no flutter clean",
          "Flutter device daemon #1: process exited during startup. Exit code: 253, stderr: Can't load Kernel binary: Invalid kernel binary format version.\n",
          "flutter_build_cache", "Can't load Kernel binary", "none" },
        { "flutter clean itself fails: no flutter clean",
          "Deleting 'build/'.\n"
          "FileSystemException: Deletion failed, path = 'build' (OS Error: Directory not empty, errno = 39)\n",
          "flutter_build_cache", "Deletion failed", "none" },

        /* ---- pip install only for a module that is a distribution ---- */
        { "a module of the project's own directory: no pip install",
          "Traceback (most recent call last):\n"
          "  File \"/home/dev/image_tools/image_tools/demo.py\", line 3, in <module>\n"
          "    from image_tools.io import load\n"
          "ModuleNotFoundError: No module named 'image_tools.io'\n",
          "python_missing_package", "No module named 'image_tools.io'", "none", "module", "image_tools" },
        { "a module of a downloaded archive of the project: no pip install",
          "Traceback (most recent call last):\n"
          "  File \"C:\\Users\\dev\\Downloads\\yolo_utils-master\\detect.py\", line 3, in <module>\n"
          "    from yolo_utils import boxes\n"
          "ModuleNotFoundError: No module named 'yolo_utils'\n",
          "python_missing_package", "yolo_utils", "none" },
        { "a project layout's module name: no pip install",
          "Traceback (most recent call last):\n"
          "  File \"train.py\", line 2, in <module>\n"
          "    from src.data import loader\n"
          "ModuleNotFoundError: No module named 'src'\n",
          "python_missing_package", "src", "none" },

        { "a capitalised layout folder of the project: no pip install",
          "ModuleNotFoundError: No module named 'Source'\n",
          "python_missing_package", "Source", "none" },
        { "an indented traceback of the project's own package: no pip install",
          "  Traceback (most recent call last):\n"
          "    File \"/home/dev/tool/run.py\", line 3, in <module>\n"
          "      from src.cli import main\n"
          "  ModuleNotFoundError: No module named 'src'\n",
          "python_missing_package", "src", "none" },
        { "docker build's step timer before a project layout's name: no pip install",
          "0.412 ModuleNotFoundError: No module named 'src'\n",
          "python_missing_package", "src", "none" },
        { "docker build's step timer before a well-known distribution keeps pip install",
          "0.142 ModuleNotFoundError: No module named 'setuptools'\n",
          "python_missing_package", "setuptools", "pip_install:setuptools" },
        { "a ModuleNotFoundError whose message a host redacted names no module: no pip install",
          "ModuleNotFoundError: This app has encountered an error. The original error message is redacted to prevent data leaks.\n",
          "python_missing_package", "redacted", "none" },
        { "a private submodule of an installed package: no pip install",
          "ModuleNotFoundError: No module named 'torch._six'\n",
          "python_missing_package", "torch._six", "none" },
        { "a standard-library module a newer Python removed: no pip install",
          "ModuleNotFoundError: No module named 'imp'\n",
          "python_missing_package", "imp", "none" },
        { "a Python 2 name of a renamed standard-library module: no pip install",
          "ImportError: No module named urllib2\n",
          "python_missing_package", "urllib2", "none" },
        { "the message quoted in a sentence keeps pip install for a well-known distribution",
          "It fails with \"ModuleNotFoundError: No module named 'requests'\" every time\n",
          "python_missing_package", "requests", "pip_install:requests" },
        { "the message alone, as a loader prints str() of it: no pip install",
          "No module named 'requests'\n",
          "python_missing_package", "requests", "none" },
        { "a console script whose package this interpreter does not see: no pip install",
          "Traceback (most recent call last):\n"
          "  File \"/usr/local/bin/flask\", line 5, in <module>\n"
          "    from flask.cli import main\n"
          "ModuleNotFoundError: No module named 'flask'\n",
          "python_missing_package", "flask", "none" },
        { "python -m on a name no module has, after a sentence: no pip install",
          "I get: /usr/bin/python3: No module named pyinstaller\n",
          "python_missing_package", "pyinstaller", "none" },

        /* ---- pub get only when the app's packages were never fetched ---- */
        { "only the SDK's flutter package unresolved: the SDK is not seen, no pub get",
          "Target of URI doesn't exist: 'package:flutter/material.dart'.\n",
          "flutter_dependency", "package:flutter/material.dart", "none" },
        { "one package unresolved reads like one not declared: no pub get",
          "Target of URI doesn't exist: 'package:package_info/package_info.dart'.\n"
          "Try creating the file referenced by the URI, or try using a URI for a file that does exist.\n",
          "flutter_dependency", "package_info", "none" },
        { "plain pub without the Flutter SDK, pub's message wrapped: no pub fix",
          "Resolving dependencies...\n"
          "Because secondapp depends on flutter_test any from sdk which doesn't exist (the Flutter SDK is not\n"
          "  available), version solving failed.\n",
          "flutter_dependency", "", "none" },
        { "git missing for pub's git dependencies: no pub fix",
          "Cannot find a Git executable.\n"
          "Please ensure Git is correctly installed.\n"
          "pub get failed (1; Please ensure Git is correctly installed.)\n",
          "flutter_dependency", "", "none" },

        { "no pubspec.yaml where pub looks: no pub get",
          "Running \"flutter pub get\" in app...\n"
          "Could not find a file named \"pubspec.yaml\" in \"/home/dev/app/packages/ui_kit\".\n"
          "pub get failed (66)\n",
          "flutter_dependency", "pubspec.yaml", "none" },

        { "Gradle's workspace metadata in a project's .gradle/<version>: no flutter clean",
          "FAILURE: Build failed with an exception.\n"
          "* What went wrong:\n"
          "java.io.UncheckedIOException: Could not read workspace metadata from /home/dev/app/android/.gradle/8.6/dependencies-accessors/6c0c05/metadata.bin\n",
          "flutter_build_cache", "", "none" },
        { "Xcode's stale-file warning under an Xcode failure: no flutter clean",
          "Failed to build iOS app\n"
          "Error output from Xcode build:\n"
          "\xe2\x86\xb3\n"
          "    ** BUILD FAILED **\n"
          "\n"
          "Xcode's output:\n"
          "\xe2\x86\xb3\n"
          "    warning: Stale file '/Users/dev/Library/Developer/Xcode/DerivedData/Runner-abc/Build/Products/Debug/a.png' is located outside of the allowed root paths.\n"
          "    note: Using new build system\n",
          "ios_pods", "", "none" },

        /* ---- root cause over headline, more shapes ---- */
        { "dependencies without null safety under compileFlutterBuildDebug: no build fix",
          "Error: Cannot run with sound null safety, because the following dependencies\n"
          "don't support null safety:\n"
          "\n"
          " - package:simple_animations\n"
          "\n"
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:compileFlutterBuildDebug'.\n"
          "> Process 'command 'C:\\flutter\\bin\\flutter.bat'' finished with non-zero exit value 1\n"
          "\n"
          "BUILD FAILED in 1m 31s\n",
          "flutter_version_conflict", "sound null safety", "none" },
        { "gradlew without its execute bit is a permission problem, not a build failure",
          "ProcessException: ProcessException: Permission denied\n"
          "  Command: /home/dev/app/android/gradlew -v\n",
          "permission", "Permission denied", "none" },
        { "an Anthropic API overloaded (529)",
          "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n",
          "api_unavailable", "529", "none" },
        { "a Google API's own 500 (INTERNAL)",
          "Error: [500 Internal Server Error] An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting\n",
          "api_unavailable", "internal error", "none" },

        { "pytest's margin before a missing distribution keeps pip install",
          "E   ModuleNotFoundError: No module named 'yaml'\n",
          "python_missing_package", "yaml", "pip_install:PyYAML" },
        { "pytest's margin before a syntax error",
          "E     File \"/home/dev/app/tests/test_io.py\", line 7\n"
          "E       print 'x'\n"
          "E   SyntaxError: Missing parentheses in call to 'print'\n",
          "python_syntax", "SyntaxError", "none" },
        { "an exception as IPython prints it",
          "---------------------------------------------------------------------------\n"
          "KeyError                                  Traceback (most recent call last)\n"
          "<ipython-input-6-e0fb424d12b5> in <module>()\n",
          "python_runtime", "KeyError", "none" },

        { "Swift cannot find the Flutter module: an Xcode build failure, no fix",
          "/Users/dev/app/ios/Runner/AppDelegate.swift:2:8: error: No such module 'Flutter'\n",
          "ios_pods", "No such module", "none" },
        { "a Dart front-end message without its file",
          "Error: The method 'fromJson' isn't defined for the class 'Account'.\n",
          "dart_syntax", "fromJson", "none" },
        { "Gradle over a Java version mismatch: a build failure, no flutter clean",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Could not open cp_settings generic class cache for settings file '/home/dev/app/android/settings.gradle' (/home/dev/.gradle/caches/7.4/scripts/4u8ftv).\n"
          "> BUG! exception in phase 'semantic analysis' in source unit '_BuildScript_' Unsupported class file major version 65\n"
          "\n"
          "BUILD FAILED in 1s\n",
          "flutter_build", "", "none" },

        { "pip refused by a localized EACCES is a permission problem, not a resolution one",
          "ERROR: Could not install packages due to an OSError: [Errno 13] Permiso denegado: 'RECORD'\n"
          "Consider using the `--user` option or check the permissions.\n",
          "permission", "", "none" },
        { "a bare exception line without its traceback",
          "TypeError: 'NoneType' object is not subscriptable\n",
          "python_runtime", "TypeError", "none" },

        { "the front end's 'Compiler failed on' over Gradle's headline: the code, not the build",
          "Compiler failed on /home/dev/app/lib/main.dart\n"
          "Running Gradle task 'assembleDebug'... Done                        10.8s\n"
          "Gradle task assembleDebug failed with exit code 1\n",
          "dart_syntax", "Compiler failed on", "none" },

        /* ---- controls: the fixable twins keep their fix ---- */
        { "packages never fetched keep pub get",
          "Error: Could not resolve the package 'flutter' in 'package:flutter/material.dart'.\n"
          "Error: Could not resolve the package 'http' in 'package:http/http.dart'.\n",
          "flutter_dependency", "package 'flutter'", "flutter_pub_get" },
        { "pubspec.lock newer than the package config keeps pub get",
          "The pubspec.lock file has changed since the .dart_tool/package_config.json file was generated, please run \"flutter pub get\" again.\n",
          "flutter_dependency", "pubspec.lock", "flutter_pub_get" },
        { "a conflict among the app's own constraints: no pub upgrade (it keeps the same constraints)",
          "Because app depends on foo ^2.0.0 which depends on bar ^3.0.0, bar ^3.0.0 is required.\n"
          "So, because app depends on bar ^2.1.0, version solving failed.\n",
          "flutter_version_conflict", "version solving failed", "none" },
        { "pub's own suggestion to change a constraint: no pub upgrade",
          "Because example depends on chat_ui_kit from path which depends on intl ^0.18.0, intl ^0.18.0 is required.\n"
          "So, because example depends on intl ^0.17.0, version solving failed.\n"
          "\n"
          "You can try the following suggestion to make the pubspec resolve:\n"
          "* Try upgrading your constraint on intl: flutter pub add dev:intl:^0.18.1\n",
          "flutter_version_conflict", "version solving failed", "none" },
        { "stale project build outputs keep flutter clean",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "A problem was found with the configuration of task ':app:mergeReleaseResources'.\n"
          "  - Stale file '/home/dev/app/build/app/intermediates/merged.dir/values/values.xml' is located outside of the allowed root paths.\n"
          "\n"
          "BUILD FAILED in 9s\n",
          "flutter_build_cache", "Stale file", "flutter_clean" },
        { "the project's kernel from the frontend keeps flutter clean",
          "Error: Invalid kernel binary format version.\n",
          "flutter_build_cache", "Invalid kernel binary", "flutter_clean" },
        { "a distribution imported from a project frame keeps pip install",
          "Traceback (most recent call last):\n"
          "  File \"/home/dev/vision/app/camera.py\", line 24, in <module>\n"
          "    import cv2\n"
          "ModuleNotFoundError: No module named 'cv2'\n",
          "python_missing_package", "cv2", "pip_install:opencv-python" },
        /* ---- near misses of flutter pub get and flutter clean (issue 12, second corpus) ---- */
        { "the SDK's own flutter_tools without its package config is not the app's pub get",
          "/opt/hostedtoolcache/flutter/3.1.0/x64/packages/flutter_tools/.dart_tool/package_config.json does not exist.Did you run this command from the same directory as your pubspec.yaml file?\n",
          "flutter_dependency", "flutter_tools", "none" },
        { "pub asking whether it ran in the right directory proposes nothing",
          "/work/app/.packages does not exist.\n"
          "Did you run \"flutter pub get\" in this directory?\n",
          "flutter_dependency", "Did you run", "none" },
        { "pub naming the missing package config keeps pub get",
          "No .dart_tool/package_config.json file found, please run \"pub get\" first.\n",
          "flutter_dependency", "package_config.json", "flutter_pub_get" },
        { "a build that cannot delete its own outputs is busy files, not permissions",
          "FileSystemException: FileSystemException: Cannot delete file, path = 'C:\\dev\\app\\build\\app\\intermediates\\flutter\\debug\\flutter_assets\\a.png' (OS Error: Access is denied.\n"
          ", errno = 5)\n",
          "flutter_build_cache", "Cannot delete file", "none" },
        { "the build's own app.dill gone mid-build is no flutter clean",
          "PathNotFoundException: Cannot open file, path = '/home/dev/app/.dart_tool/flutter_build/0123abcd/app.dill' (OS Error: No such file or directory, errno = 2)\n",
          "flutter_build_cache", "app.dill", "none" },
        { "a pub-cache package's error with the location on its own line is not the user's syntax",
          "Target dart2js failed: Exception: /root/.pub-cache/hosted/pub.dev/auto_route-2.4.2/lib/src/provider.dart:28:8:\n"
          "Error: The method 'A.report' doesn't have the named parameter 'type' of overridden method 'B.report'.\n",
          "flutter_version_conflict", "auto_route", "none" },
        { "the user's Dart error with the location on its own line",
          "Target dart2js failed: Exception: lib/main.dart:3:8:\n"
          "Error: Error when reading 'lib/src/globals.dart': Error reading 'lib/src/globals.dart'  (No such file or directory)\n",
          "dart_syntax", "lib/main.dart:3:8:", "none" },
        { "a javac error in Chinese is a native build error",
          "/home/u/app/android/app/src/main/java/io/flutter/plugins/GeneratedPluginRegistrant.java:5: \xe9\x94\x99\xe8\xaf\xaf: \xe6\x89\xbe\xe4\xb8\x8d\xe5\x88\xb0\xe7\xac\xa6\xe5\x8f\xb7\n",
          "flutter_build", "GeneratedPluginRegistrant.java:5", "none" },
        { "tensorflow's ResourceExhaustedError over an OOM is memory, not an API quota",
          "ResourceExhaustedError: 2 root error(s) found.\n"
          "  (0) Resource exhausted: OOM when allocating tensor with shape[16,112,112,147] and type float on /job:localhost/replica:0/task:0/device:GPU:0 by allocator GPU_0_bfc\n",
          "out_of_memory", "", "none" },
        { "a pod whose git clone lost the connection is the network, not the pod",
          "[!] Error installing BoringSSL-GRPC\n"
          "[!] /usr/bin/git clone https://github.com/google/boringssl.git /tmp/d20200212-7955-k20ky --template=\n"
          "\n"
          "Cloning into '/tmp/d20200212-7955-k20ky'...\n"
          "error: RPC failed; curl 18 transfer closed with outstanding read data remaining\n"
          "fatal: the remote end hung up unexpectedly\n",
          "network", "", "none" },
        { "gradle's artifact download over a corrupted TLS record is the network",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':compileJava'.\n"
          "> Could not resolve all files for configuration ':compileClasspath'.\n"
          "   > Could not download testng-6.13.1.jar (org.testng:testng:6.13.1)\n"
          "      > Could not get resource 'https://repo.maven.apache.org/maven2/org/testng/testng/6.13.1/testng-6.13.1.jar'.\n"
          "         > Tag mismatch!\n"
          "\n"
          "BUILD FAILED in 25s\n",
          "network", "", "none" },
        { "a retried API call that is overloaded each time is the API down, not a retry notice",
          "API Error (529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}) · Retrying in 1 seconds… (attempt 1/10)\n",
          "api_unavailable", "", "none" },
        { "python's faulthandler on a segfault is a crash, not a python runtime error",
          "Fatal Python error: Segmentation fault\n"
          "\n"
          "Current thread 0x00007fa2972464c0 (most recent call first):\n"
          "  File \"/home/dev/app/env.py\", line 498 in compute_reward\n",
          "other", "", "none" },
        { "pod install's warning about a target's build setting is no pods error",
          "[!] The `App [Debug]` target overrides the `OTHER_LDFLAGS` build setting defined in `Pods/Target Support Files/Pods-App/Pods-App.debug.xcconfig'. This can lead to problems with the CocoaPods installation\n"
          "    - Use the `$(inherited)` flag, or\n"
          "    - Remove the build settings from the target.\n"
          "\n"
          "[!] Unable to find a specification for `Foo`\n",
          "ios_pods", "Unable to find a specification", "none" },
        { "a relative import without a parent package is the project's layout, not pip",
          "Traceback (most recent call last):\n"
          "  File \"task/get_info.py\", line 10, in <module>\n"
          "    from ..tools.util import *\n"
          "ImportError: attempted relative import with no known parent package\n",
          "python_missing_package", "attempted relative import", "none" },
        { "python -m of a package that is not there names no distribution",
          "/usr/local/bin/python: Error while finding module specification for 'checker.action' "
          "(ModuleNotFoundError: No module named 'checker')\n",
          "python_missing_package", "Error while finding module specification", "none" },
        { "poetry's version solving failed is pip resolution, not pub",
          "  Because app depends on Flask (>=2.0.2) which doesn't match any versions, version solving failed.\n",
          "pip_resolution", "Flask (>=2.0.2)", "none" },
        { "a traceback joined into one line keeps pip install",
          "Traceback (most recent call last):   File \"scrape.py\", line 2, in <module>     "
          "from bs4 import BeautifulSoup ModuleNotFoundError: No module named 'bs4'\n",
          "python_missing_package", "bs4", "pip_install:beautifulsoup4" },
        { "pytest's short summary of the project's own module is no pip install",
          "FAILED tests/test_io.py::test_read - ModuleNotFoundError: No module named 'utils'\n",
          "python_missing_package", "utils", "none" },
        { "pod's smart-quotes warning about the Podfile is no pods error",
          "Pod installation complete! There are 0 dependencies from the Podfile and 0 total pods installed.\n"
          "\n"
          "[!] Smart quotes were detected and ignored in your Podfile. To avoid issues in the future, you should not use TextEdit for editing it.\n"
          "\n"
          "[!] Unable to find a specification for `Foo`\n",
          "ios_pods", "Unable to find a specification", "none" },
        { "grpc's ServiceUnavailable that failed to connect is the network, not the API down",
          "google.api_core.exceptions.ServiceUnavailable: 503 failed to connect to all addresses; "
          "Last error: UNKNOWN: ipv4:142.250.1.1:443: TCP handshake shutdown\n",
          "network", "", "none" },
        { "pub's git dependency that cannot be cloned for a lookup failure is the network, not pub get",
          "Git error. Command: git clone --mirror git://github.com/example/pkg.git /home/dev/.pub-cache/git/cache/pkg-0123\n"
          "Cloning into bare repository '/home/dev/.pub-cache/git/cache/pkg-0123'...\n"
          "fatal: unable to look up github.com (port 9418) (No error)\n"
          "pub get failed (69) -- attempting retry 1 in 1 second...\n"
          "pub get failed (1)\n",
          "network", "", "none" },
        { "pip retrying a connect timeout is the network, not a retry notice",
          "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by "
          "'ConnectTimeoutError(<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f398570bf98>, "
          "'Connection to pypi.org timed out. (connect timeout=15)')': /simple/pandas/\n",
          "network", "", "none" },
        { "pip's retries on a failed connection, then no matching distribution: the network, not resolution",
          "[conda/stderr] WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) "
          "after connection broken by 'ProtocolError('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))': /simple/web3/\n"
          "[conda/stderr] ERROR: Could not find a version that satisfies the requirement web3\n",
          "network", "Retrying", "none", NULL, NULL, 2 },
        { "no matching version among those the index listed is resolution, whatever pip retried before",
          "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by "
          "'ReadTimeoutError(\"HTTPSConnectionPool(host='pypi.org', port=443): Read timed out. (read timeout=15)\")': /simple/torch/\n"
          "ERROR: Could not find a version that satisfies the requirement torch==1.4.0 (from versions: 2.2.0, 2.2.1)\n"
          "ERROR: No matching distribution found for torch==1.4.0\n",
          "pip_resolution", "torch==1.4.0", "none", NULL, NULL, 1 },
        { "pip's report wrapped before the requirement is still no matching distribution",
          "      ERROR: Could not find a version that satisfies the requirement \n"
          "setuptools>=77.0.3 (from versions: 0.6b1, 0.6b2, 0.6b3)\n",
          "pip_resolution", "Could not find a version", "none" },
        { "a syntax error under a compose container name is a syntax error, not a runtime error",
          "downloader  | SyntaxError: unterminated string literal (detected at line 780)\n",
          "python_syntax", "unterminated string literal", "none" },
        { "aws lambda missing a well-known dependency keeps pip install",
          "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'requests'\n",
          "python_missing_package", "Unable to import module", "pip_install:requests" },
        { "aws lambda missing the handler's own module is the deployment package, not pip",
          "[ERROR] Runtime.ImportModuleError: Unable to import module 'lambda_function': No module named 'lambda_function'\n",
          "python_missing_package", "Unable to import module", "none" },
        { "aws lambda missing a project-layout module (Python 2, unquoted) is no pip install",
          "Unable to import module 'main': No module named utils\n",
          "python_missing_package", "Unable to import module", "none" },
        { "aws lambda's errorMessage without the missing module names no distribution",
          "{\n  \"errorMessage\": \"Unable to import module 'bot'\"\n}\n",
          "python_missing_package", "Unable to import module 'bot'", "none" },
        { "cannot import a name from the project's own package is an unbuilt extension, not pip",
          "tamoc\\dbm.py:47: in <module>\n"
          "    from tamoc import dbm_f\n"
          "E   ImportError: cannot import name 'dbm_f' from 'tamoc' (d:\\tamoc-master\\tamoc\\__init__.py)\n",
          "python_missing_package", "cannot import name", "none" },
        { "a notebook's %load_ext of a well-known extension keeps pip install",
          "----> 1 get_ipython().run_line_magic('load_ext', 'nb_black')\n"
          "\n"
          "ModuleNotFoundError: No module named 'nb_black'\n",
          "python_missing_package", "nb_black", "pip_install:nb_black" },
        { "buildSrc's classpath that cannot be resolved for a connection reset is the network, not a dependency",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "A problem occurred configuring project ':buildSrc'.\n"
          "> Could not resolve all artifacts for configuration ':buildSrc:classpath'.\n"
          "   > Could not download bcprov-jdk15on-1.64.jar (org.bouncycastle:bcprov-jdk15on:1.64)\n"
          "      > Could not get resource 'https://plugins.gradle.org/m2/org/bouncycastle/bcprov-jdk15on/1.64/bcprov-jdk15on-1.64.jar'.\n"
          "         > Connection reset\n"
          "\n"
          "BUILD FAILED in 12s\n",
          "network", "", "none", NULL, NULL, 1 },
        { "maven's dependency resolution over a connection reset is the network, not a dependency",
          "[ERROR] Failed to execute goal on project app: Could not resolve dependencies for project com.example:app:jar:1.0: "
          "Could not transfer artifact com.google.api:gax:jar:0.80.0 from/to central (https://repo.maven.apache.org/maven2): "
          "Transfer failed for https://repo.maven.apache.org/maven2/com/google/api/gax/0.80.0/gax-0.80.0.jar: Connection reset -> [Help 1]\n",
          "network", "", "none" },
        { "pub get under Windows' semaphore timeout is the network, not a pub get",
          "Running \"flutter pub get\" in app...\n"
          "OS Error: The semaphore timeout period has expired.\n"
          "\n"
          ", errno = 121, address = storage.googleapis.com, port = 52508\n"
          "pub get failed\n",
          "network", "", "none" },
        { "npm's audit banner with a [!] marker is no pods error",
          "added 934 packages in 31.2s\n"
          "[!] 3 vulnerabilities found [120 packages audited]\n"
          "    Severity: 3 Low\n"
          "    Run `npm audit` for more detail\n"
          "$ node publish.js\n"
          "HttpError: Bad credentials\n",
          "api_key_invalid", "Bad credentials", "none", NULL, NULL, 1 },
        { "docker hub's pull rate limit wrapped as a server error 500 is a quota, not the service down",
          "Error: (HTTP code 500) server error - toomanyrequests: You have reached your pull rate limit. "
          "You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit\n",
          "api_quota", "toomanyrequests", "none" },
        { "GitHub's secondary rate limit answered with 403 is a quota, not a bad key",
          "Octokit::TooManyRequests GET https://api.github.com/repos/o/r/issues/1/events: 403 - You have exceeded a secondary rate limit. "
          "Please wait a few minutes before you try again.\n",
          "api_quota", "secondary rate limit", "none" },
        { "a web server's access line for its own 500 is not an API down",
          "INFO:     127.0.0.1:54882 - \"GET / HTTP/1.1\" 500 Internal Server Error\n"
          "Traceback (most recent call last):\n"
          "  File \"/app/main.py\", line 3, in app\n"
          "    raise ValueError('boom')\n"
          "ValueError: boom\n",
          "python_runtime", "ValueError: boom", "none" },
        { "npm retrying a registry 503 reports the registry down, not a retry notice",
          "npm WARN retry will retry, error on last attempt: Error: fetch failed with status code 503\n",
          "api_unavailable", "", "none" },
        { "gradle unable to delete the project's build outputs (path wrapped) is no flutter clean",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:mergeDebugJavaResource'.\n"
          "> Unable to delete directory\n"
          "'C:\\src\\shop\\build\\app\\intermediates\\merged_java_res\\debug' after 10\n"
          "attempts\n"
          "\n"
          "BUILD FAILED in 12s\n",
          "flutter_build_cache", "Unable to delete directory", "none", NULL, NULL, 1 },
        { "a gradle clean task that cannot delete a busy build directory is no flutter clean",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:cleanMergeReleaseAssets'.\n"
          "> Unable to delete directory 'D:\\work\\notes\\build\\app\\intermediates\\merged_assets\\release\\out'\n"
          "    Failed to delete some children. This might happen because a process has files open or has its working directory set in the target directory.\n"
          "    - D:\\work\\notes\\build\\app\\intermediates\\merged_assets\\release\\out\\flutter_assets\n"
          "\n"
          "BUILD FAILED in 3s\n",
          "flutter_build_cache", "Unable to delete directory", "none", NULL, NULL, 1 },
        { "dart run of an executable the app does not depend on is no pub get",
          "Could not find package \"build_runner\". Did you forget to add a dependency?\n"
          "pub finished with exit code 65\n",
          "flutter_dependency", "Could not find package \"build_runner\"", "none" },
        { "a code generator relaying dart run's missing executable is no pub get",
          "stderr=Could not find package `freezed` or file `freezed`\n",
          "flutter_dependency", "Could not find package `freezed`", "none" },
        { "the flutter tool run outside the project root is no pub get",
          "Error: No pubspec.yaml file found.\n"
          "This command should be run from the root of your Flutter project.\n",
          "flutter_dependency", "No pubspec.yaml file found", "none" },
        { "the podfile missing Flutter.framework in the SDK's engine cache is no flutter clean",
          "[!] Invalid `Podfile` file: No such file or directory @ rb_file_s_stat - /opt/flutter/bin/cache/artifacts/engine/ios/Flutter.framework.\n",
          "flutter_build_cache", "Invalid `Podfile` file", "none" },
        { "a strict androidx version gradle cannot satisfy is a maven version conflict, no pub fix",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Could not determine the dependencies of task ':app:compileDebugJavaWithJavac'.\n"
          "> Could not resolve all task dependencies for configuration ':app:debugCompileClasspath'.\n"
          "   > Could not resolve androidx.annotation:annotation:{strictly 1.1.0}.\n"
          "     Required by:\n"
          "         project :app\n"
          "      > Cannot find a version of 'androidx.annotation:annotation' that satisfies the version constraints:\n"
          "\n"
          "BUILD FAILED in 4s\n",
          "flutter_version_conflict", "androidx.annotation:annotation", "none", NULL, NULL, 1 },
        { "an app named like the package it adds is no version conflict and no pub fix",
          "Because http depends on http any, version solving failed.\n",
          "flutter_dependency", "depends on http any", "none" },
        { "duplicate classes of two different libraries are a build setup problem",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':app:checkReleaseDuplicateClasses'.\n"
          "> A failure occurred while executing com.android.build.gradle.internal.tasks.CheckDuplicatesRunnable\n"
          "   > Duplicate class android.support.v4.app.INotificationSideChannel found in modules core-1.5.0-runtime "
          "(androidx.core:core:1.5.0) and support-compat-27.1.1-runtime (com.android.support:support-compat:27.1.1)\n"
          "\n"
          "BUILD FAILED in 9s\n",
          "flutter_build", "Duplicate class", "none", NULL, NULL, 1 },
        { "duplicate classes of kotlin-stdlib and its jdk8 part at other versions are a version conflict",
          "   > Duplicate class kotlin.internal.jdk8.JDK8PlatformImplementations found in modules kotlin-stdlib-jdk8-1.7.10 "
          "(org.jetbrains.kotlin:kotlin-stdlib-jdk8:1.7.10) and kotlin-stdlib-1.9.0 (org.jetbrains.kotlin:kotlin-stdlib:1.9.0)\n",
          "flutter_version_conflict", "Duplicate class", "none" },
        { "a dart error in a path dependency outside the app is not the app's syntax",
          "../lib/src/widgets/picker.dart:42:17: Error: The getter 'headline6' isn't defined for the class 'TextTheme'.\n",
          "flutter_version_conflict", "picker.dart:42:17", "none" },
        { "a package the flutter SDK does not ship is an old SDK, no pub fix",
          "Could not find package flutter_localizations in the Flutter SDK.\n"
          "Depended on by:\n"
          "- shuttertop \n",
          "flutter_dependency", "flutter_localizations", "none", "package", "flutter_localizations" },
        { "a plugin's kotlin error without its e: prefix in the pub cache is a build failure, no clean",
          ".pub-cache/hosted/pub.dev/flutter_callkit_incoming-2.5.8/android/src/main/kotlin/com/hiennv/"
          "flutter_callkit_incoming/CallkitIncomingActivity.kt:84:37 Unresolved reference 'Utils'\n",
          "flutter_build", "Unresolved reference", "none" },
        { "kotlin's old (line, column) format without e: is a build failure, no clean",
          ".pub-cache/hosted/pub.dartlang.org/flutter_cognito_plugin-2.2.0/android/src/main/kotlin/com/pycampers/"
          "flutter_cognito_plugin/Cognito.kt: (29, 17): Unresolved reference: trySend\n",
          "flutter_build", "Unresolved reference", "none" },
        { "the engine's isolate not prepared on its own is the app's missing main, no clean",
          "[VERBOSE-2:dart_isolate.cc(144)] Could not prepare isolate.\n"
          "[VERBOSE-2:runtime_controller.cc(396)] Could not create root isolate.\n"
          "[VERBOSE-2:shell.cc(606)] Could not launch engine with configuration.\n",
          "dart_syntax", "Could not prepare isolate", "none" },
        { "the engine's isolate not prepared after a kernel it cannot load is that error's echo",
          "Dart Error: Can't load Kernel binary: Invalid kernel binary format version.\n"
          "[VERBOSE-2:dart_isolate.cc(144)] Could not prepare isolate.\n",
          "flutter_build_cache", "Can't load Kernel binary", "none", NULL, NULL, 1 },
        { "the VM finding no main in the kernel is the app's code, not a stale kernel",
          "Dart_LoadScriptFromKernel: The binary program does not contain 'main'.\n",
          "dart_syntax", "does not contain 'main'", "none" },
        { "an ambiguous import is the app's code, not a package to fetch",
          "Error: 'Text' is imported from both 'package:flutter/src/widgets/text.dart' and "
          "'package:flutter_quill/src/models/documents/nodes/leaf.dart'.\n"
          "          Text('Font size'),\n"
          "          ^^^^\n",
          "dart_syntax", "imported from both", "none" },
        { "a package's own URIs missing for the files being analysed keep pub get (no package config there)",
          "error: Target of URI doesn't exist: 'package:shop_example/cart.dart'. (uri_does_not_exist at [shop_example] lib/main.dart:5)\n"
          "error: Target of URI doesn't exist: 'package:shop_example/main.dart'. (uri_does_not_exist at [shop_example] lib/cart.dart:2)\n",
          "flutter_dependency", "package:shop_example", "flutter_pub_get" },
        { "a package's own URI for a file that is not there is the app's import, no pub get",
          "error: Target of URI doesn't exist: 'package:shop/screens/cart.dart'. (uri_does_not_exist at [shop] lib/main.dart:5)\n",
          "flutter_dependency", "package:shop/screens", "none" },
        { "a package URI with a lib segment is the app's import, no pub get",
          "error: Target of URI doesn't exist: 'package:shop/lib/cart.dart'. (uri_does_not_exist at [shop] lib/cart.dart:5)\n"
          "error: Target of URI doesn't exist: 'package:shop/cart.dart'. (uri_does_not_exist at [shop] lib/cart.dart:6)\n",
          "dart_syntax", "package:shop/lib/", "none" },
        { "a cached package importing what does not resolve is no pub get, even with package:flutter",
          "Error: Could not resolve the package 'flutter' in 'package:flutter/material.dart'.\n"
          "../.pub-cache/hosted/pub.dev/share_helper-1.2.0/lib/share_helper.dart:3:8: Error: Not found: 'package:flutter/material.dart'\n"
          "../.pub-cache/hosted/pub.dev/share_helper-1.2.0/lib/share_helper.dart:4:8: Error: Not found: 'package:path_provider/path_provider.dart'\n",
          "flutter_dependency", "", "none" },
        { "the tool's crash on the project's own depfile keeps flutter clean",
          "Error reading dependency file /home/dev/app/build/app/intermediates/flutter/debug/snapshot_blob.bin.d: java.lang.ArrayIndexOutOfBoundsException: 1\n",
          "flutter_build_cache", "Error reading dependency file", "flutter_clean" },
        { "an invalid depfile before a compile error is no flutter clean",
          "Invalid depfile: /home/dev/app/.dart_tool/flutter_build/0f1e2d3c/kernel_snapshot.d\n"
          "lib/main.dart:9:8: Error: Not found: 'package:path_provider/path_provider.dart'\n",
          "flutter_build_cache", "Invalid depfile", "none" },

        /* ---- near misses of the ninth round ---- */
        { "AGP's jlink transform under 'Could not resolve all files' is the build setup, no dependency",
          "FAILURE: Build failed with an exception.\n"
          "\n"
          "* What went wrong:\n"
          "Execution failed for task ':fluttertoast:compileDebugJavaWithJavac'.\n"
          "> Could not resolve all files for configuration ':fluttertoast:androidJdkImage'.\n"
          "   > Failed to transform core-for-system-modules.jar to match attributes {artifactType=_internal_android_jdk_image}.\n"
          "      > Execution failed for JdkImageTransform: /opt/android-sdk/platforms/android-33/core-for-system-modules.jar.\n"
          "\n"
          "BUILD FAILED in 2m 15s\n",
          "flutter_build", "", "none" },
        { "a plugin without its Android project: the Java errors that follow are its consequence, no fix",
          "Plugin project :path_provider not found. Please update settings.gradle.\n"
          "/home/dev/.pub-cache/hosted/pub.dartlang.org/path_provider-0.4.1/android/src/main/java/io/flutter/plugins/pathprovider/PathProviderPlugin.java:8: error: package io.flutter.plugin.common does not exist\n",
          "flutter_dependency", "Plugin project :path_provider", "none" },
        { "a web plugin without an Android project is the tool's note, not a failure",
          "Plugin project :video_player_web not found. Please update settings.gradle.\n",
          NULL, NULL, NULL, NULL, NULL, 0 },
        { "a missing plugin channel is no pub get",
          "E/flutter (17248): [ERROR:flutter/shell/common/shell.cc(184)] Dart Error: Unhandled exception:\n"
          "E/flutter (17248): MissingPluginException(No implementation found for method installApk on channel install_plugin)\n",
          "flutter_dependency", "", "none" },
        { "JavaScript's SyntaxError is not Python's",
          "SyntaxError: Unexpected token '<'\n"
          "    at Object.compileFunction (node:vm:360:18)\n",
          "other", "Unexpected token", "none" },
        { "pip byte-compiling what it unpacked goes on",
          "Compiling /tmp/pip_build_root/gunicorn/gunicorn/workers/_gaiohttp.py ...\n"
          "  File \"/tmp/pip_build_root/gunicorn/gunicorn/workers/_gaiohttp.py\", line 84\n"
          "    yield from self.wsgi.close()\n"
          "             ^\n"
          "SyntaxError: invalid syntax\n"
          "\n"
          "Successfully installed gunicorn\n",
          NULL, NULL, NULL, NULL, NULL, 0 },
        { "a proxy's 503 is the network, not the API down",
          "CondaHTTPError: HTTP 000 CONNECTION FAILED for url https://repo.anaconda.com/pkgs/main/linux-64/repodata.json\n"
          "ProxyError(MaxRetryError(\"HTTPSConnectionPool(host='repo.anaconda.com', port=443): Max retries exceeded "
          "(Caused by ProxyError('Cannot connect to proxy.', OSError('Tunnel connection failed: 503 Service Unavailable')))\"))\n",
          "network", "", "none" },
        { "Python 2's whole dotted name means its first part is missing",
          "Traceback (most recent call last):\n"
          "  File \"sniff.py\", line 55, in <module>\n"
          "    import usb.core\n"
          "ImportError: No module named usb.core\n",
          "python_missing_package", "usb.core", "pip_install:pyusb" },
        { "Python 3's dotted name means its first part is there: no pip install",
          "Traceback (most recent call last):\n"
          "  File \"app.py\", line 1, in <module>\n"
          "    from sklearn.externals import joblib\n"
          "ModuleNotFoundError: No module named 'sklearn.externals.joblib'\n",
          "python_missing_package", "sklearn.externals", "none" },
        { "the Podfile refusing to run before pub get names pub get",
          "[!] Invalid `Podfile` file: Generated.xcconfig must exist. If you're running pod install manually, make sure flutter pub get is executed first.\n"
          " #  from /Users/dev/app/ios/Podfile:48\n",
          "flutter_dependency", "", "flutter_pub_get" },
        { "Xcode without Generated.xcconfig is Xcode's report, no pub get",
          "could not find included file 'Generated.xcconfig' in search paths (in target 'Runner')\n",
          "ios_pods", "Generated.xcconfig", "none" },
        { "an analysis include that does not resolve is no pub get",
          "Warning: Package resolution error when reading \"analysis_options.yaml\" file:\n"
          "Failed to resolve package URI \"package:flutter_lints/flutter.yaml\" in include.\n",
          "flutter_dependency", "", "none" },
        { "a CMake cache whose directory is not shown is no flutter clean",
          "CMake Error: The current CMakeCache.txt directory\n"
          ". . . CMakeCache.txt is different than the directory\n"
          ". . . examples/db_store/packages/build\n"
          "where CMakeCache.txt was created.\n",
          "flutter_build_cache", "CMakeCache.txt", "none" },
        { "a Flutter desktop build's own CMake cache keeps flutter clean",
          "CMake Error: The current CMakeCache.txt directory /home/dev/app/build/linux/x64/release/CMakeCache.txt is different than the directory /home/old/app/build/linux/x64/release where CMakeCache.txt was created.\n",
          "flutter_build_cache", "CMakeCache.txt", "flutter_clean" },
        { "Node's watcher limit is no full disk",
          "Error: watch ENOSPC\n"
          "    at exports._errnoException (util.js:749:11)\n",
          "other", "watch ENOSPC", "none" },
        { "the open files limit is no full disk",
          "OSError: [Errno 24] Too many open files: '/data/VOC2012/JPEGImages/2008_000001.jpg'\n",
          "other", "Too many open files", "none" },
        { "a warning that quotes the Flutter tool's refusal in a sentence is the refusal",
          "I'm getting the following message: _\"Build failed due to use of deprecated Android v1 embedding.\"_\n",
          "flutter_build", "Android v1 embedding", "none" },
        { "a git ref the repository lacks is pub's dependency, not the network its retry blames",
          "Git error. Command: `git rev-list --max-count=1 release-2`\n"
          "stdout:\n"
          "stderr: fatal: ambiguous argument 'release-2': unknown revision or path not in the working tree.\n"
          "exit code: 128\n"
          "pub get failed (server unavailable) -- attempting retry 1 in 1 second...\n",
          "flutter_dependency", "", "none" },
        { "a web plugin registrant importing a package that does not resolve is a dependency, no pub get",
          ".dart_tool/flutter_build/0f3a9c/web_plugin_registrant.dart:9:8: Error: Not found: 'package:old_plugin_web/old_plugin_web.dart'\n",
          "flutter_dependency", "", "none" },
        { "byte-compiling a Python-3-only asyncio module under Python 2 is not a failure",
          "byte-compiling /usr/lib/python2.7/site-packages/somepkg/aio.py to aio.pyc\n"
          "  File \"/usr/lib/python2.7/site-packages/somepkg/aio.py\", line 12\n"
          "    result = yield from self.fetch()\n"
          "                      ^\n"
          "SyntaxError: invalid syntax\n",
          NULL, "", "none" },
        { "the same module imported in a traceback is a syntax error",
          "Traceback (most recent call last):\n"
          "  File \"app.py\", line 1, in <module>\n"
          "    import somepkg.aio\n"
          "  File \"/usr/lib/python2.7/site-packages/somepkg/aio.py\", line 12\n"
          "    result = yield from self.fetch()\n"
          "                      ^\n"
          "SyntaxError: invalid syntax\n",
          "python_syntax", "", "none" },
        { "setup.py egg_info failing on a package's syntax is the syntax error, not pip's build",
          "    Complete output from command python setup.py egg_info:\n"
          "    Traceback (most recent call last):\n"
          "      File \"<string>\", line 1, in <module>\n"
          "      File \"/tmp/pip-build-k2x9/somepkg/setup.py\", line 9\n"
          "        print \"building\"\n"
          "                         ^\n"
          "    SyntaxError: Missing parentheses in call to 'print'\n"
          "\n"
          "    ----------------------------------------\n"
          "Command \"python setup.py egg_info\" failed with error code 1 in /tmp/pip-build-k2x9/somepkg/\n",
          "python_syntax", "", "none" },
        { "Firefox's unterminated string literal is JavaScript's, not Python's",
          "SyntaxError: unterminated string literal\n",
          "other", "", "none" },
        { "the shell's syntax error in a cron job is no Python syntax error",
          "/bin/sh: 1: Syntax error: EOF in backquote substitution\n",
          "other", "", "none" },
        { "a syntax error's report without its message (the poster cut it) is still the syntax error",
          "  File \"bot.py\", line 14\n"
          "    if count = 3:\n"
          "             ^\n",
          "python_syntax", "", "none" },
        { "Python 3.11's carets under a runtime frame are no syntax error",
          "Traceback (most recent call last):\n"
          "  File \"app.py\", line 3, in <module>\n"
          "    print(items[5])\n"
          "          ~~~~~^^^\n"
          "IndexError: list index out of range\n",
          "python_runtime", "", "none" },
        { "an app's import of a package file missing from the pub cache is a dependency, not the app's syntax",
          "lib/main.dart:4:8: Error: Error when reading '/home/dev/.pub-cache/hosted/pub.dev/get-4.6.5/lib/get.dart': No such file or directory\n"
          "import 'package:get/get.dart';\n"
          "       ^\n",
          "flutter_dependency", "", "none" },
        { "dart:ui not found in the SDK's own sources is Flutter code on the plain Dart VM, no version conflict and no pub get",
          "/home/dev/flutter/packages/flutter/lib/src/material/app.dart:7:8: Error: Not found: 'dart:ui'\n"
          "import 'dart:ui' as ui;\n"
          "       ^\n",
          "flutter_dependency", "", "none" },
        { "a JavaScript bundler's 'return' outside of function is no Python syntax error",
          "SyntaxError: 'return' outside of function while parsing file: /app/src/agreement.js\n",
          "other", "", "none" },
        { "Django's page for a module that does not parse is the syntax error",
          "SyntaxError at /\n"
          "\n"
          "invalid syntax (views.py, line 42)\n",
          "python_syntax", "", "none" },
};

TEST(precedence_and_fix_safety_table) {
        unsigned failed = 0;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
                _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
                Collected got = {};
                const Finding *f;
                const char *v;

                ASSERT_OK(detect_engine_new(rules, NULL, &e));
                ASSERT_OK(feed_text(e, "s", c->text, &got));
                /* no category: not a failure at all */
                if (!c->category) {
                        for (size_t k = 0; k < got.n; k++)
                                if (got.items[k]->category != CATEGORY_NONE) {
                                        fprintf(stderr, "case '%s': not a failure, got %s '%s'\n", c->name,
                                                category_to_string(got.items[k]->category), got.items[k]->title);
                                        failed++;
                                }
                        collected_done(&got);
                        continue;
                }
                if (got.n == 0) {
                        fprintf(stderr, "case '%s': no finding\n", c->name);
                        failed++;
                        continue;
                }
                if (c->n > 0 && got.n != c->n) {
                        fprintf(stderr, "case '%s': %zu findings, want %zu\n", c->name, got.n, c->n);
                        failed++;
                }
                f = got.items[0];
                v = c->param ? finding_get_param(f, c->param) : NULL;
                if (strcmp(category_to_string(f->category), c->category) != 0 ||
                    !strstr(f->title, c->title) || strcmp(f->fix, c->fix) != 0 ||
                    f->auto_fixable != (strcmp(c->fix, "none") != 0) ||
                    (c->param && (!v || strcmp(v, c->value) != 0))) {
                        fprintf(stderr, "case '%s': got %s title='%s' fix=%s auto=%d rule=%s %s=%s\n",
                                c->name, category_to_string(f->category), f->title, f->fix,
                                f->auto_fixable, f->rule, c->param ?: "-", v ?: "-");
                        failed++;
                }
                /* No later finding of the same text may propose a fix either. */
                for (size_t k = 1; k < got.n; k++)
                        if (got.items[k]->auto_fixable && strcmp(c->fix, "none") == 0) {
                                fprintf(stderr, "case '%s': finding %zu proposes %s\n", c->name, k,
                                        got.items[k]->fix);
                                failed++;
                        }
                collected_done(&got);
        }
        ASSERT_EQ(failed, 0u);
        return 0;
}

/* A module name from a log is not a PyPI distribution by itself. A
 * well-known import name (cv2, yaml, requests) vouches for its distribution
 * and may run by itself; any other name is still the fix to propose, but it
 * runs only where the app declares it (needs_declaration; the fixer reads
 * the app's requirements): it may be the project's own module, a typo, or a
 * name registered on PyPI to catch that typo. */
TEST(pip_install_needs_a_declaration_unless_well_known) {
        static const struct {
                const char *text, *fix;
                bool needs_declaration;
        } pip[] = {
                { "ModuleNotFoundError: No module named 'cv2'\n", "pip_install:opencv-python", false },
                { "ModuleNotFoundError: No module named 'requests'\n", "pip_install:requests", false },
                { "ModuleNotFoundError: No module named 'google.genai'\n", "pip_install:google-genai", false },
                { "ModuleNotFoundError: No module named 'frobnicator'\n", "pip_install:frobnicator", true },
                { "ImportError: No module named reqeusts\n", "pip_install:reqeusts", true },
                { "ModuleNotFoundError: No module named 'vision_pipeline'\n", "pip_install:vision_pipeline", true },
        };

        for (size_t i = 0; i < ELEMENTSOF(pip); i++) {
                _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
                _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
                Collected got = {};

                ASSERT_OK(detect_engine_new(rules, NULL, &e));
                ASSERT_OK(feed_text(e, "s", pip[i].text, &got));
                ASSERT_EQ(got.n, 1u);
                ASSERT_STREQ(got.items[0]->fix, pip[i].fix);
                ASSERT_TRUE(got.items[0]->auto_fixable);
                ASSERT_EQ(got.items[0]->needs_declaration, pip[i].needs_declaration);
                collected_done(&got);
        }
        return 0;
}

/* Role= is data: an unknown role is an error naming the rule, the file and
 * the line, and the rule is skipped. */
TEST(role_is_validated) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = NULL;
        DetectRuleErrors errs = {};
        const char text[] = "[Rule.x]\n"
                            "Pattern=boom\n"
                            "Category=other\n"
                            "Role=culprit\n";

        ASSERT_OK(detect_rules_new(0, &rules));
        ASSERT_OK(detect_rules_load_string(rules, "t.rules", text, sizeof text - 1, &errs));
        ASSERT_TRUE(errs.n_errors >= 1);
        ASSERT_STREQ(errs.errors[0].file, "t.rules");
        ASSERT_EQ(errs.errors[0].line, 4u);
        ASSERT_TRUE(strstr(errs.errors[0].message, "role 'culprit'") != NULL);
        ASSERT_TRUE(!detect_rules_has(rules, "x"));
        detect_rule_errors_done(&errs);
        return 0;
}
