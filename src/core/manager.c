/* SPDX-License-Identifier: MIT */
/* The daemon's loop and lifecycle; see manager.h. Main thread only. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "config.h"
#include "core/control.h"
#include "core/manager.h"
#include "shared/catalog-ids.h"
#include "shared/log.h"
#include "shared/protocol.h"
#include "store/store.h"

#define CONTROL_FD_NAME "control"
#define CONTROL_GROUP "appwatch"

struct Manager {
        sd_event *event;
        Config *config;
        char *config_path;
        bool config_explicit;
        bool dry_run;
        char *state_dir;
        char *runtime_dir;
        char *socket_path;        /* NULL when socket-activated */
        bool socket_activated;
        Store *store;
        ControlServer *control;
        usec_t start_monotonic;
        unsigned n_reloads;
        unsigned n_reloads_rejected;
        char *last_status;
};

static char *pick_dir(const char *option, const char *env, const char *fallback) {
        const char *e = getenv(env);

        if (option)
                return strdup(option);
        if (e && e[0])
                /* systemd passes a colon-separated list; the first entry is ours. */
                return strndup(e, strcspn(e, ":"));
        return strdup(fallback);
}

int manager_new(const ManagerOptions *options, Config *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;

        m = calloc(1, sizeof *m);
        if (!m) {
                config_free(config);
                return -ENOMEM;
        }
        *m = (Manager) {
                .config = config,
                .config_explicit = options->config_explicit,
                .dry_run = options->dry_run,
                .start_monotonic = now_monotonic(),
        };
        m->config_path = options->config_path ? strdup(options->config_path) : NULL;
        m->state_dir = pick_dir(options->state_dir, "STATE_DIRECTORY", DEFAULT_STATE_DIR);
        m->runtime_dir = pick_dir(options->runtime_dir, "RUNTIME_DIRECTORY", DEFAULT_RUNTIME_DIR);
        if ((options->config_path && !m->config_path) || !m->state_dir || !m->runtime_dir)
                return -ENOMEM;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        control_server_free(m->control);
        store_free(m->store);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m->socket_path);
        free(m->last_status);
        free(m);
        return NULL;
}

static size_t count_sources(const Config *c) {
        return (c->journal_enabled ? 1 : 0) + c->n_watches;
}

/*
 * Sends STATUS= when it changed, together with extra (e.g. "READY=1") when
 * that is given; cheap enough to call after every event.
 */
static void manager_notify_status(Manager *m, const char *prefix, const char *extra) {
        StoreStats st = {};
        _cleanup_free_ char *s = NULL;

        (void) store_stats(m->store, (int64_t) now_realtime(), &st);
        if (asprintf(&s, "%s%zu source%s, %llu incident%s today, %llu open, queue 0/%u",
                     prefix ?: "", count_sources(m->config),
                     count_sources(m->config) == 1 ? "" : "s",
                     (unsigned long long) st.incidents_today, st.incidents_today == 1 ? "" : "s",
                     (unsigned long long) st.incidents_open, m->config->queue_size) < 0)
                return;
        if (!extra && m->last_status && strcmp(m->last_status, s) == 0)
                return;
        (void) sd_notifyf(false, "%s%sSTATUS=%s", extra ?: "", extra ? "\n" : "", s);
        free(m->last_status);
        m->last_status = TAKE_PTR(s);
}

static ControlLimits limits_from_config(const Config *c) {
        return (ControlLimits) {
                .max_request = c->max_request_bytes,
                .max_output = 4 * 1024 * 1024,
                .max_clients = c->max_clients,
                .idle_timeout = c->client_timeout,
        };
}

static void log_diags(const ConfigDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                const ConfigDiag *x = &d->items[i];
                int level = x->level == CONFIG_DIAG_ERROR ? LOG_ERR : LOG_WARNING;
                if (x->line > 0)
                        log_full_errno(level, 0, "%s:%u: %s", x->file, x->line, x->message);
                else
                        log_full_errno(level, 0, "%s: %s", x->file, x->message);
        }
}

int manager_reload(Manager *m) {
        _cleanup_(config_diags_done) ConfigDiags diags = {};
        Config *c = NULL;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nSTATUS=Reloading configuration...\n"
                          "MONOTONIC_USEC=%llu", (unsigned long long) now_monotonic());

        r = config_load(m->config_path, m->config_explicit, &c, &diags);
        log_diags(&diags);
        if (r < 0) {
                _cleanup_free_ char *reason = NULL;
                const ConfigDiag *first = NULL;

                for (size_t i = 0; i < diags.n && !first; i++)
                        if (diags.items[i].level == CONFIG_DIAG_ERROR)
                                first = &diags.items[i];
                if (first)
                        r = asprintf(&reason, "%s:%u: %s", first->file, first->line,
                                     first->message) < 0 ? -ENOMEM : r;
                m->n_reloads_rejected++;
                const char *fields[] = { "APPWATCH_RESULT=rejected", NULL };
                log_event(LOG_ERR, MESSAGE_ID_CONFIG_REJECTED, fields,
                          "Configuration rejected, keeping the running one: %s",
                          reason ?: strerror(-r));
                manager_notify_status(m, "Reload rejected, old configuration kept; ", "READY=1");
                return r == -ENOMEM ? r : -EINVAL;
        }

        config_free(m->config);
        m->config = c;
        if (m->control) {
                ControlLimits limits = limits_from_config(c);
                control_server_set_limits(m->control, &limits);
        }
        m->n_reloads++;
        const char *fields[] = { "APPWATCH_RESULT=reloaded", NULL };
        log_event(LOG_INFO, MESSAGE_ID_RELOADED, fields, "Configuration reloaded from %s.",
                  m->config->path);
        manager_notify_status(m, "Ready: ", "READY=1");
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, shutting down.", strsignal((int) si->ssi_signo));
        return sd_event_exit(m->event, 0);
}

static int json_set_strv(json_t *o, const char *key, char **l) {
        json_t *a = json_array();

        if (!a)
                return -ENOMEM;
        for (char **i = l; i && *i; i++)
                if (json_array_append_new(a, json_string(*i)) < 0) {
                        json_decref(a);
                        return -ENOMEM;
                }
        return json_object_set_new(o, key, a) < 0 ? -ENOMEM : 0;
}

static int build_status(Manager *m, json_t **ret) {
        json_auto_t *o = NULL, *watches = NULL, *journal = NULL;
        StoreStats st = {};
        int r;

        r = store_stats(m->store, (int64_t) now_realtime(), &st);
        if (r < 0)
                return r;
        watches = json_array();
        if (!watches)
                return -ENOMEM;
        for (size_t i = 0; i < m->config->n_watches; i++) {
                const ConfigWatch *w = &m->config->watches[i];
                if (json_array_append_new(watches, json_pack("{s:s, s:s?, s:s?}", "name", w->name,
                                                             "path", w->path, "app", w->app)) < 0)
                        return -ENOMEM;
        }
        journal = json_pack("{s:b, s:s?, s:s}", "enabled", m->config->journal_enabled,
                            "directory", m->config->journal_directory, "min_priority",
                            (const char *[]) { "emerg", "alert", "crit", "err", "warning",
                                               "notice", "info", "debug" }
                                    [m->config->journal_min_priority & 7]);
        if (!journal || json_set_strv(journal, "units", m->config->journal_units) < 0 ||
            json_set_strv(journal, "identifiers", m->config->journal_identifiers) < 0)
                return -ENOMEM;

        o = json_pack("{s:s, s:s, s:i, s:I, s:s, s:o, s:s, s:s, s:i, s:s?, s:b, s:{s:o, s:o, s:i},"
                      " s:{s:i, s:i, s:I, s:i}, s:{s:I, s:I, s:I, s:I, s:i, s:i}}",
                      "version", PACKAGE_VERSION,
                      "state", "running",
                      "pid", (int) getpid(),
                      "uptime_usec", (json_int_t) (now_monotonic() - m->start_monotonic),
                      "config", m->config->path,
                      "config_files", json_array(),
                      "state_dir", m->state_dir,
                      "database", store_path(m->store),
                      "schema_version", store_schema_version(m->store),
                      "socket", m->socket_path,
                      "socket_activated", m->socket_activated,
                      "sources",
                        "journal", TAKE_PTR(journal),
                        "watches", TAKE_PTR(watches),
                        "apps", (int) m->config->n_apps,
                      "queues",
                        "jobs", 0,
                        "jobs_max", (int) m->config->queue_size,
                        "outbox_pending", (json_int_t) st.outbox_pending,
                        "clients", (int) control_server_n_clients(m->control),
                      "counts",
                        "incidents_total", (json_int_t) st.incidents_total,
                        "incidents_open", (json_int_t) st.incidents_open,
                        "incidents_today", (json_int_t) st.incidents_today,
                        "occurrences_total", (json_int_t) st.occurrences_total,
                        "reloads", (int) m->n_reloads,
                        "reloads_rejected", (int) m->n_reloads_rejected);
        if (!o)
                return -ENOMEM;
        r = json_set_strv(o, "config_files", m->config->files);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int on_control_request(void *userdata, const ControlPeer *peer, const char *verb,
                              json_t *args, json_t **ret_data, char **ret_message) {
        Manager *m = userdata;
        int r;

        if (strcmp(verb, "ping") == 0) {
                *ret_data = json_pack("{s:s}", "version", PACKAGE_VERSION);
                return *ret_data ? 0 : -ENOMEM;
        }
        if (strcmp(verb, "status") == 0)
                return build_status(m, ret_data);
        if (strcmp(verb, "reload") == 0) {
                log_info("Reload requested by PID %d (UID %u).", (int) peer->pid,
                         (unsigned) peer->uid);
                r = manager_reload(m);
                if (r == -EINVAL)
                        *ret_message = strdup("the new configuration was rejected; see "
                                              "journalctl -u appwatch");
                return r;
        }
        if (asprintf(ret_message, "unknown verb '%s'", verb) < 0)
                *ret_message = NULL;
        return -EOPNOTSUPP;
}

/* Takes the socket passed by systemd, or binds our own. Returns the fd. */
static int acquire_control_socket(Manager *m) {
        char **names = NULL;
        int n, fd = -EBADF, r;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                log_warning_errno(n, "Cannot read passed sockets: %m, ignoring");
        for (int i = 0; i < n; i++) {
                int f = SD_LISTEN_FDS_START + i;
                const char *name = names && names[i] ? names[i] : "";

                if (fd < 0 && (strcmp(name, CONTROL_FD_NAME) == 0 || n == 1) &&
                    sd_is_socket(f, AF_UNIX, SOCK_STREAM, 1) > 0)
                        fd = f;
                else {
                        log_warning("Closing unexpected passed fd %d ('%s'), ignoring", f, name);
                        safe_close(f);
                }
        }
        strv_free(names);
        if (fd >= 0) {
                m->socket_activated = true;
                return fd;
        }

        if (mkdir(m->runtime_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create runtime directory %s: %m",
                                       m->runtime_dir);
        if (asprintf(&m->socket_path, "%s/control.sock", m->runtime_dir) < 0)
                return log_oom();
        r = control_socket_bind(m->socket_path, CONTROL_GROUP);
        if (r == -EADDRINUSE)
                return log_error_errno(r, "Another appwatchd is answering on %s.", m->socket_path);
        if (r < 0)
                return log_error_errno(r, "Cannot listen on %s: %m", m->socket_path);
        return r;
}

static int open_store(Manager *m) {
        _cleanup_free_ char *path = NULL;
        int r;

        if (mkdir(m->state_dir, 0750) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create state directory %s: %m",
                                       m->state_dir);
        if (asprintf(&path, "%s/%s", m->state_dir, STORE_FILENAME) < 0)
                return log_oom();
        r = store_open(path, &m->store);
        if (r < 0)
                return log_error_errno(r, "Cannot open the database %s: %m", path);
        if (r > 0) {
                const char *fields[] = { "APPWATCH_RESULT=quarantined", NULL };
                log_event(LOG_ERR, MESSAGE_ID_STORE_QUARANTINED, fields,
                          "Database %s was corrupt; it was moved to %s and a new one was created.",
                          path, store_quarantined_path(m->store));
        }
        return 0;
}

int manager_start(Manager *m) {
        sigset_t mask;
        int fd, r;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Cannot block signals: %m");
        (void) signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Cannot arm the watchdog: %m");

        r = open_store(m);
        if (r < 0)
                return r;

        fd = acquire_control_socket(m);
        if (fd < 0)
                return fd;
        ControlLimits limits = limits_from_config(m->config);
        r = control_server_new(m->event, fd, &limits, CONTROL_GROUP, on_control_request, m,
                               &m->control);
        if (r < 0)
                return log_error_errno(r, "Cannot serve the control socket: %m");

        const char *fields[] = { "APPWATCH_RESULT=started", NULL };
        log_event(LOG_INFO, MESSAGE_ID_STARTED, fields,
                  "appwatchd %s started: config %s, database %s, control %s.", PACKAGE_VERSION,
                  m->config->path, store_path(m->store),
                  m->socket_activated ? "socket (activated)" : m->socket_path);
        manager_notify_status(m, "Ready: ", "READY=1");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        if (m->control)
                control_server_stop_accepting(m->control);
        const char *fields[] = { "APPWATCH_RESULT=stopping", NULL };
        log_event(LOG_INFO, MESSAGE_ID_STOPPING, fields, "appwatchd is stopping.");
        if (m->socket_path)
                (void) unlink(m->socket_path);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
