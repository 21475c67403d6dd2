/* SPDX-License-Identifier: MIT */
/*
 * The Notion side of delivery, without the I/O: the JSON bodies appwatch
 * sends to Notion's API (version 2025-09-03, with data sources) and parsers
 * for the answers. deliver/notion.c (the sender) adds the HTTP, the token and
 * the Notion-Version header; nothing here talks to the network, logs, or
 * touches libsystemd. Pure; thread-safe (no state; jansson is thread-safe for
 * objects that are not shared).
 *
 * Endpoints the bodies are for:
 *   GET   /v1/databases/{id}               -> notion_parse_database()
 *   GET   /v1/data_sources/{id}            -> notion_check_schema()
 *   POST  /v1/pages                        <- notion_page_bodies() (or _create_body())
 *                                          -> notion_parse_page_id()
 *   PATCH /v1/blocks/{page_id}/children    <- notion_page_bodies() (or notion_blocks_append_bodies())
 *   PATCH /v1/pages/{page_id}              <- notion_page_status_body()
 *   POST  /v1/data_sources/{id}/query      <- notion_query_*_body()
 *                                          -> notion_parse_query()
 *   any error answer                       -> notion_parse_error()
 *
 * Limits honoured, and the doc page (developers.notion.com/reference/...) each
 * one comes from:
 *   - "Request limits" (request-limits): text.content of a rich text object
 *     at most 2000 characters; text.link.url 2000 (we send no links); any
 *     array of rich text objects at most 100 elements; a payload at most 1000
 *     block elements and 500 KB overall. "Characters" is counted here in
 *     UTF-16 code units, as the validator does (its message says
 *     "text.content.length should be ≤ 2000", a JavaScript length): a
 *     character outside the BMP (most emoji) counts 2, which is never fewer
 *     than Unicode characters, so the count is conservative either way.
 *   - "Append block children" (patch-block-children): at most 100 block
 *     children per request, at most two levels of nesting (our blocks have
 *     no children at all). We hold the children of "Create a page"
 *     (post-page) to the same 100, so the create and every append look
 *     alike.
 *   - "Page properties" (page-property-values), select: "Commas (",") are not
 *     valid for select values", so a comma in a select name becomes ';'. An
 *     option that does not exist yet is created by Notion.
 *   - "Query a data source" (query-a-data-source): page_size at most 100;
 *     start_cursor is the previous answer's next_cursor.
 *   - "Status codes" (status-codes): the error object
 *     {"object": "error", "status", "code", "message"}.
 * Text is cut only between Unicode characters, and not before a combining
 * mark, a variation selector, a zero-width joiner (or right after one), a
 * Hangul medial or final jamo, an emoji modifier or the '\n' of "\r\n"; a cut
 * prefers the end of a line when one is near. Every block holds at most
 * NOTION_BLOCK_MAX_ITEMS rich text items, so even a block of control
 * characters (6 JSON bytes per unit) fits one request with room to spare;
 * requests are cut at 100 blocks or NOTION_BLOCKS_MAX_BYTES of block JSON,
 * whichever comes first.
 *
 * No text item is ever empty (an empty title or app is an empty array).
 *
 * Every string given must be valid UTF-8 (-EINVAL otherwise); ENOMEM means
 * memory and nothing else. The texts of an IncidentMessage are expected to be
 * redacted already (message.h); nothing here redacts.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "deliver/message.h"
#include "shared/cleanup.h"
#include "shared/taxonomy.h"

#define NOTION_API_VERSION "2025-09-03"

#define NOTION_RICH_TEXT_MAX_UNITS 2000         /* UTF-16 code units per text.content */
#define NOTION_ARRAY_MAX 100                    /* rich text items per array */
#define NOTION_BLOCKS_PER_REQUEST 100           /* block children per create or append */
#define NOTION_REQUEST_MAX_BYTES 500000         /* 500 KB, read as 10^3 to be safe */
#define NOTION_QUERY_PAGE_SIZE 100
/* Our own bounds, chosen to stay well inside the ones above. */
#define NOTION_BLOCK_MAX_ITEMS 32               /* rich text items in one block we make */
#define NOTION_BLOCKS_MAX_BYTES 400000          /* block JSON in one request */
#define NOTION_SELECT_MAX_UNITS 100             /* a select name we send (labels are short) */

/*
 * Whether id looks like a Notion id (a UUID: 32 hex digits, with or without
 * the four dashes), so it may go into a URL path as it is. Ids parsed from
 * answers are returned as Notion sent them; check them with this before
 * building a URL from one.
 */
bool notion_id_is_valid(const char *id);

/* The property names in the database, as configured ([Notion] *Property=). */
typedef struct NotionProperties {
        const char *title;              /* title */
        const char *type;               /* select: the category label */
        const char *app;                /* rich_text */
        const char *severity;           /* select: Low, Medium, High, Critical */
        const char *auto_fixable;       /* checkbox */
        const char *status;             /* select: New, In Progress, Resolved, Manual Required */
        const char *time;               /* date: first seen */
        const char *fingerprint;        /* rich_text; NULL: the database has none */
} NotionProperties;

/* The users' guide's database ("Notion 데이터베이스 설정"); it has no fingerprint. */
#define NOTION_PROPERTIES_DEFAULT                                       \
        ((NotionProperties) {                                           \
                .title = "제목",                                        \
                .type = "타입",                                         \
                .app = "앱",                                            \
                .severity = "심각도",                                   \
                .auto_fixable = "자동수정가능",                         \
                .status = "상태",                                       \
                .time = "발생시간",                                     \
                .fingerprint = NULL,                                    \
        })
/* The name to use when a fingerprint property is turned on without a name. */
#define NOTION_FINGERPRINT_PROPERTY_DEFAULT "Fingerprint"

/*
 * Checks a property configuration: every name but fingerprint set, all
 * non-empty valid UTF-8 and pairwise distinct. Returns 0, or -EINVAL with
 * *reterr a malloc'ed message naming the field (-ENOMEM leaves it NULL).
 * Every builder below runs it and returns its -EINVAL (without a message).
 */
int notion_properties_check(const NotionProperties *p, char **reterr);

/*
 * All the requests that make the page of incident m in data source
 * data_source_id, at once:
 *   *ret_create, the body of POST /v1/pages: the properties above (title;
 *     type = m->type_label, else the category's label in lang; app;
 *     severity; auto_fixable; status; time = m->first_seen as ISO 8601 UTC,
 *     left out when 0; fingerprint when configured, empty when m has none)
 *     and the first request's worth of the page body (analysis, details, the
 *     fix attempt and its output, the log excerpt);
 *   *ret_appends, the bodies of PATCH /v1/blocks/{page_id}/children that
 *     complete the page body, in the order they must be sent: a
 *     NULL-terminated, malloc'ed array (strv_free) of {"children": [...]} of
 *     at most 100 blocks each; just the NULL when the create held it all.
 *     They do not contain the page id, so they can be stored (in the outbox)
 *     before the page exists.
 * Either pointer may be NULL to skip that part (not both). Make both from the
 * same m: the page body shows counts and times, so bodies made from two
 * versions of an incident may not line up, and blocks would be lost or
 * repeated.
 *
 * The title and app are cut to one rich text item (marked "…"), the type
 * label to NOTION_SELECT_MAX_UNITS; the excerpt, analysis and fix output are
 * never cut, only split. Returns 0; -EINVAL for a bad configuration, an
 * out-of-range enum or language, text that is not UTF-8, or a fingerprint
 * longer than one rich text item (it must stay whole for the query); -ENOMEM.
 */
int notion_page_bodies(
                const NotionProperties *p,
                const char *data_source_id,
                const IncidentMessage *m,
                Language lang,
                char **ret_create,
                char ***ret_appends);

/* notion_page_bodies() for the create body alone; *ret_json is malloc'ed. */
int notion_page_create_body(
                const NotionProperties *p,
                const char *data_source_id,
                const IncidentMessage *m,
                Language lang,
                char **ret_json);

/* notion_page_bodies() for the append bodies alone (the same m and lang as the
 * create body, see there). */
int notion_blocks_append_bodies(const IncidentMessage *m, Language lang, char ***ret_bodies);

/* The body of PATCH /v1/pages/{page_id} setting the status property only. */
int notion_page_status_body(const NotionProperties *p, IncidentStatus s, char **ret_json);

/*
 * The body of POST /v1/data_sources/{id}/query finding the pages whose
 * fingerprint property equals fingerprint, oldest first, so a page created
 * before a crash is found rather than made twice. -EOPNOTSUPP when p has no
 * fingerprint property; -EINVAL for an empty or overlong fingerprint.
 */
int notion_query_fingerprint_body(const NotionProperties *p, const char *fingerprint, char **ret_json);

/*
 * The body of POST /v1/data_sources/{id}/query listing the pages edited on or
 * after iso_time (an ISO 8601 date or date-time, "2025-09-21" or
 * "2025-09-21T09:00:00.000Z"), oldest edit first, NOTION_QUERY_PAGE_SIZE at a
 * time; start_cursor is NULL for the first page, else the previous answer's
 * next_cursor. -EINVAL for a time that does not look like ISO 8601.
 */
int notion_query_edited_since_body(const char *iso_time, const char *start_cursor, char **ret_json);

/*
 * From the answer to GET /v1/databases/{id}: the data source to use. With one
 * data source, that one (if wanted_id is set it must be it); with several,
 * the one whose id is wanted_id (compared without dashes, ignoring case).
 * Returns 0 with *ret_id malloc'ed; -ENOENT (none, or wanted_id not among
 * them), -ENOTUNIQ (several and no wanted_id), -EBADMSG (not a database
 * object) or -EINVAL (wanted_id empty or not UTF-8), each with *reterr a malloc'ed message that names the data sources
 * (name and id) where there are any. -ENOMEM leaves *reterr NULL.
 */
int notion_parse_database(
                const char *body,
                size_t size,
                const char *wanted_id,
                char **ret_id,
                char **reterr);

/*
 * Checks the answer to GET /v1/data_sources/{id} against p: every configured
 * property must exist with its type (title, select, rich_text, select,
 * checkbox, select, date, rich_text). Select options are not checked: Notion
 * adds a missing one. Returns 0; -EINVAL with *reterr listing every problem,
 * "; "-separated, each as
 *     property '앱': expected rich_text, not found
 *     property '심각도': expected select, found rich_text
 * (a missing title names the data source's title property); -EBADMSG when the
 * body is not a data source object (*reterr says why). -ENOMEM leaves *reterr
 * NULL.
 */
int notion_check_schema(const char *body, size_t size, const NotionProperties *p, char **reterr);

/*
 * An error answer: {"object": "error", "status": 400, "code":
 * "validation_error", "message": "..."}. Returns 0 with the three written
 * (code and message malloc'ed; any of the pointers may be NULL to skip it),
 * or -EBADMSG for anything else (not JSON, not an error object, missing or
 * mistyped fields, text that is not UTF-8), leaving them alone.
 */
int notion_parse_error(const char *body, size_t size, int *ret_status, char **ret_code, char **ret_message);

/* The id of the page in a POST /v1/pages answer ({"object": "page", "id": ...}):
 * 0 with *ret_id malloc'ed, or -EBADMSG. */
int notion_parse_page_id(const char *body, size_t size, char **ret_id);

/* One page of a query answer. */
typedef struct NotionPageInfo {
        char *id;
        char *last_edited_time;         /* as Notion sent it; NULL when absent */
        char *status;                   /* the status select's name; NULL when unset */
        char *fingerprint;              /* the fingerprint's text when configured; NULL when empty */
} NotionPageInfo;

typedef struct NotionQueryResult {
        NotionPageInfo *pages;
        size_t n_pages;
        char *next_cursor;              /* NULL when none */
        bool has_more;
} NotionQueryResult;

/*
 * Parses an answer of POST /v1/data_sources/{id}/query into *ret (free with
 * notion_query_result_done). Results that are not pages, and pages in the
 * trash or archived, are skipped. The status and fingerprint are read by the
 * names in p, and are NULL when the page does not have them with the expected
 * type. Returns 0, -EBADMSG for an answer that is not a list of objects with
 * ids (then *ret is untouched), -ENOMEM.
 */
int notion_parse_query(const char *body, size_t size, const NotionProperties *p, NotionQueryResult *ret);
void notion_query_result_done(NotionQueryResult *r);
