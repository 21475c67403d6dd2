/* SPDX-License-Identifier: MIT */
/*
 * Notion's status back to appwatch, part of the status check: the pages of
 * the incidents database edited since the last sync (one query of the data
 * source, filtered by last_edited_time, on the pool's deliver lane) are read
 * for their status property ([Notion] StatusProperty=, 상태). Where someone
 * set a page to Resolved or Manual Required, its incident takes that status
 * with reason INCIDENT_REASON_NOTION (the outbox writer sends no Notion
 * update for that reason, so nothing echoes back), and a journal record
 * says it came from Notion. The time of the sync is kept in the meta table
 * (key "notion_sync"); Notion gives edit times to the minute, so the next
 * query starts a minute early and what it sees again changes nothing.
 * A page whose incident still has a Notion update queued is skipped: the
 * page shows appwatch's own older status, not a person's. Loop thread,
 * except sync_work().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/lifecycle.h"
#include "deliver/notion-page.h"
#include "manager-internal.h"
#include "shared/catalog-ids.h"
#include "shared/http.h"
#include "shared/log.h"
#include "store/checks.h"

#define NOTION_VERSION "2025-09-03"
#define SYNC_META_KEY "notion_sync"
/* The first sync looks back this far. */
#define SYNC_FIRST_WINDOW (7 * USEC_PER_DAY)
/* Query pages read at most per sync (100 pages each). */
#define SYNC_MAX_REQUESTS 20
#define SYNC_TIMEOUT (30 * USEC_PER_SEC)

typedef struct SyncPage {
        char *id;
        char *status;
} SyncPage;

struct NotionSync {
        Manager *m;
        PoolJob *job;
        PoolJob *worker_job;
        NotionSyncDone done;
        void *userdata;
        char *endpoint, *token, *database, *data_source, *since, *next_since;
        char *prop_names[8];
        NotionProperties props;
        SyncPage *pages;
        size_t n_pages;
        char *error;
        bool finished;           /* done was called, or must not be */
};

static void sync_free(void *data) {
        NotionSync *s = data;

        /* Dropped by a stopping pool before it ran: done still hears of it. */
        if (!s->finished) {
                s->finished = true;
                s->done(NULL, s->userdata);
        }
        free(s->endpoint);
        free(s->token);
        free(s->database);
        free(s->data_source);
        free(s->since);
        free(s->next_since);
        for (size_t i = 0; i < ELEMENTSOF(s->prop_names); i++)
                free(s->prop_names[i]);
        for (size_t i = 0; i < s->n_pages; i++) {
                free(s->pages[i].id);
                free(s->pages[i].status);
        }
        free(s->pages);
        free(s->error);
        free(s);
}

static bool job_cancelled(void *userdata) {
        return pool_job_cancelled(userdata);
}

/* An ISO 8601 UTC time a minute before t (Notion's edit times are to the minute). */
static char *iso_minute_before(usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC) - 60;
        struct tm tm;
        char buf[40];

        if (!gmtime_r(&sec, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:00.000Z", &tm) == 0)
                return NULL;
        return strdup(buf);
}

static int fail(NotionSync *s, const char *stage, int error, const char *message, long status,
                const char *body) {
        _cleanup_free_ char *code = NULL, *text = NULL;

        if (error == -ECANCELED || error == -ENOMEM)
                return error;
        if (error >= 0)
                (void) notion_parse_error(body ?: "", body ? strlen(body) : 0, NULL, &code, &text);
        if (error < 0 ? asprintf(&s->error, "%s: %s", stage, message ?: strerror(-error)) < 0
                      : asprintf(&s->error, "%s: HTTP %ld%s%s%s%s", stage, status,
                                 code ? " " : "", code ?: "", text ? ": " : "", text ?: "") < 0)
                return -ENOMEM;
        return 0;
}

static int sync_work(void *data, PoolJob *job) {
        NotionSync *s = data;
        _cleanup_free_ char *url = NULL, *auth = NULL, *err = NULL, *ds = NULL, *cursor = NULL;
        _cleanup_(http_response_done) HttpResponse resp = {};
        int k;

        s->worker_job = job;
        if (asprintf(&url, "%s/v1/databases/%s", s->endpoint, s->database) < 0 ||
            asprintf(&auth, "Authorization: Bearer %s", s->token) < 0)
                return -ENOMEM;
        const char *headers[] = { auth, "Notion-Version: " NOTION_VERSION, NULL };
        HttpRequest q = { .method = HTTP_GET, .url = url, .headers = headers,
                          .timeout = SYNC_TIMEOUT, .cancelled = job_cancelled, .userdata = job };
        k = http_request(NULL, &q, &resp, &err);
        if (k < 0 || resp.status != 200)
                return fail(s, "database", k, err, resp.status, resp.body);
        k = notion_parse_database(resp.body, resp.body_size, s->data_source, &ds, &err);
        if (k == -ENOMEM)
                return k;
        if (k < 0 || !notion_id_is_valid(ds))
                return fail(s, "database", -EBADMSG, err ?: "no usable data source", 0, NULL);

        for (unsigned n = 0; n < SYNC_MAX_REQUESTS; n++) {
                _cleanup_(http_response_done) HttpResponse page = {};
                _cleanup_(notion_query_result_done) NotionQueryResult res = {};
                _cleanup_free_ char *body = NULL, *qurl = NULL;
                SyncPage *np;

                err = mfree(err);
                k = notion_query_edited_since_body(s->since, cursor, &body);
                if (k < 0)
                        return k;
                if (asprintf(&qurl, "%s/v1/data_sources/%s/query", s->endpoint, ds) < 0)
                        return -ENOMEM;
                HttpRequest p = { .method = HTTP_POST, .url = qurl, .headers = headers,
                                  .body = body, .body_size = strlen(body),
                                  .content_type = "application/json", .timeout = SYNC_TIMEOUT,
                                  .cancelled = job_cancelled, .userdata = job };
                k = http_request(NULL, &p, &page, &err);
                if (k < 0 || page.status != 200)
                        return fail(s, "query", k, err, page.status, page.body);
                k = notion_parse_query(page.body, page.body_size, &s->props, &res);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        return fail(s, "query", -EBADMSG, "the answer is not a page list", 0, NULL);
                np = realloc(s->pages, (s->n_pages + res.n_pages) * sizeof *np);
                if (!np && res.n_pages > 0)
                        return -ENOMEM;
                if (np)
                        s->pages = np;
                for (size_t i = 0; i < res.n_pages; i++) {
                        if (!res.pages[i].status)
                                continue;
                        s->pages[s->n_pages] = (SyncPage) { .id = TAKE_PTR(res.pages[i].id),
                                                            .status = TAKE_PTR(res.pages[i].status) };
                        s->n_pages++;
                }
                if (!res.has_more || !res.next_cursor)
                        return 0;
                free(cursor);
                cursor = TAKE_PTR(res.next_cursor);
        }
        /* More than that many edits: the rest come next time (since stays). */
        s->next_since = mfree(s->next_since);
        return 0;
}

static int sync_apply(NotionSync *s, unsigned *ret_changed) {
        Manager *m = s->m;
        unsigned changed = 0;
        int k;

        for (size_t i = 0; i < s->n_pages; i++) {
                IncidentStatus want = incident_status_from_string(s->pages[i].status), have;
                int64_t id;
                char f_id[48], f_status[64], f_page[96];

                if (want != INCIDENT_RESOLVED && want != INCIDENT_MANUAL_REQUIRED)
                        continue;
                k = checks_incident_by_notion_page(m->store, s->pages[i].id, &id, &have);
                if (k < 0)
                        return k;
                if (k == 0 || have == want)
                        continue;
                k = checks_notion_pending(m->store, id);
                if (k < 0)
                        return k;
                if (k > 0)
                        continue;
                k = lifecycle_set_status(m->txn, m->store, m->bus, id, want, INCIDENT_REASON_NOTION);
                if (k < 0)
                        return k;
                if (k == 0)
                        continue;
                changed++;
                snprintf(f_id, sizeof f_id, "APPWATCH_INCIDENT=%" PRId64, id);
                snprintf(f_status, sizeof f_status, "APPWATCH_STATUS=%s",
                         incident_status_to_string(want));
                snprintf(f_page, sizeof f_page, "APPWATCH_NOTION_PAGE=%.64s", s->pages[i].id);
                const char *fields[] = { f_id, f_status, f_page, "APPWATCH_REASON=notion",
                                         "APPWATCH_EVENT=notion_status", NULL };
                log_event(LOG_INFO, MESSAGE_ID_INCIDENT_STATUS, fields,
                          "Incident #%" PRId64 " set to %s in Notion (page %s).", id,
                          incident_status_to_string(want), s->pages[i].id);
        }
        if (s->next_since) {
                k = txn_begin(m->txn);
                if (k >= 0)
                        k = store_meta_set(m->store, SYNC_META_KEY, s->next_since);
                if (k < 0)
                        return k;
        }
        k = txn_commit(m->txn);
        if (k < 0)
                return k;
        *ret_changed = changed;
        return 0;
}

static void sync_done(void *data, int result) {
        NotionSync *s = data;
        unsigned changed = 0;
        json_t *o;
        int k = result;

        s->job = NULL;
        if (k >= 0 && !s->error)
                k = sync_apply(s, &changed);
        if (k < 0 && !s->error && asprintf(&s->error, "%s", strerror(-k)) < 0)
                s->error = NULL;
        if (s->error)
                log_warning("Notion status sync failed: %s", s->error);
        o = json_pack("{s:s, s:I, s:i, s:s?}", "since", s->since, "pages_edited",
                      (json_int_t) s->n_pages, "changed", (int) changed, "error", s->error);
        s->finished = true;
        s->done(o, s->userdata);
}

int notion_sync_start(Manager *m, NotionSyncDone done, void *userdata, NotionSync **ret) {
        const Config *c = m->config;
        _cleanup_free_ char *since = NULL;
        NotionSync *s;
        int k;

        if (!c->notion_api_token || !c->notion_database_id || !c->notion_prop_status)
                return -ENOMEDIUM;
        k = store_meta_get(m->store, SYNC_META_KEY, &since);
        if (k < 0)
                return k;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (NotionSync) { .m = m, .done = done, .userdata = userdata };
        s->since = since ? TAKE_PTR(since) : iso_minute_before(now_realtime() - SYNC_FIRST_WINDOW);
        s->next_since = iso_minute_before(now_realtime());
        s->endpoint = strdup(c->notion_endpoint);
        s->token = strdup(c->notion_api_token);
        s->database = strdup(c->notion_database_id);
        s->data_source = c->notion_data_source_id ? strdup(c->notion_data_source_id) : NULL;
        const char *props[8] = { c->notion_prop_title, c->notion_prop_type, c->notion_prop_app,
                                 c->notion_prop_severity, c->notion_prop_auto_fixable,
                                 c->notion_prop_status, c->notion_prop_time,
                                 c->notion_prop_fingerprint };
        bool oom = !s->since || !s->next_since || !s->endpoint || !s->token || !s->database ||
                   (c->notion_data_source_id && !s->data_source);
        for (size_t i = 0; i < ELEMENTSOF(props); i++)
                if (props[i] && !(s->prop_names[i] = strdup(props[i])))
                        oom = true;
        if (oom) {
                sync_free(s);
                return -ENOMEM;
        }
        s->props = (NotionProperties) {
                .title = s->prop_names[0], .type = s->prop_names[1], .app = s->prop_names[2],
                .severity = s->prop_names[3], .auto_fixable = s->prop_names[4],
                .status = s->prop_names[5], .time = s->prop_names[6],
                .fingerprint = s->prop_names[7],
        };
        /* A refused job is freed inside pool_submit(): no done for it. */
        s->finished = true;
        k = pool_submit(m->pool, POOL_LANE_DELIVER, sync_work, sync_done, sync_free, s, &s->job);
        if (k < 0)
                return k;
        s->finished = false;
        *ret = s;
        return 0;
}

void notion_sync_cancel(NotionSync *s) {
        if (s && s->job)
                pool_job_cancel(s->job);
}
