/* SPDX-License-Identifier: MIT */
/*
 * Literal prefilter: one Aho-Corasick automaton, compiled to a dense DFA over
 * byte classes and folded to lower case, over the required literals of all
 * rules and of their patterns, and over the few literals that can start a
 * multi-line block. One pass over a line yields the set of rules and patterns
 * that might match it and the block kinds it might start, so PCRE2 only runs
 * candidate patterns on candidate blocks. Built once when the rules are
 * sealed; read-only afterwards and safe to share between threads.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect-internal.h"
#include "shared/cleanup.h"

#define OUT_FLAG UINT32_C(0x80000000)

/* Literals are cut to their first LITERAL_MAX bytes: what must occur in a
 * match, its start must too, so the filter stays sound, and a line of any
 * length can be scanned as overlapping parts (see scan below). */
#define LITERAL_MAX 16
/* Lines at least this long are scanned as two halves at once, or four
 * quarters. */
#define SPLIT_MIN (2 * LITERAL_MAX)
#define SPLIT4_MIN (3 * LITERAL_MAX)

static const struct {
        const char *literal;
        uint32_t hint;
} hint_literals[] = {
        { "traceback (most recent call last)", DETECT_HINT_PY_TRACEBACK },
        { "file \"", DETECT_HINT_PY_FILE },
        { "failure: ", DETECT_HINT_GRADLE },
        { "* what went wrong:", DETECT_HINT_GRADLE },
        { "could not resolve all ", DETECT_HINT_GRADLE },
        { "because ", DETECT_HINT_PUB },
        { ".dart:", DETECT_HINT_DART },
        { "unhandled exception", DETECT_HINT_UNHANDLED },
        { "error: ", DETECT_HINT_ERROR },
        { "error (xcode)", DETECT_HINT_XCODE },
        { "[!] ", DETECT_HINT_PODS },
        { "xcode", DETECT_HINT_XCODE },
        { "failed to build ios app", DETECT_HINT_XCODE },
        { "** build failed **", DETECT_HINT_XCODE },
        { "** archive failed **", DETECT_HINT_XCODE },
        { "build commands failed", DETECT_HINT_XCODE },
        { "error output from cocoapods", DETECT_HINT_PODS },
        { "exception caught by", DETECT_HINT_FLUTTER_BOX },
        { "requirement already satisfied: ", DETECT_HINT_PIP_SATISFIED },
        { "name: ", DETECT_HINT_PIP_SHOWN },
};

/* A state's output, sparse: of a bitset of several hundred patterns a
 * literal sets bits in one or two words. */
typedef struct OutSet {
        uint32_t *word;                         /* n: which words ... */
        uint64_t *bits;                         /* ... and their bits */
        uint32_t n;
        uint32_t hints;
} OutSet;

struct DetectPrefilter {
        uint8_t cls[256];
        uint32_t n_cls;
        uint32_t n_states;
        uint32_t *delta;                        /* [state * n_cls + cls] = next * n_cls | OUT_FLAG */
        uint32_t *out;                          /* per state: index into sets */
        OutSet *sets;
        uint32_t n_sets;
};

typedef struct Builder {
        uint32_t n_cls;
        int32_t *go;                            /* trie goto, -1 = none; n_states * n_cls */
        uint32_t *fail;
        uint64_t *bits;                         /* n_states * n_words */
        uint32_t *hints;
        uint32_t n_states, cap;
        size_t n_words;
} Builder;

static int builder_new_state(Builder *b, uint32_t *ret) {
        if (b->n_states == b->cap) {
                uint32_t cap = b->cap ? b->cap * 2 : 256;
                int32_t *go = reallocarray(b->go, (size_t) cap * b->n_cls, sizeof(int32_t));
                if (!go)
                        return -ENOMEM;
                b->go = go;
                uint64_t *bits = reallocarray(b->bits, (size_t) cap * b->n_words, sizeof(uint64_t));
                if (!bits)
                        return -ENOMEM;
                b->bits = bits;
                uint32_t *hints = reallocarray(b->hints, cap, sizeof(uint32_t));
                if (!hints)
                        return -ENOMEM;
                b->hints = hints;
                b->cap = cap;
        }
        for (uint32_t c = 0; c < b->n_cls; c++)
                b->go[(size_t) b->n_states * b->n_cls + c] = -1;
        memset(b->bits + (size_t) b->n_states * b->n_words, 0, b->n_words * sizeof(uint64_t));
        b->hints[b->n_states] = 0;
        *ret = b->n_states++;
        return 0;
}

/* Adds a literal that sets bit (SIZE_MAX: none) and hint. */
static int builder_add(Builder *b, const uint8_t *cls, const char *lit, size_t bit, uint32_t hint) {
        uint32_t s = 0;
        int r;

        for (const char *p = lit; *p && p < lit + LITERAL_MAX; p++) {
                uint32_t c = cls[(uint8_t) *p];
                int32_t t = b->go[(size_t) s * b->n_cls + c];

                if (t < 0) {
                        uint32_t n;

                        r = builder_new_state(b, &n);
                        if (r < 0)
                                return r;
                        b->go[(size_t) s * b->n_cls + c] = (int32_t) n;
                        t = (int32_t) n;
                }
                s = (uint32_t) t;
        }
        if (bit != SIZE_MAX)
                b->bits[(size_t) s * b->n_words + bit / 64] |= UINT64_C(1) << (bit % 64);
        b->hints[s] |= hint;
        return 0;
}

static void builder_done(Builder *b) {
        free(b->go);
        free(b->fail);
        free(b->bits);
        free(b->hints);
}

DetectPrefilter *detect_prefilter_free(DetectPrefilter *p) {
        if (!p)
                return NULL;
        for (uint32_t i = 0; i < p->n_sets; i++) {
                free(p->sets[i].word);
                free(p->sets[i].bits);
        }
        free(p->sets);
        free(p->delta);
        free(p->out);
        free(p);
        return NULL;
}
DEFINE_CLEANUP(DetectPrefilter, detect_prefilter_free)

size_t detect_prefilter_states(const DetectPrefilter *p) {
        return p ? p->n_states : 0;
}

/* Renumbers the states in breadth-first order (the order of queue[]). The
 * trie numbers them as the literals were added, so the few shallow states
 * that almost every byte visits lie scattered over the whole table; in
 * breadth-first order they share the table's first pages and stay in the
 * nearest cache however many literals the rules add. */
static int prefilter_renumber(DetectPrefilter *p, const uint32_t *queue) {
        _cleanup_free_ uint32_t *perm = NULL, *delta = NULL, *out = NULL;
        uint32_t n_cls = p->n_cls;

        perm = calloc(p->n_states, sizeof(uint32_t));
        delta = calloc((size_t) p->n_states * n_cls, sizeof(uint32_t));
        out = calloc(p->n_states, sizeof(uint32_t));
        if (!perm || !delta || !out)
                return -ENOMEM;
        for (uint32_t i = 0; i < p->n_states; i++)
                perm[queue[i]] = i;
        for (uint32_t s = 0; s < p->n_states; s++) {
                for (uint32_t c = 0; c < n_cls; c++) {
                        uint32_t d = p->delta[(size_t) s * n_cls + c];

                        delta[(size_t) perm[s] * n_cls + c] =
                                perm[(d & ~OUT_FLAG) / n_cls] * n_cls | (d & OUT_FLAG);
                }
                out[perm[s]] = p->out[s];
        }
        free(p->delta);
        free(p->out);
        p->delta = TAKE_PTR(delta);
        p->out = TAKE_PTR(out);
        return 0;
}

static bool outset_equal(const OutSet *o, const uint64_t *bits, size_t n_words, uint32_t hints) {
        uint32_t k = 0;

        if (o->hints != hints)
                return false;
        for (size_t w = 0; w < n_words; w++) {
                if (bits[w] == 0)
                        continue;
                if (k == o->n || o->word[k] != w || o->bits[k] != bits[w])
                        return false;
                k++;
        }
        return k == o->n;
}

static int outset_init(OutSet *o, const uint64_t *bits, size_t n_words, uint32_t hints) {
        uint32_t n = 0;

        *o = (OutSet) { .hints = hints };
        for (size_t w = 0; w < n_words; w++)
                n += bits[w] != 0;
        if (n == 0)
                return 0;
        o->word = calloc(n, sizeof(uint32_t));
        o->bits = calloc(n, sizeof(uint64_t));
        if (!o->word || !o->bits) {
                free(o->word);
                free(o->bits);
                *o = (OutSet) {};
                return -ENOMEM;
        }
        for (size_t w = 0; w < n_words; w++)
                if (bits[w] != 0) {
                        o->word[o->n] = (uint32_t) w;
                        o->bits[o->n++] = bits[w];
                }
        return 0;
}

static size_t outset_hash(const uint64_t *bits, size_t n_words, uint32_t hints) {
        uint64_t h = UINT64_C(0xcbf29ce484222325) ^ hints;

        for (size_t w = 0; w < n_words; w++)
                h = (h ^ bits[w]) * UINT64_C(0x100000001b3);
        return (size_t) (h ^ (h >> 29));
}

/* Marks the bytes of lit that builder_add() puts in the automaton. */
static void mark_used(bool used[static 256], const char *lit) {
        for (const char *c = lit; *c && c < lit + LITERAL_MAX; c++)
                used[(uint8_t) *c] = true;
}

static int prefilter_build(DetectPrefilter *p, const DetectRules *rules) {
        _cleanup_free_ uint32_t *queue = NULL, *slots = NULL;
        Builder b = { .n_words = rules->n_cand_words };
        uint32_t root, head = 0, tail = 0;
        int r;

        /* Byte classes: one per distinct folded byte of what the automaton
         * holds of the literals. */
        bool used[256] = {};
        for (size_t i = 0; i < rules->n_rules; i++) {
                const DetectRule *rule = rules->rules[i];

                for (size_t j = 0; j < rule->n_literals; j++)
                        mark_used(used, rule->literals[j]);
                for (size_t j = 0; j < rule->n_patterns; j++)
                        for (size_t k = 0; k < rule->patterns[j].n_literals; k++)
                                mark_used(used, rule->patterns[j].literals[k]);
        }
        for (size_t i = 0; i < ELEMENTSOF(hint_literals); i++)
                mark_used(used, hint_literals[i].literal);
        /* Bytes of non-ASCII text (0x80-0xff) share one class. Literals in
         * other scripts (javac's "错误", "Отказано в доступе") would add a
         * class for each byte they use, and the table grows with the classes
         * (states x classes) past the cache; sharing one only makes the
         * filter pass a few more lines on to PCRE2, which decides. */
        bool high = false;
        for (int c = 0x80; c < 256; c++)
                high = high || used[c];
        p->n_cls = 1;
        for (int c = 0; c < 0x80; c++)
                if (used[c] && !(c >= 'A' && c <= 'Z'))
                        p->cls[c] = (uint8_t) p->n_cls++;
        if (high) {
                for (int c = 0x80; c < 256; c++)
                        p->cls[c] = (uint8_t) p->n_cls;
                p->n_cls++;
        }
        for (int c = 'A'; c <= 'Z'; c++)
                p->cls[c] = p->cls[tolower(c)];
        /* 256 byte values, at most 230 after folding: always fits a uint8_t. */
        b.n_cls = p->n_cls;

        r = builder_new_state(&b, &root);
        if (r < 0)
                goto finish;
        for (size_t i = 0; i < rules->n_rules; i++) {
                const DetectRule *rule = rules->rules[i];

                for (size_t j = 0; j < rule->n_literals; j++) {
                        r = builder_add(&b, p->cls, rule->literals[j], i, 0);
                        if (r < 0)
                                goto finish;
                }
                for (size_t j = 0; j < rule->n_patterns; j++)
                        for (size_t k = 0; k < rule->patterns[j].n_literals; k++) {
                                r = builder_add(&b, p->cls, rule->patterns[j].literals[k],
                                                rule->patterns[j].bit, 0);
                                if (r < 0)
                                        goto finish;
                        }
        }
        for (size_t i = 0; i < ELEMENTSOF(hint_literals); i++) {
                r = builder_add(&b, p->cls, hint_literals[i].literal, SIZE_MAX, hint_literals[i].hint);
                if (r < 0)
                        goto finish;
        }

        /* Breadth-first: failure links, merged outputs, and the dense DFA. */
        b.fail = calloc(b.n_states, sizeof(uint32_t));
        queue = calloc(b.n_states, sizeof(uint32_t));
        p->delta = calloc((size_t) b.n_states * b.n_cls, sizeof(uint32_t));
        p->out = calloc(b.n_states, sizeof(uint32_t));
        if (!b.fail || !queue || !p->delta || !p->out) {
                r = -ENOMEM;
                goto finish;
        }
        p->n_states = b.n_states;
        queue[tail++] = 0;
        while (head < tail) {
                uint32_t s = queue[head++];

                for (uint32_t c = 0; c < b.n_cls; c++) {
                        int32_t t = b.go[(size_t) s * b.n_cls + c];

                        if (t >= 0) {
                                uint32_t f = s == 0 ? 0 : p->delta[(size_t) b.fail[s] * b.n_cls + c] & ~OUT_FLAG;

                                f /= b.n_cls;
                                b.fail[t] = (uint32_t) t == f ? 0 : f;
                                for (size_t w = 0; w < b.n_words; w++)
                                        b.bits[(size_t) t * b.n_words + w] |=
                                                b.bits[(size_t) b.fail[t] * b.n_words + w];
                                b.hints[t] |= b.hints[b.fail[t]];
                                p->delta[(size_t) s * b.n_cls + c] = (uint32_t) t * b.n_cls;
                                queue[tail++] = (uint32_t) t;
                        } else
                                p->delta[(size_t) s * b.n_cls + c] =
                                        s == 0 ? 0 : p->delta[(size_t) b.fail[s] * b.n_cls + c];
                }
        }

        /* Distinct output sets, found through a hash table (thousands of
         * states, as many sets); states with one get OUT_FLAG in every edge
         * into them. */
        size_t n_slots = 64;
        while (n_slots < 2 * (size_t) b.n_states)
                n_slots *= 2;
        slots = malloc(n_slots * sizeof(uint32_t));
        if (!slots) {
                r = -ENOMEM;
                goto finish;
        }
        memset(slots, 0xff, n_slots * sizeof(uint32_t));
        for (uint32_t s = 0; s < b.n_states; s++) {
                bool any = b.hints[s] != 0;
                uint32_t k;

                for (size_t w = 0; w < b.n_words && !any; w++)
                        any = b.bits[(size_t) s * b.n_words + w] != 0;
                if (!any) {
                        p->out[s] = UINT32_MAX;
                        continue;
                }
                const uint64_t *bits = b.bits + (size_t) s * b.n_words;
                size_t h = outset_hash(bits, b.n_words, b.hints[s]) & (n_slots - 1);
                for (; (k = slots[h]) != UINT32_MAX; h = (h + 1) & (n_slots - 1))
                        if (outset_equal(&p->sets[k], bits, b.n_words, b.hints[s]))
                                break;
                if (k == UINT32_MAX) {
                        k = p->n_sets;
                        slots[h] = k;
                        OutSet *ns = reallocarray(p->sets, p->n_sets + 1, sizeof(OutSet));
                        if (!ns) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        p->sets = ns;
                        r = outset_init(&ns[k], bits, b.n_words, b.hints[s]);
                        if (r < 0)
                                goto finish;
                        p->n_sets++;
                }
                p->out[s] = k;
        }
        for (size_t i = 0; i < (size_t) b.n_states * b.n_cls; i++) {
                uint32_t t = p->delta[i] / b.n_cls;

                if (p->out[t] != UINT32_MAX)
                        p->delta[i] |= OUT_FLAG;
        }
        r = prefilter_renumber(p, queue);
finish:
        builder_done(&b);
        return r;
}

int detect_prefilter_new(const DetectRules *rules, DetectPrefilter **ret) {
        _cleanup_(detect_prefilter_freep) DetectPrefilter *p = NULL;
        int r;

        p = calloc(1, sizeof(DetectPrefilter));
        if (!p)
                return -ENOMEM;
        r = prefilter_build(p, rules);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

static inline __attribute__((__always_inline__)) uint32_t
prefilter_output(const DetectPrefilter *p, uint32_t st, uint64_t *bits) {
        const OutSet *o = &p->sets[p->out[st / p->n_cls]];

        for (uint32_t k = 0; k < o->n; k++)
                bits[o->word[k]] |= o->bits[k];
        return o->hints | DETECT_HINT_LITERAL;
}

/* One step of the automaton. The byte's column first, then the state's row
 * in it: the column does not depend on the state, so each step waits only
 * for the previous step's load (delta[st + c] puts the add on that chain
 * too: a cycle a byte). */
#define STEP(st, byte)                                                          \
        do {                                                                    \
                const uint32_t *_column = delta + cls[(byte)];                  \
                /* keeps the compiler from folding the two adds together */     \
                __asm__("" : "+r"(_column));                                    \
                (st) = _column[st];                                             \
                if (_unlikely_((st) & OUT_FLAG)) {                              \
                        (st) &= ~OUT_FLAG;                                      \
                        hints |= prefilter_output(p, (st), bits);               \
                }                                                               \
        } while (0)

uint32_t detect_prefilter_scan(const DetectPrefilter *p, const char *s, size_t n, uint64_t *bits) {
        const uint32_t *delta = p->delta;
        const uint8_t *cls = p->cls;
        const uint8_t *u = (const uint8_t *) s;
        uint32_t a = 0, b = 0, hints = 0;
        size_t i = 0;

        /* Each step waits for the one before it, so one walk over a line
         * runs at the latency of a load, not at the machine's width. A long
         * line is walked as four quarters (or two halves) at once, four
         * chains of loads in flight. Each walk starts LITERAL_MAX - 1 bytes
         * before the previous one ends: a literal that ends in a walk but
         * not in the one before starts in it too. */
        if (n >= SPLIT4_MIN) {
                /* four walks of len bytes: 4 len - 3 (LITERAL_MAX - 1) >= n */
                size_t len = (n + 3 * (LITERAL_MAX - 1) + 3) / 4, step = len - (LITERAL_MAX - 1);
                const uint8_t *u1 = u + step, *u2 = u + 2 * step, *u3 = u + n - len;
                uint32_t c = 0, d = 0;

                for (; i < len; i++) {
                        STEP(a, u[i]);
                        STEP(b, u1[i]);
                        STEP(c, u2[i]);
                        STEP(d, u3[i]);
                }
                return hints;
        }
        if (n >= SPLIT_MIN) {
                size_t half = (n + LITERAL_MAX) / 2, second = n - half;

                /* the first walk covers [0, half), the second [second, n) */
                for (; i < half; i++) {
                        STEP(a, u[i]);
                        STEP(b, u[second + i]);
                }
                return hints;
        }
        for (; i < n; i++)
                STEP(a, u[i]);
        return hints;
}
