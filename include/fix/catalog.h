/* SPDX-License-Identifier: MIT */
/*
 * The fix catalogue: which commands a fix id stands for, and everything a
 * transient systemd unit needs to run them (and, after them, to verify the
 * repair). Pure: no sd-bus, no process, no file system, no database; the
 * caller checks the kill-switch file and passes its presence in. The
 * sd-bus side (StartTransientUnit) and the direct-child fallback both take
 * a FixPlan as it is.
 *
 * Nothing here runs a shell. Every step is an argv whose words come from the
 * catalogue, the app's [App.NAME] section or a validated parameter: the one
 * parameter, pip_install's distribution name, must be a PEP 508 name (and on
 * [Fix] PipAllowlist= when that is set), so no option, path or URL taken
 * from a log or from the AI ever reaches pip.
 *
 * Passing a step to systemd verbatim: systemd expands $VAR and ${VAR} in
 * ExecStart= argv unless told not to, so the sd-bus side sends each step as
 * ExecStartEx= with the "no-env-expand" flag (systemd >= 243). A bare
 * argv[0] (no '/') is looked up by systemd when the unit starts, in
 * FixUnit.exec_search_path when set (ExecSearchPath=, systemd >= 250), else
 * in systemd's fixed /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin. The
 * steps of one plan are successive ExecStart= of a Type=oneshot unit:
 * systemd runs them in order and stops at the first that fails.
 *
 * Thread-safe: every function works on its arguments only.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared/config.h"

/* Every fix and verification unit goes into this slice. */
#define FIX_UNIT_SLICE "appwatch-fix.slice"
#define FIX_UNIT_PREFIX "appwatch-fix-"
/* systemd's UNIT_NAME_MAX less its NUL. */
#define FIX_UNIT_NAME_MAX 255
/* Bounds of a wrapped command or BuildCommand= taken for verification. */
#define FIX_ARGV_MAX 256
#define FIX_ARG_MAX 4096
/* Longest module name a pip verification imports. */
#define FIX_MODULE_MAX 200

typedef enum FixKind {
        FIX_FLUTTER_CLEAN,
        FIX_FLUTTER_PUB_GET,
        FIX_FLUTTER_CLEAN_PUB_GET,
        FIX_FLUTTER_PUB_UPGRADE,
        FIX_PIP_INSTALL,
        _FIX_KIND_MAX,
        _FIX_KIND_INVALID = -EINVAL,
} FixKind;

/* The kill switch: while this file exists no fix runs
 * (PKGSYSCONFDIR/disable-fixes, /etc/appwatch/disable-fixes when installed). */
const char *fix_kill_switch_path(void);

/* "flutter_clean", ..., "pip_install" (without its ":<dist>"). */
const char *fix_kind_to_string(FixKind k);
FixKind fix_kind_from_string(const char *s);
/* The app kind a fix is for: APP_KIND_FLUTTER or APP_KIND_PYTHON. */
AppKind fix_kind_app_kind(FixKind k);

/*
 * Splits a fix id as the rules and the incident store it ("flutter_clean",
 * "pip_install:PyYAML") and checks its parameter. allowlist is
 * [Fix] PipAllowlist= (NULL or empty: any valid name). Returns 0 with
 * *ret_kind and *ret_param (malloc'ed distribution name, NULL for a fix
 * without one; ret_param may be NULL), or -EINVAL (an unknown id, a missing
 * or invalid name), -EPERM (a name not on the allowlist) or -ENOMEM, with
 * *reterr (when not NULL) a malloc'ed message quoting the id.
 */
int fix_id_parse(const char *id, char *const *allowlist, FixKind *ret_kind, char **ret_param,
                 char **reterr);

/*
 * Escapes s for a unit name the way `systemd-escape` does: letters, digits,
 * ':', '_' and a '.' that is not first stay; '/' becomes '-'; every other
 * byte (and '-', so it can separate the name's parts) becomes \xNN.
 * Returns a malloc'ed string, or NULL on OOM.
 */
char *fix_unit_name_escape(const char *s);

/* What the transient unit is made of, besides its ExecStart= steps. */
typedef struct FixUnit {
        char *name;                /* appwatch-fix-<app>-<incident>-<attempt>[-verify].service */
        char *user;                /* User=; root (by name or uid 0) only with AllowRoot=yes;
                                    * another name for uid 0 shows only when resolved */
        char *working_directory;   /* WorkingDirectory=, absolute */
        char **environment;        /* Environment=: KEY=VALUE, each key once; may be NULL */
        char *exec_search_path;    /* ExecSearchPath= (the PATH= above), or NULL */
        uint64_t runtime_max_usec; /* RuntimeMaxSec= ([Fix] TimeoutSec=) */
        uint64_t memory_max;       /* MemoryMax=, bytes ([Fix] MemoryMax=) */
        unsigned cpu_quota_percent; /* CPUQuota= ([Fix] CPUQuota=) */
        uint64_t cpu_quota_per_sec_usec; /* the same as the bus property CPUQuotaPerSecUSec */
        bool no_new_privileges;    /* NoNewPrivileges=, always yes */
        bool private_tmp;          /* PrivateTmp=, always yes */
} FixUnit;

/* Frees what u holds and zeroes it; a zeroed FixUnit is fine. */
void fix_unit_done(FixUnit *u);

typedef struct FixPlan {
        FixKind kind;              /* a verification: the fix verified, or _FIX_KIND_INVALID */
        char *fix_id;              /* as given, "pip_install:PyYAML"; NULL: a verification */
        char *param;               /* pip_install's distribution name, or NULL */
        char ***steps;             /* NULL-terminated list of NULL-terminated argv */
        size_t n_steps;
        char *command_line;        /* the steps for people: "flutter clean && flutter pub get" */
        FixUnit unit;
} FixPlan;

/* Frees what p holds (its unit too) and resets it; a zeroed FixPlan is fine. */
void fix_plan_done(FixPlan *p);

typedef struct FixRequest {
        const char *fix_id;        /* as stored in the incident */
        const char *app;           /* the incident's app: its [App.NAME] */
        const Config *config;      /* [Fix] switches and the [App.*] sections */
        bool kill_switch;          /* /etc/appwatch/disable-fixes exists (the caller looked) */
        bool on_request;           /* `appwatchctl fix`: AutoFix= (automatic runs) does not apply */
        bool dry_run;              /* `appwatchctl fix --dry-run` or appwatchd --dry-run */
        int64_t incident;          /* incident id, for the unit name */
        unsigned attempt;          /* 1, 2, ...: for the unit name */
} FixRequest;

/* fix_plan()'s positive outcome: a plan to record, not to run. */
#define FIX_PLAN_DRY_RUN 1

/*
 * Plans the fix req->fix_id for req->app. The checks, in order: the fix id
 * and its parameter (an invalid one is named even when fixes are off), the
 * kill switch, [Fix] Enabled=, the app's section, its AutoFix= (unless
 * on_request), its Kind=, the user (root refused without AllowRoot=yes),
 * Directory= and Environment=, the unit name; then dry run.
 *
 * Returns 0 with *ret filled: run it. FIX_PLAN_DRY_RUN with *ret filled and
 * *reterr "dry run ([Fix] DryRun=yes): would run ..." (or "dry run
 * (requested): ..."): record it, run nothing. A refusal is -EPERM (a switch:
 * kill switch, Enabled=no, AutoFix=no, root, not on the allowlist), -ENOENT
 * (no [App.x] section, or one without Directory=), -EINVAL (unknown fix id,
 * invalid name, a fix for another kind of app, a bad Environment= or user
 * name), -ENAMETOOLONG (the unit name) or -ENOMEM, with *ret untouched.
 * *reterr (when reterr is not NULL) gets a malloc'ed message for every
 * outcome but 0 and -ENOMEM; the caller frees it.
 */
int fix_plan(const FixRequest *req, FixPlan *ret, char **reterr);

typedef struct FixVerifyRequest {
        const char *app;
        const Config *config;
        const char *fix_id;                  /* the fix that ran (for pip's import check) */
        char *const *wrapped_argv;           /* what `appwatchctl run` ran, or NULL */
        const char *wrapped_directory;       /* and where; NULL: the app's Directory= */
        const char *module;                  /* pip: the module whose import failed, or NULL */
        int64_t incident;
        unsigned attempt;
} FixVerifyRequest;

/*
 * Plans the verification after a fix: the failed step again, as a unit with
 * the same user, environment and limits as the fix (named ...-verify.service).
 * The step is the first there is of: the wrapped command (argv[0] relative
 * to its directory made absolute); the app's BuildCommand=, split by
 * fix_split_command(); for pip_install, `<Python> -c "import <module>"` with
 * module a dotted Python identifier. Returns 0 with *ret filled, or -ENOENT
 * (no [App.x] section, nothing to verify with), -EINVAL (a bad command,
 * module or directory), -EPERM (root), -ENAMETOOLONG or -ENOMEM, with
 * *reterr (when not NULL) a malloc'ed message for every failure but -ENOMEM.
 * The switches are fix_plan()'s: a verification follows a fix that passed
 * them (the caller may look at the kill switch again).
 */
int fix_verify_plan(const FixVerifyRequest *req, FixPlan *ret, char **reterr);

/*
 * Splits one command line into words without a shell, so that what a
 * BuildCommand= means is what runs. Words are separated by blanks (space,
 * tab). '...' keeps everything literally; "..." too, except that \" and \\
 * stand for " and \; outside quotes \c stands for c. Quotes join with what
 * touches them (a'b'"c" is abc); '' is an empty word. Refused, because a
 * shell would give them a meaning this does not: unquoted | & ; < > ( ) $ `
 * * ? [ ] { }, an unquoted ~ or # starting a word, $ or ` inside "...", a
 * first word that is an assignment (VAR=x), an unterminated quote, a
 * trailing \, newlines, no words at all, more than FIX_ARGV_MAX words or one
 * longer than FIX_ARG_MAX bytes. Returns 0 with *ret (a malloc'ed strv), or
 * -EINVAL with *reterr (when not NULL) a malloc'ed message naming the
 * offending character and its column, or -ENOMEM.
 */
int fix_split_command(const char *s, char ***ret, char **reterr);

/* A dotted Python identifier (ASCII): "yaml", "google.protobuf". */
bool fix_python_module_valid(const char *s);

/*
 * A plan that runs one probe of the health check, argv (copied; argv[0] a
 * bare name or an absolute path), for app: in its Directory=, as its User=,
 * with its Environment= and ExecSearchPath= and the [Fix] limits, as unit
 * appwatch-fix-<app>-0-<n>-probe.service. Not a fix: no switch but the
 * user's applies (root only with AllowRoot=yes). Returns 0 with *ret
 * filled, or -ENOENT (no [App.x] section, or no Directory=), -EPERM (root),
 * -EINVAL, -ENAMETOOLONG or -ENOMEM, with *reterr (when not NULL) a
 * malloc'ed message for every failure but -ENOMEM.
 */
int fix_probe_plan(const Config *c, const char *app, char *const *argv, unsigned n, FixPlan *ret,
                   char **reterr);
