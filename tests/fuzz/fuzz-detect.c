/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer entry point: the engine (assembly, prefilter, rules,
 * fingerprints) over arbitrary bytes with the shipped rule catalogue. The
 * first byte picks small limits, so truncation paths are reached; lines that
 * start with 0x01 switch between three streams, and 0x02 advances the clock
 * past the idle timeout.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static DetectRules *rules;

static int sink(DetectEngine *e, const Finding *f, void *userdata) {
        size_t *n = userdata;

        (void) e;
        /* touch every string, as a consumer would */
        *n += strlen(f->title) + strlen(f->excerpt) + strlen(f->fix) + strlen(f->fingerprint);
        for (size_t i = 0; i < f->n_params; i++)
                *n += strlen(f->params[i].name) + strlen(f->params[i].value);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const streams[] = { "a", "b", "c" };
        DetectEngine *e = NULL;
        DetectOptions o = {};
        uint64_t clock = 1;
        size_t pos = 1, n = 0;
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
        o.idle_timeout_usec = 100;
        if (detect_engine_new(rules, &o, &e) < 0)
                abort();
        while (pos < size) {
                const uint8_t *nl = memchr(data + pos, '\n', size - pos);
                size_t len = nl ? (size_t) (nl - data) - pos : size - pos;

                if (len > 0 && data[pos] == 0x01)
                        s = (s + 1) % 3;
                if (len > 0 && data[pos] == 0x02)
                        clock += 1000;
                if (data[0] & 2)
                        (void) detect_engine_feed_data(e, streams[s], (const char *) data + pos,
                                                       nl ? len + 1 : len, clock++, sink, &n);
                else
                        (void) detect_engine_feed(e, streams[s], (const char *) data + pos, len, clock++,
                                                  sink, &n);
                if (data[0] & 4)
                        (void) detect_engine_flush(e, NULL, clock, sink, &n);
                pos += len + 1;
        }
        (void) detect_engine_next_deadline(e);
        (void) detect_engine_flush(e, NULL, UINT64_MAX, sink, &n);
        detect_engine_free(e);
        return 0;
}
