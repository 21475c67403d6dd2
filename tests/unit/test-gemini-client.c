/* SPDX-License-Identifier: MIT */
/* Tests for analyze/gemini-client: the URL and the header of a call (the key
 * never in the URL), the outcome of each kind of answer, model ids, and the
 * cache's form of an answer. Against tests/lib/http-stub over loopback. */
#include <stdlib.h>

#include "analyze/gemini-client.h"
#include "http-stub.h"
#include "tests.h"

#define KEY "AIzaTestKey0123456789abcdefghijklmnopqr"

__attribute__((__constructor__)) static void setup_globals(void) {
        (void) setenv("no_proxy", "127.0.0.1,localhost", 1);
        (void) setenv("NO_PROXY", "127.0.0.1,localhost", 1);
        if (http_global_init() < 0)
                abort();
}

__attribute__((__destructor__)) static void done_globals(void) {
        http_global_done();
}

static const char *const good_answer =
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
        "\"{\\\"category\\\":\\\"python_missing_package\\\",\\\"cause\\\":\\\"c\\\","
        "\\\"fix_summary\\\":\\\"s\\\",\\\"fix_id\\\":\\\"pip_install\\\",\\\"confidence\\\":0.8,"
        "\\\"details\\\":\\\"d\\\"}\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}],"
        "\"usageMetadata\":{\"promptTokenCount\":100,\"candidatesTokenCount\":20,"
        "\"thoughtsTokenCount\":30,\"totalTokenCount\":150},\"modelVersion\":\"gemini-3.8-flash\"}";

static int call(HttpStub *s, const char *model, const HttpStubResponse *resp, GeminiAttempt *at,
                GeminiAnswer *an, GeminiError *er, char **note) {
        _cleanup_free_ char *endpoint = http_stub_url(s, "/");
        GeminiCallOptions o = {
                .endpoint = endpoint,
                .model = model,
                .api_key = KEY,
                .timeout = 60 * USEC_PER_SEC,
        };

        if (resp)
                http_stub_push(s, resp);
        return gemini_call(NULL, &o, "{\"contents\":[]}", gemini_fix_ids(), at, an, er, note);
}

TEST(ok_answer_key_in_header_only) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_(gemini_answer_done) GeminiAnswer an = {};
        GeminiError er = {};
        GeminiAttempt at;
        HttpStubRequest req;
        char *note = NULL;

        ASSERT_OK(http_stub_new(&s));
        ASSERT_OK(call(s, "gemini-3.8-flash", &(HttpStubResponse) { .body = good_answer }, &at, &an,
                       &er, &note));
        ASSERT_TRUE(!note);
        ASSERT_STREQ(at.outcome, "ok");
        ASSERT_EQ(at.http_status, 200);
        ASSERT_EQ(at.usage.prompt_tokens, 100);
        ASSERT_EQ(at.usage.output_tokens, 20);
        ASSERT_EQ(at.usage.thoughts_tokens, 30);
        ASSERT_TRUE(at.started > 0);
        ASSERT_STREQ(an.fix_id, "pip_install");
        ASSERT_TRUE(http_stub_request(s, 0, &req));
        ASSERT_STREQ(req.method, "POST");
        /* The endpoint's trailing '/' does not double. */
        ASSERT_STREQ(req.target, "/v1beta/models/gemini-3.8-flash:generateContent");
        ASSERT_STREQ(http_stub_request_header(&req, "x-goog-api-key"), KEY);
        ASSERT_STRSTR(http_stub_request_header(&req, "Content-Type"), "application/json");
        ASSERT_TRUE(!strstr(req.target, "key"));
        ASSERT_TRUE(!strstr(req.body, KEY));
        http_stub_request_done(&req);
        return 0;
}

TEST(outcomes_of_failures) {
        static const struct {
                HttpStubResponse resp;
                int r;
                const char *outcome, *note;
        } cases[] = {
                { { .status = 400, .body = "{\"error\":{\"code\":400,\"message\":\"API key not valid. "
                    "Please pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":[{"
                    "\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
                    "\"API_KEY_INVALID\",\"domain\":\"googleapis.com\"}]}}" },
                  -EREMOTE, "key_invalid", "400 API_KEY_INVALID" },
                { { .status = 429, .body = "{\"error\":{\"code\":429,\"message\":\"quota\",\"status\":"
                    "\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":\"type.googleapis.com/google.rpc."
                    "RetryInfo\",\"retryDelay\":\"17s\"}]}}" },
                  -EREMOTE, "quota", "retry in 17s" },
                { { .status = 503, .body = "{\"error\":{\"code\":503,\"message\":\"The model is "
                    "overloaded.\",\"status\":\"UNAVAILABLE\"}}" },
                  -EREMOTE, "unavailable", "overloaded" },
                { { .status = 502, .body = "<html>502</html>" }, -EREMOTE, "server", "502" },
                { { .body = "not json" }, -EBADMSG, "not_json", "not JSON" },
                { { .body = "{\"candidates\":[{\"finishReason\":\"SAFETY\"}]}" }, -EPERM, "safety",
                  "withheld" },
                { { .body = "{\"promptFeedback\":{\"blockReason\":\"OTHER\"}}" }, -EACCES, "blocked",
                  "blocked" },
                { { .body = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"{\\\"x\\\":1}\"}]},"
                    "\"finishReason\":\"MAX_TOKENS\"}]}" }, -EMSGSIZE, "max_tokens", "maxOutputTokens" },
                { { .body = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"{\\\"x\\\":1}\"}]},"
                    "\"finishReason\":\"STOP\"}]}" }, -EPROTO, "schema", "does not match the schema" },
                { { .body = "{\"candidates\":[]}" }, -ENODATA, "empty", "no candidate" },
                { { .mode = HTTP_STUB_CLOSE }, -ECONNRESET, "transport", "could not be reached" },
        };
        _cleanup_(http_stub_freep) HttpStub *s = NULL;

        ASSERT_OK(http_stub_new(&s));
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(gemini_answer_done) GeminiAnswer an = {};
                _cleanup_free_ char *note = NULL;
                GeminiError er = {};
                GeminiAttempt at;
                int r;

                fprintf(stderr, "case %zu\n", i);
                r = call(s, "gemini-3.8-flash", &cases[i].resp, &at, &an, &er, &note);
                ASSERT_EQ(r, cases[i].r);
                ASSERT_STREQ(at.outcome, cases[i].outcome);
                ASSERT_STRSTR(note, cases[i].note);
                ASSERT_TRUE(!strstr(note, KEY));
                if (r == -EREMOTE) {
                        if (cases[i].resp.status == 429)
                                ASSERT_EQ(er.retry_delay, 17 * USEC_PER_SEC);
                        if (cases[i].resp.status == 400)
                                ASSERT_TRUE(er.config_problem);
                        gemini_error_done(&er);
                }
        }
        return 0;
}

TEST(model_ids) {
        _cleanup_(http_stub_freep) HttpStub *s = NULL;
        _cleanup_free_ char *note = NULL;
        GeminiAnswer an = {};
        GeminiError er = {};
        GeminiAttempt at;

        ASSERT_TRUE(gemini_model_is_valid("gemini-3.8-flash"));
        ASSERT_TRUE(gemini_model_is_valid("gemini-flash-latest"));
        ASSERT_TRUE(!gemini_model_is_valid(""));
        ASSERT_TRUE(!gemini_model_is_valid(".."));
        ASSERT_TRUE(!gemini_model_is_valid("x/../../v1/other"));
        ASSERT_TRUE(!gemini_model_is_valid("m:generateContent?key=x"));
        ASSERT_TRUE(!gemini_model_is_valid("m#x"));
        ASSERT_TRUE(!gemini_model_is_valid(NULL));
        /* A bad model never reaches the wire. */
        ASSERT_OK(http_stub_new(&s));
        ASSERT_ERROR(call(s, "a/b", NULL, &at, &an, &er, &note), EINVAL);
        ASSERT_STRSTR(note, "Model=");
        ASSERT_EQ(http_stub_n_requests(s), 0);
        return 0;
}

TEST(cache_form_round_trip) {
        _cleanup_(gemini_answer_done) GeminiAnswer a = {}, b = {};
        _cleanup_free_ char *json = NULL, *err = NULL, *err2 = NULL;
        const char *const only_flutter[] = { "flutter_clean", NULL };

        ASSERT_OK(gemini_parse_answer(good_answer, strlen(good_answer), gemini_fix_ids(), &a, NULL));
        json = gemini_answer_to_json(&a);
        ASSERT_TRUE(json);
        ASSERT_OK(gemini_answer_from_json(json, gemini_fix_ids(), &b, &err));
        ASSERT_EQ(b.category, a.category);
        ASSERT_STREQ(b.cause, "c");
        ASSERT_STREQ(b.fix_summary, "s");
        ASSERT_STREQ(b.fix_id, "pip_install");
        ASSERT_TRUE(b.confidence > 0.79 && b.confidence < 0.81);
        ASSERT_STREQ(b.details, "d");
        ASSERT_STREQ(b.model_version, "gemini-3.8-flash");
        /* Checked again on the way out: a catalogue without the fix refuses it. */
        gemini_answer_done(&b);
        ASSERT_ERROR(gemini_answer_from_json(json, only_flutter, &b, &err2), EPROTO);
        ASSERT_STRSTR(err2, "fix_id");
        ASSERT_ERROR(gemini_answer_from_json("{broken", gemini_fix_ids(), &b, NULL), EBADMSG);
        return 0;
}

TEST(fix_ids_are_the_catalogue) {
        const char *const *ids = gemini_fix_ids();
        size_t n = 0;

        for (; ids[n]; n++)
                ASSERT_TRUE(strcmp(ids[n], "none") != 0);
        ASSERT_EQ(n, 5);
        ASSERT_STREQ(ids[0], "flutter_clean");
        ASSERT_STREQ(ids[4], "pip_install");
        return 0;
}
