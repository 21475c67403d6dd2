/* SPDX-License-Identifier: MIT */
/*
 * The control socket's verbs: ping, status, reload, incidents, show,
 * resolve and submit, in one table (manager_verbs) that says which verbs
 * change state (the control server checks the caller for those before the
 * handler runs) and which answer asynchronously; plus the spool directory
 * that appwatchctl falls back to when the daemon cannot be reached.
 * Loop thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "core/verbs.h"
#include "manager-internal.h"
#include "shared/log.h"
#include "shared/protocol.h"
#include "core/lifecycle.h"
#include "store/incidents.h"

/* Largest output a submission may carry; its tail is what matters. */
#define SUBMIT_MAX_OUTPUT (1024 * 1024)
/* Incidents listed when the client names no limit. */
#define INCIDENTS_DEFAULT_LIMIT 1000

static int fail_msg(char **ret_message, int error, const char *format, ...) _printf_(3, 4);
static int fail_msg(char **ret_message, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_message, format, ap) < 0)
                *ret_message = NULL;
        va_end(ap);
        return error;
}

static int verb_incidents(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *args = control_request_args(req);
        IncidentFilter f = { .status = -1 };
        const char *status = json_string_value(json_object_get(args, "status"));
        json_t *since = json_object_get(args, "since");
        json_t *limit = json_object_get(args, "limit");
        Incident **l = NULL;
        size_t n = 0, max = INCIDENTS_DEFAULT_LIMIT;
        bool truncated = false;
        json_t *a;
        int r;

        f.app = json_string_value(json_object_get(args, "app"));
        if (status) {
                f.status = incident_status_from_string(status);
                if (f.status < 0)
                        return fail_msg(msg, -EINVAL, "unknown status '%s': expected New, "
                                        "In Progress, Resolved or Manual Required", status);
        }
        if (since && !json_is_integer(since))
                return fail_msg(msg, -EINVAL, "\"since\" must be microseconds since the epoch");
        f.since = json_integer_value(since);
        if (limit && (!json_is_integer(limit) || json_integer_value(limit) <= 0))
                return fail_msg(msg, -EINVAL, "\"limit\" must be a positive integer");
        if (limit)
                /* Leaves room for the one more row below. */
                max = json_integer_value(limit) < INT64_MAX ? (size_t) json_integer_value(limit)
                                                            : (size_t) INT64_MAX - 1;
        /* One row more than shown tells whether the list was cut. */
        f.limit = max + 1;

        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        r = incident_list(m->store, &f, &l, &n);
        if (r < 0)
                return r;
        if (n > max) {
                truncated = true;
                for (size_t i = max; i < n; i++)
                        incident_free(l[i]);
                n = max;
        }
        a = json_array();
        for (size_t i = 0; a && i < n; i++)
                if (json_array_append_new(a, incident_to_json(l[i])) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        incident_list_free(l, n);
        if (!a)
                return -ENOMEM;
        *ret = json_pack("{s:o, s:b, s:I}", "incidents", a, "truncated", truncated, "limit",
                         (json_int_t) max);
        return *ret ? 0 : -ENOMEM;
}

static int get_id(json_t *args, int64_t *ret, char **msg) {
        json_t *id = json_object_get(args, "id");

        if (!json_is_integer(id) || json_integer_value(id) <= 0)
                return fail_msg(msg, -EINVAL, "\"id\" must be a positive integer");
        *ret = json_integer_value(id);
        return 0;
}

static int verb_show(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *args = control_request_args(req);
        _cleanup_(incident_freep) Incident *i = NULL;
        json_t *o, *occ = NULL;
        int64_t id;
        int r;

        r = get_id(args, &id, msg);
        if (r < 0)
                return r;
        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        r = incident_get(m->store, id, &i);
        if (r == -ENOENT)
                return fail_msg(msg, r, "no incident #%lld", (long long) id);
        if (r < 0)
                return r;
        r = incident_occurrences_json(m->store, id, 20, &occ);
        if (r < 0)
                return r;
        o = incident_to_json(i);
        if (!o || json_object_set_new(o, "occurrences", occ) < 0) {
                json_decref(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

static int verb_resolve(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *args = control_request_args(req);
        const char *status = json_string_value(json_object_get(args, "status"));
        IncidentStatus st = INCIDENT_RESOLVED;
        int64_t id;
        int r;

        r = get_id(args, &id, msg);
        if (r < 0)
                return r;
        if (status) {
                st = incident_status_from_string(status);
                if (st < 0)
                        return fail_msg(msg, -EINVAL, "unknown status '%s'", status);
        }
        r = lifecycle_set_status(m->txn, m->store, m->bus, id, st, INCIDENT_REASON_HUMAN);
        if (r == -ENOENT)
                return fail_msg(msg, r, "no incident #%lld", (long long) id);
        if (r < 0)
                return r;
        /* The reply means it is on disk. */
        int changed = r;
        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        r = changed;
        *ret = json_pack("{s:I, s:s, s:b}", "id", (json_int_t) id, "status",
                         incident_status_to_string(st), "changed", r > 0);
        return *ret ? 0 : -ENOMEM;
}

/*
 * A failed (or succeeded) command, from appwatchctl run/submit, the
 * OnFailure= template or the spool. Its output is one stream of its own.
 */
static int process_submission(Manager *m, json_t *args, json_t **ret, char **msg) {
        const char *app = json_string_value(json_object_get(args, "app"));
        const char *command = json_string_value(json_object_get(args, "command"));
        const char *cwd = json_string_value(json_object_get(args, "cwd"));
        const char *origin = json_string_value(json_object_get(args, "origin")) ?: "submit";
        const char *host = json_string_value(json_object_get(args, "host"));
        json_t *output = json_object_get(args, "output");
        json_t *code = json_object_get(args, "exit_code");
        _cleanup_free_ char *stream = NULL, *failed = NULL;
        const int64_t *ids;
        size_t n_ids;
        int resolved = 0, r;

        if (!app || !app[0] || strlen(app) > 128)
                return fail_msg(msg, -EINVAL, "\"app\" must be a name of 1-128 characters");
        if (!json_is_integer(code))
                return fail_msg(msg, -EINVAL, "\"exit_code\" must be an integer");
        if (output && !json_is_string(output))
                return fail_msg(msg, -EINVAL, "\"output\" must be a string");
        if (!strchr("rsu", origin[0]) ||
            (strcmp(origin, "run") != 0 && strcmp(origin, "submit") != 0 &&
             strcmp(origin, "unit") != 0))
                return fail_msg(msg, -EINVAL, "\"origin\" must be run, submit or unit");

        const char *unit = json_string_value(json_object_get(args, "unit"));
        if (unit && m->config->journal_enabled &&
            (strv_contains(m->config->journal_units, unit) ||
             strv_contains(m->config->journal_units, "*"))) {
                log_notice("Submission for %s ignored: the journal source already reads that "
                           "unit, and counting its failure twice would be wrong.", unit);
                *ret = json_pack("{s:[], s:i, s:b}", "incidents", "resolved", 0, "ignored", 1);
                return *ret ? 0 : -ENOMEM;
        }

        if (asprintf(&stream, "%s:%s:%llu", origin, app, (unsigned long long) now_realtime()) < 0)
                return -ENOMEM;
        StreamMeta meta = { .app = app, .host = host, .origin = origin,
                            .source = command ?: origin };

        r = pipeline_collect_begin(m->pipeline, stream);
        if (r < 0)
                return r;
        if (output) {
                const char *p = json_string_value(output);
                size_t len = json_string_length(output);
                /* Only the tail matters, and it bounds the work. */
                if (len > SUBMIT_MAX_OUTPUT) {
                        p += len - SUBMIT_MAX_OUTPUT;
                        len = SUBMIT_MAX_OUTPUT;
                }
                while (len > 0) {
                        const char *nl = memchr(p, '\n', len);
                        size_t l = nl ? (size_t) (nl - p) : len;
                        r = pipeline_feed(m->pipeline, stream, &meta, p, l, 0);
                        if (r < 0)
                                goto finish;
                        if (!nl)
                                break;
                        len -= l + 1;
                        p = nl + 1;
                }
        }
        r = pipeline_flush_stream(m->pipeline, stream);
        if (r < 0)
                goto finish;
        if (json_integer_value(code) != 0 && pipeline_collect_count(m->pipeline) == 0) {
                /* Nothing in the output explains the failure: record the failure itself. */
                if (asprintf(&failed, "Failed: '%s' exited with status %lld%s%s",
                             command ?: "(command)", (long long) json_integer_value(code),
                             cwd ? " in " : "", cwd ?: "") < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = pipeline_feed(m->pipeline, stream, &meta, failed, strlen(failed), 0);
                if (r >= 0)
                        r = pipeline_flush_stream(m->pipeline, stream);
                if (r < 0)
                        goto finish;
        }
        if (json_integer_value(code) == 0 && strcmp(origin, "unit") != 0) {
                r = lifecycle_resolve_app(m->txn, m->store, m->bus, app, "run");
                if (r < 0)
                        goto finish;
                resolved = r;
        }
        r = 0;
finish:
        n_ids = pipeline_collect_end(m->pipeline, &ids);
        pipeline_forget_stream(m->pipeline, stream);
        if (r < 0)
                return r;
        /* The reply promises the submission is on disk. */
        r = txn_commit(m->txn);
        if (r < 0)
                return r;
        json_t *a = json_array();
        for (size_t i = 0; a && i < n_ids; i++)
                if (json_array_append_new(a, json_integer(ids[i])) < 0) {
                        json_decref(a);
                        a = NULL;
                }
        if (!a)
                return -ENOMEM;
        *ret = json_pack("{s:o, s:i}", "incidents", a, "resolved", resolved);
        return *ret ? 0 : -ENOMEM;
}

static int spool_filter(const struct dirent *de) {
        size_t l = strlen(de->d_name);
        return de->d_name[0] != '.' && l > 5 && strcmp(de->d_name + l - 5, ".json") == 0;
}

/* Reads one spooled submission; a damaged file is moved aside, never lost. */
static int spool_one(Manager *m, const char *name) {
        _cleanup_free_ char *path = NULL, *key = NULL;
        _cleanup_free_ char *msg = NULL;
        json_auto_t *args = NULL, *reply = NULL;
        StorePosition done = {};
        json_error_t err;
        int r;

        if (asprintf(&path, "%s/%s", m->spool_dir, name) < 0 ||
            asprintf(&key, "spool:%s", name) < 0)
                return -ENOMEM;
        /* Recorded in the same commit as its incidents: seen before means
         * we crashed between that commit and the unlink. */
        r = position_load(m->store, key, &done);
        store_position_done(&done);
        if (r < 0)
                return r;
        if (r == 0) {
                args = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
                if (!json_is_object(args)) {
                        _cleanup_free_ char *bad = NULL;
                        log_warning("%s:%d: spooled submission is not valid JSON (%s); moved to "
                                    "%s.bad, ignoring", path, err.line, err.text, name);
                        if (asprintf(&bad, "%s.bad", path) >= 0)
                                (void) rename(path, bad);
                        return 0;
                }
                r = positions_set(m->positions, key, &(StorePosition) {});
                if (r < 0)
                        return r;
                r = process_submission(m, args, &reply, &msg);
                if (r < 0 && r != -EINVAL)
                        return r;
                if (r == -EINVAL)
                        log_warning("%s: spooled submission rejected: %s, ignoring", path,
                                    msg ?: "invalid");
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return log_warning_errno(-errno, "Cannot remove %s: %m", path);
        return positions_drop(m->positions, key) < 0 ? -ENOMEM : 1;
}

int manager_process_spool(Manager *m) {
        struct dirent **list = NULL;
        int n, done = 0, r = 0;

        n = scandir(m->spool_dir, &list, spool_filter, alphasort);
        if (n < 0)
                return errno == ENOENT ? 0 : log_warning_errno(-errno, "Cannot read spool %s: %m",
                                                               m->spool_dir);
        for (int i = 0; i < n; i++) {
                if (r >= 0) {
                        r = spool_one(m, list[i]->d_name);
                        if (r > 0)
                                done++;
                }
                free(list[i]);
        }
        free(list);
        if (done > 0) {
                (void) txn_commit(m->txn);
                log_info("Processed %d spooled submission%s from %s.", done, done == 1 ? "" : "s",
                         m->spool_dir);
        }
        return r < 0 ? r : done;
}

static int verb_ping(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        *ret = json_pack("{s:s}", "version", PACKAGE_VERSION);
        return *ret ? 0 : -ENOMEM;
}

static int verb_status(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        return manager_build_status(userdata, ret);
}

static int verb_submit(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;

        /* Whatever was spooled while we were away goes first, in order. */
        (void) manager_process_spool(m);
        return process_submission(m, control_request_args(req), ret, msg);
}

static int verb_reload(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        const ControlPeer *peer = control_request_peer(req);
        int r;

        log_info("Reload requested by PID %d (UID %u).", (int) peer->pid, (unsigned) peer->uid);
        r = manager_reload(userdata);
        if (r == -EINVAL)
                *msg = strdup("the new configuration was rejected; see journalctl -u appwatch");
        else if (r < 0)
                (void) fail_msg(msg, r, "the new configuration could not be applied (%s), the "
                                "running one is kept; see journalctl -u appwatch", strerror(-r));
        return r;
}

/*
 * Every verb of the control socket. A verb missing here is answered
 * EOPNOTSUPP (after the privilege check that an unknown verb gets as if
 * mutating). A verb that needs a worker or the network is marked .async,
 * keeps its ControlRequest and answers when the work is done.
 */
const ControlVerb manager_verbs[] = {
        { .name = "ping", .handler = verb_ping },
        { .name = "status", .handler = verb_status },
        { .name = "incidents", .handler = verb_incidents },
        { .name = "show", .handler = verb_show },
        { .name = "resolve", .mutating = true, .handler = verb_resolve },
        { .name = "submit", .mutating = true, .handler = verb_submit },
        { .name = "reload", .mutating = true, .handler = verb_reload },
        { .name = "outbox", .handler = manager_verb_outbox },
        { .name = "outbox-retry", .mutating = true, .handler = manager_verb_outbox_retry },
        { .name = "test-notify", .mutating = true, .async = true, .handler = manager_verb_test_notify },
};
const size_t manager_n_verbs = ELEMENTSOF(manager_verbs);
