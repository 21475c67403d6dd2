/* SPDX-License-Identifier: MIT */
/*
 * The Manager owns appwatchd's state and its one sd-event loop on the main
 * thread: signals (TERM/INT exit, HUP reload), the systemd watchdog, sd_notify
 * (READY, STATUS, RELOADING, STOPPING), the control socket and the store.
 * Nothing here is thread-safe; workers never touch a Manager.
 */
#pragma once

#include <stdbool.h>

#include "shared/cleanup.h"
#include "shared/config.h"

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const char *config_path;   /* NULL: the default location */
        bool config_explicit;      /* --config was given: a missing file is an error */
        const char *state_dir;     /* NULL: $STATE_DIRECTORY or DEFAULT_STATE_DIR */
        const char *runtime_dir;   /* NULL: $RUNTIME_DIRECTORY or DEFAULT_RUNTIME_DIR */
        const char *spool_dir;     /* NULL: $APPWATCH_SPOOL_DIR or /var/spool/appwatch */
        bool dry_run;              /* fixes are logged as skipped */
} ManagerOptions;

/* Takes ownership of config. Returns 0 or -errno. */
int manager_new(const ManagerOptions *options, Config *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_CLEANUP(Manager, manager_free)

/*
 * Opens the store, arms every source and the control socket, then sends
 * READY=1. Returns 0 or a logged -errno.
 */
int manager_start(Manager *m);

/* Runs the loop until SIGTERM/SIGINT; sends STOPPING=1. Returns the exit code. */
int manager_run(Manager *m);

/*
 * Re-reads the configuration; on success swaps it in, otherwise keeps the old
 * one and logs CONFIG_REJECTED. Returns 0 or -EINVAL (rejected), -ENOMEM.
 */
int manager_reload(Manager *m);
