/* SPDX-License-Identifier: MIT */
/*
 * The daemon's control verbs (src/core/verbs.c): one table of name,
 * read-only or mutating, synchronous or asynchronous, and handler, which
 * the Manager hands to its control server. Every handler takes the Manager
 * as userdata. Loop thread only.
 */
#pragma once

#include <stddef.h>

#include "core/control.h"

extern const ControlVerb manager_verbs[];
extern const size_t manager_n_verbs;
