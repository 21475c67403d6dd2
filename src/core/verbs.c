/* SPDX-License-Identifier: MIT */
/*
 * The control socket's verbs: ping, status, reload, incidents, show,
 * resolve and submit, in one table (manager_verbs) that says which verbs
 * change state (the control server checks the caller for those before the
 * handler runs) and which answer asynchronously; plus the spool directory
 * that appwatchctl falls back to when the daemon cannot be reached.
 *
 * Every field of every verb is read through protocol_get_*(): a field of the
 * wrong type is an EINVAL naming it, never taken as absent.
 *
 * The spool (/var/spool/appwatch, 3770 root:appwatch) is written by members
 * of the appwatch group and read by us as root, so what is in it is not
 * trusted: an entry is opened relative to the directory without following
 * symlinks and without blocking, and only a regular file with one link, of
 * at most SPOOL_MAX_BYTES, owned by a user who may submit (root, our uid, a
 * member of the appwatch group), is read. Anything else is moved aside as
 * NAME.bad with a warning naming it and why; no error quotes its content.
 *
 * A submission carries the id its client made ("submission_id"); the ids
 * taken are recorded in the transaction of their incidents, and a second
 * copy (the client gave up waiting and spooled it, while we still took it
 * from the socket) is answered as taken, with "duplicate": true, and
 * ignored. Loop thread only.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
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
#include "shared/utf8.h"
#include "core/lifecycle.h"
#include "store/ai.h"
#include "store/incidents.h"
#include "store/submissions.h"
#include "store/fixes.h"

/* Largest output a submission may carry; its tail is what matters. */
#define SUBMIT_MAX_OUTPUT (1024 * 1024)
/*
 * Largest spooled submission read. appwatchctl keeps 256 KiB of output,
 * which JSON escaping can grow to 1.5 MiB, and caps the command line; a
 * bigger file is not one of its submissions.
 */
#define SPOOL_MAX_BYTES (4 * 1024 * 1024)
/* Who may submit besides root and us: the group of the control socket and
 * the spool (CONTROL_GROUP in manager.c). */
#define SUBMIT_GROUP "appwatch"
/* How long the ids of taken submissions are kept: longer than any client
 * waits before spooling, and than a spool stays unread. */
#define SUBMISSION_KEEP_USEC (7 * 24 * 3600 * USEC_PER_SEC)
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
        const char *status = NULL;
        Incident **l = NULL;
        size_t n = 0, max = INCIDENTS_DEFAULT_LIMIT;
        int64_t since = 0, limit = 0;
        bool truncated = false;
        json_t *a;
        int r;

        if ((r = protocol_get_string(args, "app", &f.app, msg)) < 0 ||
            (r = protocol_get_string(args, "status", &status, msg)) < 0)
                return r;
        if (status) {
                f.status = incident_status_from_string(status);
                if (f.status < 0)
                        return fail_msg(msg, -EINVAL, "unknown status '%s': expected New, "
                                        "In Progress, Resolved or Manual Required", status);
        }
        r = protocol_get_integer(args, "since", &since, NULL);
        if (r < 0)
                return fail_msg(msg, -EINVAL, "\"since\" must be microseconds since the epoch");
        f.since = since;
        r = protocol_get_integer(args, "limit", &limit, NULL);
        if (r < 0 || (r > 0 && limit <= 0))
                return fail_msg(msg, -EINVAL, "\"limit\" must be a positive integer");
        if (r > 0)
                /* Leaves room for the one more row below. */
                max = limit < INT64_MAX ? (size_t) limit : (size_t) INT64_MAX - 1;
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
        int64_t id = 0;

        if (protocol_get_integer(args, "id", &id, NULL) <= 0 || id <= 0)
                return fail_msg(msg, -EINVAL, "\"id\" must be a positive integer");
        *ret = id;
        return 0;
}

/* Where the analysis came from, and why it is offline (store/ai.h). */
static int show_ai(Manager *m, int64_t id, json_t *o) {
        _cleanup_(incident_ai_done) IncidentAi ai = {};
        int r;

        r = incident_get_ai(m->store, id, &ai);
        if (r < 0)
                return r;
        if ((ai.source && json_object_set_new(o, "analysis_source", json_string(ai.source)) < 0) ||
            (ai.note && json_object_set_new(o, "analysis_note", json_string(ai.note)) < 0) ||
            (ai.ai_category &&
             json_object_set_new(o, "ai_category", json_string(ai.ai_category)) < 0))
                return -ENOMEM;
        return 0;
}

static int verb_show(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *args = control_request_args(req);
        _cleanup_(incident_freep) Incident *i = NULL;
        json_t *o, *occ = NULL;
        int64_t id = 0;
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
        r = show_ai(m, id, o);
        if (r >= 0)
                r = manager_show_fix_attempts(m, id, o);
        if (r < 0) {
                json_decref(o);
                return r;
        }
        *ret = o;
        return 0;
}

static int verb_resolve(ControlRequest *req, void *userdata, json_t **ret, char **msg) {
        Manager *m = userdata;
        json_t *args = control_request_args(req);
        const char *status = NULL;
        IncidentStatus st = INCIDENT_RESOLVED;
        int64_t id = 0;
        int r;

        r = get_id(args, &id, msg);
        if (r < 0)
                return r;
        r = protocol_get_string(args, "status", &status, msg);
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

/* The fields of a submission, checked. Strings point into the args. */
typedef struct Submission {
        const char *app, *command, *cwd, *origin, *host, *unit, *invocation, *id;
        const char *output;
        size_t output_len;
        int64_t exit_code, output_cut, started, duration_usec;
} Submission;

static int submission_parse(json_t *args, Submission *ret, char **msg) {
        Submission sub = { .origin = "submit" };
        static const struct {
                const char *name;
                size_t offset;
        } strings[] = {
                { "app", offsetof(Submission, app) },
                { "command", offsetof(Submission, command) },
                { "cwd", offsetof(Submission, cwd) },
                { "origin", offsetof(Submission, origin) },
                { "host", offsetof(Submission, host) },
                { "unit", offsetof(Submission, unit) },
                { "invocation", offsetof(Submission, invocation) },
                { "submission_id", offsetof(Submission, id) },
                { "output", offsetof(Submission, output) },
        }, integers[] = {
                { "output_cut", offsetof(Submission, output_cut) },
                { "started", offsetof(Submission, started) },
                { "duration_usec", offsetof(Submission, duration_usec) },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                r = protocol_get_string(args, strings[i].name,
                                        (const char **) ((char *) &sub + strings[i].offset), msg);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(integers); i++) {
                r = protocol_get_integer(args, integers[i].name,
                                         (int64_t *) ((char *) &sub + integers[i].offset), msg);
                if (r < 0)
                        return r;
        }
        if (!sub.app || !sub.app[0] || strlen(sub.app) > 128)
                return fail_msg(msg, -EINVAL, "\"app\" must be a name of 1-128 characters");
        if (protocol_get_integer(args, "exit_code", &sub.exit_code, NULL) <= 0)
                return fail_msg(msg, -EINVAL, "\"exit_code\" must be an integer");
        if (!strv_contains((char *const[]) { "run", "submit", "unit", NULL }, sub.origin))
                return fail_msg(msg, -EINVAL, "\"origin\" must be run, submit or unit");
        if (sub.id && !submission_id_is_valid(sub.id))
                return fail_msg(msg, -EINVAL, "\"submission_id\" must be 1-%d characters of "
                                "0-9, a-f and -", SUBMISSION_ID_MAX);
        if (sub.output_cut < 0)
                return fail_msg(msg, -EINVAL, "\"output_cut\" must not be negative");
        if (sub.output)
                sub.output_len = json_string_length(json_object_get(args, "output"));
        *ret = sub;
        return 0;
}

/*
 * A failed (or succeeded) command, from appwatchctl run/submit, the
 * OnFailure= template or the spool. Its output is one stream of its own.
 */
static int process_submission(Manager *m, json_t *args, json_t **ret, char **msg) {
        _cleanup_free_ char *stream = NULL, *failed = NULL;
        Submission sub = {};
        const int64_t *ids;
        size_t n_ids;
        int resolved = 0, r;

        r = submission_parse(args, &sub, msg);
        if (r < 0)
                return r;

        if (sub.id) {
                r = submission_seen(m->store, sub.id);
                if (r < 0)
                        return r;
                if (r > 0) {
                        log_info("Submission %s for %s was taken already, ignoring this copy.",
                                 sub.id, sub.app);
                        *ret = json_pack("{s:[], s:i, s:b}", "incidents", "resolved", 0,
                                         "duplicate", 1);
                        return *ret ? 0 : -ENOMEM;
                }
        }

        if (sub.unit && m->config->journal_enabled &&
            (strv_contains(m->config->journal_units, sub.unit) ||
             strv_contains(m->config->journal_units, "*"))) {
                log_notice("Submission for %s ignored: the journal source already reads that "
                           "unit, and counting its failure twice would be wrong.", sub.unit);
                *ret = json_pack("{s:[], s:i, s:b}", "incidents", "resolved", 0, "ignored", 1);
                return *ret ? 0 : -ENOMEM;
        }
        if (sub.output_cut > 0)
                log_debug("Submission for %s: its client left out the first %lld bytes of "
                          "output.", sub.app, (long long) sub.output_cut);

        if (asprintf(&stream, "%s:%s:%llu", sub.origin, sub.app,
                     (unsigned long long) now_realtime()) < 0)
                return -ENOMEM;
        StreamMeta meta = { .app = sub.app, .host = sub.host, .origin = sub.origin,
                            .source = sub.command ?: sub.origin };

        r = pipeline_collect_begin(m->pipeline, stream);
        if (r < 0)
                return r;
        if (sub.output) {
                const char *p = sub.output;
                size_t len = sub.output_len;
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
        if (sub.exit_code != 0 && pipeline_collect_count(m->pipeline) == 0) {
                /* Nothing in the output explains the failure: record the failure itself. */
                if (asprintf(&failed, "Failed: '%s' exited with status %lld%s%s",
                             sub.command ?: "(command)", (long long) sub.exit_code,
                             sub.cwd ? " in " : "", sub.cwd ?: "") < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = pipeline_feed(m->pipeline, stream, &meta, failed, strlen(failed), 0);
                if (r >= 0)
                        r = pipeline_flush_stream(m->pipeline, stream);
                if (r < 0)
                        goto finish;
        }
        if (sub.exit_code == 0 && strcmp(sub.origin, "unit") != 0) {
                r = lifecycle_resolve_app(m->txn, m->store, m->bus, sub.app, "run");
                if (r < 0)
                        goto finish;
                resolved = r;
        }
        if (sub.id) {
                /* In the transaction of the incidents: both are taken, or neither. */
                r = txn_begin(m->txn);
                if (r >= 0)
                        r = submission_record(m->store, sub.id, (int64_t) now_realtime());
                if (r < 0) {
                        r = txn_fatal(m->txn, r, "record a submission");
                        goto finish;
                }
        }
        r = 0;
finish:
        n_ids = pipeline_collect_end(m->pipeline, &ids);
        pipeline_forget_stream(m->pipeline, stream);
        if (r < 0)
                return r;
        if (strcmp(sub.origin, "run") == 0 && sub.command && sub.exit_code != 0) {
                /* The fixer's verification runs the wrapped command again. */
                r = txn_begin(m->txn);
                for (size_t i = 0; r >= 0 && i < n_ids; i++)
                        r = incident_set_run_command(m->store, ids[i], sub.command, sub.cwd);
                if (r < 0 && r != -ENOENT)
                        return txn_fatal(m->txn, r, "record the wrapped command");
        }
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

int manager_prune_submissions(Manager *m) {
        int64_t before = (int64_t) now_realtime() - (int64_t) SUBMISSION_KEEP_USEC;
        int r;

        r = txn_begin(m->txn);
        if (r >= 0)
                r = submission_prune(m->store, before);
        if (r < 0)
                return txn_fatal(m->txn, r, "prune the submissions taken");
        if (r > 0)
                log_debug("Forgot %d submission id%s older than a week.", r, r == 1 ? "" : "s");
        return r;
}

static int spool_filter(const struct dirent *de) {
        size_t l = strlen(de->d_name);
        return de->d_name[0] != '.' && l > 5 && strcmp(de->d_name + l - 5, ".json") == 0;
}

/* Whether the owner of a spooled file could have submitted it over the socket. */
static bool uid_may_submit(uid_t uid) {
        struct passwd *pw;
        struct group *g;
        gid_t groups[256];
        int n = ELEMENTSOF(groups);

        if (uid == 0 || uid == geteuid())
                return true;
        g = getgrnam(SUBMIT_GROUP);
        pw = getpwuid(uid);
        if (!g || !pw)
                return false;
        if (pw->pw_gid == g->gr_gid)
                return true;
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == g->gr_gid)
                        return true;
        return false;
}

/* Moves a spool entry that is not a submission aside as NAME.bad. */
static void spool_set_aside(Manager *m, int dfd, const char *name, const char *shown,
                            const char *reason) {
        _cleanup_free_ char *bad = NULL;

        if (asprintf(&bad, "%s.bad", name) < 0 || renameat(dfd, name, dfd, bad) < 0) {
                /* Never read again either way: an entry left there would come back at
                 * every submission. */
                log_warning("Spooled entry %s/%s %s, and it cannot be moved aside (%s); "
                            "removing it.", m->spool_dir, shown, reason, strerror(bad ? errno
                                                                                 : ENOMEM));
                (void) unlinkat(dfd, name, 0);
                return;
        }
        log_warning("Spooled entry %s/%s %s; moved to %s.bad, ignoring.", m->spool_dir, shown,
                    reason, shown);
}

/*
 * Reads the spool entry name of dfd into *ret (a JSON object). 0 with *ret
 * set; 1 when it is not a submission (set aside, with a warning); -ENOENT
 * when it is gone; -ENOMEM.
 */
static int spool_read(Manager *m, int dfd, const char *name, const char *shown, json_t **ret) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL, *reason = NULL;
        json_error_t err;
        struct stat st;
        size_t len = 0;
        json_t *o;

        /* Look before opening: a device or a FIFO is never opened. */
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                spool_set_aside(m, dfd, name, shown, "cannot be examined");
                return 1;
        }
        if (S_ISREG(st.st_mode)) {
                fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 && errno == ENOENT)
                        return -ENOENT;
                /* Swapped since (ELOOP: for a symlink), or not ours to read. */
                if (fd < 0 || fstat(fd, &st) < 0) {
                        if (asprintf(&reason, "cannot be opened (%s)", strerror(errno)) < 0)
                                return -ENOMEM;
                        spool_set_aside(m, dfd, name, shown, reason);
                        return 1;
                }
        }
        char why[128] = "";
        if (S_ISLNK(st.st_mode))
                snprintf(why, sizeof why, "is a symlink");
        else if (S_ISFIFO(st.st_mode))
                snprintf(why, sizeof why, "is a FIFO");
        else if (!S_ISREG(st.st_mode))
                snprintf(why, sizeof why, "is not a regular file");
        else if (st.st_nlink != 1)
                /* A hard link to someone else's file: appwatchctl renames a file of its own. */
                snprintf(why, sizeof why, "has %ju links, not one", (uintmax_t) st.st_nlink);
        else if (st.st_size > SPOOL_MAX_BYTES)
                snprintf(why, sizeof why, "is larger than %d bytes", SPOOL_MAX_BYTES);
        else if (!uid_may_submit(st.st_uid))
                snprintf(why, sizeof why, "belongs to UID %u, who may not submit (root and the "
                         "'%s' group may)", (unsigned) st.st_uid, SUBMIT_GROUP);
        if (why[0]) {
                spool_set_aside(m, dfd, name, shown, why);
                return 1;
        }
        assert(fd >= 0);

        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        /* Read no more than was there when checked, and see whether it grew. */
        while (len <= (size_t) st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t) st.st_size + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        if (asprintf(&reason, "cannot be read (%s)", strerror(errno)) < 0)
                                return -ENOMEM;
                        spool_set_aside(m, dfd, name, shown, reason);
                        return 1;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (len > (size_t) st.st_size) {
                spool_set_aside(m, dfd, name, shown, "grew while it was read");
                return 1;
        }
        o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(o)) {
                /* The position only: jansson's text can quote the file's bytes. */
                if (o)
                        reason = strdup("is not a JSON object");
                else if (asprintf(&reason, "is not valid JSON (at line %d, column %d)", err.line,
                                  err.column) < 0)
                        reason = NULL;
                json_decref(o);
                if (!reason)
                        return -ENOMEM;
                spool_set_aside(m, dfd, name, shown, reason);
                return 1;
        }
        *ret = o;
        return 0;
}

/* Takes one spooled submission; what is not one is set aside, never lost.
 * 1 when done with the entry, or -errno (fatal: stop reading the spool). */
static int spool_one(Manager *m, int dfd, const char *name) {
        _cleanup_free_ char *shown = NULL, *key = NULL, *msg = NULL;
        json_auto_t *args = NULL, *reply = NULL;
        StorePosition done = {};
        int r;

        /* The name is someone else's: valid UTF-8 from here on. */
        shown = utf8_dup(name);
        if (!shown || asprintf(&key, "spool:%s", shown) < 0)
                return -ENOMEM;
        /* Recorded in the same commit as its incidents: seen before means
         * we crashed between that commit and the unlink. */
        r = position_load(m->store, key, &done);
        store_position_done(&done);
        if (r < 0)
                return r;
        if (r == 0) {
                r = spool_read(m, dfd, name, shown, &args);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return r;
                if (r > 0)
                        return 0;
                r = positions_set(m->positions, key, &(StorePosition) {});
                if (r < 0)
                        return r;
                r = process_submission(m, args, &reply, &msg);
                if (r < 0 && r != -EINVAL)
                        return r;
                if (r == -EINVAL) {
                        _cleanup_free_ char *reason = NULL;
                        /* Our own message: it names a field, never quotes a value. */
                        if (asprintf(&reason, "was rejected: %s", msg ?: "invalid") < 0)
                                return -ENOMEM;
                        spool_set_aside(m, dfd, name, shown, reason);
                        return positions_drop(m->positions, key) < 0 ? -ENOMEM : 1;
                }
        }
        if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                return log_warning_errno(-errno, "Cannot remove %s/%s: %m", m->spool_dir, shown);
        return positions_drop(m->positions, key) < 0 ? -ENOMEM : 1;
}

int manager_process_spool(Manager *m) {
        _cleanup_close_ int dfd = -EBADF;
        struct dirent **list = NULL;
        int n, done = 0, r = 0;

        dfd = open(m->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : log_warning_errno(-errno, "Cannot open spool %s: %m",
                                                               m->spool_dir);
        n = scandirat(dfd, ".", &list, spool_filter, alphasort);
        if (n < 0)
                return log_warning_errno(-errno, "Cannot read spool %s: %m", m->spool_dir);
        for (int i = 0; i < n; i++) {
                if (r >= 0) {
                        r = spool_one(m, dfd, list[i]->d_name);
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
        Manager *m = userdata;

        /* appwatchctl fits a submission to the request limit it learns here. */
        *ret = json_pack("{s:s, s:I}", "version", PACKAGE_VERSION, "max_request_bytes",
                         (json_int_t) m->config->max_request_bytes);
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
        { .name = "check", .mutating = true, .async = true, .handler = manager_verb_check },
        { .name = "health", .mutating = true, .async = true, .handler = manager_verb_health },
        { .name = "report", .mutating = true, .handler = manager_verb_report },
        { .name = "report-print", .handler = manager_verb_report_print },
        { .name = "fix", .mutating = true, .async = true, .handler = manager_verb_fix },
};
const size_t manager_n_verbs = ELEMENTSOF(manager_verbs);
