/* SPDX-License-Identifier: MIT */
/* Control protocol framing and messages; see protocol.h. Pure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/protocol.h"

void line_buffer_init(LineBuffer *b, size_t max) {
        *b = (LineBuffer) { .max = max };
}

void line_buffer_done(LineBuffer *b) {
        free(b->data);
        *b = (LineBuffer) {};
}

int line_buffer_append(LineBuffer *b, const void *p, size_t n) {
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 4096;
                char *d;

                while (cap < b->len + n + 1)
                        cap *= 2;
                d = realloc(b->data, cap);
                if (!d)
                        return -ENOMEM;
                b->data = d;
                b->cap = cap;
        }
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = 0;
        return 0;
}

int line_buffer_pop(LineBuffer *b, char **ret, size_t *ret_len) {
        char *nl, *line;
        size_t l;

        if (b->len == 0)
                return 0;
        nl = memchr(b->data, '\n', b->len);
        if (!nl)
                return b->len > b->max ? -EMSGSIZE : 0;
        l = (size_t) (nl - b->data);
        if (l > b->max)
                return -EMSGSIZE;
        line = malloc(l + 1);
        if (!line)
                return -ENOMEM;
        memcpy(line, b->data, l);
        line[l] = 0;
        memmove(b->data, nl + 1, b->len - l - 1);
        b->len -= l + 1;
        b->data[b->len] = 0;
        /* Give memory back after a big request, so idle clients stay small. */
        if (b->len == 0 && b->cap > 64 * 1024) {
                free(b->data);
                b->data = NULL;
                b->cap = 0;
        }
        *ret = line;
        if (ret_len)
                *ret_len = l;
        return 1;
}

void request_done(Request *r) {
        free(r->verb);
        json_decref(r->args);
        json_decref(r->id);
        *r = (Request) {};
}

static int fail(char **reterr, const char *format, ...) _printf_(2, 3);
static int fail(char **reterr, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(reterr, format, ap) < 0)
                *reterr = NULL;
        va_end(ap);
        return -EBADMSG;
}

int protocol_parse_request(const char *line, size_t len, Request *ret, char **reterr) {
        _cleanup_json_ json_t *root = NULL;
        json_error_t err;
        json_t *verb, *args, *id;
        char *v;

        *reterr = NULL;
        if (memchr(line, 0, len))
                return fail(reterr, "request contains a NUL byte");
        root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
        if (!root)
                return fail(reterr, "malformed JSON at column %d: %s", err.column, err.text);
        if (!json_is_object(root))
                return fail(reterr, "request must be a JSON object");
        verb = json_object_get(root, "verb");
        if (!json_is_string(verb) || json_string_length(verb) == 0 ||
            json_string_length(verb) > 64)
                return fail(reterr, "request needs a \"verb\" string of 1-64 characters");
        args = json_object_get(root, "args");
        if (args && !json_is_object(args) && !json_is_null(args))
                return fail(reterr, "\"args\" must be an object");
        id = json_object_get(root, "id");
        /* The id comes back in the reply: bounded, and of a kind a client can match. */
        if (json_is_null(id))
                id = NULL;
        if (id && !json_is_integer(id) &&
            (!json_is_string(id) || json_string_length(id) > PROTOCOL_MAX_ID))
                return fail(reterr, "\"id\" must be an integer or a string of at most %d bytes",
                            PROTOCOL_MAX_ID);

        v = strdup(json_string_value(verb));
        if (!v)
                return -ENOMEM;
        *ret = (Request) {
                .verb = v,
                .args = json_is_object(args) ? json_incref(args) : json_object(),
                .id = id ? json_incref(id) : NULL,
        };
        if (!ret->args) {
                request_done(ret);
                return -ENOMEM;
        }
        return 0;
}

static int field_error(char **reterr, const char *field, const char *what) {
        if (reterr && asprintf(reterr, "\"%s\" must be %s", field, what) < 0)
                *reterr = NULL;
        return -EINVAL;
}

int protocol_get_string(json_t *args, const char *field, const char **ret, char **reterr) {
        json_t *v = json_object_get(args, field);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return field_error(reterr, field, "a string");
        *ret = json_string_value(v);
        return 1;
}

int protocol_get_integer(json_t *args, const char *field, int64_t *ret, char **reterr) {
        json_t *v = json_object_get(args, field);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return field_error(reterr, field, "an integer");
        *ret = json_integer_value(v);
        return 1;
}

static char *dump_line(json_t *o) {
        char *s, *line;
        size_t l;

        s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s)
                return NULL;
        l = strlen(s);
        line = realloc(s, l + 2);
        if (!line) {
                free(s);
                return NULL;
        }
        line[l] = '\n';
        line[l + 1] = 0;
        return line;
}

char *protocol_reply_ok(json_t *id, json_t *data) {
        _cleanup_json_ json_t *o = NULL;

        o = json_pack("{s:b, s:o}", "ok", 1, "data", data ?: json_object());
        if (!o)
                return NULL;
        if (id && json_object_set(o, "id", id) < 0)
                return NULL;
        return dump_line(o);
}

const char *protocol_error_code(int error) {
        static const struct {
                int e;
                const char *name;
        } table[] = {
                { EINVAL, "EINVAL" }, { EBADMSG, "EBADMSG" }, { EMSGSIZE, "EMSGSIZE" },
                { EPERM, "EPERM" },   { EACCES, "EACCES" },   { ENOENT, "ENOENT" },
                { EBUSY, "EBUSY" },   { ENOMEM, "ENOMEM" },   { EOPNOTSUPP, "EOPNOTSUPP" },
                { ENOSPC, "ENOSPC" }, { EAGAIN, "EAGAIN" },   { ETIMEDOUT, "ETIMEDOUT" },
                { EEXIST, "EEXIST" }, { ENOSYS, "ENOSYS" },   { EUSERS, "EUSERS" },
        };

        if (error < 0)
                error = -error;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].e == error)
                        return table[i].name;
        return "EIO";
}

char *protocol_reply_error(json_t *id, int error, const char *message) {
        _cleanup_json_ json_t *o = NULL;

        o = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
                      protocol_error_code(error), "message", message ?: strerror(abs(error)));
        if (!o)
                return NULL;
        if (id && json_object_set(o, "id", id) < 0)
                return NULL;
        return dump_line(o);
}

char *protocol_request(const char *verb, json_t *args) {
        _cleanup_json_ json_t *o = NULL;

        o = json_pack("{s:s, s:o}", "verb", verb, "args", args ?: json_object());
        if (!o)
                return NULL;
        return dump_line(o);
}
