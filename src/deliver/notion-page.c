/* SPDX-License-Identifier: MIT */
/*
 * Notion request bodies and answer parsers (API 2025-09-03); see
 * deliver/notion-page.h for the limits and where they come from. Pure: no
 * I/O, no logging, no state; thread-safe.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/notion-page.h"
#include "detect/category.h"
#include "shared/utf8.h"

#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- text ---------------------------------------------------------------- */

static bool text_ok(const char *s) {
        return s && utf8_is_valid(s, strlen(s));
}

static bool text_ok_or_null(const char *s) {
        return !s || text_ok(s);
}

/* Decodes the character at s + i of text already known to be valid UTF-8. */
static size_t utf8_char(const char *s, size_t i, uint32_t *ret_cp) {
        const unsigned char *u = (const unsigned char *) s + i;

        if (u[0] < 0x80) {
                *ret_cp = u[0];
                return 1;
        }
        if (u[0] < 0xe0) {
                *ret_cp = (uint32_t) (u[0] & 0x1f) << 6 | (u[1] & 0x3f);
                return 2;
        }
        if (u[0] < 0xf0) {
                *ret_cp = (uint32_t) (u[0] & 0x0f) << 12 | (uint32_t) (u[1] & 0x3f) << 6 | (u[2] & 0x3f);
                return 3;
        }
        *ret_cp = (uint32_t) (u[0] & 0x07) << 18 | (uint32_t) (u[1] & 0x3f) << 12 |
                  (uint32_t) (u[2] & 0x3f) << 6 | (u[3] & 0x3f);
        return 4;
}

static size_t utf16_units(uint32_t cp) {
        return cp >= 0x10000 ? 2 : 1;
}

static size_t utf16_length(const char *s, size_t n) {
        size_t units = 0;

        for (size_t i = 0; i < n;) {
                uint32_t cp;

                i += utf8_char(s, i, &cp);
                units += utf16_units(cp);
        }
        return units;
}

/* Characters that belong to the one before them: a cut just before one would
 * show a lone accent, a half-built Hangul syllable (NFD jamo) or a broken
 * emoji sequence on either side of the cut. */
static bool cp_extends(uint32_t cp) {
        return (cp >= 0x0300 && cp <= 0x036f) ||        /* combining diacritical marks */
               (cp >= 0x1160 && cp <= 0x11ff) ||        /* Hangul medial and final jamo */
               (cp >= 0x1ab0 && cp <= 0x1aff) ||
               (cp >= 0x1dc0 && cp <= 0x1dff) ||
               cp == 0x200d ||                          /* zero-width joiner */
               (cp >= 0x20d0 && cp <= 0x20ff) ||
               (cp >= 0xd7b0 && cp <= 0xd7ff) ||        /* Hangul jamo extended-B */
               (cp >= 0xfe00 && cp <= 0xfe0f) ||        /* variation selectors */
               (cp >= 0xfe20 && cp <= 0xfe2f) ||
               (cp >= 0x1f3fb && cp <= 0x1f3ff) ||      /* emoji skin tone modifiers */
               (cp >= 0xe0020 && cp <= 0xe007f) ||      /* tag characters (flags) */
               (cp >= 0xe0100 && cp <= 0xe01ef);        /* variation selectors supplement */
}

/*
 * Where the piece of s[start..n) that starts at start ends, given at most max
 * UTF-16 units (max >= 2): the end of the text when it fits, else (if
 * prefer_lines) just after the last '\n' if that keeps at least half of max,
 * else the last place that
 * cp_extends() allows, else (a run of marks longer than max) any character
 * boundary. Always > start when start < n.
 */
static size_t chunk_end(const char *s, size_t n, size_t start, size_t max, bool prefer_lines) {
        size_t i = start, units = 0, safe = start, line = start, line_units = 0;
        uint32_t prev = 0;

        assert(max >= 2);
        while (i < n) {
                uint32_t cp;
                size_t l = utf8_char(s, i, &cp);

                if (i > start && !cp_extends(cp) && prev != 0x200d && !(prev == '\r' && cp == '\n'))
                        safe = i;
                if (units + utf16_units(cp) > max) {
                        if (prefer_lines && line > start && line_units >= max / 2)
                                return line;
                        return safe > start ? safe : i;
                }
                units += utf16_units(cp);
                i += l;
                if (cp == '\n') {
                        line = i;
                        line_units = units;
                }
                prev = cp;
        }
        return n;
}

/* A copy of s of at most max UTF-16 units, cut as chunk_end() does and marked
 * with "…" when cut. */
static char *text_truncate(const char *s, size_t max) {
        size_t n = strlen(s), end;
        char *t;

        if (utf16_length(s, n) <= max)
                return strdup(s);
        end = chunk_end(s, n, 0, max - 1, false);
        if (asprintf(&t, "%.*s…", (int) end, s) < 0)
                return NULL;
        return t;
}

static int fail(char **reterr, int r, const char *format, ...) _printf_(3, 4);
static int fail(char **reterr, int r, const char *format, ...) {
        va_list ap;
        int k;

        if (!reterr)
                return r;
        va_start(ap, format);
        k = vasprintf(reterr, format, ap);
        va_end(ap);
        if (k < 0) {
                *reterr = NULL;
                return -ENOMEM;
        }
        return r;
}

/* Appends "; " (unless *s is NULL) and the formatted text to the malloc'ed *s. */
static int strextendf(char **s, const char *format, ...) _printf_(2, 3);
static int strextendf(char **s, const char *format, ...) {
        _cleanup_free_ char *add = NULL;
        char *joined;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&add, format, ap);
        va_end(ap);
        if (k < 0) {
                add = NULL;
                return -ENOMEM;
        }
        if (asprintf(&joined, "%s%s%s", *s ?: "", *s ? "; " : "", add) < 0)
                return -ENOMEM;
        free(*s);
        *s = joined;
        return 0;
}

bool notion_id_is_valid(const char *id) {
        size_t hex = 0, dashes = 0;

        if (!id)
                return false;
        for (const char *c = id; *c; c++) {
                if (*c == '-') {
                        /* only where a UUID has them, once each: 8-4-4-4-12 */
                        if (dashes >= 4 || hex != 8 + 4 * dashes)
                                return false;
                        dashes++;
                } else if ((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F'))
                        hex++;
                else
                        return false;
        }
        return hex == 32 && (dashes == 0 || dashes == 4);
}

/* ---- configuration -------------------------------------------------------- */

typedef struct PropertySpec {
        const char *field;              /* the NotionProperties field, for messages */
        size_t offset;
        const char *type;               /* the Notion property type it must have */
} PropertySpec;

static const PropertySpec property_specs[] = {
        { "title", offsetof(NotionProperties, title), "title" },
        { "type", offsetof(NotionProperties, type), "select" },
        { "app", offsetof(NotionProperties, app), "rich_text" },
        { "severity", offsetof(NotionProperties, severity), "select" },
        { "auto_fixable", offsetof(NotionProperties, auto_fixable), "checkbox" },
        { "status", offsetof(NotionProperties, status), "select" },
        { "time", offsetof(NotionProperties, time), "date" },
        { "fingerprint", offsetof(NotionProperties, fingerprint), "rich_text" },
};

static const char *property_name(const NotionProperties *p, const PropertySpec *spec) {
        return *(const char *const *) ((const char *) p + spec->offset);
}

int notion_properties_check(const NotionProperties *p, char **reterr) {
        assert(p);

        for (size_t i = 0; i < ELEMENTSOF(property_specs); i++) {
                const char *name = property_name(p, &property_specs[i]);

                if (!name) {
                        if (property_specs[i].offset == offsetof(NotionProperties, fingerprint))
                                continue;
                        return fail(reterr, -EINVAL, "the %s property has no name", property_specs[i].field);
                }
                if (!*name || !text_ok(name))
                        return fail(reterr, -EINVAL, "the %s property name is empty or not UTF-8",
                                    property_specs[i].field);
                for (size_t j = 0; j < i; j++) {
                        const char *other = property_name(p, &property_specs[j]);

                        if (other && strcmp(name, other) == 0)
                                return fail(reterr, -EINVAL,
                                            "the %s and %s properties have the same name '%s'",
                                            property_specs[j].field, property_specs[i].field, name);
                }
        }
        return 0;
}

/* ---- request bodies ----------------------------------------------------- */

static int dump(json_t *j, char **ret_json) {
        char *s = json_dumps(j, JSON_COMPACT);

        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}

/* {"type": "text", "text": {"content": s[0..n)}}, s already cut to fit. */
static json_t *text_item(const char *s, size_t n) {
        return json_pack("{s:s, s:{s:s%}}", "type", "text", "text", "content", s, n);
}

/* A rich text array of one item holding s (or none when s is NULL or empty). */
static json_t *text_array(const char *s) {
        json_t *a = json_array();

        if (a && s && *s && json_array_append_new(a, text_item(s, strlen(s))) < 0)
                return json_decref(a), NULL;
        return a;
}

static json_t *text_block(const char *type, json_t *rich_text, const char *language) {
        if (!rich_text)
                return NULL;
        if (language)
                return json_pack("{s:s, s:s, s:{s:o, s:s}}", "object", "block", "type", type, type,
                                 "rich_text", rich_text, "language", language);
        return json_pack("{s:s, s:s, s:{s:o}}", "object", "block", "type", type, type,
                         "rich_text", rich_text);
}

/* Appends s[0..n) as blocks of the given type, as many as it takes. */
static int append_text_blocks(json_t *blocks, const char *type, const char *language, const char *s, size_t n) {
        size_t pos = 0;

        while (pos < n) {
                json_t *rt = json_array();

                if (!rt)
                        return -ENOMEM;
                for (size_t k = 0; k < NOTION_BLOCK_MAX_ITEMS && pos < n; k++) {
                        size_t end = chunk_end(s, n, pos, NOTION_RICH_TEXT_MAX_UNITS, true);

                        if (json_array_append_new(rt, text_item(s + pos, end - pos)) < 0) {
                                json_decref(rt);
                                return -ENOMEM;
                        }
                        pos = end;
                }
                if (json_array_append_new(blocks, text_block(type, rt, language)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int append_line(json_t *blocks, const char *type, const char *format, ...) _printf_(3, 4);
static int append_line(json_t *blocks, const char *type, const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&s, format, ap);
        va_end(ap);
        if (k < 0) {
                s = NULL;
                return -ENOMEM;
        }
        return append_text_blocks(blocks, type, NULL, s, strlen(s));
}

/* Paragraphs of s, split at blank lines. */
static int append_paragraphs(json_t *blocks, const char *s) {
        while (*s) {
                const char *e;
                size_t n;
                int r;

                s += strspn(s, "\r\n");
                e = strstr(s, "\n\n");
                n = e ? (size_t) (e - s) : strlen(s);
                while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                        n--;
                r = append_text_blocks(blocks, "paragraph", NULL, s, n);
                if (r < 0)
                        return r;
                s += e ? (size_t) (e - s) : strlen(s);
        }
        return 0;
}

static int format_time(int64_t usec, char buf[static 64]) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec <= 0 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999)
                return -EINVAL;
        (void) snprintf(buf, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                        tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (usec % 1000000 / 1000));
        return 0;
}

typedef struct BodyText {
        const char *analysis, *no_analysis;
        const char *details, *app, *host, *type, *severity, *status, *count, *regressions;
        const char *first_seen, *last_seen, *auto_fixable, *yes, *no, *unit, *fingerprint;
        const char *fix, *fix_line, *fix_no_result, *no_fix, *output;
        const char *excerpt;
} BodyText;

static const BodyText body_text[_LANGUAGE_MAX] = {
        [LANGUAGE_KO] = {
                .analysis = "분석",
                .no_analysis = "아직 분석이 없습니다.",
                .details = "세부 정보",
                .app = "앱",
                .host = "호스트",
                .type = "타입",
                .severity = "심각도",
                .status = "상태",
                .count = "발생 횟수",
                .regressions = "재발 횟수",
                .first_seen = "최초 발생",
                .last_seen = "마지막 발생",
                .auto_fixable = "자동 수정 가능",
                .yes = "예",
                .no = "아니요",
                .unit = "유닛",
                .fingerprint = "지문",
                .fix = "수정 시도",
                .fix_line = "수정",
                .fix_no_result = "결과 없음",
                .no_fix = "자동 수정을 시도하지 않았습니다.",
                .output = "출력 (마지막 부분):",
                .excerpt = "로그 발췌",
        },
        [LANGUAGE_EN] = {
                .analysis = "Analysis",
                .no_analysis = "No analysis yet.",
                .details = "Details",
                .app = "App",
                .host = "Host",
                .type = "Type",
                .severity = "Severity",
                .status = "Status",
                .count = "Occurrences",
                .regressions = "Regressions",
                .first_seen = "First seen",
                .last_seen = "Last seen",
                .auto_fixable = "Auto-fixable",
                .yes = "yes",
                .no = "no",
                .unit = "Unit",
                .fingerprint = "Fingerprint",
                .fix = "Fix attempts",
                .fix_line = "Fix",
                .fix_no_result = "no result",
                .no_fix = "No automatic fix was attempted.",
                .output = "Output (tail):",
                .excerpt = "Log excerpt",
        },
};

static const char *type_label(const IncidentMessage *m, Language lang) {
        return m->type_label && *m->type_label ? m->type_label : detect_category_label(m->category, lang);
}

static int message_check(const IncidentMessage *m, Language lang) {
        if (lang < 0 || lang >= _LANGUAGE_MAX)
                return -EINVAL;
        if (!severity_to_string(m->severity) || !incident_status_to_string(m->status))
                return -EINVAL;
        if (!type_label(m, lang))
                return -EINVAL;
        if (!text_ok_or_null(m->app) || !text_ok_or_null(m->host) || !text_ok_or_null(m->type_label) ||
            !text_ok_or_null(m->title) || !text_ok_or_null(m->summary) || !text_ok_or_null(m->fix_id) ||
            !text_ok_or_null(m->fix_result) || !text_ok_or_null(m->fix_output) ||
            !text_ok_or_null(m->excerpt) || !text_ok_or_null(m->fingerprint) || !text_ok_or_null(m->unit))
                return -EINVAL;
        return 0;
}

/* The whole page body, in order. */
static int page_blocks(const IncidentMessage *m, Language lang, json_t **ret) {
        _cleanup_json_ json_t *b = json_array();
        const BodyText *t = &body_text[lang];
        char first[64], last[64];
        int r;

        if (!b)
                return -ENOMEM;

        r = append_line(b, "heading_2", "%s", t->analysis);
        if (r >= 0 && m->summary)
                r = append_paragraphs(b, m->summary);
        if (r >= 0 && json_array_size(b) == 1)          /* nothing but blank lines, or none */
                r = append_line(b, "paragraph", "%s", t->no_analysis);

        if (r >= 0)
                r = append_line(b, "heading_2", "%s", t->details);
        if (r >= 0 && m->app)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->app, m->app);
        if (r >= 0 && m->host)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->host, m->host);
        if (r >= 0)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->type, type_label(m, lang));
        if (r >= 0)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->severity, severity_to_string(m->severity));
        if (r >= 0)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->status,
                                incident_status_to_string(m->status));
        if (r >= 0)
                r = append_line(b, "bulleted_list_item", "%s: %" PRIi64, t->count, m->count);
        if (r >= 0 && m->regressions > 0)
                r = append_line(b, "bulleted_list_item", "%s: %" PRIi64, t->regressions, m->regressions);
        if (r >= 0 && format_time(m->first_seen, first) >= 0)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->first_seen, first);
        if (r >= 0 && format_time(m->last_seen, last) >= 0)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->last_seen, last);
        if (r >= 0)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->auto_fixable,
                                m->auto_fixable ? t->yes : t->no);
        if (r >= 0 && m->unit)
                r = append_line(b, "bulleted_list_item", "%s: %s (journalctl -u %s)", t->unit, m->unit, m->unit);
        if (r >= 0 && m->fingerprint && *m->fingerprint)
                r = append_line(b, "bulleted_list_item", "%s: %s", t->fingerprint, m->fingerprint);

        if (r >= 0)
                r = append_line(b, "heading_2", "%s", t->fix);
        if (r >= 0) {
                /* detect/ writes "none" for a manual category; message.h uses NULL. */
                if (m->fix_id && *m->fix_id && strcmp(m->fix_id, "none") != 0)
                        r = append_line(b, "bulleted_list_item", "%s %s: %s", t->fix_line, m->fix_id,
                                        m->fix_result && *m->fix_result ? m->fix_result : t->fix_no_result);
                else
                        r = append_line(b, "paragraph", "%s", t->no_fix);
        }
        if (r >= 0 && m->fix_output && *m->fix_output) {
                r = append_line(b, "paragraph", "%s", t->output);
                if (r >= 0)
                        r = append_text_blocks(b, "code", "plain text", m->fix_output, strlen(m->fix_output));
        }

        if (r >= 0 && m->excerpt && *m->excerpt) {
                r = append_line(b, "heading_2", "%s", t->excerpt);
                if (r >= 0)
                        r = append_text_blocks(b, "code", "plain text", m->excerpt, strlen(m->excerpt));
        }
        if (r < 0)
                return r;

        *ret = TAKE_PTR(b);
        return 0;
}

/* Cuts blocks into requests: at most NOTION_BLOCKS_PER_REQUEST blocks and
 * NOTION_BLOCKS_MAX_BYTES of their JSON each. Returns an array of arrays. */
static int page_batches(const IncidentMessage *m, Language lang, json_t **ret) {
        _cleanup_json_ json_t *blocks = NULL, *batches = json_array(), *cur = NULL;
        size_t bytes = 0, i;
        json_t *block;
        int r;

        if (!batches)
                return -ENOMEM;
        r = page_blocks(m, lang, &blocks);
        if (r < 0)
                return r;

        json_array_foreach(blocks, i, block) {
                size_t size = json_dumpb(block, NULL, 0, JSON_COMPACT);

                if (size == 0)
                        return -ENOMEM;
                /* Guaranteed by NOTION_BLOCK_MAX_ITEMS: 32 * 2000 units * 6 bytes. */
                assert(size < NOTION_BLOCKS_MAX_BYTES);
                if (cur && (json_array_size(cur) >= NOTION_BLOCKS_PER_REQUEST ||
                            bytes + size + 1 > NOTION_BLOCKS_MAX_BYTES)) {
                        if (json_array_append_new(batches, TAKE_PTR(cur)) < 0)
                                return -ENOMEM;
                }
                if (!cur) {
                        cur = json_array();
                        if (!cur)
                                return -ENOMEM;
                        bytes = 2;
                }
                if (json_array_append(cur, block) < 0)
                        return -ENOMEM;
                bytes += size + 1;
        }
        if (cur && json_array_append_new(batches, TAKE_PTR(cur)) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(batches);
        return 0;
}

static json_t *select_value(const char *name) {
        return json_pack("{s:{s:s}}", "select", "name", name);
}

static int page_properties(const NotionProperties *p, const IncidentMessage *m, Language lang, json_t **ret) {
        _cleanup_json_ json_t *props = json_object();
        _cleanup_free_ char *title = NULL, *app = NULL, *label = NULL;
        char first[64];

        if (!props)
                return -ENOMEM;

        if (m->title) {
                title = text_truncate(m->title, NOTION_RICH_TEXT_MAX_UNITS);
                if (!title)
                        return -ENOMEM;
        }
        if (json_object_set_new(props, p->title, json_pack("{s:o}", "title", text_array(title))) < 0)
                return -ENOMEM;

        /* "Commas (",") are not valid for select values" (Page properties). */
        label = text_truncate(type_label(m, lang), NOTION_SELECT_MAX_UNITS);
        if (!label)
                return -ENOMEM;
        for (char *c = label; (c = strchr(c, ',')); c++)
                *c = ';';
        if (json_object_set_new(props, p->type, select_value(label)) < 0)
                return -ENOMEM;

        if (m->app) {
                app = text_truncate(m->app, NOTION_RICH_TEXT_MAX_UNITS);
                if (!app)
                        return -ENOMEM;
        }
        if (json_object_set_new(props, p->app, json_pack("{s:o}", "rich_text", text_array(app))) < 0)
                return -ENOMEM;

        if (json_object_set_new(props, p->severity, select_value(severity_to_string(m->severity))) < 0 ||
            json_object_set_new(props, p->auto_fixable, json_pack("{s:b}", "checkbox", m->auto_fixable)) < 0 ||
            json_object_set_new(props, p->status, select_value(incident_status_to_string(m->status))) < 0)
                return -ENOMEM;

        if (format_time(m->first_seen, first) >= 0 &&
            json_object_set_new(props, p->time, json_pack("{s:{s:s}}", "date", "start", first)) < 0)
                return -ENOMEM;

        if (p->fingerprint) {
                const char *fp = m->fingerprint && *m->fingerprint ? m->fingerprint : NULL;

                /* Never cut: the query before a create compares it whole. */
                if (fp && utf16_length(fp, strlen(fp)) > NOTION_RICH_TEXT_MAX_UNITS)
                        return -EINVAL;
                if (json_object_set_new(props, p->fingerprint, json_pack("{s:o}", "rich_text", text_array(fp))) < 0)
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(props);
        return 0;
}

int notion_page_bodies(
                const NotionProperties *p,
                const char *data_source_id,
                const IncidentMessage *m,
                Language lang,
                char **ret_create,
                char ***ret_appends) {

        _cleanup_json_ json_t *props = NULL, *batches = NULL, *body = NULL;
        _cleanup_free_ char *create = NULL;
        _cleanup_strv_free_ char **appends = NULL;
        size_t n;
        int r;

        assert(p && m && (ret_create || ret_appends));

        if (ret_create && (notion_properties_check(p, NULL) < 0 || !text_ok(data_source_id) || !*data_source_id))
                return -EINVAL;
        r = message_check(m, lang);
        if (r < 0)
                return r;
        r = page_batches(m, lang, &batches);
        if (r < 0)
                return r;
        n = json_array_size(batches);

        if (ret_create) {
                r = page_properties(p, m, lang, &props);
                if (r < 0)
                        return r;
                body = json_pack("{s:{s:s, s:s}, s:O}", "parent", "type", "data_source_id", "data_source_id",
                                 data_source_id, "properties", props);
                if (!body)
                        return -ENOMEM;
                if (n > 0 && json_object_set(body, "children", json_array_get(batches, 0)) < 0)
                        return -ENOMEM;
                r = dump(body, &create);
                if (r < 0)
                        return r;
                /* The properties are a few single-item texts of bounded length
                 * next to at most NOTION_BLOCKS_MAX_BYTES of blocks: this cannot trip. */
                if (strlen(create) > NOTION_REQUEST_MAX_BYTES)
                        return -E2BIG;
        }

        if (ret_appends) {
                appends = calloc(n > 0 ? n : 1, sizeof(char *));
                if (!appends)
                        return -ENOMEM;
                for (size_t i = 1; i < n; i++) {
                        _cleanup_json_ json_t *a = json_pack("{s:O}", "children", json_array_get(batches, i));

                        if (!a)
                                return -ENOMEM;
                        r = dump(a, &appends[i - 1]);
                        if (r < 0)
                                return r;
                }
        }

        if (ret_create)
                *ret_create = TAKE_PTR(create);
        if (ret_appends)
                *ret_appends = TAKE_PTR(appends);
        return 0;
}

int notion_page_create_body(
                const NotionProperties *p,
                const char *data_source_id,
                const IncidentMessage *m,
                Language lang,
                char **ret_json) {

        assert(ret_json);
        return notion_page_bodies(p, data_source_id, m, lang, ret_json, NULL);
}

int notion_blocks_append_bodies(const IncidentMessage *m, Language lang, char ***ret_bodies) {
        /* The properties play no part in the page body. */
        static const NotionProperties unused = NOTION_PROPERTIES_DEFAULT;

        assert(ret_bodies);
        return notion_page_bodies(&unused, NULL, m, lang, NULL, ret_bodies);
}

int notion_page_status_body(const NotionProperties *p, IncidentStatus s, char **ret_json) {
        _cleanup_json_ json_t *body = NULL;
        const char *name = incident_status_to_string(s);

        assert(p && ret_json);

        if (notion_properties_check(p, NULL) < 0 || !name)
                return -EINVAL;
        body = json_pack("{s:{s:o}}", "properties", p->status, select_value(name));
        if (!body)
                return -ENOMEM;
        return dump(body, ret_json);
}

int notion_query_fingerprint_body(const NotionProperties *p, const char *fingerprint, char **ret_json) {
        _cleanup_json_ json_t *body = NULL;

        assert(p && ret_json);

        if (notion_properties_check(p, NULL) < 0)
                return -EINVAL;
        if (!p->fingerprint)
                return -EOPNOTSUPP;
        if (!text_ok(fingerprint) || !*fingerprint ||
            utf16_length(fingerprint, strlen(fingerprint)) > NOTION_RICH_TEXT_MAX_UNITS)
                return -EINVAL;

        /* More than one answer would mean a duplicate made by someone else;
         * the oldest page is the one to keep using. */
        body = json_pack("{s:{s:s, s:{s:s}}, s:[{s:s, s:s}], s:i}",
                         "filter", "property", p->fingerprint, "rich_text", "equals", fingerprint,
                         "sorts", "timestamp", "created_time", "direction", "ascending",
                         "page_size", 10);
        if (!body)
                return -ENOMEM;
        return dump(body, ret_json);
}

/* "YYYY-MM-DD", optionally followed by "T" and a time with its zone. */
static bool iso_time_ok(const char *s) {
        static const char shape[] = "dddd-dd-dd";

        for (size_t i = 0; i < sizeof(shape) - 1; i++)
                if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
                        return false;
        s += sizeof(shape) - 1;
        if (*s == 0)
                return true;
        if (*s != 'T' || !s[1])
                return false;
        return strspn(s + 1, "0123456789:.+-Z") == strlen(s + 1);
}

int notion_query_edited_since_body(const char *iso_time, const char *start_cursor, char **ret_json) {
        _cleanup_json_ json_t *body = NULL;

        assert(ret_json);

        if (!iso_time || !iso_time_ok(iso_time))
                return -EINVAL;
        if (start_cursor && (!*start_cursor || !text_ok(start_cursor)))
                return -EINVAL;

        body = json_pack("{s:{s:s, s:{s:s}}, s:[{s:s, s:s}], s:i}",
                         "filter", "timestamp", "last_edited_time", "last_edited_time", "on_or_after", iso_time,
                         "sorts", "timestamp", "last_edited_time", "direction", "ascending",
                         "page_size", NOTION_QUERY_PAGE_SIZE);
        if (!body)
                return -ENOMEM;
        if (start_cursor && json_object_set_new(body, "start_cursor", json_string(start_cursor)) < 0)
                return -ENOMEM;
        return dump(body, ret_json);
}

/* ---- answers --------------------------------------------------------------- */

static int load(const char *body, size_t size, const char *object, json_t **ret, char **reterr) {
        json_error_t err;
        json_t *j, *o;

        if (!body || size == 0)
                return fail(reterr, -EBADMSG, "empty answer");
        j = json_loadb(body, size, JSON_REJECT_DUPLICATES, &err);
        if (!j) {
                if (json_error_code(&err) == json_error_out_of_memory)
                        return -ENOMEM;
                return fail(reterr, -EBADMSG, "answer is not JSON (line %d, column %d: %s)",
                            err.line, err.column, err.text);
        }
        if (!json_is_object(j)) {
                json_decref(j);
                return fail(reterr, -EBADMSG, "answer is not a JSON object");
        }
        o = json_object_get(j, "object");
        if (object && o && (!json_is_string(o) || strcmp(json_string_value(o), object) != 0)) {
                int r = fail(reterr, -EBADMSG, "answer is not a %s object (object is '%s')", object,
                             json_is_string(o) ? json_string_value(o) : "?");
                json_decref(j);
                return r;
        }
        *ret = j;
        return 0;
}

static const char *string_member(json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* Whether two Notion ids are the same id, with or without dashes. */
static bool id_equal(const char *a, const char *b) {
        for (;;) {
                while (*a == '-')
                        a++;
                while (*b == '-')
                        b++;
                if (!*a || !*b)
                        return !*a && !*b;
                if ((*a | 0x20) != (*b | 0x20))
                        return false;
                a++, b++;
        }
}

int notion_parse_database(
                const char *body,
                size_t size,
                const char *wanted_id,
                char **ret_id,
                char **reterr) {

        _cleanup_json_ json_t *root = NULL;
        _cleanup_free_ char *list = NULL;
        json_t *sources, *ds, *match = NULL;
        size_t i, n;
        char *id;
        int r;

        assert(ret_id && reterr);
        *reterr = NULL;

        if (wanted_id && (!*wanted_id || !text_ok(wanted_id)))
                return fail(reterr, -EINVAL, "the configured data source id is empty or not UTF-8");
        r = load(body, size, "database", &root, reterr);
        if (r < 0)
                return r;
        sources = json_object_get(root, "data_sources");
        if (!json_is_array(sources))
                return fail(reterr, -EBADMSG,
                            "the database has no data_sources array (is Notion-Version %s?)",
                            NOTION_API_VERSION);

        json_array_foreach(sources, i, ds) {
                const char *dsid = string_member(ds, "id"), *name = string_member(ds, "name");

                if (!dsid || !*dsid)
                        return fail(reterr, -EBADMSG, "data source %zu of the database has no id", i);
                r = strextendf(&list, "'%s' (%s)", name ?: "", dsid);
                if (r < 0)
                        return r;
                if (wanted_id && id_equal(dsid, wanted_id))
                        match = ds;
        }
        n = json_array_size(sources);

        if (n == 0)
                return fail(reterr, -ENOENT, "the database has no data source");
        if (wanted_id && !match)
                return fail(reterr, -ENOENT, "data source %s is not in the database, which has: %s",
                            wanted_id, list);
        if (!match && n > 1)
                return fail(reterr, -ENOTUNIQ,
                            "the database has %zu data sources, set DataSourceId= to one of: %s", n, list);
        if (!match)
                match = json_array_get(sources, 0);

        id = strdup(string_member(match, "id"));
        if (!id)
                return -ENOMEM;
        *ret_id = id;
        return 0;
}

int notion_check_schema(const char *body, size_t size, const NotionProperties *p, char **reterr) {
        _cleanup_json_ json_t *root = NULL;
        _cleanup_free_ char *problems = NULL;
        json_t *props;
        int r;

        assert(p && reterr);
        *reterr = NULL;

        r = notion_properties_check(p, reterr);
        if (r < 0)
                return r;
        r = load(body, size, "data_source", &root, reterr);
        if (r < 0)
                return r;
        props = json_object_get(root, "properties");
        if (!json_is_object(props))
                return fail(reterr, -EBADMSG, "the data source has no properties object");

        for (size_t i = 0; i < ELEMENTSOF(property_specs); i++) {
                const PropertySpec *spec = &property_specs[i];
                const char *name = property_name(p, spec), *found;
                json_t *prop;

                if (!name)
                        continue;
                prop = json_object_get(props, name);
                if (!prop) {
                        const char *title_name = NULL, *key;
                        json_t *v;

                        if (strcmp(spec->type, "title") == 0)
                                json_object_foreach(props, key, v)
                                        if (strcmp(string_member(v, "type") ?: "", "title") == 0)
                                                title_name = key;
                        if (title_name)
                                r = strextendf(&problems, "property '%s': expected %s, not found "
                                               "(the title property is '%s')", name, spec->type, title_name);
                        else
                                r = strextendf(&problems, "property '%s': expected %s, not found",
                                               name, spec->type);
                        if (r < 0)
                                return r;
                        continue;
                }
                found = string_member(prop, "type");
                if (found && strcmp(found, spec->type) == 0)
                        continue;
                r = strextendf(&problems, "property '%s': expected %s, found %s", name, spec->type,
                               found ?: "no type");
                if (r < 0)
                        return r;
        }

        if (problems) {
                *reterr = TAKE_PTR(problems);
                return -EINVAL;
        }
        return 0;
}

int notion_parse_error(const char *body, size_t size, int *ret_status, char **ret_code, char **ret_message) {
        _cleanup_json_ json_t *root = NULL;
        _cleanup_free_ char *code = NULL, *message = NULL;
        json_t *status, *object;
        int r;

        r = load(body, size, NULL, &root, NULL);
        if (r < 0)
                return r;
        object = json_object_get(root, "object");
        status = json_object_get(root, "status");
        if (!json_is_string(object) || strcmp(json_string_value(object), "error") != 0 ||
            !json_is_integer(status) || json_integer_value(status) < 100 || json_integer_value(status) > 999 ||
            !json_is_string(json_object_get(root, "code")) || !json_is_string(json_object_get(root, "message")))
                return -EBADMSG;

        if (ret_code) {
                code = strdup(string_member(root, "code"));
                if (!code)
                        return -ENOMEM;
        }
        if (ret_message) {
                message = strdup(string_member(root, "message"));
                if (!message)
                        return -ENOMEM;
        }
        if (ret_status)
                *ret_status = (int) json_integer_value(status);
        if (ret_code)
                *ret_code = TAKE_PTR(code);
        if (ret_message)
                *ret_message = TAKE_PTR(message);
        return 0;
}

int notion_parse_page_id(const char *body, size_t size, char **ret_id) {
        _cleanup_json_ json_t *root = NULL;
        const char *id;
        char *copy;
        int r;

        assert(ret_id);

        r = load(body, size, "page", &root, NULL);
        if (r < 0)
                return r;
        id = string_member(root, "id");
        if (!id || !*id)
                return -EBADMSG;
        copy = strdup(id);
        if (!copy)
                return -ENOMEM;
        *ret_id = copy;
        return 0;
}

static int dup_or_null(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* The plain text of a rich text array: the items' plain_text (or text.content). */
static int rich_text_plain(json_t *items, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0, i;
        json_t *item;

        *ret = NULL;
        json_array_foreach(items, i, item) {
                const char *t = string_member(item, "plain_text") ?:
                                string_member(json_object_get(item, "text"), "content");
                size_t n;
                char *g;

                if (!t)
                        continue;
                n = strlen(t);
                g = realloc(s, len + n + 1);
                if (!g)
                        return -ENOMEM;
                s = g;
                memcpy(s + len, t, n + 1);
                len += n;
        }
        if (s && len > 0)
                *ret = TAKE_PTR(s);
        return 0;
}

static int page_info(json_t *page, const NotionProperties *p, NotionPageInfo *ret) {
        json_t *props = json_object_get(page, "properties"), *v;
        NotionPageInfo info = {};
        int r;

        r = dup_or_null(string_member(page, "id"), &info.id);
        if (r >= 0)
                r = dup_or_null(string_member(page, "last_edited_time"), &info.last_edited_time);
        v = json_object_get(props, p->status);
        if (r >= 0 && strcmp(string_member(v, "type") ?: "", "select") == 0)
                r = dup_or_null(string_member(json_object_get(v, "select"), "name"), &info.status);
        v = p->fingerprint ? json_object_get(props, p->fingerprint) : NULL;
        if (r >= 0 && strcmp(string_member(v, "type") ?: "", "rich_text") == 0)
                r = rich_text_plain(json_object_get(v, "rich_text"), &info.fingerprint);
        if (r < 0) {
                free(info.id);
                free(info.last_edited_time);
                free(info.status);
                return r;
        }
        *ret = info;
        return 0;
}

void notion_query_result_done(NotionQueryResult *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_pages; i++) {
                free(r->pages[i].id);
                free(r->pages[i].last_edited_time);
                free(r->pages[i].status);
                free(r->pages[i].fingerprint);
        }
        free(r->pages);
        free(r->next_cursor);
        *r = (NotionQueryResult) {};
}

int notion_parse_query(const char *body, size_t size, const NotionProperties *p, NotionQueryResult *ret) {
        _cleanup_json_ json_t *root = NULL;
        _cleanup_(notion_query_result_done) NotionQueryResult q = {};
        json_t *results, *page, *cursor, *more;
        size_t i;
        int r;

        assert(p && ret);

        r = load(body, size, "list", &root, NULL);
        if (r < 0)
                return r;
        results = json_object_get(root, "results");
        cursor = json_object_get(root, "next_cursor");
        more = json_object_get(root, "has_more");
        if (!json_is_array(results) || (cursor && !json_is_null(cursor) && !json_is_string(cursor)) ||
            (more && !json_is_boolean(more)))
                return -EBADMSG;

        json_array_foreach(results, i, page) {
                const char *object = string_member(page, "object"), *id = string_member(page, "id");

                if (!json_is_object(page) || !id || !*id)
                        return -EBADMSG;
                if ((object && strcmp(object, "page") != 0) || json_is_true(json_object_get(page, "in_trash")) ||
                    json_is_true(json_object_get(page, "archived")))
                        continue;
                if (!q.pages) {
                        q.pages = calloc(json_array_size(results), sizeof(NotionPageInfo));
                        if (!q.pages)
                                return -ENOMEM;
                }
                r = page_info(page, p, &q.pages[q.n_pages]);
                if (r < 0)
                        return r;
                q.n_pages++;
        }
        r = dup_or_null(json_string_value(cursor), &q.next_cursor);
        if (r < 0)
                return r;
        q.has_more = json_is_true(more);

        *ret = q;
        q = (NotionQueryResult) {};
        return 0;
}
