/* SPDX-License-Identifier: MIT */
/*
 * The transaction owner: everything one loop iteration writes to the store
 * goes into one SQLite transaction, begun on demand by whoever writes first
 * (txn_begin) and committed once per iteration by a post event source.
 *
 * Pre-commit hooks run at the start of every commit, in priority order
 * (lower first), and add what is kept in memory between writes — the source
 * positions, the lines of blocks still being assembled; a hook that has
 * something to write begins the transaction itself. Post-commit hooks run
 * after a successful commit and act on what is now durable: they emit the
 * journal records and wake whatever consumes new work.
 *
 * A failed write or commit is fatal: the transaction is rolled back, the
 * loop exits with the error and nothing more is committed, so a restart
 * resumes from the last commit and nothing read is lost (crash-only).
 * Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "shared/cleanup.h"
#include "store/store.h"

typedef struct Txn Txn;
typedef struct TxnHook TxnHook;

typedef enum TxnHookKind {
        TXN_HOOK_PRECOMMIT,
        TXN_HOOK_POSTCOMMIT,
        _TXN_HOOK_KIND_MAX,
} TxnHookKind;

/* Pre-commit priorities: sources hand over positions before they are saved. */
enum {
        TXN_PRIORITY_SOURCES = -100,
        TXN_PRIORITY_DEFAULT = 0,
};

/* A pre-commit hook's negative return is fatal; a post-commit one's is logged. */
typedef int (*TxnHookFunc)(Txn *t, void *userdata);

int txn_new(sd_event *event, Store *store, Txn **ret);
/* Rolls back an open transaction (never commits) and frees. Accepts NULL. */
Txn *txn_free(Txn *t);
DEFINE_CLEANUP(Txn, txn_free)

/*
 * Registers a hook; destroy (may be NULL) is called on userdata when the
 * hook is removed. *ret (may be NULL) receives a handle for txn_hook_free().
 */
int txn_add_hook(Txn *t, TxnHookKind kind, int priority, TxnHookFunc f, void *userdata,
                 void (*destroy)(void *), TxnHook **ret);
/* Unregisters a hook. Accepts NULL; returns NULL. */
TxnHook *txn_hook_free(TxnHook *h);
DEFINE_CLEANUP(TxnHook, txn_hook_free)

/* Opens the transaction unless it is open. 0, -EIO after a failure, or -errno. */
int txn_begin(Txn *t);
bool txn_in_progress(const Txn *t);

/*
 * Runs the pre-commit hooks, commits when anything was written, then runs
 * the post-commit hooks. Returns 0 (also when there was nothing to do), or
 * the fatal error (see txn_fatal) — then it is -EIO from now on.
 */
int txn_commit(Txn *t);

/*
 * Ends the daemon on a failed write: logs "Cannot WHAT", rolls back, stops
 * the loop with the error. Returns r, for `return txn_fatal(...)`.
 */
int txn_fatal(Txn *t, int r, const char *what);
bool txn_failed(const Txn *t);

/* Successful commits so far, and failed ones (0 or 1). */
uint64_t txn_commits(const Txn *t);
uint64_t txn_commit_errors(const Txn *t);
