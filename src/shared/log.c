/* SPDX-License-Identifier: MIT */
/*
 * Diagnostics to the journal or stderr. Auto-detection follows systemd's
 * JOURNAL_STREAM convention: when stderr is the journal stream we were given,
 * records are sent natively with metadata; otherwise they are written to
 * stderr with a "<N>" prefix that journald also understands. Thread-safe.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "shared/log.h"

static atomic_int max_level = LOG_INFO;
static atomic_int target_stderr = -1; /* -1: not decided yet */

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
        };
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int) i;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}

void log_set_target_stderr(int on) {
        target_stderr = on;
}

static int stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return 0;
        if (fstat(STDERR_FILENO, &st) < 0)
                return 0;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char msg[2048];
        va_list ap;
        int saved = errno;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        if (target_stderr < 0)
                target_stderr = !stderr_is_journal();

        /* %m in the format names the error we were given, not a stale errno. */
        errno = error;
        va_start(ap, format);
        (void) vsnprintf(msg, sizeof msg, format, ap);
        va_end(ap);

        if (target_stderr) {
                fprintf(stderr, "<%d>%s\n", level, msg);
        } else {
                char file_field[256], line_field[32], func_field[128], errno_field[32];
                char prio_field[16];
                struct iovec iov[6];
                size_t n = 0;

                snprintf(prio_field, sizeof prio_field, "PRIORITY=%d", level);
                snprintf(file_field, sizeof file_field, "CODE_FILE=%s", file);
                snprintf(line_field, sizeof line_field, "CODE_LINE=%d", line);
                snprintf(func_field, sizeof func_field, "CODE_FUNC=%s", func);
                char *msg_field = NULL;
                if (asprintf(&msg_field, "MESSAGE=%s", msg) < 0)
                        msg_field = NULL;
                if (msg_field)
                        iov[n++] = (struct iovec) { msg_field, strlen(msg_field) };
                iov[n++] = (struct iovec) { prio_field, strlen(prio_field) };
                iov[n++] = (struct iovec) { file_field, strlen(file_field) };
                iov[n++] = (struct iovec) { line_field, strlen(line_field) };
                iov[n++] = (struct iovec) { func_field, strlen(func_field) };
                if (error > 0) {
                        snprintf(errno_field, sizeof errno_field, "ERRNO=%d", error);
                        iov[n++] = (struct iovec) { errno_field, strlen(errno_field) };
                }
                if (!msg_field || sd_journal_sendv(iov, (int) n) < 0)
                        fprintf(stderr, "<%d>%s\n", level, msg);
                free(msg_field);
        }

        errno = saved;
        return -error;
}

int log_event(int level, const char *message_id, const char *const *fields,
              const char *format, ...) {
        _cleanup_free_ char *msg = NULL, *msg_field = NULL, *id_field = NULL, *prio_field = NULL;
        struct iovec iov[32];
        size_t n = 0;
        va_list ap;
        int r;

        if (level > max_level)
                return 0;
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (target_stderr < 0)
                target_stderr = !stderr_is_journal();
        if (target_stderr) {
                fprintf(stderr, "<%d>%s\n", level, msg);
                return 0;
        }
        if (asprintf(&msg_field, "MESSAGE=%s", msg) < 0 ||
            asprintf(&id_field, "MESSAGE_ID=%s", message_id) < 0 ||
            asprintf(&prio_field, "PRIORITY=%d", level) < 0)
                return -ENOMEM;
        iov[n++] = (struct iovec) { msg_field, strlen(msg_field) };
        iov[n++] = (struct iovec) { id_field, strlen(id_field) };
        iov[n++] = (struct iovec) { prio_field, strlen(prio_field) };
        for (size_t i = 0; fields && fields[i] && n < ELEMENTSOF(iov); i++)
                iov[n++] = (struct iovec) { (void *) fields[i], strlen(fields[i]) };
        if (sd_journal_sendv(iov, (int) n) < 0)
                fprintf(stderr, "<%d>%s\n", level, msg);
        return 0;
}
