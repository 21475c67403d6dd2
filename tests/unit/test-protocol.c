/* SPDX-License-Identifier: MIT */
/* Tests for shared/protocol: framing, request parsing, replies, verbs. */
#include "shared/protocol.h"
#include "tests.h"

TEST(line_buffer_framing) {
        LineBuffer b;
        _cleanup_free_ char *l1 = NULL, *l2 = NULL, *l3 = NULL;
        size_t len;

        line_buffer_init(&b, 16);
        ASSERT_EQ(line_buffer_pop(&b, &l1, &len), 0);
        ASSERT_OK(line_buffer_append(&b, "abc\nde", 6));
        ASSERT_EQ(line_buffer_pop(&b, &l1, &len), 1);
        ASSERT_STREQ(l1, "abc");
        ASSERT_EQ(len, 3);
        ASSERT_EQ(line_buffer_pop(&b, &l2, &len), 0);  /* "de" is incomplete */
        ASSERT_OK(line_buffer_append(&b, "f\n\n", 3));
        ASSERT_EQ(line_buffer_pop(&b, &l2, &len), 1);
        ASSERT_STREQ(l2, "def");
        ASSERT_EQ(line_buffer_pop(&b, &l3, &len), 1);   /* empty line */
        ASSERT_EQ(len, 0);
        line_buffer_done(&b);
        return 0;
}

TEST(line_buffer_limit) {
        LineBuffer b;
        char *l = NULL;
        char big[40];

        memset(big, 'x', sizeof big);
        line_buffer_init(&b, 16);
        ASSERT_OK(line_buffer_append(&b, big, 17));           /* no newline, already too long */
        ASSERT_ERROR(line_buffer_pop(&b, &l, NULL), EMSGSIZE);
        line_buffer_done(&b);

        line_buffer_init(&b, 16);
        ASSERT_OK(line_buffer_append(&b, big, 16));
        ASSERT_EQ(line_buffer_pop(&b, &l, NULL), 0);          /* exactly max: still fine */
        ASSERT_OK(line_buffer_append(&b, "\n", 1));
        ASSERT_EQ(line_buffer_pop(&b, &l, NULL), 1);
        ASSERT_EQ(strlen(l), 16);
        free(l);
        line_buffer_done(&b);
        return 0;
}

TEST(parse_valid_request) {
        Request r = {};
        _cleanup_free_ char *err = NULL;
        const char *line = "{\"verb\":\"status\",\"args\":{\"json\":true},\"id\":7}";

        ASSERT_OK(protocol_parse_request(line, strlen(line), &r, &err));
        ASSERT_STREQ(r.verb, "status");
        ASSERT_TRUE(json_is_true(json_object_get(r.args, "json")));
        ASSERT_EQ(json_integer_value(r.id), 7);
        request_done(&r);

        line = "{\"verb\":\"ping\"}";
        ASSERT_OK(protocol_parse_request(line, strlen(line), &r, &err));
        ASSERT_TRUE(json_is_object(r.args));
        ASSERT_TRUE(r.id == NULL);
        request_done(&r);
        return 0;
}

#define ID_16 "0123456789abcdef"
#define LONG_ID ID_16 ID_16 ID_16 ID_16 ID_16 ID_16 ID_16 ID_16

TEST(parse_request_ids) {
        static const char *const ok[] = {
                "{\"verb\":\"ping\",\"id\":7}",
                "{\"verb\":\"ping\",\"id\":\"a\"}",
                "{\"verb\":\"ping\",\"id\":\"" LONG_ID "\"}",
                "{\"verb\":\"ping\",\"id\":null}",
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                Request r = {};
                _cleanup_free_ char *err = NULL;

                ASSERT_OK(protocol_parse_request(ok[i], strlen(ok[i]), &r, &err));
                request_done(&r);
        }
        return 0;
}

TEST(get_fields) {
        _cleanup_json_ json_t *args = json_pack("{s:s, s:i, s:[], s:n, s:s}", "app", "shop",
                                                "code", 3, "list", "none", "n", "5");
        const char *v = "unchanged";
        int64_t i = -1;

        ASSERT_TRUE(args);
        ASSERT_EQ(protocol_get_string(args, "app", &v, NULL), 1);
        ASSERT_STREQ(v, "shop");
        v = "unchanged";
        ASSERT_EQ(protocol_get_string(args, "missing", &v, NULL), 0);
        ASSERT_EQ(protocol_get_string(args, "none", &v, NULL), 0);
        ASSERT_STREQ(v, "unchanged");
        {
                _cleanup_free_ char *err = NULL;
                ASSERT_ERROR(protocol_get_string(args, "list", &v, &err), EINVAL);
                ASSERT_STREQ(err, "\"list\" must be a string");
        }
        {
                _cleanup_free_ char *err = NULL;
                ASSERT_ERROR(protocol_get_string(args, "code", &v, &err), EINVAL);
                ASSERT_STREQ(err, "\"code\" must be a string");
        }
        ASSERT_STREQ(v, "unchanged");
        ASSERT_EQ(protocol_get_integer(args, "code", &i, NULL), 1);
        ASSERT_EQ(i, 3);
        ASSERT_EQ(protocol_get_integer(args, "missing", &i, NULL), 0);
        {
                _cleanup_free_ char *err = NULL;
                ASSERT_ERROR(protocol_get_integer(args, "n", &i, &err), EINVAL);
                ASSERT_STREQ(err, "\"n\" must be an integer");
        }
        ASSERT_EQ(i, 3);
        /* The caller that words its own message passes no reterr. */
        ASSERT_ERROR(protocol_get_integer(args, "app", &i, NULL), EINVAL);
        ASSERT_ERROR(protocol_get_string(args, "code", &v, NULL), EINVAL);
        return 0;
}

TEST(parse_malformed_requests) {
        static const struct {
                const char *line;
                const char *error;
        } cases[] = {
                { "not json", "malformed JSON" },
                { "{\"verb\":", "malformed JSON" },
                { "[1,2]", "must be a JSON object" },
                { "{}", "verb" },
                { "{\"verb\":42}", "verb" },
                { "{\"verb\":\"\"}", "verb" },
                { "{\"verb\":\"status\",\"args\":[1]}", "args" },
                { "{\"verb\":\"a\",\"verb\":\"b\"}", "malformed JSON" },
                { "{\"verb\":\"\xff\xfe\"}", "malformed JSON" },
                { "{\"verb\":\"ping\",\"id\":[1]}", "\"id\" must be" },
                { "{\"verb\":\"ping\",\"id\":{}}", "\"id\" must be" },
                { "{\"verb\":\"ping\",\"id\":1.5}", "\"id\" must be" },
                { "{\"verb\":\"ping\",\"id\":\"" LONG_ID "x\"}", "at most 128 bytes" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Request r = {};
                _cleanup_free_ char *err = NULL;

                ASSERT_ERROR(protocol_parse_request(cases[i].line, strlen(cases[i].line), &r, &err),
                             EBADMSG);
                ASSERT_STRSTR(err, cases[i].error);
                ASSERT_TRUE(r.verb == NULL);
        }
        {
                Request r = {};
                _cleanup_free_ char *err = NULL;
                ASSERT_ERROR(protocol_parse_request("{\"verb\":\"x\"}\0", 13, &r, &err), EBADMSG);
                ASSERT_STRSTR(err, "NUL");
        }
        return 0;
}

TEST(replies) {
        _cleanup_free_ char *ok = NULL, *bad = NULL, *req = NULL;
        json_auto_t *id = json_integer(3);
        json_auto_t *o = NULL;

        ok = protocol_reply_ok(id, json_pack("{s:i}", "n", 5));
        ASSERT_TRUE(ok);
        ASSERT_TRUE(ok[strlen(ok) - 1] == '\n');
        o = json_loads(ok, 0, NULL);
        ASSERT_TRUE(json_is_true(json_object_get(o, "ok")));
        ASSERT_EQ(json_integer_value(json_object_get(json_object_get(o, "data"), "n")), 5);
        ASSERT_EQ(json_integer_value(json_object_get(o, "id")), 3);
        json_decref(o);

        bad = protocol_reply_error(NULL, -EMSGSIZE, "too big");
        o = json_loads(bad, 0, NULL);
        ASSERT_TRUE(json_is_false(json_object_get(o, "ok")));
        ASSERT_STREQ(json_string_value(json_object_get(json_object_get(o, "error"), "code")),
                     "EMSGSIZE");
        ASSERT_STREQ(json_string_value(json_object_get(json_object_get(o, "error"), "message")),
                     "too big");
        json_decref(o);

        req = protocol_request("status", NULL);
        ASSERT_STREQ(req, "{\"verb\":\"status\",\"args\":{}}\n");
        ASSERT_STREQ(protocol_error_code(-EPERM), "EPERM");
        ASSERT_STREQ(protocol_error_code(-EXDEV), "EIO");
        o = NULL;
        return 0;
}
