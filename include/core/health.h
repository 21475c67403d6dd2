/* SPDX-License-Identifier: MIT */
/*
 * The health check's judgement (appwatchctl health, hourly): what the probes
 * of the APIs answered, turned into CheckItems keyed by the incident each
 * failure is ("gemini:key_invalid", "gemini:model_not_found",
 * "gemini:unavailable", "health:notion:unreachable", "health:notion:schema",
 * "health:slack:webhook_malformed"). A probe that could not tell (the model, while
 * the key is refused) adds no item, so it neither raises nor resolves
 * anything. The Gemini keys are the ones the analysis path records too (one
 * incident for one problem, whoever saw it); the Notion and Slack ones are
 * the health check's own ("health:..."), apart from the sender's holds
 * ("notion:unauthorized", ...), which only a reload or outbox retry lifts:
 * a passing probe must not resolve those while messages are still held.
 * Pure, any thread.
 */
#pragma once

#include "core/check.h"
#include "deliver/notion-page.h"

/*
 * GET {Endpoint}/v1beta/models/{model}: error is http_request()'s (-errno,
 * status and body unused) or 0 with the answer's status and body.
 */
int health_eval_gemini(CheckReport *r, const char *model, int error, const char *error_message,
                       long status, const char *body);

/* Whether url is a Slack incoming webhook: https://hooks.slack.com/services/T…/B…/…;
 * with any_host (a [Slack] Endpoint= is set: a proxy, the tests' fake) any
 * http(s) host with that path. */
bool health_slack_url_valid(const char *url, bool any_host);
int health_eval_slack(CheckReport *r, const char *url, bool any_host);

/*
 * The Notion probe: stage names the request that failed ("database",
 * "data source"), NULL when both answered 200; error, status and body are
 * that request's (as for Gemini); schema_error is notion_check_schema()'s
 * message when the schema is wrong.
 */
int health_eval_notion(CheckReport *r, const char *stage, int error, const char *error_message,
                       long status, const char *body, const char *schema_error);
