/* SPDX-License-Identifier: MIT */
/*
 * The failure taxonomy: stable category ids (used in JSON, Notion, reports and
 * the store), their ko/en labels, default severity and whether an automatic
 * fix may ever be proposed for them. Severity levels and output languages
 * live here too. Pure tables; thread-safe.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>

typedef enum DetectCategory {
        DETECT_CATEGORY_NONE,                   /* looks alarming, is not a failure */
        DETECT_CATEGORY_FLUTTER_DEPENDENCY,
        DETECT_CATEGORY_FLUTTER_VERSION_CONFLICT,
        DETECT_CATEGORY_FLUTTER_BUILD_CACHE,
        DETECT_CATEGORY_FLUTTER_BUILD,
        DETECT_CATEGORY_DART_SYNTAX,
        DETECT_CATEGORY_IOS_PODS,
        DETECT_CATEGORY_PYTHON_MISSING_PACKAGE,
        DETECT_CATEGORY_PYTHON_SYNTAX,
        DETECT_CATEGORY_PYTHON_RUNTIME,
        DETECT_CATEGORY_PIP_RESOLUTION,
        DETECT_CATEGORY_API_KEY_INVALID,
        DETECT_CATEGORY_API_QUOTA,
        DETECT_CATEGORY_API_UNAVAILABLE,
        DETECT_CATEGORY_NETWORK,
        DETECT_CATEGORY_DISK_FULL,
        DETECT_CATEGORY_OUT_OF_MEMORY,
        DETECT_CATEGORY_PERMISSION,
        DETECT_CATEGORY_OTHER,                  /* matched only by a generic pattern */
        _DETECT_CATEGORY_MAX,
        _DETECT_CATEGORY_INVALID = -EINVAL,
} DetectCategory;

typedef enum DetectSeverity {
        DETECT_SEVERITY_LOW,
        DETECT_SEVERITY_MEDIUM,
        DETECT_SEVERITY_HIGH,
        DETECT_SEVERITY_CRITICAL,
        _DETECT_SEVERITY_MAX,
        _DETECT_SEVERITY_INVALID = -EINVAL,
} DetectSeverity;

typedef enum DetectLanguage {
        DETECT_LANGUAGE_KO,
        DETECT_LANGUAGE_EN,
        _DETECT_LANGUAGE_MAX,
        _DETECT_LANGUAGE_INVALID = -EINVAL,
} DetectLanguage;

/* Stable id ("python_missing_package"), or NULL when out of range. */
const char *detect_category_to_string(DetectCategory c);
/* Parses a stable id; returns the category or -EINVAL. */
DetectCategory detect_category_from_string(const char *s);
/* Human label in the given language ("Python 패키지 누락"); NULL when out of range. */
const char *detect_category_label(DetectCategory c, DetectLanguage lang);
/* The severity a rule of this category gets unless it says otherwise. */
DetectSeverity detect_category_default_severity(DetectCategory c);
/* Whether the taxonomy allows an automatic fix for this category at all. A rule
 * asking for one in a manual category is rejected at load time. */
bool detect_category_fixable(DetectCategory c);

/* "Low", "Medium", "High", "Critical" (the Notion select values). */
const char *detect_severity_to_string(DetectSeverity s);
/* Case-insensitive parse of the above; returns the severity or -EINVAL. */
DetectSeverity detect_severity_from_string(const char *s);

/* "ko" / "en". */
const char *detect_language_to_string(DetectLanguage l);
/* Accepts "ko", "en", and locale-like forms ("ko_KR.UTF-8"); -EINVAL otherwise. */
DetectLanguage detect_language_from_string(const char *s);
