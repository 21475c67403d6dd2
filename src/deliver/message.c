/* SPDX-License-Identifier: MIT */
/* Message kinds; see message.h. Pure. */
#include <errno.h>
#include <string.h>

#include "deliver/message.h"
#include "shared/cleanup.h"

static const char *const kind_table[_MESSAGE_KIND_MAX] = {
        [MESSAGE_NEW] = "new",
        [MESSAGE_REPEAT] = "repeat",
        [MESSAGE_REGRESSION] = "regression",
        [MESSAGE_RESOLVED] = "resolved",
        [MESSAGE_FIX_SUCCEEDED] = "fix-succeeded",
        [MESSAGE_MANUAL_REQUIRED] = "manual-required",
        [MESSAGE_STATUS] = "status",
        [MESSAGE_TEST] = "test",
};

const char *message_kind_to_string(MessageKind k) {
        return k >= 0 && k < _MESSAGE_KIND_MAX ? kind_table[k] : NULL;
}

MessageKind message_kind_from_string(const char *s) {
        if (s)
                for (size_t i = 0; i < ELEMENTSOF(kind_table); i++)
                        if (strcmp(kind_table[i], s) == 0)
                                return (MessageKind) i;
        return _MESSAGE_KIND_INVALID;
}
