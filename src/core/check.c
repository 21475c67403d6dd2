/* SPDX-License-Identifier: MIT */
/* The status check's judgement; see check.h. Pure, any thread. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/check.h"
#include "shared/cleanup.h"

CheckThresholds check_thresholds_from_config(const Config *c) {
        return (CheckThresholds) {
                .min_free_disk = c->check_min_free_disk,
                .min_free_inodes = c->check_min_free_inodes,
                .max_outbox_age = c->check_max_outbox_age,
                .max_queue_depth = c->check_max_queue_depth,
                .stuck_after = c->fix_timeout + c->check_fix_margin,
        };
}

void check_report_done(CheckReport *r) {
        for (size_t i = 0; i < r->n; i++) {
                free(r->items[i].key);
                free(r->items[i].kind);
                free(r->items[i].title);
                json_decref(r->items[i].data);
        }
        free(r->items);
        *r = (CheckReport) {};
}

size_t check_report_breaches(const CheckReport *r) {
        size_t n = 0;

        for (size_t i = 0; i < r->n; i++)
                n += r->items[i].breach;
        return n;
}

const CheckItem *check_report_find(const CheckReport *r, const char *key) {
        for (size_t i = 0; i < r->n; i++)
                if (strcmp(r->items[i].key, key) == 0)
                        return &r->items[i];
        return NULL;
}

static int vadd(CheckReport *r, char *key, const char *kind, bool breach, Category c,
                Severity sev, json_t *data, const char *format, va_list ap) _printf_(8, 0);
static int vadd(CheckReport *r, char *key, const char *kind, bool breach, Category c,
                Severity sev, json_t *data, const char *format, va_list ap) {
        CheckItem it = { .key = key, .breach = breach, .category = c, .severity = sev,
                         .data = data };
        CheckItem *n;

        if (!data) {
                free(key);
                return -ENOMEM;
        }
        if (vasprintf(&it.title, format, ap) < 0)
                it.title = NULL;
        it.kind = strdup(kind);
        n = realloc(r->items, (r->n + 1) * sizeof *n);
        if (!n || !it.title || !it.key || !it.kind) {
                free(it.title);
                free(it.key);
                free(it.kind);
                json_decref(data);
                if (n)
                        r->items = n;
                return -ENOMEM;
        }
        r->items = n;
        r->items[r->n++] = it;
        return 0;
}

int check_report_add(CheckReport *r, const char *key, const char *kind, bool breach, Category c,
                     Severity sev, json_t *data, const char *format, ...) {
        char *k = strdup(key);
        va_list ap;
        int ret;

        if (!k) {
                json_decref(data);
                return -ENOMEM;
        }
        va_start(ap, format);
        ret = vadd(r, k, kind, breach, c, sev, data, format, ap);
        va_end(ap);
        return ret;
}

/* Adds an item keyed CHECK_KEY_PREFIX "kind:what"; steals data (even on failure). */
static int add(CheckReport *r, const char *kind, const char *what, bool breach, Category c,
               Severity sev, json_t *data, const char *format, ...) _printf_(8, 9);
static int add(CheckReport *r, const char *kind, const char *what, bool breach, Category c,
               Severity sev, json_t *data, const char *format, ...) {
        char *key;
        va_list ap;
        int ret;

        if (asprintf(&key, CHECK_KEY_PREFIX "%s:%s", kind, what) < 0) {
                json_decref(data);
                return -ENOMEM;
        }
        va_start(ap, format);
        ret = vadd(r, key, kind, breach, c, sev, data, format, ap);
        va_end(ap);
        return ret;
}

/* Percent of total that free is, rounded down; 100 for an empty total. */
static unsigned percent(uint64_t part, uint64_t total) {
        if (total == 0)
                return 100;
        return (unsigned) ((long double) part * 100 / total);
}

int check_eval_fs(CheckReport *r, const CheckThresholds *t, const char *role,
                  const char *role_key, const char *path, int error, const struct statvfs *sv) {
        unsigned pb, pi;
        int k;

        if (error < 0)
                return add(r, role, role_key ?: path, true, CATEGORY_PERMISSION, SEVERITY_HIGH,
                           json_pack("{s:s, s:s}", "path", path, "error", strerror(-error)),
                           "The %s directory %s cannot be looked at: %s", role, path,
                           strerror(-error));
        /* f_bavail: what is left to us, not to root's reserve. */
        pb = percent(sv->f_bavail, sv->f_blocks);
        k = add(r, "disk", path, t->min_free_disk > 0 && pb < t->min_free_disk,
                CATEGORY_DISK_FULL, pb == 0 ? SEVERITY_CRITICAL : SEVERITY_HIGH,
                json_pack("{s:s, s:i, s:i, s:I}", "path", path, "free_percent", (int) pb,
                          "min_percent", (int) t->min_free_disk, "free_bytes",
                          (json_int_t) ((uint64_t) sv->f_bavail * sv->f_frsize)),
                "Disk space of %s: %u%% free (at least %u%% wanted)", path, pb,
                t->min_free_disk);
        if (k < 0 || sv->f_files == 0)
                return k;
        pi = percent(sv->f_favail, sv->f_files);
        return add(r, "inodes", path, t->min_free_inodes > 0 && pi < t->min_free_inodes,
                   CATEGORY_DISK_FULL, pi == 0 ? SEVERITY_CRITICAL : SEVERITY_HIGH,
                   json_pack("{s:s, s:i, s:i, s:I}", "path", path, "free_percent", (int) pi,
                             "min_percent", (int) t->min_free_inodes, "free_inodes",
                             (json_int_t) sv->f_favail),
                   "Inodes of %s: %u%% free (at least %u%% wanted)", path, pi,
                   t->min_free_inodes);
}

int check_eval_source(CheckReport *r, const char *what, bool alive, const char *why) {
        const char *colon = strchr(what, ':');
        _cleanup_free_ char *kind = strndup(what, colon ? (size_t) (colon - what) : strlen(what));

        if (!kind)
                return -ENOMEM;
        return add(r, kind, colon ? colon + 1 : "reader", !alive, CATEGORY_OTHER, SEVERITY_HIGH,
                   json_pack("{s:s, s:b, s:s?}", "source", what, "alive", alive, "reason", why),
                   "Source %s is %s%s%s", what, alive ? "alive" : "not read",
                   why ? ": " : "", why ?: "");
}

int check_eval_queue(CheckReport *r, const CheckThresholds *t, const char *name, size_t depth) {
        return add(r, "queue", name, depth > t->max_queue_depth, CATEGORY_OTHER, SEVERITY_HIGH,
                   json_pack("{s:s, s:I, s:i}", "queue", name, "depth", (json_int_t) depth,
                             "max_depth", (int) t->max_queue_depth),
                   "Queue %s: %zu job%s waiting (at most %u wanted)", name, depth,
                   depth == 1 ? "" : "s", t->max_queue_depth);
}

int check_eval_outbox(CheckReport *r, const CheckThresholds *t, uint64_t pending,
                      int64_t oldest_pending, uint64_t dead, int64_t now) {
        usec_t age = pending > 0 && oldest_pending > 0 && now > oldest_pending
                             ? (usec_t) (now - oldest_pending) : 0;
        char a[64], m[64];
        int k;

        json_t *d = json_pack("{s:I, s:I, s:I}", "pending", (json_int_t) pending,
                              "oldest_age_usec", (json_int_t) age, "max_age_usec",
                              (json_int_t) t->max_outbox_age);

        format_timespan(m, sizeof m, t->max_outbox_age);
        if (pending == 0)
                k = add(r, "outbox", "age", false, CATEGORY_OTHER, SEVERITY_HIGH, d,
                        "Outbox: nothing waiting to be delivered");
        else
                k = add(r, "outbox", "age", age > t->max_outbox_age, CATEGORY_OTHER,
                        SEVERITY_HIGH, d,
                        "Outbox: %" PRIu64 " message%s pending, the oldest for %s (at most %s "
                        "wanted)", pending, pending == 1 ? "" : "s",
                        format_timespan(a, sizeof a, age), m);
        if (k < 0)
                return k;
        return add(r, "outbox", "dead", dead > 0, CATEGORY_OTHER, SEVERITY_HIGH,
                   json_pack("{s:I}", "dead", (json_int_t) dead),
                   "Outbox: %" PRIu64 " message%s given up on%s", dead, dead == 1 ? "" : "s",
                   dead > 0 ? " (appwatchctl outbox retry --all sends them again)" : "");
}

int check_eval_stuck_fixes(CheckReport *r, const CheckThresholds *t, json_t *rows, int64_t now) {
        size_t i;
        json_t *row;
        int k;

        json_array_foreach(rows, i, row) {
                json_int_t id = json_integer_value(json_object_get(row, "id"));
                json_int_t started = json_integer_value(json_object_get(row, "started"));
                const char *fix = json_string_value(json_object_get(row, "fix_id")) ?: "?";
                const char *state = json_string_value(json_object_get(row, "state")) ?: "?";
                usec_t age = now > started ? (usec_t) (now - started) : 0;
                char what[32], a[64], m[64];

                if (age <= t->stuck_after)
                        continue;
                (void) snprintf(what, sizeof what, "%" PRId64, (int64_t) id);
                k = add(r, "fix", what, true, CATEGORY_OTHER, SEVERITY_HIGH,
                        json_pack("{s:I, s:O?, s:s, s:s, s:I}", "attempt", id, "incident_id",
                                  json_object_get(row, "incident_id"), "fix_id", fix, "state",
                                  state, "age_usec", (json_int_t) age),
                        "Fix attempt %" PRId64 " (%s, incident %" PRId64 ") is still %s after %s "
                        "(stuck after %s)", (int64_t) id, fix,
                        (int64_t) json_integer_value(json_object_get(row, "incident_id")), state,
                        format_timespan(a, sizeof a, age),
                        format_timespan(m, sizeof m, t->stuck_after));
                if (k < 0)
                        return k;
        }
        return 0;
}

static json_t *json_decref_null(json_t *o) {
        json_decref(o);
        return NULL;
}

json_t *check_report_json(const CheckReport *r) {
        json_auto_t *items = json_array();
        size_t n = check_report_breaches(r);

        if (!items)
                return NULL;
        for (size_t i = 0; i < r->n; i++) {
                const CheckItem *it = &r->items[i];
                json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:s, s:s}", "key", it->key, "kind",
                                      it->kind, "ok", !it->breach, "severity",
                                      severity_to_string(it->severity), "category",
                                      category_to_string(it->category), "title", it->title);
                if (o && json_object_update_missing(o, it->data) < 0)
                        o = json_decref_null(o);
                if (!o || json_array_append_new(items, o) < 0)
                        return NULL;
        }
        return json_pack("{s:b, s:I, s:O}", "ok", n == 0, "breaches", (json_int_t) n, "items",
                         items);
}

char *check_report_summary(const CheckReport *r) {
        size_t n = check_report_breaches(r), first = r->n;
        char *s;

        if (n == 0)
                return strdup("check ok");
        for (size_t i = 0; i < r->n && first == r->n; i++)
                if (r->items[i].breach)
                        first = i;
        if (asprintf(&s, "check: %zu breach%s: %.160s%s", n, n == 1 ? "" : "es",
                     r->items[first].title, n > 1 ? ", ..." : "") < 0)
                return NULL;
        return s;
}
