/* SPDX-License-Identifier: MIT */
/*
 * Tests for fix/catalog: every fix id's argv, hostile names, every switch's
 * refusal, unit names, the unit's environment and limits, verification
 * plans and the shell-free word splitter. The configurations are loaded from
 * real files with config_load(), as appwatchd loads them.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>

#include "fix/catalog.h"
#include "tests.h"

static Config *load(const char *text) {
        Config *c = NULL;
        ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;

        unsetenv("CREDENTIALS_DIRECTORY");
        p = test_write_file(test_tmpdir(), "appwatch.conf", text);
        if (config_load(p, true, &c, &d) < 0) {
                for (size_t i = 0; i < d.n; i++)
                        fprintf(stderr, "%s:%u: %s\n", d.items[i].file, d.items[i].line,
                                d.items[i].message);
                c = NULL;
        }
        config_diags_done(&d);
        return c;
}

#define APPS                                                                        \
        "[App.shop]\nDirectory=/srv/shop\nKind=flutter\nUser=builder\nAutoFix=yes\n" \
        "[App.tool]\nDirectory=/srv/tool\nKind=python\nUser=builder\nAutoFix=yes\n"  \
        "Python=/srv/tool/.venv/bin/python\n"                                       \
        "[App.any]\nDirectory=/srv/any\nUser=1000\nAutoFix=yes\n"

/* "a b c" for an argv, to compare with one string. */
static char *join(char **argv) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        for (char **a = argv; *a; a++)
                fprintf(f, "%s%s", a == argv ? "" : "|", *a);
        fclose(f);
        return s;
}

static char *steps_of(const FixPlan *p) {
        char *s = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&s, &len);

        for (size_t i = 0; i < p->n_steps; i++) {
                _cleanup_free_ char *j = join(p->steps[i]);
                fprintf(f, "%s%s", i ? " ; " : "", j);
        }
        fclose(f);
        return s;
}

TEST(every_fix_id_gives_its_argv) {
        static const struct {
                const char *app, *id, *steps, *line;
        } cases[] = {
                { "shop", "flutter_clean", "flutter|clean", "flutter clean" },
                { "shop", "flutter_pub_get", "flutter|pub|get", "flutter pub get" },
                { "shop", "flutter_clean_pub_get", "flutter|clean ; flutter|pub|get",
                  "flutter clean && flutter pub get" },
                { "shop", "flutter_pub_upgrade", "flutter|pub|upgrade", "flutter pub upgrade" },
                { "tool", "pip_install:PyYAML",
                  "/srv/tool/.venv/bin/python|-m|pip|install|PyYAML",
                  "/srv/tool/.venv/bin/python -m pip install PyYAML" },
                { "tool", "pip_install:python-dateutil",
                  "/srv/tool/.venv/bin/python|-m|pip|install|python-dateutil",
                  "/srv/tool/.venv/bin/python -m pip install python-dateutil" },
                { "tool", "pip_install:zope.interface",
                  "/srv/tool/.venv/bin/python|-m|pip|install|zope.interface",
                  "/srv/tool/.venv/bin/python -m pip install zope.interface" },
                { "tool", "pip_install:a", "/srv/tool/.venv/bin/python|-m|pip|install|a",
                  "/srv/tool/.venv/bin/python -m pip install a" },
                /* Kind=other: both kinds of fix; Python= unset is python3. */
                { "any", "pip_install:requests", "python3|-m|pip|install|requests",
                  "python3 -m pip install requests" },
                { "any", "flutter_clean", "flutter|clean", "flutter clean" },
        };
        _cleanup_(config_freep) Config *c = load(APPS);

        ASSERT_TRUE(c);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(fix_plan_done) FixPlan p = {};
                _cleanup_free_ char *err = NULL, *s = NULL;
                FixRequest req = { .fix_id = cases[i].id, .app = cases[i].app, .config = c,
                                   .incident = 7, .attempt = 1 };

                fprintf(stderr, "case %s %s\n", cases[i].app, cases[i].id);
                ASSERT_EQ(fix_plan(&req, &p, &err), 0);
                ASSERT_TRUE(!err);
                s = steps_of(&p);
                ASSERT_STREQ(s, cases[i].steps);
                ASSERT_STREQ(p.command_line, cases[i].line);
                ASSERT_STREQ(p.fix_id, cases[i].id);
                ASSERT_TRUE(p.steps[p.n_steps] == NULL);
        }
        return 0;
}

TEST(flutter_binary_from_config) {
        _cleanup_(config_freep) Config *c =
                load("[App.shop]\nDirectory=/srv/shop\nKind=flutter\nUser=builder\n"
                     "AutoFix=yes\nFlutter=/opt/flutter/bin/flutter\n"
                     "[App.fvm]\nDirectory=/srv/fvm\nUser=builder\nAutoFix=yes\nFlutter=flutter3\n");
        _cleanup_(fix_plan_done) FixPlan p = {}, q = {};
        _cleanup_free_ char *s = NULL, *t = NULL;

        ASSERT_TRUE(c);
        ASSERT_OK(fix_plan(&(FixRequest) { .fix_id = "flutter_clean_pub_get", .app = "shop",
                                           .config = c }, &p, NULL));
        s = steps_of(&p);
        ASSERT_STREQ(s, "/opt/flutter/bin/flutter|clean ; /opt/flutter/bin/flutter|pub|get");
        ASSERT_OK(fix_plan(&(FixRequest) { .fix_id = "flutter_pub_get", .app = "fvm",
                                           .config = c }, &q, NULL));
        t = steps_of(&q);
        ASSERT_STREQ(t, "flutter3|pub|get");
        return 0;
}

TEST(hostile_names_refused_with_reason) {
        static const struct {
                const char *id, *reason;
        } cases[] = {
                { "pip_install:--index-url=https://evil.example/simple",
                  "'--index-url=https://evil.example/simple' is not a valid PEP 508 name: it "
                  "contains '='" },
                { "pip_install:--extra-index-url", "it must start and end with a letter or a digit" },
                { "pip_install:../x", "'../x' is not a valid PEP 508 name: it contains '/'" },
                { "pip_install:x; rm -rf /", "'x; rm -rf /' is not a valid PEP 508 name: it contains ';'" },
                { "pip_install:https://evil.example/x.whl", "it contains ':'" },
                { "pip_install:-e .", "it contains ' '" },
                { "pip_install:-e", "it must start and end with a letter or a digit" },
                { "pip_install:x y", "'x y' is not a valid PEP 508 name: it contains ' '" },
                { "pip_install:", "'' is not a valid PEP 508 name: it is empty" },
                { "pip_install:requests==2.0", "it contains '='" },
                { "pip_install:requests[socks]", "it contains '['" },
                { "pip_install:requests>=1", "it contains '>'" },
                { "pip_install:git+https://x/y", "it contains '+'" },
                { "pip_install:/tmp/evil", "it contains '/'" },
                { "pip_install:.", "it must start and end with a letter or a digit" },
                { "pip_install:x-", "it must start and end with a letter or a digit" },
                { "pip_install:x\ny", "it contains the byte \\x0a" },
                { "pip_install:caf\xc3\xa9", "'caf\\xc3\\xa9' is not a valid PEP 508 name: it "
                                             "contains a non-ASCII character" },
                { "pip_install:evil.tar.gz", "it ends in '.tar.gz'" },
                { "pip_install:evil.WHL", "it ends in '.whl'" },
                { "pip_install:x.zip", "it ends in '.zip'" },
                { "pip_install", "pip_install needs a distribution" },
                { "flutter_clean:x", "flutter_clean takes no parameter" },
                { "rm -rf /", "unknown fix id 'rm -rf /'" },
                { "flutter clean && flutter pub get", "unknown fix id" },
                { "FLUTTER_CLEAN", "unknown fix id 'FLUTTER_CLEAN'" },
                { "", "unknown fix id ''" },
                { "none", "unknown fix id 'none'" },
                { "pip_installx:y", "unknown fix id" },
        };
        _cleanup_(config_freep) Config *c = load(APPS);

        ASSERT_TRUE(c);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(fix_plan_done) FixPlan p = {};
                _cleanup_free_ char *err = NULL;
                FixRequest req = { .fix_id = cases[i].id, .app = "tool", .config = c };

                fprintf(stderr, "case '%s'\n", cases[i].id);
                ASSERT_ERROR(fix_plan(&req, &p, &err), EINVAL);
                ASSERT_STRSTR(err, cases[i].reason);
                ASSERT_TRUE(!p.steps && !p.unit.name);
                /* Even with fixes off, a hostile id is called what it is. */
                FixRequest off = req;
                off.kill_switch = true;
                free(err);
                err = NULL;
                ASSERT_ERROR(fix_plan(&off, &p, &err), EINVAL);
                ASSERT_STRSTR(err, cases[i].reason);
        }
        return 0;
}

TEST(long_names_are_bounded) {
        _cleanup_free_ char *id = NULL, *err = NULL, *err2 = NULL;
        char name[301];
        _cleanup_(config_freep) Config *c = load(APPS);
        FixKind k;

        ASSERT_TRUE(c);
        memset(name, 'a', 300);
        name[300] = 0;
        ASSERT_TRUE(asprintf(&id, "pip_install:%s", name) > 0);
        ASSERT_ERROR(fix_id_parse(id, NULL, &k, NULL, &err), EINVAL);
        ASSERT_STRSTR(err, "is not a valid PEP 508 name: it is 300 characters long, at most 100");
        /* The quote of the name is cut, so a message stays short. */
        ASSERT_TRUE(strlen(err) < 200);
        ASSERT_STRSTR(err, "aaa...'");
        name[100] = 0;
        id[12 + 100] = 0;
        ASSERT_OK(fix_id_parse(id, NULL, &k, NULL, &err2));
        ASSERT_EQ(k, FIX_PIP_INSTALL);
        return 0;
}

TEST(fix_id_parse_kinds) {
        static const struct {
                const char *id;
                FixKind kind;
                const char *param;
        } cases[] = {
                { "flutter_clean", FIX_FLUTTER_CLEAN, NULL },
                { "flutter_pub_get", FIX_FLUTTER_PUB_GET, NULL },
                { "flutter_clean_pub_get", FIX_FLUTTER_CLEAN_PUB_GET, NULL },
                { "flutter_pub_upgrade", FIX_FLUTTER_PUB_UPGRADE, NULL },
                { "pip_install:PyYAML", FIX_PIP_INSTALL, "PyYAML" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *param = NULL;
                FixKind k;

                ASSERT_OK(fix_id_parse(cases[i].id, NULL, &k, &param, NULL));
                ASSERT_EQ(k, cases[i].kind);
                if (cases[i].param)
                        ASSERT_STREQ(param, cases[i].param);
                else
                        ASSERT_TRUE(!param);
                ASSERT_STREQ(fix_kind_to_string(k), cases[i].id[0] == 'p' ? "pip_install" : cases[i].id);
        }
        ASSERT_ERROR(fix_kind_from_string("nope"), EINVAL);
        ASSERT_TRUE(fix_kind_to_string(_FIX_KIND_MAX) == NULL);
        ASSERT_EQ(fix_kind_app_kind(FIX_PIP_INSTALL), APP_KIND_PYTHON);
        ASSERT_EQ(fix_kind_app_kind(FIX_FLUTTER_PUB_UPGRADE), APP_KIND_FLUTTER);
        ASSERT_ERROR(fix_id_parse(NULL, NULL, &(FixKind) {0}, NULL, NULL), EINVAL);
        return 0;
}

TEST(pip_allowlist) {
        _cleanup_(config_freep) Config *c =
                load(APPS "[Fix]\nPipAllowlist=pyyaml requests\nPipAllowlist=Python_DateUtil\n");
        static const struct {
                const char *id;
                int r;
        } cases[] = {
                { "pip_install:PyYAML", 0 },          /* PEP 503: case folds */
                { "pip_install:requests", 0 },
                { "pip_install:python-dateutil", 0 }, /* '_' and '-' are one */
                { "pip_install:python.dateutil", 0 },
                { "pip_install:numpy", -EPERM },
                { "pip_install:requests2", -EPERM },
                { "pip_install:--index-url=x", -EINVAL },
        };

        ASSERT_TRUE(c);
        ASSERT_EQ(strv_length(c->fix_pip_allowlist), 3);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(fix_plan_done) FixPlan p = {};
                _cleanup_free_ char *err = NULL;
                FixRequest req = { .fix_id = cases[i].id, .app = "tool", .config = c };

                fprintf(stderr, "case '%s'\n", cases[i].id);
                ASSERT_EQ(fix_plan(&req, &p, &err), cases[i].r);
                if (cases[i].r == -EPERM)
                        ASSERT_STRSTR(err, "is not on [Fix] PipAllowlist=");
        }
        return 0;
}

TEST(every_switch_refuses_with_its_name) {
        static const struct {
                const char *conf;
                const char *app, *id;
                bool kill, on_request;
                int r;
                const char *reason;
        } cases[] = {
                { APPS "[Fix]\nEnabled=no\n", "shop", "flutter_clean", false, false, -EPERM,
                  "fixes are disabled ([Fix] Enabled=no)" },
                { APPS, "shop", "flutter_clean", true, false, -EPERM, "kill switch " },
                /* The kill switch wins over everything after the id. */
                { APPS "[Fix]\nEnabled=no\n", "nowhere", "flutter_clean", true, false, -EPERM,
                  "kill switch " },
                { APPS, "nowhere", "flutter_clean", false, false, -ENOENT,
                  "no [App.nowhere] section: appwatch does not know where the app lives" },
                { APPS, "bad\nname", "flutter_clean", false, false, -ENOENT,
                  "no [App.bad\\x0aname] section" },
                { "[App.shop]\nDirectory=/srv/shop\nUser=builder\nAutoFix=no\n", "shop",
                  "flutter_clean", false, false, -EPERM, "[App.shop] AutoFix=no" },
                { "[App.shop]\nDirectory=/srv/shop\nUser=builder\n", "shop", "flutter_clean",
                  false, false, -EPERM, "[App.shop] AutoFix=no" },
                { "[App.shop]\nUser=builder\n", "shop", "flutter_clean", false, true, -ENOENT,
                  "[App.shop] has no Directory=: appwatch does not know where the app lives" },
                { "[App.shop]\nDirectory=/srv/shop\nAutoFix=yes\n", "shop", "flutter_clean",
                  false, false, -EPERM,
                  "refusing to run as root without [App.shop] AllowRoot=yes (User= is unset)" },
                { "[App.shop]\nDirectory=/srv/shop\nAutoFix=yes\nUser=root\n", "shop",
                  "flutter_clean", false, false, -EPERM,
                  "refusing to run as root without [App.shop] AllowRoot=yes (User=root)" },
                { "[App.shop]\nDirectory=/srv/shop\nAutoFix=yes\nUser=0\n", "shop",
                  "flutter_clean", false, false, -EPERM,
                  "refusing to run as root without [App.shop] AllowRoot=yes (User=0)" },
                { "[App.shop]\nDirectory=/srv/shop\nAutoFix=yes\nUser=000\n", "shop",
                  "flutter_clean", false, false, -EPERM, "AllowRoot=yes (User=000)" },
                { "[App.shop]\nDirectory=/srv/shop\nAutoFix=yes\nUser=-rf\n", "shop",
                  "flutter_clean", false, false, -EINVAL,
                  "[App.shop] User='-rf' is not a valid user name" },
                { APPS, "shop", "pip_install:PyYAML", false, false, -EINVAL,
                  "pip_install is a fix for python apps, and [App.shop] Kind=flutter" },
                { APPS, "tool", "flutter_pub_get", false, false, -EINVAL,
                  "flutter_pub_get is a fix for flutter apps, and [App.tool] Kind=python" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = load(cases[i].conf);
                _cleanup_(fix_plan_done) FixPlan p = {};
                _cleanup_free_ char *err = NULL;
                FixRequest req = { .fix_id = cases[i].id, .app = cases[i].app, .config = c,
                                   .kill_switch = cases[i].kill, .on_request = cases[i].on_request };

                fprintf(stderr, "case %zu\n", i);
                ASSERT_TRUE(c);
                ASSERT_EQ(fix_plan(&req, &p, &err), cases[i].r);
                ASSERT_STRSTR(err, cases[i].reason);
                ASSERT_TRUE(!p.steps && !p.unit.name && !p.fix_id);
        }
        return 0;
}

TEST(kill_switch_names_its_file) {
        _cleanup_(config_freep) Config *c = load(APPS);
        _cleanup_free_ char *err = NULL, *want = NULL;
        FixPlan p = {};

        ASSERT_TRUE(c);
        ASSERT_ERROR(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "shop",
                                              .config = c, .kill_switch = true }, &p, &err), EPERM);
        ASSERT_TRUE(asprintf(&want, "kill switch %s present", fix_kill_switch_path()) > 0);
        ASSERT_STREQ(err, want);
        ASSERT_STRSTR(fix_kill_switch_path(), "/disable-fixes");
        return 0;
}

TEST(on_request_and_root_allowed) {
        _cleanup_(config_freep) Config *c =
                load("[App.shop]\nDirectory=/srv/shop\nUser=builder\nAutoFix=no\n"
                     "[App.r]\nDirectory=/srv/r\nAutoFix=yes\nAllowRoot=yes\n"
                     "[App.r0]\nDirectory=/srv/r\nAutoFix=yes\nAllowRoot=yes\nUser=0\n");
        _cleanup_(fix_plan_done) FixPlan p = {}, q = {}, s = {};

        ASSERT_TRUE(c);
        /* appwatchctl fix: a person asked, AutoFix= (automatic runs) does not apply. */
        ASSERT_EQ(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "shop", .config = c,
                                           .on_request = true }, &p, NULL), 0);
        ASSERT_STREQ(p.unit.user, "builder");
        ASSERT_EQ(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "r", .config = c },
                           &q, NULL), 0);
        ASSERT_STREQ(q.unit.user, "root");
        ASSERT_EQ(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "r0", .config = c },
                           &s, NULL), 0);
        ASSERT_STREQ(s.unit.user, "0");
        return 0;
}

TEST(dry_run_records_what_would_run) {
        _cleanup_(config_freep) Config *c = load(APPS "[Fix]\nDryRun=yes\n");
        _cleanup_(config_freep) Config *c2 = load(APPS);
        _cleanup_(fix_plan_done) FixPlan p = {}, q = {};
        _cleanup_free_ char *err = NULL, *err2 = NULL;

        ASSERT_TRUE(c && c2);
        ASSERT_EQ(fix_plan(&(FixRequest) { .fix_id = "flutter_clean_pub_get", .app = "shop",
                                           .config = c, .incident = 3, .attempt = 2 }, &p, &err),
                  FIX_PLAN_DRY_RUN);
        ASSERT_STREQ(err, "dry run ([Fix] DryRun=yes): would run flutter clean && flutter pub get "
                          "as builder in /srv/shop (appwatch-fix-shop-3-2.service)");
        ASSERT_EQ(p.n_steps, 2);
        ASSERT_EQ(fix_plan(&(FixRequest) { .fix_id = "pip_install:PyYAML", .app = "tool",
                                           .config = c2, .dry_run = true, .incident = 4,
                                           .attempt = 1 }, &q, &err2),
                  FIX_PLAN_DRY_RUN);
        ASSERT_STREQ(err2, "dry run (requested): would run /srv/tool/.venv/bin/python -m pip "
                           "install PyYAML as builder in /srv/tool (appwatch-fix-tool-4-1.service)");
        ASSERT_EQ(q.n_steps, 1);
        return 0;
}

TEST(unit_names_are_escaped) {
        static const struct {
                const char *in, *out;
        } esc[] = {
                { "shop", "shop" },
                { "my-app", "my\\x2dapp" },
                { "my_app.v2", "my_app.v2" },
                { ".hidden", "\\x2ehidden" },
                { "a/b", "a-b" },
                { "a b", "a\\x20b" },
                { "caf\xc3\xa9", "caf\\xc3\\xa9" },
                { "x\\y", "x\\x5cy" },
                { "A:B", "A:B" },
                { "", "" },
        };

        for (size_t i = 0; i < ELEMENTSOF(esc); i++) {
                _cleanup_free_ char *e = fix_unit_name_escape(esc[i].in);
                ASSERT_STREQ(e, esc[i].out);
        }

        _cleanup_(config_freep) Config *c =
                load("[App.my-app.v2]\nDirectory=/srv/a\nUser=builder\nAutoFix=yes\n"
                     "[App.long]\nDirectory=/srv/a\nUser=builder\nAutoFix=yes\n");
        _cleanup_(fix_plan_done) FixPlan p = {}, v = {};
        _cleanup_free_ char *err = NULL;
        char dashes[65];
        FixPlan q = {};

        ASSERT_TRUE(c);
        ASSERT_OK(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "my-app.v2",
                                           .config = c, .incident = 1234567890123, .attempt = 3 },
                           &p, NULL));
        ASSERT_STREQ(p.unit.name, "appwatch-fix-my\\x2dapp.v2-1234567890123-3.service");
        ASSERT_OK(fix_verify_plan(&(FixVerifyRequest) { .app = "my-app.v2", .config = c,
                                                        .wrapped_argv = (char *[]) { "true", NULL },
                                                        .incident = 5, .attempt = 1 }, &v, NULL));
        ASSERT_STREQ(v.unit.name, "appwatch-fix-my\\x2dapp.v2-5-1-verify.service");
        ASSERT_ERROR(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "shop",
                                              .config = c, .incident = -1 }, &q, &err), ENOENT);
        ASSERT_ERROR(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "long",
                                              .config = c, .incident = -1 }, &q, &err), EINVAL);
        ASSERT_STRSTR(err, "incident id -1 is not valid");
        /* 64 dashes (a valid [App.*] name, too long for a section line of
         * libinih) escape to 256 characters: too long for a unit name. */
        memset(dashes, '-', 64);
        dashes[64] = 0;
        free(c->apps[1].name);
        c->apps[1].name = strdup(dashes);
        ASSERT_TRUE(c->apps[1].name);
        ASSERT_ERROR(fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .config = c,
                                              .app = dashes }, &q, &err), ENAMETOOLONG);
        ASSERT_STRSTR(err, "would be 281 characters, at most 255");
        ASSERT_TRUE(!q.unit.name);
        return 0;
}

TEST(unit_properties_from_config) {
        _cleanup_(config_freep) Config *c =
                load("[App.shop]\nDirectory=/srv/shop\nKind=flutter\nUser=builder\nAutoFix=yes\n"
                     "Environment=PATH=/opt/flutter/bin:/usr/bin HOME=/home/builder\n"
                     "Environment=LANG=C.UTF-8 PUB_CACHE=/srv/shop/.pub-cache\n"
                     "Environment=PIP_NO_INDEX=1 PATH=/usr/local/bin:/usr/bin\n"
                     "[Fix]\nTimeoutSec=5min\nMemoryMax=512M\nCPUQuota=50%\n");
        _cleanup_(config_freep) Config *d = load(APPS);
        _cleanup_(fix_plan_done) FixPlan p = {}, q = {};

        ASSERT_TRUE(c && d);
        ASSERT_OK(fix_plan(&(FixRequest) { .fix_id = "flutter_pub_get", .app = "shop",
                                           .config = c, .incident = 9, .attempt = 1 }, &p, NULL));
        ASSERT_STREQ(p.unit.user, "builder");
        ASSERT_STREQ(p.unit.working_directory, "/srv/shop");
        /* Each key once; the later PATH= wins, and is the search path. */
        ASSERT_EQ(strv_length(p.unit.environment), 5);
        ASSERT_STREQ(p.unit.environment[0], "PATH=/usr/local/bin:/usr/bin");
        ASSERT_STREQ(p.unit.environment[1], "HOME=/home/builder");
        ASSERT_STREQ(p.unit.environment[2], "LANG=C.UTF-8");
        ASSERT_STREQ(p.unit.environment[3], "PUB_CACHE=/srv/shop/.pub-cache");
        ASSERT_STREQ(p.unit.environment[4], "PIP_NO_INDEX=1");
        ASSERT_STREQ(p.unit.exec_search_path, "/usr/local/bin:/usr/bin");
        ASSERT_EQ(p.unit.runtime_max_usec, 5 * USEC_PER_MINUTE);
        ASSERT_EQ(p.unit.memory_max, 512 << 20);
        ASSERT_EQ(p.unit.cpu_quota_percent, 50);
        ASSERT_EQ(p.unit.cpu_quota_per_sec_usec, 500000);
        ASSERT_TRUE(p.unit.no_new_privileges && p.unit.private_tmp);

        /* Defaults: no environment of our own, 10 min, 2G, 200%. */
        ASSERT_OK(fix_plan(&(FixRequest) { .fix_id = "flutter_pub_get", .app = "shop",
                                           .config = d }, &q, NULL));
        ASSERT_TRUE(!q.unit.environment && !q.unit.exec_search_path);
        ASSERT_EQ(q.unit.runtime_max_usec, 10 * USEC_PER_MINUTE);
        ASSERT_EQ(q.unit.memory_max, UINT64_C(2) << 30);
        ASSERT_EQ(q.unit.cpu_quota_percent, 200);
        ASSERT_EQ(q.unit.cpu_quota_per_sec_usec, 2000000);
        ASSERT_TRUE(q.unit.no_new_privileges && q.unit.private_tmp);
        ASSERT_STREQ(q.unit.name, "appwatch-fix-shop-0-0.service");
        return 0;
}

/* A Config built by hand (not through the parser) is checked again. */
TEST(environment_filtered_in_the_plan_too) {
        static const struct {
                const char *assignment;
                const char *reason;
        } cases[] = {
                { "LD_PRELOAD=/tmp/evil.so", "only PATH, HOME, LANG, PUB_CACHE and PIP_*" },
                { "PYTHONPATH=/tmp", "only PATH, HOME, LANG, PUB_CACHE and PIP_*" },
                { "path=/usr/bin", "only PATH" },
                { "PIP_=1", "only PATH" },
                { "pip_index_url=x", "only PATH" },
                { "PATH=bin:/usr/bin", "colon-separated list of absolute directories" },
                { "PATH=", "colon-separated" },
                { "PATH=/usr/bin:", "colon-separated" },
                { "PATH=/usr/bin::/bin", "colon-separated" },
                { "HOME=home", "absolute paths" },
                { "LANG=C;x", "locale name" },
                { "=x", "KEY=VALUE" },
                { "PATH", "KEY=VALUE" },
        };
        _cleanup_(config_freep) Config *c = load(APPS);

        ASSERT_TRUE(c);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(fix_plan_done) FixPlan p = {};
                _cleanup_free_ char *err = NULL;
                ConfigApp *app = (ConfigApp *) config_find_app(c, "shop");
                char *env[] = { (char *) "PATH=/usr/bin", (char *) cases[i].assignment, NULL };
                const char *reason = NULL;

                fprintf(stderr, "case '%s'\n", cases[i].assignment);
                ASSERT_ERROR(config_app_environment_check(cases[i].assignment, &reason), EINVAL);
                ASSERT_STRSTR(reason, cases[i].reason);
                app->environment = env;
                int r = fix_plan(&(FixRequest) { .fix_id = "flutter_clean", .app = "shop",
                                                 .config = c }, &p, &err);
                app->environment = NULL;
                ASSERT_EQ(r, -EINVAL);
                ASSERT_STRSTR(err, "[App.shop] Environment='");
                ASSERT_STRSTR(err, cases[i].reason);
        }
        static const char *const good[] = {
                "PATH=/usr/bin", "PATH=/a:/b/c", "HOME=/home/b", "LANG=en_US.UTF-8",
                "LANG=ko_KR.UTF-8@x", "PUB_CACHE=/c", "PIP_INDEX_URL=http://mirror/simple",
                "PIP_NO_INDEX=", "PIP_FIND_LINKS=/srv/wheels",
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ASSERT_OK(config_app_environment_check(good[i], NULL));
        return 0;
}

TEST(verify_plans) {
        const struct {
                const char *app, *fix;
                char *const *wrapped;
                const char *dir, *module;
                const char *steps, *line, *wd;
        } cases[] = {
                /* The wrapped command wins, run in its own directory. */
                { "shop", "flutter_clean", (char *[]) { "flutter", "build", "apk", NULL }, "/srv/shop/app",
                  NULL, "flutter|build|apk", "flutter build apk", "/srv/shop/app" },
                { "tool", "pip_install:PyYAML", (char *[]) { "python3", "main.py", "--x=a b", NULL },
                  NULL, "yaml", "python3|main.py|--x=a b", "python3 main.py '--x=a b'", "/srv/tool" },
                { "tool", NULL, (char *[]) { "./run.sh", "$HOME", NULL }, "/w", NULL,
                  "/w/run.sh|$HOME", "/w/run.sh '$HOME'", "/w" },
                { "tool", NULL, (char *[]) { "python3", "-c", "import x\nx.run('a\\b')\t", NULL }, "/w", NULL,
                  "python3|-c|import x\nx.run('a\\b')\t",
                  "python3 -c $'import x\\nx.run(\\'a\\\\b\\')\\t'", "/w" },
                { "tool", NULL, (char *[]) { "bin/run", NULL }, "/w/", NULL,
                  "/w/bin/run", "/w/bin/run", "/w/" },
                /* Then BuildCommand=. */
                { "built", "flutter_clean", NULL, NULL, NULL,
                  "flutter|build|apk|--dart-define=A=b c|it's", "flutter build apk '--dart-define=A=b c' 'it'\\''s'",
                  "/srv/built" },
                { "rel", "flutter_clean", NULL, NULL, NULL, "/srv/rel/gradlew|assemble",
                  "/srv/rel/gradlew assemble", "/srv/rel" },
                /* Then pip's import check. */
                { "tool", "pip_install:PyYAML", NULL, NULL, "yaml",
                  "/srv/tool/.venv/bin/python|-c|import yaml",
                  "/srv/tool/.venv/bin/python -c 'import yaml'", "/srv/tool" },
                { "any", "pip_install:protobuf", NULL, NULL, "google.protobuf",
                  "python3|-c|import google.protobuf", "python3 -c 'import google.protobuf'",
                  "/srv/any" },
        };
        _cleanup_(config_freep) Config *c =
                load(APPS "[App.built]\nDirectory=/srv/built\nUser=b\n"
                     "BuildCommand=flutter build apk \"--dart-define=A=b c\" it\\'s\n"
                     "[App.rel]\nDirectory=/srv/rel\nUser=b\nBuildCommand=./gradlew assemble\n");

        ASSERT_TRUE(c);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(fix_plan_done) FixPlan p = {};
                _cleanup_free_ char *err = NULL, *s = NULL;
                FixVerifyRequest req = { .app = cases[i].app, .config = c, .fix_id = cases[i].fix,
                                         .wrapped_argv = cases[i].wrapped,
                                         .wrapped_directory = cases[i].dir,
                                         .module = cases[i].module, .incident = 2, .attempt = 1 };

                fprintf(stderr, "case %zu\n", i);
                ASSERT_EQ(fix_verify_plan(&req, &p, &err), 0);
                s = steps_of(&p);
                ASSERT_STREQ(s, cases[i].steps);
                ASSERT_STREQ(p.command_line, cases[i].line);
                ASSERT_STREQ(p.unit.working_directory, cases[i].wd);
                ASSERT_TRUE(p.unit.no_new_privileges && p.unit.private_tmp);
                ASSERT_TRUE(!p.fix_id);
        }
        return 0;
}

TEST(verify_refusals) {
        const struct {
                const char *app, *fix;
                char *const *wrapped;
                const char *dir, *module;
                int r;
                const char *reason;
        } cases[] = {
                { "nowhere", NULL, (char *[]) { "true", NULL }, NULL, NULL, -ENOENT,
                  "no [App.nowhere] section" },
                { "shop", "flutter_clean", NULL, NULL, NULL, -ENOENT,
                  "nothing to verify the fix with: no wrapped command, no [App.shop] BuildCommand=" },
                { "tool", "pip_install:PyYAML", NULL, NULL, NULL, -ENOENT,
                  "no [App.tool] BuildCommand=, no module recorded" },
                { "tool", "pip_install:PyYAML", NULL, NULL, "yaml; import os", -EINVAL,
                  "module 'yaml; import os' is not a dotted Python identifier" },
                { "tool", "pip_install:PyYAML", NULL, NULL, "os\nimport x", -EINVAL,
                  "module 'os\\x0aimport x'" },
                { "tool", NULL, (char *[]) { NULL }, NULL, NULL, -EINVAL, "the wrapped command is empty" },
                { "tool", NULL, (char *[]) { "", NULL }, NULL, NULL, -EINVAL, "the wrapped command is empty" },
                { "tool", NULL, (char *[]) { "x", "\xff", NULL }, NULL, NULL, -EINVAL,
                  "word 2 of the wrapped command is not valid UTF-8" },
                { "tool", NULL, (char *[]) { "x", NULL }, "rel/dir", NULL, -EINVAL,
                  "directory is not an absolute path" },
                { "tool", NULL, (char *[]) { "../x", NULL }, "/w", NULL, -EINVAL,
                  "'../x' is relative with '..'" },
                { "shell", "flutter_clean", NULL, NULL, NULL, -EINVAL,
                  "[App.shell] BuildCommand='flutter build apk && flutter test' refused: '&' at "
                  "column 19 is shell syntax" },
                { "root", "flutter_clean", (char *[]) { "true", NULL }, NULL, NULL, -EPERM,
                  "refusing to run as root without [App.root] AllowRoot=yes" },
        };
        _cleanup_(config_freep) Config *c =
                load(APPS "[App.shell]\nDirectory=/srv/s\nUser=b\n"
                     "BuildCommand=flutter build apk && flutter test\n"
                     "[App.root]\nDirectory=/srv/r\n");

        ASSERT_TRUE(c);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(fix_plan_done) FixPlan p = {};
                _cleanup_free_ char *err = NULL;
                FixVerifyRequest req = { .app = cases[i].app, .config = c, .fix_id = cases[i].fix,
                                         .wrapped_argv = cases[i].wrapped,
                                         .wrapped_directory = cases[i].dir,
                                         .module = cases[i].module };

                fprintf(stderr, "case %zu\n", i);
                ASSERT_EQ(fix_verify_plan(&req, &p, &err), cases[i].r);
                ASSERT_STRSTR(err, cases[i].reason);
                ASSERT_TRUE(!p.steps && !p.unit.name);
        }
        return 0;
}

TEST(split_command) {
        static const struct {
                const char *in, *out;
        } ok[] = {
                { "flutter build apk", "flutter|build|apk" },
                { "  a \t b  ", "a|b" },
                { "a 'b c' \"d e\"", "a|b c|d e" },
                { "a'b'\"c\"d", "abcd" },
                { "a '' b", "a||b" },
                { "a \"\"", "a|" },
                { "a 'x|y;z&$`*?[]{}~#'", "a|x|y;z&$`*?[]{}~#" },
                { "a \"it's\" 'say \"hi\"'", "a|it's|say \"hi\"" },
                { "a \"q\\\"q\\\\\" \"\\n\"", "a|q\"q\\|\\n" },
                { "a\\ b c\\|d \\$HOME", "a b|c|d|$HOME" },
                { "python3 -m pytest -k 'not slow'", "python3|-m|pytest|-k|not slow" },
                { "make CC=clang", "make|CC=clang" },
                { "a x#y x~y", "a|x#y|x~y" },
                { "caf\xc3\xa9 \xea\xb0\x80", "caf\xc3\xa9|\xea\xb0\x80" },
        };
        static const struct {
                const char *in, *reason;
        } bad[] = {
                { "", "the command is empty" },
                { "   ", "the command is empty" },
                { "a && b", "'&' at column 3 is shell syntax" },
                { "a | b", "'|' at column 3" },
                { "a; b", "';' at column 2" },
                { "a > out", "'>' at column 3" },
                { "a < in", "'<' at column 3" },
                { "$(evil)", "'$' at column 1" },
                { "a `evil`", "'`' at column 3" },
                { "a $HOME", "'$' at column 3" },
                { "a *.dart", "'*' at column 3" },
                { "a x?", "'?' at column 4" },
                { "a [x]", "'[' at column 3" },
                { "a {b,c}", "'{' at column 3" },
                { "(a)", "'(' at column 1" },
                { "a ~/x", "'~' at column 3 starts a word" },
                { "a # comment", "'#' at column 3 starts a word" },
                { "a \"$HOME\"", "'$' at column 4 would expand in a shell" },
                { "a \"`x`\"", "'`' at column 4 would expand" },
                { "a 'b", "the quote at column 3 is not closed" },
                { "a \"b", "the quote at column 3 is not closed" },
                { "a \\", "a trailing '\\' escapes nothing" },
                { "a\nb", "control character \\x0a at column 2" },
                { "a \"x\ny\"", "control character \\x0a at column 5" },
                { "CC=clang make", "'CC=' is a variable assignment" },
                { "_X=1", "'_X=' is a variable assignment" },
        };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_strv_free_ char **l = NULL;
                _cleanup_free_ char *j = NULL, *err = NULL;

                fprintf(stderr, "ok '%s'\n", ok[i].in);
                ASSERT_OK(fix_split_command(ok[i].in, &l, &err));
                j = join(l);
                ASSERT_STREQ(j, ok[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_strv_free_ char **l = NULL;
                _cleanup_free_ char *err = NULL;

                fprintf(stderr, "bad '%s'\n", bad[i].in);
                ASSERT_ERROR(fix_split_command(bad[i].in, &l, &err), EINVAL);
                ASSERT_STRSTR(err, bad[i].reason);
                ASSERT_TRUE(!l);
        }

        /* Bounds: FIX_ARGV_MAX words, FIX_ARG_MAX bytes a word. */
        _cleanup_free_ char *many = malloc(2 * (FIX_ARGV_MAX + 1) + 1), *long_word = NULL;
        _cleanup_strv_free_ char **l = NULL, **l2 = NULL;
        _cleanup_free_ char *err = NULL, *err2 = NULL;
        ASSERT_TRUE(many);
        for (size_t i = 0; i < FIX_ARGV_MAX; i++)
                memcpy(many + 2 * i, "a ", 2);
        many[2 * FIX_ARGV_MAX] = 0;
        ASSERT_OK(fix_split_command(many, &l, NULL));
        ASSERT_EQ(strv_length(l), FIX_ARGV_MAX);
        strcat(many, "b");
        ASSERT_ERROR(fix_split_command(many, &l2, &err), EINVAL);
        ASSERT_STRSTR(err, "more than 256 words");
        long_word = malloc(FIX_ARG_MAX + 3);
        ASSERT_TRUE(long_word);
        memset(long_word, 'x', FIX_ARG_MAX + 1);
        long_word[FIX_ARG_MAX + 1] = 0;
        ASSERT_ERROR(fix_split_command(long_word, &l2, &err2), EINVAL);
        ASSERT_STRSTR(err2, "word 1 is longer than 4096 bytes");
        return 0;
}

TEST(python_module_names) {
        static const char *const good[] = { "yaml", "google.protobuf", "_private", "a1.b2.c3", "X" };
        static const char *const bad[] = {
                "", ".", "a.", ".a", "a..b", "1abc", "a.1b", "a-b", "a b", "a;b", "os\n",
                "caf\xc3\xa9", "__import__('os')",
        };
        char longname[FIX_MODULE_MAX + 2];

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                ASSERT_TRUE(fix_python_module_valid(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_TRUE(!fix_python_module_valid(bad[i]));
        ASSERT_TRUE(!fix_python_module_valid(NULL));
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = 0;
        ASSERT_TRUE(!fix_python_module_valid(longname));
        longname[FIX_MODULE_MAX] = 0;
        ASSERT_TRUE(fix_python_module_valid(longname));
        return 0;
}

TEST(plan_done_is_idempotent) {
        FixPlan p = {};
        FixUnit u = {};

        fix_plan_done(&p);
        fix_plan_done(&p);
        fix_unit_done(&u);
        ASSERT_EQ(p.kind, _FIX_KIND_INVALID);
        return 0;
}

/* Every Fix= of the shipped rules is a catalogue id, so that no rule
 * proposes a fix that would then be refused as unknown. */
TEST(shipped_rules_propose_catalogue_fixes) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        unsigned fixes = 0;
        int n;

        ASSERT_TRUE(asprintf(&dir, "%s/../etc/rules.d", test_srcdir()) > 0);
        n = scandir(dir, &list, NULL, alphasort);
        ASSERT_TRUE(n > 0);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;
                _cleanup_fclose_ FILE *f = NULL;
                size_t l = strlen(list[i]->d_name);
                char line[512];
                bool rules = l > 6 && strcmp(list[i]->d_name + l - 6, ".rules") == 0;

                if (rules && asprintf(&p, "%s/%s", dir, list[i]->d_name) > 0)
                        f = fopen(p, "re");
                free(list[i]);
                if (!rules)
                        continue;
                ASSERT_TRUE(f);
                while (fgets(line, sizeof line, f)) {
                        _cleanup_free_ char *err = NULL;
                        char id[512], *v;
                        FixKind k;

                        if (strncmp(line, "Fix=", 4) != 0)
                                continue;
                        line[strcspn(line, "\r\n")] = 0;
                        /* The rules fill ${distribution} with a checked name. */
                        v = strstr(line, "${distribution}");
                        snprintf(id, sizeof id, "%.*s%s", v ? (int) (v - line - 4) : (int) strlen(line + 4),
                                 line + 4, v ? "PyYAML" : "");
                        if (strcmp(id, "none") == 0)
                                continue;
                        fprintf(stderr, "%s: %s\n", p, id);
                        ASSERT_OK(fix_id_parse(id, NULL, &k, NULL, &err));
                        fixes++;
                }
        }
        free(list);
        /* pub get (2), flutter clean, pip install: pub_version_solving lost
         * its pub upgrade (issue 12, etc/rules.d/README.md) */
        ASSERT_TRUE(fixes >= 4);
        return 0;
}
