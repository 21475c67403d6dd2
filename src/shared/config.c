/* SPDX-License-Identifier: MIT */
/*
 * Configuration loading; see config.h. One static table per section kind
 * maps Key= to a typed field. libinih does the tokenising; our reader in
 * front of it counts lines (Debian's libinih is built without line numbers
 * in handlers), rejects lines too long for it and reports syntax errors for
 * every bad line rather than only the first. It also sees what libinih
 * would merge silently (a section or key given twice in one file, an
 * indented line that continues the previous value) and warns about it.
 *
 * Every section name, key and value must be valid UTF-8 without control
 * characters (tab excepted): they end up in JSON, the database and the
 * journal, which take nothing else. Diagnostics show offending bytes as
 * \xNN, never raw.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "shared/config.h"
#include "shared/log.h"

static const char *const app_kind_table[_APP_KIND_MAX] = {
        [APP_KIND_FLUTTER] = "flutter",
        [APP_KIND_PYTHON] = "python",
        [APP_KIND_OTHER] = "other",
};

static int lookup(const char *const *table, int n, const char *s) {
        if (s)
                for (int i = 0; i < n; i++)
                        if (table[i] && strcasecmp(table[i], s) == 0)
                                return i;
        return -EINVAL;
}

const char *app_kind_to_string(AppKind k) {
        return k >= 0 && k < _APP_KIND_MAX ? app_kind_table[k] : NULL;
}

AppKind app_kind_from_string(const char *s) {
        return (AppKind) lookup(app_kind_table, _APP_KIND_MAX, s);
}

typedef enum ValueType {
        VALUE_STRING,
        VALUE_STRV,      /* whitespace-separated; repeated keys append, empty resets */
        VALUE_BOOL,
        VALUE_UINT,
        VALUE_SIZE,
        VALUE_TIMESPAN,
        VALUE_LANGUAGE,
        VALUE_SEVERITY,
        VALUE_PRIORITY,
        VALUE_APP_KIND,
        VALUE_PATH,      /* absolute path */
        VALUE_WATCH_PATH, /* what the tailer accepts: see watch_path_validate() */
        VALUE_URL,       /* http:// or https:// base URL */
        VALUE_EXECUTABLE, /* absolute path, or a bare name for systemd's search path */
        VALUE_PERCENT,   /* "200%" (the '%' is optional) */
        VALUE_ENVIRONMENT, /* a VALUE_STRV of config_app_environment_check() assignments */
        VALUE_PIP_NAMES, /* a VALUE_STRV of python_dist_name_valid() names */
} ValueType;

typedef struct ConfigItem {
        const char *section;
        const char *key;
        ValueType type;
        size_t offset;
        uint64_t min, max;   /* VALUE_UINT, VALUE_SIZE, VALUE_TIMESPAN */
} ConfigItem;

#define ITEM(s, k, t, field) { s, k, t, offsetof(Config, field), 0, 0 }
#define RANGE(s, k, t, field, lo, hi) { s, k, t, offsetof(Config, field), lo, hi }

static const ConfigItem config_items[] = {
        RANGE("Service", "Workers", VALUE_UINT, workers, 1, 64),
        ITEM("Service", "Language", VALUE_LANGUAGE, language),
        ITEM("Service", "Host", VALUE_STRING, host),
        RANGE("Service", "MaxRequestBytes", VALUE_SIZE, max_request_bytes, 1024, 16 << 20),
        RANGE("Service", "MaxClients", VALUE_UINT, max_clients, 1, 4096),
        RANGE("Service", "ClientTimeoutSec", VALUE_TIMESPAN, client_timeout, USEC_PER_SEC,
              USEC_PER_DAY),
        RANGE("Service", "QueueSize", VALUE_UINT, queue_size, 1, 1000000),
        RANGE("Service", "MaxLineBytes", VALUE_SIZE, max_line_bytes, 256, 16 << 20),

        ITEM("Journal", "Enabled", VALUE_BOOL, journal_enabled),
        ITEM("Journal", "Units", VALUE_STRV, journal_units),
        ITEM("Journal", "Identifiers", VALUE_STRV, journal_identifiers),
        ITEM("Journal", "MinPriority", VALUE_PRIORITY, journal_min_priority),
        ITEM("Journal", "Directory", VALUE_PATH, journal_directory),

        ITEM("Gemini", "Model", VALUE_STRING, gemini_model),
        ITEM("Gemini", "Endpoint", VALUE_URL, gemini_endpoint),
        RANGE("Gemini", "TimeoutSec", VALUE_TIMESPAN, gemini_timeout, USEC_PER_SEC,
              10 * USEC_PER_MINUTE),
        RANGE("Gemini", "DailyBudget", VALUE_UINT, gemini_daily_budget, 0, 1000000),
        RANGE("Gemini", "MaxCallsPerHour", VALUE_UINT, gemini_max_calls_per_hour, 0, 100000),
        /* Gemini 3.8 Flash answers at most 65536 tokens; below 256 even a
         * short answer with low thinking ends in MAX_TOKENS. */
        RANGE("Gemini", "MaxOutputTokens", VALUE_UINT, gemini_max_output_tokens, 256, 65536),

        ITEM("Slack", "MinSeverity", VALUE_SEVERITY, slack_min_severity),
        RANGE("Slack", "RepeatIntervalSec", VALUE_TIMESPAN, slack_repeat_interval, 0,
              30 * USEC_PER_DAY),
        ITEM("Slack", "Endpoint", VALUE_URL, slack_endpoint),
        RANGE("Slack", "GroupWindowSec", VALUE_TIMESPAN, slack_group_window, 0,
              10 * USEC_PER_MINUTE),

        ITEM("Notion", "Endpoint", VALUE_URL, notion_endpoint),
        ITEM("Notion", "DatabaseId", VALUE_STRING, notion_database_id),
        ITEM("Notion", "DataSourceId", VALUE_STRING, notion_data_source_id),
        ITEM("Notion", "FingerprintProperty", VALUE_STRING, notion_prop_fingerprint),
        ITEM("Notion", "TitleProperty", VALUE_STRING, notion_prop_title),
        ITEM("Notion", "TypeProperty", VALUE_STRING, notion_prop_type),
        ITEM("Notion", "AppProperty", VALUE_STRING, notion_prop_app),
        ITEM("Notion", "SeverityProperty", VALUE_STRING, notion_prop_severity),
        ITEM("Notion", "AutoFixableProperty", VALUE_STRING, notion_prop_auto_fixable),
        ITEM("Notion", "StatusProperty", VALUE_STRING, notion_prop_status),
        ITEM("Notion", "TimeProperty", VALUE_STRING, notion_prop_time),

        ITEM("Fix", "Enabled", VALUE_BOOL, fix_enabled),
        ITEM("Fix", "DryRun", VALUE_BOOL, fix_dry_run),
        RANGE("Fix", "TimeoutSec", VALUE_TIMESPAN, fix_timeout, USEC_PER_SEC, USEC_PER_DAY),
        RANGE("Fix", "MaxAttempts", VALUE_UINT, fix_max_attempts, 0, 100),
        RANGE("Fix", "MemoryMax", VALUE_SIZE, fix_memory_max, 16 << 20, UINT64_C(1) << 40),
        RANGE("Fix", "CPUQuota", VALUE_PERCENT, fix_cpu_quota, 1, 10000),
        ITEM("Fix", "PipAllowlist", VALUE_PIP_NAMES, fix_pip_allowlist),

        RANGE("Check", "MinFreeDiskPercent", VALUE_UINT, check_min_free_disk, 0, 100),
        RANGE("Check", "MinFreeInodesPercent", VALUE_UINT, check_min_free_inodes, 0, 100),
        RANGE("Check", "MaxOutboxAgeSec", VALUE_TIMESPAN, check_max_outbox_age, USEC_PER_MINUTE,
              30 * USEC_PER_DAY),
        RANGE("Check", "MaxQueueDepth", VALUE_UINT, check_max_queue_depth, 1, 1000000),
        RANGE("Check", "StuckFixMarginSec", VALUE_TIMESPAN, check_fix_margin, 0, USEC_PER_DAY),
};

static const ConfigItem watch_items[] = {
        { "Watch", "Path", VALUE_WATCH_PATH, offsetof(ConfigWatch, path), 0, 0 },
        { "Watch", "App", VALUE_STRING, offsetof(ConfigWatch, app), 0, 0 },
};

static const ConfigItem app_items[] = {
        { "App", "Directory", VALUE_PATH, offsetof(ConfigApp, directory), 0, 0 },
        { "App", "Kind", VALUE_APP_KIND, offsetof(ConfigApp, kind), 0, 0 },
        { "App", "BuildCommand", VALUE_STRING, offsetof(ConfigApp, build_command), 0, 0 },
        { "App", "User", VALUE_STRING, offsetof(ConfigApp, user), 0, 0 },
        { "App", "Python", VALUE_EXECUTABLE, offsetof(ConfigApp, python), 0, 0 },
        { "App", "Flutter", VALUE_EXECUTABLE, offsetof(ConfigApp, flutter), 0, 0 },
        { "App", "AutoFix", VALUE_BOOL, offsetof(ConfigApp, auto_fix), 0, 0 },
        { "App", "AllowRoot", VALUE_BOOL, offsetof(ConfigApp, allow_root), 0, 0 },
        { "App", "Environment", VALUE_ENVIRONMENT, offsetof(ConfigApp, environment), 0, 0 },
};

static int diag_add(ConfigDiags *d, ConfigDiagLevel level, const char *file, unsigned line,
                    const char *format, ...) _printf_(5, 6);

static int diag_add(ConfigDiags *d, ConfigDiagLevel level, const char *file, unsigned line,
                    const char *format, ...) {
        ConfigDiag *n;
        char *msg;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        n = realloc(d->items, sizeof(ConfigDiag) * (d->n + 1));
        if (!n) {
                free(msg);
                return -ENOMEM;
        }
        d->items = n;
        d->items[d->n] = (ConfigDiag) {
                .level = level,
                .file = strdup(file ?: "(config)"),
                .line = line,
                .message = msg,
        };
        if (!d->items[d->n].file) {
                free(msg);
                return -ENOMEM;
        }
        d->n++;
        if (level == CONFIG_DIAG_ERROR)
                d->n_errors++;
        return 0;
}

void config_diags_done(ConfigDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (ConfigDiags) {};
}

static bool is_string_type(ValueType t) {
        return t == VALUE_STRING || t == VALUE_PATH || t == VALUE_WATCH_PATH || t == VALUE_URL ||
               t == VALUE_EXECUTABLE;
}

static bool is_strv_type(ValueType t) {
        return t == VALUE_STRV || t == VALUE_ENVIRONMENT || t == VALUE_PIP_NAMES;
}

/* Length of the valid UTF-8 sequence at s (1-4) with its code point in
 * *ret, or 0 when it is invalid (overlong, surrogate, beyond U+10FFFF,
 * truncated: the NUL terminator is never a continuation byte). */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret) {
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80) {
                *ret = s[0];
                return 1;
        }
        if (s[0] >= 0xC2 && s[0] <= 0xDF) {
                n = 2;
                cp = s[0] & 0x1F;
        } else if ((s[0] & 0xF0) == 0xE0) {
                n = 3;
                cp = s[0] & 0x0F;
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                n = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        *ret = cp;
        return n;
}

/* C0 (tab excepted), DEL and C1: nothing a value needs, and what would let
 * it forge lines in a log or headers in a request. */
static bool is_control(uint32_t cp) {
        return (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp < 0xA0);
}

/* NULL when s is valid UTF-8 without control characters, else what is wrong
 * with it, for "'VALUE' %s". */
static const char *text_problem(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        bool control = false;
        uint32_t cp;

        while (*p) {
                size_t n = utf8_decode(p, &cp);
                if (n == 0)
                        return "is not valid UTF-8";
                control = control || is_control(cp);
                p += n;
        }
        return control ? "contains a control character" : NULL;
}

/* s for a message: what is not printable UTF-8 (tab included) becomes \xNN
 * and '\' becomes "\\", so no raw byte reaches a terminal or the journal.
 * malloc'ed; NULL on OOM. */
static char *escape(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        char *buf, *o;
        uint32_t cp;

        buf = malloc(strlen(s) * 4 + 1);
        if (!buf)
                return NULL;
        for (o = buf; *p;) {
                size_t n = utf8_decode(p, &cp);
                if (n > 0 && !is_control(cp) && cp != '\t' && cp != '\\') {
                        memcpy(o, p, n);
                        o += n;
                        p += n;
                } else if (n == 1 && cp == '\\') {
                        *o++ = '\\';
                        *o++ = '\\';
                        p++;
                } else {
                        /* One byte at a time: an invalid sequence may hide a valid one. */
                        o += sprintf(o, "\\x%02x", *p);
                        p++;
                }
        }
        *o = 0;
        return buf;
}

static void free_secret(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

void config_diags_log(const ConfigDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                const ConfigDiag *x = &d->items[i];
                int level = x->level == CONFIG_DIAG_ERROR ? LOG_ERR : LOG_WARNING;
                if (x->line > 0)
                        log_full_errno(level, 0, "%s:%u: %s", x->file, x->line, x->message);
                else
                        log_full_errno(level, 0, "%s: %s", x->file, x->message);
        }
}

static void watch_done(ConfigWatch *w) {
        free(w->where.file);
        free(w->name);
        free(w->path);
        free(w->app);
}

static void app_done(ConfigApp *a) {
        free(a->where.file);
        free(a->name);
        free(a->directory);
        free(a->build_command);
        free(a->user);
        free(a->python);
        free(a->flutter);
        strv_free(a->environment);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(config_items); i++) {
                void *field = (uint8_t *) c + config_items[i].offset;
                if (is_strv_type(config_items[i].type))
                        strv_free(*(char ***) field);
                else if (is_string_type(config_items[i].type))
                        free(*(char **) field);
        }
        for (size_t i = 0; i < c->n_watches; i++)
                watch_done(&c->watches[i]);
        free(c->watches);
        for (size_t i = 0; i < c->n_apps; i++)
                app_done(&c->apps[i]);
        free(c->apps);
        free_secret(c->gemini_api_key);
        free_secret(c->slack_webhook_url);
        free_secret(c->notion_api_token);
        strv_free(c->files);
        free(c->path);
        free(c);
        return NULL;
}

static int set_string(char **field, const char *value) {
        char *c = strdup(value);

        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

static const struct {
        size_t offset;
        const char *value;
} string_defaults[] = {
        /* The newest stable Flash model: ai.google.dev/gemini-api/docs/models
         * lists Gemini 3.8 Flash as "new, stable" (read 2026-12-02); the
         * 2.5 models were shut down (ai.google.dev/gemini-api/docs/deprecations). */
        { offsetof(Config, gemini_model), "gemini-3.8-flash" },
        { offsetof(Config, gemini_endpoint), "https://generativelanguage.googleapis.com" },
        { offsetof(Config, notion_endpoint), "https://api.notion.com" },
        { offsetof(Config, notion_prop_title), "제목" },
        { offsetof(Config, notion_prop_type), "타입" },
        { offsetof(Config, notion_prop_app), "앱" },
        { offsetof(Config, notion_prop_severity), "심각도" },
        { offsetof(Config, notion_prop_auto_fixable), "자동수정가능" },
        { offsetof(Config, notion_prop_status), "상태" },
        { offsetof(Config, notion_prop_time), "발생시간" },
};

/* Strings that have a default get it back when unset or assigned empty. */
static int fill_string_defaults(Config *c) {
        for (size_t i = 0; i < ELEMENTSOF(string_defaults); i++) {
                char **field = (char **) ((uint8_t *) c + string_defaults[i].offset);
                if (!*field && set_string(field, string_defaults[i].value) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int set_defaults(Config *c) {
        c->workers = 4;
        c->language = LANGUAGE_KO;
        c->max_request_bytes = 64 * 1024;
        c->max_clients = 64;
        c->client_timeout = 30 * USEC_PER_SEC;
        c->queue_size = 1024;
        c->max_line_bytes = 64 * 1024;
        c->journal_enabled = true;
        c->journal_min_priority = LOG_INFO;
        c->gemini_timeout = 30 * USEC_PER_SEC;
        c->gemini_daily_budget = 500;
        c->gemini_max_calls_per_hour = 60;
        c->gemini_max_output_tokens = 2048;
        c->slack_min_severity = SEVERITY_LOW;
        c->slack_repeat_interval = 4 * USEC_PER_HOUR;
        c->slack_group_window = 5 * USEC_PER_SEC;
        c->fix_enabled = true;
        c->fix_dry_run = false;
        c->fix_timeout = 10 * USEC_PER_MINUTE;
        c->fix_max_attempts = 3;
        c->fix_memory_max = UINT64_C(2) << 30;
        c->fix_cpu_quota = 200;
        c->check_min_free_disk = 5;
        c->check_min_free_inodes = 5;
        c->check_max_outbox_age = USEC_PER_HOUR;
        c->check_max_queue_depth = 768;
        c->check_fix_margin = 5 * USEC_PER_MINUTE;
        return fill_string_defaults(c);
}

int config_new_default(Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        if (set_defaults(c) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

/* What each value type accepts, for error messages. */
static const char *accepted(const ConfigItem *it, char *buf, size_t size) {
        switch (it->type) {
        case VALUE_STRING:
                return "a string";
        case VALUE_STRV:
                return "a space-separated list";
        case VALUE_BOOL:
                return "yes or no";
        case VALUE_UINT:
                snprintf(buf, size, "an integer from %llu to %llu", (unsigned long long) it->min,
                         (unsigned long long) it->max);
                return buf;
        case VALUE_SIZE:
                snprintf(buf, size, "a whole number of bytes from %llu to %llu, or with K, M "
                         "or G (powers of 1024: 64K = 64KB = 64KiB)",
                         (unsigned long long) it->min, (unsigned long long) it->max);
                return buf;
        case VALUE_TIMESPAN: {
                char a[64], b[64];
                snprintf(buf, size, "a time span from %s to %s (e.g. 30s, 5min, 1h)",
                         format_timespan(a, sizeof a, it->min), format_timespan(b, sizeof b, it->max));
                return buf;
        }
        case VALUE_LANGUAGE:
                return "ko or en";
        case VALUE_SEVERITY:
                return "Low, Medium, High or Critical";
        case VALUE_PRIORITY:
                return "a syslog priority: emerg, alert, crit, err, warning, notice, info, debug or 0-7";
        case VALUE_APP_KIND:
                return "flutter, python or other";
        case VALUE_PATH:
                return "an absolute path";
        case VALUE_WATCH_PATH:
                return "an absolute path of a directory, a file or a glob";
        case VALUE_URL:
                return "an http:// or https:// URL";
        case VALUE_EXECUTABLE:
                return "an absolute path, or a program name without '/' found on the search path";
        case VALUE_PERCENT:
                snprintf(buf, size, "a percentage from %llu%% to %llu%%",
                         (unsigned long long) it->min, (unsigned long long) it->max);
                return buf;
        case VALUE_ENVIRONMENT:
                return "a space-separated list of KEY=VALUE";
        case VALUE_PIP_NAMES:
                return "a space-separated list of Python distribution names";
        }
        return "?";
}

/* Parses value into the field at base + it->offset. Returns 0 or -EINVAL/-ERANGE/-ENOMEM;
 * for some -EINVAL, *reterr_reason says why better than accepted() would. */
static int parse_value(const ConfigItem *it, void *base, const char *value,
                       const char **reterr_reason) {
        void *field = (uint8_t *) base + it->offset;
        uint64_t u;
        bool b;
        int r;

        /* An empty assignment resets a string to its default, as in systemd. */
        if (is_string_type(it->type) && value[0] == 0) {
                char **f = field;
                *f = mfree(*f);
                return 0;
        }

        switch (it->type) {
        case VALUE_STRING:
                return set_string(field, value);
        case VALUE_PATH:
                if (value[0] != '/')
                        return -EINVAL;
                return set_string(field, value);
        case VALUE_WATCH_PATH:
                r = watch_path_validate(value, reterr_reason);
                if (r < 0)
                        return r;
                return set_string(field, value);
        case VALUE_URL:
                if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
                        return -EINVAL;
                return set_string(field, value);
        case VALUE_EXECUTABLE:
                /* systemd takes an absolute path or a file name for ExecStart=. */
                if (value[0] != '/' && (strchr(value, '/') || strcmp(value, ".") == 0 ||
                                        strcmp(value, "..") == 0))
                        return -EINVAL;
                return set_string(field, value);
        case VALUE_PERCENT: {
                _cleanup_free_ char *n = strdup(value);
                size_t l;

                if (!n)
                        return -ENOMEM;
                l = strlen(n);
                if (l > 0 && n[l - 1] == '%')
                        n[l - 1] = 0;
                r = parse_uint64(n, &u);
                if (r < 0)
                        return r;
                if (u < it->min || u > it->max)
                        return -ERANGE;
                *(unsigned *) field = (unsigned) u;
                return 0;
        }
        case VALUE_STRV:
        case VALUE_ENVIRONMENT:
        case VALUE_PIP_NAMES: {
                char ***l = field;
                char **words;

                if (value[0] == 0) {
                        *l = strv_free(*l);
                        return 0;
                }
                words = strv_split(value);
                if (!words)
                        return -ENOMEM;
                /* A list with one bad word is refused whole: the line stays
                 * as it was, never half applied. */
                for (char **w = words; *w; w++) {
                        r = 0;
                        if (it->type == VALUE_ENVIRONMENT)
                                r = config_app_environment_check(*w, reterr_reason);
                        else if (it->type == VALUE_PIP_NAMES && !python_dist_name_valid(*w)) {
                                *reterr_reason = "each name must be a Python distribution name "
                                                 "(PEP 508: letters, digits, '.', '_', '-', "
                                                 "at most 100 characters; no version or extra)";
                                r = -EINVAL;
                        }
                        if (r < 0) {
                                strv_free(words);
                                return r;
                        }
                }
                for (char **w = words; *w; w++)
                        if (strv_extend(l, *w) < 0) {
                                strv_free(words);
                                return -ENOMEM;
                        }
                strv_free(words);
                return 0;
        }
        case VALUE_BOOL:
                r = parse_boolean(value, &b);
                if (r < 0)
                        return r;
                *(bool *) field = b;
                return 0;
        case VALUE_UINT:
                r = parse_uint64(value, &u);
                if (r < 0)
                        return r;
                if (u < it->min || u > it->max)
                        return -ERANGE;
                *(unsigned *) field = (unsigned) u;
                return 0;
        case VALUE_SIZE:
                r = parse_size(value, &u);
                if (r < 0)
                        return r;
                if (u < it->min || u > it->max)
                        return -ERANGE;
                *(uint64_t *) field = u;
                return 0;
        case VALUE_TIMESPAN:
                r = parse_timespan(value, &u);
                if (r < 0)
                        return r;
                if (u < it->min || u > it->max)
                        return -ERANGE;
                *(usec_t *) field = u;
                return 0;
        case VALUE_LANGUAGE:
                r = language_from_string(value);
                if (r < 0)
                        return r;
                *(Language *) field = r;
                return 0;
        case VALUE_SEVERITY:
                r = severity_from_string(value);
                if (r < 0)
                        return r;
                *(Severity *) field = r;
                return 0;
        case VALUE_PRIORITY:
                r = log_level_from_string(value);
                if (r < 0)
                        return r;
                *(int *) field = r;
                return 0;
        case VALUE_APP_KIND:
                r = app_kind_from_string(value);
                if (r < 0)
                        return r;
                *(AppKind *) field = r;
                return 0;
        }
        return -EINVAL;
}

/* A section or "section\nkey" first given on line. */
typedef struct Seen {
        char *name;
        unsigned line;
} Seen;

typedef struct ParseState {
        Config *config;
        ConfigDiags *diags;
        const char *file;
        FILE *f;
        unsigned line;
        char *buf;
        size_t bufsize;
        int error;          /* first -ENOMEM */

        /* What libinih knows about the line it gets next (see read_line()). */
        bool after_key;     /* a Key=value since the last [Section] */
        bool continuation;  /* this line continues the previous key's value */
        bool section_bad;   /* the current [Section] was rejected: skip its keys */

        /* This file's sections and keys, for the warnings about repeats. */
        Seen *sections, *keys;
        size_t n_sections, n_keys;
} ParseState;

static void seen_free(Seen *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(l[i].name);
        free(l);
}

static bool valid_name(const char *s) {
        if (!s[0] || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!(isalnum((unsigned char) *s) || strchr("_-.", *s)))
                        return false;
        return true;
}

/* Finds or creates the named entry of a dynamic section. */
static void *dynamic_entry(ParseState *s, const char *kind, const char *name) {
        Config *c = s->config;

        if (strcmp(kind, "Watch") == 0) {
                for (size_t i = 0; i < c->n_watches; i++)
                        if (strcmp(c->watches[i].name, name) == 0)
                                return &c->watches[i];
                if (c->n_watches >= CONFIG_MAX_WATCHES)
                        return NULL;
                ConfigWatch *n = realloc(c->watches, sizeof(ConfigWatch) * (c->n_watches + 1));
                if (!n)
                        return NULL;
                c->watches = n;
                n[c->n_watches] = (ConfigWatch) { .name = strdup(name) };
                if (!n[c->n_watches].name)
                        return NULL;
                return &n[c->n_watches++];
        }
        for (size_t i = 0; i < c->n_apps; i++)
                if (strcmp(c->apps[i].name, name) == 0)
                        return &c->apps[i];
        if (c->n_apps >= CONFIG_MAX_APPS)
                return NULL;
        ConfigApp *n = realloc(c->apps, sizeof(ConfigApp) * (c->n_apps + 1));
        if (!n)
                return NULL;
        c->apps = n;
        n[c->n_apps] = (ConfigApp) { .name = strdup(name), .kind = APP_KIND_OTHER };
        if (!n[c->n_apps].name)
                return NULL;
        return &n[c->n_apps++];
}

static void oom(ParseState *s) {
        if (s->error == 0)
                s->error = -ENOMEM;
}

static void diag(ParseState *s, ConfigDiagLevel level, const char *format, ...) _printf_(3, 4);
static void diag(ParseState *s, ConfigDiagLevel level, const char *format, ...) {
        char *msg;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0 || diag_add(s->diags, level, s->file, s->line, "%s", msg) < 0)
                oom(s);
        if (r >= 0)
                free(msg);
}

/* The line name was first given on in this file, or 0 (then it is recorded,
 * with this line). */
static unsigned seen_before(ParseState *s, Seen **list, size_t *n, const char *name) {
        Seen *l;

        for (size_t i = 0; i < *n; i++)
                if (strcmp((*list)[i].name, name) == 0)
                        return (*list)[i].line;
        l = realloc(*list, sizeof(Seen) * (*n + 1));
        if (!l) {
                oom(s);
                return 0;
        }
        *list = l;
        l[*n] = (Seen) { .name = strdup(name), .line = s->line };
        if (!l[*n].name)
                oom(s);
        else
                (*n)++;
        return 0;
}

/* Rejects a name or value that is not clean UTF-8; true when it was. */
static bool reject_text(ParseState *s, const char *section, const char *key, const char *text) {
        const char *problem = text_problem(text);
        _cleanup_free_ char *e = NULL;

        if (!problem)
                return false;
        e = escape(text);
        if (!e)
                oom(s);
        else if (!key)
                diag(s, CONFIG_DIAG_ERROR, "section name [%s] %s", e, problem);
        else if (text == key)
                diag(s, CONFIG_DIAG_ERROR, "key '%s' in [%s] %s", e, section, problem);
        else
                diag(s, CONFIG_DIAG_ERROR, "[%s] %s='%s' %s", section, key, e, problem);
        return true;
}

/* The duplicate and continuation warnings for a known key. */
static void check_repeat(ParseState *s, const ConfigItem *it, const char *section,
                         const char *key, const char *value) {
        _cleanup_free_ char *k = NULL;
        unsigned first;

        /* Lists append on purpose, on a repeated key or an indented line. */
        if (is_strv_type(it->type))
                return;
        if (s->continuation) {
                diag(s, CONFIG_DIAG_WARNING,
                     "this indented line continues [%s] %s=, whose value becomes '%s'; "
                     "unindent it if it is a line of its own", section, key, value);
                return;
        }
        if (asprintf(&k, "%s\n%s", section, key) < 0) {
                k = NULL;
                oom(s);
                return;
        }
        first = seen_before(s, &s->keys, &s->n_keys, k);
        if (first > 0)
                diag(s, CONFIG_DIAG_WARNING,
                     "[%s] %s= is set again (first on line %u); the later value wins",
                     section, key, first);
}

static int on_ini_value(void *userdata, const char *section, const char *key, const char *value) {
        ParseState *s = userdata;
        const ConfigItem *items = config_items;
        size_t n_items = ELEMENTSOF(config_items);
        void *base = s->config;
        const char *kind = section;
        const char *reason = NULL;
        char buf[160];

        if (s->section_bad)
                return 1;
        if (reject_text(s, section, key, key) || reject_text(s, section, key, value))
                return 1;

        const char *dot = strchr(section, '.');
        if (dot) {
                char prefix[16];
                size_t l = (size_t) (dot - section);

                if (l >= sizeof prefix)
                        l = sizeof prefix - 1;
                memcpy(prefix, section, l);
                prefix[l] = 0;
                if (strcmp(prefix, "Watch") == 0) {
                        items = watch_items;
                        n_items = ELEMENTSOF(watch_items);
                        kind = "Watch";
                } else if (strcmp(prefix, "App") == 0) {
                        items = app_items;
                        n_items = ELEMENTSOF(app_items);
                        kind = "App";
                } else {
                        diag(s, CONFIG_DIAG_WARNING, "unknown section [%s], ignoring", section);
                        return 1;
                }
                if (!valid_name(dot + 1)) {
                        diag(s, CONFIG_DIAG_ERROR,
                             "invalid section name [%s]: the name after '%s.' must be 1-64 "
                             "letters, digits, '_', '-' or '.'", section, kind);
                        return 1;
                }
                base = dynamic_entry(s, kind, dot + 1);
                if (base) {
                        /* Both kinds start with their ConfigWhere. */
                        ConfigWhere *where = base;
                        if (set_string(&where->file, s->file) < 0)
                                oom(s);
                        where->line = s->line;
                }
                if (!base) {
                        if (strcmp(kind, "Watch") == 0 ? s->config->n_watches >= CONFIG_MAX_WATCHES
                                                       : s->config->n_apps >= CONFIG_MAX_APPS)
                                diag(s, CONFIG_DIAG_ERROR, "too many [%s.*] sections (at most %d)",
                                     kind, strcmp(kind, "Watch") == 0 ? CONFIG_MAX_WATCHES
                                                                      : CONFIG_MAX_APPS);
                        else
                                oom(s);
                        return 1;
                }
        }

        bool section_known = false;
        for (size_t i = 0; i < n_items; i++) {
                if (strcmp(items[i].section, kind) != 0)
                        continue;
                section_known = true;
                if (strcmp(items[i].key, key) != 0)
                        continue;
                check_repeat(s, &items[i], section, key, value);
                int r = parse_value(&items[i], base, value, &reason);
                if (r == -ENOMEM)
                        oom(s);
                else if (r < 0 && reason)
                        diag(s, CONFIG_DIAG_ERROR, "[%s] %s='%s' is invalid: %s", section, key,
                             value, reason);
                else if (r < 0)
                        diag(s, CONFIG_DIAG_ERROR, "[%s] %s='%s' is invalid%s: expected %s",
                             section, key, value, r == -ERANGE ? " (out of range)" : "",
                             accepted(&items[i], buf, sizeof buf));
                return 1;
        }
        if (section_known)
                diag(s, CONFIG_DIAG_WARNING, "unknown key %s= in [%s], ignoring", key, section);
        else
                diag(s, CONFIG_DIAG_WARNING, "unknown section [%s], ignoring", section);
        return 1;
}

/* libinih 55 keeps this much of a section name (MAX_SECTION - 1) and cuts
 * the rest silently. */
#define INI_SECTION_MAX 49

typedef enum LineKind {
        LINE_NOTHING,       /* blank or a comment */
        LINE_CONTINUATION,  /* indented, after a key: more of that key's value */
        LINE_SECTION,
        LINE_ASSIGNMENT,
        LINE_BAD,
} LineKind;

/* Classifies a raw line the way ini_parse_stream() of libinih 55 will, so
 * that every syntax error is reported and the repeats are seen. */
static LineKind classify_line(const char *l, bool first, bool after_key, const char **ret_start) {
        const char *p = l;

        if (first && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
                p += 3;
        p += strspn(p, " \t\r\n\v\f");
        *ret_start = p;
        if (*p == 0 || *p == ';' || *p == '#')
                return LINE_NOTHING;
        if (after_key && p > l)
                return LINE_CONTINUATION;
        if (*p == '[')
                return strchr(p, ']') ? LINE_SECTION : LINE_BAD;
        return strpbrk(p, "=:") ? LINE_ASSIGNMENT : LINE_BAD;
}

/* A [Section] line: rejects a name inih would cut or that is not clean
 * UTF-8 (its keys are then skipped), and warns about a repeat. */
static void on_section_line(ParseState *s, const char *start) {
        _cleanup_free_ char *name = NULL;
        size_t l = strcspn(start + 1, "]");
        unsigned first;

        name = strndup(start + 1, l);
        if (!name) {
                oom(s);
                return;
        }
        s->section_bad = true;
        if (reject_text(s, NULL, NULL, name))
                return;
        if (l > INI_SECTION_MAX) {
                diag(s, CONFIG_DIAG_ERROR, "section name [%s] is too long (%zu bytes, at most %d)",
                     name, l, INI_SECTION_MAX);
                return;
        }
        s->section_bad = false;
        first = seen_before(s, &s->sections, &s->n_sections, name);
        if (first > 0)
                diag(s, CONFIG_DIAG_WARNING,
                     "[%s] appears again (first on line %u); its keys are merged, and a key "
                     "set in both takes the later value", name, first);
}

static void on_bad_line(ParseState *s, const char *start) {
        _cleanup_free_ char *e = NULL, *text = NULL;

        text = strndup(start, strcspn(start, "\r\n"));
        e = text ? escape(text) : NULL;
        if (!e) {
                oom(s);
                return;
        }
        if (*start == '[')
                diag(s, CONFIG_DIAG_ERROR, "syntax error: '%s' has no ']'", e);
        else
                diag(s, CONFIG_DIAG_ERROR,
                     "syntax error: '%s' has no '='; expected 'Key=value', '[Section]' or a "
                     "comment", e);
}

static char *read_line(char *str, int num, void *stream) {
        ParseState *s = stream;
        const char *start;
        ssize_t n;

        n = getline(&s->buf, &s->bufsize, s->f);
        if (n < 0)
                return NULL;
        s->line++;
        s->continuation = false;
        if (n > num - 1 || (size_t) n != strlen(s->buf)) {
                if ((size_t) n != strlen(s->buf))
                        diag(s, CONFIG_DIAG_ERROR, "line contains a NUL byte");
                else
                        diag(s, CONFIG_DIAG_ERROR, "line is too long (%zd bytes, at most %d)",
                             n, num - 2);
                snprintf(str, (size_t) num, "#\n");
                return str;
        }
        switch (classify_line(s->buf, s->line == 1, s->after_key, &start)) {
        case LINE_NOTHING:
                break;
        case LINE_CONTINUATION:
                s->continuation = true;
                break;
        case LINE_SECTION:
                on_section_line(s, start);
                s->after_key = false;
                break;
        case LINE_ASSIGNMENT:
                s->after_key = true;
                break;
        case LINE_BAD:
                on_bad_line(s, start);
                snprintf(str, (size_t) num, "#\n");
                return str;
        }
        memcpy(str, s->buf, (size_t) n + 1);
        return str;
}

static int parse_file(Config *c, const char *path, ConfigDiags *diags, bool must_exist) {
        _cleanup_fclose_ FILE *f = NULL;
        ParseState s = { .config = c, .diags = diags, .file = path };
        int r;

        /* The file names go to `status` (JSON) and into every diagnostic. */
        if (text_problem(path)) {
                _cleanup_free_ char *e = escape(path);
                if (!e || diag_add(diags, CONFIG_DIAG_ERROR, e, 0,
                                   "the file name is not valid UTF-8 or contains a control "
                                   "character") < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && !must_exist)
                        return 0;
                r = -errno;
                if (diag_add(diags, CONFIG_DIAG_ERROR, path, 0, "cannot open: %s", strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        s.f = f;
        if (strv_extend(&c->files, path) < 0)
                return -ENOMEM;
        r = ini_parse_stream(read_line, &s, on_ini_value, &s);
        free(s.buf);
        seen_free(s.sections, s.n_sections);
        seen_free(s.keys, s.n_keys);
        if (s.error < 0)
                return s.error;
        if (r == -2)
                return -ENOMEM;
        if (r > 0 && diags->n_errors == 0) {
                /* A syntax error our reader did not foresee. */
                if (diag_add(diags, CONFIG_DIAG_ERROR, path, (unsigned) r, "syntax error") < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int conf_filter(const struct dirent *de) {
        size_t l = strlen(de->d_name);

        return de->d_name[0] != '.' && l > 5 && strcmp(de->d_name + l - 5, ".conf") == 0;
}

static int parse_dropins(Config *c, const char *main_path, ConfigDiags *diags) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        int n, r = 0;

        if (asprintf(&dir, "%s.d", main_path) < 0)
                return -ENOMEM;
        n = scandir(dir, &list, conf_filter, alphasort);
        if (n < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : diag_add(diags, CONFIG_DIAG_ERROR,
                                dir, 0, "cannot read directory: %s", strerror(errno));
        if (n > CONFIG_MAX_DROPINS)
                r = diag_add(diags, CONFIG_DIAG_ERROR, dir, 0,
                             "too many drop-ins (%d, at most %d)", n, CONFIG_MAX_DROPINS);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (r >= 0 && i < CONFIG_MAX_DROPINS) {
                        if (asprintf(&p, "%s/%s", dir, list[i]->d_name) < 0)
                                r = -ENOMEM;
                        else {
                                int k = parse_file(c, p, diags, true);
                                if (k == -ENOMEM)
                                        r = k;
                        }
                }
                free(list[i]);
        }
        free(list);
        return r;
}

/* Whether an error message starting with prefix was already reported. */
static bool reported(const ConfigDiags *diags, const char *prefix) {
        for (size_t i = 0; i < diags->n; i++)
                if (diags->items[i].level == CONFIG_DIAG_ERROR &&
                    strncmp(diags->items[i].message, prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

static int validate(Config *c, ConfigDiags *diags) {
        for (size_t i = 0; i < c->n_watches; i++) {
                ConfigWatch *w = &c->watches[i];
                _cleanup_free_ char *prefix = NULL;

                /* Path= itself was checked where it was given; a rejected
                 * one needs no second error. */
                if (asprintf(&prefix, "[Watch.%s] Path=", w->name) < 0)
                        return -ENOMEM;
                if (!w->path && !reported(diags, prefix) &&
                    diag_add(diags, CONFIG_DIAG_ERROR, w->where.file, w->where.line,
                             "[Watch.%s] has no Path=", w->name) < 0)
                        return -ENOMEM;
                if (!w->app && !(w->app = strdup(w->name)))
                        return -ENOMEM;
        }
        for (size_t i = 0; i < c->n_apps; i++) {
                ConfigApp *a = &c->apps[i];
                if (a->auto_fix && !a->directory &&
                    diag_add(diags, CONFIG_DIAG_ERROR, a->where.file, a->where.line,
                             "[App.%s] AutoFix=yes needs Directory=", a->name) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* Reads one secret: the credential file wins over the environment. */
static int load_secret(const char *cred, const char *env, char **field, ConfigDiags *diags) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");

        if (dir) {
                _cleanup_free_ char *p = NULL, *data = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                size_t size = 0;
                ssize_t n;

                if (asprintf(&p, "%s/%s", dir, cred) < 0)
                        return -ENOMEM;
                f = fopen(p, "re");
                if (f) {
                        n = getdelim(&data, &size, 0, f);
                        if (n < 0)
                                return diag_add(diags, CONFIG_DIAG_ERROR, p, 0, "cannot read credential");
                        if (n > 64 * 1024)
                                return diag_add(diags, CONFIG_DIAG_ERROR, p, 0,
                                                "credential is larger than 64 KiB");
                        while (n > 0 && strchr(" \t\r\n", data[n - 1]))
                                data[--n] = 0;
                        /* Secrets go into HTTP headers and URLs: a control
                         * character could forge one. Never quoted. */
                        if (n > 0 && text_problem(data)) {
                                explicit_bzero(data, size);
                                return diag_add(diags, CONFIG_DIAG_ERROR, p, 0,
                                                "credential is not valid UTF-8 or contains a "
                                                "control character");
                        }
                        if (n > 0) {
                                free_secret(*field);
                                *field = TAKE_PTR(data);
                                return 0;
                        }
                        explicit_bzero(data, size);
                } else if (errno != ENOENT)
                        return diag_add(diags, CONFIG_DIAG_ERROR, p, 0, "cannot open credential: %s",
                                        strerror(errno));
        }
        const char *e = getenv(env);
        if (e && e[0] && text_problem(e))
                return diag_add(diags, CONFIG_DIAG_ERROR, "(environment)", 0,
                                "$%s is not valid UTF-8 or contains a control character", env);
        if (e && e[0]) {
                char *c = strdup(e);
                if (!c)
                        return -ENOMEM;
                free_secret(*field);
                *field = c;
        }
        return 0;
}

int config_load_secrets(Config *c, ConfigDiags *diags) {
        int r;

        r = load_secret("gemini_api_key", "GEMINI_API_KEY", &c->gemini_api_key, diags);
        if (r < 0)
                return r;
        r = load_secret("slack_webhook_url", "SLACK_WEBHOOK_URL", &c->slack_webhook_url, diags);
        if (r < 0)
                return r;
        r = load_secret("notion_api_token", "NOTION_API_TOKEN", &c->notion_api_token, diags);
        if (r < 0)
                return r;
        /* Not a secret, but the users' guide sets it in the environment. */
        const char *db = getenv("NOTION_DATABASE_ID");
        if (!c->notion_database_id && db && db[0] && text_problem(db))
                return diag_add(diags, CONFIG_DIAG_ERROR, "(environment)", 0,
                                "$NOTION_DATABASE_ID is not valid UTF-8 or contains a control "
                                "character");
        if (!c->notion_database_id && db && db[0] && set_string(&c->notion_database_id, db) < 0)
                return -ENOMEM;
        return 0;
}

char *config_default_path(void) {
        const char *dir = getenv("CONFIGURATION_DIRECTORY");
        char *p;

        /* systemd may pass several directories; the first is ours. */
        if (dir && dir[0]) {
                size_t l = strcspn(dir, ":");
                if (asprintf(&p, "%.*s/appwatch.conf", (int) l, dir) < 0)
                        return NULL;
                return p;
        }
        return strdup(PKGSYSCONFDIR "/appwatch.conf");
}

int config_load(const char *path, bool explicit_path, Config **ret, ConfigDiags *diags) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        *diags = (ConfigDiags) {};
        r = config_new_default(&c);
        if (r < 0)
                return r;
        c->path = path ? strdup(path) : config_default_path();
        if (!c->path)
                return -ENOMEM;

        r = parse_file(c, c->path, diags, explicit_path);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return explicit_path && r == -ENOENT ? -ENOENT : -EINVAL;
        r = parse_dropins(c, c->path, diags);
        if (r < 0)
                return r;
        r = validate(c, diags);
        if (r < 0)
                return r;
        r = fill_string_defaults(c);
        if (r < 0)
                return r;
        r = config_load_secrets(c, diags);
        if (r < 0)
                return r;
        if (diags->n_errors > 0)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

const ConfigApp *config_find_app(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_apps; i++)
                if (strcmp(c->apps[i].name, name) == 0)
                        return &c->apps[i];
        return NULL;
}

/* Names in a fix unit's environment that are known not to change how code
 * is loaded; PIP_* only tells pip where to find packages. */
static bool env_path_list_valid(const char *v) {
        if (!*v)
                return false;
        for (const char *p = v; *p;) {
                size_t l = strcspn(p, ":");
                if (l == 0 || p[0] != '/')
                        return false;
                p += l;
                if (*p == ':')
                        p++;
                if (*p == 0 && p[-1] == ':')
                        return false;
        }
        return true;
}

int config_app_environment_check(const char *assignment, const char **reterr_reason) {
        const char *eq = strchr(assignment, '='), *v;
        const char *reason = NULL;
        size_t kl;

        if (!eq || eq == assignment) {
                reason = "each entry must be KEY=VALUE";
                goto fail;
        }
        kl = (size_t) (eq - assignment);
        v = eq + 1;
        if (kl == 4 && strncmp(assignment, "PATH", 4) == 0) {
                if (!env_path_list_valid(v))
                        reason = "PATH= must be a colon-separated list of absolute directories";
        } else if ((kl == 4 && strncmp(assignment, "HOME", 4) == 0) ||
                   (kl == 9 && strncmp(assignment, "PUB_CACHE", 9) == 0)) {
                if (v[0] != '/')
                        reason = "HOME= and PUB_CACHE= must be absolute paths";
        } else if (kl == 4 && strncmp(assignment, "LANG", 4) == 0) {
                if (!*v || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789_.@-") != strlen(v))
                        reason = "LANG= must be a locale name such as C.UTF-8";
        } else if (kl > 4 && strncmp(assignment, "PIP_", 4) == 0 &&
                   strspn(assignment + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == kl - 4) {
                /* Any value: pip reads it as it would its own option. */
        } else
                reason = "only PATH, HOME, LANG, PUB_CACHE and PIP_* may be set for a fix";
        if (!reason)
                return 0;
fail:
        if (reterr_reason)
                *reterr_reason = reason;
        return -EINVAL;
}
