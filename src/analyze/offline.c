/* SPDX-License-Identifier: MIT */
/*
 * Offline analysis texts per category, in ko and en, with ${param} and
 * ${param|fallback} placeholders filled from the finding and the context.
 * The first entry of a category whose required parameter is present wins,
 * so specific advice ("pip install PyYAML") comes before the general one,
 * and a fix's command is only advised when the finding proposes that fix.
 * Pure; thread-safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/offline.h"
#include "shared/cleanup.h"
#include "../detect/detect-internal.h"

typedef struct Text {
        Category category;
        const char *requires;                   /* parameter that must be present, or NULL */
        const char *cause[_LANGUAGE_MAX];
        const char *step[_LANGUAGE_MAX];
} Text;

#define KO(x) [LANGUAGE_KO] = x
#define EN(x) [LANGUAGE_EN] = x

static const Text texts[] = {
        { CATEGORY_FLUTTER_DEPENDENCY, "package",
          { KO("패키지 '${package}'를 찾을 수 없습니다. pubspec.yaml에 없거나 'pub get'이 실행되지 않았습니다."),
            EN("The package '${package}' cannot be resolved: it is missing from pubspec.yaml or 'pub get' has not run.") },
          { KO("${app|앱} 디렉터리(${dir|프로젝트 루트})에서 pubspec.yaml의 dependencies에 '${package}'가 있는지 확인하고 `${fix_command|flutter pub get}`을 실행하세요."),
            EN("Check that '${package}' is listed under dependencies in pubspec.yaml, then run `${fix_command|flutter pub get}` in ${app|the app}'s directory (${dir|the project root}).") } },
        { CATEGORY_FLUTTER_DEPENDENCY, "fix_command",
          { KO("Flutter 의존성이 최신 상태가 아니거나 내려받지 못했습니다."),
            EN("The Flutter dependencies are out of date or could not be fetched.") },
          { KO("${app|앱} 디렉터리(${dir|프로젝트 루트})에서 `${fix_command}`을 실행한 뒤 다시 빌드하세요."),
            EN("Run `${fix_command}` in ${app|the app}'s directory (${dir|the project root}) and build again.") } },
        { CATEGORY_FLUTTER_DEPENDENCY, NULL,
          { KO("의존성(pub 패키지 또는 Gradle/Maven 아티팩트)을 해석하거나 내려받지 못했습니다."),
            EN("A dependency (a pub package or a Gradle/Maven artifact) could not be resolved or fetched.") },
          { KO("오류에 나온 패키지나 아티팩트의 선언(pubspec.yaml, android/build.gradle, 저장소 주소)을 확인해 고치세요. 다시 내려받기로 해결되는 문제가 아니므로 자동 수정하지 않습니다."),
            EN("Check the declaration of the package or artifact the error names (pubspec.yaml, android/build.gradle, the repositories) and fix it. Fetching again does not repair this, so it is not fixed automatically.") } },
        { CATEGORY_FLUTTER_VERSION_CONFLICT, "sdk_version",
          { KO("패키지가 요구하는 Dart/Flutter SDK 버전과 설치된 SDK(${sdk_version})가 맞지 않습니다."),
            EN("A package requires a different Dart/Flutter SDK than the installed one (${sdk_version}).") },
          { KO("`flutter upgrade`로 SDK를 올리거나 pubspec.yaml의 해당 패키지 버전을 SDK에 맞게 낮추세요. 자동 수정 대상이 아닙니다."),
            EN("Upgrade the SDK with `flutter upgrade`, or pin the package to a version that supports this SDK in pubspec.yaml. This is not fixed automatically.") } },
        { CATEGORY_FLUTTER_VERSION_CONFLICT, "fix_command",
          { KO("패키지 버전 제약이 서로 충돌하여 pub/Gradle이 버전을 결정하지 못했습니다."),
            EN("Package version constraints conflict, so pub/Gradle cannot pick versions.") },
          { KO("${app|앱} 디렉터리에서 `${fix_command}`를 실행하고, 계속 실패하면 오류에 나온 패키지의 버전 제약을 pubspec.yaml에서 완화하세요."),
            EN("Run `${fix_command}` in ${app|the app}'s directory; if it still fails, relax the constraint of the package named in the error in pubspec.yaml.") } },
        /* No fix: `flutter pub upgrade` keeps the constraints the solver
         * already failed on, so the advice is the constraint itself. */
        { CATEGORY_FLUTTER_VERSION_CONFLICT, NULL,
          { KO("패키지 버전이 서로 또는 설치된 SDK와 맞지 않습니다."),
            EN("Package versions do not fit each other or the installed SDK.") },
          { KO("오류에 나온 패키지의 버전 제약을 pubspec.yaml에서 바꾸거나(호환되는 버전으로 올리거나 내리기) SDK 버전을 맞추세요. 제약을 바꿔야 하므로 자동 수정하지 않습니다."),
            EN("Change the constraint of the package the error names in pubspec.yaml (to a version that fits), or match the SDK version. A constraint has to change, so it is not fixed automatically.") } },
        { CATEGORY_FLUTTER_BUILD_CACHE, "fix_command",
          { KO("빌드 캐시(build/, .dart_tool/ 또는 Gradle 캐시)가 오래되었거나 손상되었습니다."),
            EN("The build cache (build/, .dart_tool/ or the Gradle caches) is stale or corrupted.") },
          { KO("${app|앱} 디렉터리에서 `${fix_command}`을 실행한 뒤 `flutter pub get`과 빌드를 다시 하세요."),
            EN("Run `${fix_command}` in ${app|the app}'s directory, then `flutter pub get` and build again.") } },
        /* No fix: the cache is outside the project (~/.gradle/caches, the
         * pub cache, the SDK's bin/cache), where flutter clean never looks. */
        { CATEGORY_FLUTTER_BUILD_CACHE, NULL,
          { KO("프로젝트 밖의 캐시(Gradle 캐시, pub 캐시 또는 Flutter SDK의 bin/cache)가 손상되었습니다."),
            EN("A cache outside the project (the Gradle caches, the pub cache or the Flutter SDK's bin/cache) is corrupted.") },
          { KO("오류에 나온 캐시 경로를 지우거나 복구한 뒤 다시 빌드하세요 (flutter clean은 프로젝트의 build/와 .dart_tool/만 지웁니다). 자동 수정하지 않습니다."),
            EN("Remove or repair the cache at the path the error names, then build again (flutter clean only removes the project's build/ and .dart_tool/). This is not fixed automatically.") } },
        { CATEGORY_FLUTTER_BUILD, "task",
          { KO("Gradle 작업 '${task}'이(가) 실패했습니다. 원인은 같은 보고서의 'What went wrong' 부분에 있습니다."),
            EN("The Gradle task '${task}' failed; the reason is in the 'What went wrong' part of the report.") },
          { KO("`flutter build apk --verbose` 또는 `./gradlew ${task} --stacktrace`로 자세한 로그를 확인하세요. 코드나 설정 수정이 필요합니다."),
            EN("Run `flutter build apk --verbose` or `./gradlew ${task} --stacktrace` for details; the code or configuration needs a manual fix.") } },
        { CATEGORY_FLUTTER_BUILD, NULL,
          { KO("Flutter 빌드가 실패했습니다: ${title}"),
            EN("The Flutter build failed: ${title}") },
          { KO("`flutter doctor -v`로 개발 환경을 점검하고 `--verbose`로 다시 빌드해 첫 번째 오류를 확인하세요."),
            EN("Check the toolchain with `flutter doctor -v` and rebuild with `--verbose` to find the first error.") } },
        { CATEGORY_DART_SYNTAX, NULL,
          { KO("Dart 코드에 컴파일 오류가 있습니다: ${message|${title}}"),
            EN("The Dart code does not compile: ${message|${title}}") },
          { KO("오류에 표시된 파일과 줄을 수정한 뒤 `flutter analyze`로 확인하세요. 코드 오류는 자동 수정하지 않습니다."),
            EN("Fix the file and line shown in the error, then check with `flutter analyze`. Code errors are never fixed automatically.") } },
        { CATEGORY_IOS_PODS, "pod",
          { KO("CocoaPods가 pod '${pod}'의 버전을 맞추지 못했습니다."),
            EN("CocoaPods cannot satisfy the pod '${pod}'.") },
          { KO("ios/ 디렉터리에서 `pod repo update` 후 `pod install`을 실행하고, 필요하면 Podfile의 platform :ios 버전을 올리세요."),
            EN("In ios/, run `pod repo update` and then `pod install`; raise `platform :ios` in the Podfile if needed.") } },
        { CATEGORY_IOS_PODS, NULL,
          { KO("iOS 빌드(CocoaPods/Xcode)가 실패했습니다: ${title}"),
            EN("The iOS build (CocoaPods/Xcode) failed: ${title}") },
          { KO("Xcode에서 ios/Runner.xcworkspace를 열어 서명과 빌드 설정을 확인하고, `cd ios && pod install` 후 다시 빌드하세요."),
            EN("Open ios/Runner.xcworkspace in Xcode to check signing and build settings, run `cd ios && pod install`, and build again.") } },
        { CATEGORY_PYTHON_MISSING_PACKAGE, "distribution",
          { KO("Python 모듈 '${module}'이(가) 설치되어 있지 않습니다 (배포 패키지 ${distribution})."),
            EN("The Python module '${module}' is not installed (distribution ${distribution}).") },
          { KO("${app|앱}의 환경(${dir|앱 디렉터리})에서 `pip install ${distribution}`을 실행하고 requirements.txt에 추가하세요."),
            EN("Run `pip install ${distribution}` in ${app|the app}'s environment (${dir|the app directory}) and add it to requirements.txt.") } },
        { CATEGORY_PYTHON_MISSING_PACKAGE, NULL,
          { KO("Python 모듈 '${module|?}'을(를) 가져올 수 없습니다. PyPI 패키지가 아니라 로컬 모듈이거나 시스템 패키지일 수 있습니다."),
            EN("The Python module '${module|?}' cannot be imported; it may be a local module or a system package rather than a PyPI one.") },
          { KO("PYTHONPATH와 작업 디렉터리를 확인하고, 시스템 패키지라면 OS 패키지 관리자로 설치하세요. 자동 설치하지 않습니다."),
            EN("Check PYTHONPATH and the working directory; if it is a system package, install it with the OS package manager. Nothing is installed automatically.") } },
        { CATEGORY_PYTHON_SYNTAX, NULL,
          { KO("Python 코드에 문법 오류가 있습니다: ${message|${title}}"),
            EN("The Python code has a syntax error: ${message|${title}}") },
          { KO("오류에 표시된 파일과 줄(캐럿 ^ 위치)을 수정한 뒤 `python -m py_compile`로 확인하세요."),
            EN("Fix the file and line marked by the caret, then check with `python -m py_compile`.") } },
        { CATEGORY_PYTHON_RUNTIME, "exception",
          { KO("Python 실행 중 처리되지 않은 예외 ${exception}이(가) 발생했습니다."),
            EN("An unhandled ${exception} was raised while the Python program ran.") },
          { KO("트레이스백의 마지막 프레임(우리 코드 쪽)을 확인하고 입력값과 예외 처리를 수정하세요."),
            EN("Look at the last frame of the traceback that is in your code and fix the input or add handling for it.") } },
        { CATEGORY_PYTHON_RUNTIME, NULL,
          { KO("Python 실행 오류: ${title}"),
            EN("Python runtime error: ${title}") },
          { KO("전체 트레이스백을 확인하고 원인이 된 코드를 수정하세요."),
            EN("Read the full traceback and fix the code that caused it.") } },
        { CATEGORY_PIP_RESOLUTION, "requirement",
          { KO("pip가 '${requirement}'에 맞는 버전을 찾지 못했습니다 (버전 오타, Python 버전 불일치, 또는 인덱스 접속 실패)."),
            EN("pip found no version matching '${requirement}' (a version typo, an unsupported Python version, or an unreachable index).") },
          { KO("`pip index versions ${requirement}`로 가능한 버전을 확인하고 requirements.txt의 버전 지정을 고치세요."),
            EN("Check the available versions with `pip index versions ${requirement}` and fix the pin in requirements.txt.") } },
        { CATEGORY_PIP_RESOLUTION, NULL,
          { KO("pip가 패키지를 설치하지 못했습니다: ${title}"),
            EN("pip could not install the packages: ${title}") },
          { KO("충돌하는 버전 제약을 requirements.txt에서 완화하거나, 가상환경(venv)을 사용해 다시 설치하세요."),
            EN("Relax the conflicting pins in requirements.txt, or reinstall inside a virtual environment (venv).") } },
        { CATEGORY_API_KEY_INVALID, NULL,
          { KO("API 키가 없거나 잘못되었거나 만료되었습니다."),
            EN("The API key is missing, invalid or expired.") },
          { KO("키를 새로 발급받아 설정(systemd 자격 증명 또는 환경 변수 ${variable|})을 갱신하고 `appwatchctl health`로 확인하세요."),
            EN("Issue a new key, update the credential (systemd credential or environment variable ${variable|}) and verify with `appwatchctl health`.") } },
        { CATEGORY_API_QUOTA, NULL,
          { KO("API 호출 할당량 또는 속도 제한을 초과했습니다."),
            EN("The API quota or rate limit was exceeded.") },
          { KO("잠시 후 다시 시도하고, 반복되면 호출 빈도를 줄이거나 요금제/할당량을 늘리세요."),
            EN("Retry later; if it keeps happening, lower the call rate or raise the plan/quota.") } },
        { CATEGORY_API_UNAVAILABLE, NULL,
          { KO("원격 API 서비스가 응답하지 않거나 장애 상태입니다."),
            EN("The remote API service is down or overloaded.") },
          { KO("서비스 상태 페이지를 확인하고 복구 후 다시 실행하세요. 재시도는 지수 백오프로 하세요."),
            EN("Check the provider's status page and run again once it recovers; retry with exponential backoff.") } },
        { CATEGORY_NETWORK, NULL,
          { KO("네트워크 연결에 실패했습니다 (DNS, 방화벽, 프록시 또는 TLS)."),
            EN("A network connection failed (DNS, firewall, proxy or TLS).") },
          { KO("빌드 호스트에서 `curl -I https://pub.dev` 등으로 연결을 확인하고 프록시/DNS 설정을 점검하세요."),
            EN("Check connectivity from the build host (e.g. `curl -I https://pub.dev`) and review the proxy/DNS settings.") } },
        { CATEGORY_DISK_FULL, NULL,
          { KO("디스크 공간이 부족합니다."),
            EN("The disk is full.") },
          { KO("`df -h`로 확인하고 빌드 산출물(`flutter clean`), Gradle 캐시(~/.gradle/caches), pip 캐시(`pip cache purge`)를 정리하세요."),
            EN("Check with `df -h`, then free space: build outputs (`flutter clean`), Gradle caches (~/.gradle/caches), the pip cache (`pip cache purge`).") } },
        { CATEGORY_OUT_OF_MEMORY, NULL,
          { KO("메모리가 부족하여 프로세스가 종료되었습니다."),
            EN("A process ran out of memory and was killed.") },
          { KO("동시 빌드 수를 줄이고, Gradle은 android/gradle.properties의 org.gradle.jvmargs=-Xmx 값을 조정하세요."),
            EN("Run fewer builds at once; for Gradle adjust org.gradle.jvmargs=-Xmx in android/gradle.properties.") } },
        { CATEGORY_PERMISSION, NULL,
          { KO("파일 또는 디렉터리 접근 권한이 없습니다."),
            EN("Access to a file or directory was denied.") },
          { KO("오류에 나온 경로의 소유자와 권한(`ls -l`)을 확인하고 앱의 실행 사용자에게 권한을 주세요. root로 실행하지 마세요."),
            EN("Check the owner and mode of the path in the error (`ls -l`) and grant the app's user access; do not run as root.") } },
        { CATEGORY_OTHER, NULL,
          { KO("일반 오류 패턴에 걸린 출력입니다: ${title}"),
            EN("Output matched a generic error pattern: ${title}") },
          { KO("로그의 해당 부분을 확인하고, 반복된다면 rules.d에 구체적인 규칙을 추가하세요."),
            EN("Read that part of the log; if it recurs, add a specific rule in rules.d.") } },
        { CATEGORY_NONE, NULL,
          { KO("실패가 아닙니다."), EN("This is not a failure.") },
          { KO("조치가 필요 없습니다."), EN("No action is needed.") } },
};

static const char *fix_command(const char *fix, char *buf, size_t bufsz) {
        if (!fix || strcmp(fix, "none") == 0)
                return NULL;
        if (strcmp(fix, "flutter_clean_pub_get") == 0)
                return "flutter clean && flutter pub get";
        if (strcmp(fix, "flutter_pub_get") == 0)
                return "flutter pub get";
        if (strcmp(fix, "flutter_pub_upgrade") == 0)
                return "flutter pub upgrade";
        if (strcmp(fix, "flutter_clean") == 0)
                return "flutter clean";
        if (strncmp(fix, "pip_install:", 12) == 0) {
                (void) snprintf(buf, bufsz, "pip install %s", fix + 12);
                return buf;
        }
        return NULL;
}

/* Whether a text's required parameter is there; "fix_command" is there
 * when the finding proposes a fix, so that a finding without one is never
 * told to run the fix that was judged not to apply. */
static bool has_param(const Finding *f, const char *name) {
        char buf[300];

        if (strcmp(name, "fix_command") == 0)
                return fix_command(f->fix, buf, sizeof buf);
        return finding_get_param(f, name);
}

static const char *lookup(const Finding *f, const AnalyzeContext *ctx, const char *name,
                          char *buf, size_t bufsz) {
        if (strcmp(name, "app") == 0)
                return ctx && ctx->app && *ctx->app ? ctx->app : NULL;
        if (strcmp(name, "dir") == 0)
                return ctx && ctx->directory && *ctx->directory ? ctx->directory : NULL;
        if (strcmp(name, "title") == 0)
                return f->title;
        if (strcmp(name, "fix_command") == 0)
                return fix_command(f->fix, buf, bufsz);
        return finding_get_param(f, name);
}

/* Expands ${name} and ${name|fallback} (the fallback may itself hold one
 * ${...}). */
static int expand(DetectBuf *b, const char *tmpl, const Finding *f, const AnalyzeContext *ctx, int depth) {
        int r;

        for (const char *p = tmpl; *p;) {
                const char *open = strstr(p, "${"), *close, *bar, *v;
                char name[64], buf[300];
                int nest = 0;

                if (!open)
                        return detect_buf_append(b, p, strlen(p));
                r = detect_buf_append(b, p, (size_t) (open - p));
                if (r < 0)
                        return r;
                /* find the matching '}' */
                for (close = open + 2; *close; close++) {
                        if (close[0] == '$' && close[1] == '{')
                                nest++;
                        else if (*close == '}' && nest-- == 0)
                                break;
                }
                if (!*close)
                        return detect_buf_append(b, open, strlen(open));
                bar = memchr(open + 2, '|', (size_t) (close - open - 2));
                size_t nl = (size_t) ((bar ?: close) - open - 2);
                if (nl >= sizeof name)
                        nl = sizeof name - 1;
                memcpy(name, open + 2, nl);
                name[nl] = 0;
                v = lookup(f, ctx, name, buf, sizeof buf);
                if (v && *v)
                        r = detect_buf_append(b, v, strlen(v));
                else if (bar && depth < 2) {
                        _cleanup_free_ char *fb = strndup(bar + 1, (size_t) (close - bar - 1));

                        if (!fb)
                                return -ENOMEM;
                        r = expand(b, fb, f, ctx, depth + 1);
                } else
                        r = 0;
                if (r < 0)
                        return r;
                p = close + 1;
        }
        return 0;
}

void analysis_done(Analysis *a) {
        if (!a)
                return;
        free(a->cause);
        free(a->next_step);
        *a = (Analysis) {};
}

int analyze_offline(const Finding *f, Language lang, const AnalyzeContext *ctx, Analysis *ret) {
        DetectBuf cause = {}, step = {};
        const Text *t = NULL;
        int r;

        if (lang < 0 || lang >= _LANGUAGE_MAX)
                lang = LANGUAGE_EN;
        for (size_t i = 0; i < ELEMENTSOF(texts) && !t; i++)
                if (texts[i].category == f->category &&
                    (!texts[i].requires || has_param(f, texts[i].requires)))
                        t = &texts[i];
        if (!t)
                t = &texts[ELEMENTSOF(texts) - 1];
        r = expand(&cause, t->cause[lang], f, ctx, 0);
        if (r >= 0)
                r = expand(&step, t->step[lang], f, ctx, 0);
        if (r < 0) {
                detect_buf_done(&cause);
                detect_buf_done(&step);
                return r;
        }
        ret->cause = detect_buf_steal(&cause);
        ret->next_step = detect_buf_steal(&step);
        if (!ret->cause || !ret->next_step) {
                analysis_done(ret);
                return -ENOMEM;
        }
        return 0;
}

char *analysis_format(const Analysis *a) {
        char *s;

        if (asprintf(&s, "%s %s", a->cause ?: "", a->next_step ?: "") < 0)
                return NULL;
        return s;
}
