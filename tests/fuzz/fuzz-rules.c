/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point: the *.rules reader and whatever rules it accepts,
 * run over a few fixed lines (PCRE2 limits must hold for hostile patterns). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const lines[] = {
                "Traceback (most recent call last):", "  File \"x.py\", line 1",
                "ModuleNotFoundError: No module named 'yaml'", "ERROR: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
                "FAILURE: Build failed with an exception.", "BUILD FAILED in 1s", "",
        };
        DetectRules *r = NULL;
        DetectEngine *e = NULL;
        DetectRuleErrors errs = {};

        if (detect_rules_new(DETECT_RULES_NO_JIT, &r) < 0)
                abort();
        (void) detect_rules_load_string(r, "fuzz.rules", (const char *) data, size, &errs);
        detect_rule_errors_done(&errs);
        if (detect_engine_new(r, NULL, &e) >= 0) {
                for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
                        (void) detect_engine_feed(e, "s", lines[i], strlen(lines[i]), 0, NULL, NULL);
                (void) detect_engine_flush(e, NULL, UINT64_MAX, NULL, NULL);
                detect_engine_free(e);
        }
        detect_rules_unref(r);
        return 0;
}
