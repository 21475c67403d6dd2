/* SPDX-License-Identifier: MIT */
/*
 * The taxonomy every stage shares: severities, output languages, failure
 * categories, incident statuses and incident events, each with its string
 * form. The strings are a contract: config values, JSON output, the
 * database columns, journal fields and Notion selects use them. Detection's
 * own tables on top of Category (labels, default severity, fixability) are
 * in detect/category.h. Pure tables; thread-safe.
 */
#pragma once

#include <errno.h>

/* Severity tiers of the users' guide, lowest first (so they compare). */
typedef enum Severity {
        SEVERITY_LOW,
        SEVERITY_MEDIUM,
        SEVERITY_HIGH,
        SEVERITY_CRITICAL,
        _SEVERITY_MAX,
        _SEVERITY_INVALID = -EINVAL,
} Severity;

typedef enum Language {
        LANGUAGE_KO,
        LANGUAGE_EN,
        _LANGUAGE_MAX,
        _LANGUAGE_INVALID = -EINVAL,
} Language;

/* Stable category ids. The order is not part of the contract, the ids are. */
typedef enum Category {
        CATEGORY_NONE,                          /* looks alarming, is not a failure */
        CATEGORY_FLUTTER_DEPENDENCY,
        CATEGORY_FLUTTER_VERSION_CONFLICT,
        CATEGORY_FLUTTER_BUILD_CACHE,
        CATEGORY_FLUTTER_BUILD,
        CATEGORY_DART_SYNTAX,
        CATEGORY_IOS_PODS,
        CATEGORY_PYTHON_MISSING_PACKAGE,
        CATEGORY_PYTHON_SYNTAX,
        CATEGORY_PYTHON_RUNTIME,
        CATEGORY_PIP_RESOLUTION,
        CATEGORY_API_KEY_INVALID,
        CATEGORY_API_QUOTA,
        CATEGORY_API_UNAVAILABLE,
        CATEGORY_NETWORK,
        CATEGORY_DISK_FULL,
        CATEGORY_OUT_OF_MEMORY,
        CATEGORY_PERMISSION,
        CATEGORY_OTHER,                         /* matched only by a generic pattern */
        _CATEGORY_MAX,
        _CATEGORY_INVALID = -EINVAL,
} Category;

/* Status lifecycle: New -> In Progress -> Resolved | Manual Required. */
typedef enum IncidentStatus {
        INCIDENT_NEW,
        INCIDENT_IN_PROGRESS,
        INCIDENT_RESOLVED,
        INCIDENT_MANUAL_REQUIRED,
        _INCIDENT_STATUS_MAX,
        _INCIDENT_STATUS_INVALID = -EINVAL,
} IncidentStatus;

/* What happened to an incident: a sighting created it, repeated it or
 * reopened a resolved one, or its status was changed. */
typedef enum IncidentEvent {
        INCIDENT_EVENT_NEW,
        INCIDENT_EVENT_REPEAT,
        INCIDENT_EVENT_REGRESSION,
        INCIDENT_EVENT_STATUS,
        _INCIDENT_EVENT_MAX,
        _INCIDENT_EVENT_INVALID = -EINVAL,
} IncidentEvent;

/*
 * Each *_to_string returns a static string, or NULL when the value is out of
 * range. Each *_from_string returns the value, or -EINVAL for NULL or an
 * unknown string.
 */

/* "Low", "Medium", "High", "Critical" (the Notion select values). */
const char *severity_to_string(Severity s);
/* Case-insensitive. */
Severity severity_from_string(const char *s);

/* "ko", "en". */
const char *language_to_string(Language l);
/* Case-insensitive; also accepts locale-like forms ("ko_KR.UTF-8", "en-US"),
 * so $LANG can be passed as it is. "C" is not a language. */
Language language_from_string(const char *s);

/* "python_missing_package"; exact match only, the ids are lower case. */
const char *category_to_string(Category c);
Category category_from_string(const char *s);

/* "New", "In Progress", "Resolved", "Manual Required" (as stored). */
const char *incident_status_to_string(IncidentStatus s);
/* Case-insensitive; accepts the display names and the short forms
 * ("in-progress", "in_progress", "manual", "manual-required"). */
IncidentStatus incident_status_from_string(const char *s);

/* "new", "repeat", "regression", "status" (the APPWATCH_EVENT= values,
 * except that a status change to Resolved is recorded as "resolved"). */
const char *incident_event_to_string(IncidentEvent e);
IncidentEvent incident_event_from_string(const char *s);
