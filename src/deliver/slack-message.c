/* SPDX-License-Identifier: MIT */
/*
 * Slack messages of incident events; see slack-message.h. Pure: strings in,
 * one JSON string out; thread-safe.
 *
 * What goes where (one message per incident event):
 *   text      the fallback shown in notifications: mark, wording, app and
 *             the title, at most SLACK_MAX_FALLBACK_TEXT;
 *   header    mark, the event's wording ("새 오류", "자동 수정 완료", ...)
 *             and the app, plain_text;
 *   section   the title in bold;
 *   section   fields: app, type, severity (with the guide's mark: 🔴
 *             High/Critical, 🟠 Medium, 🟡 Low), status, count (for a
 *             repeat also the count since the last message, and the
 *             regressions), auto-fixable, first and last seen;
 *   section   the analysis summary, when there is one;
 *   section   the fix attempted, its result and the tail of its output in a
 *             code block, plus `journalctl -u UNIT` when a unit is known;
 *             for "manual required" without a fix, that none applies;
 *   section   the (already redacted) log excerpt in a code block, except
 *             for "resolved" and "auto-fix succeeded", which are outcomes;
 *   context   host, incident id, fingerprint.
 * The test alert (MESSAGE_TEST, `appwatchctl test-notify`) is the guide's:
 * header "🟡 테스트 알림 · Test", the description "Slack 연동 테스트" as the
 * title, fields app "Test", type "Test Alert", severity Low, auto-fixable
 * no, and the host; nothing else of the record is used.
 * The header's mark is the severity's, except ✅ for resolved and auto-fix
 * succeeded and 🔴 for manual required (the guide's "알림 유형").
 * Times are Slack date tokens, `<!date^SECONDS^{date_short_pretty} {time}|
 * 2026-12-01 23:38 UTC>`, which each reader sees in their own time zone;
 * the fallback after `|` is UTC.
 *
 * A group (slack_render_group) is a header with the highest mark and the
 * number, sections of one line per incident in the order given, a context
 * "…and N more" when lines were left out, and a context with the host. A
 * group of one is that incident's own message.
 *
 * Limits, from Slack's Block Kit reference (docs.slack.dev/reference/
 * block-kit/...) and its formatting guide (docs.slack.dev/messaging/
 * formatting-message-text):
 *   - at most 50 blocks in a message (blocks);
 *   - a section's text at most 3000 characters, its fields at most 10 of at
 *     most 2000 each (section block);
 *   - a header's plain_text at most 150 characters (header block);
 *   - a context block at most 10 elements (context block);
 *   - a text object at least 1 character (text object), so an empty part
 *     is left out or replaced, never sent empty;
 *   - the top-level `text` is truncated by Slack beyond 40,000 characters
 *     (chat.postMessage); ours is kept to SLACK_MAX_FALLBACK_TEXT;
 *   - all blocks together: not documented, but Slack answers
 *     msg_blocks_too_long at about 13,200 characters of block text
 *     (slackapi/bolt-js#2509); we stay below SLACK_MAX_MESSAGE_TEXT by
 *     construction (fixed budgets per part, their sum is below it).
 * Slack's "characters" are counted conservatively as UTF-16 code units of
 * the text as sent, after escaping: an entity such as "&amp;" counts 5, an
 * emoji outside the BMP counts 2. That is never less than the number of
 * code points.
 *
 * Escaping: every text from outside (title, summary, excerpt, fix output,
 * app, host, ...) goes into mrkdwn with `&`, `<` and `>` written as
 * `&amp;`, `&lt;` and `&gt;` (formatting guide, "Escaping text"), so a log
 * line cannot form `<!channel>`, a mention or a link; mrkdwn text objects
 * are sent with `verbatim: true`, so Slack does not auto-link URLs or
 * channel names or parse bare mentions in them either. In all mrkdwn
 * user text a backtick that follows a backtick gets a U+200B ZERO WIDTH
 * SPACE before it, so no "```" in an excerpt can close its code block
 * early, nor one in a title or summary open a block that swallows the rest;
 * it looks the same. In inline code (fix id, unit) a backtick becomes `'`.
 * Text on
 * one line (title, header, group lines) has its line breaks as spaces.
 * Plain_text (the header) is not parsed by Slack and is not escaped.
 * mrkdwn emphasis characters (*, _, ~) in user text are left alone: they
 * can only change how text looks.
 *
 * Truncation never cuts inside a UTF-8 sequence or an entity: text is cut
 * between code points of the input, and a cut is marked "… (생략)" /
 * "… (truncated)" (in a code block, after the closing fence). A long
 * excerpt keeps its head.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "deliver/slack-message.h"
#include "detect/category.h"
#include "shared/cleanup.h"
#include "shared/protocol.h"
#include "shared/utf8.h"

/* Budgets of the parts of one message, in Slack characters. Their sum with
 * the fields and the context stays below SLACK_MAX_MESSAGE_TEXT. */
#define TITLE_MAX 300
#define FIELD_VALUE_MAX 200
#define SUMMARY_MAX 1500
#define FIX_RESULT_MAX 500
#define FIX_MAX 2000
#define CONTEXT_VALUE_MAX 200
#define GROUP_APP_MAX 40
#define GROUP_TYPE_MAX 60
#define GROUP_TITLE_MAX 80

#define MARK_RED "\U0001F534"
#define MARK_ORANGE "\U0001F7E0"
#define MARK_YELLOW "\U0001F7E1"
#define MARK_DONE "\u2705"

typedef enum Str {
        STR_APP,
        STR_TYPE,
        STR_SEVERITY,
        STR_STATUS,
        STR_COUNT,
        STR_AUTO_FIXABLE,
        STR_YES,
        STR_NO,
        STR_FIRST_SEEN,
        STR_LAST_SEEN,
        STR_ANALYSIS,
        STR_FIX,
        STR_FIX_RESULT,
        STR_FIX_NONE,
        STR_FIX_OUTPUT,
        STR_JOURNAL,
        STR_EXCERPT,
        STR_HOST,
        STR_INCIDENT,
        STR_FINGERPRINT,
        STR_TRUNCATED,
        STR_UNTITLED,
        STR_TEST_DESCRIPTION,
        _STR_MAX,
} Str;

static const char *const strings[_STR_MAX][_LANGUAGE_MAX] = {
        [STR_APP] = { "앱", "App" },
        [STR_TYPE] = { "유형", "Type" },
        [STR_SEVERITY] = { "심각도", "Severity" },
        [STR_STATUS] = { "상태", "Status" },
        [STR_COUNT] = { "발생 횟수", "Occurrences" },
        [STR_AUTO_FIXABLE] = { "자동 수정 가능", "Auto-fixable" },
        [STR_YES] = { "예", "Yes" },
        [STR_NO] = { "아니요", "No" },
        [STR_FIRST_SEEN] = { "최초 발생", "First seen" },
        [STR_LAST_SEEN] = { "최근 발생", "Last seen" },
        [STR_ANALYSIS] = { "분석", "Analysis" },
        [STR_FIX] = { "시도한 수정", "Fix attempted" },
        [STR_FIX_RESULT] = { "결과", "Result" },
        [STR_FIX_NONE] = { "적용할 자동 수정이 없습니다. 직접 확인해 주세요.",
                           "No automatic fix applies; please look into it." },
        [STR_FIX_OUTPUT] = { "수정 출력", "Fix output" },
        [STR_JOURNAL] = { "전체 출력", "Full output" },
        [STR_EXCERPT] = { "로그 발췌", "Log excerpt" },
        [STR_HOST] = { "호스트", "Host" },
        [STR_INCIDENT] = { "인시던트", "Incident" },
        [STR_FINGERPRINT] = { "지문", "Fingerprint" },
        [STR_TRUNCATED] = { "… (생략)", "… (truncated)" },
        [STR_UNTITLED] = { "(제목 없음)", "(untitled)" },
        [STR_TEST_DESCRIPTION] = { "Slack 연동 테스트", "Slack integration test" },
};

/* Phrases around a number: what comes before it and what after. */
typedef enum Phrase {
        PHRASE_SINCE_LAST,
        PHRASE_REGRESSIONS,
        PHRASE_MORE,
        PHRASE_GROUP_HEADER,
        _PHRASE_MAX,
} Phrase;

static const char *const phrases[_PHRASE_MAX][_LANGUAGE_MAX][2] = {
        [PHRASE_SINCE_LAST] = { { "지난 알림 이후 ", "회" }, { "", " since the last message" } },
        [PHRASE_REGRESSIONS] = { { "재발 ", "회" }, { "", " regressions" } },
        [PHRASE_MORE] = { { "…외 ", "건" }, { "…and ", " more" } },
        [PHRASE_GROUP_HEADER] = { { "새 오류 ", "건" }, { "", " new incidents" } },
};

static const char *const kind_wording[_MESSAGE_KIND_MAX][_LANGUAGE_MAX] = {
        [MESSAGE_NEW] = { "새 오류", "New incident" },
        [MESSAGE_REPEAT] = { "반복 발생", "Seen again" },
        [MESSAGE_REGRESSION] = { "재발", "Regression" },
        [MESSAGE_RESOLVED] = { "해결됨", "Resolved" },
        [MESSAGE_FIX_SUCCEEDED] = { "자동 수정 완료", "Auto-fix succeeded" },
        [MESSAGE_MANUAL_REQUIRED] = { "수동 수정 필요", "Manual fix required" },
        [MESSAGE_STATUS] = { "상태 변경", "Status changed" },
        [MESSAGE_TEST] = { "테스트 알림", "Test alert" },
};

static const char *const status_wording[_INCIDENT_STATUS_MAX][_LANGUAGE_MAX] = {
        [INCIDENT_NEW] = { "신규", "New" },
        [INCIDENT_IN_PROGRESS] = { "진행 중", "In Progress" },
        [INCIDENT_RESOLVED] = { "해결됨", "Resolved" },
        [INCIDENT_MANUAL_REQUIRED] = { "수동 수정 필요", "Manual Required" },
};

/* The guide's test alert (its "테스트 알림" snippet). */
#define TEST_APP "Test"
#define TEST_TYPE "Test Alert"
#define TEST_SEVERITY SEVERITY_LOW

static const char *severity_mark(Severity s) {
        switch (s) {
        case SEVERITY_LOW:
                return MARK_YELLOW;
        case SEVERITY_MEDIUM:
                return MARK_ORANGE;
        case SEVERITY_HIGH:
        case SEVERITY_CRITICAL:
        case _SEVERITY_MAX:
        case _SEVERITY_INVALID:
                break;
        }
        return MARK_RED;
}

static const char *kind_mark(const IncidentMessage *m) {
        switch (m->kind) {
        case MESSAGE_RESOLVED:
        case MESSAGE_FIX_SUCCEEDED:
                return MARK_DONE;
        case MESSAGE_MANUAL_REQUIRED:
                return MARK_RED;
        case MESSAGE_TEST:
                return severity_mark(TEST_SEVERITY);
        case MESSAGE_NEW:
        case MESSAGE_REPEAT:
        case MESSAGE_REGRESSION:
        case MESSAGE_STATUS:
        case _MESSAGE_KIND_MAX:
        case _MESSAGE_KIND_INVALID:
                break;
        }
        return severity_mark(m->severity);
}

/* ---- text with a length in Slack characters ---- */

typedef struct Text {
        char *s;        /* NUL-terminated once anything was put */
        size_t len, cap;
        size_t units;   /* Slack characters: UTF-16 code units */
        bool oom;       /* sticky: checked once, when the text is used */
} Text;

static void text_done(Text *t) {
        free(t->s);
        *t = (Text) {};
}

/* Bytes of the UTF-8 sequence starting with c; input is validated first. */
static size_t seq_len(unsigned char c) {
        return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Characters of valid UTF-8 s[0..n): a 4-byte sequence is a surrogate pair. */
static size_t units_of(const char *s, size_t n) {
        size_t u = 0;

        for (size_t i = 0; i < n;) {
                size_t l = seq_len((unsigned char) s[i]);

                u += l == 4 ? 2 : 1;
                i += l;
        }
        return u;
}

static void text_putn(Text *t, const char *s, size_t n) {
        if (t->oom)
                return;
        if (t->len + n + 1 > t->cap) {
                size_t cap = (t->len + n + 1) * 2;
                char *p = realloc(t->s, cap);

                if (!p) {
                        t->oom = true;
                        return;
                }
                t->s = p;
                t->cap = cap;
        }
        memcpy(t->s + t->len, s, n);
        t->len += n;
        t->s[t->len] = 0;
        t->units += units_of(s, n);
}

static void text_puts(Text *t, const char *s) {
        text_putn(t, s, strlen(s));
}

_printf_(2, 3) static void text_printf(Text *t, const char *fmt, ...) {
        char buf[256];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        /* Only numbers and our own short strings are formatted. */
        assert(n >= 0 && (size_t) n < sizeof(buf));
        text_putn(t, buf, (size_t) n);
}

static void text_put_phrase(Text *t, Phrase p, Language lang, uint64_t v) {
        text_puts(t, phrases[p][lang][0]);
        text_printf(t, "%" PRIu64, v);
        text_puts(t, phrases[p][lang][1]);
}

/* How user text is written. */
typedef enum TextFlags {
        TEXT_ESCAPE = 1 << 0,       /* & < > as entities (mrkdwn) */
        TEXT_ONELINE = 1 << 1,      /* line breaks and tabs as spaces */
        TEXT_CODE_BLOCK = 1 << 2,   /* inside ```: no two backticks in a row (as with TEXT_ESCAPE) */
        TEXT_INLINE_CODE = 1 << 3,  /* no backtick at all */
} TextFlags;

/* What the code point s[0..l) becomes; *tick says whether the last piece
 * ended in a backtick. */
static void piece(const char *s, size_t l, TextFlags flags, bool *tick,
                  const char **ret, size_t *ret_len) {
        const char *p = s;
        size_t n = l;
        bool is_tick = false;

        if (l == 1)
                switch (*s) {
                case '&':
                        if (flags & TEXT_ESCAPE)
                                p = "&amp;", n = 5;
                        break;
                case '<':
                        if (flags & TEXT_ESCAPE)
                                p = "&lt;", n = 4;
                        break;
                case '>':
                        if (flags & TEXT_ESCAPE)
                                p = "&gt;", n = 4;
                        break;
                case '\n':
                case '\r':
                case '\t':
                        if (flags & TEXT_ONELINE)
                                p = " ", n = 1;
                        break;
                case '`':
                        if (flags & TEXT_INLINE_CODE)
                                p = "'", n = 1;
                        else {
                                is_tick = true;
                                if ((flags & (TEXT_ESCAPE | TEXT_CODE_BLOCK)) && *tick)
                                        p = "\u200b`", n = 4;
                        }
                        break;
                }
        *tick = is_tick;
        *ret = p;
        *ret_len = n;
}

/*
 * Appends s as flags say, so that t ends up at most limit characters long.
 * When s does not fit, as much of it as fits together with mark is put,
 * cut between code points, and then the mark (when even that does not fit,
 * nothing). Returns whether s was cut.
 */
static bool text_put_user(Text *t, const char *s, TextFlags flags, size_t limit, const char *mark) {
        size_t n = strlen(s), need = 0, mark_units = units_of(mark, strlen(mark));
        bool tick = false;

        for (size_t i = 0; i < n;) {
                size_t l = seq_len((unsigned char) s[i]), pl;
                const char *p;

                piece(s + i, l, flags, &tick, &p, &pl);
                need += units_of(p, pl);
                i += l;
        }
        if (t->units + need <= limit) {
                tick = false;
                for (size_t i = 0; i < n;) {
                        size_t l = seq_len((unsigned char) s[i]), pl;
                        const char *p;

                        piece(s + i, l, flags, &tick, &p, &pl);
                        text_putn(t, p, pl);
                        i += l;
                }
                return false;
        }

        if (t->units + mark_units > limit)
                return true;
        tick = false;
        for (size_t i = 0; i < n;) {
                size_t l = seq_len((unsigned char) s[i]), pl;
                const char *p;

                piece(s + i, l, flags, &tick, &p, &pl);
                if (t->units + units_of(p, pl) + mark_units > limit)
                        break;
                text_putn(t, p, pl);
                i += l;
        }
        text_puts(t, mark);
        return true;
}

static bool is_blank(const char *s) {
        return !s || !s[strspn(s, " \t\r\n")];
}

/* ---- JSON ---- */

static json_t *text_object(const char *type, const char *text) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        if (json_object_set_new(o, "type", json_string(type)) < 0 ||
            json_object_set_new(o, "text", json_string(text)) < 0 ||
            json_object_set_new(o, strcmp(type, "mrkdwn") == 0 ? "verbatim" : "emoji",
                                json_true()) < 0)
                return json_decref(o), NULL;
        return o;
}

/* Appends {"type": type, key: value} to blocks; steals value. */
static int blocks_add(json_t *blocks, const char *type, const char *key, json_t *value) {
        json_t *b;

        if (!value)
                return -ENOMEM;
        b = json_object();
        if (!b) {
                json_decref(value);
                return -ENOMEM;
        }
        if (json_object_set_new(b, "type", json_string(type)) < 0 ||
            json_object_set_new(b, key, value) < 0) {
                json_decref(b);
                return -ENOMEM;
        }
        /* The layouts have a fixed, small number of blocks. */
        assert(json_array_size(blocks) < SLACK_MAX_BLOCKS);
        return json_array_append_new(blocks, b) < 0 ? -ENOMEM : 0;
}

static int add_header(json_t *blocks, Text *t) {
        if (t->oom)
                return -ENOMEM;
        return blocks_add(blocks, "header", "text", text_object("plain_text", t->s));
}

static int add_section(json_t *blocks, Text *t) {
        if (t->oom)
                return -ENOMEM;
        assert(t->units > 0 && t->units <= SLACK_MAX_SECTION_TEXT);
        return blocks_add(blocks, "section", "text", text_object("mrkdwn", t->s));
}

/* Appends a mrkdwn element (fields, context) made of t. */
static int elements_add(json_t *a, Text *t) {
        if (t->oom)
                return -ENOMEM;
        assert(t->units > 0);
        return json_array_append_new(a, text_object("mrkdwn", t->s)) < 0 ? -ENOMEM : 0;
}

static int payload_dump(json_t *blocks, Text *fallback, char **ret_json) {
        _cleanup_json_ json_t *o = NULL;
        char *s;

        if (fallback->oom)
                return -ENOMEM;
        o = json_object();
        if (!o || json_object_set_new(o, "text", json_string(fallback->s)) < 0 ||
            json_object_set_new(o, "blocks", json_incref(blocks)) < 0)
                return -ENOMEM;
        s = json_dumps(o, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}

/* ---- checks ---- */

static bool string_ok(const char *s) {
        return !s || utf8_is_valid(s, strlen(s));
}

static int message_check(const IncidentMessage *m) {
        if (!m || m->kind < 0 || m->kind >= _MESSAGE_KIND_MAX)
                return -EINVAL;

        const char *const s[] = {
                m->app, m->host, m->type_label, m->title, m->summary, m->fix_id,
                m->fix_result, m->fix_output, m->excerpt, m->fingerprint, m->unit,
        };
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                if (!string_ok(s[i]))
                        return -EINVAL;
        if (m->kind == MESSAGE_TEST)
                return 0;
        if (is_blank(m->app) || m->severity < 0 || m->severity >= _SEVERITY_MAX ||
            m->status < 0 || m->status >= _INCIDENT_STATUS_MAX)
                return -EINVAL;
        if (!m->type_label && !detect_category_label(m->category, LANGUAGE_EN))
                return -EINVAL;
        return 0;
}

/* The test alert has fixed app, type and severity: those of the guide. */
static const char *app_of(const IncidentMessage *m) {
        return m->kind == MESSAGE_TEST ? TEST_APP : m->app;
}

static Severity severity_of(const IncidentMessage *m) {
        return m->kind == MESSAGE_TEST ? TEST_SEVERITY : m->severity;
}

/* Outcomes ("resolved", "auto-fix succeeded") and the test carry no excerpt. */
static bool shows_excerpt(MessageKind k) {
        return !(k == MESSAGE_RESOLVED || k == MESSAGE_FIX_SUCCEEDED || k == MESSAGE_TEST);
}

static const char *type_label(const IncidentMessage *m, Language lang) {
        if (m->kind == MESSAGE_TEST)
                return TEST_TYPE;
        return !is_blank(m->type_label) ? m->type_label : detect_category_label(m->category, lang);
}

/* ---- parts ---- */

/* A Slack date token for a CLOCK_REALTIME usec value, with a UTC fallback. */
static void put_time(Text *t, int64_t usec) {
        time_t sec = (time_t) (usec / 1000000);
        struct tm tm;
        char buf[64];

        if (usec <= 0 || !gmtime_r(&sec, &tm) ||
            strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm) == 0) {
                text_puts(t, "—");
                return;
        }
        text_printf(t, "<!date^%" PRIi64 "^{date_short_pretty} {time}|%s>", (int64_t) sec, buf);
}

static int add_field(json_t *fields, Language lang, Str label, Text *value) {
        Text t = {};
        int r;

        text_printf(&t, "*%s*\n", strings[label][lang]);
        if (!value->oom && value->s)
                text_puts(&t, value->s);
        else if (!value->oom)
                text_puts(&t, "—");
        else
                t.oom = true;
        assert(t.oom || t.units <= SLACK_MAX_FIELD_TEXT);
        r = elements_add(fields, &t);
        text_done(&t);
        text_done(value);
        return r;
}

static void put_value(Text *t, const char *s, Language lang) {
        if (is_blank(s))
                text_puts(t, "—");
        else
                (void) text_put_user(t, s, TEXT_ESCAPE | TEXT_ONELINE, FIELD_VALUE_MAX,
                                     strings[STR_TRUNCATED][lang]);
}

static int add_fields(json_t *blocks, const IncidentMessage *m, Language lang) {
        _cleanup_json_ json_t *fields = json_array();
        bool test = m->kind == MESSAGE_TEST;
        Severity sev = severity_of(m);
        Text v = {};
        int r;

        if (!fields)
                return -ENOMEM;

        put_value(&v, app_of(m), lang);
        r = add_field(fields, lang, STR_APP, &v);
        if (r < 0)
                return r;

        put_value(&v, type_label(m, lang), lang);
        r = add_field(fields, lang, STR_TYPE, &v);
        if (r < 0)
                return r;

        text_printf(&v, "%s %s", severity_mark(sev), severity_to_string(sev));
        r = add_field(fields, lang, STR_SEVERITY, &v);
        if (r < 0)
                return r;

        if (!test) {
                text_puts(&v, status_wording[m->status][lang]);
                r = add_field(fields, lang, STR_STATUS, &v);
                if (r < 0)
                        return r;

                text_printf(&v, "%" PRIi64, m->count);
                if (m->kind == MESSAGE_REPEAT && m->count_since_last > 0) {
                        text_puts(&v, " (");
                        text_put_phrase(&v, PHRASE_SINCE_LAST, lang, (uint64_t) m->count_since_last);
                        text_puts(&v, ")");
                }
                if (m->regressions > 0) {
                        text_puts(&v, " · ");
                        text_put_phrase(&v, PHRASE_REGRESSIONS, lang, (uint64_t) m->regressions);
                }
                r = add_field(fields, lang, STR_COUNT, &v);
                if (r < 0)
                        return r;
        }

        text_puts(&v, strings[!test && m->auto_fixable ? STR_YES : STR_NO][lang]);
        r = add_field(fields, lang, STR_AUTO_FIXABLE, &v);
        if (r < 0)
                return r;

        if (!test) {
                put_time(&v, m->first_seen);
                r = add_field(fields, lang, STR_FIRST_SEEN, &v);
                if (r < 0)
                        return r;
                put_time(&v, m->last_seen);
                r = add_field(fields, lang, STR_LAST_SEEN, &v);
                if (r < 0)
                        return r;
        }

        assert(json_array_size(fields) <= SLACK_MAX_FIELDS);
        return blocks_add(blocks, "section", "fields", TAKE_PTR(fields));
}

/* "*label*\n```\nbody\n```" within limit, the mark after the fence. */
static void put_code_block(Text *t, const char *body, size_t limit, Language lang) {
        static const char close[] = "\n```";
        const char *mark = strings[STR_TRUNCATED][lang];
        size_t reserve = (sizeof(close) - 1) + 1 + units_of(mark, strlen(mark));
        bool cut;

        text_puts(t, "```\n");
        /* The mark goes after the fence: reserve room for both, put none inside. */
        cut = text_put_user(t, body, TEXT_ESCAPE | TEXT_CODE_BLOCK, limit - reserve, "");
        text_puts(t, close);
        if (cut) {
                text_puts(t, "\n");
                text_puts(t, mark);
        }
}

static int add_fix(json_t *blocks, const IncidentMessage *m, Language lang) {
        const char *mark = strings[STR_TRUNCATED][lang];
        Text t = {};
        int r;

        if (is_blank(m->fix_id)) {
                if (m->kind != MESSAGE_MANUAL_REQUIRED)
                        return 0;
                text_printf(&t, "*%s*\n%s", strings[STR_FIX][lang], strings[STR_FIX_NONE][lang]);
        } else {
                text_printf(&t, "*%s*: `", strings[STR_FIX][lang]);
                (void) text_put_user(&t, m->fix_id, TEXT_ESCAPE | TEXT_ONELINE | TEXT_INLINE_CODE,
                                     t.units + FIELD_VALUE_MAX, mark);
                text_puts(&t, "`");
                if (!is_blank(m->fix_result)) {
                        text_printf(&t, "\n*%s*: ", strings[STR_FIX_RESULT][lang]);
                        (void) text_put_user(&t, m->fix_result, TEXT_ESCAPE | TEXT_ONELINE,
                                             t.units + FIX_RESULT_MAX, mark);
                }
        }
        if (!is_blank(m->unit)) {
                text_printf(&t, "\n*%s*: `journalctl -u ", strings[STR_JOURNAL][lang]);
                (void) text_put_user(&t, m->unit, TEXT_ESCAPE | TEXT_ONELINE | TEXT_INLINE_CODE,
                                     t.units + FIELD_VALUE_MAX, mark);
                text_puts(&t, "`");
        }
        if (!is_blank(m->fix_output)) {
                text_printf(&t, "\n*%s*\n", strings[STR_FIX_OUTPUT][lang]);
                put_code_block(&t, m->fix_output, FIX_MAX, lang);
        }
        r = add_section(blocks, &t);
        text_done(&t);
        return r;
}

static int add_context(json_t *blocks, const IncidentMessage *m, Language lang) {
        _cleanup_json_ json_t *elements = json_array();
        Text t = {};
        int r;

        if (!elements)
                return -ENOMEM;
        if (!is_blank(m->host)) {
                text_printf(&t, "%s: ", strings[STR_HOST][lang]);
                (void) text_put_user(&t, m->host, TEXT_ESCAPE | TEXT_ONELINE,
                                     t.units + CONTEXT_VALUE_MAX, strings[STR_TRUNCATED][lang]);
                r = elements_add(elements, &t);
                text_done(&t);
                if (r < 0)
                        return r;
        }
        if (m->kind != MESSAGE_TEST && m->id > 0) {
                text_printf(&t, "%s #%" PRIi64, strings[STR_INCIDENT][lang], m->id);
                r = elements_add(elements, &t);
                text_done(&t);
                if (r < 0)
                        return r;
        }
        if (m->kind != MESSAGE_TEST && !is_blank(m->fingerprint)) {
                text_printf(&t, "%s: ", strings[STR_FINGERPRINT][lang]);
                (void) text_put_user(&t, m->fingerprint, TEXT_ESCAPE | TEXT_ONELINE,
                                     t.units + CONTEXT_VALUE_MAX, strings[STR_TRUNCATED][lang]);
                r = elements_add(elements, &t);
                text_done(&t);
                if (r < 0)
                        return r;
        }
        if (json_array_size(elements) == 0)
                return 0;
        assert(json_array_size(elements) <= SLACK_MAX_CONTEXT_ELEMENTS);
        return blocks_add(blocks, "context", "elements", TAKE_PTR(elements));
}

static void put_header(Text *t, const char *mark, const char *wording, const char *app,
                       Language lang) {
        text_printf(t, "%s %s", mark, wording);
        if (!is_blank(app)) {
                text_puts(t, " · ");
                (void) text_put_user(t, app, TEXT_ONELINE, SLACK_MAX_HEADER_TEXT,
                                     strings[STR_TRUNCATED][lang]);
        }
}

static const char *title_of(const IncidentMessage *m, Language lang) {
        if (m->kind == MESSAGE_TEST)
                return strings[STR_TEST_DESCRIPTION][lang];
        return is_blank(m->title) ? strings[STR_UNTITLED][lang] : m->title;
}

static void put_fallback(Text *t, const char *mark, const char *wording, const char *app,
                         const char *title, Language lang) {
        text_printf(t, "%s %s", mark, wording);
        if (!is_blank(app)) {
                text_puts(t, " · ");
                (void) text_put_user(t, app, TEXT_ESCAPE | TEXT_ONELINE, SLACK_MAX_FALLBACK_TEXT / 3,
                                     strings[STR_TRUNCATED][lang]);
        }
        if (!is_blank(title)) {
                text_puts(t, ": ");
                (void) text_put_user(t, title, TEXT_ESCAPE | TEXT_ONELINE, SLACK_MAX_FALLBACK_TEXT - 40,
                                     strings[STR_TRUNCATED][lang]);
        }
}

static int render_incident(const IncidentMessage *m, Language lang, char **ret_json) {
        _cleanup_json_ json_t *blocks = json_array();
        const char *mark = kind_mark(m), *wording = kind_wording[m->kind][lang];
        const char *app = app_of(m);
        const char *cut_mark = strings[STR_TRUNCATED][lang];
        Text t = {};
        int r;

        if (!blocks)
                return -ENOMEM;

        put_header(&t, mark, wording, app, lang);
        r = add_header(blocks, &t);
        text_done(&t);
        if (r < 0)
                return r;

        text_puts(&t, "*");
        (void) text_put_user(&t, title_of(m, lang), TEXT_ESCAPE | TEXT_ONELINE, TITLE_MAX, cut_mark);
        text_puts(&t, "*");
        r = add_section(blocks, &t);
        text_done(&t);
        if (r < 0)
                return r;

        r = add_fields(blocks, m, lang);
        if (r < 0)
                return r;

        if (m->kind != MESSAGE_TEST && !is_blank(m->summary)) {
                text_printf(&t, "*%s*\n", strings[STR_ANALYSIS][lang]);
                (void) text_put_user(&t, m->summary, TEXT_ESCAPE, SUMMARY_MAX, cut_mark);
                r = add_section(blocks, &t);
                text_done(&t);
                if (r < 0)
                        return r;
        }

        if (m->kind != MESSAGE_TEST) {
                r = add_fix(blocks, m, lang);
                if (r < 0)
                        return r;
        }

        if (shows_excerpt(m->kind) && !is_blank(m->excerpt)) {
                text_printf(&t, "*%s*\n", strings[STR_EXCERPT][lang]);
                put_code_block(&t, m->excerpt, SLACK_MAX_SECTION_TEXT, lang);
                r = add_section(blocks, &t);
                text_done(&t);
                if (r < 0)
                        return r;
        }

        r = add_context(blocks, m, lang);
        if (r < 0)
                return r;

        put_fallback(&t, mark, wording, app, title_of(m, lang), lang);
        r = payload_dump(blocks, &t, ret_json);
        text_done(&t);
        return r;
}

int slack_render_incident(const IncidentMessage *m, Language lang, char **ret_json) {
        int r;

        assert(ret_json);

        if (lang < 0 || lang >= _LANGUAGE_MAX || !m)
                return -EINVAL;
        r = message_check(m);
        if (r < 0)
                return r;
        return render_incident(m, lang, ret_json);
}

/* ---- groups ---- */

static void put_group_line(Text *t, const IncidentMessage *m, Language lang) {
        const char *mark = strings[STR_TRUNCATED][lang];
        size_t start = t->units;

        text_printf(t, "%s *", severity_mark(severity_of(m)));
        (void) text_put_user(t, app_of(m), TEXT_ESCAPE | TEXT_ONELINE, t->units + GROUP_APP_MAX, mark);
        text_puts(t, "* · ");
        (void) text_put_user(t, type_label(m, lang), TEXT_ESCAPE | TEXT_ONELINE,
                             t->units + GROUP_TYPE_MAX, mark);
        text_printf(t, " · %s · ", severity_to_string(severity_of(m)));
        (void) text_put_user(t, title_of(m, lang), TEXT_ESCAPE | TEXT_ONELINE,
                             t->units + GROUP_TITLE_MAX, "…");
        if (m->id > 0)
                text_printf(t, " · #%" PRIi64, m->id);
        /* A line is short by construction: far below a section's limit. */
        assert(t->units - start < SLACK_MAX_SECTION_TEXT / 4);
}

static int render_group(const IncidentMessage *const *m, size_t n, Language lang, char **ret_json) {
        _cleanup_json_ json_t *blocks = json_array();
        size_t lines = n < SLACK_GROUP_MAX_LINES ? n : SLACK_GROUP_MAX_LINES;
        Severity top = SEVERITY_LOW;
        _cleanup_(text_done) Text wording = {};
        const char *mark;
        Text t = {};
        int r;

        if (!blocks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (severity_of(m[i]) > top)
                        top = severity_of(m[i]);
        mark = severity_mark(top);
        text_put_phrase(&wording, PHRASE_GROUP_HEADER, lang, n);
        if (wording.oom)
                return -ENOMEM;

        put_header(&t, mark, wording.s, NULL, lang);
        r = add_header(blocks, &t);
        text_done(&t);
        if (r < 0)
                return r;

        /* Lines are packed into sections; header, "more" and host take three
         * blocks, so at most SLACK_MAX_BLOCKS - 3 sections. The line cap
         * keeps the whole far below that and below SLACK_MAX_MESSAGE_TEXT. */
        for (size_t i = 0; i < lines; i++) {
                Text line = {};

                put_group_line(&line, m[i], lang);
                if (line.oom) {
                        text_done(&t);
                        return -ENOMEM;
                }
                if (t.units > 0 && t.units + 1 + line.units > SLACK_MAX_SECTION_TEXT) {
                        r = add_section(blocks, &t);
                        text_done(&t);
                        if (r < 0) {
                                text_done(&line);
                                return r;
                        }
                }
                if (t.units > 0)
                        text_puts(&t, "\n");
                text_puts(&t, line.s);
                text_done(&line);
        }
        r = add_section(blocks, &t);
        text_done(&t);
        if (r < 0)
                return r;

        if (n > lines) {
                _cleanup_json_ json_t *e = json_array();

                if (!e)
                        return -ENOMEM;
                text_put_phrase(&t, PHRASE_MORE, lang, n - lines);
                r = elements_add(e, &t);
                text_done(&t);
                if (r < 0)
                        return r;
                r = blocks_add(blocks, "context", "elements", TAKE_PTR(e));
                if (r < 0)
                        return r;
        }

        if (!is_blank(m[0]->host)) {
                _cleanup_json_ json_t *e = json_array();

                if (!e)
                        return -ENOMEM;
                text_printf(&t, "%s: ", strings[STR_HOST][lang]);
                (void) text_put_user(&t, m[0]->host, TEXT_ESCAPE | TEXT_ONELINE,
                                     t.units + CONTEXT_VALUE_MAX, strings[STR_TRUNCATED][lang]);
                r = elements_add(e, &t);
                text_done(&t);
                if (r < 0)
                        return r;
                r = blocks_add(blocks, "context", "elements", TAKE_PTR(e));
                if (r < 0)
                        return r;
        }

        put_fallback(&t, mark, wording.s, app_of(m[0]), title_of(m[0], lang), lang);
        if (n > 1) {
                text_puts(&t, " ");
                text_put_phrase(&t, PHRASE_MORE, lang, n - 1);
        }
        r = payload_dump(blocks, &t, ret_json);
        text_done(&t);
        return r;
}

int slack_render_group(const IncidentMessage *const *m, size_t n, Language lang, char **ret_json) {
        int r;

        assert(ret_json);

        if (lang < 0 || lang >= _LANGUAGE_MAX || !m || n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                r = message_check(m[i]);
                if (r < 0)
                        return r;
        }
        if (n == 1)
                return render_incident(m[0], lang, ret_json);
        return render_group(m, n, lang, ret_json);
}
