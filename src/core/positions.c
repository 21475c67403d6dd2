/* SPDX-License-Identifier: MIT */
/* Source positions saved at commit; see positions.h. Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/positions.h"
#include "shared/log.h"
#include "shared/parse.h"

typedef struct Slot {
        char *source;
        StorePosition pos;
        bool drop;
} Slot;

struct Positions {
        Store *store;
        TxnHook *hook;
        Slot *slots;
        size_t n_slots;
};

static void slots_clear(Positions *p) {
        for (size_t i = 0; i < p->n_slots; i++) {
                free(p->slots[i].source);
                store_position_done(&p->slots[i].pos);
        }
        p->n_slots = 0;
}

static int on_precommit(Txn *t, void *userdata) {
        Positions *p = userdata;
        int64_t now = (int64_t) now_realtime();
        int r;

        if (p->n_slots == 0)
                return 0;
        r = txn_begin(t);
        if (r < 0)
                return txn_fatal(t, r, "begin a transaction");
        for (size_t i = 0; i < p->n_slots; i++) {
                Slot *s = &p->slots[i];
                r = s->drop ? position_delete(p->store, s->source)
                            : position_save(p->store, s->source, &s->pos, now);
                if (r < 0)
                        return txn_fatal(t, r, "save a source position");
        }
        slots_clear(p);
        return 0;
}

int positions_new(Txn *t, Store *store, Positions **ret) {
        _cleanup_(positions_freep) Positions *p = NULL;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->store = store;
        r = txn_add_hook(t, TXN_HOOK_PRECOMMIT, TXN_PRIORITY_DEFAULT, on_precommit, p, NULL,
                         &p->hook);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

Positions *positions_free(Positions *p) {
        if (!p)
                return NULL;
        txn_hook_free(p->hook);
        slots_clear(p);
        free(p->slots);
        free(p);
        return NULL;
}

static Slot *slot_get(Positions *p, const char *source) {
        Slot *n;

        for (size_t i = 0; i < p->n_slots; i++)
                if (strcmp(p->slots[i].source, source) == 0)
                        return &p->slots[i];
        n = realloc(p->slots, sizeof(Slot) * (p->n_slots + 1));
        if (!n)
                return NULL;
        p->slots = n;
        n = &p->slots[p->n_slots];
        *n = (Slot) { .source = strdup(source) };
        if (!n->source)
                return NULL;
        p->n_slots++;
        return n;
}

int positions_set(Positions *p, const char *source, const StorePosition *pos) {
        Slot *slot = slot_get(p, source);
        char *cursor = NULL;

        if (!slot)
                return -ENOMEM;
        if (pos->cursor && !(cursor = strdup(pos->cursor)))
                return -ENOMEM;
        store_position_done(&slot->pos);
        slot->pos = *pos;
        slot->pos.cursor = cursor;
        slot->drop = false;
        return 0;
}

int positions_drop(Positions *p, const char *source) {
        Slot *slot = slot_get(p, source);

        if (!slot)
                return -ENOMEM;
        store_position_done(&slot->pos);
        slot->drop = true;
        return 0;
}
