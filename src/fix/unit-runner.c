/* SPDX-License-Identifier: MIT */
/* The unit runner: see fix/runner.h. (Not there yet: the child runner runs.) */
#include <errno.h>

#include "runner-internal.h"

int fix_unit_runner_init(FixRunner *r) {
        return -EOPNOTSUPP;
}

void fix_unit_runner_done(FixRunner *r) {
}

int fix_unit_start(FixRun *run) {
        return -EOPNOTSUPP;
}

int fix_unit_adopt(FixRun *run) {
        return -EOPNOTSUPP;
}

void fix_unit_cancel(FixRun *run) {
}

void fix_unit_release(FixRun *run) {
}
