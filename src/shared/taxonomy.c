/* SPDX-License-Identifier: MIT */
/* The shared taxonomy's string forms; see taxonomy.h. Pure; thread-safe. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "shared/cleanup.h"
#include "shared/taxonomy.h"

static const char *const severity_table[_SEVERITY_MAX] = {
        [SEVERITY_LOW] = "Low",
        [SEVERITY_MEDIUM] = "Medium",
        [SEVERITY_HIGH] = "High",
        [SEVERITY_CRITICAL] = "Critical",
};

static const char *const language_table[_LANGUAGE_MAX] = {
        [LANGUAGE_KO] = "ko",
        [LANGUAGE_EN] = "en",
};

static const char *const category_table[_CATEGORY_MAX] = {
        [CATEGORY_NONE] = "none",
        [CATEGORY_FLUTTER_DEPENDENCY] = "flutter_dependency",
        [CATEGORY_FLUTTER_VERSION_CONFLICT] = "flutter_version_conflict",
        [CATEGORY_FLUTTER_BUILD_CACHE] = "flutter_build_cache",
        [CATEGORY_FLUTTER_BUILD] = "flutter_build",
        [CATEGORY_DART_SYNTAX] = "dart_syntax",
        [CATEGORY_IOS_PODS] = "ios_pods",
        [CATEGORY_PYTHON_MISSING_PACKAGE] = "python_missing_package",
        [CATEGORY_PYTHON_SYNTAX] = "python_syntax",
        [CATEGORY_PYTHON_RUNTIME] = "python_runtime",
        [CATEGORY_PIP_RESOLUTION] = "pip_resolution",
        [CATEGORY_API_KEY_INVALID] = "api_key_invalid",
        [CATEGORY_API_QUOTA] = "api_quota",
        [CATEGORY_API_UNAVAILABLE] = "api_unavailable",
        [CATEGORY_NETWORK] = "network",
        [CATEGORY_DISK_FULL] = "disk_full",
        [CATEGORY_OUT_OF_MEMORY] = "out_of_memory",
        [CATEGORY_PERMISSION] = "permission",
        [CATEGORY_OTHER] = "other",
};

static const char *const incident_status_table[_INCIDENT_STATUS_MAX] = {
        [INCIDENT_NEW] = "New",
        [INCIDENT_IN_PROGRESS] = "In Progress",
        [INCIDENT_RESOLVED] = "Resolved",
        [INCIDENT_MANUAL_REQUIRED] = "Manual Required",
};

static const char *const incident_event_table[_INCIDENT_EVENT_MAX] = {
        [INCIDENT_EVENT_NEW] = "new",
        [INCIDENT_EVENT_REPEAT] = "repeat",
        [INCIDENT_EVENT_REGRESSION] = "regression",
        [INCIDENT_EVENT_STATUS] = "status",
};

static const char *table_to_string(const char *const *table, int n, int v) {
        return v >= 0 && v < n ? table[v] : NULL;
}

static int table_from_string(const char *const *table, int n, const char *s, bool icase) {
        if (s)
                for (int i = 0; i < n; i++)
                        if ((icase ? strcasecmp(table[i], s) : strcmp(table[i], s)) == 0)
                                return i;
        return -EINVAL;
}

const char *severity_to_string(Severity s) {
        return table_to_string(severity_table, _SEVERITY_MAX, s);
}

Severity severity_from_string(const char *s) {
        return (Severity) table_from_string(severity_table, _SEVERITY_MAX, s, true);
}

const char *language_to_string(Language l) {
        return table_to_string(language_table, _LANGUAGE_MAX, l);
}

Language language_from_string(const char *s) {
        if (!s)
                return _LANGUAGE_INVALID;
        /* "ko", "ko_KR", "ko_KR.UTF-8", "en-US", "en.UTF-8": the part before
         * the territory, codeset or modifier is the language. */
        for (int i = 0; i < _LANGUAGE_MAX; i++) {
                size_t n = strlen(language_table[i]);

                if (strncasecmp(s, language_table[i], n) == 0 &&
                    (s[n] == 0 || s[n] == '_' || s[n] == '-' || s[n] == '.'))
                        return (Language) i;
        }
        return _LANGUAGE_INVALID;
}

const char *category_to_string(Category c) {
        return table_to_string(category_table, _CATEGORY_MAX, c);
}

Category category_from_string(const char *s) {
        return (Category) table_from_string(category_table, _CATEGORY_MAX, s, false);
}

const char *incident_status_to_string(IncidentStatus s) {
        return table_to_string(incident_status_table, _INCIDENT_STATUS_MAX, s);
}

IncidentStatus incident_status_from_string(const char *s) {
        static const struct {
                const char *name;
                IncidentStatus status;
        } aliases[] = {
                { "in-progress", INCIDENT_IN_PROGRESS },
                { "in_progress", INCIDENT_IN_PROGRESS },
                { "manual", INCIDENT_MANUAL_REQUIRED },
                { "manual-required", INCIDENT_MANUAL_REQUIRED },
                { "manual_required", INCIDENT_MANUAL_REQUIRED },
        };
        int r;

        r = table_from_string(incident_status_table, _INCIDENT_STATUS_MAX, s, true);
        if (r >= 0)
                return (IncidentStatus) r;
        if (s)
                for (size_t i = 0; i < ELEMENTSOF(aliases); i++)
                        if (strcasecmp(s, aliases[i].name) == 0)
                                return aliases[i].status;
        return _INCIDENT_STATUS_INVALID;
}

const char *incident_event_to_string(IncidentEvent e) {
        return table_to_string(incident_event_table, _INCIDENT_EVENT_MAX, e);
}

IncidentEvent incident_event_from_string(const char *s) {
        return (IncidentEvent) table_from_string(incident_event_table, _INCIDENT_EVENT_MAX, s,
                                                 false);
}
