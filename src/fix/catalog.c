/* SPDX-License-Identifier: MIT */
/*
 * The fix catalogue and the plans of fix and verification units; see
 * fix/catalog.h. Every refusal names the switch, key or word that refused,
 * and quotes untrusted text as '...' with what is not printable ASCII
 * written as \xNN (and long text cut), so a hostile fix id can neither
 * forge a line in the incident nor bloat it. Pure and thread-safe.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fix/catalog.h"
#include "shared/parse.h"
#include "shared/utf8.h"

static const char *const fix_kind_table[_FIX_KIND_MAX] = {
        [FIX_FLUTTER_CLEAN] = "flutter_clean",
        [FIX_FLUTTER_PUB_GET] = "flutter_pub_get",
        [FIX_FLUTTER_CLEAN_PUB_GET] = "flutter_clean_pub_get",
        [FIX_FLUTTER_PUB_UPGRADE] = "flutter_pub_upgrade",
        [FIX_PIP_INSTALL] = "pip_install",
};

const char *fix_kind_to_string(FixKind k) {
        return k >= 0 && k < _FIX_KIND_MAX ? fix_kind_table[k] : NULL;
}

FixKind fix_kind_from_string(const char *s) {
        /* Exact: the id is data from the rules or the AI, not user typing. */
        if (s)
                for (int i = 0; i < _FIX_KIND_MAX; i++)
                        if (strcmp(fix_kind_table[i], s) == 0)
                                return (FixKind) i;
        return _FIX_KIND_INVALID;
}

const char *fix_kill_switch_path(void) {
        return PKGSYSCONFDIR "/disable-fixes";
}

AppKind fix_kind_app_kind(FixKind k) {
        switch (k) {
        case FIX_FLUTTER_CLEAN:
        case FIX_FLUTTER_PUB_GET:
        case FIX_FLUTTER_CLEAN_PUB_GET:
        case FIX_FLUTTER_PUB_UPGRADE:
                return APP_KIND_FLUTTER;
        case FIX_PIP_INSTALL:
                return APP_KIND_PYTHON;
        case _FIX_KIND_MAX:
        case _FIX_KIND_INVALID:
                break;
        }
        return _APP_KIND_INVALID;
}

/* Untrusted text for a message: printable ASCII stays, '\' and every other
 * byte become \\ and \xNN, and more than 64 bytes are cut with "...". */
#define QUOTE_MAX 64
static char *quote(const char *s) {
        size_t n = s ? strlen(s) : 0, o = 0;
        char *buf;

        buf = malloc(QUOTE_MAX * 4 + 4);
        if (!buf)
                return NULL;
        for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = '\\';
                } else if (c >= 0x20 && c < 0x7F)
                        buf[o++] = (char) c;
                else
                        o += (size_t) sprintf(buf + o, "\\x%02x", c);
        }
        if (n > QUOTE_MAX) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = 0;
        return buf;
}

static int seterr(char **reterr, int r, const char *format, ...) _printf_(3, 4);
static int seterr(char **reterr, int r, const char *format, ...) {
        va_list ap;
        char *m;

        if (!reterr)
                return r;
        va_start(ap, format);
        if (vasprintf(&m, format, ap) < 0) {
                va_end(ap);
                return -ENOMEM;
        }
        va_end(ap);
        free(*reterr);
        *reterr = m;
        return r;
}

/* pip installs a requirement that names an existing archive file in its
 * working directory (the app's tree) from that file, whatever the index
 * says; these are pip's ARCHIVE_EXTENSIONS. */
static const char *const archive_suffixes[] = {
        ".zip", ".whl", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz",
        ".tlz", ".tar.lz", ".tar.lzma",
};

/* Why name is not a distribution name pip_install accepts, or NULL. */
static const char *dist_problem(const char *name, char *buf, size_t size) {
        size_t n = strlen(name);

        if (n == 0)
                return "it is empty";
        if (n > PYTHON_DIST_NAME_MAX) {
                snprintf(buf, size, "it is %zu characters long, at most %d", n,
                         PYTHON_DIST_NAME_MAX);
                return buf;
        }
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) name[i] >= 0x80)
                        return "it contains a non-ASCII character";
        if (!python_dist_name_valid(name)) {
                const char *bad = name + strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
                                                      "opqrstuvwxyz0123456789._-");
                if (*bad && (unsigned char) *bad >= 0x20 && *bad != 0x7F)
                        snprintf(buf, size, "it contains '%c'; a name is letters, digits, '.', "
                                 "'_' and '-', with no option, version, extra, path or URL", *bad);
                else if (*bad)
                        snprintf(buf, size, "it contains the byte \\x%02x",
                                 (unsigned char) *bad);
                else
                        snprintf(buf, size, "it must start and end with a letter or a digit");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(archive_suffixes); i++) {
                size_t l = strlen(archive_suffixes[i]);
                if (n > l && strcasecmp(name + n - l, archive_suffixes[i]) == 0) {
                        snprintf(buf, size, "it ends in '%s', and pip would install a file of "
                                 "that name from the app's directory", archive_suffixes[i]);
                        return buf;
                }
        }
        return NULL;
}

static bool on_allowlist(char *const *allowlist, const char *name) {
        char a[PYTHON_DIST_NAME_MAX + 1], b[PYTHON_DIST_NAME_MAX + 1];

        if (!python_dist_name_normalize(name, a, sizeof a))
                return false;
        for (char *const *i = allowlist; *i; i++)
                if (python_dist_name_normalize(*i, b, sizeof b) && strcmp(a, b) == 0)
                        return true;
        return false;
}

int fix_id_parse(const char *id, char *const *allowlist, FixKind *ret_kind, char **ret_param,
                 char **reterr) {
        _cleanup_free_ char *q = NULL, *head = NULL, *param = NULL;
        const char *colon, *problem;
        char buf[192];
        FixKind k;

        q = quote(id);
        if (!q)
                return -ENOMEM;
        colon = id ? strchr(id, ':') : NULL;
        head = id ? strndup(id, colon ? (size_t) (colon - id) : strlen(id)) : NULL;
        if (id && !head)
                return -ENOMEM;
        k = fix_kind_from_string(head);
        if (k < 0)
                return seterr(reterr, -EINVAL,
                              "unknown fix id '%s': the catalogue has flutter_clean, "
                              "flutter_pub_get, flutter_clean_pub_get, flutter_pub_upgrade and "
                              "pip_install:<distribution>", q);
        if (k != FIX_PIP_INSTALL) {
                if (colon)
                        return seterr(reterr, -EINVAL,
                                      "unknown fix id '%s': %s takes no parameter", q, head);
                *ret_kind = k;
                if (ret_param)
                        *ret_param = NULL;
                return 0;
        }
        if (!colon)
                return seterr(reterr, -EINVAL,
                              "unknown fix id '%s': pip_install needs a distribution, as "
                              "pip_install:<distribution>", q);
        _cleanup_free_ char *qd = quote(colon + 1);
        if (!qd)
                return -ENOMEM;
        problem = dist_problem(colon + 1, buf, sizeof buf);
        if (problem)
                return seterr(reterr, -EINVAL, "pip_install: '%s' is not a valid PEP 508 name: %s",
                              qd, problem);
        if (allowlist && allowlist[0] && !on_allowlist(allowlist, colon + 1))
                return seterr(reterr, -EPERM, "pip_install: '%s' is not on [Fix] PipAllowlist=",
                              qd);
        if (ret_param) {
                param = strdup(colon + 1);
                if (!param)
                        return -ENOMEM;
                *ret_param = TAKE_PTR(param);
        }
        *ret_kind = k;
        return 0;
}

char *fix_unit_name_escape(const char *s) {
        char *buf, *o;

        buf = malloc(strlen(s) * 4 + 1);
        if (!buf)
                return NULL;
        o = buf;
        for (const char *p = s; *p; p++) {
                char c = *p;
                if (c == '/')
                        *o++ = '-';
                else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == ':' || c == '_' || (c == '.' && p > s))
                        *o++ = c;
                else
                        o += sprintf(o, "\\x%02x", (unsigned char) c);
        }
        *o = 0;
        return buf;
}

void fix_unit_done(FixUnit *u) {
        free(u->name);
        free(u->user);
        free(u->working_directory);
        strv_free(u->environment);
        free(u->exec_search_path);
        *u = (FixUnit) {};
}

void fix_plan_done(FixPlan *p) {
        if (p->steps)
                for (size_t i = 0; i < p->n_steps; i++)
                        strv_free(p->steps[i]);
        free(p->steps);
        free(p->fix_id);
        free(p->param);
        free(p->command_line);
        fix_unit_done(&p->unit);
        *p = (FixPlan) { .kind = _FIX_KIND_INVALID };
}

/* Appends argv (taking it) as the plan's next step. */
static int plan_add_step(FixPlan *p, char **argv) {
        char ***n;

        if (!argv)
                return -ENOMEM;
        n = realloc(p->steps, sizeof(char **) * (p->n_steps + 2));
        if (!n) {
                strv_free(argv);
                return -ENOMEM;
        }
        p->steps = n;
        n[p->n_steps++] = argv;
        n[p->n_steps] = NULL;
        return 0;
}

static char **argv_new(const char *first, ...) {
        char **l = NULL;
        va_list ap;

        if (strv_extend(&l, first) < 0)
                return NULL;
        va_start(ap, first);
        for (const char *a; (a = va_arg(ap, const char *));)
                if (strv_extend(&l, a) < 0) {
                        va_end(ap);
                        return strv_free(l);
                }
        va_end(ap);
        return l;
}

/* One word as a shell would need it, for people reading the plan: bare
 * when plain, else in '...', or in bash's $'...' when it holds a control
 * character, so that a wrapped command's argument cannot break the line. */
static int append_word(char **line, size_t *len, const char *w) {
        bool plain = *w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789_./:=@%+,-") == strlen(w);
        bool control = false;
        size_t need = strlen(w) * 4 + 4;
        char *n, *o;

        for (const char *p = w; *p; p++)
                control = control || (unsigned char) *p < 0x20 || *p == 0x7F;
        n = realloc(*line, *len + need);
        if (!n)
                return -ENOMEM;
        *line = n;
        o = n + *len;
        if (plain)
                o = stpcpy(o, w);
        else if (control) {
                o = stpcpy(o, "$'");
                for (const char *p = w; *p; p++)
                        if (*p == '\\' || *p == '\'')
                                o += sprintf(o, "\\%c", *p);
                        else if (*p == '\n')
                                o = stpcpy(o, "\\n");
                        else if (*p == '\t')
                                o = stpcpy(o, "\\t");
                        else if ((unsigned char) *p < 0x20 || *p == 0x7F)
                                o += sprintf(o, "\\x%02x", (unsigned char) *p);
                        else
                                *o++ = *p;
                *o++ = '\'';
        } else {
                *o++ = '\'';
                for (const char *p = w; *p; p++)
                        if (*p == '\'')
                                o = stpcpy(o, "'\\''");
                        else
                                *o++ = *p;
                *o++ = '\'';
        }
        *o = 0;
        *len = (size_t) (o - n);
        return 0;
}

static int append_raw(char **line, size_t *len, const char *s) {
        size_t l = strlen(s);
        char *n;

        n = realloc(*line, *len + l + 1);
        if (!n)
                return -ENOMEM;
        memcpy(n + *len, s, l + 1);
        *line = n;
        *len += l;
        return 0;
}

static int plan_command_line(FixPlan *p) {
        char *line = NULL;
        size_t len = 0;

        if (append_raw(&line, &len, "") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_steps; i++)
                for (char **a = p->steps[i]; *a; a++)
                        if (append_raw(&line, &len,
                                       a != p->steps[i] ? " " : i > 0 ? " && " : "") < 0 ||
                            append_word(&line, &len, *a) < 0) {
                                free(line);
                                return -ENOMEM;
                        }
        p->command_line = line;
        return 0;
}

static bool all_digits(const char *s) {
        return *s && strspn(s, "0123456789") == strlen(s);
}

static bool user_is_root(const char *u) {
        return !u || strcmp(u, "root") == 0 || (all_digits(u) && strtoull(u, NULL, 10) == 0);
}

/* What systemd's User= takes without complaint: a portable user name or a
 * numeric uid. */
static bool user_name_valid(const char *u) {
        size_t n = strlen(u);

        if (n == 0 || n > 32)
                return false;
        if (all_digits(u))
                return strtoull(u, NULL, 10) < UINT32_MAX;
        if (!((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z') || u[0] == '_'))
                return false;
        return strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* The unit's environment: [App.x] Environment= checked again (a Config may
 * be built by hand), each key once with the later value winning, as
 * systemd's Environment= does. */
static int unit_environment(const ConfigApp *app, FixUnit *u, char **reterr) {
        _cleanup_strv_free_ char **env = NULL;
        size_t n = 0;

        for (char **e = app->environment; e && *e; e++) {
                const char *reason = NULL;
                size_t kl = strcspn(*e, "=");
                bool replaced = false;

                if (config_app_environment_check(*e, &reason) < 0) {
                        _cleanup_free_ char *q = quote(*e);
                        if (!q)
                                return -ENOMEM;
                        return seterr(reterr, -EINVAL, "[App.%s] Environment='%s' refused: %s",
                                      app->name, q, reason ?: "invalid");
                }
                for (size_t i = 0; i < n; i++)
                        if (strncmp(env[i], *e, kl + 1) == 0) {
                                char *c = strdup(*e);
                                if (!c)
                                        return -ENOMEM;
                                free(env[i]);
                                env[i] = c;
                                replaced = true;
                        }
                if (!replaced) {
                        if (strv_extend(&env, *e) < 0)
                                return -ENOMEM;
                        n++;
                }
                if (kl == 4 && strncmp(*e, "PATH", 4) == 0) {
                        free(u->exec_search_path);
                        u->exec_search_path = strdup(*e + 5);
                        if (!u->exec_search_path)
                                return -ENOMEM;
                }
        }
        u->environment = TAKE_PTR(env);
        return 0;
}

/* Everything but the steps, shared by fix and verification units. */
static int plan_unit(const ConfigApp *app, const Config *c, int64_t incident, unsigned attempt,
                     const char *suffix, FixUnit *u, char **reterr) {
        _cleanup_free_ char *e = NULL;
        int r;

        if (app->user && !user_name_valid(app->user)) {
                _cleanup_free_ char *q = quote(app->user);
                if (!q)
                        return -ENOMEM;
                return seterr(reterr, -EINVAL, "[App.%s] User='%s' is not a valid user name",
                              app->name, q);
        }
        if (user_is_root(app->user) && !app->allow_root)
                return seterr(reterr, -EPERM,
                              "refusing to run as root without [App.%s] AllowRoot=yes (%s%s)",
                              app->name, app->user ? "User=" : "User= is unset",
                              app->user ?: "");
        if (!app->directory)
                return seterr(reterr, -ENOENT,
                              "[App.%s] has no Directory=: appwatch does not know where the app "
                              "lives", app->name);
        if (app->directory[0] != '/')
                return seterr(reterr, -EINVAL, "[App.%s] Directory= is not an absolute path",
                              app->name);
        if (incident < 0)
                return seterr(reterr, -EINVAL, "incident id %" PRId64 " is not valid", incident);

        e = fix_unit_name_escape(app->name);
        if (!e)
                return -ENOMEM;
        if (asprintf(&u->name, FIX_UNIT_PREFIX "%s-%" PRId64 "-%u%s.service", e, incident, attempt,
                     suffix) < 0) {
                u->name = NULL;
                return -ENOMEM;
        }
        if (strlen(u->name) > FIX_UNIT_NAME_MAX)
                return seterr(reterr, -ENAMETOOLONG,
                              "the unit name for [App.%s] would be %zu characters, at most %d",
                              app->name, strlen(u->name), FIX_UNIT_NAME_MAX);
        u->user = strdup(app->user ?: "root");
        u->working_directory = strdup(app->directory);
        if (!u->user || !u->working_directory)
                return -ENOMEM;
        r = unit_environment(app, u, reterr);
        if (r < 0)
                return r;
        u->runtime_max_usec = c->fix_timeout;
        u->memory_max = c->fix_memory_max;
        u->cpu_quota_percent = c->fix_cpu_quota;
        u->cpu_quota_per_sec_usec = (uint64_t) c->fix_cpu_quota * 10000;
        u->no_new_privileges = true;
        u->private_tmp = true;
        return 0;
}

static int fix_steps(FixPlan *p, const ConfigApp *app) {
        const char *flutter = app->flutter ?: "flutter", *python = app->python ?: "python3";
        int r = 0;

        switch (p->kind) {
        case FIX_FLUTTER_CLEAN:
                return plan_add_step(p, argv_new(flutter, "clean", NULL));
        case FIX_FLUTTER_PUB_GET:
                return plan_add_step(p, argv_new(flutter, "pub", "get", NULL));
        case FIX_FLUTTER_CLEAN_PUB_GET:
                r = plan_add_step(p, argv_new(flutter, "clean", NULL));
                if (r < 0)
                        return r;
                return plan_add_step(p, argv_new(flutter, "pub", "get", NULL));
        case FIX_FLUTTER_PUB_UPGRADE:
                return plan_add_step(p, argv_new(flutter, "pub", "upgrade", NULL));
        case FIX_PIP_INSTALL:
                /* The name is the last word and starts with a letter or a
                 * digit, so pip cannot read it as an option. */
                return plan_add_step(p, argv_new(python, "-m", "pip", "install", p->param, NULL));
        case _FIX_KIND_MAX:
        case _FIX_KIND_INVALID:
                break;
        }
        return -EINVAL;
}

int fix_plan(const FixRequest *req, FixPlan *ret, char **reterr) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        const Config *c = req->config;
        const ConfigApp *app;
        _cleanup_free_ char *qa = NULL;
        AppKind want;
        int r;

        r = fix_id_parse(req->fix_id, c->fix_pip_allowlist, &p.kind, &p.param, reterr);
        if (r < 0)
                return r;
        if (req->kill_switch)
                return seterr(reterr, -EPERM, "kill switch %s present", fix_kill_switch_path());
        if (!c->fix_enabled)
                return seterr(reterr, -EPERM, "fixes are disabled ([Fix] Enabled=no)");
        qa = quote(req->app);
        if (!qa)
                return -ENOMEM;
        app = req->app ? config_find_app(c, req->app) : NULL;
        if (!app)
                return seterr(reterr, -ENOENT,
                              "no [App.%s] section: appwatch does not know where the app "
                              "lives", qa);
        if (!app->auto_fix && !req->on_request)
                return seterr(reterr, -EPERM, "[App.%s] AutoFix=no", app->name);
        want = fix_kind_app_kind(p.kind);
        if (app->kind != APP_KIND_OTHER && app->kind != want)
                return seterr(reterr, -EINVAL, "%s is a fix for %s apps, and [App.%s] Kind=%s",
                              fix_kind_to_string(p.kind), app_kind_to_string(want), app->name,
                              app_kind_to_string(app->kind));
        r = plan_unit(app, c, req->incident, req->attempt, "", &p.unit, reterr);
        if (r < 0)
                return r;
        p.fix_id = strdup(req->fix_id);
        if (!p.fix_id)
                return -ENOMEM;
        r = fix_steps(&p, app);
        if (r < 0)
                return r;
        r = plan_command_line(&p);
        if (r < 0)
                return r;
        if (c->fix_dry_run || req->dry_run) {
                r = seterr(reterr, FIX_PLAN_DRY_RUN, "dry run (%s): would run %s as %s in %s (%s)",
                           c->fix_dry_run ? "[Fix] DryRun=yes" : "requested", p.command_line,
                           p.unit.user, p.unit.working_directory, p.unit.name);
                if (r < 0)
                        return r;
        }
        *ret = p;
        p = (FixPlan) { .kind = _FIX_KIND_INVALID };
        return r;
}

bool fix_python_module_valid(const char *s) {
        bool start = true;
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > FIX_MODULE_MAX)
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
                if (c == '.') {
                        if (start)
                                return false;
                        start = true;
                } else if (alpha || (!start && c >= '0' && c <= '9'))
                        start = false;
                else
                        return false;
        }
        return !start;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

int fix_split_command(const char *s, char ***ret, char **reterr) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *w = NULL;
        size_t n = 0, wl = 0, slen = strlen(s);
        bool in_word = false;
        const char *p;

#define COL(x) ((size_t) ((x) - s) + 1)
        w = malloc(slen + 1);
        if (!w)
                return -ENOMEM;
        for (p = s;; p++) {
                char c = *p;

                if (c == 0 || is_blank(c)) {
                        if (in_word) {
                                w[wl] = 0;
                                if (n >= FIX_ARGV_MAX)
                                        return seterr(reterr, -EINVAL,
                                                      "more than %d words", FIX_ARGV_MAX);
                                if (wl > FIX_ARG_MAX)
                                        return seterr(reterr, -EINVAL,
                                                      "word %zu is longer than %d bytes", n + 1,
                                                      FIX_ARG_MAX);
                                if (strv_extend(&l, w) < 0)
                                        return -ENOMEM;
                                n++;
                                in_word = false;
                        }
                        if (c == 0)
                                break;
                        continue;
                }
                if ((unsigned char) c < 0x20 || c == 0x7F)
                        return seterr(reterr, -EINVAL, "control character \\x%02x at column %zu",
                                      (unsigned char) c, COL(p));
                if (!in_word) {
                        in_word = true;
                        wl = 0;
                        if (c == '~' || c == '#')
                                return seterr(reterr, -EINVAL,
                                              "'%c' at column %zu starts a word, which is shell "
                                              "syntax; the command runs without a shell (put it "
                                              "in a script)", c, COL(p));
                }
                switch (c) {
                case '\'': {
                        const char *q = strchr(p + 1, '\'');
                        if (!q)
                                return seterr(reterr, -EINVAL,
                                              "the quote at column %zu is not closed", COL(p));
                        memcpy(w + wl, p + 1, (size_t) (q - p - 1));
                        wl += (size_t) (q - p - 1);
                        p = q;
                        break;
                }
                case '"': {
                        const char *open = p;
                        for (p++;; p++) {
                                if (*p == 0)
                                        return seterr(reterr, -EINVAL,
                                                      "the quote at column %zu is not closed",
                                                      COL(open));
                                if (*p == '"')
                                        break;
                                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                                        p++;
                                else if (*p == '$' || *p == '`')
                                        return seterr(reterr, -EINVAL,
                                                      "'%c' at column %zu would expand in a "
                                                      "shell; the command runs without one (put "
                                                      "it in a script, or quote with '...')",
                                                      *p, COL(p));
                                else if ((unsigned char) *p < 0x20 && *p != '\t')
                                        return seterr(reterr, -EINVAL,
                                                      "control character \\x%02x at column %zu",
                                                      (unsigned char) *p, COL(p));
                                w[wl++] = *p;
                        }
                        break;
                }
                case '\\':
                        if (p[1] == 0)
                                return seterr(reterr, -EINVAL, "a trailing '\\' escapes nothing");
                        if ((unsigned char) p[1] < 0x20 || p[1] == 0x7F)
                                return seterr(reterr, -EINVAL,
                                              "control character \\x%02x at column %zu",
                                              (unsigned char) p[1], COL(p + 1));
                        w[wl++] = *++p;
                        break;
                case '|': case '&': case ';': case '<': case '>': case '(': case ')':
                case '$': case '`': case '*': case '?': case '[': case ']': case '{': case '}':
                        return seterr(reterr, -EINVAL,
                                      "'%c' at column %zu is shell syntax; the command runs "
                                      "without a shell (put it in a script, or quote it)",
                                      c, COL(p));
                default:
                        w[wl++] = c;
                }
        }
#undef COL
        if (n == 0)
                return seterr(reterr, -EINVAL, "the command is empty");
        /* "CC=clang make": a shell would set a variable, we would run "CC=clang". */
        size_t il = strspn(l[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
        if (il > 0 && l[0][il] == '=' && !(l[0][0] >= '0' && l[0][0] <= '9'))
                return seterr(reterr, -EINVAL,
                              "'%.*s' is a variable assignment, which needs a shell; set it "
                              "with [App.*] Environment= or in a script", (int) il + 1, l[0]);
        *ret = TAKE_PTR(l);
        return 0;
}

/* argv[0] as systemd takes it: an absolute path or a bare name. A relative
 * path is made absolute against dir ("./gradlew" -> "DIR/gradlew"). */
static int absolute_argv0(char **argv, const char *dir, char **reterr) {
        const char *a = argv[0];
        _cleanup_free_ char *q = NULL;
        char *abs;

        if (a[0] == '/' || !strchr(a, '/'))
                return 0;
        while (a[0] == '.' && a[1] == '/')
                for (a += 2; *a == '/'; a++)
                        ;
        if (strstr(a, "..") || !*a) {
                q = quote(argv[0]);
                if (!q)
                        return -ENOMEM;
                return seterr(reterr, -EINVAL,
                              "'%s' is relative with '..'; give an absolute path", q);
        }
        if (asprintf(&abs, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", a) < 0)
                return -ENOMEM;
        free(argv[0]);
        argv[0] = abs;
        return 0;
}

static int wrapped_step(const FixVerifyRequest *req, char ***ret, char **reterr) {
        _cleanup_strv_free_ char **argv = NULL;
        size_t n = strv_length(req->wrapped_argv);

        if (n == 0 || !req->wrapped_argv[0][0])
                return seterr(reterr, -EINVAL, "the wrapped command is empty");
        if (n > FIX_ARGV_MAX)
                return seterr(reterr, -EINVAL, "the wrapped command has %zu words, at most %d", n,
                              FIX_ARGV_MAX);
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(req->wrapped_argv[i]);
                if (l > FIX_ARG_MAX)
                        return seterr(reterr, -EINVAL,
                                      "word %zu of the wrapped command is longer than %d bytes",
                                      i + 1, FIX_ARG_MAX);
                if (!utf8_is_valid(req->wrapped_argv[i], l))
                        return seterr(reterr, -EINVAL,
                                      "word %zu of the wrapped command is not valid UTF-8", i + 1);
                if (strv_extend(&argv, req->wrapped_argv[i]) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}

int fix_verify_plan(const FixVerifyRequest *req, FixPlan *ret, char **reterr) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *qa = NULL, *err = NULL;
        const ConfigApp *app;
        const char *dir;
        int r;

        qa = quote(req->app);
        if (!qa)
                return -ENOMEM;
        app = req->app ? config_find_app(req->config, req->app) : NULL;
        if (!app)
                return seterr(reterr, -ENOENT,
                              "no [App.%s] section: appwatch does not know where the app "
                              "lives", qa);
        if (req->fix_id) {
                FixKind k;
                if (fix_id_parse(req->fix_id, NULL, &k, NULL, NULL) == 0)
                        p.kind = k;
        }
        r = plan_unit(app, req->config, req->incident, req->attempt, "-verify", &p.unit, reterr);
        if (r < 0)
                return r;
        dir = p.unit.working_directory;

        if (req->wrapped_argv) {
                if (req->wrapped_directory) {
                        if (req->wrapped_directory[0] != '/' ||
                            !utf8_is_valid(req->wrapped_directory, strlen(req->wrapped_directory)))
                                return seterr(reterr, -EINVAL,
                                              "the wrapped command's directory is not an "
                                              "absolute path");
                        free(p.unit.working_directory);
                        p.unit.working_directory = strdup(req->wrapped_directory);
                        if (!p.unit.working_directory)
                                return -ENOMEM;
                        dir = p.unit.working_directory;
                }
                r = wrapped_step(req, &argv, reterr);
                if (r < 0)
                        return r;
        } else if (app->build_command) {
                r = fix_split_command(app->build_command, &argv, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        _cleanup_free_ char *q = quote(app->build_command);
                        if (!q)
                                return -ENOMEM;
                        return seterr(reterr, r, "[App.%s] BuildCommand='%s' refused: %s",
                                      app->name, q, err);
                }
        } else if (p.kind == FIX_PIP_INSTALL && req->module) {
                _cleanup_free_ char *code = NULL;

                if (!fix_python_module_valid(req->module)) {
                        _cleanup_free_ char *q = quote(req->module);
                        if (!q)
                                return -ENOMEM;
                        return seterr(reterr, -EINVAL,
                                      "module '%s' is not a dotted Python identifier", q);
                }
                if (asprintf(&code, "import %s", req->module) < 0)
                        return -ENOMEM;
                argv = argv_new(app->python ?: "python3", "-c", code, NULL);
                if (!argv)
                        return -ENOMEM;
        } else
                return seterr(reterr, -ENOENT,
                              "nothing to verify the fix with: no wrapped command, no [App.%s] "
                              "BuildCommand=%s", app->name,
                              p.kind == FIX_PIP_INSTALL ? ", no module recorded" : "");
        r = absolute_argv0(argv, dir, reterr);
        if (r < 0)
                return r;
        r = plan_add_step(&p, TAKE_PTR(argv));
        if (r < 0)
                return r;
        r = plan_command_line(&p);
        if (r < 0)
                return r;
        *ret = p;
        p = (FixPlan) { .kind = _FIX_KIND_INVALID };
        return 0;
}

int fix_probe_plan(const Config *c, const char *app, char *const *argv, unsigned n, FixPlan *ret,
                   char **reterr) {
        _cleanup_(fix_plan_done) FixPlan p = { .kind = _FIX_KIND_INVALID };
        const ConfigApp *a = config_find_app(c, app);
        char **copy = NULL;
        int r;

        if (!a)
                return seterr(reterr, -ENOENT, "no [App.%s] section", app);
        if (!argv || !argv[0])
                return seterr(reterr, -EINVAL, "a probe needs a command");
        r = plan_unit(a, c, 0, n, "-probe", &p.unit, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; argv[i]; i++)
                if (strv_extend(&copy, argv[i]) < 0) {
                        strv_free(copy);
                        return -ENOMEM;
                }
        r = plan_add_step(&p, copy);
        if (r < 0)
                return r;
        r = plan_command_line(&p);
        if (r < 0)
                return r;
        *ret = p;
        p = (FixPlan) {};
        return 0;
}
