/* SPDX-License-Identifier: MIT */
/* Tests for shared/taxonomy: every value round-trips through its string, the
 * accepted spellings, and -EINVAL for anything else. */
#include <assert.h>

#include "shared/taxonomy.h"
#include "tests.h"

/* The enums are dense from 0, so a loop to _X_MAX visits every value; the
 * counts pin the tables against an enumerator added without its string. */
static_assert(_SEVERITY_MAX == 4, "a severity was added: update the tests");
static_assert(_LANGUAGE_MAX == 2, "a language was added: update the tests");
static_assert(_CATEGORY_MAX == 19, "a category was added: update the tests");
static_assert(_INCIDENT_STATUS_MAX == 4, "a status was added: update the tests");
static_assert(_INCIDENT_EVENT_MAX == 4, "an event was added: update the tests");

#define ASSERT_ROUND_TRIP(prefix, max)                                            \
        do {                                                                      \
                for (int _v = 0; _v < (max); _v++) {                              \
                        const char *_s = prefix##_to_string(_v);                  \
                        ASSERT_TRUE(_s && _s[0]);                                 \
                        ASSERT_EQ(prefix##_from_string(_s), _v);                  \
                        /* No two values share a string. */                       \
                        for (int _w = 0; _w < _v; _w++)                           \
                                ASSERT_TRUE(strcmp(prefix##_to_string(_w), _s) != 0); \
                }                                                                 \
                ASSERT_TRUE(prefix##_to_string(max) == NULL);                     \
                ASSERT_TRUE(prefix##_to_string(-1) == NULL);                      \
                ASSERT_TRUE(prefix##_to_string(-EINVAL) == NULL);                 \
                ASSERT_ERROR(prefix##_from_string(NULL), EINVAL);                 \
                ASSERT_ERROR(prefix##_from_string(""), EINVAL);                   \
                ASSERT_ERROR(prefix##_from_string("bogus"), EINVAL);              \
        } while (0)

TEST(severity) {
        ASSERT_ROUND_TRIP(severity, _SEVERITY_MAX);
        ASSERT_STREQ(severity_to_string(SEVERITY_LOW), "Low");
        ASSERT_STREQ(severity_to_string(SEVERITY_CRITICAL), "Critical");
        ASSERT_EQ(severity_from_string("medium"), SEVERITY_MEDIUM);
        ASSERT_EQ(severity_from_string("HIGH"), SEVERITY_HIGH);
        ASSERT_ERROR(severity_from_string("High "), EINVAL);
        ASSERT_ERROR(severity_from_string("Urgent"), EINVAL);
        /* Ordered, so a minimum severity is a comparison. */
        ASSERT_TRUE(SEVERITY_LOW < SEVERITY_MEDIUM && SEVERITY_HIGH < SEVERITY_CRITICAL);
        return 0;
}

TEST(language) {
        ASSERT_ROUND_TRIP(language, _LANGUAGE_MAX);
        ASSERT_STREQ(language_to_string(LANGUAGE_KO), "ko");
        ASSERT_STREQ(language_to_string(LANGUAGE_EN), "en");
        ASSERT_EQ(language_from_string("EN"), LANGUAGE_EN);
        ASSERT_EQ(language_from_string("ko_KR.UTF-8"), LANGUAGE_KO);
        ASSERT_EQ(language_from_string("ko_KR"), LANGUAGE_KO);
        ASSERT_EQ(language_from_string("en-US"), LANGUAGE_EN);
        ASSERT_EQ(language_from_string("en.UTF-8"), LANGUAGE_EN);
        ASSERT_ERROR(language_from_string("C"), EINVAL);
        ASSERT_ERROR(language_from_string("C.UTF-8"), EINVAL);
        ASSERT_ERROR(language_from_string("k"), EINVAL);
        ASSERT_ERROR(language_from_string("kor"), EINVAL);
        ASSERT_ERROR(language_from_string("english"), EINVAL);
        return 0;
}

TEST(category) {
        ASSERT_ROUND_TRIP(category, _CATEGORY_MAX);
        ASSERT_STREQ(category_to_string(CATEGORY_NONE), "none");
        ASSERT_STREQ(category_to_string(CATEGORY_PYTHON_MISSING_PACKAGE), "python_missing_package");
        ASSERT_STREQ(category_to_string(CATEGORY_OTHER), "other");
        /* Ids are exact: they are keys in JSON, the store and Notion. */
        ASSERT_ERROR(category_from_string("Network"), EINVAL);
        ASSERT_ERROR(category_from_string("disk-full"), EINVAL);
        return 0;
}

TEST(incident_status) {
        ASSERT_ROUND_TRIP(incident_status, _INCIDENT_STATUS_MAX);
        ASSERT_STREQ(incident_status_to_string(INCIDENT_NEW), "New");
        ASSERT_STREQ(incident_status_to_string(INCIDENT_IN_PROGRESS), "In Progress");
        ASSERT_STREQ(incident_status_to_string(INCIDENT_RESOLVED), "Resolved");
        ASSERT_STREQ(incident_status_to_string(INCIDENT_MANUAL_REQUIRED), "Manual Required");
        ASSERT_EQ(incident_status_from_string("new"), INCIDENT_NEW);
        ASSERT_EQ(incident_status_from_string("in progress"), INCIDENT_IN_PROGRESS);
        ASSERT_EQ(incident_status_from_string("in-progress"), INCIDENT_IN_PROGRESS);
        ASSERT_EQ(incident_status_from_string("In_Progress"), INCIDENT_IN_PROGRESS);
        ASSERT_EQ(incident_status_from_string("RESOLVED"), INCIDENT_RESOLVED);
        ASSERT_EQ(incident_status_from_string("manual"), INCIDENT_MANUAL_REQUIRED);
        ASSERT_EQ(incident_status_from_string("manual-required"), INCIDENT_MANUAL_REQUIRED);
        ASSERT_EQ(incident_status_from_string("manual_required"), INCIDENT_MANUAL_REQUIRED);
        ASSERT_ERROR(incident_status_from_string("closed"), EINVAL);
        ASSERT_ERROR(incident_status_from_string("in"), EINVAL);
        return 0;
}

TEST(incident_event) {
        ASSERT_ROUND_TRIP(incident_event, _INCIDENT_EVENT_MAX);
        ASSERT_STREQ(incident_event_to_string(INCIDENT_EVENT_NEW), "new");
        ASSERT_STREQ(incident_event_to_string(INCIDENT_EVENT_REPEAT), "repeat");
        ASSERT_STREQ(incident_event_to_string(INCIDENT_EVENT_REGRESSION), "regression");
        ASSERT_STREQ(incident_event_to_string(INCIDENT_EVENT_STATUS), "status");
        ASSERT_ERROR(incident_event_from_string("NEW"), EINVAL);
        return 0;
}
