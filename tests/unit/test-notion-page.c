/* SPDX-License-Identifier: MIT */
/*
 * Tests for deliver/notion-page: every body is parsed back with jansson and
 * held to the rules of Notion's API reference (property value shapes per
 * type, at most 100 blocks a request, at most 2000 UTF-16 units per rich text
 * item and 100 items per array, 500 KB a request), long Korean text is split
 * without a broken character and reassembles to the input, and the parsers
 * are fed real-shaped answers and garbage.
 */
#include <assert.h>
#include <jansson.h>

#include "deliver/notion-page.h"
#include "shared/utf8.h"
#include "tests.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

static const NotionProperties defaults = NOTION_PROPERTIES_DEFAULT;

/* 2025-09-21T00:00:00Z */
#define SEEN_USEC (INT64_C(1758412800) * 1000000 + 123456)

static IncidentMessage sample(void) {
        return (IncidentMessage) {
                .kind = MESSAGE_NEW,
                .id = 7,
                .app = "shop",
                .host = "build-1",
                .category = CATEGORY_FLUTTER_BUILD,
                .severity = SEVERITY_HIGH,
                .status = INCIDENT_NEW,
                .auto_fixable = true,
                .count = 3,
                .first_seen = SEEN_USEC,
                .last_seen = SEEN_USEC + 60 * INT64_C(1000000),
                .title = "Gradle task assembleRelease failed",
                .summary = "빌드 캐시가 손상되었습니다.\n\nflutter clean 후 다시 빌드하세요.",
                .fix_id = "flutter-clean",
                .fix_result = "failed: exit status 1",
                .fix_output = "Deleting build...\nerror: permission denied",
                .excerpt = "FAILURE: Build failed with an exception.\n* What went wrong:\n",
                .fingerprint = "0123456789abcdef",
                .unit = "appwatch-fix@shop.service",
        };
}

/* UTF-16 length of valid UTF-8, as Notion's validator counts. */
static size_t units(const char *s) {
        size_t u = 0;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xc0) != 0x80)
                        u += *p >= 0xf0 ? 2 : 1;
        return u;
}

static json_t *parse(const char *s) {
        json_error_t err;
        json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &err);

        if (!j)
                fprintf(stderr, "JSON error: %s (line %d)\n", err.text, err.line);
        return j;
}

/* A rich text array as Notion accepts it: ≤100 text items of ≤2000 units. */
static int check_rich_text(json_t *a) {
        size_t i;
        json_t *item;

        ASSERT_TRUE(json_is_array(a));
        ASSERT_TRUE(json_array_size(a) <= NOTION_ARRAY_MAX);
        json_array_foreach(a, i, item) {
                const char *c = json_string_value(json_object_get(json_object_get(item, "text"), "content"));

                ASSERT_STREQ(json_string_value(json_object_get(item, "type")), "text");
                ASSERT_TRUE(c);
                ASSERT_TRUE(*c);                /* Notion refuses empty strings */
                ASSERT_TRUE(units(c) <= NOTION_RICH_TEXT_MAX_UNITS);
                ASSERT_TRUE(utf8_is_valid(c, strlen(c)));
        }
        return 0;
}

/* The blocks we make: no children, a known type, code in plain text. */
static int check_blocks(json_t *children) {
        static const char *const types[] = { "heading_2", "paragraph", "bulleted_list_item", "code" };
        size_t i;
        json_t *b;

        ASSERT_TRUE(json_is_array(children));
        ASSERT_TRUE(json_array_size(children) >= 1);
        ASSERT_TRUE(json_array_size(children) <= NOTION_BLOCKS_PER_REQUEST);
        json_array_foreach(children, i, b) {
                const char *type = json_string_value(json_object_get(b, "type"));
                json_t *inner = json_object_get(b, type ?: "");
                bool known = false;

                ASSERT_TRUE(type);
                for (size_t k = 0; k < ELEMENTSOF(types); k++)
                        known = known || strcmp(type, types[k]) == 0;
                ASSERT_TRUE(known);
                ASSERT_TRUE(json_is_object(inner));
                ASSERT_TRUE(!json_object_get(inner, "children"));
                ASSERT_TRUE(json_array_size(json_object_get(inner, "rich_text")) <= NOTION_BLOCK_MAX_ITEMS);
                if (check_rich_text(json_object_get(inner, "rich_text")))
                        return 1;
                if (strcmp(type, "code") == 0)
                        ASSERT_STREQ(json_string_value(json_object_get(inner, "language")), "plain text");
        }
        return 0;
}

/* The value of a property of the expected type, shaped as "Page properties" says. */
static int check_property(json_t *props, const char *name, const char *type) {
        json_t *v = json_object_get(props, name);

        ASSERT_TRUE(json_is_object(v));
        ASSERT_EQ(json_object_size(v), 1);
        if (strcmp(type, "title") == 0 || strcmp(type, "rich_text") == 0)
                return check_rich_text(json_object_get(v, type));
        if (strcmp(type, "select") == 0) {
                const char *n = json_string_value(json_object_get(json_object_get(v, "select"), "name"));

                ASSERT_TRUE(n && *n);
                ASSERT_TRUE(!strchr(n, ','));
                return 0;
        }
        if (strcmp(type, "checkbox") == 0) {
                ASSERT_TRUE(json_is_boolean(json_object_get(v, "checkbox")));
                return 0;
        }
        if (strcmp(type, "date") == 0) {
                const char *s = json_string_value(json_object_get(json_object_get(v, "date"), "start"));

                ASSERT_TRUE(s);
                ASSERT_EQ(strlen(s), strlen("2025-09-21T00:00:00.000Z"));
                ASSERT_TRUE(s[10] == 'T' && s[23] == 'Z');
                return 0;
        }
        TEST_FAIL("unknown type %s", type);
}

static const char *plain(json_t *props, const char *name, const char *type) {
        json_t *a = json_object_get(json_object_get(props, name), type);

        return json_string_value(json_object_get(json_object_get(json_array_get(a, 0), "text"), "content"));
}

static const char *select_name(json_t *props, const char *name) {
        return json_string_value(json_object_get(json_object_get(json_object_get(props, name), "select"), "name"));
}

/* All the bodies of one page, create first, as parsed JSON. */
typedef struct Page {
        json_t *create;
        json_t *appends[4096];
        size_t n_appends;
        size_t max_body_size;
} Page;

static void page_done(Page *p) {
        json_decref(p->create);
        for (size_t i = 0; i < p->n_appends; i++)
                json_decref(p->appends[i]);
}

static int build_page(const NotionProperties *props, const IncidentMessage *m, Language lang, Page *ret) {
        _cleanup_free_ char *create = NULL, *create2 = NULL;
        _cleanup_strv_free_ char **appends = NULL, **appends2 = NULL;
        size_t k = 0;

        *ret = (Page) {};
        ASSERT_OK(notion_page_bodies(props, "ds-1", m, lang, &create, &appends));
        /* The one-part functions give the same bodies. */
        ASSERT_OK(notion_page_create_body(props, "ds-1", m, lang, &create2));
        ASSERT_OK(notion_blocks_append_bodies(m, lang, &appends2));
        ASSERT_STREQ(create, create2);
        for (; appends[k]; k++)
                ASSERT_STREQ(appends[k], appends2[k]);
        ASSERT_TRUE(!appends2[k]);
        ret->create = parse(create);
        ASSERT_TRUE(ret->create);
        ret->max_body_size = strlen(create);
        for (char **b = appends; *b; b++) {
                json_t *j = parse(*b);

                ASSERT_TRUE(j);
                ASSERT_TRUE(ret->n_appends < ELEMENTSOF(ret->appends));
                ret->appends[ret->n_appends++] = j;
                if (strlen(*b) > ret->max_body_size)
                        ret->max_body_size = strlen(*b);
                /* An append body is {"children": [...]} and nothing else. */
                ASSERT_EQ(json_object_size(j), 1);
                if (check_blocks(json_object_get(j, "children")))
                        return 1;
        }
        ASSERT_TRUE(ret->max_body_size <= NOTION_REQUEST_MAX_BYTES);
        if (json_object_get(ret->create, "children") && check_blocks(json_object_get(ret->create, "children")))
                return 1;
        return 0;
}

/* Calls f on every block of the page in order. */
static void page_foreach_block(Page *p, void (*f)(json_t *block, void *userdata), void *userdata) {
        size_t i;
        json_t *b;

        json_array_foreach(json_object_get(p->create, "children"), i, b)
                f(b, userdata);
        for (size_t k = 0; k < p->n_appends; k++)
                json_array_foreach(json_object_get(p->appends[k], "children"), i, b)
                        f(b, userdata);
}

typedef struct Collect {
        char *text;                     /* the code blocks' text, concatenated */
        size_t len;
        size_t n_code, n_blocks, n_items;
        bool bad_cut;                   /* an item starts with a combining character */
        char *headings;                 /* "|"-joined heading texts */
} Collect;

static bool starts_with_extender(const char *s) {
        static const char *const marks[] = {
                "\xcc\x81",             /* U+0301 */
                "\xe1\x85\xa1",         /* U+1161 Hangul jungseong A */
                "\xe1\x86\xab",         /* U+11AB Hangul jongseong N */
                "\xe2\x80\x8d",         /* U+200D ZWJ */
                "\xef\xb8\x8f",         /* U+FE0F */
        };

        for (size_t i = 0; i < ELEMENTSOF(marks); i++)
                if (strncmp(s, marks[i], strlen(marks[i])) == 0)
                        return true;
        return false;
}

static void append_str(char **s, size_t *len, const char *t) {
        size_t n = strlen(t);
        char *g = realloc(*s, *len + n + 1);

        assert(g);
        memcpy(g + *len, t, n + 1);
        *s = g;
        *len += n;
}

static void collect_block(json_t *b, void *userdata) {
        Collect *c = userdata;
        const char *type = json_string_value(json_object_get(b, "type"));
        json_t *rt = json_object_get(json_object_get(b, type), "rich_text"), *item;
        size_t i;

        c->n_blocks++;
        if (strcmp(type, "heading_2") == 0) {
                size_t hl = c->headings ? strlen(c->headings) : 0;

                if (hl)
                        append_str(&c->headings, &hl, "|");
                append_str(&c->headings, &hl, json_string_value(json_object_get(
                                json_object_get(json_array_get(rt, 0), "text"), "content")));
                return;
        }
        if (strcmp(type, "code") != 0)
                return;
        c->n_code++;
        json_array_foreach(rt, i, item) {
                const char *t = json_string_value(json_object_get(json_object_get(item, "text"), "content"));

                c->n_items++;
                if (starts_with_extender(t))
                        c->bad_cut = true;
                append_str(&c->text, &c->len, t);
        }
}

TEST(id_is_valid) {
        static const struct {
                const char *id;
                bool valid;
        } cases[] = {
                { "c174b72c-d782-432f-8dc0-b647e1c96df6", true },
                { "C174B72CD782432F8DC0B647E1C96DF6", true },
                { "c174b72cd782432f8dc0b647e1c96df", false },           /* 31 digits */
                { "c174b72c-d782-432f-8dc0b647e1c96df6", false },       /* three dashes */
                { "c174b72c--d782432f-8dc0-b647e1c96df6", false },
                { "-c174b72cd782432f8dc0b647e1c96df6", false },
                { "c174b72c-d782-432f-8dc0-b647e1c96df6/children", false },
                { "../../v1/users", false },
                { "c174b72c-d782-432f-8dc0-b647e1c96dfg", false },
                { "", false },
                { NULL, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (notion_id_is_valid(cases[i].id) != cases[i].valid)
                        TEST_FAIL("case %zu: '%s'", i, cases[i].id ?: "(null)");
        return 0;
}

TEST(properties_check) {
        NotionProperties p = defaults;
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL;

        ASSERT_OK(notion_properties_check(&defaults, NULL));
        p.fingerprint = NOTION_FINGERPRINT_PROPERTY_DEFAULT;
        ASSERT_OK(notion_properties_check(&p, NULL));

        p = defaults;
        p.app = NULL;
        ASSERT_ERROR(notion_properties_check(&p, &e1), EINVAL);
        ASSERT_STREQ(e1, "the app property has no name");

        p = defaults;
        p.fingerprint = "상태";
        ASSERT_ERROR(notion_properties_check(&p, &e2), EINVAL);
        ASSERT_STREQ(e2, "the status and fingerprint properties have the same name '상태'");

        p = defaults;
        p.time = "bad\xff";
        ASSERT_ERROR(notion_properties_check(&p, &e3), EINVAL);
        ASSERT_STREQ(e3, "the time property name is empty or not UTF-8");
        return 0;
}

TEST(create_body_properties) {
        static const NotionProperties with_fp = {
                .title = "Name", .type = "Kind", .app = "App", .severity = "Severity",
                .auto_fixable = "Fixable", .status = "Status", .time = "When", .fingerprint = "Fingerprint",
        };
        static const struct {
                const NotionProperties *props;
                Language lang;
                const char *type_label;
                int64_t first_seen;
                const char *want_type, *want_time;
        } cases[] = {
                { &defaults, LANGUAGE_KO, NULL, SEEN_USEC, "Flutter 빌드 실패", "2025-09-21T00:00:00.123Z" },
                { &defaults, LANGUAGE_EN, NULL, SEEN_USEC, "Flutter build failure", "2025-09-21T00:00:00.123Z" },
                { &with_fp, LANGUAGE_EN, "Flutter Error, API Error", 0, "Flutter Error; API Error", NULL },
                { &with_fp, LANGUAGE_KO, "앱,빌드,,", SEEN_USEC, "앱;빌드;;", "2025-09-21T00:00:00.123Z" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const NotionProperties *p = cases[i].props;
                IncidentMessage m = sample();
                _cleanup_(page_done) Page page = {};
                json_t *props;

                m.type_label = cases[i].type_label;
                m.first_seen = cases[i].first_seen;
                if (build_page(p, &m, cases[i].lang, &page))
                        return 1;

                ASSERT_STREQ(json_string_value(json_object_get(json_object_get(page.create, "parent"), "type")),
                             "data_source_id");
                ASSERT_STREQ(json_string_value(json_object_get(json_object_get(page.create, "parent"),
                                                               "data_source_id")), "ds-1");
                props = json_object_get(page.create, "properties");
                ASSERT_EQ(json_object_size(props), (p->fingerprint ? 8 : 7) - (cases[i].want_time ? 0 : 1));
                if (check_property(props, p->title, "title") || check_property(props, p->type, "select") ||
                    check_property(props, p->app, "rich_text") || check_property(props, p->severity, "select") ||
                    check_property(props, p->auto_fixable, "checkbox") ||
                    check_property(props, p->status, "select"))
                        return 1;
                if (cases[i].want_time) {
                        if (check_property(props, p->time, "date"))
                                return 1;
                        ASSERT_STREQ(json_string_value(json_object_get(json_object_get(
                                        json_object_get(props, p->time), "date"), "start")), cases[i].want_time);
                } else
                        ASSERT_TRUE(!json_object_get(props, p->time));
                if (p->fingerprint) {
                        if (check_property(props, p->fingerprint, "rich_text"))
                                return 1;
                        ASSERT_STREQ(plain(props, p->fingerprint, "rich_text"), "0123456789abcdef");
                }

                ASSERT_STREQ(plain(props, p->title, "title"), "Gradle task assembleRelease failed");
                ASSERT_STREQ(plain(props, p->app, "rich_text"), "shop");
                ASSERT_STREQ(select_name(props, p->type), cases[i].want_type);
                ASSERT_STREQ(select_name(props, p->severity), "High");
                ASSERT_STREQ(select_name(props, p->status), "New");
                ASSERT_TRUE(json_is_true(json_object_get(json_object_get(props, p->auto_fixable), "checkbox")));
                ASSERT_EQ(page.n_appends, 0);
        }
        return 0;
}

TEST(select_values_follow_the_guide) {
        static const struct {
                Severity sev;
                IncidentStatus st;
                const char *want_sev, *want_st;
        } cases[] = {
                { SEVERITY_LOW, INCIDENT_NEW, "Low", "New" },
                { SEVERITY_MEDIUM, INCIDENT_IN_PROGRESS, "Medium", "In Progress" },
                { SEVERITY_HIGH, INCIDENT_RESOLVED, "High", "Resolved" },
                { SEVERITY_CRITICAL, INCIDENT_MANUAL_REQUIRED, "Critical", "Manual Required" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                IncidentMessage m = sample();
                _cleanup_free_ char *s = NULL;
                _cleanup_json_ json_t *j = NULL;

                m.severity = cases[i].sev;
                m.status = cases[i].st;
                ASSERT_OK(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s));
                j = parse(s);
                ASSERT_TRUE(j);
                ASSERT_STREQ(select_name(json_object_get(j, "properties"), "심각도"), cases[i].want_sev);
                ASSERT_STREQ(select_name(json_object_get(j, "properties"), "상태"), cases[i].want_st);
        }
        return 0;
}

TEST(body_headings_follow_language) {
        static const struct {
                Language lang;
                const char *headings;
        } cases[] = {
                { LANGUAGE_KO, "분석|세부 정보|수정 시도|로그 발췌" },
                { LANGUAGE_EN, "Analysis|Details|Fix attempts|Log excerpt" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                IncidentMessage m = sample();
                _cleanup_(page_done) Page page = {};
                Collect c = {};

                if (build_page(&defaults, &m, cases[i].lang, &page))
                        return 1;
                page_foreach_block(&page, collect_block, &c);
                ASSERT_STREQ(c.headings, cases[i].headings);
                /* fix output, then excerpt: two code blocks */
                ASSERT_EQ(c.n_code, 2);
                free(c.headings);
                free(c.text);
        }

        /* Nothing to say: placeholders, no excerpt heading. */
        IncidentMessage m = sample();
        _cleanup_free_ char *s = NULL;

        m.summary = NULL;
        m.fix_id = "none";
        m.fix_output = NULL;
        m.excerpt = NULL;
        ASSERT_OK(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s));
        ASSERT_STRSTR(s, "아직 분석이 없습니다.");
        ASSERT_STRSTR(s, "자동 수정을 시도하지 않았습니다.");
        ASSERT_TRUE(!strstr(s, "로그 발췌"));
        ASSERT_TRUE(!strstr(s, "\"code\""));

        free(s);
        s = NULL;
        m.summary = "\n\n\r\n";
        ASSERT_OK(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_EN, &s));
        ASSERT_STRSTR(s, "No analysis yet.");
        return 0;
}

/* Korean log text with NFD jamo, emoji (2 UTF-16 units each, some with a
 * skin tone modifier) and a combining accent, with or without newlines (so
 * that cuts land at line ends, or anywhere). */
static char *korean_text(size_t chars, bool lines) {
        static const char *const pieces[] = {
                "빌드", " 실패", ": ", "의존성", "을 ", "찾을 수 없습니다", "\n",
                "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab",         /* 한 in NFD: 3 code points */
                "🔴", "e\xcc\x81", "👍🏽", "\r\n", "가",
        };
        size_t n = 0, len = 0, k = 0;
        char *s = NULL;

        while (n < chars) {
                const char *p = pieces[k++ % ELEMENTSOF(pieces)];

                if (!lines && strchr(p, '\n'))
                        continue;
                append_str(&s, &len, p);
                for (const unsigned char *q = (const unsigned char *) p; *q; q++)
                        if ((*q & 0xc0) != 0x80)
                                n++;
        }
        return s;
}

static int korean_excerpt(bool lines) {
        _cleanup_free_ char *text = korean_text(50000, lines);
        IncidentMessage m = sample();
        _cleanup_(page_done) Page page = {};
        Collect c = {};

        ASSERT_TRUE(utf8_is_valid(text, strlen(text)));
        m.fix_output = NULL;
        m.excerpt = text;
        if (build_page(&defaults, &m, LANGUAGE_KO, &page))
                return 1;
        page_foreach_block(&page, collect_block, &c);
        ASSERT_TRUE(c.text);
        ASSERT_EQ(c.len, strlen(text));
        ASSERT_TRUE(memcmp(c.text, text, c.len) == 0);
        ASSERT_TRUE(!c.bad_cut);
        /* 50,000 characters are > 50,000 units; every item ≤ 2000 units.
         * Without newlines the cuts fall only a character or two short of
         * the limit; with them, at a line end in the item's second half. */
        ASSERT_TRUE(c.n_items >= 26);
        ASSERT_TRUE(c.n_items <= units(text) / (lines ? 1000 : 1990) + 1);
        ASSERT_TRUE(c.n_code >= 1);
        free(c.text);
        free(c.headings);
        return 0;
}

TEST(korean_excerpt_split_and_reassembled) {
        for (int lines = 0; lines <= 1; lines++)
                if (korean_excerpt(lines))
                        return 1;
        return 0;
}

static void collect_numbers(json_t *b, void *userdata) {
        int *next = userdata;
        const char *type = json_string_value(json_object_get(b, "type"));
        const char *t;
        int k;

        if (strcmp(type, "paragraph") != 0)
                return;
        t = json_string_value(json_object_get(json_object_get(json_array_get(
                        json_object_get(json_object_get(b, "paragraph"), "rich_text"), 0), "text"), "content"));
        if (sscanf(t, "para %d", &k) == 1) {
                if (k == *next)
                        (*next)++;
                else
                        *next = -1000000;       /* out of order */
        }
}

TEST(more_than_100_blocks_go_to_append_bodies) {
        _cleanup_free_ char *summary = NULL;
        size_t len = 0;
        IncidentMessage m = sample();
        _cleanup_(page_done) Page page = {};
        int next = 0;

        for (int i = 0; i < 350; i++) {
                char buf[32];

                snprintf(buf, sizeof buf, "para %d\n\n", i);
                append_str(&summary, &len, buf);
        }
        m.summary = summary;
        if (build_page(&defaults, &m, LANGUAGE_EN, &page))
                return 1;
        /* 1 heading + 350 paragraphs + details, fix and excerpt blocks: 4 requests */
        ASSERT_EQ(json_array_size(json_object_get(page.create, "children")), 100);
        ASSERT_EQ(page.n_appends, 3);
        ASSERT_EQ(json_array_size(json_object_get(page.appends[0], "children")), 100);
        ASSERT_EQ(json_array_size(json_object_get(page.appends[1], "children")), 100);
        ASSERT_TRUE(json_array_size(json_object_get(page.appends[2], "children")) > 51);
        page_foreach_block(&page, collect_numbers, &next);
        ASSERT_EQ(next, 350);
        return 0;
}

TEST(large_excerpts_stay_under_the_payload_limit) {
        static const struct {
                char c;
                size_t n;
        } cases[] = {
                { 'x', 1000000 },       /* 64 KB blocks: several per request */
                { '\x01', 200000 },     /* \u0001 is 6 bytes of JSON: one block per request */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = malloc(cases[i].n + 1);
                IncidentMessage m = sample();
                _cleanup_(page_done) Page page = {};
                Collect c = {};

                ASSERT_TRUE(text);
                memset(text, cases[i].c, cases[i].n);
                text[cases[i].n] = 0;
                m.excerpt = text;
                m.fix_output = NULL;
                if (build_page(&defaults, &m, LANGUAGE_EN, &page))
                        return 1;
                ASSERT_TRUE(page.n_appends >= 2);
                ASSERT_TRUE(page.max_body_size <= NOTION_REQUEST_MAX_BYTES);
                page_foreach_block(&page, collect_block, &c);
                ASSERT_EQ(c.len, cases[i].n);
                ASSERT_TRUE(memcmp(c.text, text, c.len) == 0);
                free(c.text);
                free(c.headings);
        }
        return 0;
}

TEST(long_title_and_app_are_cut_and_marked) {
        _cleanup_free_ char *title = korean_text(5000, true), *s = NULL;
        _cleanup_json_ json_t *j = NULL;
        IncidentMessage m = sample();
        const char *t;

        m.title = title;
        m.app = title;
        ASSERT_OK(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s));
        j = parse(s);
        ASSERT_TRUE(j);
        if (check_property(json_object_get(j, "properties"), "제목", "title") ||
            check_property(json_object_get(j, "properties"), "앱", "rich_text"))
                return 1;
        t = plain(json_object_get(j, "properties"), "제목", "title");
        ASSERT_TRUE(units(t) <= NOTION_RICH_TEXT_MAX_UNITS);
        ASSERT_TRUE(units(t) >= NOTION_RICH_TEXT_MAX_UNITS - 8);
        ASSERT_TRUE(strlen(t) >= strlen("…"));
        ASSERT_STREQ(t + strlen(t) - strlen("…"), "…");
        ASSERT_TRUE(strncmp(t, title, strlen(t) - strlen("…")) == 0);
        return 0;
}

TEST(type_label_is_bounded) {
        _cleanup_free_ char *label = malloc(601), *s = NULL;
        _cleanup_json_ json_t *j = NULL;
        IncidentMessage m = sample();
        const char *name;

        ASSERT_TRUE(label);
        /* "가a,b" and 198 more 가: 200 characters with a comma. */
        for (size_t i = 0; i < 600; i += 3)
                memcpy(label + i, "가", 3);
        memcpy(label + 3, "a,b", 3);
        label[600] = 0;
        ASSERT_TRUE(utf8_is_valid(label, 600));
        m.type_label = label;
        ASSERT_OK(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s));
        j = parse(s);
        ASSERT_TRUE(j);
        name = select_name(json_object_get(j, "properties"), "타입");
        ASSERT_TRUE(name);
        ASSERT_EQ(units(name), NOTION_SELECT_MAX_UNITS);
        ASSERT_TRUE(strncmp(name, "가a;b가", strlen("가a;b가")) == 0);
        ASSERT_STREQ(name + strlen(name) - strlen("…"), "…");

        /* An empty label falls back to the category's. */
        free(s);
        s = NULL;
        m.type_label = "";
        ASSERT_OK(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_EN, &s));
        ASSERT_STRSTR(s, "\"select\":{\"name\":\"Flutter build failure\"}");
        return 0;
}

TEST(bad_input_is_einval) {
        NotionProperties fp = defaults;
        _cleanup_free_ char *long_fp = malloc(2002);
        _cleanup_strv_free_ char **l = NULL;
        char *s = NULL;
        IncidentMessage m;

        ASSERT_TRUE(long_fp);
        memset(long_fp, 'a', 2001);
        long_fp[2001] = 0;
        fp.fingerprint = "Fingerprint";

        m = sample();
        m.excerpt = "bad \xff byte";
        ASSERT_ERROR(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s), EINVAL);
        ASSERT_ERROR(notion_blocks_append_bodies(&m, LANGUAGE_KO, &l), EINVAL);
        m = sample();
        m.app = "\xeb\xb9";             /* cut mid-character */
        ASSERT_ERROR(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s), EINVAL);
        m = sample();
        m.severity = _SEVERITY_MAX;
        ASSERT_ERROR(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s), EINVAL);
        m = sample();
        m.status = _INCIDENT_STATUS_INVALID;
        ASSERT_ERROR(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s), EINVAL);
        m = sample();
        m.category = _CATEGORY_MAX;
        ASSERT_ERROR(notion_page_create_body(&defaults, "ds", &m, LANGUAGE_KO, &s), EINVAL);
        m = sample();
        ASSERT_ERROR(notion_page_create_body(&defaults, "ds", &m, _LANGUAGE_MAX, &s), EINVAL);
        ASSERT_ERROR(notion_page_create_body(&defaults, "", &m, LANGUAGE_KO, &s), EINVAL);
        m.fingerprint = long_fp;
        ASSERT_ERROR(notion_page_create_body(&fp, "ds", &m, LANGUAGE_KO, &s), EINVAL);
        ASSERT_ERROR(notion_query_fingerprint_body(&fp, long_fp, &s), EINVAL);
        ASSERT_TRUE(s == NULL);
        ASSERT_TRUE(l == NULL);
        return 0;
}

TEST(status_body) {
        static const struct {
                IncidentStatus s;
                const char *want;
        } cases[] = {
                { INCIDENT_NEW, "{\"properties\":{\"상태\":{\"select\":{\"name\":\"New\"}}}}" },
                { INCIDENT_IN_PROGRESS, "{\"properties\":{\"상태\":{\"select\":{\"name\":\"In Progress\"}}}}" },
                { INCIDENT_RESOLVED, "{\"properties\":{\"상태\":{\"select\":{\"name\":\"Resolved\"}}}}" },
                { INCIDENT_MANUAL_REQUIRED,
                  "{\"properties\":{\"상태\":{\"select\":{\"name\":\"Manual Required\"}}}}" },
        };
        char *s = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *b = NULL;

                ASSERT_OK(notion_page_status_body(&defaults, cases[i].s, &b));
                ASSERT_STREQ(b, cases[i].want);
        }
        ASSERT_ERROR(notion_page_status_body(&defaults, _INCIDENT_STATUS_MAX, &s), EINVAL);
        return 0;
}

TEST(query_bodies) {
        NotionProperties p = defaults;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        char *s = NULL;

        ASSERT_ERROR(notion_query_fingerprint_body(&defaults, "abc", &s), EOPNOTSUPP);
        p.fingerprint = "Fingerprint";
        ASSERT_OK(notion_query_fingerprint_body(&p, "0123abcd", &a));
        ASSERT_STREQ(a, "{\"filter\":{\"property\":\"Fingerprint\",\"rich_text\":{\"equals\":\"0123abcd\"}},"
                        "\"sorts\":[{\"timestamp\":\"created_time\",\"direction\":\"ascending\"}],"
                        "\"page_size\":10}");
        ASSERT_ERROR(notion_query_fingerprint_body(&p, "", &s), EINVAL);
        ASSERT_ERROR(notion_query_fingerprint_body(&p, "\xff", &s), EINVAL);

        ASSERT_OK(notion_query_edited_since_body("2025-09-21T09:00:00.000+09:00", NULL, &b));
        ASSERT_STREQ(b, "{\"filter\":{\"timestamp\":\"last_edited_time\","
                        "\"last_edited_time\":{\"on_or_after\":\"2025-09-21T09:00:00.000+09:00\"}},"
                        "\"sorts\":[{\"timestamp\":\"last_edited_time\",\"direction\":\"ascending\"}],"
                        "\"page_size\":100}");
        ASSERT_OK(notion_query_edited_since_body("2025-09-21", "cursor-2", &c));
        ASSERT_STREQ(c, "{\"filter\":{\"timestamp\":\"last_edited_time\","
                        "\"last_edited_time\":{\"on_or_after\":\"2025-09-21\"}},"
                        "\"sorts\":[{\"timestamp\":\"last_edited_time\",\"direction\":\"ascending\"}],"
                        "\"page_size\":100,\"start_cursor\":\"cursor-2\"}");
        ASSERT_OK(notion_query_edited_since_body("2025-09-21T00:00:00Z", NULL, &d));

        static const char *const bad_times[] = {
                "", "yesterday", "2025-9-21", "2025-09-21T", "2025-09-21 09:00", "2025-09-21T09:00;drop",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_times); i++)
                ASSERT_ERROR(notion_query_edited_since_body(bad_times[i], NULL, &s), EINVAL);
        ASSERT_ERROR(notion_query_edited_since_body("2025-09-21", "", &s), EINVAL);
        ASSERT_ERROR(notion_query_edited_since_body(NULL, NULL, &s), EINVAL);
        ASSERT_TRUE(s == NULL);
        return 0;
}

TEST(parse_database) {
        static const char one[] =
                "{\"object\":\"database\",\"id\":\"db\",\"data_sources\":"
                "[{\"id\":\"c174b72c-d782-432f-8dc0-b647e1c96df6\",\"name\":\"Incidents\"}]}";
        static const char two[] =
                "{\"object\":\"database\",\"id\":\"db\",\"data_sources\":"
                "[{\"id\":\"aaaa-1111\",\"name\":\"오류\"},{\"id\":\"bbbb-2222\",\"name\":\"Archive\"}]}";
        static const char none[] = "{\"object\":\"database\",\"id\":\"db\",\"data_sources\":[]}";
        static const struct {
                const char *body, *wanted;
                int r;
                const char *want;               /* the id, or the message */
        } cases[] = {
                { one, NULL, 0, "c174b72c-d782-432f-8dc0-b647e1c96df6" },
                { one, "C174B72CD782432F8DC0B647E1C96DF6", 0, "c174b72c-d782-432f-8dc0-b647e1c96df6" },
                { one, "ffff", -ENOENT, "data source ffff is not in the database, which has: "
                                         "'Incidents' (c174b72c-d782-432f-8dc0-b647e1c96df6)" },
                { two, NULL, -ENOTUNIQ, "the database has 2 data sources, set DataSourceId= to one of: "
                                         "'오류' (aaaa-1111); 'Archive' (bbbb-2222)" },
                { two, "bbbb2222", 0, "bbbb-2222" },
                { two, "cccc", -ENOENT, "data source cccc is not in the database, which has: "
                                         "'오류' (aaaa-1111); 'Archive' (bbbb-2222)" },
                { none, NULL, -ENOENT, "the database has no data source" },
                { "{\"object\":\"database\",\"id\":\"db\",\"properties\":{}}", NULL, -EBADMSG,
                  "the database has no data_sources array (is Notion-Version 2025-09-03?)" },
                { "{\"object\":\"error\",\"status\":404}", NULL, -EBADMSG,
                  "answer is not a database object (object is 'error')" },
                { "{\"object\":\"database\",\"data_sources\":[{\"name\":\"x\"}]}", NULL, -EBADMSG,
                  "data source 0 of the database has no id" },
                { "<html>502 Bad Gateway</html>", NULL, -EBADMSG, NULL },
                { "", NULL, -EBADMSG, "empty answer" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *id = NULL, *err = NULL;
                int r = notion_parse_database(cases[i].body, strlen(cases[i].body), cases[i].wanted, &id, &err);

                if (r != cases[i].r)
                        TEST_FAIL("case %zu: %d != %d (%s)", i, r, cases[i].r, err ?: "");
                if (r == 0) {
                        ASSERT_STREQ(id, cases[i].want);
                        ASSERT_TRUE(!err);
                } else {
                        ASSERT_TRUE(!id);
                        ASSERT_TRUE(err);
                        if (cases[i].want)
                                ASSERT_STREQ(err, cases[i].want);
                }
        }
        return 0;
}

/* The data source of the guide's database, as GET /v1/data_sources/{id} gives it. */
#define PROP(name, id, type, extra) \
        "\"" name "\":{\"id\":\"" id "\",\"name\":\"" name "\",\"type\":\"" type "\",\"" type "\":" extra "}"
#define GUIDE_PROPS                                                                                     \
        PROP("제목", "title", "title", "{}") ","                                                        \
        PROP("타입", "a%3Bb", "select", "{\"options\":[{\"id\":\"1\",\"name\":\"Flutter Error\",\"color\":\"red\"}]}") "," \
        PROP("앱", "c%3Dd", "rich_text", "{}") ","                                                       \
        PROP("심각도", "e", "select", "{\"options\":[]}") ","                                           \
        PROP("자동수정가능", "f", "checkbox", "{}") ","                                                 \
        PROP("상태", "g", "select", "{\"options\":[{\"id\":\"2\",\"name\":\"New\",\"color\":\"blue\"}]}") "," \
        PROP("발생시간", "h", "date", "{}")

TEST(check_schema) {
        static const char guide[] = "{\"object\":\"data_source\",\"id\":\"ds\",\"properties\":{" GUIDE_PROPS "}}";
        static const char broken[] =
                "{\"object\":\"data_source\",\"id\":\"ds\",\"properties\":{"
                PROP("Name", "title", "title", "{}") ","
                PROP("타입", "a", "select", "{\"options\":[]}") ","
                PROP("심각도", "e", "rich_text", "{}") ","
                PROP("자동수정가능", "f", "checkbox", "{}") ","
                PROP("상태", "g", "status", "{\"options\":[],\"groups\":[]}") ","
                PROP("발생시간", "h", "date", "{}") "}}";
        static const char with_fp[] =
                "{\"object\":\"data_source\",\"id\":\"ds\",\"properties\":{" GUIDE_PROPS ","
                PROP("Fingerprint", "i", "rich_text", "{}") "}}";
        NotionProperties fp = defaults;
        static const struct {
                const char *body;
                bool fingerprint;
                int r;
                const char *want;
        } cases[] = {
                { guide, false, 0, NULL },
                { with_fp, true, 0, NULL },
                { with_fp, false, 0, NULL },
                { guide, true, -EINVAL, "property 'Fingerprint': expected rich_text, not found" },
                { broken, false, -EINVAL,
                  "property '제목': expected title, not found (the title property is 'Name'); "
                  "property '앱': expected rich_text, not found; "
                  "property '심각도': expected select, found rich_text; "
                  "property '상태': expected select, found status" },
                { "{\"object\":\"data_source\",\"properties\":{\"제목\":{\"id\":\"title\"}}}", false, -EINVAL,
                  "property '제목': expected title, found no type; "
                  "property '타입': expected select, not found; "
                  "property '앱': expected rich_text, not found; "
                  "property '심각도': expected select, not found; "
                  "property '자동수정가능': expected checkbox, not found; "
                  "property '상태': expected select, not found; "
                  "property '발생시간': expected date, not found" },
                { "{\"object\":\"database\",\"properties\":{}}", false, -EBADMSG,
                  "answer is not a data_source object (object is 'database')" },
                { "{\"object\":\"data_source\"}", false, -EBADMSG, "the data source has no properties object" },
                { "{\"object\":\"data_source\",\"properties\":", false, -EBADMSG, NULL },
                { "\xff\xfe{}", false, -EBADMSG, NULL },
        };

        fp.fingerprint = NOTION_FINGERPRINT_PROPERTY_DEFAULT;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *err = NULL;
                int r = notion_check_schema(cases[i].body, strlen(cases[i].body),
                                            cases[i].fingerprint ? &fp : &defaults, &err);

                if (r != cases[i].r)
                        TEST_FAIL("case %zu: %d != %d (%s)", i, r, cases[i].r, err ?: "");
                if (r == 0)
                        ASSERT_TRUE(!err);
                else if (cases[i].want)
                        ASSERT_STREQ(err, cases[i].want);
                else
                        ASSERT_TRUE(err);
        }
        return 0;
}

TEST(parse_error) {
        static const char ok[] =
                "{\"object\":\"error\",\"status\":400,\"code\":\"validation_error\","
                "\"message\":\"body failed validation: body.children[1].paragraph.rich_text[0].text.content.length "
                "should be ≤ `2000`, instead was `2001`.\",\"request_id\":\"abc-123\"}";
        static const char *const garbage[] = {
                "",
                "not json",
                "<html><body>502 Bad Gateway</body></html>",
                "[]",
                "null",
                "\"error\"",
                "{\"object\":\"page\",\"status\":400,\"code\":\"x\",\"message\":\"y\"}",
                "{\"status\":400,\"code\":\"x\",\"message\":\"y\"}",
                "{\"object\":\"error\",\"status\":\"400\",\"code\":\"x\",\"message\":\"y\"}",
                "{\"object\":\"error\",\"status\":400,\"message\":\"y\"}",
                "{\"object\":\"error\",\"status\":400,\"code\":7,\"message\":\"y\"}",
                "{\"object\":\"error\",\"status\":400,\"code\":\"x\"}",
                "{\"object\":\"error\",\"status\":99999,\"code\":\"x\",\"message\":\"y\"}",
                "{\"object\":\"error\",\"status\":400,\"code\":\"x\",\"message\":\"bad \xff\"}",
                "{\"object\":\"error\",\"status\":400,\"code\":\"x\",\"message\":\"nul \\u0000\"}",
                "{\"object\":\"error\",\"status\":400,\"code\":\"x\",\"code\":\"y\",\"message\":\"z\"}",
                "{\"object\":\"error\",\"status\":400,",
        };
        _cleanup_free_ char *code = NULL, *message = NULL;
        int status = 0;

        ASSERT_OK(notion_parse_error(ok, strlen(ok), &status, &code, &message));
        ASSERT_EQ(status, 400);
        ASSERT_STREQ(code, "validation_error");
        ASSERT_STRSTR(message, "should be ≤ `2000`");
        ASSERT_OK(notion_parse_error(ok, strlen(ok), NULL, NULL, NULL));

        for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
                char *c = NULL, *msg = NULL;
                int st = -1;

                if (notion_parse_error(garbage[i], strlen(garbage[i]), &st, &c, &msg) != -EBADMSG)
                        TEST_FAIL("garbage %zu accepted: %s", i, garbage[i]);
                ASSERT_EQ(st, -1);
                ASSERT_TRUE(!c && !msg);
        }
        /* A NUL byte inside the body and a body without its end. */
        ASSERT_ERROR(notion_parse_error("{\"object\"\0}", 11, &status, NULL, NULL), EBADMSG);
        ASSERT_ERROR(notion_parse_error(ok, 20, &status, NULL, NULL), EBADMSG);
        ASSERT_ERROR(notion_parse_error(NULL, 0, &status, NULL, NULL), EBADMSG);
        return 0;
}

TEST(parse_page_id) {
        static const char ok[] = "{\"object\":\"page\",\"id\":\"59833787-2cf9-4fdf-8782-e53db20768a5\","
                                 "\"properties\":{},\"url\":\"https://www.notion.so/x\"}";
        static const char *const bad[] = {
                "{\"object\":\"page\"}", "{\"object\":\"page\",\"id\":\"\"}", "{\"object\":\"page\",\"id\":5}",
                "{\"object\":\"error\",\"id\":\"x\"}", "oops", "[\"id\"]",
        };
        _cleanup_free_ char *id = NULL;

        ASSERT_OK(notion_parse_page_id(ok, strlen(ok), &id));
        ASSERT_STREQ(id, "59833787-2cf9-4fdf-8782-e53db20768a5");
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *x = NULL;

                ASSERT_ERROR(notion_parse_page_id(bad[i], strlen(bad[i]), &x), EBADMSG);
                ASSERT_TRUE(!x);
        }
        return 0;
}

TEST(parse_query) {
        static const char answer[] =
                "{\"object\":\"list\",\"results\":["
                "{\"object\":\"page\",\"id\":\"p1\",\"last_edited_time\":\"2025-09-21T01:02:00.000Z\","
                " \"in_trash\":false,\"properties\":{"
                "  \"상태\":{\"id\":\"g\",\"type\":\"select\",\"select\":{\"id\":\"2\",\"name\":\"Resolved\"}},"
                "  \"Fingerprint\":{\"id\":\"i\",\"type\":\"rich_text\",\"rich_text\":["
                "    {\"type\":\"text\",\"text\":{\"content\":\"0123\"},\"plain_text\":\"0123\"},"
                "    {\"type\":\"text\",\"text\":{\"content\":\"abcd\"},\"plain_text\":\"abcd\"}]}}},"
                "{\"object\":\"page\",\"id\":\"p2\",\"in_trash\":true,\"properties\":{}},"
                "{\"object\":\"data_source\",\"id\":\"ds9\"},"
                "{\"object\":\"page\",\"id\":\"p3\",\"properties\":{"
                "  \"상태\":{\"id\":\"g\",\"type\":\"select\",\"select\":null},"
                "  \"Fingerprint\":{\"id\":\"i\",\"type\":\"rich_text\",\"rich_text\":[]}}},"
                "{\"object\":\"page\",\"id\":\"p4\",\"properties\":{"
                "  \"상태\":{\"id\":\"g\",\"type\":\"status\",\"status\":{\"name\":\"Done\"}}}}"
                "],\"next_cursor\":\"c-2\",\"has_more\":true,\"type\":\"page_or_data_source\"}";
        static const char last[] = "{\"object\":\"list\",\"results\":[],\"next_cursor\":null,\"has_more\":false}";
        static const char *const bad[] = {
                "{\"object\":\"list\"}",
                "{\"object\":\"list\",\"results\":{}}",
                "{\"object\":\"list\",\"results\":[1]}",
                "{\"object\":\"list\",\"results\":[{\"object\":\"page\"}]}",
                "{\"object\":\"list\",\"results\":[],\"next_cursor\":5}",
                "{\"object\":\"list\",\"results\":[],\"has_more\":\"yes\"}",
                "{\"object\":\"error\",\"results\":[]}",
                "garbage",
        };
        NotionProperties p = defaults;
        _cleanup_(notion_query_result_done) NotionQueryResult q = {}, e = {};

        p.fingerprint = "Fingerprint";
        ASSERT_OK(notion_parse_query(answer, strlen(answer), &p, &q));
        ASSERT_EQ(q.n_pages, 3);
        ASSERT_STREQ(q.pages[0].id, "p1");
        ASSERT_STREQ(q.pages[0].last_edited_time, "2025-09-21T01:02:00.000Z");
        ASSERT_STREQ(q.pages[0].status, "Resolved");
        ASSERT_STREQ(q.pages[0].fingerprint, "0123abcd");
        ASSERT_STREQ(q.pages[1].id, "p3");
        ASSERT_TRUE(!q.pages[1].status && !q.pages[1].fingerprint && !q.pages[1].last_edited_time);
        ASSERT_STREQ(q.pages[2].id, "p4");
        ASSERT_TRUE(!q.pages[2].status);
        ASSERT_STREQ(q.next_cursor, "c-2");
        ASSERT_TRUE(q.has_more);

        ASSERT_OK(notion_parse_query(last, strlen(last), &defaults, &e));
        ASSERT_EQ(e.n_pages, 0);
        ASSERT_TRUE(!e.next_cursor && !e.has_more);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                NotionQueryResult x = { .n_pages = 42 };

                if (notion_parse_query(bad[i], strlen(bad[i]), &p, &x) != -EBADMSG)
                        TEST_FAIL("bad answer %zu accepted: %s", i, bad[i]);
                ASSERT_EQ(x.n_pages, 42);
        }
        return 0;
}
