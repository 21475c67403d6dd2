/* SPDX-License-Identifier: MIT */
/* One unit invocation's journal output; see unit-log.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "ingest/unit-log.h"
#include "shared/cleanup.h"

static int field(sd_journal *j, const char *name, const char **ret, size_t *ret_len) {
        const void *d;
        size_t l, n = strlen(name);
        int r;

        r = sd_journal_get_data(j, name, &d, &l);
        if (r < 0)
                return r;
        *ret = (const char *) d + n + 1;
        *ret_len = l - n - 1;
        return 0;
}

/* Whether the entry carries field=value exactly. */
static bool field_is(sd_journal *j, const char *name, const char *value) {
        const char *v;
        size_t l;

        return field(j, name, &v, &l) >= 0 && l == strlen(value) && memcmp(v, value, l) == 0;
}

/* Matches the entries that carry the invocation id: the unit's own lines
 * (_SYSTEMD_INVOCATION_ID) and systemd's lines about it (INVOCATION_ID,
 * "Failed with result ..."); with unit set, the unit's lines too. */
static int add_invocation_matches(sd_journal *j, const char *id, const char *unit) {
        const char *fields[] = { "_SYSTEMD_INVOCATION_ID", "INVOCATION_ID", "_SYSTEMD_UNIT" };
        int r;

        for (size_t i = 0; i < (unit ? 3u : 2u); i++) {
                _cleanup_free_ char *match = NULL;

                if (asprintf(&match, "%s=%s", fields[i], i < 2 ? id : unit) < 0)
                        return -ENOMEM;
                if (i > 0) {
                        r = sd_journal_add_disjunction(j);
                        if (r < 0)
                                return r;
                }
                r = sd_journal_add_match(j, match, 0);
                if (r < 0)
                        return r;
        }
        return 0;
}

int unit_log_collect(const char *directory, const char *unit, const char *invocation_id,
                     size_t max_bytes, char **ret_text, char **ret_invocation) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *match = NULL, *id = NULL, *text = NULL;
        uint64_t first = UINT64_MAX, last = 0;
        size_t len = 0;
        int r;

        r = directory ? sd_journal_open_directory(&j, directory, 0) : sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        if (invocation_id)
                id = strdup(invocation_id);
        else {
                /* The newest entry of the unit names its latest invocation. */
                const char *v;
                size_t l;

                if (asprintf(&match, "_SYSTEMD_UNIT=%s", unit) < 0)
                        return -ENOMEM;
                r = sd_journal_add_match(j, match, 0);
                if (r < 0)
                        return r;
                r = sd_journal_seek_tail(j);
                if (r < 0)
                        return r;
                for (;;) {
                        r = sd_journal_previous(j);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                return -ENOENT;
                        if (field(j, "_SYSTEMD_INVOCATION_ID", &v, &l) >= 0)
                                break;
                }
                id = strndup(v, l);
                sd_journal_flush_matches(j);
                free(match);
                match = NULL;
        }
        if (!id)
                return -ENOMEM;

        /* First the span of the lines that carry the id, from systemd's
         * "Starting ..." to its "Failed with result ...". */
        r = add_invocation_matches(j, id, NULL);
        if (r < 0)
                return r;
        SD_JOURNAL_FOREACH(j) {
                uint64_t t;

                if (sd_journal_get_realtime_usec(j, &t) < 0)
                        continue;
                first = t < first ? t : first;
                last = t > last ? t : last;
        }
        if (first == UINT64_MAX)
                return -ENOENT;

        /* Then those lines, and the unit's lines without an id in that span
         * (see unit-log.h), in the journal's order. */
        sd_journal_flush_matches(j);
        r = add_invocation_matches(j, id, unit);
        if (r < 0)
                return r;
        r = sd_journal_seek_realtime_usec(j, first);
        if (r < 0)
                return r;

        text = malloc(max_bytes + 1);
        if (!text)
                return -ENOMEM;
        bool any = false;
        while ((r = sd_journal_next(j)) > 0) {
                const char *m, *v;
                uint64_t t;
                size_t l;

                /* outside the span (not break: files interleave by more
                 * than the clock) */
                if (sd_journal_get_realtime_usec(j, &t) >= 0 && (t < first || t > last))
                        continue;
                if (!field_is(j, "_SYSTEMD_INVOCATION_ID", id) && !field_is(j, "INVOCATION_ID", id) &&
                    field(j, "_SYSTEMD_INVOCATION_ID", &v, &l) >= 0)
                        continue; /* the unit's line of another invocation */
                if (field(j, "MESSAGE", &m, &l) < 0)
                        continue;
                any = true;
                if (l + 1 > max_bytes) {
                        m += l + 1 - max_bytes;
                        l = max_bytes - 1;
                }
                /* Keep the tail: drop from the front when full. */
                if (len + l + 1 > max_bytes) {
                        size_t drop = len + l + 1 - max_bytes;
                        memmove(text, text + drop, len - drop);
                        len -= drop;
                }
                memcpy(text + len, m, l);
                len += l;
                text[len++] = '\n';
        }
        if (r < 0)
                return r;
        if (!any)
                return -ENOENT;
        text[len] = 0;
        *ret_text = TAKE_PTR(text);
        if (ret_invocation)
                *ret_invocation = TAKE_PTR(id);
        return 0;
}
