/* SPDX-License-Identifier: MIT */
/*
 * Journal source; see journal.h. Matches: (units) OR (identifiers), each
 * AND-ed with the accepted priorities; appwatch's own unit and process are
 * dropped in code, as the journal has no negative matches.
 *
 * Resuming: seek to the saved cursor and step once. If that entry is the
 * cursor's, it was committed and is skipped; if the cursor's entry is gone
 * (vacuumed) we landed on the next one, which is read. A cursor the journal
 * cannot even parse falls back to the tail, and on_reset says so.
 *
 * A dispatch reads at most batch entries and spends at most time_budget
 * delivering their lines (a consumer can be slow on some lines: a rule that
 * backtracks), checked after each line, so the loop commits and serves its
 * other sources in between. A long entry may be left in the middle, as
 * backpressure does: its lines are committed before its cursor, so a crash
 * before the rest is read would feed its first lines again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "ingest/journal.h"
#include "shared/log.h"
#include "shared/parse.h"

struct JournalSource {
        sd_event *event;
        sd_journal *journal;
        sd_event_source *io_source;
        sd_event_source *defer_source;
        sd_event_source *timer_source;
        JournalLineFunc on_line;
        JournalResetFunc on_reset;
        void *userdata;
        char *own_unit;
        pid_t own_pid;
        unsigned batch;
        usec_t time_budget;
        usec_t deadline;          /* CLOCK_MONOTONIC end of this dispatch's budget */
        int min_priority;
        bool paused;
        bool have_entry;          /* positioned on an entry not yet (fully) delivered */
        size_t resume_line;       /* first line of that entry still to deliver */
        JournalStats stats;
};

static int add_priority_matches(sd_journal *j, int min_priority) {
        char m[16];
        int r;

        if (min_priority >= 7)
                return 0;
        for (int p = 0; p <= min_priority; p++) {
                snprintf(m, sizeof m, "PRIORITY=%d", p);
                r = sd_journal_add_match(j, m, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_matches(sd_journal *j, char **units, char **identifiers, int min_priority) {
        char buf[512];
        int r;

        if (!units && !identifiers)
                return add_priority_matches(j, min_priority);
        for (char **u = units; u && *u; u++) {
                snprintf(buf, sizeof buf, "_SYSTEMD_UNIT=%s", *u);
                r = sd_journal_add_match(j, buf, 0);
                if (r < 0)
                        return r;
        }
        if (units) {
                r = add_priority_matches(j, min_priority);
                if (r < 0)
                        return r;
                r = sd_journal_add_disjunction(j);
                if (r < 0)
                        return r;
        }
        for (char **i = identifiers; i && *i; i++) {
                snprintf(buf, sizeof buf, "SYSLOG_IDENTIFIER=%s", *i);
                r = sd_journal_add_match(j, buf, 0);
                if (r < 0)
                        return r;
        }
        if (identifiers)
                return add_priority_matches(j, min_priority);
        return 0;
}

/* Reads a field's value into a NUL-terminated malloc'ed string, or NULL. */
static char *get_field(sd_journal *j, const char *field) {
        const void *d;
        size_t l, fl = strlen(field);

        if (sd_journal_get_data(j, field, &d, &l) < 0 || l <= fl + 1)
                return NULL;
        return strndup((const char *) d + fl + 1, l - fl - 1);
}

/* MESSAGE may be binary: take its bytes, not a C string. */
static int get_message(sd_journal *j, const char **ret, size_t *ret_len) {
        const void *d;
        size_t l;
        int r;

        r = sd_journal_get_data(j, "MESSAGE", &d, &l);
        if (r < 0)
                return r;
        *ret = (const char *) d + 8;
        *ret_len = l - 8;
        return 0;
}

static bool is_own(JournalSource *s) {
        _cleanup_free_ char *unit = get_field(s->journal, "_SYSTEMD_UNIT");
        _cleanup_free_ char *pid = NULL;

        if (unit && s->own_unit && strcmp(unit, s->own_unit) == 0)
                return true;
        pid = get_field(s->journal, "_PID");
        return pid && atoi(pid) == (int) s->own_pid;
}

/* Delivers the current entry from line s->resume_line on. 1: done, 0: stopped,
 * 2: the time budget ran out before its end (resume_line says where). */
static int deliver_entry(JournalSource *s) {
        _cleanup_free_ char *unit = NULL, *ident = NULL, *host = NULL, *prio = NULL,
                            *cursor = NULL, *stream = NULL;
        const char *msg, *p, *end;
        uint64_t rt = 0;
        size_t msg_len, line = 0;
        int r;

        if (is_own(s)) {
                s->stats.skipped_own++;
                return 1;
        }
        if (get_message(s->journal, &msg, &msg_len) < 0)
                return 1;        /* an entry without MESSAGE has nothing to read */
        unit = get_field(s->journal, "_SYSTEMD_UNIT");
        ident = get_field(s->journal, "SYSLOG_IDENTIFIER");
        host = get_field(s->journal, "_HOSTNAME");
        prio = get_field(s->journal, "PRIORITY");
        (void) sd_journal_get_realtime_usec(s->journal, &rt);
        r = sd_journal_get_cursor(s->journal, &cursor);
        if (r < 0)
                return log_debug_errno(r, "Journal entry without cursor: %m, skipping"), 1;
        if (asprintf(&stream, "%s/%s", host ?: "localhost", unit ?: ident ?: "unknown") < 0)
                return -ENOMEM;

        /* One entry may hold several lines (a traceback logged at once). */
        end = msg + msg_len;
        while (end > msg && (end[-1] == '\n'))
                end--;
        p = msg;
        for (;;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *le = nl ?: end;

                if (line >= s->resume_line) {
                        JournalLine jl = {
                                .stream = stream,
                                .unit = unit,
                                .identifier = ident,
                                .host = host,
                                .data = p,
                                .len = (size_t) (le - p),
                                .priority = prio ? atoi(prio) : 6,
                                .realtime_usec = rt,
                                .cursor = cursor,
                                .last_of_entry = !nl,
                        };
                        r = s->on_line(s, &jl, s->userdata);
                        if (r < 0) {
                                s->resume_line = line;
                                return 0;
                        }
                        s->stats.lines++;
                        if (nl && now_monotonic() >= s->deadline) {
                                s->resume_line = line + 1;
                                return 2;
                        }
                }
                line++;
                if (!nl)
                        break;
                p = nl + 1;
        }
        s->resume_line = 0;
        s->stats.entries++;
        return 1;
}

/* Reads up to max entries. Returns 1 when more may be waiting, 0 when caught up or paused. */
static int read_entries(JournalSource *s, unsigned max) {
        int r;

        for (unsigned n = 0; n < max; n++) {
                if (s->paused)
                        return 0;
                if (!s->have_entry) {
                        r = sd_journal_next(s->journal);
                        if (r < 0)
                                return log_warning_errno(r, "Cannot read the journal: %m, ignoring"), 0;
                        if (r == 0)
                                return 0;
                        s->have_entry = true;
                        s->resume_line = 0;
                }
                r = deliver_entry(s);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;     /* the consumer asked us to stop */
                if (r == 2)
                        return 1;     /* out of time in the middle of the entry */
                s->have_entry = false;
                if (now_monotonic() >= s->deadline)
                        return 1;
        }
        return 1;
}

static int on_defer(sd_event_source *es, void *userdata) {
        JournalSource *s = userdata;
        int r;

        /* Defer sources are one-shot: ask again while more is waiting. */
        s->deadline = now_monotonic() + s->time_budget;
        r = read_entries(s, s->batch);
        (void) sd_event_source_set_enabled(s->defer_source, r > 0 ? SD_EVENT_ON : SD_EVENT_OFF);
        return 0;
}

static void arm_timer(JournalSource *s);

static void kick(JournalSource *s) {
        if (!s->paused)
                (void) sd_event_source_set_enabled(s->defer_source, SD_EVENT_ON);
}

static int on_journal_io(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        JournalSource *s = userdata;
        int r;

        r = sd_journal_process(s->journal);
        if (r == SD_JOURNAL_INVALIDATE)
                s->stats.invalidations++;   /* files rotated, vacuumed or added: reading goes on */
        kick(s);
        arm_timer(s);
        return 0;
}

static int on_journal_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        return on_journal_io(es, -1, 0, userdata);
}

/* Some file systems cannot notify: the journal then asks to be polled. */
static void arm_timer(JournalSource *s) {
        uint64_t t;

        if (sd_journal_get_timeout(s->journal, &t) < 0 || t == UINT64_MAX) {
                if (s->timer_source)
                        (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_OFF);
                return;
        }
        if (!s->timer_source) {
                if (sd_event_add_time(s->event, &s->timer_source, CLOCK_MONOTONIC, t, 0,
                                      on_journal_timer, s) >= 0)
                        (void) sd_event_source_set_description(s->timer_source, "journal-timeout");
                return;
        }
        (void) sd_event_source_set_time(s->timer_source, t);
        (void) sd_event_source_set_enabled(s->timer_source, SD_EVENT_ONESHOT);
}

static int seek_start(JournalSource *s, const JournalOptions *o) {
        int r;

        if (o->cursor) {
                r = sd_journal_seek_cursor(s->journal, o->cursor);
                if (r >= 0) {
                        r = sd_journal_next(s->journal);
                        if (r > 0 && sd_journal_test_cursor(s->journal, o->cursor) <= 0)
                                /* The committed entry is gone; this later one is new. */
                                s->have_entry = true;
                        return 0;
                }
                if (s->on_reset)
                        s->on_reset(s, o->cursor, strerror(-r), s->userdata);
        } else if (o->from_head)
                return sd_journal_seek_head(s->journal);

        r = sd_journal_seek_tail(s->journal);
        if (r < 0)
                return r;
        /* Position on the last entry, so the next read returns only newer ones. */
        r = sd_journal_previous(s->journal);
        if (r < 0)
                return r;
        /* No matching entry at all yet: after seek_tail, libsystemd 252 then
         * never returns the first one written later. From the head there is
         * nothing old to read, and new entries are found. */
        if (r == 0)
                return sd_journal_seek_head(s->journal);
        return 0;
}

int journal_source_new(sd_event *event, const JournalOptions *o, JournalLineFunc on_line,
                       JournalResetFunc on_reset, void *userdata, JournalSource **ret) {
        _cleanup_(journal_source_freep) JournalSource *s = NULL;
        int fd, r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (JournalSource) {
                .event = sd_event_ref(event),
                .on_line = on_line,
                .on_reset = on_reset,
                .userdata = userdata,
                .own_unit = strdup(o->own_unit ?: "appwatch.service"),
                .own_pid = getpid(),
                .batch = o->batch ?: 1000,
                .time_budget = o->time_budget ?: (usec_t) 50 * USEC_PER_MSEC,
                .min_priority = o->min_priority,
        };
        if (!s->own_unit)
                return -ENOMEM;

        if (o->directory)
                r = sd_journal_open_directory(&s->journal, o->directory, 0);
        else
                r = sd_journal_open(&s->journal, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        r = add_matches(s->journal, o->units && *o->units ? o->units : NULL,
                        o->identifiers && *o->identifiers ? o->identifiers : NULL,
                        o->min_priority);
        if (r < 0)
                return r;
        r = seek_start(s, o);
        if (r < 0)
                return r;

        fd = sd_journal_get_fd(s->journal);
        if (fd < 0)
                return fd;
        r = sd_event_add_io(event, &s->io_source, fd, (uint32_t) sd_journal_get_events(s->journal),
                            on_journal_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->io_source, "journal");
        r = sd_event_add_defer(event, &s->defer_source, on_defer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->defer_source, "journal-read");
        /* Below the io sources, or it would win over them while it has more
         * to read (see the tailer's defer source). */
        (void) sd_event_source_set_priority(s->defer_source, SD_EVENT_PRIORITY_NORMAL + 1);
        arm_timer(s);
        *ret = TAKE_PTR(s);
        return 0;
}

JournalSource *journal_source_free(JournalSource *s) {
        if (!s)
                return NULL;
        sd_event_source_disable_unref(s->io_source);
        sd_event_source_disable_unref(s->defer_source);
        sd_event_source_disable_unref(s->timer_source);
        sd_journal_close(s->journal);
        sd_event_unref(s->event);
        free(s->own_unit);
        free(s);
        return NULL;
}

void journal_source_pause(JournalSource *s) {
        s->paused = true;
        (void) sd_event_source_set_enabled(s->defer_source, SD_EVENT_OFF);
}

void journal_source_resume(JournalSource *s) {
        s->paused = false;
        kick(s);
}

int journal_source_poll(JournalSource *s) {
        int r;

        (void) sd_journal_process(s->journal);
        s->deadline = UINT64_MAX;
        while ((r = read_entries(s, s->batch)) > 0)
                ;
        return r < 0 ? r : 0;
}

void journal_source_get_stats(const JournalSource *s, JournalStats *ret) {
        *ret = s->stats;
}
