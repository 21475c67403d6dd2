/* SPDX-License-Identifier: MIT */
/*
 * The health check verb, health (appwatchctl health [--print]; hourly from
 * appwatch-health.timer): probes what appwatch depends on outside itself —
 * the Gemini key and model (GET /v1beta/models/{model}), the Notion token,
 * database, data source and schema (the sender's prepare step, with
 * notion-page.c's parsers), the form of the Slack webhook URL (never
 * posted) — on the pool's deliver lane, so the loop never waits on a peer,
 * and answers when they are done (CONTROL_REPLY_LATER). Each result goes
 * into health_results and each failure becomes an incident of app
 * "appwatch" under its key (health.h); a probe passing again resolves it.
 * --print only shows the results. Loop thread, except health_work().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libgen.h>
#include <stdarg.h>

#include "core/health.h"
#include "fix/catalog.h"
#include "fix/runner.h"
#include "core/lifecycle.h"
#include "manager-internal.h"
#include "shared/http.h"
#include "shared/log.h"
#include "store/checks.h"

#define NOTION_VERSION "2025-09-03"
#define HEALTH_HTTP_TIMEOUT (30 * USEC_PER_SEC)
/* A tool probe is stopped after this long (or [Fix] TimeoutSec=, if shorter). */
#define HEALTH_PROBE_TIMEOUT (5 * USEC_PER_MINUTE)

typedef struct ToolProbe {
        char *app;
        const char *probe;       /* "flutter_version", "deps", ... */
        char **argv;
        Category category;       /* of its failure */
        Severity severity;
} ToolProbe;

typedef struct HealthJob {
        Manager *m;
        ControlRequest *req;
        PoolJob *job;            /* the loop's handle, until done() */
        PoolJob *worker_job;     /* the same, as the worker was given it */
        bool print;
        /* Copies: the Config may be replaced by a reload while we run. */
        char *gemini_key, *gemini_url, *gemini_model;
        usec_t gemini_timeout;
        char *notion_token, *notion_endpoint, *notion_database, *notion_data_source;
        NotionProperties props;
        char *prop_names[8];
        CheckReport report;
        /* The tool probes, run one after the other once the HTTP ones are done. */
        ToolProbe *probes;
        size_t n_probes, next_probe;
        FixRunner *runner;
        FixRun *run;
        sd_event_source *defer;  /* the next probe, started outside the runner's callback */
        int error;               /* of the last probe's bookkeeping */
        bool tools;              /* past the HTTP stage */
        unsigned n_ref;          /* the pool's, until its free_data; the work's, from done() */
} HealthJob;

static void health_job_free(void *data) {
        HealthJob *h = data;

        /* Dropped unanswered (the pool is stopping): the request must not call us back. */
        if (h->req)
                control_request_set_cancel(h->req, NULL, NULL, NULL);
        free(h->gemini_key);
        free(h->gemini_url);
        free(h->gemini_model);
        free(h->notion_token);
        free(h->notion_endpoint);
        free(h->notion_database);
        free(h->notion_data_source);
        for (size_t i = 0; i < ELEMENTSOF(h->prop_names); i++)
                free(h->prop_names[i]);
        check_report_done(&h->report);
        for (size_t i = 0; i < h->n_probes; i++) {
                free(h->probes[i].app);
                strv_free(h->probes[i].argv);
        }
        free(h->probes);
        if (h->run)
                fix_run_cancel(h->run);
        sd_event_source_disable_unref(h->defer);
        fix_runner_free(h->runner);
        free(h);
}

static void health_job_unref(void *data) {
        HealthJob *h = data;

        if (--h->n_ref == 0)
                health_job_free(h);
}

static bool job_cancelled(void *userdata) {
        return pool_job_cancelled(userdata);
}

static int get(HealthJob *h, const char *url, const char *const *headers, usec_t timeout,
               HttpResponse *ret, char **reterr) {
        HttpRequest q = { .method = HTTP_GET, .url = url, .headers = headers, .timeout = timeout,
                          .cancelled = job_cancelled, .userdata = h->worker_job };

        return http_request(NULL, &q, ret, reterr);
}

static int probe_gemini(HealthJob *h) {
        _cleanup_free_ char *url = NULL, *hdr = NULL, *err = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        int k;

        if (asprintf(&url, "%s/v1beta/models/%s", h->gemini_url, h->gemini_model) < 0 ||
            asprintf(&hdr, "x-goog-api-key: %s", h->gemini_key) < 0)
                return -ENOMEM;
        const char *headers[] = { hdr, NULL };
        k = get(h, url, headers, h->gemini_timeout, &resp, &err);
        if (k == -ECANCELED || k == -ENOMEM)
                return k;
        return health_eval_gemini(&h->report, h->gemini_model, k, err, resp.status, resp.body);
}

static int probe_notion(HealthJob *h) {
        _cleanup_free_ char *url = NULL, *auth = NULL, *err = NULL, *ds = NULL, *perr = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {}, resp2 = {};
        int k;

        if (asprintf(&url, "%s/v1/databases/%s", h->notion_endpoint, h->notion_database) < 0 ||
            asprintf(&auth, "Authorization: Bearer %s", h->notion_token) < 0)
                return -ENOMEM;
        const char *headers[] = { auth, "Notion-Version: " NOTION_VERSION, NULL };
        k = get(h, url, headers, HEALTH_HTTP_TIMEOUT, &resp, &err);
        if (k == -ECANCELED || k == -ENOMEM)
                return k;
        if (k < 0 || resp.status != 200)
                return health_eval_notion(&h->report, "database", k, err, resp.status, resp.body,
                                          NULL);
        k = notion_parse_database(resp.body, resp.body_size, h->notion_data_source, &ds, &perr);
        if (k == -ENOMEM)
                return k;
        if (k < 0 || !notion_id_is_valid(ds))
                return health_eval_notion(&h->report, NULL, 0, NULL, 200, NULL,
                                          perr ?: "the database's data source cannot be used");
        url = mfree(url);
        if (asprintf(&url, "%s/v1/data_sources/%s", h->notion_endpoint, ds) < 0)
                return -ENOMEM;
        k = get(h, url, headers, HEALTH_HTTP_TIMEOUT, &resp2, &err);
        if (k == -ECANCELED || k == -ENOMEM)
                return k;
        if (k < 0 || resp2.status != 200)
                return health_eval_notion(&h->report, "data source", k, err, resp2.status,
                                          resp2.body, NULL);
        k = notion_check_schema(resp2.body, resp2.body_size, &h->props, &perr);
        if (k == -ENOMEM)
                return k;
        return health_eval_notion(&h->report, NULL, 0, NULL, 200, NULL, k < 0 ? perr ?: "?" : NULL);
}

static int health_work(void *data, PoolJob *job) {
        HealthJob *h = data;
        int k = 0;

        h->worker_job = job;
        if (h->gemini_key)
                k = probe_gemini(h);
        if (k >= 0 && h->notion_token && h->notion_database)
                k = probe_notion(h);
        return k;
}

/* Records the results and the incidents, resolves what passes again. */
static int health_apply(Manager *m, const CheckReport *r) {
        _cleanup_strv_free_ char **keys = NULL;
        _cleanup_free_ int64_t *ids = NULL;
        int64_t now = (int64_t) now_realtime();
        size_t n = 0;
        int k, resolved = 0;

        k = txn_begin(m->txn);
        if (k < 0)
                return k;
        for (size_t i = 0; i < r->n; i++) {
                const CheckItem *it = &r->items[i];

                k = health_result_add(m->store, now,
                                      json_string_value(json_object_get(it->data, "app")),
                                      it->key, !it->breach, it->title);
                if (k >= 0 && it->breach)
                        k = lifecycle_record_internal(m->txn, m->store, m->bus, m->host, it->key,
                                                      it->category, it->severity, it->title,
                                                      it->title, NULL);
                if (k < 0)
                        return k;
        }
        k = checks_open_internal(m->store, m->host, "", &keys, &ids, &n);
        if (k < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                const CheckItem *it = check_report_find(r, keys[i]);

                /* Only what was probed and passed: a probe that could not tell resolves nothing. */
                if (!it || it->breach)
                        continue;
                k = lifecycle_set_status(m->txn, m->store, m->bus, ids[i], INCIDENT_RESOLVED,
                                         INCIDENT_REASON_SYSTEM);
                if (k < 0)
                        return k;
                log_info("Health check: %s passes again, incident %" PRId64 " resolved.", keys[i],
                         ids[i]);
                resolved++;
        }
        k = txn_commit(m->txn);
        if (k < 0)
                return k;
        /* The key and the model were probed and work: the analyzer may call
         * Gemini again without waiting for a reload (scenario 2 ends here). */
        {
                const CheckItem *key = check_report_find(r, "gemini:key_invalid");
                const CheckItem *model = check_report_find(r, "gemini:model_not_found");

                if (m->analyzer && key && !key->breach && model && !model->breach &&
                    analyzer_gemini_blocked(m->analyzer, NULL))
                        analyzer_gemini_unblock(m->analyzer);
        }
        return resolved;
}

/* Records (unless --print), answers, and drops the work's reference to h. */
static void health_finish(HealthJob *h, int error) {
        ControlRequest *req = TAKE_PTR(h->req);
        json_t *o;
        int resolved = 0;

        control_request_set_cancel(req, NULL, NULL, NULL);
        if (error < 0) {
                (void) control_request_reply_error(req, error, error == -ECANCELED
                                                                       ? "stopping"
                                                                       : "the health check failed");
                health_job_unref(h);
                return;
        }
        if (!h->print) {
                resolved = health_apply(h->m, &h->report);
                if (resolved < 0) {
                        (void) control_request_reply_error(req, resolved,
                                                           "cannot record the health check");
                        health_job_unref(h);
                        return;
                }
                if (check_report_breaches(&h->report) > 0)
                        log_warning("Health check: %zu failure%s.",
                                    check_report_breaches(&h->report),
                                    check_report_breaches(&h->report) == 1 ? "" : "s");
        }
        o = check_report_json(&h->report);
        if (o) {
                (void) json_object_set_new(o, "resolved", json_integer(resolved));
                (void) json_object_set_new(o, "recorded", json_boolean(!h->print));
        }
        if (!o)
                (void) control_request_reply_error(req, -ENOMEM, NULL);
        else
                (void) control_request_reply(req, o);
        health_job_unref(h);
}

/* The words of argv joined by spaces, for people. */
static char *join(char **argv) {
        size_t l = 1;
        char *s;

        for (size_t i = 0; argv[i]; i++)
                l += strlen(argv[i]) + 1;
        s = malloc(l);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; argv[i]; i++) {
                if (i > 0)
                        strcat(s, " ");
                strcat(s, argv[i]);
        }
        return s;
}

/* The first line of text (a version), at most 200 bytes, or the last one (an error). */
static char *pick_line(const char *text, bool last) {
        const char *b = text ?: "", *e;

        while (*b == '\n' || *b == ' ')
                b++;
        if (last) {
                const char *end = b + strlen(b);
                while (end > b && (end[-1] == '\n' || end[-1] == ' '))
                        end--;
                e = end;
                while (end > b && end[-1] != '\n')
                        end--;
                b = end;
        } else
                e = b + strcspn(b, "\n");
        return strndup(b, (size_t) (e - b) < 200 ? (size_t) (e - b) : 200);
}

static void tools_next(HealthJob *h);

static int on_next_probe(sd_event_source *source, void *userdata) {
        HealthJob *h = userdata;

        h->defer = sd_event_source_disable_unref(h->defer);
        if (h->error < 0)
                health_finish(h, h->error);
        else
                tools_next(h);
        return 0;
}

static void on_probe_done(FixRun *run, const FixRunResult *res, void *userdata) {
        HealthJob *h = userdata;
        const ToolProbe *p = &h->probes[h->next_probe - 1];
        _cleanup_free_ char *key = NULL, *line = pick_line(res->output, !res->success), *cmd = NULL;
        int k;

        h->run = NULL;
        cmd = join(p->argv);
        if (!line || !cmd || asprintf(&key, "health:%s:%s", p->app, p->probe) < 0)
                k = -ENOMEM;
        else if (res->success)
                k = check_report_add(&h->report, key, p->probe, false, p->category, p->severity,
                                     json_pack("{s:s, s:s, s:s}", "app", p->app, "command", cmd,
                                               "output", line),
                                     "%s: %s: %s", p->app, cmd, *line ? line : "ok");
        else
                k = check_report_add(&h->report, key, p->probe, true, p->category, p->severity,
                                     json_pack("{s:s, s:s, s:s, s:s, s:i, s:s?}", "app", p->app,
                                               "command", cmd, "output", line, "result",
                                               res->result ?: "?", "exit_status",
                                               res->exit_status, "note", res->note),
                                     "%s: %s failed (%s, exit status %d)%s%s", p->app, cmd,
                                     res->result ?: "?", res->exit_status,
                                     *line || res->note ? ": " : "",
                                     /* The output says why; else the runner does. */
                                     *line ? line : res->note ?: "");
        /* The runner frees run when this returns, and finishing frees the
         * runner: go on (or stop) from the loop instead. */
        h->error = k < 0 ? k : 0;
        k = sd_event_add_defer(h->m->event, &h->defer, on_next_probe, h);
        if (k < 0)
                log_error_errno(k, "Health check: cannot go on to the next probe: %m");
}

static void tools_next(HealthJob *h) {
        while (h->next_probe < h->n_probes) {
                const ToolProbe *p = &h->probes[h->next_probe++];
                _cleanup_(fix_plan_done) FixPlan plan = {};
                _cleanup_free_ char *err = NULL;
                int k;

                k = fix_probe_plan(h->m->config, p->app, p->argv, (unsigned) h->next_probe, &plan,
                                   &err);
                if (k == -ENOMEM) {
                        health_finish(h, k);
                        return;
                }
                if (k >= 0) {
                        if (plan.unit.runtime_max_usec > HEALTH_PROBE_TIMEOUT)
                                plan.unit.runtime_max_usec = HEALTH_PROBE_TIMEOUT;
                        k = fix_runner_start(h->runner, &plan, on_probe_done, h, &h->run);
                        if (k >= 0)
                                return;
                        if (k != -EPERM || !err)
                                (void) fix_runner_check(h->runner, &plan, &err);
                }
                /* Could not even start: a failure of the probe, saying why. */
                _cleanup_free_ char *key = NULL, *cmd = join(p->argv);
                if (!cmd || asprintf(&key, "health:%s:%s", p->app, p->probe) < 0 ||
                    check_report_add(&h->report, key, p->probe, true, p->category, p->severity,
                                     json_pack("{s:s, s:s, s:s}", "app", p->app, "command", cmd,
                                               "note", err ?: strerror(-k)),
                                     "%s: %s not run: %s", p->app, cmd,
                                     err ?: strerror(-k)) < 0) {
                        health_finish(h, -ENOMEM);
                        return;
                }
        }
        health_finish(h, 0);
}

static void health_done(void *data, int result) {
        HealthJob *h = data;
        int k;

        h->job = NULL;
        /* The work's reference: the pool drops its own once this returns. */
        h->n_ref++;
        h->tools = true;
        if (result < 0) {
                health_finish(h, result);
                return;
        }
        if (h->n_probes == 0) {
                health_finish(h, 0);
                return;
        }
        k = fix_runner_new(h->m->event, _FIX_RUNNER_KIND_INVALID, &h->runner);
        if (k < 0) {
                health_finish(h, k);
                return;
        }
        tools_next(h);
}

static void health_cancel(ControlRequest *req, void *userdata) {
        HealthJob *h = userdata;

        /* The client is gone: stop waiting on the APIs, or stop the probe. */
        if (h->job)
                pool_job_cancel(h->job);
        else if (h->tools)
                health_finish(h, -ECANCELED);
}

static int dup_or_null(char **dst, const char *s) {
        if (!s)
                return 0;
        *dst = strdup(s);
        return *dst ? 0 : -ENOMEM;
}

static int add_probe(HealthJob *h, const ConfigApp *a, const char *probe, Category c, Severity sev,
                     const char *first, ...) {
        ToolProbe *n;
        char **argv = NULL;
        va_list ap;
        int k = strv_extend(&argv, first);

        va_start(ap, first);
        for (const char *w; k >= 0 && (w = va_arg(ap, const char *)); )
                k = strv_extend(&argv, w);
        va_end(ap);
        n = k >= 0 ? realloc(h->probes, (h->n_probes + 1) * sizeof *n) : NULL;
        if (!n) {
                strv_free(argv);
                return -ENOMEM;
        }
        h->probes = n;
        n[h->n_probes] = (ToolProbe) { .app = strdup(a->name), .probe = probe, .argv = argv,
                                       .category = c, .severity = sev };
        if (!n[h->n_probes].app) {
                strv_free(argv);
                return -ENOMEM;
        }
        h->n_probes++;
        return 0;
}

/*
 * Per app with a Directory=: the tools' versions and its dependency check,
 * with the app's own Flutter= and Python=.
 */
static int tool_probes(HealthJob *h, const Config *c) {
        for (size_t i = 0; i < c->n_apps; i++) {
                const ConfigApp *a = &c->apps[i];
                int k = 0;

                if (!a->directory)
                        continue;
                if (a->kind == APP_KIND_FLUTTER) {
                        const char *flutter = a->flutter ?: "flutter";
                        _cleanup_free_ char *dart = NULL;

                        /* dart ships next to flutter, in its bin/. */
                        if (strchr(flutter, '/')) {
                                _cleanup_free_ char *d = strdup(flutter);
                                if (!d || asprintf(&dart, "%s/dart", dirname(d)) < 0)
                                        return -ENOMEM;
                        }
                        k = add_probe(h, a, "flutter_version", CATEGORY_OTHER, SEVERITY_HIGH,
                                      flutter, "--version", NULL);
                        if (k >= 0)
                                k = add_probe(h, a, "dart_version", CATEGORY_OTHER, SEVERITY_HIGH,
                                              dart ?: "dart", "--version", NULL);
                        if (k >= 0)
                                k = add_probe(h, a, "dependencies", CATEGORY_FLUTTER_DEPENDENCY,
                                              SEVERITY_MEDIUM, flutter, "pub", "get", "--dry-run",
                                              NULL);
                } else if (a->kind == APP_KIND_PYTHON) {
                        const char *python = a->python ?: "python3";

                        k = add_probe(h, a, "python_version", CATEGORY_OTHER, SEVERITY_HIGH,
                                      python, "--version", NULL);
                        if (k >= 0)
                                k = add_probe(h, a, "pip_version", CATEGORY_OTHER, SEVERITY_HIGH,
                                              python, "-m", "pip", "--version", NULL);
                        if (k >= 0)
                                k = add_probe(h, a, "dependencies", CATEGORY_PIP_RESOLUTION,
                                              SEVERITY_MEDIUM, python, "-m", "pip", "check", NULL);
                }
                if (k < 0)
                        return k;
        }
        return 0;
}

int manager_verb_health(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        const Config *c = m->config;
        json_t *print = json_object_get(control_request_args(req), "print");
        HealthJob *h;
        int k;

        if (print && !json_is_boolean(print)) {
                *msg = strdup("\"print\" must be true or false");
                return -EINVAL;
        }
        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->m = m;
        h->n_ref = 1;
        h->print = json_is_true(print);
        h->gemini_timeout = c->gemini_timeout;
        const char *props[8] = { c->notion_prop_title, c->notion_prop_type, c->notion_prop_app,
                                 c->notion_prop_severity, c->notion_prop_auto_fixable,
                                 c->notion_prop_status, c->notion_prop_time,
                                 c->notion_prop_fingerprint };
        k = 0;
        for (size_t i = 0; k >= 0 && i < ELEMENTSOF(props); i++)
                k = dup_or_null(&h->prop_names[i], props[i]);
        if (k >= 0 && c->gemini_api_key)
                k = dup_or_null(&h->gemini_key, c->gemini_api_key) ?:
                    dup_or_null(&h->gemini_url, c->gemini_endpoint) ?:
                    dup_or_null(&h->gemini_model, c->gemini_model);
        if (k >= 0 && c->notion_api_token && c->notion_database_id)
                k = dup_or_null(&h->notion_token, c->notion_api_token) ?:
                    dup_or_null(&h->notion_endpoint, c->notion_endpoint) ?:
                    dup_or_null(&h->notion_database, c->notion_database_id) ?:
                    dup_or_null(&h->notion_data_source, c->notion_data_source_id);
        /* The Slack probe needs no network: judged here, before the job. */
        if (k >= 0 && c->slack_webhook_url)
                k = health_eval_slack(&h->report, c->slack_webhook_url, c->slack_endpoint != NULL);
        if (k < 0) {
                health_job_free(h);
                return -ENOMEM;
        }
        h->props = (NotionProperties) {
                .title = h->prop_names[0], .type = h->prop_names[1], .app = h->prop_names[2],
                .severity = h->prop_names[3], .auto_fixable = h->prop_names[4],
                .status = h->prop_names[5], .time = h->prop_names[6],
                .fingerprint = h->prop_names[7],
        };
        h->req = req;
        /* Set before the job can be dropped, so health_job_free() detaches it. */
        control_request_set_cancel(req, health_cancel, h, NULL);
        k = tool_probes(h, c);
        if (k < 0) {
                control_request_set_cancel(req, NULL, NULL, NULL);
                health_job_free(h);
                return k;
        }
        k = pool_submit(m->pool, POOL_LANE_DELIVER, health_work, health_done, health_job_unref, h,
                        &h->job);
        if (k < 0) {
                /* h is freed and detached from req, which is the server's again. */
                *msg = strdup(k == -EAGAIN ? "the delivery lane is full; try again later"
                                           : "cannot queue the health check");
                return k;
        }
        return CONTROL_REPLY_LATER;
}
