/* SPDX-License-Identifier: MIT */
/*
 * Where each source stands (a journal cursor, a file's offset, a spool
 * entry's mark), kept in memory and written to the store with the next
 * commit, in the same transaction as the incidents read up to there. Only
 * the newest position of a source is written: a journal moving entry by
 * entry costs one row update per commit, not one per entry. Loop thread only.
 */
#pragma once

#include "core/txn.h"
#include "store/incidents.h"

typedef struct Positions Positions;

/* Registers a pre-commit hook on t. Returns 0 or -errno. */
int positions_new(Txn *t, Store *store, Positions **ret);
Positions *positions_free(Positions *p);
DEFINE_CLEANUP(Positions, positions_free)

/* Records where source stands; saved with the next commit. pos is copied. */
int positions_set(Positions *p, const char *source, const StorePosition *pos);
/* Forgets a source's position at the next commit (a deleted file, a spool entry). */
int positions_drop(Positions *p, const char *source);
