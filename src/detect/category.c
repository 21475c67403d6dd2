/* SPDX-License-Identifier: MIT */
/*
 * Detection's category tables (labels, default severities, fixability);
 * see category.h. The ids themselves are in shared/taxonomy.c. Pure;
 * thread-safe.
 */
#include <stddef.h>

#include "detect/category.h"

static const struct {
        const char *ko, *en;
        Severity severity;
        bool fixable;
} categories[_CATEGORY_MAX] = {
        [CATEGORY_NONE] = { "오류 아님", "Not a failure", SEVERITY_LOW, false },
        [CATEGORY_FLUTTER_DEPENDENCY] = { "Flutter 의존성 오류", "Flutter dependency error",
                SEVERITY_MEDIUM, true },
        [CATEGORY_FLUTTER_VERSION_CONFLICT] = { "패키지 버전 충돌", "Package version conflict",
                SEVERITY_MEDIUM, true },
        [CATEGORY_FLUTTER_BUILD_CACHE] = { "빌드 캐시 문제", "Build cache problem",
                SEVERITY_MEDIUM, true },
        [CATEGORY_FLUTTER_BUILD] = { "Flutter 빌드 실패", "Flutter build failure",
                SEVERITY_HIGH, false },
        [CATEGORY_DART_SYNTAX] = { "Dart 코드 오류", "Dart code error", SEVERITY_HIGH, false },
        [CATEGORY_IOS_PODS] = { "iOS CocoaPods/Xcode 오류", "iOS CocoaPods/Xcode error",
                SEVERITY_MEDIUM, false },
        [CATEGORY_PYTHON_MISSING_PACKAGE] = { "Python 패키지 누락", "Missing Python package",
                SEVERITY_MEDIUM, true },
        [CATEGORY_PYTHON_SYNTAX] = { "Python 문법 오류", "Python syntax error", SEVERITY_HIGH, false },
        [CATEGORY_PYTHON_RUNTIME] = { "Python 실행 오류", "Python runtime error",
                SEVERITY_HIGH, false },
        [CATEGORY_PIP_RESOLUTION] = { "pip 의존성 해결 실패", "pip dependency resolution failure",
                SEVERITY_MEDIUM, false },
        [CATEGORY_API_KEY_INVALID] = { "API 키 누락/만료", "API key missing or invalid",
                SEVERITY_HIGH, false },
        [CATEGORY_API_QUOTA] = { "API 할당량 초과", "API quota exceeded", SEVERITY_HIGH, false },
        [CATEGORY_API_UNAVAILABLE] = { "API 서비스 장애", "API service unavailable",
                SEVERITY_CRITICAL, false },
        [CATEGORY_NETWORK] = { "네트워크 연결 문제", "Network problem", SEVERITY_HIGH, false },
        [CATEGORY_DISK_FULL] = { "디스크 공간 부족", "Disk full", SEVERITY_CRITICAL, false },
        [CATEGORY_OUT_OF_MEMORY] = { "메모리 부족", "Out of memory", SEVERITY_CRITICAL, false },
        [CATEGORY_PERMISSION] = { "권한 오류", "Permission denied", SEVERITY_HIGH, false },
        [CATEGORY_OTHER] = { "기타 오류", "Other error", SEVERITY_HIGH, false },
};

const char *detect_category_label(Category c, Language lang) {
        if (c < 0 || c >= _CATEGORY_MAX)
                return NULL;
        return lang == LANGUAGE_KO ? categories[c].ko : categories[c].en;
}

Severity detect_category_default_severity(Category c) {
        if (c < 0 || c >= _CATEGORY_MAX)
                return SEVERITY_HIGH;
        return categories[c].severity;
}

bool detect_category_fixable(Category c) {
        if (c < 0 || c >= _CATEGORY_MAX)
                return false;
        return categories[c].fixable;
}
