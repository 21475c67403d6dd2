/* SPDX-License-Identifier: MIT */
/* The health check's judgement; see health.h. Pure, any thread. */
#include <errno.h>
#include <string.h>

#include "core/health.h"
#include "shared/cleanup.h"

/* The "reason" of a Google API error: error.details[].reason, else error.status. */
static char *google_reason(const char *body) {
        json_auto_t *j = body ? json_loads(body, 0, NULL) : NULL;
        json_t *e = json_object_get(j, "error"), *d;
        size_t i;

        json_array_foreach(json_object_get(e, "details"), i, d)
                if (json_is_string(json_object_get(d, "reason")))
                        return strdup(json_string_value(json_object_get(d, "reason")));
        if (json_is_string(json_object_get(e, "status")))
                return strdup(json_string_value(json_object_get(e, "status")));
        return NULL;
}

int health_eval_gemini(CheckReport *r, const char *model, int error, const char *error_message,
                       long status, const char *body) {
        _cleanup_free_ char *reason = NULL;
        bool key_refused;
        int k;

        if (error < 0)
                return check_report_add(r, "gemini:unavailable", "gemini", true,
                                        CATEGORY_API_UNAVAILABLE, SEVERITY_HIGH,
                                        json_pack("{s:s}", "error", error_message ?: strerror(-error)),
                                        "Gemini API cannot be reached: %s",
                                        error_message ?: strerror(-error));
        reason = google_reason(body);
        key_refused = status == 401 || status == 403 ||
                      (status == 400 && reason && strcmp(reason, "API_KEY_INVALID") == 0);
        k = check_report_add(r, "gemini:key_invalid", "gemini", key_refused,
                             CATEGORY_API_KEY_INVALID, SEVERITY_HIGH,
                             json_pack("{s:i, s:s?}", "http_status", (int) status, "reason", reason),
                             key_refused ? "API 키 확인 필요: Gemini refuses the API key (HTTP %ld%s%s)"
                                         : "Gemini API key accepted (HTTP %ld%s%s)",
                             status, reason ? ", " : "", reason ?: "");
        if (k < 0 || key_refused)
                return k;
        if (status == 200 || status == 404)
                return check_report_add(r, "gemini:model_not_found", "gemini", status == 404,
                                        CATEGORY_API_UNAVAILABLE, SEVERITY_HIGH,
                                        json_pack("{s:s, s:i}", "model", model, "http_status",
                                                  (int) status),
                                        status == 404
                                                ? "Gemini model '%s' is not served (retired?): set "
                                                  "[Gemini] Model= to a current model"
                                                : "Gemini model '%s' is served", model);
        return check_report_add(r, "gemini:unavailable", "gemini", true, CATEGORY_API_UNAVAILABLE,
                                SEVERITY_HIGH,
                                json_pack("{s:i, s:s?}", "http_status", (int) status, "reason", reason),
                                "Gemini API answers HTTP %ld%s%s to the model probe", status,
                                reason ? ": " : "", reason ?: "");
}

bool health_slack_url_valid(const char *url, bool any_host) {
        static const char prefix[] = "https://hooks.slack.com/services/";
        const char *p;
        size_t parts = 0;

        if (!url)
                return false;
        if (strncmp(url, prefix, strlen(prefix)) == 0)
                p = url + strlen(prefix);
        else if (any_host && (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)) {
                p = strchr(strstr(url, "://") + 3, '/');
                if (!p || strncmp(p, "/services/", 10) != 0)
                        return false;
                p += 10;
        } else
                return false;
        /* T…/B…/secret: three non-empty path segments of letters and digits. */
        while (*p) {
                size_t l = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
                if (l == 0)
                        return false;
                parts++;
                p += l;
                if (*p == '/')
                        p++;
                else if (*p)
                        return false;
        }
        return parts == 3 && url[strlen(url) - 1] != '/';
}

int health_eval_slack(CheckReport *r, const char *url, bool any_host) {
        bool ok = health_slack_url_valid(url, any_host);

        return check_report_add(r, "health:slack:webhook_malformed", "slack", !ok,
                                CATEGORY_API_KEY_INVALID, SEVERITY_HIGH, json_object(),
                                ok ? "Slack webhook URL is well formed"
                                   : "Slack webhook URL is malformed: expected "
                                     "https://hooks.slack.com/services/T…/B…/… (check "
                                     "SLACK_WEBHOOK_URL or the slack_webhook_url credential)");
}

int health_eval_notion(CheckReport *r, const char *stage, int error, const char *error_message,
                       long status, const char *body, const char *schema_error) {
        _cleanup_free_ char *code = NULL, *message = NULL;
        int k;

        if (stage && error < 0)
                return check_report_add(r, "health:notion:unreachable", "notion", true,
                                        CATEGORY_API_UNAVAILABLE, SEVERITY_HIGH,
                                        json_pack("{s:s, s:s}", "stage", stage, "error",
                                                  error_message ?: strerror(-error)),
                                        "Notion API cannot be reached (%s): %s", stage,
                                        error_message ?: strerror(-error));
        k = check_report_add(r, "health:notion:unreachable", "notion", false, CATEGORY_API_UNAVAILABLE,
                             SEVERITY_HIGH, json_object(), "Notion API reachable");
        if (k < 0)
                return k;
        if (stage) {
                bool token = status == 401;

                (void) notion_parse_error(body ?: "", body ? strlen(body) : 0, NULL, &code, &message);
                return check_report_add(r, token ? "health:notion:invalid_token" : "health:notion:access", "notion",
                                        true, token ? CATEGORY_API_KEY_INVALID : CATEGORY_PERMISSION,
                                        SEVERITY_HIGH,
                                        json_pack("{s:s, s:i, s:s?}", "stage", stage, "http_status",
                                                  (int) status, "code", code),
                                        "Notion refuses the %s request (HTTP %ld%s%s%s%s): check "
                                        "the token, the database id and its sharing", stage, status,
                                        code ? ", " : "", code ?: "", message ? ": " : "",
                                        message ?: "");
        }
        k = check_report_add(r, "health:notion:invalid_token", "notion", false, CATEGORY_API_KEY_INVALID,
                             SEVERITY_HIGH, json_object(), "Notion accepts the token");
        if (k >= 0)
                k = check_report_add(r, "health:notion:access", "notion", false, CATEGORY_PERMISSION,
                                     SEVERITY_HIGH, json_object(),
                                     "Notion database and data source readable");
        if (k < 0)
                return k;
        return check_report_add(r, "health:notion:schema", "notion", schema_error != NULL, CATEGORY_OTHER,
                                SEVERITY_HIGH, json_pack("{s:s?}", "problems", schema_error),
                                schema_error ? "Notion database schema does not fit: %s"
                                             : "Notion database schema fits%s",
                                schema_error ?: "");
}
