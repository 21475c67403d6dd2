/* SPDX-License-Identifier: MIT */
/*
 * appwatch's configuration: /etc/appwatch/appwatch.conf, then
 * appwatch.conf.d/NAME.conf in lexical order (later files win), parsed with
 * libinih through one static table per section kind. Parsing never logs:
 * every problem becomes a ConfigDiag (file, line, message) for the caller,
 * so that --check-config prints them all and a reload can reject a bad file
 * while the old Config keeps running. Secrets come from
 * $CREDENTIALS_DIRECTORY or the environment, never from the files.
 * A Config is immutable once loaded; the loop thread owns it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/cleanup.h"
#include "shared/parse.h"
#include "shared/taxonomy.h"

#define CONFIG_MAX_WATCHES 256
#define CONFIG_MAX_APPS 256
#define CONFIG_MAX_DROPINS 128
/* libinih as Debian builds it reads at most this many bytes of one line. */
#define CONFIG_MAX_LINE 199

typedef enum AppKind {
        APP_KIND_FLUTTER,
        APP_KIND_PYTHON,
        APP_KIND_OTHER,
        _APP_KIND_MAX,
        _APP_KIND_INVALID = -EINVAL,
} AppKind;

const char *app_kind_to_string(AppKind k);
AppKind app_kind_from_string(const char *s);

/* Where a [Watch.*] or [App.*] section was last assigned to, for errors. */
typedef struct ConfigWhere {
        char *file;
        unsigned line;
} ConfigWhere;

typedef struct ConfigWatch {
        ConfigWhere where;
        char *name;
        char *path;   /* a directory, or a glob of files */
        char *app;
} ConfigWatch;

typedef struct ConfigApp {
        ConfigWhere where;
        char *name;
        char *directory;
        AppKind kind;
        char *build_command;
        char *user;
        char *python;          /* absolute path or a bare name; NULL: "python3" */
        char *flutter;         /* absolute path or a bare name; NULL: "flutter" */
        bool auto_fix;
        bool allow_root;       /* a fix may run as root (User= unset, root or 0) */
        char **environment;    /* KEY=VALUE for fix units; see config_app_environment_check() */
} ConfigApp;

typedef struct Config {
        char *path;                /* main file (may not exist: built-in defaults) */
        char **files;              /* every file that was read, in order */

        /* [Service] */
        unsigned workers;
        Language language;
        char *host;                /* NULL: gethostname() */
        uint64_t max_request_bytes;
        unsigned max_clients;
        usec_t client_timeout;
        unsigned queue_size;
        uint64_t max_line_bytes;

        /* [Journal] */
        bool journal_enabled;
        char **journal_units;
        char **journal_identifiers;
        int journal_min_priority;
        char *journal_directory;

        /* [Gemini] */
        char *gemini_model;
        char *gemini_endpoint;
        usec_t gemini_timeout;
        unsigned gemini_daily_budget;
        unsigned gemini_max_calls_per_hour;  /* 0: Gemini is off */
        unsigned gemini_max_output_tokens;   /* thinking tokens count against it */

        /* [Slack] */
        Severity slack_min_severity;
        usec_t slack_repeat_interval;
        char *slack_endpoint;      /* NULL: the webhook URL as given */
        usec_t slack_group_window; /* new incidents this close are one message */

        /* [Notion] */
        char *notion_endpoint;
        char *notion_database_id;
        char *notion_data_source_id;   /* NULL: the database's only one */
        char *notion_prop_title, *notion_prop_type, *notion_prop_app, *notion_prop_severity,
                *notion_prop_auto_fixable, *notion_prop_status, *notion_prop_time,
                *notion_prop_fingerprint;  /* NULL: the database has none */

        /* [Fix] */
        bool fix_enabled;
        bool fix_dry_run;
        usec_t fix_timeout;
        unsigned fix_max_attempts;
        uint64_t fix_memory_max;   /* MemoryMax= of a fix unit, bytes */
        unsigned fix_cpu_quota;    /* CPUQuota= of a fix unit, percent of one CPU */
        char **fix_pip_allowlist;  /* NULL: any valid distribution name */

        /* [Check] (the status check, appwatchctl check) */
        unsigned check_min_free_disk;    /* percent of a filesystem's blocks free, at least */
        unsigned check_min_free_inodes;  /* percent of its inodes free, at least */
        usec_t check_max_outbox_age;     /* oldest undelivered outbox row, at most */
        unsigned check_max_queue_depth;  /* jobs waiting in a pool lane or the analyzer, at most */
        usec_t check_fix_margin;         /* a fix running past [Fix] TimeoutSec= plus this is stuck */

        ConfigWatch *watches;
        size_t n_watches;
        ConfigApp *apps;
        size_t n_apps;

        /* Secrets, from credentials or the environment. Never logged. */
        char *gemini_api_key;
        char *slack_webhook_url;
        char *notion_api_token;
} Config;

typedef enum ConfigDiagLevel {
        CONFIG_DIAG_WARNING,
        CONFIG_DIAG_ERROR,
} ConfigDiagLevel;

typedef struct ConfigDiag {
        ConfigDiagLevel level;
        char *file;
        unsigned line;             /* 0: the file as a whole */
        char *message;
} ConfigDiag;

typedef struct ConfigDiags {
        ConfigDiag *items;
        size_t n;
        size_t n_errors;
} ConfigDiags;

void config_diags_done(ConfigDiags *d);
/* Logs every diagnostic as "FILE:LINE: message" at warning or error level. */
void config_diags_log(const ConfigDiags *d);

/* The main file config_load reads when given no path:
 * $CONFIGURATION_DIRECTORY/appwatch.conf, else PKGSYSCONFDIR/appwatch.conf.
 * malloc'ed; NULL on OOM. */
char *config_default_path(void);

/*
 * Loads path (or the default when NULL: $CONFIGURATION_DIRECTORY/appwatch.conf,
 * else PKGSYSCONFDIR/appwatch.conf) and its ".d" drop-ins, then the secrets.
 * A missing default file means built-in defaults; a missing explicit path is
 * an error. Returns 0 with *ret set (warnings may be in diags), -EINVAL when
 * diags holds at least one error, -ENOENT for a missing explicit file,
 * -ENOMEM. diags is always filled (caller calls config_diags_done).
 */
int config_load(const char *path, bool explicit_path, Config **ret, ConfigDiags *diags);

/* A Config with every default and no files; for tests and embedded defaults. */
int config_new_default(Config **ret);
Config *config_free(Config *c);
DEFINE_CLEANUP(Config, config_free)

/* Reads secrets from $CREDENTIALS_DIRECTORY, then the environment. */
int config_load_secrets(Config *c, ConfigDiags *diags);

const ConfigApp *config_find_app(const Config *c, const char *name);

/*
 * Checks one [App.NAME] Environment= assignment, KEY=VALUE, for a fix unit.
 * Only what a build tool needs may be set, so that nothing like LD_PRELOAD
 * or PYTHONPATH reaches a fix: PATH (colon-separated absolute directories,
 * also systemd's ExecSearchPath=), HOME and PUB_CACHE (absolute paths), LANG
 * (a locale name) and PIP_* (PIP_ and upper-case letters, digits, '_'; any
 * value). Returns 0, or -EINVAL with *reterr_reason (may be NULL) set to a
 * static explanation.
 */
int config_app_environment_check(const char *assignment, const char **reterr_reason);
