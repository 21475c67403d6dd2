/* SPDX-License-Identifier: MIT */
/*
 * Tests for deliver/slack-message: every message kind in both languages, the
 * guide's marks and wording, and Block Kit's limits. The limits are checked
 * on the JSON as parsed back with jansson, with Slack's documented numbers
 * written out here, not taken from the renderer.
 */
#include <jansson.h>
#include <stdint.h>

#include "deliver/slack-message.h"
#include "tests.h"

/* Slack's numbers (Block Kit reference), independent of the header. */
#define MAX_BLOCKS 50
#define MAX_SECTION 3000
#define MAX_FIELDS 10
#define MAX_FIELD 2000
#define MAX_HEADER 150
#define MAX_CONTEXT 10
#define MAX_FALLBACK 40000
/* Below msg_blocks_too_long (about 13,200; slackapi/bolt-js#2509). */
#define MAX_TOTAL 12000

#define MARK_RED "\U0001F534"
#define MARK_ORANGE "\U0001F7E0"
#define MARK_YELLOW "\U0001F7E1"
#define MARK_DONE "\u2705"

/* Code points and UTF-16 units of valid UTF-8 (jansson validated it). */
static void count(const char *s, size_t *ret_cp, size_t *ret_u16) {
        size_t cp = 0, u16 = 0;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xc0) != 0x80) {
                        cp++;
                        u16 += *p >= 0xf0 ? 2 : 1;
                }
        *ret_cp = cp;
        *ret_u16 = u16;
}

typedef struct Checked {
        json_t *root;
        char *all;        /* every mrkdwn text of the message, one per line */
        size_t blocks, total;
        const char *header;
} Checked;

static void checked_done(Checked *c) {
        json_decref(c->root);
        free(c->all);
}

static void append(char **all, const char *s) {
        size_t a = *all ? strlen(*all) : 0, b = strlen(s);
        char *p = realloc(*all, a + b + 2);

        if (!p)
                abort();
        memcpy(p + a, s, b);
        p[a + b] = '\n';
        p[a + b + 1] = 0;
        *all = p;
}

/* Every '<' of mrkdwn must open one of our date tokens, never a mention or link. */
static bool only_date_tokens(const char *s) {
        for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
                const char *e;

                if (strncmp(p, "<!date^", 7) != 0)
                        return false;
                p += 7;
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                p += strspn(p, "0123456789");
                if (strncmp(p, "^{date_short_pretty} {time}|", 28) != 0)
                        return false;
                e = strchr(p, '>');
                if (!e || memchr(p + 28, '<', (size_t) (e - p - 28)))
                        return false;
        }
        return true;
}

static size_t occurrences(const char *s, const char *needle) {
        size_t n = 0;

        for (const char *p = strstr(s, needle); p; p = strstr(p + strlen(needle), needle))
                n++;
        return n;
}

/* A text object: its type, 1..max characters, mrkdwn verbatim and safe. */
static int check_text(json_t *o, const char *type, size_t max, Checked *c) {
        json_t *t = json_object_get(o, "type"), *x = json_object_get(o, "text");
        size_t cp, u16;

        if (!json_is_string(t) || !json_is_string(x))
                TEST_FAIL("text object without type or text");
        if (type && strcmp(json_string_value(t), type) != 0)
                TEST_FAIL("text object of type %s, expected %s", json_string_value(t), type);
        count(json_string_value(x), &cp, &u16);
        if (cp == 0 || cp > max || u16 > max)
                TEST_FAIL("text of %zu code points (%zu UTF-16 units), limit %zu", cp, u16, max);
        if (strcmp(json_string_value(t), "mrkdwn") == 0) {
                if (!json_is_true(json_object_get(o, "verbatim")))
                        TEST_FAIL("mrkdwn without verbatim: '%s'", json_string_value(x));
                if (!only_date_tokens(json_string_value(x)))
                        TEST_FAIL("unescaped '<' in '%s'", json_string_value(x));
                if (occurrences(json_string_value(x), "```") % 2 != 0)
                        TEST_FAIL("unbalanced code fences in '%s'", json_string_value(x));
        }
        c->total += u16;
        /* Slack parses mrkdwn only; plain_text (the header) is shown as it is. */
        if (strcmp(json_string_value(t), "mrkdwn") == 0)
                append(&c->all, json_string_value(x));
        return 0;
}

static int check_message(const char *json, Checked *c) {
        json_error_t err;
        json_t *blocks, *text;
        size_t i, cp, u16;
        json_t *b;

        *c = (Checked) {};
        c->root = json_loads(json, JSON_REJECT_DUPLICATES, &err);
        if (!c->root)
                TEST_FAIL("not JSON: %s at %d: %s", err.text, err.position, json);
        text = json_object_get(c->root, "text");
        blocks = json_object_get(c->root, "blocks");
        if (!json_is_string(text) || !json_is_array(blocks))
                TEST_FAIL("no text or blocks: %s", json);
        count(json_string_value(text), &cp, &u16);
        if (cp == 0 || u16 > MAX_FALLBACK || u16 > SLACK_MAX_FALLBACK_TEXT)
                TEST_FAIL("fallback of %zu UTF-16 units", u16);
        if (!only_date_tokens(json_string_value(text)))
                TEST_FAIL("unescaped '<' in the fallback '%s'", json_string_value(text));
        c->blocks = json_array_size(blocks);
        if (c->blocks == 0 || c->blocks > MAX_BLOCKS)
                TEST_FAIL("%zu blocks", c->blocks);

        json_array_foreach(blocks, i, b) {
                const char *type = json_string_value(json_object_get(b, "type"));

                if (!type)
                        TEST_FAIL("block %zu without type", i);
                if (strcmp(type, "header") == 0) {
                        if (check_text(json_object_get(b, "text"), "plain_text", MAX_HEADER, c))
                                return 1;
                        if (i == 0)
                                c->header = json_string_value(
                                        json_object_get(json_object_get(b, "text"), "text"));
                } else if (strcmp(type, "section") == 0) {
                        json_t *fields = json_object_get(b, "fields"), *f;
                        size_t j;

                        if (json_object_get(b, "text") &&
                            check_text(json_object_get(b, "text"), NULL, MAX_SECTION, c))
                                return 1;
                        if (fields) {
                                if (json_array_size(fields) == 0 ||
                                    json_array_size(fields) > MAX_FIELDS)
                                        TEST_FAIL("%zu fields", json_array_size(fields));
                                json_array_foreach(fields, j, f)
                                        if (check_text(f, NULL, MAX_FIELD, c))
                                                return 1;
                        }
                        if (!fields && !json_object_get(b, "text"))
                                TEST_FAIL("section %zu without text or fields", i);
                } else if (strcmp(type, "context") == 0) {
                        json_t *elements = json_object_get(b, "elements"), *e;
                        size_t j;

                        if (json_array_size(elements) == 0 ||
                            json_array_size(elements) > MAX_CONTEXT)
                                TEST_FAIL("context of %zu elements", json_array_size(elements));
                        json_array_foreach(elements, j, e)
                                if (check_text(e, NULL, MAX_SECTION, c))
                                        return 1;
                } else
                        TEST_FAIL("unexpected block type %s", type);
        }
        if (c->total > MAX_TOTAL)
                TEST_FAIL("%zu characters in all blocks", c->total);
        if (!c->header)
                TEST_FAIL("no header first");
        return 0;
}

static IncidentMessage sample(MessageKind kind) {
        return (IncidentMessage) {
                .kind = kind,
                .id = 42,
                .app = "shop-app",
                .host = "build-01",
                .category = CATEGORY_PYTHON_MISSING_PACKAGE,
                .severity = SEVERITY_HIGH,
                .status = INCIDENT_NEW,
                .auto_fixable = true,
                .count = 7,
                .count_since_last = 3,
                .first_seen = INT64_C(1795945080) * 1000000,  /* 2026-11-29 09:38 UTC */
                .last_seen = INT64_C(1796167080) * 1000000,   /* 2026-12-01 23:18 UTC */
                .title = "ModuleNotFoundError: No module named 'requests'",
                .summary = "The venv lacks requests; pip install fixes it.",
                .fix_id = "pip-install",
                .fix_result = "failed: exit status 1",
                .fix_output = "ERROR: Could not find a version that satisfies the requirement",
                .excerpt = "Traceback (most recent call last):\n  File \"app.py\", line 1\n"
                           "ModuleNotFoundError: No module named 'requests'",
                .fingerprint = "3f2a9c0d11e4b7a8",
                .unit = "appwatch-fix@42.service",
        };
}

static int render(const IncidentMessage *m, Language lang, Checked *c) {
        _cleanup_free_ char *json = NULL;
        int r;

        r = slack_render_incident(m, lang, &json);
        if (r < 0)
                TEST_FAIL("slack_render_incident: %s", strerror(-r));
        return check_message(json, c);
}

TEST(kinds_have_their_mark_and_wording) {
        static const struct {
                MessageKind kind;
                Language lang;
                const char *header;  /* the header starts so */
                const char *body;    /* and the message says this somewhere */
        } cases[] = {
                { MESSAGE_NEW, LANGUAGE_KO, MARK_RED " 새 오류 · shop-app", "*발생 횟수*\n7" },
                { MESSAGE_NEW, LANGUAGE_EN, MARK_RED " New incident · shop-app", "*Occurrences*\n7" },
                { MESSAGE_REPEAT, LANGUAGE_KO, MARK_RED " 반복 발생", "7 (지난 알림 이후 3회)" },
                { MESSAGE_REPEAT, LANGUAGE_EN, MARK_RED " Seen again", "7 (3 since the last message)" },
                { MESSAGE_REGRESSION, LANGUAGE_KO, MARK_RED " 재발", "*로그 발췌*" },
                { MESSAGE_REGRESSION, LANGUAGE_EN, MARK_RED " Regression", "*Log excerpt*" },
                { MESSAGE_RESOLVED, LANGUAGE_KO, MARK_DONE " 해결됨", "*상태*\n해결됨" },
                { MESSAGE_RESOLVED, LANGUAGE_EN, MARK_DONE " Resolved", "*Status*\nResolved" },
                { MESSAGE_FIX_SUCCEEDED, LANGUAGE_KO, MARK_DONE " 자동 수정 완료", "*시도한 수정*: `pip-install`" },
                { MESSAGE_FIX_SUCCEEDED, LANGUAGE_EN, MARK_DONE " Auto-fix succeeded", "*Fix attempted*: `pip-install`" },
                { MESSAGE_MANUAL_REQUIRED, LANGUAGE_KO, MARK_RED " 수동 수정 필요", "`journalctl -u appwatch-fix@42.service`" },
                { MESSAGE_MANUAL_REQUIRED, LANGUAGE_EN, MARK_RED " Manual fix required", "*Result*: failed: exit status 1" },
                { MESSAGE_STATUS, LANGUAGE_KO, MARK_RED " 상태 변경", "*상태*\n해결됨" },
                { MESSAGE_STATUS, LANGUAGE_EN, MARK_RED " Status changed", "*Status*\nResolved" },
                { MESSAGE_TEST, LANGUAGE_KO, MARK_YELLOW " 테스트 알림 · Test", "Slack 연동 테스트" },
                { MESSAGE_TEST, LANGUAGE_EN, MARK_YELLOW " Test alert · Test", "Slack integration test" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                IncidentMessage m = sample(cases[i].kind);
                _cleanup_(checked_done) Checked c = {};

                if (cases[i].kind == MESSAGE_RESOLVED || cases[i].kind == MESSAGE_STATUS)
                        m.status = INCIDENT_RESOLVED;
                if (render(&m, cases[i].lang, &c))
                        TEST_FAIL("case %zu", i);
                if (strncmp(c.header, cases[i].header, strlen(cases[i].header)) != 0)
                        TEST_FAIL("case %zu: header '%s', expected '%s…'", i, c.header,
                                  cases[i].header);
                ASSERT_STRSTR(c.all, cases[i].body);
                /* The fallback starts like the header. */
                ASSERT_TRUE(strncmp(json_string_value(json_object_get(c.root, "text")),
                                    cases[i].header, strlen(MARK_RED)) == 0);
                /* The other language does not leak in. */
                if (cases[i].lang == LANGUAGE_EN)
                        ASSERT_TRUE(!strstr(c.all, "심각도"));
                else
                        ASSERT_TRUE(!strstr(c.all, "Severity"));
        }
        return 0;
}

TEST(severity_marks_follow_the_guide) {
        static const struct {
                Severity s;
                const char *field;
        } cases[] = {
                { SEVERITY_LOW, MARK_YELLOW " Low" },
                { SEVERITY_MEDIUM, MARK_ORANGE " Medium" },
                { SEVERITY_HIGH, MARK_RED " High" },
                { SEVERITY_CRITICAL, MARK_RED " Critical" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                IncidentMessage m = sample(MESSAGE_NEW);
                _cleanup_(checked_done) Checked c = {};
                _cleanup_(checked_done) Checked d = {};
                char field[64];

                m.severity = cases[i].s;
                if (render(&m, LANGUAGE_KO, &c))
                        TEST_FAIL("case %zu", i);
                (void) snprintf(field, sizeof(field), "*심각도*\n%s", cases[i].field);
                ASSERT_STRSTR(c.all, field);
                ASSERT_TRUE(strncmp(c.header, cases[i].field, strlen(MARK_RED)) == 0);

                /* An auto-fix that worked is ✅ whatever the severity. */
                m.kind = MESSAGE_FIX_SUCCEEDED;
                if (render(&m, LANGUAGE_KO, &d))
                        TEST_FAIL("case %zu", i);
                ASSERT_TRUE(strncmp(d.header, MARK_DONE " 자동 수정 완료", strlen(MARK_DONE " 자동 수정 완료")) == 0);
                ASSERT_STRSTR(d.all, field);
        }
        return 0;
}

TEST(fields_times_and_context) {
        IncidentMessage m = sample(MESSAGE_NEW);
        _cleanup_(checked_done) Checked c = {};
        _cleanup_(checked_done) Checked e = {};

        m.regressions = 2;
        if (render(&m, LANGUAGE_KO, &c))
                return 1;
        ASSERT_STRSTR(c.all, "*앱*\nshop-app");
        ASSERT_STRSTR(c.all, "*유형*\nPython 패키지 누락");
        ASSERT_STRSTR(c.all, "*상태*\n신규");
        ASSERT_STRSTR(c.all, "*발생 횟수*\n7 · 재발 2회");
        ASSERT_STRSTR(c.all, "*자동 수정 가능*\n예");
        ASSERT_STRSTR(c.all, "*최초 발생*\n<!date^1795945080^{date_short_pretty} {time}|2026-11-29 09:38 UTC>");
        ASSERT_STRSTR(c.all, "*최근 발생*\n<!date^1796167080^{date_short_pretty} {time}|2026-12-01 23:18 UTC>");
        ASSERT_STRSTR(c.all, "*분석*\nThe venv lacks requests; pip install fixes it.");
        ASSERT_STRSTR(c.all, "*로그 발췌*\n```\nTraceback (most recent call last):");
        ASSERT_STRSTR(c.all, "호스트: build-01");
        ASSERT_STRSTR(c.all, "인시던트 #42");
        ASSERT_STRSTR(c.all, "지문: 3f2a9c0d11e4b7a8");
        ASSERT_STRSTR(c.all, "*ModuleNotFoundError: No module named 'requests'*");

        /* type_label wins over the category; English labels in English. */
        m.type_label = "Custom Type";
        m.regressions = 0;
        m.first_seen = 0;
        if (render(&m, LANGUAGE_EN, &e))
                return 1;
        ASSERT_STRSTR(e.all, "*Type*\nCustom Type");
        ASSERT_STRSTR(e.all, "*First seen*\n—");
        ASSERT_STRSTR(e.all, "*Occurrences*\n7\n");
        ASSERT_STRSTR(e.all, "Incident #42");
        return 0;
}

TEST(category_label_in_english) {
        IncidentMessage m = sample(MESSAGE_NEW);
        _cleanup_(checked_done) Checked c = {};

        if (render(&m, LANGUAGE_EN, &c))
                return 1;
        ASSERT_STRSTR(c.all, "*Type*\nMissing Python package");
        return 0;
}

TEST(test_alert_is_the_guides) {
        /* Whatever the record says, the test alert is the guide's. */
        IncidentMessage m = { .kind = MESSAGE_TEST, .host = "build-01", .severity = SEVERITY_CRITICAL };
        _cleanup_(checked_done) Checked c = {};
        _cleanup_(checked_done) Checked e = {};

        if (render(&m, LANGUAGE_KO, &c))
                return 1;
        ASSERT_STRSTR(c.all, "*앱*\nTest");
        ASSERT_STRSTR(c.all, "*유형*\nTest Alert");
        ASSERT_STRSTR(c.all, "*심각도*\n" MARK_YELLOW " Low");
        ASSERT_STRSTR(c.all, "*자동 수정 가능*\n아니요");
        ASSERT_STRSTR(c.all, "*Slack 연동 테스트*");
        ASSERT_STRSTR(c.all, "호스트: build-01");
        ASSERT_TRUE(!strstr(c.all, "인시던트"));

        m.host = NULL;
        if (render(&m, LANGUAGE_EN, &e))
                return 1;
        ASSERT_STRSTR(e.all, "*Slack integration test*");
        ASSERT_STRSTR(e.all, "*Auto-fixable*\nNo");
        ASSERT_STREQ(json_string_value(json_object_get(e.root, "text")),
                     MARK_YELLOW " Test alert · Test: Slack integration test");
        return 0;
}

/* The text between prefix and mark in one of c's texts: it must be a prefix
 * of orig, cut at a character boundary, and not too short. */
static int check_cut(const Checked *c, const char *before, const char *orig, const char *mark,
                     size_t min_bytes) {
        const char *p = strstr(c->all, before), *q;

        if (!p)
                TEST_FAIL("'%s' not found", before);
        p += strlen(before);
        q = strstr(p, mark);
        if (!q)
                TEST_FAIL("no mark '%s' after '%s'", mark, before);
        if ((size_t) (q - p) < min_bytes)
                TEST_FAIL("only %zu bytes kept after '%s'", (size_t) (q - p), before);
        if (strncmp(p, orig, (size_t) (q - p)) != 0)
                TEST_FAIL("the kept text after '%s' is not a prefix of the input", before);
        /* A boundary: the next byte of the input starts a character. */
        if ((((unsigned char) orig[q - p]) & 0xc0) == 0x80)
                TEST_FAIL("cut mid-character after '%s'", before);
        return 0;
}

TEST(korean_text_is_cut_at_a_character_boundary) {
        /* 10,000 characters: "가나다..." mixed with an ASCII letter now and
         * then, so a cut at a fixed byte count would land mid-character. */
        static const char *const syllables[] = { "가", "나", "다", "라", "a", "빌", "드" };
        _cleanup_free_ char *ko = malloc(10000 * 3 + 1);
        IncidentMessage m = sample(MESSAGE_NEW);
        _cleanup_(checked_done) Checked c = {};
        _cleanup_(checked_done) Checked e = {};
        size_t len = 0;

        ASSERT_TRUE(ko);
        for (size_t i = 0; i < 10000; i++) {
                const char *s = syllables[i % ELEMENTSOF(syllables)];

                memcpy(ko + len, s, strlen(s));
                len += strlen(s);
        }
        ko[len] = 0;

        m.title = m.summary = m.excerpt = m.fix_output = m.fix_result = ko;
        m.app = m.host = m.fingerprint = ko;
        if (render(&m, LANGUAGE_KO, &c))
                return 1;
        if (check_cut(&c, "*분석*\n", ko, "… (생략)", 1000) ||
            check_cut(&c, "*로그 발췌*\n```\n", ko, "\n```\n… (생략)", 2000) ||
            check_cut(&c, "*수정 출력*\n```\n", ko, "\n```\n… (생략)", 500) ||
            check_cut(&c, "*결과*: ", ko, "… (생략)", 100) ||
            check_cut(&c, "*", ko, "… (생략)*", 100) ||
            check_cut(&c, "호스트: ", ko, "… (생략)", 100) ||
            check_cut(&c, "*앱*\n", ko, "… (생략)", 100))
                return 1;
        ASSERT_TRUE(strncmp(c.header, MARK_RED " 새 오류 · 가나다", strlen(MARK_RED " 새 오류 · 가나다")) == 0);
        ASSERT_STRSTR(c.header, "… (생략)");

        if (render(&m, LANGUAGE_EN, &e))
                return 1;
        if (check_cut(&e, "*Analysis*\n", ko, "… (truncated)", 1000))
                return 1;
        return 0;
}

TEST(characters_outside_the_bmp_count_twice) {
        /* 5,000 emoji are 5,000 code points but 10,000 UTF-16 units; both
         * must stay within the limits. */
        _cleanup_free_ char *e = malloc(5000 * 4 + 1);
        IncidentMessage m = sample(MESSAGE_REPEAT);
        _cleanup_(checked_done) Checked c = {};

        ASSERT_TRUE(e);
        for (size_t i = 0; i < 5000; i++)
                memcpy(e + i * 4, "\U0001F600", 4);
        e[5000 * 4] = 0;
        m.title = m.summary = m.excerpt = m.app = e;
        if (render(&m, LANGUAGE_KO, &c))
                return 1;
        return check_cut(&c, "*로그 발췌*\n```\n", e, "\n```\n… (생략)", 4000);
}

TEST(excerpt_cannot_escape_its_code_block_or_mention) {
        static const char evil[] =
                "```\n<!channel> <!here> <@U123> <https://evil.example|click> & more\n"
                "````` `` ` ```end```\n"
                "&lt;!everyone&gt; @channel";
        IncidentMessage m = sample(MESSAGE_NEW);
        _cleanup_(checked_done) Checked c = {};
        json_t *b;
        size_t i;
        bool found = false;

        m.excerpt = m.fix_output = evil;
        m.title = "<!channel> build failed & <https://x|y>";
        m.summary = "<!here> see ```";
        m.app = "app<!channel>";
        if (render(&m, LANGUAGE_KO, &c))
                return 1;
        /* The header is plain_text, which Slack does not parse. */
        ASSERT_STREQ(c.header, MARK_RED " 새 오류 · app<!channel>");
        /* check_message() already refused any '<' but date tokens and odd fences. */
        ASSERT_TRUE(!strstr(c.all, "<!channel>"));
        ASSERT_TRUE(!strstr(c.all, "<!here>"));
        ASSERT_TRUE(!strstr(c.all, "<@U123>"));
        ASSERT_STRSTR(c.all, "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt; "
                             "&lt;https://evil.example|click&gt; &amp; more");
        /* An entity in the input is shown as typed, not decoded. */
        ASSERT_STRSTR(c.all, "&amp;lt;!everyone&amp;gt;");
        ASSERT_STRSTR(c.all, "*&lt;!channel&gt; build failed &amp; &lt;https://x|y&gt;*");

        /* The excerpt section has exactly its own two fences. */
        json_array_foreach(json_object_get(c.root, "blocks"), i, b) {
                const char *t = json_string_value(json_object_get(json_object_get(b, "text"), "text"));

                if (t && strstr(t, "로그 발췌")) {
                        ASSERT_EQ(occurrences(t, "```"), 2);
                        ASSERT_EQ(occurrences(t, "``"), 2);
                        /* The body still shows every backtick. */
                        ASSERT_STRSTR(t, "`\u200b`\u200b`\u200b`\u200b`");
                        found = true;
                }
        }
        ASSERT_TRUE(found);
        return 0;
}

static int render_group_checked(IncidentMessage *msgs, size_t n, Language lang, Checked *c) {
        _cleanup_free_ const IncidentMessage **v = calloc(n, sizeof(*v));
        _cleanup_free_ char *json = NULL;
        int r;

        if (!v)
                TEST_FAIL("out of memory");
        for (size_t i = 0; i < n; i++)
                v[i] = &msgs[i];
        r = slack_render_group(v, n, lang, &json);
        if (r < 0)
                TEST_FAIL("slack_render_group: %s", strerror(-r));
        return check_message(json, c);
}

TEST(group_of_500_stays_within_limits) {
        static const Severity sev[] = { SEVERITY_LOW, SEVERITY_MEDIUM, SEVERITY_CRITICAL };
        _cleanup_free_ IncidentMessage *msgs = calloc(500, sizeof(*msgs));
        _cleanup_free_ char *long_title = malloc(3 * 400 + 1);
        _cleanup_(checked_done) Checked c = {};
        _cleanup_(checked_done) Checked e = {};

        ASSERT_TRUE(msgs && long_title);
        for (size_t i = 0; i < 400; i++)
                memcpy(long_title + i * 3, "빌", 3);
        long_title[3 * 400] = 0;
        for (size_t i = 0; i < 500; i++) {
                msgs[i] = sample(MESSAGE_NEW);
                msgs[i].id = (int64_t) i + 1;
                msgs[i].severity = sev[i % ELEMENTSOF(sev)];
                msgs[i].title = i % 2 ? long_title : "<!channel> & ```";
        }
        if (render_group_checked(msgs, 500, LANGUAGE_KO, &c))
                return 1;
        ASSERT_TRUE(strncmp(c.header, MARK_RED " 새 오류 500건", strlen(MARK_RED " 새 오류 500건")) == 0);
        ASSERT_STRSTR(c.all, "…외 470건");
        ASSERT_STRSTR(c.all, MARK_YELLOW " *shop-app* · Python 패키지 누락 · Low · "
                             "&lt;!channel&gt; &amp; `\u200b`\u200b` · #1\n");
        ASSERT_STRSTR(c.all, " · #30\n");
        ASSERT_TRUE(!strstr(c.all, "#31\n"));
        ASSERT_STRSTR(c.all, "빌빌…");
        ASSERT_STRSTR(c.all, "호스트: build-01");

        if (render_group_checked(msgs, 500, LANGUAGE_EN, &e))
                return 1;
        ASSERT_STRSTR(e.header, "500 new incidents");
        ASSERT_STRSTR(e.all, "…and 470 more");
        return 0;
}

TEST(group_small) {
        IncidentMessage msgs[2] = { sample(MESSAGE_NEW), sample(MESSAGE_NEW) };
        _cleanup_(checked_done) Checked one = {};
        _cleanup_(checked_done) Checked two = {};

        /* A group of one is the incident's own message. */
        if (render_group_checked(msgs, 1, LANGUAGE_KO, &one))
                return 1;
        ASSERT_TRUE(strncmp(one.header, MARK_RED " 새 오류 · shop-app", strlen(MARK_RED " 새 오류 · shop-app")) == 0);
        ASSERT_STRSTR(one.all, "*발생 횟수*\n7");
        ASSERT_TRUE(!strstr(one.all, "외 "));

        msgs[1].severity = SEVERITY_MEDIUM;
        msgs[0].severity = SEVERITY_LOW;
        msgs[1].id = 43;
        if (render_group_checked(msgs, 2, LANGUAGE_EN, &two))
                return 1;
        /* The header has the highest mark; nothing was left out. */
        ASSERT_STREQ(two.header, MARK_ORANGE " 2 new incidents");
        ASSERT_STRSTR(two.all, "· #42\n" MARK_ORANGE " *shop-app*");
        ASSERT_TRUE(!strstr(two.all, "more"));
        ASSERT_EQ(two.blocks, 3);
        return 0;
}

TEST(refusals) {
        IncidentMessage m = sample(MESSAGE_NEW);
        const IncidentMessage *v[2] = { &m, NULL };
        char *json = (char *) "untouched";

        m.title = "bad \xff title";
        ASSERT_ERROR(slack_render_incident(&m, LANGUAGE_KO, &json), EINVAL);
        ASSERT_ERROR(slack_render_group(v, 1, LANGUAGE_KO, &json), EINVAL);
        m.title = "ok";
        m.excerpt = "cut \xeb\xb9";
        ASSERT_ERROR(slack_render_incident(&m, LANGUAGE_KO, &json), EINVAL);
        m.excerpt = NULL;
        ASSERT_ERROR(slack_render_incident(&m, _LANGUAGE_MAX, &json), EINVAL);
        ASSERT_ERROR(slack_render_incident(&m, _LANGUAGE_INVALID, &json), EINVAL);
        ASSERT_ERROR(slack_render_incident(NULL, LANGUAGE_KO, &json), EINVAL);
        m.kind = _MESSAGE_KIND_MAX;
        ASSERT_ERROR(slack_render_incident(&m, LANGUAGE_KO, &json), EINVAL);
        m.kind = MESSAGE_NEW;
        m.severity = _SEVERITY_MAX;
        ASSERT_ERROR(slack_render_incident(&m, LANGUAGE_KO, &json), EINVAL);
        m.severity = SEVERITY_LOW;
        m.status = _INCIDENT_STATUS_INVALID;
        ASSERT_ERROR(slack_render_incident(&m, LANGUAGE_KO, &json), EINVAL);
        m.status = INCIDENT_NEW;
        m.category = _CATEGORY_MAX;
        ASSERT_ERROR(slack_render_incident(&m, LANGUAGE_KO, &json), EINVAL);
        m.category = CATEGORY_OTHER;
        m.app = "  ";
        ASSERT_ERROR(slack_render_incident(&m, LANGUAGE_KO, &json), EINVAL);
        m.app = "shop-app";
        ASSERT_ERROR(slack_render_group(v, 0, LANGUAGE_KO, &json), EINVAL);
        ASSERT_ERROR(slack_render_group(v, 2, LANGUAGE_KO, &json), EINVAL);
        ASSERT_STREQ(json, "untouched");

        /* Empty optional parts are left out, not sent empty. */
        m = (IncidentMessage) { .kind = MESSAGE_NEW, .app = "a", .category = CATEGORY_OTHER,
                                .title = "", .summary = " \n", .excerpt = "" };
        {
                _cleanup_(checked_done) Checked c = {};

                if (render(&m, LANGUAGE_KO, &c))
                        return 1;
                ASSERT_STRSTR(c.all, "*(제목 없음)*");
                ASSERT_TRUE(!strstr(c.all, "분석"));
                ASSERT_TRUE(!strstr(c.all, "로그 발췌"));
                ASSERT_TRUE(!strstr(c.all, "시도한 수정"));
        }
        return 0;
}
