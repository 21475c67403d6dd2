/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry point, differential: the same input goes to two engines on
 * the shipped rule catalogue, one with the literal prefilter and one with
 * DetectOptions.no_prefilter (every rule on every block, every block starter
 * tried on every line). The prefilter is an optimisation only, so the two
 * must report the same findings (category, severity, fix, fingerprint, title,
 * line range, and the deciding rule, stream and excerpt) in the same order;
 * any difference aborts, after printing both. A required literal that
 * rules.c extracts wrongly (branch_literal) would otherwise make the
 * prefilter skip a rule without a trace.
 *
 * Input: the first byte picks small limits (bit 0), raw chunks instead of
 * lines (bit 1) and a flush after every line (bit 2); the rest is split into
 * lines. A line that starts with 0x01 moves on to the next of three streams,
 * one that starts with 0x02 advances the clock past the idle timeout.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Findings {
        Finding **items;
        size_t n, cap;
} Findings;

static DetectRules *rules;

static int collect(DetectEngine *e, const Finding *f, void *userdata) {
        Findings *l = userdata;
        Finding *copy;

        (void) e;
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                Finding **items = realloc(l->items, cap * sizeof(Finding *));

                if (!items)
                        abort();
                l->items = items;
                l->cap = cap;
        }
        if (finding_copy(f, &copy) < 0)
                abort();
        l->items[l->n++] = copy;
        return 0;
}

static void findings_done(Findings *l) {
        for (size_t i = 0; i < l->n; i++)
                finding_free(l->items[i]);
        free(l->items);
}

static void print_finding(const char *which, const Finding *f) {
        fprintf(stderr, "  %s: stream '%s' lines %" PRIu64 "-%" PRIu64 ", rule '%s', %s/%s, fix '%s', %s\n"
                        "      title '%s'\n",
                which, f->stream, f->line_start, f->line_end, f->rule,
                category_to_string(f->category), severity_to_string(f->severity), f->fix,
                f->fingerprint, f->title);
}

/* Aborts, after saying what differs, unless both engines found the same. */
static void compare(const Findings *with, const Findings *without) {
        for (size_t i = 0; i < with->n || i < without->n; i++) {
                const Finding *a = i < with->n ? with->items[i] : NULL;
                const Finding *b = i < without->n ? without->items[i] : NULL;

                if (a && b && a->category == b->category && a->severity == b->severity &&
                    a->line_start == b->line_start && a->line_end == b->line_end &&
                    strcmp(a->stream, b->stream) == 0 && strcmp(a->rule, b->rule) == 0 &&
                    strcmp(a->fix, b->fix) == 0 && strcmp(a->fingerprint, b->fingerprint) == 0 &&
                    strcmp(a->title, b->title) == 0 && strcmp(a->excerpt, b->excerpt) == 0)
                        continue;
                fprintf(stderr, "finding %zu of %zu/%zu differs with and without the prefilter:\n", i + 1,
                        with->n, without->n);
                if (a)
                        print_finding("prefilter   ", a);
                else
                        fprintf(stderr, "  prefilter   : (none)\n");
                if (b)
                        print_finding("no prefilter", b);
                else
                        fprintf(stderr, "  no prefilter: (none)\n");
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const streams[] = { "a", "b", "c" };
        DetectEngine *e[2] = {};
        Findings found[2] = {};
        DetectStats st[2];
        DetectOptions o = { .idle_timeout_usec = 100 };
        uint64_t clock = 1;
        size_t pos = 1;
        unsigned s = 0;

        if (!rules) {
                const char *dirs[] = { getenv("FUZZ_RULES_DIR") ?: FUZZ_RULES_DIR };

                if (detect_rules_new(0, &rules) < 0 || detect_rules_load_dirs(rules, dirs, 1, NULL) < 0)
                        abort();
        }
        if (size == 0)
                return 0;
        if (data[0] & 1) {
                o.max_line_length = 64;
                o.max_block_lines = 4;
                o.max_block_bytes = 256;
                o.max_streams = 2;
        }
        for (int k = 0; k < 2; k++) {
                o.no_prefilter = k == 1;
                if (detect_engine_new(rules, &o, &e[k]) < 0)
                        abort();
        }
        while (pos < size) {
                const uint8_t *nl = memchr(data + pos, '\n', size - pos);
                size_t len = nl ? (size_t) (nl - data) - pos : size - pos;
                int r[2];

                if (len > 0 && data[pos] == 0x01)
                        s = (s + 1) % 3;
                if (len > 0 && data[pos] == 0x02)
                        clock += 1000;
                for (int k = 0; k < 2; k++) {
                        if (data[0] & 2)
                                r[k] = detect_engine_feed_data(e[k], streams[s], (const char *) data + pos,
                                                               nl ? len + 1 : len, clock, collect, &found[k]);
                        else
                                r[k] = detect_engine_feed(e[k], streams[s], (const char *) data + pos, len,
                                                          clock, collect, &found[k]);
                        if (r[k] >= 0 && (data[0] & 4))
                                r[k] = detect_engine_flush(e[k], NULL, clock, collect, &found[k]);
                }
                /* -ENOMEM is the only error without a callback that fails. */
                if (r[0] < 0 || r[1] < 0)
                        goto finish;
                clock++;
                pos += len + 1;
        }
        if (detect_engine_next_deadline(e[0]) != detect_engine_next_deadline(e[1])) {
                fprintf(stderr, "the next deadline differs with and without the prefilter\n");
                abort();
        }
        for (int k = 0; k < 2; k++)
                if (detect_engine_flush(e[k], NULL, UINT64_MAX, collect, &found[k]) < 0)
                        goto finish;
        compare(&found[0], &found[1]);
        /* The same lines kept and cut. (Blocks classified differ by design:
         * a one-line block without a candidate rule is not classified.) */
        detect_engine_get_stats(e[0], &st[0]);
        detect_engine_get_stats(e[1], &st[1]);
        if (st[0].lines != st[1].lines || st[0].echoes != st[1].echoes ||
            st[0].truncated_lines != st[1].truncated_lines || st[0].truncated_blocks != st[1].truncated_blocks) {
                fprintf(stderr, "with and without the prefilter: %" PRIu64 "/%" PRIu64 " echoes, %" PRIu64
                                "/%" PRIu64 " truncated blocks\n",
                        st[0].echoes, st[1].echoes, st[0].truncated_blocks, st[1].truncated_blocks);
                abort();
        }
finish:
        for (int k = 0; k < 2; k++) {
                detect_engine_free(e[k]);
                findings_done(&found[k]);
        }
        return 0;
}
