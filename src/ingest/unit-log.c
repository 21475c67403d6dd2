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

int unit_log_collect(const char *unit, const char *invocation_id, size_t max_bytes,
                     char **ret_text, char **ret_invocation) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *match = NULL, *id = NULL, *text = NULL;
        size_t len = 0;
        int r;

        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
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

        /* The unit's own lines carry _SYSTEMD_INVOCATION_ID; systemd's lines
         * about it ("Failed with result ...") carry INVOCATION_ID. */
        if (asprintf(&match, "_SYSTEMD_INVOCATION_ID=%s", id) < 0)
                return -ENOMEM;
        r = sd_journal_add_match(j, match, 0);
        if (r < 0)
                return r;
        r = sd_journal_add_disjunction(j);
        if (r < 0)
                return r;
        free(match);
        if (asprintf(&match, "INVOCATION_ID=%s", id) < 0)
                return -ENOMEM;
        r = sd_journal_add_match(j, match, 0);
        if (r < 0)
                return r;
        r = sd_journal_seek_head(j);
        if (r < 0)
                return r;

        text = malloc(max_bytes + 1);
        if (!text)
                return -ENOMEM;
        bool any = false;
        while ((r = sd_journal_next(j)) > 0) {
                const char *m;
                size_t l;

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
