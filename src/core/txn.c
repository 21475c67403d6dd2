/* SPDX-License-Identifier: MIT */
/* The per-iteration transaction owner; see txn.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>

#include "core/txn.h"
#include "shared/log.h"

struct TxnHook {
        Txn *txn;
        TxnHook *next;
        TxnHookKind kind;
        int priority;
        TxnHookFunc func;
        void *userdata;
        void (*destroy)(void *);
};

struct Txn {
        sd_event *event;
        Store *store;
        sd_event_source *post_source;
        TxnHook *hooks[_TXN_HOOK_KIND_MAX];     /* each sorted by priority */
        bool open;
        bool failed;
        bool committing;
        uint64_t n_commits, n_errors;
};

static int on_post(sd_event_source *s, void *userdata) {
        (void) txn_commit(userdata);
        return 0;
}

int txn_new(sd_event *event, Store *store, Txn **ret) {
        _cleanup_(txn_freep) Txn *t = NULL;
        int r;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        *t = (Txn) { .event = sd_event_ref(event), .store = store };
        /* A post source runs after every loop iteration that dispatched
         * anything, and never wakes the loop by itself. It stays enabled: one
         * enabled only from inside a dispatch does not run for that dispatch,
         * which left batches uncommitted until the next event. */
        r = sd_event_add_post(event, &t->post_source, on_post, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(t->post_source, "txn-commit");
        *ret = TAKE_PTR(t);
        return 0;
}

Txn *txn_free(Txn *t) {
        if (!t)
                return NULL;
        if (t->open)
                (void) store_rollback(t->store);
        for (TxnHookKind k = 0; k < _TXN_HOOK_KIND_MAX; k++)
                while (t->hooks[k])
                        txn_hook_free(t->hooks[k]);
        sd_event_source_disable_unref(t->post_source);
        sd_event_unref(t->event);
        free(t);
        return NULL;
}

int txn_add_hook(Txn *t, TxnHookKind kind, int priority, TxnHookFunc f, void *userdata,
                 void (*destroy)(void *), TxnHook **ret) {
        TxnHook *h, **p;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        *h = (TxnHook) { .txn = t, .kind = kind, .priority = priority, .func = f,
                         .userdata = userdata, .destroy = destroy };
        /* Equal priorities run in registration order. */
        for (p = &t->hooks[kind]; *p && (*p)->priority <= priority; p = &(*p)->next)
                ;
        h->next = *p;
        *p = h;
        if (ret)
                *ret = h;
        return 0;
}

TxnHook *txn_hook_free(TxnHook *h) {
        if (!h)
                return NULL;
        for (TxnHook **p = &h->txn->hooks[h->kind]; *p; p = &(*p)->next)
                if (*p == h) {
                        *p = h->next;
                        break;
                }
        if (h->destroy)
                h->destroy(h->userdata);
        free(h);
        return NULL;
}

int txn_begin(Txn *t) {
        int r;

        if (t->failed)
                return -EIO;
        if (t->open)
                return 0;
        r = store_begin(t->store);
        if (r < 0)
                return r;
        t->open = true;
        return 0;
}

bool txn_in_progress(const Txn *t) {
        return t->open;
}

int txn_fatal(Txn *t, int r, const char *what) {
        /* Crash-only: the last commit is consistent, and a restart resumes
         * from it. Going on would mean losing what this batch read. */
        if (!t->failed)
                log_error_errno(r, "Cannot %s: %m. Exiting so that nothing is lost; ingestion "
                                "resumes from the last committed position.", what);
        t->n_errors++;
        if (t->open)
                (void) store_rollback(t->store);
        t->open = false;
        t->failed = true;
        (void) sd_event_exit(t->event, r < 0 ? -r : r);
        return r;
}

bool txn_failed(const Txn *t) {
        return t->failed;
}

int txn_commit(Txn *t) {
        int r;

        if (t->failed)
                return -EIO;
        /* A hook that commits (e.g. through a verb it calls) must not recurse. */
        if (t->committing)
                return 0;
        t->committing = true;
        for (TxnHook *h = t->hooks[TXN_HOOK_PRECOMMIT], *next; h; h = next) {
                next = h->next;
                r = h->func(t, h->userdata);
                if (r < 0) {
                        t->committing = false;
                        /* The hook names what failed when it logs; this is the fallback. */
                        return txn_fatal(t, r, "prepare the commit");
                }
        }
        if (!t->open) {
                t->committing = false;
                return 0;
        }
        r = store_commit(t->store);
        if (r < 0) {
                t->committing = false;
                return txn_fatal(t, r, "commit to the database");
        }
        t->open = false;
        t->n_commits++;
        for (TxnHook *h = t->hooks[TXN_HOOK_POSTCOMMIT], *next; h; h = next) {
                next = h->next;
                r = h->func(t, h->userdata);
                if (r < 0)
                        log_warning_errno(r, "After-commit work failed: %m, ignoring");
        }
        t->committing = false;
        return 0;
}

uint64_t txn_commits(const Txn *t) {
        return t->n_commits;
}

uint64_t txn_commit_errors(const Txn *t) {
        return t->n_errors;
}
