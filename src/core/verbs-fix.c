/* SPDX-License-Identifier: MIT */
/*
 * The fix verbs: `fix` (run an incident's catalogue fix on request and
 * answer when it has ended, or at once for a refusal or a dry run) and the
 * fix attempts that `show` adds. Loop thread only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager-internal.h"
#include "shared/protocol.h"

typedef struct FixWait {
        ControlRequest *req;
        FixerWaiter *waiter;
} FixWait;

static void fix_wait_cancel(ControlRequest *req, void *userdata) {
        FixWait *w = userdata;

        /* The client is gone; the fix goes on and show tells its end. */
        fixer_waiter_cancel(w->waiter);
        w->waiter = NULL;
        (void) control_request_reply_error(req, -ECANCELED, NULL);
}

static void fix_wait_done(json_t *attempt, int error, const char *message, void *userdata) {
        FixWait *w = userdata;

        w->waiter = NULL;       /* freed by the fixer after this */
        if (error < 0)
                (void) control_request_reply_error(w->req, error, message);
        else
                (void) control_request_reply(w->req, json_incref(attempt));
}

int manager_verb_fix(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *args = control_request_args(req);
        json_t *dry = json_object_get(args, "dry_run");
        FixWait *w;
        int64_t id = 0;
        int r;

        if (protocol_get_integer(args, "id", &id, NULL) <= 0 || id <= 0) {
                *msg = strdup("\"id\" must be a positive integer");
                return -EINVAL;
        }
        if (dry && !json_is_boolean(dry)) {
                *msg = strdup("\"dry_run\" must be true or false");
                return -EINVAL;
        }
        if (!m->fixer) {
                *msg = strdup("fixes are not available");
                return -EOPNOTSUPP;
        }
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->req = req;
        r = fixer_request(m->fixer, id, json_is_true(dry), fix_wait_done, w, ret, &w->waiter,
                          msg);
        if (r <= 0) {
                free(w);
                return r;
        }
        /* free is the destroy: it runs when the request is answered. */
        control_request_set_cancel(req, fix_wait_cancel, w, free);
        return CONTROL_REPLY_LATER;
}

int manager_show_fix_attempts(Manager *m, int64_t id, json_t *o) {
        json_t *a = NULL;
        int r;

        if (!m->fixer)
                return 0;
        r = fixer_attempts_json(m->fixer, id, &a);
        if (r < 0)
                return r;
        return json_object_set_new(o, "fix_attempts", a) < 0 ? -ENOMEM : 0;
}
