/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl run / submit / submit-unit: hand a failed (or, for run, a
 * successful) command to appwatchd. No submission is ever dropped:
 *
 * - it is fitted to the request limit the daemon announces (ping's
 *   max_request_bytes): the head of the output is cut, its tail kept, and
 *   the bytes left out are counted in "output_cut" and said on stderr;
 * - whenever it cannot be delivered — the daemon is away, busy, slow, out of
 *   client slots, or answers anything but a rejection of the submission
 *   itself (EINVAL) — it is written to the spool directory, which the daemon
 *   reads at start and before every submission;
 * - it carries a random id ("submission_id"), so a copy that reached the
 *   daemon although we gave up waiting and spooled it is counted once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/client.h"
#include "ingest/unit-log.h"
#include "shared/protocol.h"
#include "shared/utf8.h"

/* How much of a command's output is kept and sent: its tail. */
#define OUTPUT_TAIL (256 * 1024)
/* The longest command line sent (a spooled file stays small: the daemon
 * reads at most 4 MiB of one). */
#define COMMAND_MAX (16 * 1024)
/* The smallest MaxRequestBytes= a daemon can have: a request that fits goes
 * without asking for the limit first. */
#define REQUEST_MIN_LIMIT 1024
/* What protocol_request() adds around the args: {"verb":"submit","args":...}\n */
#define REQUEST_OVERHEAD 64
#define DEFAULT_SPOOL_DIR "/var/spool/appwatch"

extern char **environ;

/* A ring that keeps the last OUTPUT_TAIL bytes, and counts those it dropped. */
typedef struct Tail {
        char buf[OUTPUT_TAIL];
        size_t start, len;
        uint64_t dropped;
} Tail;

static void tail_add(Tail *t, const char *p, size_t n) {
        if (n >= OUTPUT_TAIL) {
                t->dropped += t->len + (n - OUTPUT_TAIL);
                t->start = t->len = 0;
                p += n - OUTPUT_TAIL;
                n = OUTPUT_TAIL;
        }
        for (size_t i = 0; i < n; i++) {
                if (t->len == OUTPUT_TAIL) {
                        t->start = (t->start + 1) % OUTPUT_TAIL;
                        t->len--;
                        t->dropped++;
                }
                t->buf[(t->start + t->len) % OUTPUT_TAIL] = p[i];
                t->len++;
        }
}

/*
 * The kept bytes as valid UTF-8 (invalid bytes as \xHH), starting at a line
 * boundary when cut; *ret_cut is how many bytes of the output are not in it.
 */
static char *tail_string(const Tail *t, uint64_t *ret_cut) {
        _cleanup_free_ char *s = malloc(t->len + 1);
        size_t skip = 0;

        if (!s)
                return NULL;
        for (size_t i = 0; i < t->len; i++)
                s[i] = t->buf[(t->start + i) % OUTPUT_TAIL];
        s[t->len] = 0;
        if (t->dropped > 0) {
                char *nl = memchr(s, '\n', t->len);
                if (nl)
                        skip = (size_t) (nl - s) + 1;
        }
        *ret_cut = t->dropped + skip;
        return utf8_escape_invalid(s + skip, t->len - skip);
}

static const char *spool_dir(void) {
        return getenv("APPWATCH_SPOOL_DIR") ?: DEFAULT_SPOOL_DIR;
}

/* Writes args to the spool atomically (temp file, then rename). */
static int spool_write(json_t *args, char **ret_path) {
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        _cleanup_free_ char *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *id = json_string_value(json_object_get(args, "submission_id")) ?: "";
        size_t len;

        s = json_dumps(args, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        /* Named in time order (the daemon takes them in name order), unique by the id. */
        if (asprintf(&path, "%s/%llu-%d-%.8s.json", spool_dir(),
                     (unsigned long long) now_realtime(), (int) getpid(), id) < 0 ||
            asprintf(&tmp, "%s/.%llu-%d-%.8s.tmp", spool_dir(),
                     (unsigned long long) now_realtime(), (int) getpid(), id) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        len = strlen(s);
        if (write(fd, s, len) != (ssize_t) len || fsync(fd) < 0) {
                int r = errno ? -errno : -EIO;
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                int r = -errno;
                (void) unlink(tmp);
                return r;
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* A random 128-bit id, as 32 hex digits, for the daemon to recognise copies by. */
static int make_submission_id(char ret[static 33]) {
        uint8_t b[16];
        size_t n = 0;

        while (n < sizeof b) {
                ssize_t k = getrandom(b + n, sizeof b - n, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                n += (size_t) k;
        }
        for (size_t i = 0; i < sizeof b; i++)
                snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

/* The size of the submit request that would carry args. */
static size_t request_size(json_t *args) {
        _cleanup_free_ char *s = json_dumps(args, JSON_COMPACT | JSON_ENSURE_ASCII);
        return s ? strlen(s) + REQUEST_OVERHEAD : SIZE_MAX;
}

/*
 * Cuts the head of args' "output" until the request fits in limit bytes,
 * at a line boundary where there is one, and adds what it left out to
 * "output_cut". Returns the bytes cut now (0 when it fitted), -E2BIG when it
 * cannot fit even without output, or -ENOMEM.
 */
static int64_t fit_request(json_t *args, size_t limit) {
        int64_t cut = 0;
        size_t size;

        while ((size = request_size(args)) > limit) {
                json_t *o = json_object_get(args, "output");
                const char *p = json_string_value(o);
                size_t len = json_string_length(o), skip;
                const char *nl;

                if (size == SIZE_MAX)
                        return -ENOMEM;
                if (!p || len == 0)
                        return -E2BIG;
                /* Escaping only grows text: cutting the excess in raw bytes is enough,
                 * and the loop catches what the count of output_cut adds. */
                skip = size - limit;
                if (skip >= len)
                        skip = len;
                else {
                        nl = memchr(p + skip, '\n', len - skip);
                        if (nl)
                                skip = (size_t) (nl - p) + 1;
                        else
                                /* Never in the middle of a UTF-8 sequence. */
                                while (skip < len && ((unsigned char) p[skip] & 0xC0) == 0x80)
                                        skip++;
                }
                _cleanup_free_ char *rest = strndup(p + skip, len - skip);
                if (!rest || json_object_set_new(args, "output", json_string(rest)) < 0)
                        return -ENOMEM;
                cut += (int64_t) skip;
                json_int_t before = json_integer_value(json_object_get(args, "output_cut"));
                if (json_object_set_new(args, "output_cut", json_integer(before + (json_int_t) skip)) < 0)
                        return -ENOMEM;
        }
        return cut;
}

/* The request limit the daemon announces: ping's max_request_bytes. */
static int daemon_request_limit(const CtlGlobals *g, size_t *ret, char **ret_message) {
        json_auto_t *data = NULL;
        json_t *v;
        int r;

        r = ctl_call(g, "ping", NULL, &data, ret_message);
        if (r < 0)
                return r;
        v = json_object_get(data, "max_request_bytes");
        /* A daemon older than the announcement has the default limit. */
        *ret = json_is_integer(v) && json_integer_value(v) >= REQUEST_MIN_LIMIT
                       ? (size_t) json_integer_value(v) : PROTOCOL_DEFAULT_MAX_REQUEST;
        return 0;
}

/* Submits args (stolen; NULL on OOM); spools it whenever it cannot be delivered.
 * Returns 0 or -errno. */
static int submit(const CtlGlobals *g, json_t *args, bool quiet) {
        json_auto_t *data = NULL, *owned = args;
        _cleanup_free_ char *message = NULL, *path = NULL;
        char id[33];
        json_t *ids, *incident;
        size_t i, limit = REQUEST_MIN_LIMIT;
        int r;

        if (!args) {
                fprintf(stderr, "appwatchctl: cannot build the submission: %s\n",
                        strerror(ENOMEM));
                return -ENOMEM;
        }
        r = make_submission_id(id);
        if (r < 0 || json_object_set_new(args, "submission_id", json_string(id)) < 0) {
                fprintf(stderr, "appwatchctl: cannot make a submission id: %s\n",
                        strerror(r < 0 ? -r : ENOMEM));
                return r < 0 ? r : -ENOMEM;
        }

        r = 0;
        if (request_size(args) > REQUEST_MIN_LIMIT)
                r = daemon_request_limit(g, &limit, &message);
        if (r >= 0) {
                int64_t cut = fit_request(args, limit);
                if (cut == -E2BIG)
                        /* Only the spool, which has no request limit, can take it. */
                        r = -EMSGSIZE;
                else if (cut < 0)
                        r = (int) cut;
                else if (cut > 0)
                        fprintf(stderr, "appwatch: the output is longer than the daemon takes "
                                "(%zu bytes a request): its first %lld bytes are left out, the "
                                "last %zu kept.\n", limit,
                                (long long) json_integer_value(json_object_get(args, "output_cut")),
                                json_string_length(json_object_get(args, "output")));
        }
        if (r >= 0)
                r = ctl_call(g, "submit", json_incref(args), &data, &message);
        if (r >= 0) {
                if (!quiet && json_is_true(json_object_get(data, "duplicate")))
                        fprintf(stderr, "appwatch: this submission was recorded already\n");
                ids = json_object_get(data, "incidents");
                if (!quiet)
                        json_array_foreach(ids, i, incident)
                                fprintf(stderr, "appwatch: recorded incident #%lld "
                                        "(appwatchctl show %lld)\n",
                                        (long long) json_integer_value(incident),
                                        (long long) json_integer_value(incident));
                if (!quiet && json_integer_value(json_object_get(data, "resolved")) > 0)
                        fprintf(stderr, "appwatch: resolved %lld incident(s) of this app\n",
                                (long long) json_integer_value(json_object_get(data, "resolved")));
                return 0;
        }
        /* The daemon read the submission and refused what it says: spooling it would
         * only have it refused again. */
        if (r == -EINVAL) {
                ctl_print_error(g, "submit", r, message);
                return r;
        }
        _cleanup_free_ char *why = NULL;
        if (asprintf(&why, "%s", message ?: strerror(-r)) < 0)
                why = NULL;
        r = spool_write(owned, &path);
        if (r < 0) {
                fprintf(stderr, "appwatchctl: the submission could not be handed to appwatchd "
                        "at %s (%s), and cannot be spooled in %s: %s\n", g->socket_path,
                        why ?: "?", spool_dir(), strerror(-r));
                return r;
        }
        if (!quiet)
                fprintf(stderr, "appwatch: the submission could not be handed to appwatchd (%s); "
                        "saved to %s, which appwatchd reads at its next start or "
                        "submission.\n", why ?: "?", path);
        return 0;
}

/* A string from outside (argv, the environment, the cwd) as valid UTF-8, at most max bytes. */
static char *outside_string(const char *s, size_t max) {
        size_t l = strlen(s);

        if (l <= max)
                return utf8_escape_invalid(s, l);
        _cleanup_free_ char *cut = utf8_escape_invalid(s, max);
        char *r = NULL;
        if (cut && asprintf(&r, "%s [... %zu more bytes]", cut, l - max) < 0)
                r = NULL;
        return r;
}

static char *default_app(void) {
        char cwd[PATH_MAX];

        if (!getcwd(cwd, sizeof cwd))
                return strdup("unknown");
        return strdup(basename(cwd));
}

static char *join_argv(char **argv) {
        size_t n = 1;
        char *s, *p;

        for (char **a = argv; *a; a++)
                n += strlen(*a) * 4 + 3;
        s = p = malloc(n);
        if (!s)
                return NULL;
        for (char **a = argv; *a; a++) {
                bool plain = **a && strspn(*a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                "0123456789-_./=:,+@%") == strlen(*a);
                if (a != argv)
                        *p++ = ' ';
                if (plain) {
                        p = stpcpy(p, *a);
                        continue;
                }
                *p++ = '\'';
                for (const char *c = *a; *c; c++) {
                        if (*c == '\'')
                                p = stpcpy(p, "'\\''");
                        else
                                *p++ = *c;
                }
                *p++ = '\'';
        }
        *p = 0;
        return s;
}

/* Copies data from fd to out and into the tail; returns bytes read, 0 at EOF. */
static ssize_t pump(int fd, int out, Tail *t) {
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof buf);

        if (n > 0) {
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t) (n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                break;     /* our own stdout is gone: keep collecting */
                        off += w;
                }
                tail_add(t, buf, (size_t) n);
        }
        return n;
}

int verb_run(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "app", required_argument, NULL, 'a' },
                { "quiet", no_argument, NULL, 'q' },
                {}
        };
        _cleanup_free_ char *app = NULL, *command = NULL, *output = NULL;
        _cleanup_free_ char *app_sent = NULL, *command_sent = NULL, *cwd_sent = NULL;
        _cleanup_free_ Tail *tail = NULL;
        uint64_t cut = 0;
        int out_pipe[2] = { -EBADF, -EBADF }, err_pipe[2] = { -EBADF, -EBADF };
        posix_spawn_file_actions_t fa;
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
        bool quiet = false;
        char cwd[PATH_MAX];
        usec_t started;
        pid_t pid;
        int c, status, code, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+ha:q", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        ctl_verb_help("run");
                        return CTL_EXIT_OK;
                case 'a':
                        free(app);
                        app = strdup(optarg);
                        break;
                case 'q':
                        quiet = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind >= argc) {
                fprintf(stderr, "Usage: appwatchctl run [--app NAME] -- COMMAND [ARGS...]\n");
                return CTL_EXIT_USAGE;
        }
        if (!app)
                app = default_app();
        command = join_argv(argv + optind);
        tail = calloc(1, sizeof *tail);
        if (!app || !command || !tail || !getcwd(cwd, sizeof cwd))
                return CTL_EXIT_FAILURE;
        command_sent = outside_string(command, COMMAND_MAX);
        app_sent = outside_string(app, 128);
        cwd_sent = outside_string(cwd, PATH_MAX);
        if (!command_sent || !app_sent || !cwd_sent)
                return CTL_EXIT_FAILURE;

        if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
                perror("appwatchctl: pipe");
                return CTL_EXIT_FAILURE;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
        started = now_realtime();
        r = posix_spawnp(&pid, argv[optind], &fa, NULL, argv + optind, environ);
        posix_spawn_file_actions_destroy(&fa);
        safe_close(out_pipe[1]);
        safe_close(err_pipe[1]);
        if (r != 0) {
                fprintf(stderr, "appwatchctl: cannot run '%s': %s\n", argv[optind], strerror(r));
                tail_add(tail, "appwatchctl: cannot run the command: ", 37);
                tail_add(tail, strerror(r), strlen(strerror(r)));
                code = 127;
                safe_close(out_pipe[0]);
                safe_close(err_pipe[0]);
                goto report;
        }
        /* Like a shell: ^C goes to the command; we wait and report. */
        sigaction(SIGINT, &ign, &old_int);
        sigaction(SIGQUIT, &ign, &old_quit);

        struct pollfd p[2] = { { .fd = out_pipe[0], .events = POLLIN },
                               { .fd = err_pipe[0], .events = POLLIN } };
        while (p[0].fd >= 0 || p[1].fd >= 0) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int k = 0; k < 2; k++)
                        if (p[k].fd >= 0 && p[k].revents) {
                                if (pump(p[k].fd, k == 0 ? STDOUT_FILENO : STDERR_FILENO,
                                         tail) <= 0) {
                                        safe_close(p[k].fd);
                                        p[k].fd = -1;
                                }
                        }
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

report:
        output = tail_string(tail, &cut);
        if (!output)
                return code;
        (void) submit(g, json_pack("{s:s, s:s, s:s, s:i, s:s, s:I, s:s, s:I, s:I}",
                                   "app", app_sent, "command", command_sent, "cwd", cwd_sent,
                                   "exit_code", code, "output", output,
                                   "output_cut", (json_int_t) cut, "origin", "run",
                                   "started", (json_int_t) started,
                                   "duration_usec", (json_int_t) (now_realtime() - started)),
                      quiet || code == 0);
        /* The command's own status, whatever happened to the report. */
        return code;
}

int verb_submit(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "app", required_argument, NULL, 'a' },
                { "exit-code", required_argument, NULL, 'e' },
                { "command", required_argument, NULL, 'c' },
                {}
        };
        _cleanup_free_ char *app = NULL, *output = NULL;
        _cleanup_free_ char *app_sent = NULL, *command_sent = NULL, *cwd_sent = NULL;
        _cleanup_free_ Tail *tail = NULL;
        const char *command = NULL;
        uint64_t cut = 0;
        char cwd[PATH_MAX];
        long code = 1;
        char *end;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "+ha:e:c:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        ctl_verb_help("submit");
                        return CTL_EXIT_OK;
                case 'a':
                        free(app);
                        app = strdup(optarg);
                        break;
                case 'e':
                        code = strtol(optarg, &end, 10);
                        if (*end || code < 0 || code > 255) {
                                fprintf(stderr, "appwatchctl submit: invalid --exit-code='%s': "
                                        "expected 0-255.\n", optarg);
                                return CTL_EXIT_USAGE;
                        }
                        break;
                case 'c':
                        command = optarg;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (!app || optind < argc) {
                fprintf(stderr, "Usage: appwatchctl submit --app NAME [--exit-code N] "
                        "[--command \"...\"] < LOG\n");
                return CTL_EXIT_USAGE;
        }
        tail = calloc(1, sizeof *tail);
        if (!tail || !getcwd(cwd, sizeof cwd))
                return CTL_EXIT_FAILURE;
        for (;;) {
                char buf[65536];
                ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        perror("appwatchctl submit: reading standard input");
                        return CTL_EXIT_FAILURE;
                }
                if (n == 0)
                        break;
                tail_add(tail, buf, (size_t) n);
        }
        output = tail_string(tail, &cut);
        app_sent = outside_string(app, 128);
        command_sent = command ? outside_string(command, COMMAND_MAX) : NULL;
        cwd_sent = outside_string(cwd, PATH_MAX);
        if (!output || !app_sent || (command && !command_sent) || !cwd_sent)
                return CTL_EXIT_FAILURE;
        return submit(g, json_pack("{s:s, s:s?, s:s, s:i, s:s, s:I, s:s}", "app", app_sent,
                                   "command", command_sent, "cwd", cwd_sent, "exit_code",
                                   (int) code, "output", output, "output_cut", (json_int_t) cut,
                                   "origin", "submit"),
                      false) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int verb_submit_unit(const CtlGlobals *g, int argc, char **argv) {
        _cleanup_free_ char *text = NULL, *invocation = NULL, *app = NULL, *command = NULL;
        _cleanup_free_ char *text_sent = NULL, *app_sent = NULL, *command_sent = NULL;
        _cleanup_free_ char *unit_sent = NULL;
        const char *unit, *result, *status;
        int r;

        /* No getopt: unit names may start with '-' (-.mount). */
        if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                ctl_verb_help("submit-unit");
                return CTL_EXIT_OK;
        }
        if (argc != 2) {
                fprintf(stderr, "Usage: appwatchctl submit-unit UNIT\n");
                return CTL_EXIT_USAGE;
        }
        unit = argv[1];
        /* systemd ≥ 251 tells OnFailure= units about the unit that failed. */
        r = unit_log_collect(NULL, unit, getenv("MONITOR_INVOCATION_ID"), OUTPUT_TAIL, &text,
                             &invocation);
        if (r == -ENOENT)
                text = strdup("");
        else if (r < 0) {
                fprintf(stderr, "appwatchctl: cannot read the journal of %s: %s\n", unit,
                        strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        result = getenv("MONITOR_SERVICE_RESULT") ?: "failed";
        status = getenv("MONITOR_EXIT_STATUS");
        app = unit_to_app(unit);
        if (asprintf(&command, "%s (result: %s%s%s)", unit, result, status ? ", status " : "",
                     status ?: "") < 0)
                command = NULL;
        if (!text || !app || !command)
                return CTL_EXIT_FAILURE;
        text_sent = utf8_escape_invalid(text, strlen(text));
        app_sent = outside_string(app, 128);
        command_sent = outside_string(command, COMMAND_MAX);
        unit_sent = outside_string(unit, COMMAND_MAX);
        if (!text_sent || !app_sent || !command_sent || !unit_sent)
                return CTL_EXIT_FAILURE;
        return submit(g, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s?}", "app", app_sent,
                                   "command", command_sent,
                                   "exit_code", status ? atoi(status) ?: 1 : 1,
                                   "output", text_sent, "origin", "unit", "unit", unit_sent,
                                   "invocation", invocation),
                      false) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}
