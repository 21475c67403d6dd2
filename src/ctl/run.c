/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl run / submit / submit-unit: hand a failed (or, for run, a
 * successful) command to appwatchd. When the daemon cannot be reached the
 * submission is written to the spool directory, which the daemon reads at
 * start and before every submission: nothing is lost.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/client.h"
#include "ingest/unit-log.h"
#include "shared/protocol.h"

/* How much of a command's output is kept and sent: its tail. */
#define OUTPUT_TAIL (256 * 1024)
#define DEFAULT_SPOOL_DIR "/var/spool/appwatch"

extern char **environ;

/* A ring that keeps the last OUTPUT_TAIL bytes. */
typedef struct Tail {
        char buf[OUTPUT_TAIL];
        size_t start, len;
        bool cut;
} Tail;

static void tail_add(Tail *t, const char *p, size_t n) {
        if (n >= OUTPUT_TAIL) {
                p += n - OUTPUT_TAIL;
                n = OUTPUT_TAIL;
                t->cut = t->cut || t->len > 0 || n > 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (t->len == OUTPUT_TAIL) {
                        t->start = (t->start + 1) % OUTPUT_TAIL;
                        t->len--;
                        t->cut = true;
                }
                t->buf[(t->start + t->len) % OUTPUT_TAIL] = p[i];
                t->len++;
        }
}

/* The kept bytes as a string, starting at a line boundary when cut. */
static char *tail_string(const Tail *t) {
        char *s = malloc(t->len + 1);
        size_t skip = 0;

        if (!s)
                return NULL;
        for (size_t i = 0; i < t->len; i++)
                s[i] = t->buf[(t->start + i) % OUTPUT_TAIL];
        s[t->len] = 0;
        if (t->cut) {
                char *nl = memchr(s, '\n', t->len);
                if (nl)
                        skip = (size_t) (nl - s) + 1;
                memmove(s, s + skip, t->len - skip + 1);
        }
        return s;
}

static const char *spool_dir(void) {
        return getenv("APPWATCH_SPOOL_DIR") ?: DEFAULT_SPOOL_DIR;
}

/* Writes args to the spool atomically (temp file, then rename). */
static int spool_write(json_t *args, char **ret_path) {
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        _cleanup_free_ char *s = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t len;

        s = json_dumps(args, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        if (asprintf(&path, "%s/%llu-%d.json", spool_dir(), (unsigned long long) now_realtime(),
                     (int) getpid()) < 0 ||
            asprintf(&tmp, "%s/.%llu-%d.tmp", spool_dir(), (unsigned long long) now_realtime(),
                     (int) getpid()) < 0)
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

static bool unreachable(int r) {
        return r == -ENOENT || r == -ECONNREFUSED || r == -ETIMEDOUT || r == -ECONNRESET ||
               r == -EAGAIN;
}

/* Submits args (stolen); spools when the daemon is away. Returns 0 or -errno. */
static int submit(const CtlGlobals *g, json_t *args, bool quiet) {
        json_auto_t *data = NULL, *owned = args;
        _cleanup_free_ char *message = NULL, *path = NULL;
        json_t *ids, *id;
        size_t i;
        int r;

        r = ctl_call(g, "submit", json_incref(args), &data, &message);
        if (r >= 0) {
                ids = json_object_get(data, "incidents");
                if (!quiet)
                        json_array_foreach(ids, i, id)
                                fprintf(stderr, "appwatch: recorded incident #%lld "
                                        "(appwatchctl show %lld)\n",
                                        (long long) json_integer_value(id),
                                        (long long) json_integer_value(id));
                if (!quiet && json_integer_value(json_object_get(data, "resolved")) > 0)
                        fprintf(stderr, "appwatch: resolved %lld incident(s) of this app\n",
                                (long long) json_integer_value(json_object_get(data, "resolved")));
                return 0;
        }
        if (!unreachable(r)) {
                ctl_print_error(g, "submit", r, message);
                return r;
        }
        r = spool_write(owned, &path);
        if (r < 0) {
                fprintf(stderr, "appwatchctl: appwatchd is not reachable at %s, and the "
                        "submission cannot be spooled in %s: %s\n", g->socket_path, spool_dir(),
                        strerror(-r));
                return r;
        }
        if (!quiet)
                fprintf(stderr, "appwatch: appwatchd is not reachable; saved to %s, it is "
                        "read when appwatchd starts.\n", path);
        return 0;
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
        _cleanup_free_ Tail *tail = NULL;
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
        output = tail_string(tail);
        if (!output)
                return code;
        (void) submit(g, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I}",
                                   "app", app, "command", command, "cwd", cwd,
                                   "exit_code", code, "output", output, "origin", "run",
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
        _cleanup_free_ Tail *tail = NULL;
        const char *command = NULL;
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
        output = tail_string(tail);
        if (!output)
                return CTL_EXIT_FAILURE;
        return submit(g, json_pack("{s:s, s:s?, s:s, s:i, s:s, s:s}", "app", app, "command",
                                   command, "cwd", cwd, "exit_code", (int) code, "output", output,
                                   "origin", "submit"),
                      false) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}

int verb_submit_unit(const CtlGlobals *g, int argc, char **argv) {
        _cleanup_free_ char *text = NULL, *invocation = NULL, *app = NULL, *command = NULL;
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
        r = unit_log_collect(unit, getenv("MONITOR_INVOCATION_ID"), OUTPUT_TAIL, &text,
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
        return submit(g, json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s?}", "app", app, "command",
                                   command, "exit_code", status ? atoi(status) ?: 1 : 1,
                                   "output", text, "origin", "unit", "unit", unit,
                                   "invocation", invocation),
                      false) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_OK;
}
