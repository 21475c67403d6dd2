/* SPDX-License-Identifier: MIT */
/*
 * The failure taxonomy table (ids, labels, default severities, fixability),
 * severities and languages. The ids are a contract: JSON output, Notion
 * selects, reports and the store use them. Pure; thread-safe.
 */
#include <string.h>
#include <strings.h>

#include "detect/category.h"
#include "shared/cleanup.h"

static const struct {
        const char *id;
        const char *ko, *en;
        DetectSeverity severity;
        bool fixable;
} categories[_DETECT_CATEGORY_MAX] = {
        [DETECT_CATEGORY_NONE] = { "none", "오류 아님", "Not a failure", DETECT_SEVERITY_LOW, false },
        [DETECT_CATEGORY_FLUTTER_DEPENDENCY] = { "flutter_dependency", "Flutter 의존성 오류",
                "Flutter dependency error", DETECT_SEVERITY_MEDIUM, true },
        [DETECT_CATEGORY_FLUTTER_VERSION_CONFLICT] = { "flutter_version_conflict",
                "패키지 버전 충돌", "Package version conflict", DETECT_SEVERITY_MEDIUM, true },
        [DETECT_CATEGORY_FLUTTER_BUILD_CACHE] = { "flutter_build_cache", "빌드 캐시 문제",
                "Build cache problem", DETECT_SEVERITY_MEDIUM, true },
        [DETECT_CATEGORY_FLUTTER_BUILD] = { "flutter_build", "Flutter 빌드 실패",
                "Flutter build failure", DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_DART_SYNTAX] = { "dart_syntax", "Dart 코드 오류", "Dart code error",
                DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_IOS_PODS] = { "ios_pods", "iOS CocoaPods/Xcode 오류",
                "iOS CocoaPods/Xcode error", DETECT_SEVERITY_MEDIUM, false },
        [DETECT_CATEGORY_PYTHON_MISSING_PACKAGE] = { "python_missing_package",
                "Python 패키지 누락", "Missing Python package", DETECT_SEVERITY_MEDIUM, true },
        [DETECT_CATEGORY_PYTHON_SYNTAX] = { "python_syntax", "Python 문법 오류",
                "Python syntax error", DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_PYTHON_RUNTIME] = { "python_runtime", "Python 실행 오류",
                "Python runtime error", DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_PIP_RESOLUTION] = { "pip_resolution", "pip 의존성 해결 실패",
                "pip dependency resolution failure", DETECT_SEVERITY_MEDIUM, false },
        [DETECT_CATEGORY_API_KEY_INVALID] = { "api_key_invalid", "API 키 누락/만료",
                "API key missing or invalid", DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_API_QUOTA] = { "api_quota", "API 할당량 초과", "API quota exceeded",
                DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_API_UNAVAILABLE] = { "api_unavailable", "API 서비스 장애",
                "API service unavailable", DETECT_SEVERITY_CRITICAL, false },
        [DETECT_CATEGORY_NETWORK] = { "network", "네트워크 연결 문제", "Network problem",
                DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_DISK_FULL] = { "disk_full", "디스크 공간 부족", "Disk full",
                DETECT_SEVERITY_CRITICAL, false },
        [DETECT_CATEGORY_OUT_OF_MEMORY] = { "out_of_memory", "메모리 부족", "Out of memory",
                DETECT_SEVERITY_CRITICAL, false },
        [DETECT_CATEGORY_PERMISSION] = { "permission", "권한 오류", "Permission denied",
                DETECT_SEVERITY_HIGH, false },
        [DETECT_CATEGORY_OTHER] = { "other", "기타 오류", "Other error", DETECT_SEVERITY_HIGH,
                false },
};

const char *detect_category_to_string(DetectCategory c) {
        if (c < 0 || c >= _DETECT_CATEGORY_MAX)
                return NULL;
        return categories[c].id;
}

DetectCategory detect_category_from_string(const char *s) {
        if (!s)
                return _DETECT_CATEGORY_INVALID;
        for (int i = 0; i < _DETECT_CATEGORY_MAX; i++)
                if (strcmp(s, categories[i].id) == 0)
                        return (DetectCategory) i;
        return _DETECT_CATEGORY_INVALID;
}

const char *detect_category_label(DetectCategory c, DetectLanguage lang) {
        if (c < 0 || c >= _DETECT_CATEGORY_MAX)
                return NULL;
        return lang == DETECT_LANGUAGE_KO ? categories[c].ko : categories[c].en;
}

DetectSeverity detect_category_default_severity(DetectCategory c) {
        if (c < 0 || c >= _DETECT_CATEGORY_MAX)
                return DETECT_SEVERITY_HIGH;
        return categories[c].severity;
}

bool detect_category_fixable(DetectCategory c) {
        if (c < 0 || c >= _DETECT_CATEGORY_MAX)
                return false;
        return categories[c].fixable;
}

static const char *const severities[_DETECT_SEVERITY_MAX] = {
        [DETECT_SEVERITY_LOW] = "Low",
        [DETECT_SEVERITY_MEDIUM] = "Medium",
        [DETECT_SEVERITY_HIGH] = "High",
        [DETECT_SEVERITY_CRITICAL] = "Critical",
};

const char *detect_severity_to_string(DetectSeverity s) {
        if (s < 0 || s >= _DETECT_SEVERITY_MAX)
                return NULL;
        return severities[s];
}

DetectSeverity detect_severity_from_string(const char *s) {
        if (!s)
                return _DETECT_SEVERITY_INVALID;
        for (int i = 0; i < _DETECT_SEVERITY_MAX; i++)
                if (strcasecmp(s, severities[i]) == 0)
                        return (DetectSeverity) i;
        return _DETECT_SEVERITY_INVALID;
}

const char *detect_language_to_string(DetectLanguage l) {
        switch (l) {
        case DETECT_LANGUAGE_KO:
                return "ko";
        case DETECT_LANGUAGE_EN:
                return "en";
        case _DETECT_LANGUAGE_MAX:
        case _DETECT_LANGUAGE_INVALID:
                break;
        }
        return NULL;
}

DetectLanguage detect_language_from_string(const char *s) {
        if (!s)
                return _DETECT_LANGUAGE_INVALID;
        /* "ko", "ko_KR", "ko_KR.UTF-8", "en", "en_US.UTF-8", "C" is not accepted. */
        if (strncasecmp(s, "ko", 2) == 0 && (s[2] == 0 || s[2] == '_' || s[2] == '-' || s[2] == '.'))
                return DETECT_LANGUAGE_KO;
        if (strncasecmp(s, "en", 2) == 0 && (s[2] == 0 || s[2] == '_' || s[2] == '-' || s[2] == '.'))
                return DETECT_LANGUAGE_EN;
        return _DETECT_LANGUAGE_INVALID;
}
