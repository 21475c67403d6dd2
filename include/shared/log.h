/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics. Records go to the journal with PRIORITY, CODE_FILE, CODE_LINE,
 * CODE_FUNC and ERRNO; when stderr is not the journal (foreground runs, tests,
 * CI) they go to stderr with a "<N>" priority prefix. Thread-safe: workers may
 * log. The _errno forms log and return the (negative) error they are given.
 */
#pragma once

#include <syslog.h>

#include "shared/cleanup.h"

/* Sets the most verbose priority that is emitted (LOG_INFO by default). */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "debug", "info", ... or a digit; returns the level or -EINVAL. */
int log_level_from_string(const char *s);
/* Forces output to stderr (1), the journal (0), or auto-detection (-1). */
void log_set_target_stderr(int on);

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

/*
 * One structured journal record for a user-visible event: MESSAGE_ID= plus
 * extra "KEY=value" fields (a NULL-terminated array, may be NULL). On stderr
 * only the message is printed. Returns 0.
 */
int log_event(int level, const char *message_id, const char *const *fields,
              const char *format, ...) _printf_(4, 5);
