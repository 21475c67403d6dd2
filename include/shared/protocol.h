/* SPDX-License-Identifier: MIT */
/*
 * The control protocol: newline-delimited JSON over a Unix stream socket.
 * A request is one object {"verb": "status", "args": {...}, "id": any};
 * a reply is one object {"ok": true, "data": {...}, "id": ...} or
 * {"ok": false, "error": {"code": "EINVAL", "message": "..."}, "id": ...}.
 * Requests are bounded in size; the framing buffer enforces it. Used by both
 * appwatchd and appwatchctl; pure, no I/O.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "shared/cleanup.h"

#define PROTOCOL_VERSION 1
#define PROTOCOL_DEFAULT_MAX_REQUEST (64 * 1024)
/* Longest request id (a string; an integer id is always fine). */
#define PROTOCOL_MAX_ID 128

/* jansson ships json_decrefp. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Accumulates bytes and splits them into lines of at most max bytes. */
typedef struct LineBuffer {
        char *data;
        size_t len;
        size_t cap;
        size_t max;
} LineBuffer;

void line_buffer_init(LineBuffer *b, size_t max);
void line_buffer_done(LineBuffer *b);
/* Appends n bytes; -ENOMEM. Never grows past max + one read's worth. */
int line_buffer_append(LineBuffer *b, const void *p, size_t n);
/*
 * Takes the next complete line (without its '\n', NUL-terminated, malloc'ed).
 * Returns 1 with *ret set, 0 when no complete line is buffered, -EMSGSIZE when
 * the line (complete or not) is longer than max, -ENOMEM.
 */
int line_buffer_pop(LineBuffer *b, char **ret, size_t *ret_len);

typedef struct Request {
        char *verb;
        json_t *args;   /* an object; never NULL after a successful parse */
        json_t *id;     /* may be NULL */
} Request;

void request_done(Request *r);

/*
 * Parses one request line. Returns 0, or -EBADMSG with *reterr describing
 * what is wrong (malformed JSON with its column, not an object, no verb, an
 * id that is neither an integer nor a string of at most PROTOCOL_MAX_ID bytes).
 */
int protocol_parse_request(const char *line, size_t len, Request *ret, char **reterr);

/*
 * A field of a request's args: 1 with *ret set when present, 0 when absent or
 * null (*ret untouched), -EINVAL with *reterr ("\"app\" must be a string",
 * malloc'ed; reterr may be NULL) when it has another type. A field of the
 * wrong type is never taken as absent. *ret points into args.
 */
int protocol_get_string(json_t *args, const char *field, const char **ret, char **reterr);
int protocol_get_integer(json_t *args, const char *field, int64_t *ret, char **reterr);

/* Formats a reply line ending in '\n'. _ok steals data (may be NULL). NULL on OOM. */
char *protocol_reply_ok(json_t *id, json_t *data);
char *protocol_reply_error(json_t *id, int error, const char *message);
/* Formats a request line ending in '\n'; steals args (may be NULL). */
char *protocol_request(const char *verb, json_t *args);

/* Errno name such as "EINVAL" for a negative errno, or "EIO". */
const char *protocol_error_code(int error);
