/* SPDX-License-Identifier: MIT */
/*
 * The outbox sender; see sender.h. Each sink has at most one job in flight,
 * so rows go out in order; a timer (CLOCK_REALTIME, the outbox's clock)
 * wakes it when the head row or the rate limit allows the next request.
 *
 * Jobs carry copies of everything (URLs, headers, bodies) and return the
 * answer; done() decides, writes the outcome through the transaction owner
 * and looks for the next row. Notion needs its data source resolved and
 * its schema checked first: that is the sink's first job after a start or
 * a reload. A Notion row for a new incident looks for a page with the
 * incident's fingerprint before it creates one (when the database has a
 * fingerprint property), so a crash between the create and the commit of
 * its page id never makes a second page.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "analyze/offline.h"
#include "core/lifecycle.h"
#include "deliver/message.h"
#include "deliver/policy.h"
#include "deliver/sender.h"
#include "store/fixes.h"
#include "deliver/slack-message.h"
#include "detect/category.h"
#include "detect/redact.h"
#include "shared/catalog-ids.h"
#include "shared/http.h"
#include "shared/log.h"
#include "store/incidents.h"

/* New incidents grouped into one Slack message at most. */
#define GROUP_MAX 40
/* Notion requests one job may make (query, create, appends). */
#define NOTION_MAX_REQUESTS 16
#define NOTION_VERSION "2025-09-03"
/* Delivered rows are kept this long (a re-queue stays a no-op), then pruned. */
#define DONE_RETENTION_USEC (7 * USEC_PER_DAY)

typedef enum JobKind {
        JOB_SLACK_POST,
        JOB_NOTION_PREPARE,
        JOB_NOTION_CREATE,
        JOB_NOTION_STATUS,
        JOB_TEST,
} JobKind;

typedef struct Sink {
        Sender *sender;
        OutboxSink id;
        bool enabled;
        bool held;                   /* refused for good: waits for a reload or a retry */
        char *held_reason;
        int64_t held_incident;       /* appwatch's own incident about it, 0: none */
        bool in_flight;
        PoolJob *job;
        RateLimit rate;
        sd_event_source *timer;
        bool ungroup;                /* a group was refused: send singly once */
        bool prepared;               /* Notion: data source resolved, schema checked */
        char *data_source_id;
        uint64_t sent, retried, dead;
        int64_t last_success;
        int64_t last_failure;        /* last answer that is retried, 0: none */
        char *last_error;
} Sink;

typedef struct HttpCall {
        HttpMethod method;
        char *url;
        char *body;
        /* the answer */
        int error;
        long status;
        char *answer;
        usec_t retry_after;
        char *error_text;
} HttpCall;

typedef struct Job {
        Sender *sender;
        JobKind kind;
        OutboxSink sink;
        int64_t *rows;               /* outbox row ids */
        size_t n_rows;
        int64_t incident;
        int64_t attempts;            /* the first row's failed attempts so far */
        char **headers;              /* NULL-terminated, owned */
        usec_t timeout;
        usec_t interval;             /* between requests of one job */
        usec_t last_request;         /* when the last one was sent (CLOCK_REALTIME) */
        HttpCall calls[NOTION_MAX_REQUESTS];
        size_t n_calls;              /* made */
        /* Notion */
        char *endpoint;
        char *database_id, *wanted_data_source_id;
        char *data_source_id;        /* prepare: the answer; create/status: in */
        NotionProperties props;
        char *props_strings[8];
        char *query_body, *create_body, *status_body;
        char **append_bodies;
        char *page_id;               /* in (status), out (create) */
        char *reason;                /* a refusal explained (prepare) */
        /* test-notify */
        char *slack_url, *slack_body;
        bool test_notion;
        bool test_answered;
        SenderTestDone test_done;
        void *test_userdata;
} Job;

struct Sender {
        sd_event *event;
        Txn *txn;
        Store *store;
        Pool *pool;
        IncidentBus *bus;
        char *host;
        Language language;
        usec_t timeout;
        char *slack_url;
        usec_t group_window;
        char *notion_endpoint, *notion_token, *notion_database_id, *notion_data_source_id;
        NotionProperties props;
        char *props_strings[8];
        Sink sinks[_OUTBOX_SINK_MAX];
        uint64_t rng;
};

static void sink_kick(Sink *k);

static void http_call_done(HttpCall *c) {
        free(c->url);
        free(c->body);
        free(c->answer);
        free(c->error_text);
        *c = (HttpCall) {};
}

static void job_free(void *data) {
        Job *j = data;

        /* A test-notify job dropped unrun (stopping) still answers its client. */
        if (j->kind == JOB_TEST && j->test_done && !j->test_answered)
                j->test_done(NULL, -ECANCELED, "appwatchd is stopping", j->test_userdata);
        free(j->rows);
        strv_free(j->headers);
        for (size_t i = 0; i < NOTION_MAX_REQUESTS; i++)
                http_call_done(&j->calls[i]);
        free(j->endpoint);
        free(j->database_id);
        free(j->wanted_data_source_id);
        free(j->data_source_id);
        for (size_t i = 0; i < ELEMENTSOF(j->props_strings); i++)
                free(j->props_strings[i]);
        free(j->query_body);
        free(j->create_body);
        free(j->status_body);
        strv_free(j->append_bodies);
        free(j->page_id);
        free(j->reason);
        free(j->slack_url);
        free(j->slack_body);
        free(j);
}

/* Copies the property names into strings (owned by store[]) that props points at. */
static int props_copy(const NotionProperties *from, NotionProperties *to, char *store[8]) {
        const char *const in[8] = { from->title, from->type, from->app, from->severity,
                                    from->auto_fixable, from->status, from->time,
                                    from->fingerprint };
        const char **out[8] = { &to->title, &to->type, &to->app, &to->severity,
                                &to->auto_fixable, &to->status, &to->time, &to->fingerprint };

        for (size_t i = 0; i < 8; i++) {
                free(store[i]);
                store[i] = in[i] ? strdup(in[i]) : NULL;
                if (in[i] && !store[i])
                        return -ENOMEM;
                *out[i] = store[i];
        }
        return 0;
}

static int set_copy(char **field, const char *v) {
        char *c = v ? strdup(v) : NULL;

        if (v && !c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* ---- worker side ---- */

static bool job_cancelled(void *userdata) {
        return pool_job_cancelled(userdata);
}

/* Makes one request of the job; 0 with the answer in the call, or a transport -errno. */
static int job_http(Job *j, PoolJob *pj, HttpMethod method, char *url, const char *body) {
        HttpCall *c;
        HttpResponse resp = {};
        HttpRequest req;
        int r;

        if (j->n_calls >= NOTION_MAX_REQUESTS) {
                free(url);
                return -E2BIG;
        }
        /* Notion's rate limit holds within a job too. */
        if (j->n_calls > 0 && j->interval > 0) {
                r = pool_job_sleep(pj, j->interval);
                if (r < 0) {
                        free(url);
                        return r;
                }
        }
        c = &j->calls[j->n_calls++];
        j->last_request = now_realtime();
        c->method = method;
        c->url = url;
        c->body = body ? strdup(body) : NULL;
        req = (HttpRequest) {
                .method = method,
                .url = url,
                .headers = (const char *const *) j->headers,
                .body = body,
                .body_size = body ? strlen(body) : 0,
                .content_type = body ? "application/json; charset=utf-8" : NULL,
                .timeout = j->timeout,
                .cancelled = job_cancelled,
                .userdata = pj,
        };
        r = http_request(NULL, &req, &resp, &c->error_text);
        c->error = r;
        if (r >= 0) {
                c->status = resp.status;
                c->answer = TAKE_PTR(resp.body);
                c->retry_after = resp.retry_after;
        }
        http_response_done(&resp);
        return r;
}

static HttpCall *last_call(Job *j) {
        return j->n_calls > 0 ? &j->calls[j->n_calls - 1] : NULL;
}

static bool call_ok(const HttpCall *c) {
        return c && c->error >= 0 && c->status >= 200 && c->status < 300;
}

/* The API URL of path; "%s" in path stands for id (a Notion object id). */
static char *notion_url(const Job *j, const char *path, const char *id) {
        const char *hole = strstr(path, "%s");
        char *u;

        if (!hole)
                return asprintf(&u, "%s/v1/%s", j->endpoint, path) < 0 ? NULL : u;
        if (!notion_id_is_valid(id))
                return NULL;    /* never a path built from an answer that is not an id */
        if (asprintf(&u, "%s/v1/%.*s%s%s", j->endpoint, (int) (hole - path), path, id,
                     hole + 2) < 0)
                return NULL;
        return u;
}

static int work_notion_prepare(Job *j, PoolJob *pj) {
        HttpCall *c;
        char *reason = NULL;
        int r;

        r = job_http(j, pj, HTTP_GET, notion_url(j, "databases/%s", j->database_id), NULL);
        c = last_call(j);
        if (r < 0 || !call_ok(c))
                return 0;
        r = notion_parse_database(c->answer, strlen(c->answer), j->wanted_data_source_id,
                                  &j->data_source_id, &reason);
        if (r < 0) {
                j->reason = reason;
                return 0;
        }
        r = job_http(j, pj, HTTP_GET, notion_url(j, "data_sources/%s", j->data_source_id), NULL);
        c = last_call(j);
        if (r < 0 || !call_ok(c))
                return 0;
        r = notion_check_schema(c->answer, strlen(c->answer), &j->props, &reason);
        if (r < 0)
                j->reason = reason;
        return 0;
}

static int work_notion_create(Job *j, PoolJob *pj) {
        HttpCall *c;
        int r;

        if (j->query_body) {
                /* A page made before a crash is found, not made again. */
                r = job_http(j, pj, HTTP_POST,
                             notion_url(j, "data_sources/%s/query", j->data_source_id),
                             j->query_body);
                c = last_call(j);
                if (r < 0 || !call_ok(c))
                        return 0;
                NotionQueryResult q = {};
                if (notion_parse_query(c->answer, strlen(c->answer), &j->props, &q) >= 0 &&
                    q.n_pages > 0) {
                        j->page_id = strdup(q.pages[0].id);
                        notion_query_result_done(&q);
                        return j->page_id ? 0 : -ENOMEM;
                }
                notion_query_result_done(&q);
        }
        r = job_http(j, pj, HTTP_POST, notion_url(j, "pages", NULL), j->create_body);
        c = last_call(j);
        if (r < 0 || !call_ok(c))
                return 0;
        if (notion_parse_page_id(c->answer, strlen(c->answer), &j->page_id) < 0)
                return 0;
        for (char **b = j->append_bodies; b && *b; b++) {
                r = job_http(j, pj, HTTP_PATCH, notion_url(j, "blocks/%s/children", j->page_id),
                             *b);
                if (r < 0 || !call_ok(last_call(j)))
                        /* The page exists: that is what counts. Its body is short. */
                        break;
        }
        return 0;
}

static int job_work(void *data, PoolJob *pj) {
        Job *j = data;

        switch (j->kind) {
        case JOB_SLACK_POST:
                (void) job_http(j, pj, HTTP_POST, strdup(j->slack_url), j->slack_body);
                return 0;
        case JOB_NOTION_PREPARE:
                return work_notion_prepare(j, pj);
        case JOB_NOTION_CREATE:
                return work_notion_create(j, pj);
        case JOB_NOTION_STATUS:
                (void) job_http(j, pj, HTTP_PATCH, notion_url(j, "pages/%s", j->page_id),
                                j->status_body);
                return 0;
        case JOB_TEST:
                if (j->slack_url)
                        (void) job_http(j, pj, HTTP_POST, strdup(j->slack_url), j->slack_body);
                if (j->test_notion) {
                        int r = work_notion_prepare(j, pj);
                        if (r >= 0 && j->data_source_id && !j->reason) {
                                free(j->create_body);
                                j->create_body = NULL;
                                IncidentMessage m = {
                                        .kind = MESSAGE_TEST, .app = "Test",
                                        .type_label = "Test Alert", .severity = SEVERITY_LOW,
                                        .status = INCIDENT_RESOLVED,
                                        .title = "Slack 연동 테스트",
                                        .summary = "appwatchctl test-notify",
                                };
                                if (notion_page_create_body(&j->props, j->data_source_id, &m,
                                                            LANGUAGE_KO, &j->create_body) >= 0)
                                        (void) job_http(j, pj, HTTP_POST,
                                                        notion_url(j, "pages", NULL),
                                                        j->create_body);
                        }
                }
                return 0;
        }
        return -EINVAL;
}

/* ---- loop side ---- */

static Sender *sink_sender(Sink *k) {
        return k->sender;
}

static int notion_headers(Sender *s, char ***ret) {
        char **h = calloc(3, sizeof(char *));

        if (!h)
                return -ENOMEM;
        if (asprintf(&h[0], "Authorization: Bearer %s", s->notion_token) < 0 ||
            !(h[1] = strdup("Notion-Version: " NOTION_VERSION))) {
                strv_free(h);
                return -ENOMEM;
        }
        *ret = h;
        return 0;
}

static Job *job_new(Sender *s, JobKind kind, OutboxSink sink) {
        Job *j = calloc(1, sizeof *j);

        if (!j)
                return NULL;
        *j = (Job) { .sender = s, .kind = kind, .sink = sink, .timeout = s->timeout };
        if (sink == OUTBOX_NOTION) {
                j->interval = s->sinks[OUTBOX_NOTION].rate.interval;
                if (notion_headers(s, &j->headers) < 0 ||
                    set_copy(&j->endpoint, s->notion_endpoint) < 0 ||
                    set_copy(&j->database_id, s->notion_database_id) < 0 ||
                    set_copy(&j->wanted_data_source_id, s->notion_data_source_id) < 0 ||
                    set_copy(&j->data_source_id, s->sinks[OUTBOX_NOTION].data_source_id) < 0 ||
                    props_copy(&s->props, &j->props, j->props_strings) < 0) {
                        job_free(j);
                        return NULL;
                }
        }
        return j;
}

/* Redacted copies of what a message shows; freed by message_strings_done(). */
typedef struct MessageStrings {
        char *title, *excerpt, *summary;
        FixAttempt *fix;        /* the newest attempt that ran a unit, or NULL */
} MessageStrings;

static void message_strings_done(MessageStrings *ms) {
        free(ms->title);
        free(ms->excerpt);
        free(ms->summary);
        fix_attempt_free(ms->fix);
}

static int redact(const char *in, char **ret) {
        int r;

        if (!in) {
                *ret = NULL;
                return 0;
        }
        r = detect_redact(in, strlen(in), ret);
        return r < 0 ? r : 0;
}

/* Fills m from the incident and the row's payload (kind, counts). */
static int message_fill(Sender *s, const Incident *inc, json_t *payload, IncidentMessage *m,
                        MessageStrings *ms) {
        const char *kind = json_string_value(json_object_get(payload, "kind"));
        int r;

        r = redact(inc->title, &ms->title);
        if (r >= 0)
                r = redact(inc->excerpt, &ms->excerpt);
        if (r >= 0)
                r = redact(inc->analysis, &ms->summary);
        if (r < 0)
                return r;
        *m = (IncidentMessage) {
                .kind = kind ? message_kind_from_string(kind) : MESSAGE_NEW,
                .id = inc->id,
                .app = inc->app,
                .host = inc->host,
                .category = inc->category,
                .type_label = detect_category_label(inc->category, s->language),
                .severity = inc->severity,
                .status = inc->status,
                .auto_fixable = inc->fix_id != NULL,
                .count = inc->count,
                .count_since_last = json_integer_value(json_object_get(payload, "since")),
                .regressions = inc->regressions,
                .first_seen = inc->first_seen,
                .last_seen = inc->last_seen,
                .title = ms->title,
                .summary = ms->summary,
                .fix_id = inc->fix_id,
                .fix_result = inc->fix_state,
                .excerpt = ms->excerpt,
                .fingerprint = inc->fingerprint,
        };
        if ((int) m->kind < 0)
                m->kind = MESSAGE_STATUS;
        /* What the fix said (redacted when stored) and its unit, for
         * "자동 수정 완료" and "수동 수정 필요"; the verification's when it ran. */
        if ((m->kind == MESSAGE_FIX_SUCCEEDED || m->kind == MESSAGE_MANUAL_REQUIRED) &&
            fix_attempt_latest_run(s->store, inc->id, &ms->fix) > 0) {
                bool verified = ms->fix->verify_unit && ms->fix->verify_result;
                m->unit = verified ? ms->fix->verify_unit : ms->fix->unit;
                m->fix_output = verified ? ms->fix->verify_output : ms->fix->fix_output;
        }
        /* A status row carries the status it was written for. */
        const char *st = json_string_value(json_object_get(payload, "status"));
        if (st && incident_status_from_string(st) >= 0)
                m->status = incident_status_from_string(st);
        return 0;
}

static int64_t row_incident(const OutboxRow *row) {
        return row->target && row->target[0] ? strtoll(row->target, NULL, 10) : 0;
}

static void arm_timer(Sink *k, usec_t when) {
        (void) sd_event_source_set_time(k->timer, when);
        (void) sd_event_source_set_enabled(k->timer, SD_EVENT_ONESHOT);
}

static void job_done(void *data, int result);

static int submit_job(Sink *k, Job *j) {
        int r;

        if (!sink_sender(k)->pool) {
                job_free(j);
                return -ESHUTDOWN;
        }
        r = pool_submit(sink_sender(k)->pool, POOL_LANE_DELIVER, job_work, job_done, job_free, j,
                        &k->job);
        if (r < 0)
                return r;
        k->in_flight = true;
        rate_limit_take(&k->rate, now_realtime());
        return 0;
}

/* The row's payload if it is a daily report's ({"kind": "report", ...}), else NULL. */
static json_t *report_payload(const OutboxRow *row) {
        json_t *p = json_loads(row->payload, 0, NULL);

        if (p && json_is_string(json_object_get(p, "kind")) &&
            strcmp(json_string_value(json_object_get(p, "kind")), "report") == 0)
                return p;
        json_decref(p);
        return NULL;
}

/* A daily report: its Block Kit body was rendered when it was recorded. */
static int slack_report_job(Sink *k, const OutboxRow *row, json_t *p, Job **ret) {
        Sender *s = sink_sender(k);
        const char *body = json_string_value(json_object_get(p, "slack"));
        Job *j;

        if (!body)
                return -EINVAL;
        j = job_new(s, JOB_SLACK_POST, OUTBOX_SLACK);
        if (!j)
                return -ENOMEM;
        j->rows = calloc(1, sizeof(int64_t));
        j->slack_url = strdup(s->slack_url);
        j->slack_body = strdup(body);
        if (!j->rows || !j->slack_url || !j->slack_body) {
                job_free(j);
                return -ENOMEM;
        }
        j->rows[0] = row->id;
        j->n_rows = 1;
        j->attempts = row->attempts;
        *ret = j;
        return 0;
}

/* A daily report's page: the report as a code block (its bars line up). */
static int notion_report_job(Sink *k, const OutboxRow *row, json_t *p, Job **ret) {
        Sender *s = sink_sender(k);
        const char *title = json_string_value(json_object_get(p, "title"));
        const char *text = json_string_value(json_object_get(p, "text"));
        _cleanup_free_ char *key = NULL;
        int64_t now = (int64_t) now_realtime();
        Job *j;
        int r = 0;

        if (!title || !text)
                return -EINVAL;
        if (asprintf(&key, "report:%lld", (long long) json_integer_value(json_object_get(p, "report"))) < 0)
                return -ENOMEM;
        IncidentMessage m = {
                .kind = MESSAGE_STATUS,
                .app = "appwatch",
                .host = s->host,
                .type_label = s->language == LANGUAGE_KO ? "일일 리포트" : "Daily report",
                .severity = SEVERITY_LOW,
                .status = INCIDENT_RESOLVED,
                .first_seen = now,
                .last_seen = now,
                .title = title,
                .summary = s->language == LANGUAGE_KO
                                   ? "appwatch 일일 리포트입니다. 숫자는 아래 본문에 있습니다."
                                   : "appwatch's daily report; the numbers are below.",
                .excerpt = text,
                .fingerprint = key,
        };
        j = job_new(s, JOB_NOTION_CREATE, OUTBOX_NOTION);
        if (!j)
                return -ENOMEM;
        j->rows = calloc(1, sizeof(int64_t));
        if (!j->rows)
                r = -ENOMEM;
        else {
                j->rows[0] = row->id;
                j->n_rows = 1;
                j->attempts = row->attempts;
        }
        if (r >= 0 && s->props.fingerprint)
                r = notion_query_fingerprint_body(&s->props, key, &j->query_body);
        if (r >= 0)
                r = notion_page_create_body(&s->props, k->data_source_id, &m, s->language,
                                            &j->create_body);
        if (r >= 0)
                r = notion_blocks_append_bodies(&m, s->language, &j->append_bodies);
        if (r < 0) {
                job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

/* Builds the Slack message for rows (a group of new incidents, or one row). */
static int slack_job(Sink *k, OutboxRow *rows, size_t n, Job **ret) {
        Sender *s = sink_sender(k);
        IncidentMessage msgs[GROUP_MAX];
        const IncidentMessage *ptrs[GROUP_MAX];
        MessageStrings strs[GROUP_MAX] = {};
        Incident *incs[GROUP_MAX] = {};
        size_t used = 0;
        Job *j = NULL;
        int r = 0;

        json_t *report = report_payload(&rows[0]);
        if (report) {
                r = slack_report_job(k, &rows[0], report, ret);
                json_decref(report);
                return r;
        }
        /* Consecutive new incidents written within the window go together;
         * a report is sent alone. */
        for (size_t i = 0; i < n && used < GROUP_MAX; i++) {
                json_t *p = json_loads(rows[i].payload, 0, NULL);
                const char *kind = json_string_value(json_object_get(p, "kind"));
                bool is_new = kind && strcmp(kind, "new") == 0;

                if (kind && strcmp(kind, "report") == 0) {
                        json_decref(p);
                        break;
                }

                if (i > 0 && (!is_new || k->ungroup ||
                              rows[i].created - rows[0].created > (int64_t) s->group_window)) {
                        json_decref(p);
                        break;
                }
                r = incident_get(s->store, row_incident(&rows[i]), &incs[used]);
                if (r >= 0)
                        r = message_fill(s, incs[used], p, &msgs[used], &strs[used]);
                json_decref(p);
                if (r == -ENOENT && i == 0)
                        break;        /* the caller marks it done: nothing to say */
                if (r < 0)
                        goto finish;
                ptrs[used] = &msgs[used];
                used++;
                if (!is_new)
                        break;
        }
        if (used == 0) {
                r = -ENOENT;
                goto finish;
        }
        j = job_new(s, JOB_SLACK_POST, OUTBOX_SLACK);
        if (!j) {
                r = -ENOMEM;
                goto finish;
        }
        j->rows = calloc(used, sizeof(int64_t));
        j->slack_url = strdup(s->slack_url);
        if (!j->rows || !j->slack_url) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < used; i++)
                j->rows[i] = rows[i].id;
        j->attempts = rows[0].attempts;
        j->n_rows = used;
        j->incident = msgs[0].id;
        r = used > 1 ? slack_render_group(ptrs, used, s->language, &j->slack_body)
                     : slack_render_incident(&msgs[0], s->language, &j->slack_body);
        if (r < 0)
                goto finish;
        *ret = TAKE_PTR(j);
        r = 0;
finish:
        if (j)
                job_free(j);
        for (size_t i = 0; i < GROUP_MAX; i++) {
                message_strings_done(&strs[i]);
                incident_free(incs[i]);
        }
        return r;
}

static int notion_job(Sink *k, OutboxRow *row, Job **ret) {
        Sender *s = sink_sender(k);
        _cleanup_(incident_freep) Incident *inc = NULL;
        MessageStrings ms = {};
        IncidentMessage m;
        json_t *p;
        Job *j;
        int r;

        _cleanup_free_ char *key = NULL;

        p = report_payload(row);
        if (p) {
                r = notion_report_job(k, row, p, ret);
                json_decref(p);
                return r;
        }
        r = incident_get(s->store, row_incident(row), &inc);
        if (r < 0)
                return r;
        p = json_loads(row->payload, 0, NULL);
        r = message_fill(s, inc, p, &m, &ms);
        json_decref(p);
        if (r < 0) {
                message_strings_done(&ms);
                return r;
        }
        /* The same failure in two apps (or on two hosts) is two incidents:
         * the page's key names all three, so finding a page made before a
         * crash never finds another incident's. */
        if (asprintf(&key, "%s %s@%s", inc->fingerprint, inc->app, inc->host) < 0) {
                message_strings_done(&ms);
                return -ENOMEM;
        }
        m.fingerprint = key;
        /* A status change of an incident that has no page yet makes the page. */
        j = job_new(s, inc->notion_page_id && m.kind == MESSAGE_STATUS ? JOB_NOTION_STATUS
                                                                       : JOB_NOTION_CREATE,
                    OUTBOX_NOTION);
        if (!j) {
                message_strings_done(&ms);
                return -ENOMEM;
        }
        j->rows = calloc(1, sizeof(int64_t));
        if (!j->rows)
                r = -ENOMEM;
        else {
                j->rows[0] = row->id;
                j->attempts = row->attempts;
                j->n_rows = 1;
                j->incident = inc->id;
        }
        if (r >= 0 && j->kind == JOB_NOTION_STATUS) {
                r = set_copy(&j->page_id, inc->notion_page_id);
                if (r >= 0)
                        r = notion_page_status_body(&s->props, m.status, &j->status_body);
        } else if (r >= 0 && inc->notion_page_id) {
                /* Made already (a re-queued row): nothing to do but say so. */
                r = set_copy(&j->page_id, inc->notion_page_id);
        } else if (r >= 0) {
                if (s->props.fingerprint)
                        r = notion_query_fingerprint_body(&s->props, key, &j->query_body);
                if (r >= 0)
                        r = notion_page_create_body(&s->props, k->data_source_id, &m,
                                                    s->language, &j->create_body);
                if (r >= 0)
                        r = notion_blocks_append_bodies(&m, s->language, &j->append_bodies);
        }
        message_strings_done(&ms);
        if (r < 0) {
                job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

static void sink_hold(Sink *k, const char *code, const char *detail);

static void sink_kick(Sink *k) {
        Sender *s = sink_sender(k);
        OutboxRow *rows = NULL;
        size_t n = 0;
        usec_t now, t;
        Job *j = NULL;
        int r;

        if (!k->enabled || k->held || k->in_flight || !s->pool || txn_failed(s->txn))
                return;
        now = now_realtime();
        if (k->id == OUTBOX_NOTION && !k->prepared) {
                t = rate_limit_next(&k->rate, now);
                if (t > now) {
                        arm_timer(k, t);
                        return;
                }
                j = job_new(s, JOB_NOTION_PREPARE, OUTBOX_NOTION);
                if (!j || submit_job(k, j) < 0)
                        log_oom();
                return;
        }
        r = outbox_head(s->store, k->id, k->id == OUTBOX_SLACK ? GROUP_MAX : 1, &rows, &n);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the outbox: %m, ignoring");
                return;
        }
        if (n == 0) {
                (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
                return;
        }
        t = rate_limit_next(&k->rate, now);
        if ((usec_t) rows[0].next_attempt > t)
                t = (usec_t) rows[0].next_attempt;
        if (t > now) {
                outbox_rows_free(rows, n);
                arm_timer(k, t);
                return;
        }
        r = k->id == OUTBOX_SLACK ? slack_job(k, rows, n, &j) : notion_job(k, &rows[0], &j);
        if (r == -ENOENT) {
                /* Its incident is gone: nothing to send. */
                if (txn_begin(s->txn) >= 0)
                        (void) outbox_mark_done(s->store, rows[0].id, (int64_t) now);
                outbox_rows_free(rows, n);
                arm_timer(k, now);
                return;
        }
        if (r == -EINVAL) {
                /* Cannot be rendered (text that is not UTF-8 slipped through):
                 * this row only. */
                if (txn_begin(s->txn) >= 0)
                        (void) outbox_mark_dead(s->store, rows[0].id, "cannot be rendered");
                outbox_rows_free(rows, n);
                arm_timer(k, now);
                return;
        }
        outbox_rows_free(rows, n);
        if (r < 0) {
                log_warning_errno(r, "Cannot prepare a %s message: %m, trying again later",
                                  outbox_sink_to_string(k->id));
                arm_timer(k, now + USEC_PER_SEC);
                return;
        }
        r = submit_job(k, j);
        if (r < 0) {
                /* The lane is full or stopping: the row stays, try later. */
                arm_timer(k, now + USEC_PER_SEC);
        }
}

static int on_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        sink_kick(userdata);
        return 0;
}

/* An error text for the outbox and the log: never the URL, never a secret. */
static char *describe(const HttpCall *c, const char *reason) {
        char *t;

        if (!c)
                return strdup(reason ?: "no request made");
        if (c->error < 0) {
                if (asprintf(&t, "%s (%s)", c->error_text ?: strerror(-c->error), reason ?: "") < 0)
                        return NULL;
                return t;
        }
        /* The answer's first line, short: Slack's code, or Notion's message. */
        char *msg = NULL, *code = NULL;
        int st = 0;
        if (c->answer && notion_parse_error(c->answer, strlen(c->answer), &st, &code, &msg) >= 0) {
                int r = asprintf(&t, "HTTP %ld %s: %.200s", c->status, code ?: "", msg ?: "");
                free(code);
                free(msg);
                return r < 0 ? NULL : t;
        }
        if (asprintf(&t, "HTTP %ld %.*s", c->status, (int) strcspn(c->answer ?: "", "\r\n"),
                     c->answer ?: "") < 0)
                return NULL;
        if (strlen(t) > 240)
                t[240] = 0;
        return t;
}

static void sink_unhold(Sink *k) {
        Sender *s = sink_sender(k);

        if (k->held_incident > 0)
                (void) lifecycle_set_status(s->txn, s->store, s->bus, k->held_incident,
                                            INCIDENT_RESOLVED, INCIDENT_REASON_SYSTEM);
        k->held = false;
        k->held_incident = 0;
        free(k->held_reason);
        k->held_reason = NULL;
}

static void sink_hold(Sink *k, const char *code, const char *detail) {
        Sender *s = sink_sender(k);
        _cleanup_free_ char *key = NULL, *title = NULL, *text = NULL;
        const char *name = k->id == OUTBOX_SLACK ? "Slack" : "Notion";
        const char *fields[] = { "APPWATCH_RESULT=held", NULL };
        Category c;
        int r;

        k->held = true;
        (void) set_copy(&k->held_reason, detail ?: code);
        c = strcmp(code, "invalid_token") == 0 || strcmp(code, "unauthorized") == 0
                    ? CATEGORY_API_KEY_INVALID : CATEGORY_PERMISSION;
        if (asprintf(&key, "%s:%s", outbox_sink_to_string(k->id), code) < 0 ||
            asprintf(&title, "%s refuses appwatch's messages (%s): check the %s", name, code,
                     k->id == OUTBOX_SLACK ? "webhook URL (SLACK_WEBHOOK_URL)"
                                           : "token, the database id and its sharing") < 0 ||
            asprintf(&text, "%s\n%s\nThe messages wait in the outbox (appwatchctl outbox); "
                     "they are sent in order after systemctl reload appwatch or appwatchctl "
                     "outbox retry.", title, detail ?: "") < 0) {
                log_oom();
                return;
        }
        log_event(LOG_ERR, MESSAGE_ID_DELIVERY_HELD, fields, "%s", title);
        r = lifecycle_record_internal(s->txn, s->store, s->bus, s->host, key, c, SEVERITY_HIGH,
                                      title, text, &k->held_incident);
        if (r < 0)
                (void) txn_fatal(s->txn, r, "record a delivery problem");
}

static void job_done(void *data, int result) {
        Job *j = data;
        Sender *s = j->sender;
        Sink *k = &s->sinks[j->sink];
        HttpCall *c = last_call(j);
        const char *reason = NULL;
        _cleanup_free_ char *error = NULL;
        DeliveryOutcome o;
        int64_t now = (int64_t) now_realtime();
        int r;

        k->in_flight = false;
        k->job = NULL;
        /* submit_job() counted the job's first request; the next job waits
         * an interval after its last one, or a job of several requests (a
         * query and a create) would double the sink's rate. */
        if (j->n_calls > 1)
                rate_limit_take(&k->rate, j->last_request);
        if (result == -ECANCELED)
                return;      /* stopping: the rows stay pending */

        if (j->kind == JOB_NOTION_PREPARE) {
                if (call_ok(c) && !j->reason && j->data_source_id) {
                        k->prepared = true;
                        (void) set_copy(&k->data_source_id, j->data_source_id);
                        log_info("Notion: data source %s of database %s, schema checked.",
                                 j->data_source_id, j->database_id);
                        sink_kick(k);
                        return;
                }
                if (j->reason) {
                        log_error("Notion database %s cannot be used: %s", j->database_id,
                                  j->reason);
                        (void) set_copy(&k->last_error, j->reason);
                        sink_hold(k, "schema", j->reason);
                        return;
                }
                o = delivery_classify(OUTBOX_NOTION, c ? c->error : -EIO, c ? c->status : 0,
                                      c ? c->answer : NULL, &reason);
                error = describe(c, reason);
                (void) set_copy(&k->last_error, error);
                if (o == DELIVERY_BLOCKED || o == DELIVERY_DEAD) {
                        sink_hold(k, reason ?: "refused", error);
                        return;
                }
                /* Down: try again with the backoff of a first failure. */
                k->retried++;
                k->last_failure = now;
                arm_timer(k, now_realtime() + delivery_backoff(1 + k->retried % 12,
                                                               c ? c->retry_after : 0, &s->rng));
                return;
        }

        /* A page found by fingerprint, created now, or made before (a
         * re-queued row) is what the row asked for; appends may lag. */
        if (j->kind == JOB_NOTION_CREATE && j->page_id)
                o = DELIVERY_OK;
        else {
                o = delivery_classify(j->sink, c ? c->error : -EIO, c ? c->status : 0,
                                      c ? c->answer : NULL, &reason);
                if (o == DELIVERY_OK && j->kind == JOB_NOTION_CREATE) {
                        /* Taken, but no page in the answer: look again. */
                        o = DELIVERY_RETRY;
                        reason = "no page in the answer";
                }
        }

        r = txn_begin(s->txn);
        if (r < 0) {
                (void) txn_fatal(s->txn, r, "begin a transaction");
                return;
        }
        switch (o) {
        case DELIVERY_OK:
                for (size_t i = 0; i < j->n_rows && r >= 0; i++)
                        r = outbox_mark_done(s->store, j->rows[i], now);
                if (r >= 0 && j->kind == JOB_NOTION_CREATE && j->page_id)
                        r = incident_set_notion_page(s->store, j->incident, j->page_id);
                if (r == -ENOENT)
                        r = 0;
                k->sent += j->n_rows;
                k->last_success = now;
                k->ungroup = false;
                break;
        case DELIVERY_RETRY:
                /* The job knows its row's attempts: no need to read it again. */
                error = describe(c, reason);
                r = outbox_mark_retry(s->store, j->rows[0],
                                      now + (int64_t) delivery_backoff((uint64_t) j->attempts + 1,
                                                                       c ? c->retry_after : 0,
                                                                       &s->rng),
                                      error);
                k->retried++;
                k->last_failure = now;
                (void) set_copy(&k->last_error, error);
                break;
        case DELIVERY_DEAD:
                error = describe(c, reason);
                if (j->n_rows > 1) {
                        /* One of the group is refused: send them singly to find it. */
                        k->ungroup = true;
                        break;
                }
                r = outbox_mark_dead(s->store, j->rows[0], error);
                k->dead++;
                (void) set_copy(&k->last_error, error);
                log_warning("%s refused outbox row %" PRIi64 " for good: %s",
                            j->sink == OUTBOX_SLACK ? "Slack" : "Notion", j->rows[0], error);
                break;
        case DELIVERY_BLOCKED:
                error = describe(c, reason);
                (void) set_copy(&k->last_error, error);
                sink_hold(k, reason ?: "refused", error);
                break;
        case _DELIVERY_OUTCOME_MAX:
                break;
        }
        if (r < 0) {
                (void) txn_fatal(s->txn, r, "update the outbox");
                return;
        }
        if (o == DELIVERY_OK && k->held_incident > 0)
                sink_unhold(k);
        sink_kick(k);
}

/* ---- test-notify ---- */

static json_t *call_json(const HttpCall *c, const char *sent) {
        json_t *sent_json = sent ? json_loads(sent, 0, NULL) : NULL;

        return json_pack("{s:o?, s:i, s:s?, s:s?}",
                         "sent", sent_json,
                         "status", (int) (c ? c->status : 0),
                         "answer", c && c->error >= 0 ? c->answer : NULL,
                         "error", c && c->error < 0 ? (c->error_text ?: strerror(-c->error))
                                                    : NULL);
}

static void test_done(void *data, int result) {
        Job *j = data;
        json_t *o = json_object();
        const char *failure = NULL;
        size_t i = 0;

        j->test_answered = true;
        if (result == -ECANCELED || !o) {
                json_decref(o);
                j->test_done(NULL, result == -ECANCELED ? result : -ENOMEM, NULL,
                             j->test_userdata);
                return;
        }
        if (j->slack_url) {
                HttpCall *c = &j->calls[i++];
                (void) json_object_set_new(o, "slack", call_json(c, j->slack_body));
                if (!call_ok(c))
                        failure = "Slack did not take the test message";
        }
        if (j->test_notion) {
                HttpCall *c = i < j->n_calls ? &j->calls[j->n_calls - 1] : NULL;
                json_t *n = call_json(c, j->create_body);
                char *page = NULL;

                if (j->reason) {
                        (void) json_object_set_new(n, "error", json_string(j->reason));
                        failure = failure ?: "the Notion database cannot be used";
                } else if (call_ok(c) && j->create_body &&
                           notion_parse_page_id(c->answer, strlen(c->answer), &page) >= 0) {
                        (void) json_object_set_new(n, "page", json_string(page));
                        free(page);
                } else
                        failure = failure ?: "Notion did not take the test page";
                (void) json_object_set_new(o, "notion", n);
        }
        j->test_done(o, failure ? -EIO : 0, failure, j->test_userdata);
}

int sender_test_notify(Sender *s, bool notion, SenderTestDone done, void *userdata,
                       PoolJob **ret_job) {
        IncidentMessage m = {
                .kind = MESSAGE_TEST,
                .app = "Test",
                .host = s->host,
                .type_label = "Test Alert",
                .severity = SEVERITY_LOW,
                .status = INCIDENT_NEW,
                .title = "Slack 연동 테스트",
                .count = 1,
        };
        Job *j;
        int r;

        if (!s->slack_url && !notion)
                return -ENOMEDIUM;
        if (notion && (!s->notion_token || !s->notion_database_id))
                return -ENOMEDIUM;
        j = job_new(s, JOB_TEST, notion ? OUTBOX_NOTION : OUTBOX_SLACK);
        if (!j)
                return -ENOMEM;
        j->test_notion = notion;
        if (s->slack_url) {
                j->slack_url = strdup(s->slack_url);
                r = j->slack_url ? slack_render_incident(&m, s->language, &j->slack_body) : -ENOMEM;
                if (r < 0) {
                        job_free(j);
                        return r;
                }
        }
        if (!s->pool) {
                job_free(j);
                return -ESHUTDOWN;
        }
        r = pool_submit(s->pool, POOL_LANE_DELIVER, job_work, test_done, job_free, j, ret_job);
        if (r < 0)
                return r;       /* refused: freed without answering */
        /* From here on the job answers, even if it is dropped unrun. Its
         * done() and free run on this thread, later. */
        j->test_done = done;
        j->test_userdata = userdata;
        return 0;
}

/* ---- lifecycle ---- */

char *slack_url_redact(const char *url) {
        const char *p;
        size_t n;
        char *r;

        if (!url)
                return NULL;
        p = strstr(url, "://");
        p = p ? strchr(p + 3, '/') : NULL;
        if (!p)
                return http_url_redact(url);
        n = (size_t) (p - url);
        if (strncmp(p, "/services/", 10) == 0) {
                if (asprintf(&r, "%.*s/services/T…/B…/…", (int) n, url) < 0)
                        return NULL;
                return r;
        }
        return http_url_redact(url);
}

static void sink_configure(Sink *k, bool enabled, usec_t interval) {
        k->enabled = enabled;
        k->rate.interval = interval;
        if (!enabled)
                (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
}

/* Secrets do not stay behind in freed memory. */
static void free_secret(char *p) {
        if (p)
                explicit_bzero(p, strlen(p));
        free(p);
}

int sender_set_options(Sender *s, const SenderOptions *o) {
        int r;

        if (set_copy(&s->host, o->host ?: "localhost") < 0 ||
            set_copy(&s->slack_url, o->slack_url) < 0 ||
            set_copy(&s->notion_endpoint, o->notion_endpoint ?: "https://api.notion.com") < 0 ||
            set_copy(&s->notion_token, o->notion_token) < 0 ||
            set_copy(&s->notion_database_id, o->notion_database_id) < 0 ||
            set_copy(&s->notion_data_source_id, o->notion_data_source_id) < 0 ||
            props_copy(&o->notion_properties, &s->props, s->props_strings) < 0)
                return -ENOMEM;
        /* A trailing slash would make "//v1". */
        for (size_t l = strlen(s->notion_endpoint); l > 0 && s->notion_endpoint[l - 1] == '/'; l--)
                s->notion_endpoint[l - 1] = 0;
        s->language = o->language;
        s->timeout = o->timeout ?: 30 * USEC_PER_SEC;
        s->group_window = o->slack_group_window;
        sink_configure(&s->sinks[OUTBOX_SLACK], s->slack_url != NULL,
                       o->slack_interval ?: USEC_PER_SEC);
        sink_configure(&s->sinks[OUTBOX_NOTION], s->notion_token && s->notion_database_id,
                       o->notion_interval ?: USEC_PER_SEC / 3);
        /* The configuration changed: held sinks try again, Notion is looked
         * at afresh, and rows backed off wait no longer. */
        for (OutboxSink i = 0; i < _OUTBOX_SINK_MAX; i++) {
                Sink *k = &s->sinks[i];

                k->prepared = false;
                if (k->held) {
                        k->held = false;
                        r = txn_begin(s->txn);
                        if (r >= 0)
                                r = outbox_make_due(s->store, i, (int64_t) now_realtime());
                        if (r < 0)
                                return r;
                }
        }
        sender_kick(s);
        return 0;
}

void sender_detach(Sender *s) {
        s->pool = NULL;
        for (OutboxSink i = 0; i < _OUTBOX_SINK_MAX; i++)
                (void) sd_event_source_set_enabled(s->sinks[i].timer, SD_EVENT_OFF);
}

void sender_kick(Sender *s) {
        for (OutboxSink i = 0; i < _OUTBOX_SINK_MAX; i++)
                sink_kick(&s->sinks[i]);
}

int sender_retry(Sender *s, int64_t id) {
        int64_t now = (int64_t) now_realtime();
        int n = 0, r;

        r = txn_begin(s->txn);
        if (r < 0)
                return r;
        for (OutboxSink i = 0; i < _OUTBOX_SINK_MAX; i++) {
                Sink *k = &s->sinks[i];

                k->held = false;
                k->prepared = k->prepared && k->id == OUTBOX_SLACK;
                r = outbox_make_due(s->store, i, now);
                if (r < 0)
                        return r;
                n += r;
        }
        r = outbox_retry_dead(s->store, id, now);
        if (r < 0)
                return r;
        return n + r;
}

static const char *sink_state(const Sink *k) {
        if (!k->enabled)
                return "off";
        if (k->held)
                return "held";
        /* Down since its last success, not only before the first one. */
        if (k->retried > 0 && k->last_failure > k->last_success)
                return "retrying";
        return "ok";
}

json_t *sender_status_json(Sender *s) {
        OutboxStats st = {};
        _cleanup_free_ char *slack = slack_url_redact(s->slack_url);
        json_t *o;

        (void) outbox_stats(s->store, &st);
        o = json_pack("{s:I, s:I, s:I}", "pending", (json_int_t) st.pending, "dead",
                      (json_int_t) st.dead, "oldest_pending", (json_int_t) st.oldest_pending);
        for (OutboxSink i = 0; o && i < _OUTBOX_SINK_MAX; i++) {
                const Sink *k = &s->sinks[i];
                if (json_object_set_new(o, outbox_sink_to_string(i), json_pack(
                                "{s:s, s:s?, s:s?, s:I, s:I, s:I, s:I, s:I, s:s?}",
                                "state", sink_state(k),
                                "reason", k->held_reason,
                                "endpoint", i == OUTBOX_SLACK ? slack : s->notion_endpoint,
                                "pending", (json_int_t) st.pending_by_sink[i],
                                "sent", (json_int_t) k->sent,
                                "retried", (json_int_t) k->retried,
                                "dead", (json_int_t) k->dead,
                                "last_success", (json_int_t) k->last_success,
                                "last_error", k->last_error)) < 0) {
                        json_decref(o);
                        return NULL;
                }
        }
        return o;
}

char *sender_status_text(Sender *s) {
        char *t = NULL;

        for (OutboxSink i = 0; i < _OUTBOX_SINK_MAX; i++) {
                const Sink *k = &s->sinks[i];
                char *n;

                if (!k->enabled || !k->held)
                        continue;
                if (asprintf(&n, "%s%s%s held: %s", t ?: "", t ? ", " : "",
                             i == OUTBOX_SLACK ? "Slack" : "Notion",
                             k->held_reason ?: "refused") < 0) {
                        free(t);
                        return NULL;
                }
                free(t);
                t = n;
        }
        return t;
}

int sender_new(sd_event *event, Txn *txn, Store *store, Pool *pool, IncidentBus *bus,
               const SenderOptions *o, Sender **ret) {
        _cleanup_(sender_freep) Sender *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (Sender) {
                .event = sd_event_ref(event),
                .txn = txn,
                .store = store,
                .pool = pool,
                .bus = bus,
                .rng = now_realtime() ^ (uint64_t) getpid() << 32,
        };
        for (OutboxSink i = 0; i < _OUTBOX_SINK_MAX; i++) {
                Sink *k = &s->sinks[i];

                *k = (Sink) { .sender = s, .id = i };
                /* Accurate to a millisecond: sd-event's default 250 ms would
                 * make every paced request late and the drain slower than the
                 * rate limit allows. */
                r = sd_event_add_time(event, &k->timer, CLOCK_REALTIME, UINT64_MAX, USEC_PER_MSEC,
                                      on_timer, k);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(k->timer, i == OUTBOX_SLACK
                                                                         ? "deliver-slack"
                                                                         : "deliver-notion");
                (void) sd_event_source_set_enabled(k->timer, SD_EVENT_OFF);
        }
        r = sender_set_options(s, o);
        if (r < 0)
                return r;
        /* Old delivered rows are not needed any more. */
        if (txn_begin(txn) >= 0)
                (void) outbox_prune(store, (int64_t) (now_realtime() - DONE_RETENTION_USEC));
        *ret = TAKE_PTR(s);
        return 0;
}

Sender *sender_free(Sender *s) {
        if (!s)
                return NULL;
        for (OutboxSink i = 0; i < _OUTBOX_SINK_MAX; i++) {
                sd_event_source_disable_unref(s->sinks[i].timer);
                free(s->sinks[i].held_reason);
                free(s->sinks[i].data_source_id);
                free(s->sinks[i].last_error);
        }
        free(s->host);
        free_secret(s->slack_url);
        free(s->notion_endpoint);
        free_secret(s->notion_token);
        free(s->notion_database_id);
        free(s->notion_data_source_id);
        for (size_t i = 0; i < ELEMENTSOF(s->props_strings); i++)
                free(s->props_strings[i]);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}
