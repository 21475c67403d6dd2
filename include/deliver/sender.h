/* SPDX-License-Identifier: MIT */
/*
 * The outbox's sender. Per sink (Slack, Notion) it sends the oldest pending
 * rows in order, one request at a time, on the pool's deliver lane, within
 * the sink's rate limit, and marks a row done only after the sink took it.
 * A failure that retrying can fix backs the row off (deliver/policy.h); a
 * row the sink refuses for good is marked dead with its error; a refusal of
 * the sink itself (a bad token, a webhook or database that is gone) holds
 * the sink's rows and becomes one High incident of appwatch's own, until
 * the configuration is reloaded or `appwatchctl outbox retry` is run.
 * Messages are rendered when they are sent, from the incident as it is
 * then, in the configured language, with every text redacted. Loop thread
 * only; the requests run on workers with copies of what they need.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "core/incident-bus.h"
#include "core/pool.h"
#include "core/txn.h"
#include "deliver/notion-page.h"
#include "shared/parse.h"
#include "shared/taxonomy.h"
#include "store/outbox.h"

typedef struct Sender Sender;

typedef struct SenderOptions {
        const char *host;                 /* this machine, for appwatch's own incidents */
        Language language;
        usec_t timeout;                   /* of one request */

        const char *slack_url;            /* the webhook (a secret), NULL: no Slack */
        usec_t slack_interval;            /* between two messages */
        usec_t slack_group_window;        /* new incidents this close are one message */

        const char *notion_endpoint;      /* https://api.notion.com */
        const char *notion_token;         /* a secret; NULL: no Notion */
        const char *notion_database_id;
        const char *notion_data_source_id;  /* NULL: the database's only one */
        NotionProperties notion_properties;
        usec_t notion_interval;           /* between two requests */
} SenderOptions;

/* Strings are copied. */
int sender_new(sd_event *event, Txn *txn, Store *store, Pool *pool, IncidentBus *bus,
               const SenderOptions *o, Sender **ret);
/* Free the pool first: its last done() callbacks still use the sender. */
Sender *sender_free(Sender *s);
DEFINE_CLEANUP(Sender, sender_free)

/* A reload: new options, and sinks that were held are tried again. */
int sender_set_options(Sender *s, const SenderOptions *o);

/* The pool was freed (stopping): send nothing more; the rows stay pending. */
void sender_detach(Sender *s);

/* Looks for due rows now (new rows were committed). */
void sender_kick(Sender *s);

/* Lets held sinks try again and re-queues dead rows (id, or 0 for all). Returns how many rows. */
int sender_retry(Sender *s, int64_t id);

/* {"slack": {...}, "notion": {...}} for status: state, reason, counts, the endpoint redacted. */
json_t *sender_status_json(Sender *s);
/* A short text for STATUS= ("Slack held: invalid_token"), or NULL when all is well. */
char *sender_status_text(Sender *s);

/*
 * Sends the users' guide's test alert straight to Slack (and, with notion,
 * a test page to Notion), not through the outbox; done() gets a JSON object
 * with what was sent, the HTTP status and the answer per sink, or NULL and
 * an error. *ret_job gets the deliver lane's job, for cancellation.
 */
typedef void (*SenderTestDone)(json_t *result, int error, const char *message, void *userdata);
int sender_test_notify(Sender *s, bool notion, SenderTestDone done, void *userdata,
                       PoolJob **ret_job);

/* The webhook shown without its secret: https://hooks.slack.com/services/T…/B…/… */
char *slack_url_redact(const char *url);
