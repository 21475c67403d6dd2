/* SPDX-License-Identifier: MIT */
/*
 * Detection's tables on the shared Category (shared/taxonomy.h): the ko/en
 * label of each category, the severity a rule of it gets by default and
 * whether an automatic fix may ever be proposed for it. Pure tables;
 * thread-safe.
 */
#pragma once

#include <stdbool.h>

#include "shared/taxonomy.h"

/* Human label in the given language ("Python 패키지 누락"); NULL when out of range. */
const char *detect_category_label(Category c, Language lang);
/* The severity a rule of this category gets unless it says otherwise. */
Severity detect_category_default_severity(Category c);
/* Whether the taxonomy allows an automatic fix for this category at all. A rule
 * asking for one in a manual category is rejected at load time. */
bool detect_category_fixable(Category c);
