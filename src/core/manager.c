/* SPDX-License-Identifier: MIT */
/*
 * The daemon's loop and lifecycle; see manager.h. Start-up order: store,
 * rules, the transaction owner and the incident bus, the worker pool, the
 * listeners (journal records, analysis), the pipeline (restoring blocks a
 * crash interrupted), sources, control socket, then READY=1. Shutdown
 * stops the sources, cancels the pool's jobs (dropping those not started:
 * they are durable and queued again at the next start), commits what is
 * left, then frees in reverse.
 * Main thread only.
 */
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
#include "core/verbs.h"
#include "manager-internal.h"
#include "shared/catalog-ids.h"
#include "shared/log.h"
#include "shared/protocol.h"
#include "shared/rules-dirs.h"
#include "shared/utf8.h"

#define CONTROL_FD_NAME "control"
#define CONTROL_GROUP "appwatch"
#define DEFAULT_SPOOL_DIR "/var/spool/appwatch"

static char *pick_dir(const char *option, const char *env, const char *fallback) {
        const char *e = env ? getenv(env) : NULL;

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
        m->spool_dir = pick_dir(options->spool_dir, "APPWATCH_SPOOL_DIR", DEFAULT_SPOOL_DIR);
        if ((options->config_path && !m->config_path) || !m->state_dir || !m->runtime_dir ||
            !m->spool_dir)
                return -ENOMEM;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        m->control = control_server_free(m->control);
        m->sources = sources_free(m->sources);
        /* Joins the workers and runs their last done() callbacks. */
        m->pool = pool_free(m->pool);
        if (m->analyzer)
                analyzer_detach(m->analyzer);
        if (m->sender)
                sender_detach(m->sender);
        if (m->txn)
                (void) txn_commit(m->txn);   /* refused after a failure */
        pipeline_free(m->pipeline);
        fixer_free(m->fixer);
        fix_runner_free(m->fix_runner);
        sender_free(m->sender);
        outbox_writer_free(m->outbox);
        analyzer_free(m->analyzer);
        record_sink_free(m->records);
        positions_free(m->positions);
        incident_bus_free(m->bus);
        txn_free(m->txn);
        detect_rules_unref(m->rules);
        store_free(m->store);
        sd_event_unref(m->event);
        config_free(m->config);
        free(m->config_path);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m->spool_dir);
        free(m->socket_path);
        free(m->host);
        free(m->last_status);
        free(m->check_summary);
        free(m);
        return NULL;
}

static size_t count_sources(Manager *m) {
        return m->sources ? sources_count(m->sources) : 0;
}

/*
 * Sends STATUS= when it changed, together with extra (e.g. "READY=1") when
 * that is given; cheap enough to call after every batch.
 */
static void manager_notify_status(Manager *m, const char *prefix, const char *extra) {
        StoreStats st = {};
        OutboxStats os = {};
        _cleanup_free_ char *s = NULL, *outbox = NULL, *held = NULL;
        size_t n = count_sources(m);
        char age[64];

        (void) store_stats(m->store, (int64_t) now_realtime(), &st);
        (void) outbox_stats(m->store, &os);
        held = m->sender ? sender_status_text(m->sender) : NULL;
        if (os.pending > 0 &&
            asprintf(&outbox, ", outbox %llu pending (oldest %s)",
                     (unsigned long long) os.pending,
                     format_timespan(age, sizeof age,
                                     (usec_t) now_realtime() - (usec_t) os.oldest_pending)) < 0)
                return;
        if (asprintf(&s, "%s%zu source%s, %llu incident%s today, %llu open, queue %zu/%u%s%s%s%s%s",
                     prefix ?: "", n, n == 1 ? "" : "s",
                     (unsigned long long) st.incidents_today, st.incidents_today == 1 ? "" : "s",
                     (unsigned long long) st.incidents_open,
                     m->pool ? pool_pending(m->pool, POOL_LANE_ANALYZE) : 0,
                     m->config->queue_size, outbox ?: "", held ? ", " : "", held ?: "",
                     m->check_summary ? ", " : "", m->check_summary ?: "") < 0)
                return;
        if (!extra && m->last_status && strcmp(m->last_status, s) == 0)
                return;
        (void) sd_notifyf(false, "%s%sSTATUS=%s", extra ?: "", extra ? "\n" : "", s);
        free(m->last_status);
        m->last_status = TAKE_PTR(s);
}

void manager_refresh_status(Manager *m) {
        manager_notify_status(m, "Ready: ", NULL);
}

static ControlLimits limits_from_config(const Config *c) {
        return (ControlLimits) {
                .max_request = c->max_request_bytes,
                .max_output = 4 * 1024 * 1024,
                .max_clients = c->max_clients,
                .idle_timeout = c->client_timeout,
        };
}

static int load_rules(const char *config_path, DetectRules **ret, size_t *ret_count);

/* Time between two Slack messages and between two Notion requests: the
 * services' documented rate limits (about 1/s per webhook; 3/s on average),
 * with a margin, since arrival times vary by a few milliseconds. */
#define SLACK_INTERVAL (USEC_PER_SEC + 25 * USEC_PER_MSEC)
#define NOTION_INTERVAL (USEC_PER_SEC / 3 + 10 * USEC_PER_MSEC)
#define DELIVERY_TIMEOUT (30 * USEC_PER_SEC)

static OutboxWriterOptions outbox_options(const Config *c) {
        return (OutboxWriterOptions) {
                .slack = c->slack_webhook_url != NULL,
                .notion = c->notion_api_token && c->notion_database_id,
                .slack_min_severity = c->slack_min_severity,
                .slack_repeat_interval = c->slack_repeat_interval,
        };
}

static AnalyzerOptions analyzer_options(const Manager *m, const Config *c) {
        return (AnalyzerOptions) {
                .language = c->language,
                .host = m->host,
                .gemini = {
                        .api_key = c->gemini_api_key,
                        .model = c->gemini_model,
                        .endpoint = c->gemini_endpoint,
                        .timeout = c->gemini_timeout,
                        .daily_budget = c->gemini_daily_budget,
                        .max_calls_per_hour = c->gemini_max_calls_per_hour,
                        .max_output_tokens = c->gemini_max_output_tokens,
                },
                .config = c,
        };
}

static SenderOptions sender_options(const Manager *m, const Config *c) {
        return (SenderOptions) {
                .host = m->host,
                .language = c->language,
                .timeout = DELIVERY_TIMEOUT,
                /* Endpoint= sends elsewhere (a proxy, the tests' fake). */
                .slack_url = c->slack_webhook_url ? (c->slack_endpoint ?: c->slack_webhook_url)
                                                  : NULL,
                .slack_interval = SLACK_INTERVAL,
                .slack_group_window = c->slack_group_window,
                .notion_endpoint = c->notion_endpoint,
                .notion_token = c->notion_api_token,
                .notion_database_id = c->notion_database_id,
                .notion_data_source_id = c->notion_data_source_id,
                .notion_properties = {
                        .title = c->notion_prop_title,
                        .type = c->notion_prop_type,
                        .app = c->notion_prop_app,
                        .severity = c->notion_prop_severity,
                        .auto_fixable = c->notion_prop_auto_fixable,
                        .status = c->notion_prop_status,
                        .time = c->notion_prop_time,
                        .fingerprint = c->notion_prop_fingerprint,
                },
                .notion_interval = NOTION_INTERVAL,
        };
}

static void on_outbox_written(void *userdata) {
        Manager *m = userdata;

        if (m->sender)
                sender_kick(m->sender);
}

static void on_throttle(Analyzer *a, bool pause, void *userdata) {
        Manager *m = userdata;

        if (m->sources)
                sources_pause(m->sources, pause);
}

static bool throttled(Manager *m) {
        AnalyzerStats as = {};

        if (m->analyzer)
                analyzer_get_stats(m->analyzer, &as);
        return as.throttled;
}

/* Makes s the running sources: they start reading from where the committed
 * positions say. */
static int switch_sources(Manager *m, Sources *s) {
        int r;

        m->sources = sources_free(m->sources);
        m->sources = s;
        r = sources_start(s);
        if (r < 0)
                return r;
        /* The marks of new watches are durable before any line is read. */
        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        if (throttled(m))
                sources_pause(s, true);
        return 0;
}

static int start_sources(Manager *m) {
        Sources *s = NULL;
        int r;

        r = sources_new(m->event, m->config, m->store, m->txn, m->positions, m->pipeline, &s);
        if (r < 0)
                return r;
        return switch_sources(m, s);
}

int manager_reload(Manager *m) {
        _cleanup_(config_diags_done) ConfigDiags diags = {};
        Config *c = NULL, *old;
        int r;

        (void) sd_notifyf(false, "RELOADING=1\nSTATUS=Reloading configuration...\n"
                          "MONOTONIC_USEC=%llu", (unsigned long long) now_monotonic());

        r = config_load(m->config_path, m->config_explicit, &c, &diags);
        config_diags_log(&diags);
        if (r < 0) {
                _cleanup_free_ char *reason = NULL;
                const ConfigDiag *first = NULL;

                for (size_t i = 0; i < diags.n && !first; i++)
                        if (diags.items[i].level == CONFIG_DIAG_ERROR)
                                first = &diags.items[i];
                if (first && asprintf(&reason, "%s:%u: %s", first->file, first->line,
                                      first->message) < 0)
                        reason = NULL;
                m->n_reloads_rejected++;
                const char *fields[] = { "APPWATCH_RESULT=rejected", NULL };
                log_event(LOG_ERR, MESSAGE_ID_CONFIG_REJECTED, fields,
                          "Configuration rejected, keeping the running one: %s",
                          reason ?: strerror(-r));
                manager_notify_status(m, "Reload rejected, old configuration kept; ", "READY=1");
                return r == -ENOMEM ? r : -EINVAL;
        }

        /* Everything is built before anything is let go of: a reload that
         * fails at any step leaves the running configuration, rules and
         * sources exactly as they were. New sources resume exactly where the
         * old ones stopped, so commit their positions first. */
        DetectRules *rules = NULL;
        size_t n_rules = 0;
        Sources *sources = NULL;

        r = load_rules(c->path, &rules, &n_rules);
        if (r >= 0)
                r = txn_commit(m->txn);
        if (r >= 0)
                r = sources_new(m->event, c, m->store, m->txn, m->positions, m->pipeline,
                                &sources);
        if (r >= 0)
                /* Builds the new engine before it finishes the old blocks. */
                r = pipeline_set_rules(m->pipeline, rules);
        if (r < 0) {
                sources_free(sources);
                detect_rules_unref(rules);
                config_free(c);
                m->n_reloads_rejected++;
                const char *fields[] = { "APPWATCH_RESULT=rejected", NULL };
                log_event(LOG_ERR, MESSAGE_ID_CONFIG_REJECTED, fields,
                          "Reload failed (%s), keeping the running configuration, rules and "
                          "sources.", strerror(-r));
                manager_notify_status(m, "Reload failed, old configuration kept; ", "READY=1");
                return txn_failed(m->txn) ? -EIO : r;
        }
        detect_rules_unref(m->rules);
        m->rules = rules;
        m->n_rules = n_rules;
        old = m->config;
        m->config = c;
        /* Before the old Config is freed: the analyzer reads its apps. A
         * Gemini key or model that was refused is tried again. */
        AnalyzerOptions ao = analyzer_options(m, c);
        r = analyzer_set_options(m->analyzer, &ao);
        if (r < 0)
                log_warning_errno(r, "Cannot apply the new analysis settings: %m, ignoring");
        fixer_set_config(m->fixer, c);
        r = switch_sources(m, sources);
        if (r < 0) {
                /* Starting cannot fail but for memory or the store: going on
                 * with no sources would be worse than a restart. */
                log_error_errno(r, "Cannot start the new sources: %m. Exiting, so that systemd "
                                "restarts appwatchd.");
                config_free(old);
                (void) sd_event_exit(m->event, -r);
                return r;
        }
        config_free(old);
        /* Delivery takes the new keys and endpoints; sinks that were held
         * because of the old ones try again. */
        OutboxWriterOptions wo = outbox_options(c);
        outbox_writer_set_options(m->outbox, &wo);
        SenderOptions so = sender_options(m, c);
        r = sender_set_options(m->sender, &so);
        if (r < 0)
                log_warning_errno(r, "Cannot apply the new delivery settings: %m, ignoring");
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

static int on_status_post(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        size_t jobs = pool_pending(m->pool, POOL_LANE_ANALYZE);
        uint64_t commits = txn_commits(m->txn);

        /* STATUS= counts incidents with a query; only a commit or the job
         * queue can change what it shows, so skip the query otherwise (this
         * runs after every loop iteration that did anything). */
        if (commits == m->status_commits && jobs == m->status_jobs)
                return 0;
        m->status_commits = commits;
        m->status_jobs = jobs;
        manager_refresh_status(m);
        return 0;
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

/* The rules the match budget disabled, for status: [{name, file, line, limit_hits}]. */
static json_t *disabled_rules_json(Manager *m) {
        json_auto_t *a = json_array();
        PipelineStats ps = {};
        DetectDisabledRule d;

        if (!a)
                return NULL;
        if (m->pipeline)
                pipeline_get_stats(m->pipeline, &ps);
        for (size_t i = 0; i < ps.rules_disabled; i++) {
                _cleanup_free_ char *file = NULL;

                if (pipeline_get_disabled_rule(m->pipeline, i, &d) < 0)
                        break;
                file = utf8_dup(d.file ?: "?");
                if (!file || json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:I}", "name",
                                                                d.name, "file", file, "line",
                                                                (int) d.line, "limit_hits",
                                                                (json_int_t) d.limit_hits)) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

int manager_build_status(Manager *m, json_t **ret) {
        json_auto_t *o = NULL, *watches = NULL, *journal = NULL;
        StoreStats st = {};
        PipelineStats ps = {};
        AnalyzerStats as = {};
        int r;

        r = store_stats(m->store, (int64_t) now_realtime(), &st);
        if (r < 0)
                return r;
        if (m->pipeline)
                pipeline_get_stats(m->pipeline, &ps);
        if (m->analyzer)
                analyzer_get_stats(m->analyzer, &as);
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

        o = json_pack("{s:s, s:s, s:i, s:I, s:s, s:o, s:s, s:s, s:i, s:s?, s:b, s:s, s:i,"
                      " s:{s:o, s:o, s:i},"
                      " s:{s:I, s:i, s:I, s:I, s:i, s:b},"
                      " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i}}",
                      "version", PACKAGE_VERSION,
                      "state", as.throttled ? "throttled" : "running",
                      "pid", (int) getpid(),
                      "uptime_usec", (json_int_t) (now_monotonic() - m->start_monotonic),
                      "config", m->config->path,
                      "config_files", json_array(),
                      "state_dir", m->state_dir,
                      "database", store_path(m->store),
                      "schema_version", store_schema_version(m->store),
                      "socket", m->socket_path,
                      "socket_activated", m->socket_activated,
                      "host", m->host,
                      "rules", (int) m->n_rules,
                      "sources",
                        "journal", TAKE_PTR(journal),
                        "watches", TAKE_PTR(watches),
                        "apps", (int) m->config->n_apps,
                      "queues",
                        "jobs", (json_int_t) (m->pool ? pool_pending(m->pool, POOL_LANE_ANALYZE)
                                                      : 0),
                        "jobs_max", (int) m->config->queue_size,
                        "jobs_waiting", (json_int_t) as.jobs_deferred,
                        "outbox_pending", (json_int_t) st.outbox_pending,
                        "clients", (int) control_server_n_clients(m->control),
                        "throttled", as.throttled,
                      "counts",
                        "incidents_total", (json_int_t) st.incidents_total,
                        "incidents_open", (json_int_t) st.incidents_open,
                        "incidents_today", (json_int_t) st.incidents_today,
                        "occurrences_total", (json_int_t) st.occurrences_total,
                        "lines", (json_int_t) ps.lines,
                        "findings", (json_int_t) ps.findings,
                        "regressions", (json_int_t) ps.regressions,
                        "commits", (json_int_t) (m->txn ? txn_commits(m->txn) : 0),
                        "analyses", (json_int_t) as.analyses,
                        "reloads", (int) m->n_reloads,
                        "reloads_rejected", (int) m->n_reloads_rejected);
        if (!o)
                return -ENOMEM;
        r = json_set_strv(o, "config_files", m->config->files);
        if (r < 0)
                return r;
        if (json_object_set_new(o, "rules_disabled", disabled_rules_json(m)) < 0)
                return -ENOMEM;
        if (m->sources && json_object_set_new(o, "ingest", sources_status_json(m->sources)) < 0)
                return -ENOMEM;
        if (m->sender && json_object_set_new(o, "delivery", sender_status_json(m->sender)) < 0)
                return -ENOMEM;
        if (m->analyzer && json_object_set_new(o, "ai", analyzer_status_json(m->analyzer)) < 0)
                return -ENOMEM;
        if (m->fixer) {
                FixerStats fs;

                fixer_get_stats(m->fixer, &fs);
                if (json_object_set_new(o, "fixes", json_pack(
                                "{s:s, s:i, s:i, s:I, s:I, s:I, s:I, s:b, s:b}",
                                "runner", m->fix_runner && fix_runner_kind(m->fix_runner) ==
                                                          FIX_RUNNER_UNIT ? "units" : "children",
                                "running", (int) fs.running, "queued", (int) fs.queued,
                                "started", (json_int_t) fs.started,
                                "resolved", (json_int_t) fs.resolved,
                                "failed", (json_int_t) fs.failed,
                                "refused", (json_int_t) fs.refused,
                                "enabled", m->config->fix_enabled,
                                "dry_run", m->config->fix_dry_run)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(o);
        return 0;
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

/*
 * Loads the shipped rules and the local ones (shared/rules-dirs.h, the
 * policy appwatchctl scan uses too) into a new, sealed set.
 */
static int load_rules(const char *config_path, DetectRules **ret, size_t *ret_count) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = NULL;
        _cleanup_(rules_dirs_done) RulesDirs rd = {};
        _cleanup_free_ char *looked = NULL;
        DetectRuleErrors errs = {};
        const char *const *dirs;
        int r;

        r = rules_dirs_default(config_path, &rd);
        if (r < 0)
                return log_oom();
        dirs = (const char *const *) rd.dirs;
        looked = rules_dirs_join(dirs, rd.n);
        if (!looked)
                return log_oom();
        if (rules_dirs_count_existing(dirs, rd.n) == 0)
                log_warning("No rules directory exists (looked in %s): only the built-in patterns "
                            "are in use. Set APPWATCH_RULES_DIR= or install the rules.", looked);

        r = detect_rules_new(0, &rules);
        if (r < 0)
                return log_error_errno(r, "Cannot create the rule set: %m");
        r = detect_rules_load_dirs(rules, dirs, rd.n, &errs);
        /* Each message says what became of the rule, line or file: a broken
         * rule is "skipped", one without a literal is still loaded. */
        for (size_t i = 0; i < errs.n_errors; i++) {
                const DetectRuleError *e = &errs.errors[i];
                if (e->line > 0)
                        log_warning("%s:%u: %s", e->file, e->line, e->message);
                else
                        log_warning("%s: %s, ignoring", e->file, e->message);
        }
        detect_rule_errors_done(&errs);
        if (r < 0)
                return log_error_errno(r, "Cannot load rules from %s: %m", looked);
        r = detect_rules_seal(rules);
        if (r < 0)
                return log_error_errno(r, "Cannot compile the rules: %m");
        *ret_count = detect_rules_count(rules);
        *ret = TAKE_PTR(rules);
        return 0;
}

static int detect_host(Manager *m) {
        char h[HOST_NAME_MAX + 1] = {};

        if (m->config->host)
                m->host = strdup(m->config->host);
        else {
                if (gethostname(h, sizeof h - 1) < 0 || !h[0])
                        snprintf(h, sizeof h, "localhost");
                m->host = strdup(h);
        }
        return m->host ? 0 : log_oom();
}

/* Threads per lane besides analysis, which has [Service] Workers=. Delivery
 * waits on the network: one thread per sink (each has one request in flight)
 * and one for the checks' probes (health, the Notion status sync), so a slow
 * API probe never holds up a message. A fix is mostly waiting for systemd. */
#define DELIVER_WORKERS 3
#define DELIVER_QUEUE 256
#define FIX_WORKERS 1
#define FIX_QUEUE 64

static int start_pipeline(Manager *m) {
        const PoolLaneConfig lanes[_POOL_LANE_MAX] = {
                [POOL_LANE_ANALYZE] = { m->config->workers, m->config->queue_size },
                [POOL_LANE_DELIVER] = { DELIVER_WORKERS, DELIVER_QUEUE },
                [POOL_LANE_FIX] = { FIX_WORKERS, FIX_QUEUE },
        };
        int r;

        r = txn_new(m->event, m->store, &m->txn);
        if (r >= 0)
                r = incident_bus_new(&m->bus);
        if (r >= 0)
                r = positions_new(m->txn, m->store, &m->positions);
        if (r >= 0)
                r = record_sink_new(m->bus, m->txn, m->store, &m->records);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the store's writers: %m");
        r = pool_new(m->event, lanes, &m->pool);
        if (r < 0)
                return log_error_errno(r, "Cannot start %u workers: %m", m->config->workers);
        AnalyzerOptions ao = analyzer_options(m, m->config);
        r = analyzer_new(m->txn, m->store, m->pool, m->bus, &ao, &m->analyzer);
        if (r < 0)
                return log_error_errno(r, "Cannot set up analysis: %m");
        analyzer_set_throttle(m->analyzer, on_throttle, m);
        /* Fixes run as transient units when the system bus answers, else as
         * children (a foreground run, the tests). */
        r = fix_runner_new(m->event, _FIX_RUNNER_KIND_INVALID, &m->fix_runner);
        if (r >= 0)
                r = fixer_new(m->event, m->txn, m->store, m->bus, m->fix_runner, m->config,
                              m->dry_run, &m->fixer);
        if (r < 0)
                return log_error_errno(r, "Cannot set up fixes: %m");
        analyzer_set_verdict_callback(m->analyzer, fixer_on_verdict, m->fixer);
        OutboxWriterOptions wo = outbox_options(m->config);
        r = outbox_writer_new(m->bus, m->txn, m->store, &wo, &m->outbox);
        if (r >= 0) {
                SenderOptions so = sender_options(m, m->config);
                r = sender_new(m->event, m->txn, m->store, m->pool, m->bus, &so, &m->sender);
        }
        if (r < 0)
                return log_error_errno(r, "Cannot set up delivery: %m");
        outbox_writer_set_written_callback(m->outbox, on_outbox_written, m);
        r = pipeline_new(m->event, m->txn, m->store, m->bus, m->rules,
                         &(PipelineOptions) { .host = m->host }, &m->pipeline);
        if (r < 0)
                return log_error_errno(r, "Cannot create the pipeline: %m");
        r = pipeline_restore(m->pipeline);
        if (r < 0)
                return log_error_errno(r, "Cannot restore pending blocks: %m");
        /* Analyses a stop or a crash interrupted: queue them again. */
        r = analyzer_restore(m->analyzer);
        if (r < 0)
                return log_error_errno(r, "Cannot queue unanalyzed incidents: %m");
        /* Fix units a stop or a crash left running, and fixes still queued. */
        r = fixer_restore(m->fixer);
        if (r < 0)
                return log_error_errno(r, "Cannot take up the fixes under way: %m");
        return txn_commit(m->txn);
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

        r = detect_host(m);
        if (r < 0)
                return r;
        r = open_store(m);
        if (r < 0)
                return r;
        r = load_rules(m->config->path, &m->rules, &m->n_rules);
        if (r < 0)
                return r;
        r = start_pipeline(m);
        if (r < 0)
                return r;
        r = manager_run_started(m);
        if (r < 0)
                return r;
        r = start_sources(m);
        if (r < 0)
                return r;
        (void) manager_prune_submissions(m);
        (void) manager_process_spool(m);

        fd = acquire_control_socket(m);
        if (fd < 0)
                return fd;
        ControlLimits limits = limits_from_config(m->config);
        /* The verbs' effects reach STATUS= through on_status_post below:
         * they commit or queue jobs, which is what it watches. */
        r = control_server_new(m->event, fd, &limits, CONTROL_GROUP, manager_verbs,
                               manager_n_verbs, m, &m->control);
        if (r < 0)
                return log_error_errno(r, "Cannot serve the control socket: %m");
        /* Keep STATUS= current after every loop iteration that did work; it
         * only sends when the text changed. */
        sd_event_source *status_source;
        r = sd_event_add_post(m->event, &status_source, on_status_post, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch for status changes: %m");
        /* After the commit (also a post source), which it reports. */
        (void) sd_event_source_set_priority(status_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_floating(status_source, true);
        sd_event_source_unref(status_source);

        const char *fields[] = { "APPWATCH_RESULT=started", NULL };
        log_event(LOG_INFO, MESSAGE_ID_STARTED, fields,
                  "appwatchd %s started: config %s, database %s, %zu rules, %zu sources, "
                  "control %s.", PACKAGE_VERSION, m->config->path, store_path(m->store),
                  m->n_rules, count_sources(m),
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
        /* Stop reading, cancel the jobs, then commit what is left. */
        m->sources = sources_free(m->sources);
        m->pool = pool_free(m->pool);
        if (m->analyzer)
                analyzer_detach(m->analyzer);
        if (m->sender)
                sender_detach(m->sender);
        if (m->txn && r == 0)
                (void) manager_heartbeat(m, true);
        if (m->txn && r == 0 && txn_commit(m->txn) < 0)
                r = -EIO;
        if (m->socket_path)
                (void) unlink(m->socket_path);
        if (r < 0) {
                log_error_errno(r, "appwatchd stopped on an error: %m");
                return EXIT_FAILURE;
        }
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
