/* SPDX-License-Identifier: MIT */
/*
 * Analysis jobs; see analyzer.h. Two lists: incoming (published in the open
 * transaction, not yet durable) and waiting (committed, not yet accepted by
 * the pool). A post-commit hook moves incoming to waiting and submits what
 * the lane takes; the lane's drain callback submits more. Whether a job asks
 * Gemini is decided on the loop right before it is submitted (the store,
 * the budget and the refusal state are the loop's); a job whose failure
 * already has a call in flight is parked until that call is done, so that
 * its answer, cached by then, serves it. Loop thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/gemini-client.h"
#include "analyze/offline.h"
#include "core/analyzer.h"
#include "core/lifecycle.h"
#include "detect/redact.h"
#include "shared/log.h"
#include "store/ai.h"

/* A 5xx is retried once, after this long, within the same job. */
#define AI_RETRY_DELAY (500 * USEC_PER_MSEC)
/* A 429 without a RetryInfo waits this long. */
#define AI_QUOTA_DEFAULT_DELAY (60 * USEC_PER_SEC)

typedef enum AiPlan {
        AI_OFF,                     /* offline; note says why */
        AI_CACHED,                  /* the cached answer */
        AI_CALL,                    /* ask Gemini */
} AiPlan;

typedef struct Job {
        struct Job *next;
        Analyzer *analyzer;
        int64_t incident_id;
        Finding *finding;
        char *app;
        Language language;

        /* Decided on the loop before the job is submitted. */
        AiPlan plan;
        bool counted;               /* in a->in_flight / a->flying */
        char *note;                 /* AI_OFF: why */
        char *cached;               /* AI_CACHED: the answer's JSON */
        char *model, *endpoint, *api_key;
        usec_t timeout;
        unsigned max_output_tokens;
        AppKind kind;
        char *command;

        /* Filled by the worker. */
        char *result;
        GeminiAttempt attempts[2];
        size_t n_attempts;
        bool ai_ok;
        GeminiAnswer answer;
        char *answer_json;          /* a fresh answer, for the cache */
        bool have_error;
        GeminiError error;
        char *ai_note;              /* why the AI gave no usable answer */
        MergedVerdict merged;
} Job;

typedef struct JobList {
        Job *head, *tail;
        size_t n;
} JobList;

struct Analyzer {
        Txn *txn;
        Store *store;
        Pool *pool;
        IncidentBus *bus;
        Language language;
        char *host;
        AnalyzerGemini gemini;      /* strings owned */
        const Config *config;
        IncidentListener *listener;
        TxnHook *hook;
        JobList incoming, waiting, parked;
        size_t in_flight;           /* AI calls submitted, not done */
        char **flying;              /* their fingerprints */
        size_t n_flying;
        char *block_reason;         /* key or model refused: no calls */
        int64_t block_incident;     /* appwatch's own incident about it, or 0 */
        int64_t quota_incident;     /* appwatch's own incident about an exhausted quota, or 0 */
        usec_t quota_until;         /* CLOCK_REALTIME; no calls before */
        char *quota_reason;
        AnalyzerThrottleFunc throttle;
        void *throttle_userdata;
        AnalyzerVerdictFunc verdict;
        void *verdict_userdata;
        AnalyzerStats stats;
};

static void free_secret(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static void job_free(void *data) {
        Job *j = data;

        finding_free(j->finding);
        free(j->app);
        free(j->note);
        free(j->cached);
        free(j->model);
        free(j->endpoint);
        free_secret(j->api_key);
        free(j->command);
        free(j->result);
        gemini_answer_done(&j->answer);
        free(j->answer_json);
        if (j->have_error)
                gemini_error_done(&j->error);
        free(j->ai_note);
        merged_verdict_done(&j->merged);
        free(j);
}

static void list_push(JobList *l, Job *j) {
        j->next = NULL;
        if (l->tail)
                l->tail->next = j;
        else
                l->head = j;
        l->tail = j;
        l->n++;
}

static void list_push_front(JobList *l, Job *j) {
        j->next = l->head;
        l->head = j;
        if (!l->tail)
                l->tail = j;
        l->n++;
}

static Job *list_pop(JobList *l) {
        Job *j = l->head;

        if (j) {
                l->head = j->next;
                if (!l->head)
                        l->tail = NULL;
                l->n--;
        }
        return j;
}

static void list_clear(JobList *l) {
        Job *j;

        while ((j = list_pop(l)))
                job_free(j);
}

/* ---- the worker ---------------------------------------------------------- */

static bool job_cancelled(void *userdata) {
        return pool_job_cancelled(userdata);
}

static int redact_dup(const char *s, char **ret) {
        int r;

        if (!s) {
                *ret = NULL;
                return 0;
        }
        r = detect_redact(s, strlen(s), ret);
        return r < 0 ? r : 0;
}

/* Asks Gemini; fills the job's attempts, answer or error and note. */
static int job_call(Job *j, PoolJob *pj) {
        _cleanup_free_ char *excerpt = NULL, *command = NULL, *app = NULL, *rules_fix = NULL;
        _cleanup_free_ char *body = NULL;
        const Finding *f = j->finding;
        int r;

        /* Nothing leaves the host unredacted: the excerpt, the command, and
         * the app's name and the rules' fix (which carry words of the log). */
        r = redact_dup(f->excerpt ?: f->title ?: "", &excerpt);
        if (r >= 0)
                r = redact_dup(j->command, &command);
        if (r >= 0)
                r = redact_dup(j->app, &app);
        if (r >= 0)
                r = redact_dup(f->fix, &rules_fix);
        if (r < 0)
                return r;
        GeminiPrompt p = {
                .language = j->language,
                .app = app,
                .app_kind = j->kind,
                .command = command,
                .rules_category = f->category,
                .rules_fix = rules_fix,
                .excerpt = excerpt,
                .fix_ids = gemini_fix_ids(),
                .max_output_tokens = j->max_output_tokens,
                .temperature = -1,
                /* Thinking counts against maxOutputTokens: a log's root cause
                 * needs little of it, and "low" keeps answers from being cut. */
                .thinking_level = "low",
        };
        r = gemini_request_body(&p, &body);
        if (r < 0)
                return r;
        GeminiCallOptions o = {
                .endpoint = j->endpoint,
                .model = j->model,
                .api_key = j->api_key,
                .timeout = j->timeout,
                .cancelled = job_cancelled,
                .userdata = pj,
        };
        for (;;) {
                GeminiAttempt *at = &j->attempts[j->n_attempts++];

                r = gemini_call(gemini_thread_curl(), &o, body, gemini_fix_ids(), at, &j->answer,
                                &j->error, &j->ai_note);
                j->have_error = r == -EREMOTE;
                if (r != -EREMOTE || j->n_attempts >= ELEMENTSOF(j->attempts) ||
                    (j->error.kind != GEMINI_ERROR_SERVER &&
                     j->error.kind != GEMINI_ERROR_UNAVAILABLE))
                        break;
                /* One cheap retry of an overloaded or failing server. */
                if (pool_job_sleep(pj, AI_RETRY_DELAY) < 0)
                        break;
                gemini_error_done(&j->error);
                j->have_error = false;
                j->ai_note = mfree(j->ai_note);
        }
        if (r == -ENOMEM)
                return r;
        if (r == -ECANCELED)
                return r;
        j->ai_ok = r >= 0;
        if (j->ai_ok) {
                j->answer_json = gemini_answer_to_json(&j->answer);
                if (!j->answer_json)
                        return -ENOMEM;
        } else if (!j->ai_note)
                return -ENOMEM;
        return 0;
}

static int ai_text(const Job *j, char **ret) {
        const GeminiAnswer *an = &j->answer;
        char *s;

        if (asprintf(&s, "%s\n%s%s%s%s", an->cause ?: "",
                     j->language == LANGUAGE_KO ? "해결: " : "Fix: ", an->fix_summary ?: "",
                     an->details && *an->details ? "\n" : "", an->details ?: "") < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int job_work(void *data, PoolJob *pj) {
        Job *j = data;
        Analysis a = {};
        AnalyzeContext ctx = { .app = j->app };
        _cleanup_free_ char *offline = NULL;
        int r;

        /* Always computed: it is the fallback of every failure below. */
        r = analyze_offline(j->finding, j->language, &ctx, &a);
        if (r >= 0) {
                offline = analysis_format(&a);
                if (!offline)
                        r = -ENOMEM;
        }
        analysis_done(&a);
        if (r < 0)
                return r;

        if (j->plan == AI_CACHED) {
                r = gemini_answer_from_json(j->cached, gemini_fix_ids(), &j->answer, &j->ai_note);
                if (r == -ENOMEM)
                        return r;
                j->ai_ok = r >= 0;
                if (!j->ai_ok && !j->ai_note)
                        j->ai_note = strdup("the cached AI answer is unusable");
        } else if (j->plan == AI_CALL) {
                r = job_call(j, pj);
                if (r < 0)
                        return r;
        }
        /* An answer with an empty cause explains nothing: the offline
         * analysis says more. */
        if (j->ai_ok && (!j->answer.cause || !*j->answer.cause)) {
                j->ai_ok = false;
                free(j->ai_note);
                j->ai_note = strdup("the AI answer gives no cause");
                if (!j->ai_note)
                        return -ENOMEM;
        }

        RuleVerdict rules = {
                .category = j->finding->category,
                .fix = j->finding->fix,
                .auto_fixable = j->finding->auto_fixable,
        };
        r = gemini_merge(j->ai_ok ? &j->answer : NULL, &rules, &j->merged);
        if (r < 0)
                return r;
        if (j->ai_ok)
                return ai_text(j, &j->result);
        j->result = TAKE_PTR(offline);
        return 0;
}

/* ---- the loop ------------------------------------------------------------ */

static void submit_waiting(Analyzer *a);

static void flying_remove(Analyzer *a, const char *fp) {
        for (size_t i = 0; i < a->n_flying; i++)
                if (strcmp(a->flying[i], fp) == 0) {
                        free(a->flying[i]);
                        a->flying[i] = a->flying[--a->n_flying];
                        return;
                }
}

static bool flying_has(Analyzer *a, const char *fp) {
        for (size_t i = 0; i < a->n_flying; i++)
                if (strcmp(a->flying[i], fp) == 0)
                        return true;
        return false;
}

/* The jobs parked behind fp's call go back to the head of the queue. */
static void unpark(Analyzer *a, const char *fp) {
        JobList keep = {}, back = {};
        Job *j;

        while ((j = list_pop(&a->parked)))
                list_push(strcmp(j->finding->fingerprint, fp) == 0 ? &back : &keep, j);
        a->parked = keep;
        while (back.tail) {
                /* Reverse onto the front, keeping their order. */
                Job *last = back.head, *prev = NULL;

                while (last->next) {
                        prev = last;
                        last = last->next;
                }
                if (prev)
                        prev->next = NULL;
                else
                        back.head = NULL;
                back.tail = prev;
                back.n--;
                list_push_front(&a->waiting, last);
        }
}

static void job_uncount(Analyzer *a, Job *j) {
        if (!j->counted)
                return;
        j->counted = false;
        a->in_flight--;
        flying_remove(a, j->finding->fingerprint);
        unpark(a, j->finding->fingerprint);
}

static char *format_time(usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        char buf[32], *r;

        if (!gmtime_r(&s, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return strdup("?");
        r = strdup(buf);
        return r;
}

static int set_note(Job *j, const char *fmt, ...) _printf_(2, 3);
static int set_note(Job *j, const char *fmt, ...) {
        va_list ap;
        int r;

        free(j->note);
        j->note = NULL;
        va_start(ap, fmt);
        r = vasprintf(&j->note, fmt, ap);
        va_end(ap);
        if (r < 0) {
                j->note = NULL;
                return -ENOMEM;
        }
        return 0;
}

static int copy_call_options(Analyzer *a, Job *j) {
        const ConfigApp *app = a->config ? config_find_app(a->config, j->app) : NULL;

        j->kind = app ? app->kind : APP_KIND_OTHER;
        if (app && app->build_command && !(j->command = strdup(app->build_command)))
                return -ENOMEM;
        j->model = strdup(a->gemini.model);
        j->endpoint = strdup(a->gemini.endpoint);
        j->api_key = strdup(a->gemini.api_key);
        if (!j->model || !j->endpoint || !j->api_key)
                return -ENOMEM;
        j->timeout = a->gemini.timeout;
        j->max_output_tokens = a->gemini.max_output_tokens;
        return 0;
}

/*
 * Decides whether j asks Gemini, from what the loop knows. Returns 0 when
 * decided, 1 when j was parked behind a call for the same failure, -errno.
 */
static int plan_job(Analyzer *a, Job *j) {
        usec_t now = now_realtime();
        AiUsage u;
        int r;

        j->plan = AI_OFF;
        if (!a->gemini.api_key)
                return set_note(j, "no Gemini API key (GEMINI_API_KEY) is set");
        if (strcmp(j->app, "appwatch") == 0)
                return set_note(j, "appwatch's own incident: not sent to Gemini");

        AiCacheKey k = {
                .fingerprint = j->finding->fingerprint,
                .model = a->gemini.model,
                .prompt_version = GEMINI_PROMPT_VERSION,
                .redaction_version = DETECT_REDACT_VERSION,
                .language = language_to_string(j->language),
        };
        r = ai_answer_get(a->store, &k, &j->cached);
        if (r >= 0) {
                j->plan = AI_CACHED;
                a->stats.ai_cache_hits++;
                return 0;
        }
        if (r != -ENOENT)
                log_warning_errno(r, "Cannot look up a cached AI answer: %m, asking Gemini");

        if (a->block_reason)
                return set_note(j, "Gemini is not called until the configuration is reloaded: %s",
                                a->block_reason);
        if (a->quota_until > now) {
                _cleanup_free_ char *t = format_time(a->quota_until);

                return set_note(j, "Gemini quota exhausted until %s%s%s", t ?: "?",
                                a->quota_reason ? ": " : "", a->quota_reason ?: "");
        }
        if (a->gemini.max_calls_per_hour == 0 || a->gemini.daily_budget == 0)
                return set_note(j, "Gemini is switched off ([Gemini] %s=0)",
                                a->gemini.max_calls_per_hour == 0 ? "MaxCallsPerHour"
                                                                  : "DailyBudget");
        r = ai_usage_between(a->store, (int64_t) (now - USEC_PER_HOUR), INT64_MAX, &u);
        if (r < 0)
                return r;
        if (u.calls + a->in_flight >= a->gemini.max_calls_per_hour)
                return set_note(j, "AI budget exhausted: %" PRIu64 " calls in the last hour "
                                "([Gemini] MaxCallsPerHour=%u)", u.calls + a->in_flight,
                                a->gemini.max_calls_per_hour);
        r = ai_usage_between(a->store, (int64_t) (now - USEC_PER_DAY), INT64_MAX, &u);
        if (r < 0)
                return r;
        if (u.calls + a->in_flight >= a->gemini.daily_budget)
                return set_note(j, "AI budget exhausted: %" PRIu64 " calls in the last 24 hours "
                                "([Gemini] DailyBudget=%u)", u.calls + a->in_flight,
                                a->gemini.daily_budget);

        if (flying_has(a, j->finding->fingerprint)) {
                list_push(&a->parked, j);
                return 1;
        }
        r = copy_call_options(a, j);
        if (r < 0)
                return r;
        char **n = realloc(a->flying, (a->n_flying + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        a->flying = n;
        a->flying[a->n_flying] = strdup(j->finding->fingerprint);
        if (!a->flying[a->n_flying])
                return -ENOMEM;
        a->n_flying++;
        a->in_flight++;
        j->counted = true;
        j->plan = AI_CALL;
        return 0;
}

/* Gemini refused the key or the model: one incident of appwatch's own, and
 * no calls until a reload (or analyzer_gemini_unblock()). */
static void block(Analyzer *a, const GeminiError *e, const char *note) {
        _cleanup_free_ char *title = NULL, *text = NULL;
        const char *key, *what;
        bool ko = a->language == LANGUAGE_KO;
        Category c;
        int r;

        if (a->block_reason)
                return;          /* already: alerted once */
        a->block_reason = strdup(note ?: "Gemini refused the request");
        if (!a->block_reason) {
                log_oom();
                return;
        }
        switch (e->kind) {
        case GEMINI_ERROR_KEY_INVALID:
                key = "gemini:key_invalid";
                c = CATEGORY_API_KEY_INVALID;
                what = ko ? "Gemini API 키 확인 필요" : "Check the Gemini API key";
                break;
        case GEMINI_ERROR_MODEL_NOT_FOUND:
                key = "gemini:model_not_found";
                c = CATEGORY_API_UNAVAILABLE;
                what = ko ? "Gemini 모델 확인 필요 ([Gemini] Model=)"
                          : "Check the Gemini model ([Gemini] Model=)";
                break;
        default:
                key = "gemini:permission";
                c = CATEGORY_API_KEY_INVALID;
                what = ko ? "Gemini API 키 확인 필요 (권한)" : "Check the Gemini API key's permissions";
                break;
        }
        if (asprintf(&title, "%s: %s", what, note ?: "") < 0 ||
            asprintf(&text, "%s\n%s", title,
                     ko ? "Gemini 호출을 멈추고 오프라인 분석을 사용합니다. 설정을 고친 뒤 "
                          "systemctl reload appwatch 하세요."
                        : "Gemini is not called meanwhile; analyses are offline. Fix the key "
                          "or [Gemini] Model=, then systemctl reload appwatch.") < 0) {
                log_oom();
                return;
        }
        log_error("%s", title);
        r = lifecycle_record_internal(a->txn, a->store, a->bus, a->host, key, c, SEVERITY_HIGH,
                                      title, text, &a->block_incident);
        if (r < 0)
                (void) txn_fatal(a->txn, r, "record a Gemini problem");
}

/* Records the job's calls and what they taught; in the open transaction. */
static int record_calls(Analyzer *a, Job *j) {
        int r;

        for (size_t i = 0; i < j->n_attempts; i++) {
                const GeminiAttempt *at = &j->attempts[i];
                AiCall c = {
                        .time = (int64_t) at->started,
                        .incident_id = j->incident_id,
                        .model = j->model,
                        .outcome = at->outcome,
                        .http_status = at->http_status,
                        .prompt_tokens = at->usage.prompt_tokens,
                        .output_tokens = at->usage.output_tokens,
                        .thoughts_tokens = at->usage.thoughts_tokens,
                        .latency_usec = (int64_t) at->latency,
                };

                r = ai_call_add(a->store, &c);
                if (r < 0)
                        return r;
                a->stats.ai_calls++;
        }
        if (j->have_error && j->error.config_problem)
                block(a, &j->error, j->ai_note);
        else if (j->have_error && j->error.kind == GEMINI_ERROR_QUOTA) {
                usec_t d = j->error.retry_delay > 0 ? j->error.retry_delay : AI_QUOTA_DEFAULT_DELAY;
                usec_t until = now_realtime() + d;

                if (until > a->quota_until) {
                        a->quota_until = until;
                        free(a->quota_reason);
                        a->quota_reason = j->ai_note ? strdup(j->ai_note) : NULL;
                }
                /* The users' guide's scenario 2: an exhausted quota is told
                 * at once, as one incident (however many calls meet it),
                 * resolved by the next answer. */
                if (a->quota_incident == 0) {
                        _cleanup_free_ char *title = NULL;
                        bool ko = a->language == LANGUAGE_KO;

                        if (asprintf(&title, "%s: %s",
                                     ko ? "Gemini API 할당량 초과 (API 키 확인 필요)"
                                        : "Gemini API quota exhausted (check the API key's plan)",
                                     j->ai_note ?: "429 RESOURCE_EXHAUSTED") < 0)
                                return -ENOMEM;
                        log_warning("%s", title);
                        r = lifecycle_record_internal(a->txn, a->store, a->bus, a->host,
                                                      "gemini:quota", CATEGORY_API_QUOTA,
                                                      SEVERITY_HIGH, title, title,
                                                      &a->quota_incident);
                        if (r < 0)
                                return r;
                }
        }
        if (j->ai_ok && j->plan == AI_CALL) {
                AiCacheKey k = {
                        .fingerprint = j->finding->fingerprint,
                        .model = j->model,
                        .prompt_version = GEMINI_PROMPT_VERSION,
                        .redaction_version = DETECT_REDACT_VERSION,
                        .language = language_to_string(j->language),
                };

                r = ai_answer_put(a->store, &k, j->answer_json, (int64_t) now_realtime());
                if (r < 0)
                        return r;
                /* The key works again: appwatch's incident about it is over. */
                if (a->block_incident > 0 && !a->block_reason) {
                        (void) lifecycle_set_status(a->txn, a->store, a->bus, a->block_incident,
                                                    INCIDENT_RESOLVED, INCIDENT_REASON_SYSTEM);
                        a->block_incident = 0;
                }
                if (a->quota_incident > 0) {
                        (void) lifecycle_set_status(a->txn, a->store, a->bus, a->quota_incident,
                                                    INCIDENT_RESOLVED, INCIDENT_REASON_SYSTEM);
                        a->quota_incident = 0;
                }
        }
        return 0;
}

/*
 * Whether the analysis vetoes a fix the rules would run by themselves, and
 * why. Two cases: the AI answered and switched the fix off (it proposes
 * none, or is unsure); or Gemini answered 200 with something that cannot be
 * trusted: a fix id outside the catalogue or a shell string (a schema
 * mismatch), text that is not JSON, or a safety block. A log that talks
 * the model into such an answer may be talking to us too: a person looks
 * first. An answer that never came (no key, quota, 5xx, a timeout, a cut
 * answer) vetoes nothing: the offline analysis stands, and so do the rules.
 * Clears j->merged.auto_fix when it vetoes. Returns the reason or NULL.
 */
static const char *job_veto(Job *j, char **ret_text) {
        const char *fix = j->merged.fix;
        const char *outcome;

        if (!j->finding->auto_fixable || !fix || strcmp(fix, "none") == 0)
                return NULL;            /* the rules wanted nothing to run by itself */
        if (j->ai_ok) {
                if (j->merged.auto_fix)
                        return NULL;
                if (asprintf(ret_text, "the AI analysis switched the automatic fix off (%s)",
                             j->merged.reason_text ?: "no reason given") < 0)
                        return "the AI analysis switched the automatic fix off";
                return *ret_text;
        }
        if (j->n_attempts == 0)
                return NULL;
        outcome = j->attempts[j->n_attempts - 1].outcome;
        if (!outcome || !strv_contains((char *const[]) { "schema", "not_json", "safety",
                                                          "blocked", NULL }, outcome))
                return NULL;
        j->merged.auto_fix = false;
        if (asprintf(ret_text, "Gemini's answer cannot be trusted (%s): the automatic fix is "
                     "not run", j->ai_note ?: outcome) < 0)
                return "Gemini's answer cannot be trusted: the automatic fix is not run";
        return *ret_text;
}

static void job_done(void *data, int result) {
        _cleanup_free_ char *veto_text = NULL;
        const char *veto;
        Job *j = data;
        Analyzer *a = j->analyzer;
        _cleanup_free_ char *cached_note = NULL;
        const char *source, *note;
        int r;

        job_uncount(a, j);
        if (result == -ECANCELED)
                return;          /* stays unanalyzed: queued again at the next start */
        if (result < 0) {
                log_warning_errno(result, "Cannot analyse incident #%lld: %m, ignoring",
                                  (long long) j->incident_id);
                submit_waiting(a);
                return;
        }
        r = txn_begin(a->txn);
        if (r < 0) {
                (void) txn_fatal(a->txn, r, "begin a transaction");
                return;
        }
        r = record_calls(a, j);
        if (r < 0) {
                (void) txn_fatal(a->txn, r, "record an AI call");
                return;
        }
        r = incident_set_analysis(a->store, j->incident_id, j->result);
        if (r == -ENOENT)
                return;          /* deleted meanwhile */
        if (r < 0) {
                (void) txn_fatal(a->txn, r, "store an analysis");
                return;
        }
        source = j->ai_ok ? "gemini" : "offline";
        note = j->ai_ok ? j->merged.reason_text : j->plan == AI_OFF ? j->note : j->ai_note;
        if (j->ai_ok && j->plan == AI_CACHED &&
            asprintf(&cached_note, "%s; the answer came from the cache", note ?: "") >= 0)
                note = cached_note;
        if (!j->ai_ok && a->gemini.api_key)
                a->stats.ai_fallbacks++;
        r = incident_set_ai(a->store, j->incident_id, source, note,
                            j->ai_ok ? category_to_string(j->answer.category) : NULL);
        if (r < 0 && r != -ENOENT) {
                (void) txn_fatal(a->txn, r, "store an analysis");
                return;
        }
        a->stats.analyses++;
        veto = job_veto(j, &veto_text);
        log_info("Incident #%lld analysed (%s): fix %s, automatic %s (%s)",
                 (long long) j->incident_id, source, j->merged.fix,
                 j->merged.auto_fix ? "yes" : "no", note ?: "-");
        if (a->verdict) {
                AnalyzerVerdict v = {
                        .incident_id = j->incident_id,
                        .app = j->app,
                        .fingerprint = j->finding->fingerprint,
                        .fix = j->merged.fix,
                        .auto_fix = j->merged.auto_fix,
                        .source = source,
                        .veto = veto,
                };
                a->verdict(a, &v, a->verdict_userdata);
        }
        /* Jobs parked behind this call are served from the cache now. */
        submit_waiting(a);
}

static void set_throttled(Analyzer *a, bool pause) {
        if (a->stats.throttled == pause)
                return;
        a->stats.throttled = pause;
        if (pause)
                log_notice("Analysis queue full (%zu jobs): pausing ingestion until it drains.",
                           a->pool ? pool_pending(a->pool, POOL_LANE_ANALYZE) : 0);
        else
                log_info("Analysis queue drained: resuming ingestion.");
        if (a->throttle)
                a->throttle(a, pause, a->throttle_userdata);
}

void analyzer_detach(Analyzer *a) {
        /* What is not queued yet stays unanalyzed in the store, for the
         * next start. */
        a->pool = NULL;
}

/* Hands waiting jobs to the lane while it takes them. */
static void submit_waiting(Analyzer *a) {
        if (!a->pool)
                return;        /* stopping */
        while (a->waiting.head && !pool_is_full(a->pool, POOL_LANE_ANALYZE)) {
                Job *j = list_pop(&a->waiting);
                int r;

                r = plan_job(a, j);
                if (r > 0)
                        continue;       /* parked behind a call for the same failure */
                if (r < 0) {
                        /* Out of memory or a store error: the offline analysis
                         * still runs, with the reason. */
                        log_warning_errno(r, "Cannot decide whether to ask Gemini: %m, "
                                          "analysing offline");
                        j->plan = AI_OFF;
                        if (j->counted) {
                                j->counted = false;
                                a->in_flight--;
                                flying_remove(a, j->finding->fingerprint);
                        }
                        (void) set_note(j, "AI not asked: %s", strerror(-r));
                }
                /* On refusal the pool frees j; it cannot refuse while not
                 * full, except while stopping or out of memory, and then the
                 * incident stays unanalyzed and is queued at the next start.
                 * free_data of a refused job does not run done(): uncount it
                 * here. */
                bool counted = j->counted;
                _cleanup_free_ char *fp = counted ? strdup(j->finding->fingerprint) : NULL;

                r = pool_submit(a->pool, POOL_LANE_ANALYZE, job_work, job_done, job_free, j, NULL);
                if (r < 0 && counted) {
                        a->in_flight--;
                        if (fp) {
                                flying_remove(a, fp);
                                unpark(a, fp);
                        }
                }
                if (r < 0 && r != -ESHUTDOWN)
                        log_warning_errno(r, "Cannot queue an analysis: %m, ignoring");
        }
        set_throttled(a, a->waiting.n > 0);
}

static void on_drain(Pool *p, PoolLane lane, void *userdata) {
        submit_waiting(userdata);
}

static int on_postcommit(Txn *t, void *userdata) {
        Analyzer *a = userdata;
        Job *j;

        size_t added = a->incoming.n;

        if (added == 0)
                return 0;
        while ((j = list_pop(&a->incoming)))
                list_push(&a->waiting, j);
        submit_waiting(a);
        /* Those of the new ones the lane could not take yet. */
        a->stats.jobs_deferred += a->waiting.n < added ? a->waiting.n : added;
        return 0;
}

static int job_new(Analyzer *a, int64_t id, const Finding *f, const char *app, Job **ret) {
        Job *j = calloc(1, sizeof *j);

        if (!j)
                return -ENOMEM;
        *j = (Job) { .analyzer = a, .incident_id = id, .language = a->language };
        j->app = strdup(app ?: "unknown");
        if (!j->app || finding_copy(f, &j->finding) < 0) {
                job_free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

static int on_incident(const IncidentNotice *n, void *userdata) {
        Analyzer *a = userdata;
        Job *j;
        int r;

        if ((n->event != INCIDENT_EVENT_NEW && n->event != INCIDENT_EVENT_REGRESSION) ||
            !n->finding)
                return 0;
        r = job_new(a, n->id, n->finding, n->app, &j);
        if (r < 0)
                return r;
        list_push(&a->incoming, j);
        return 0;
}

int analyzer_restore(Analyzer *a) {
        _cleanup_free_ int64_t *ids = NULL;
        size_t n = 0, queued = 0;
        int r;

        r = incident_list_unanalyzed(a->store, 10000, &ids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(incident_freep) Incident *inc = NULL;
                Finding f = {};
                Job *j;

                if (incident_get(a->store, ids[i], &inc) < 0)
                        continue;
                /* Enough of the finding for the offline analyzer. */
                f.category = inc->category;
                f.severity = inc->severity;
                f.fix = inc->fix_id ?: (char *) "none";
                /* The store keeps the rules' fix, not whether it was allowed
                 * to run by itself: an analysis a crash interrupted proposes
                 * its fix to people (appwatchctl fix), it does not run it. */
                f.auto_fixable = false;
                f.title = inc->title;
                f.excerpt = inc->excerpt;
                f.stream = (char *) "";
                memcpy(f.fingerprint, inc->fingerprint,
                       strnlen(inc->fingerprint, DETECT_FINGERPRINT_HEX_LEN));
                r = job_new(a, inc->id, &f, inc->app, &j);
                if (r < 0)
                        return r;
                list_push(&a->waiting, j);
                queued++;
        }
        if (queued > 0)
                log_info("Queued %zu incident%s without an analysis.", queued,
                         queued == 1 ? "" : "s");
        submit_waiting(a);
        return (int) queued;
}

static void gemini_options_done(AnalyzerGemini *g) {
        free_secret((char *) g->api_key);
        free((char *) g->model);
        free((char *) g->endpoint);
        *g = (AnalyzerGemini) {};
}

int analyzer_set_options(Analyzer *a, const AnalyzerOptions *o) {
        AnalyzerGemini g = o->gemini;
        char *host;

        g.api_key = o->gemini.api_key && *o->gemini.api_key ? strdup(o->gemini.api_key) : NULL;
        g.model = strdup(o->gemini.model ?: "gemini-3.8-flash");
        g.endpoint = strdup(o->gemini.endpoint ?: "https://generativelanguage.googleapis.com");
        host = strdup(o->host ?: "localhost");
        if ((o->gemini.api_key && *o->gemini.api_key && !g.api_key) || !g.model || !g.endpoint ||
            !host) {
                gemini_options_done(&g);
                free(host);
                return -ENOMEM;
        }
        gemini_options_done(&a->gemini);
        a->gemini = g;
        free(a->host);
        a->host = host;
        a->language = o->language;
        a->config = o->config;
        /* A reload is the user's word that the key or the model was fixed. */
        analyzer_gemini_unblock(a);
        return 0;
}

void analyzer_gemini_unblock(Analyzer *a) {
        a->block_reason = mfree(a->block_reason);
}

bool analyzer_gemini_blocked(const Analyzer *a, const char **ret_reason) {
        if (ret_reason)
                *ret_reason = a->block_reason;
        return a->block_reason != NULL;
}

int analyzer_new(Txn *txn, Store *store, Pool *pool, IncidentBus *bus, const AnalyzerOptions *o,
                 Analyzer **ret) {
        _cleanup_(analyzer_freep) Analyzer *a = NULL;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        *a = (Analyzer) { .txn = txn, .store = store, .pool = pool, .bus = bus };
        r = analyzer_set_options(a, o);
        if (r < 0)
                return r;
        r = incident_bus_listen(bus, on_incident, a, NULL, &a->listener);
        if (r < 0)
                return r;
        r = txn_add_hook(txn, TXN_HOOK_POSTCOMMIT, TXN_PRIORITY_DEFAULT, on_postcommit, a, NULL,
                         &a->hook);
        if (r < 0)
                return r;
        pool_set_drain_callback(pool, POOL_LANE_ANALYZE, on_drain, a);
        *ret = TAKE_PTR(a);
        return 0;
}

Analyzer *analyzer_free(Analyzer *a) {
        if (!a)
                return NULL;
        incident_listener_free(a->listener);
        txn_hook_free(a->hook);
        list_clear(&a->incoming);
        list_clear(&a->waiting);
        list_clear(&a->parked);
        for (size_t i = 0; i < a->n_flying; i++)
                free(a->flying[i]);
        free(a->flying);
        free(a->block_reason);
        free(a->quota_reason);
        free(a->host);
        gemini_options_done(&a->gemini);
        free(a);
        return NULL;
}

void analyzer_set_throttle(Analyzer *a, AnalyzerThrottleFunc f, void *userdata) {
        a->throttle = f;
        a->throttle_userdata = userdata;
}

void analyzer_set_verdict_callback(Analyzer *a, AnalyzerVerdictFunc f, void *userdata) {
        a->verdict = f;
        a->verdict_userdata = userdata;
}

void analyzer_get_stats(const Analyzer *a, AnalyzerStats *ret) {
        *ret = a->stats;
        ret->waiting = a->waiting.n + a->incoming.n + a->parked.n;
}

json_t *analyzer_status_json(Analyzer *a) {
        usec_t now = now_realtime();
        AiUsage hour = {}, day = {};
        const char *state;

        if (ai_usage_between(a->store, (int64_t) (now - USEC_PER_HOUR), INT64_MAX, &hour) < 0 ||
            ai_usage_between(a->store, (int64_t) (now - USEC_PER_DAY), INT64_MAX, &day) < 0)
                return NULL;
        state = !a->gemini.api_key ? "off" : a->block_reason ? "blocked"
                : a->quota_until > now ? "quota" : "on";
        return json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:i, s:i, s:I, s:I, s:I}",
                         "state", state,
                         "model", a->gemini.model,
                         "reason", a->block_reason ?: a->quota_until > now ? a->quota_reason : NULL,
                         "until", (json_int_t) (a->quota_until > now ? a->quota_until : 0),
                         "calls_hour", (json_int_t) hour.calls,
                         "calls_day", (json_int_t) day.calls,
                         "max_calls_per_hour", (int) a->gemini.max_calls_per_hour,
                         "daily_budget", (int) a->gemini.daily_budget,
                         "calls", (json_int_t) a->stats.ai_calls,
                         "cache_hits", (json_int_t) a->stats.ai_cache_hits,
                         "fallbacks", (json_int_t) a->stats.ai_fallbacks);
}
