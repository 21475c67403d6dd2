/* SPDX-License-Identifier: MIT */
/* Tests for shared/config: files, drop-ins, diagnostics, secrets. */
#include <stdlib.h>
#include <sys/stat.h>

#include "shared/config.h"
#include "tests.h"

static const ConfigDiag *find_diag(const ConfigDiags *d, const char *needle) {
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->items[i].message, needle))
                        return &d->items[i];
        return NULL;
}

static void clear_env(void) {
        unsetenv("CONFIGURATION_DIRECTORY");
        unsetenv("CREDENTIALS_DIRECTORY");
        unsetenv("GEMINI_API_KEY");
        unsetenv("SLACK_WEBHOOK_URL");
        unsetenv("NOTION_API_TOKEN");
        unsetenv("NOTION_DATABASE_ID");
}

TEST(defaults_when_default_file_missing) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        char *dir = test_tmpdir();

        clear_env();
        setenv("CONFIGURATION_DIRECTORY", dir, 1);
        ASSERT_OK(config_load(NULL, false, &c, &d));
        ASSERT_EQ(d.n, 0);
        ASSERT_EQ(c->workers, 4);
        ASSERT_EQ(c->language, LANGUAGE_KO);
        ASSERT_TRUE(c->journal_enabled);
        ASSERT_EQ(c->max_request_bytes, 65536);
        ASSERT_STREQ(c->notion_prop_title, "제목");
        ASSERT_EQ(strv_length(c->files), 0);
        ASSERT_STRSTR(c->path, dir);
        ASSERT_TRUE(!c->gemini_api_key);
        clear_env();
        return 0;
}

TEST(explicit_missing_file_is_error) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};

        clear_env();
        ASSERT_ERROR(config_load("/nonexistent/appwatch.conf", true, &c, &d), ENOENT);
        ASSERT_TRUE(!c);
        ASSERT_EQ(d.n_errors, 1);
        ASSERT_STRSTR(d.items[0].message, "cannot open");
        return 0;
}

TEST(full_file_and_dropins) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        char *dir = test_tmpdir();
        _cleanup_free_ char *main_path = NULL, *dropdir = NULL, *p1 = NULL, *p2 = NULL, *p3 = NULL;

        clear_env();
        main_path = test_write_file(dir, "appwatch.conf",
                "[Service]\n"
                "Workers=8\n"
                "Language=en\n"
                "MaxRequestBytes=1M\n"
                "ClientTimeoutSec=2min\n"
                "[Journal]\n"
                "Units=build-a.service build-b.service\n"
                "MinPriority=warning\n"
                "[Watch.alpha]\n"
                "Path=/srv/alpha/logs\n"
                "[App.alpha]\n"
                "Directory=/srv/alpha\n"
                "Kind=flutter\n"
                "AutoFix=yes\n"
                "[Slack]\n"
                "MinSeverity=high\n"
                "[Fix]\n"
                "DryRun=yes\n");
        ASSERT_TRUE(asprintf(&dropdir, "%s/appwatch.conf.d", dir) > 0);
        ASSERT_EQ(mkdir(dropdir, 0755), 0);
        p1 = test_write_file(dropdir, "10-first.conf", "[Service]\nWorkers=2\n[Journal]\nUnits=x.service\n");
        p2 = test_write_file(dropdir, "20-second.conf", "[Service]\nWorkers=3\n[Watch.alpha]\nApp=alpha-app\n");
        p3 = test_write_file(dropdir, "30-ignored.txt", "[Service]\nWorkers=9\n");

        ASSERT_OK(config_load(main_path, true, &c, &d));
        ASSERT_EQ(d.n, 0);
        ASSERT_EQ(c->workers, 3);          /* later drop-in wins */
        ASSERT_EQ(c->language, LANGUAGE_EN);
        ASSERT_EQ(c->max_request_bytes, 1 << 20);
        ASSERT_EQ(c->client_timeout, 2 * USEC_PER_MINUTE);
        ASSERT_EQ(strv_length(c->journal_units), 3); /* lists append */
        ASSERT_EQ(c->journal_min_priority, 4);
        ASSERT_EQ(c->n_watches, 1);
        ASSERT_STREQ(c->watches[0].path, "/srv/alpha/logs");
        ASSERT_STREQ(c->watches[0].app, "alpha-app");
        ASSERT_EQ(c->n_apps, 1);
        ASSERT_EQ(c->apps[0].kind, APP_KIND_FLUTTER);
        ASSERT_TRUE(c->apps[0].auto_fix);
        ASSERT_TRUE(config_find_app(c, "alpha") == &c->apps[0]);
        ASSERT_TRUE(config_find_app(c, "beta") == NULL);
        ASSERT_EQ(c->slack_min_severity, SEVERITY_HIGH);
        ASSERT_TRUE(c->fix_dry_run);
        ASSERT_EQ(strv_length(c->files), 3);
        return 0;
}

TEST(unknown_key_is_warning_with_line) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "[Service]\n# comment\nWorkers=2\nColour=blue\n[Nonsense]\nA=b\n");
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_EQ(d.n_errors, 0);
        ASSERT_EQ(d.n, 2);
        x = find_diag(&d, "Colour");
        ASSERT_TRUE(x);
        ASSERT_EQ(x->line, 4);
        ASSERT_EQ(x->level, CONFIG_DIAG_WARNING);
        ASSERT_STREQ(x->file, p);
        x = find_diag(&d, "[Nonsense]");
        ASSERT_TRUE(x);
        ASSERT_EQ(x->line, 6);
        ASSERT_EQ(c->workers, 2);
        return 0;
}

TEST(bad_values_are_errors_naming_key_and_accepted) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "[Service]\n"
                            "Workers=0\n"
                            "Language=fr\n"
                            "this line is garbage\n"
                            "[Journal]\n"
                            "MinPriority=loud\n"
                            "Directory=relative/path\n"
                            "[Gemini]\n"
                            "Endpoint=ftp://example\n"
                            "TimeoutSec=forever\n"
                            "[Watch.bad name]\n"
                            "Path=/x\n"
                            "[Watch.nopath]\n"
                            "App=a\n"
                            "[Slack]\n"
                            "MinSeverity=Urgent\n"
                            "[Fix]\n"
                            "Enabled=perhaps\n");
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        ASSERT_TRUE(!c);
        ASSERT_EQ(d.n_errors, 11);

        x = find_diag(&d, "Workers='0'");
        ASSERT_TRUE(x);
        ASSERT_EQ(x->line, 2);
        ASSERT_STRSTR(x->message, "an integer from 1 to 64");
        x = find_diag(&d, "Language='fr'");
        ASSERT_TRUE(x && x->line == 3);
        ASSERT_STRSTR(x->message, "ko or en");
        x = find_diag(&d, "syntax error");
        ASSERT_TRUE(x && x->line == 4);
        x = find_diag(&d, "MinPriority='loud'");
        ASSERT_TRUE(x && x->line == 6);
        x = find_diag(&d, "Directory='relative/path'");
        ASSERT_TRUE(x && x->line == 7);
        ASSERT_STRSTR(x->message, "absolute path");
        x = find_diag(&d, "Endpoint=");
        ASSERT_TRUE(x && x->line == 9);
        x = find_diag(&d, "TimeoutSec='forever'");
        ASSERT_TRUE(x && x->line == 10);
        x = find_diag(&d, "invalid section name");
        ASSERT_TRUE(x && x->line == 12);
        x = find_diag(&d, "[Watch.nopath] has no Path=");
        ASSERT_TRUE(x && x->line == 14);     /* its last assignment */
        ASSERT_STREQ(x->file, p);
        x = find_diag(&d, "Urgent");
        ASSERT_TRUE(x && x->line == 16);
        ASSERT_STRSTR(x->message, "Low, Medium, High or Critical");
        x = find_diag(&d, "perhaps");
        ASSERT_TRUE(x && x->line == 18);
        return 0;
}

TEST(section_errors_name_the_dropin) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        char *dir = test_tmpdir();
        _cleanup_free_ char *main_path = NULL, *dropdir = NULL, *p1 = NULL;
        const ConfigDiag *x;

        clear_env();
        main_path = test_write_file(dir, "appwatch.conf", "[Service]\nWorkers=2\n");
        ASSERT_TRUE(asprintf(&dropdir, "%s/appwatch.conf.d", dir) > 0);
        ASSERT_EQ(mkdir(dropdir, 0755), 0);
        p1 = test_write_file(dropdir, "50-app.conf", "# app\n[App.shop]\nKind=flutter\nAutoFix=yes\n");
        ASSERT_ERROR(config_load(main_path, true, &c, &d), EINVAL);
        x = find_diag(&d, "AutoFix=yes needs Directory=");
        ASSERT_TRUE(x);
        ASSERT_STREQ(x->file, p1);
        ASSERT_EQ(x->line, 4);
        return 0;
}

TEST(out_of_range_and_long_lines) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL, *text = NULL, *longv = NULL;
        const ConfigDiag *x;

        clear_env();
        longv = malloc(400);
        ASSERT_TRUE(longv);
        memset(longv, 'a', 399);
        longv[399] = 0;
        ASSERT_TRUE(asprintf(&text, "[Service]\nMaxRequestBytes=1G\nHost=%s\nWorkers=5\n", longv) > 0);
        p = test_write_file(test_tmpdir(), "a.conf", text);
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        x = find_diag(&d, "MaxRequestBytes");
        ASSERT_TRUE(x && x->line == 2);
        ASSERT_STRSTR(x->message, "out of range");
        x = find_diag(&d, "too long");
        ASSERT_TRUE(x && x->line == 3);
        ASSERT_EQ(d.n_errors, 2);
        return 0;
}

TEST(nul_bytes_and_binary) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        FILE *f;

        clear_env();
        ASSERT_TRUE(asprintf(&p, "%s/bin.conf", test_tmpdir()) > 0);
        f = fopen(p, "we");
        ASSERT_TRUE(f);
        fwrite("[Service]\nWorkers=2\x00\x01\x02\n\xff\xfe=\x80\n", 1, 27, f);
        fclose(f);
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        ASSERT_TRUE(find_diag(&d, "NUL"));
        return 0;
}

TEST(secrets_from_credentials_and_environment) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        char *creds = test_tmpdir();
        _cleanup_free_ char *a = NULL, *b = NULL, *p = NULL;

        clear_env();
        a = test_write_file(creds, "gemini_api_key", "AIzaFromCredential\n");
        /* An empty credential counts as unset: the environment fills in. */
        b = test_write_file(creds, "slack_webhook_url", "\n");
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        setenv("GEMINI_API_KEY", "from-env", 1);
        setenv("SLACK_WEBHOOK_URL", "https://hooks.example/T/B/x", 1);
        setenv("NOTION_DATABASE_ID", "db123", 1);
        p = test_write_file(test_tmpdir(), "a.conf", "[Service]\n");
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_STREQ(c->gemini_api_key, "AIzaFromCredential");
        ASSERT_STREQ(c->slack_webhook_url, "https://hooks.example/T/B/x");
        ASSERT_TRUE(!c->notion_api_token);
        ASSERT_STREQ(c->notion_database_id, "db123");
        clear_env();
        return 0;
}

/* No diagnostic carries a raw byte that is not printable UTF-8. */
static void assert_messages_clean(const ConfigDiags *d) {
        for (size_t i = 0; i < d->n; i++)
                for (const unsigned char *p = (const unsigned char *) d->items[i].message; *p; p++)
                        if (*p < 0x20 || *p == 0x7f || *p == 0xff || *p == 0xc0)
                                abort();
}

TEST(invalid_utf8_is_error_naming_key) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "# a comment may hold anything: \xff\n"
                            "[Service]\n"
                            "Host=a\xff" "b\n"                          /* 3 */
                            "Language=e\xc3\n"                          /* 4: truncated sequence */
                            "[Watch.w]\n"
                            "Path=/tmp/\xc0\xaf" "x\n"                  /* 6: overlong '/' */
                            "App=\xed\xa0\x80\n"                        /* 7: a surrogate */
                            "[App.a]\n"
                            "User=\xf4\x90\x80\x80\n"                   /* 9: beyond U+10FFFF */
                            "BuildCommand=make\tall\n"                  /* tab: fine */
                            "[Journal]\n"
                            "Units=ok.service \xfe.service\n"           /* 12 */
                            "Col\xff" "our=x\n"                          /* 13: the key */
                            "[Serv\xff" "ice]\n"                         /* 14: the section */
                            "Workers=2\n"                               /* skipped */
                            "[Notion]\n"
                            "TitleProperty=제목 (title) \xf0\x9f\x94\xa5\n"); /* valid */
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        assert_messages_clean(&d);
        ASSERT_EQ(d.n_errors, 8);
        ASSERT_EQ(d.n, 8);

        x = find_diag(&d, "[Service] Host='a\\xffb' is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 3);
        ASSERT_STREQ(x->file, p);
        x = find_diag(&d, "[Service] Language='e\\xc3' is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 4);
        x = find_diag(&d, "[Watch.w] Path='/tmp/\\xc0\\xafx' is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 6);
        x = find_diag(&d, "[Watch.w] App='\\xed\\xa0\\x80' is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 7);
        x = find_diag(&d, "[App.a] User='\\xf4\\x90\\x80\\x80' is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 9);
        x = find_diag(&d, "[Journal] Units='ok.service \\xfe.service' is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 12);
        x = find_diag(&d, "key 'Col\\xffour' in [Journal] is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 13);
        x = find_diag(&d, "section name [Serv\\xffice] is not valid UTF-8");
        ASSERT_TRUE(x && x->line == 14);
        /* No "has no Path=" on top of the rejected Path=. */
        ASSERT_TRUE(!find_diag(&d, "has no Path="));
        return 0;
}

TEST(control_characters_are_errors) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "[Service]\n"
                            "Host=a\x01" "b\n"                          /* 2: C0 */
                            "[App.a]\n"
                            "BuildCommand=make \x1b[31mall\n"           /* 4: ESC */
                            "User=bob\x7f\n"                            /* 5: DEL */
                            "Directory=/srv/a\xc2\x85" "b\n"            /* 6: C1 (NEL) */
                            "Python=/usr/bin/python3\r\n"               /* CRLF: fine */
                            "[Watch.w]\n"
                            "Path=/srv/a/x\rlog\n");                    /* 9: a lone CR */
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        assert_messages_clean(&d);
        ASSERT_EQ(d.n_errors, 5);
        x = find_diag(&d, "[Service] Host='a\\x01b' contains a control character");
        ASSERT_TRUE(x && x->line == 2);
        x = find_diag(&d, "[App.a] BuildCommand='make \\x1b[31mall' contains a control character");
        ASSERT_TRUE(x && x->line == 4);
        x = find_diag(&d, "User='bob\\x7f'");
        ASSERT_TRUE(x && x->line == 5);
        x = find_diag(&d, "Directory='/srv/a\\xc2\\x85b' contains a control character");
        ASSERT_TRUE(x && x->line == 6);
        x = find_diag(&d, "Path='/srv/a/x\\x0dlog'");
        ASSERT_TRUE(x && x->line == 9);
        return 0;
}

TEST(unclean_file_names_and_secrets) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {}, d2 = {}, d3 = {};
        char *dir = test_tmpdir(), *creds = test_tmpdir();
        _cleanup_free_ char *main_path = NULL, *dropdir = NULL, *p1 = NULL, *k = NULL;
        const ConfigDiag *x;

        clear_env();
        main_path = test_write_file(dir, "appwatch.conf", "[Service]\n");
        ASSERT_TRUE(asprintf(&dropdir, "%s/appwatch.conf.d", dir) > 0);
        ASSERT_EQ(mkdir(dropdir, 0755), 0);
        p1 = test_write_file(dropdir, "50-\xff.conf", "[Service]\nWorkers=2\n");
        ASSERT_ERROR(config_load(main_path, true, &c, &d), EINVAL);
        assert_messages_clean(&d);
        ASSERT_EQ(d.n_errors, 1);
        x = find_diag(&d, "file name is not valid UTF-8");
        ASSERT_TRUE(x);
        ASSERT_STRSTR(x->file, "50-\\xff.conf");
        ASSERT_EQ(unlink(p1), 0);

        /* A secret with a control character could forge an HTTP header; the
         * message never quotes it. */
        setenv("GEMINI_API_KEY", "AIza\r\nX-Evil: 1", 1);
        ASSERT_ERROR(config_load(main_path, true, &c, &d2), EINVAL);
        x = find_diag(&d2, "$GEMINI_API_KEY is not valid UTF-8 or contains a control character");
        ASSERT_TRUE(x);
        ASSERT_TRUE(!find_diag(&d2, "AIza"));
        unsetenv("GEMINI_API_KEY");

        k = test_write_file(creds, "notion_api_token", "secret\x01token\n");
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        ASSERT_ERROR(config_load(main_path, true, &c, &d3), EINVAL);
        x = find_diag(&d3, "credential is not valid UTF-8 or contains a control character");
        ASSERT_TRUE(x);
        ASSERT_STRSTR(x->file, "notion_api_token");
        ASSERT_TRUE(!find_diag(&d3, "secret"));
        clear_env();
        return 0;
}

TEST(watch_path_checked_like_the_tailer) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "[Watch.a]\n"
                            "Path=/tmp/*/logs/*.log\n"                   /* 2 */
                            "[Watch.b]\n"
                            "Path=logs/*.log\n"                          /* 4 */
                            "[Watch.c]\n"
                            "Path=/srv/[ab]/x.log\n"                     /* 6 */
                            "[Watch.ok1]\n"
                            "Path=/srv/app/logs/*.log\n"
                            "[Watch.ok2]\n"
                            "Path=/srv/app/logs/\n"
                            "[Journal]\n"
                            "Directory=journal\n");                      /* 12 */
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        ASSERT_EQ(d.n_errors, 4);
        x = find_diag(&d, "[Watch.a] Path='/tmp/*/logs/*.log' is invalid: a wildcard");
        ASSERT_TRUE(x && x->line == 2);
        ASSERT_STRSTR(x->message, "may only be in the last component");
        x = find_diag(&d, "[Watch.b] Path='logs/*.log' is invalid: the path must be absolute");
        ASSERT_TRUE(x && x->line == 4);
        x = find_diag(&d, "[Watch.c] Path=");
        ASSERT_TRUE(x && x->line == 6);
        x = find_diag(&d, "[Journal] Directory='journal' is invalid");
        ASSERT_TRUE(x && x->line == 12);
        ASSERT_STRSTR(x->message, "absolute path");
        return 0;
}

TEST(repeats_in_one_file_are_warnings) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        char *dir = test_tmpdir();
        _cleanup_free_ char *p = NULL, *dropdir = NULL, *p1 = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(dir, "appwatch.conf",
                            "[Service]\n"
                            "Workers=2\n"
                            "Host=first\n"
                            "Workers=3\n"                     /* 4: repeat, later wins */
                            "[Journal]\n"
                            "Units=a.service\n"
                            "Units=b.service\n"               /* lists append: no warning */
                            "[Watch.w]\n"
                            "Path=/srv/w\n"
                            "[Service]\n"                     /* 10: the section again */
                            "Host=second\n"                   /* 11: repeat across the two */
                            "[Watch.w]\n"                     /* 12 */
                            "App=shop\n");
        ASSERT_TRUE(asprintf(&dropdir, "%s/appwatch.conf.d", dir) > 0);
        ASSERT_EQ(mkdir(dropdir, 0755), 0);
        /* Another file overriding is the point of drop-ins: no warning. */
        p1 = test_write_file(dropdir, "10-a.conf", "[Service]\nWorkers=5\n[Watch.w]\nApp=other\n");
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_EQ(d.n_errors, 0);
        ASSERT_EQ(d.n, 4);
        x = find_diag(&d, "[Service] Workers= is set again (first on line 2); "
                          "the later value wins");
        ASSERT_TRUE(x && x->line == 4 && x->level == CONFIG_DIAG_WARNING);
        ASSERT_STREQ(x->file, p);
        x = find_diag(&d, "[Service] Host= is set again (first on line 3)");
        ASSERT_TRUE(x && x->line == 11);
        x = find_diag(&d, "[Service] appears again (first on line 1)");
        ASSERT_TRUE(x && x->line == 10);
        x = find_diag(&d, "[Watch.w] appears again (first on line 8)");
        ASSERT_TRUE(x && x->line == 12);
        ASSERT_EQ(c->workers, 5);
        ASSERT_STREQ(c->host, "second");
        ASSERT_STREQ(c->watches[0].app, "other");
        ASSERT_EQ(strv_length(c->journal_units), 2);
        return 0;
}

TEST(indented_lines_continue_the_previous_value) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "[Journal]\n"
                            "Units=a.service\n"
                            "  b.service c.service\n"         /* a list goes on: fine */
                            "[Service]\n"
                            "  Workers=2\n"                   /* no key before: a key */
                            "Host=box\n"
                            "    QueueSize=10\n");            /* 7: Host= becomes this */
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_EQ(d.n, 1);
        x = find_diag(&d, "this indented line continues [Service] Host=, whose value becomes "
                          "'QueueSize=10'");
        ASSERT_TRUE(x && x->line == 7 && x->level == CONFIG_DIAG_WARNING);
        ASSERT_EQ(strv_length(c->journal_units), 3);
        ASSERT_EQ(c->workers, 2);
        ASSERT_STREQ(c->host, "QueueSize=10");
        ASSERT_EQ(c->queue_size, 1024);
        return 0;
}

TEST(key_without_equals_and_long_section_names) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigDiag *x;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "[Service]\n"
                            "QueueSize\n"                                               /* 2 */
                            "Workers 4\n"                                               /* 3 */
                            "[Fix\n"                                                    /* 4 */
                            "[Watch.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrst]\n"  /* 5 */
                            "Path=/x\n"
                            "[Watch.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq]\n"     /* 49 */
                            "Path=/y\n");
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        ASSERT_EQ(d.n_errors, 4);
        x = find_diag(&d, "syntax error: 'QueueSize' has no '='");
        ASSERT_TRUE(x && x->line == 2);
        x = find_diag(&d, "syntax error: 'Workers 4' has no '='");
        ASSERT_TRUE(x && x->line == 3);
        x = find_diag(&d, "syntax error: '[Fix' has no ']'");
        ASSERT_TRUE(x && x->line == 4);
        x = find_diag(&d, "is too long (52 bytes, at most 49)");
        ASSERT_TRUE(x && x->line == 5);

        /* 49 bytes is what libinih keeps whole. */
        _cleanup_(config_freep) Config *c2 = NULL;
        _cleanup_(config_diags_done) ConfigDiags d2 = {};
        _cleanup_free_ char *p2 = test_write_file(test_tmpdir(), "b.conf",
                "[Watch.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq]\nPath=/y\n");
        ASSERT_OK(config_load(p2, true, &c2, &d2));
        ASSERT_EQ(d2.n, 0);
        ASSERT_STREQ(c2->watches[0].name, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq");
        return 0;
}

TEST(sizes_in_every_common_spelling) {
        static const char *const spellings[] = { "64K", "64k", "64KB", "64kB", "64KiB", "64 K",
                                                 "64 KiB", "65536", "65536B" };

        clear_env();
        for (size_t i = 0; i < ELEMENTSOF(spellings); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(config_diags_done) ConfigDiags d = {};
                _cleanup_free_ char *p = NULL, *text = NULL;

                ASSERT_TRUE(asprintf(&text, "[Service]\nMaxRequestBytes=%s\nMaxLineBytes=%s\n",
                                     spellings[i], spellings[i]) > 0);
                p = test_write_file(test_tmpdir(), "a.conf", text);
                ASSERT_OK(config_load(p, true, &c, &d));
                ASSERT_EQ(d.n, 0);
                ASSERT_EQ(c->max_request_bytes, 65536);
                ASSERT_EQ(c->max_line_bytes, 65536);
        }

        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = test_write_file(test_tmpdir(), "b.conf",
                                                 "[Service]\nMaxRequestBytes=1.5M\n");
        ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
        ASSERT_EQ(d.n_errors, 1);
        ASSERT_STRSTR(d.items[0].message, "MaxRequestBytes='1.5M' is invalid: expected a whole "
                                          "number of bytes from 1024 to 16777216, or with K, M "
                                          "or G (powers of 1024: 64K = 64KB = 64KiB)");
        return 0;
}

/* The shipped etc/appwatch.conf documents every key with its true default. */
TEST(shipped_config_documents_defaults) {
        _cleanup_(config_freep) Config *c = NULL, *def = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *src = NULL, *out = NULL;
        _cleanup_fclose_ FILE *in = NULL;
        FILE *o;
        char line[512];
        unsigned keys = 0;

        clear_env();
        ASSERT_TRUE(asprintf(&src, "%s/../etc/appwatch.conf", test_srcdir()) > 0);
        in = fopen(src, "re");
        ASSERT_TRUE(in);
        ASSERT_TRUE(asprintf(&out, "%s/uncommented.conf", test_tmpdir()) > 0);
        o = fopen(out, "we");
        ASSERT_TRUE(o);
        while (fgets(line, sizeof line, in)) {
                /* "#Key=value" lines are defaults; "# text" and ";" lines stay comments. */
                if (line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z' && strchr(line, '=')) {
                        fputs(line + 1, o);
                        keys++;
                } else
                        fputs(line, o);
        }
        fclose(o);
        ASSERT_TRUE(keys >= 30);
        ASSERT_OK(config_load(out, true, &c, &d));
        for (size_t i = 0; i < d.n; i++)
                fprintf(stderr, "%s:%u: %s\n", d.items[i].file, d.items[i].line, d.items[i].message);
        ASSERT_EQ(d.n, 0);
        ASSERT_OK(config_new_default(&def));
        ASSERT_EQ(c->workers, def->workers);
        ASSERT_EQ(c->language, def->language);
        ASSERT_EQ(c->max_request_bytes, def->max_request_bytes);
        ASSERT_EQ(c->max_clients, def->max_clients);
        ASSERT_EQ(c->client_timeout, def->client_timeout);
        ASSERT_EQ(c->queue_size, def->queue_size);
        ASSERT_EQ(c->max_line_bytes, def->max_line_bytes);
        ASSERT_EQ(c->journal_enabled, def->journal_enabled);
        ASSERT_EQ(c->journal_min_priority, def->journal_min_priority);
        ASSERT_STREQ(c->gemini_model, def->gemini_model);
        ASSERT_STREQ(c->gemini_endpoint, def->gemini_endpoint);
        ASSERT_EQ(c->gemini_timeout, def->gemini_timeout);
        ASSERT_EQ(c->gemini_daily_budget, def->gemini_daily_budget);
        ASSERT_EQ(c->gemini_max_calls_per_hour, def->gemini_max_calls_per_hour);
        ASSERT_EQ(c->gemini_max_calls_per_hour, 60);
        ASSERT_EQ(c->gemini_max_output_tokens, def->gemini_max_output_tokens);
        ASSERT_EQ(c->gemini_max_output_tokens, 2048);
        ASSERT_EQ(c->slack_min_severity, def->slack_min_severity);
        ASSERT_EQ(c->slack_repeat_interval, def->slack_repeat_interval);
        ASSERT_EQ(c->slack_repeat_interval, 4 * USEC_PER_HOUR);
        ASSERT_EQ(c->slack_group_window, def->slack_group_window);
        ASSERT_TRUE(!c->notion_prop_fingerprint && !c->notion_data_source_id);
        ASSERT_STREQ(c->notion_endpoint, def->notion_endpoint);
        ASSERT_STREQ(c->notion_prop_status, def->notion_prop_status);
        ASSERT_STREQ(c->notion_prop_time, def->notion_prop_time);
        ASSERT_EQ(c->fix_enabled, def->fix_enabled);
        ASSERT_EQ(c->fix_dry_run, def->fix_dry_run);
        ASSERT_EQ(c->fix_timeout, def->fix_timeout);
        ASSERT_EQ(c->fix_max_attempts, def->fix_max_attempts);
        ASSERT_EQ(c->fix_memory_max, def->fix_memory_max);
        ASSERT_EQ(c->fix_memory_max, UINT64_C(2) << 30);
        ASSERT_EQ(c->fix_cpu_quota, def->fix_cpu_quota);
        ASSERT_EQ(c->fix_cpu_quota, 200);
        ASSERT_TRUE(!c->fix_pip_allowlist && !def->fix_pip_allowlist);
        ASSERT_EQ(c->check_min_free_disk, def->check_min_free_disk);
        ASSERT_EQ(c->check_min_free_disk, 5);
        ASSERT_EQ(c->check_min_free_inodes, def->check_min_free_inodes);
        ASSERT_EQ(c->check_max_outbox_age, def->check_max_outbox_age);
        ASSERT_EQ(c->check_max_outbox_age, USEC_PER_HOUR);
        ASSERT_EQ(c->check_max_queue_depth, def->check_max_queue_depth);
        ASSERT_EQ(c->check_fix_margin, def->check_fix_margin);
        return 0;
}

/* The keys of fix units: [App.*] Flutter=, AllowRoot=, Environment=, and
 * [Fix] MemoryMax=, CPUQuota=, PipAllowlist=. */
TEST(fix_unit_keys) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;
        const ConfigApp *a, *b;

        clear_env();
        p = test_write_file(test_tmpdir(), "a.conf",
                            "[App.a]\n"
                            "Flutter=/opt/flutter/bin/flutter\n"
                            "Python=python3.11\n"
                            "AllowRoot=yes\n"
                            "Environment=PATH=/opt/flutter/bin:/usr/bin HOME=/home/b\n"
                            "Environment=PIP_NO_INDEX=1\n"
                            "[App.b]\n"
                            "Flutter=flutter\n"
                            "Environment=LANG=C.UTF-8\n"
                            "Environment=\n"
                            "[Fix]\n"
                            "MemoryMax=512M\n"
                            "CPUQuota=150%\n"
                            "PipAllowlist=PyYAML requests\n"
                            "PipAllowlist=numpy\n");
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_EQ(d.n, 0);
        a = config_find_app(c, "a");
        b = config_find_app(c, "b");
        ASSERT_TRUE(a && b);
        ASSERT_STREQ(a->flutter, "/opt/flutter/bin/flutter");
        ASSERT_STREQ(a->python, "python3.11");
        ASSERT_TRUE(a->allow_root && !b->allow_root);
        ASSERT_EQ(strv_length(a->environment), 3);
        ASSERT_STREQ(a->environment[2], "PIP_NO_INDEX=1");
        ASSERT_STREQ(b->flutter, "flutter");
        ASSERT_TRUE(!b->environment);     /* an empty assignment resets the list */
        ASSERT_EQ(c->fix_memory_max, 512 << 20);
        ASSERT_EQ(c->fix_cpu_quota, 150);
        ASSERT_EQ(strv_length(c->fix_pip_allowlist), 3);
        ASSERT_TRUE(strv_contains(c->fix_pip_allowlist, "numpy"));
        config_diags_done(&d);
        c = config_free(c);

        /* CPUQuota= without '%' is a percentage too. */
        p = mfree(p);
        p = test_write_file(test_tmpdir(), "b.conf", "[Fix]\nCPUQuota=300\n");
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_EQ(c->fix_cpu_quota, 300);
        return 0;
}

TEST(fix_unit_keys_refused) {
        static const struct {
                const char *line, *message;
        } cases[] = {
                { "[App.a]\nEnvironment=LD_PRELOAD=/tmp/x.so\n",
                  "[App.a] Environment='LD_PRELOAD=/tmp/x.so' is invalid: only PATH, HOME, LANG, "
                  "PUB_CACHE and PIP_* may be set for a fix" },
                /* One bad word refuses the whole line, not half of it. */
                { "[App.a]\nEnvironment=HOME=/h PYTHONPATH=/x\n",
                  "Environment='HOME=/h PYTHONPATH=/x' is invalid: only PATH" },
                { "[App.a]\nEnvironment=PATH=bin\n",
                  "PATH= must be a colon-separated list of absolute directories" },
                { "[App.a]\nEnvironment=HOME=h\n", "HOME= and PUB_CACHE= must be absolute paths" },
                { "[App.a]\nEnvironment=LANG=$(x)\n", "LANG= must be a locale name" },
                { "[App.a]\nEnvironment=NOEQUALS\n", "each entry must be KEY=VALUE" },
                { "[App.a]\nFlutter=bin/flutter\n",
                  "[App.a] Flutter='bin/flutter' is invalid: expected an absolute path, or a "
                  "program name without '/' found on the search path" },
                { "[App.a]\nPython=..\n", "[App.a] Python='..' is invalid" },
                { "[App.a]\nAllowRoot=maybe\n", "[App.a] AllowRoot='maybe' is invalid: expected yes or no" },
                { "[Fix]\nMemoryMax=1M\n",
                  "[Fix] MemoryMax='1M' is invalid (out of range): expected a whole number of "
                  "bytes from 16777216 to 1099511627776" },
                { "[Fix]\nCPUQuota=0%\n",
                  "[Fix] CPUQuota='0%' is invalid (out of range): expected a percentage from 1% "
                  "to 10000%" },
                { "[Fix]\nCPUQuota=lots\n", "[Fix] CPUQuota='lots' is invalid: expected a percentage" },
                { "[Fix]\nCPUQuota=50%%\n", "[Fix] CPUQuota='50%%' is invalid" },
                { "[Fix]\nPipAllowlist=requests --index-url=x\n",
                  "[Fix] PipAllowlist='requests --index-url=x' is invalid: each name must be a "
                  "Python distribution name" },
                { "[Fix]\nPipAllowlist=requests==2\n", "PipAllowlist='requests==2' is invalid" },
        };

        clear_env();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(config_diags_done) ConfigDiags d = {};
                _cleanup_free_ char *p = NULL;

                fprintf(stderr, "case %zu\n", i);
                p = test_write_file(test_tmpdir(), "a.conf", cases[i].line);
                ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
                ASSERT_EQ(d.n_errors, 1);
                ASSERT_STRSTR(d.items[0].message, cases[i].message);
                ASSERT_EQ(d.items[0].line, 2);
        }
        return 0;
}

/* [Gemini] MaxCallsPerHour= and MaxOutputTokens=: set, and refused out of range. */
TEST(gemini_budget_keys) {
        static const struct {
                const char *line, *message;
        } bad[] = {
                { "[Gemini]\nMaxCallsPerHour=100001\n",
                  "[Gemini] MaxCallsPerHour='100001' is invalid (out of range)" },
                { "[Gemini]\nMaxCallsPerHour=-1\n", "[Gemini] MaxCallsPerHour='-1' is invalid" },
                { "[Gemini]\nMaxCallsPerHour=many\n", "[Gemini] MaxCallsPerHour='many' is invalid" },
                { "[Gemini]\nMaxOutputTokens=255\n",
                  "[Gemini] MaxOutputTokens='255' is invalid (out of range)" },
                { "[Gemini]\nMaxOutputTokens=65537\n",
                  "[Gemini] MaxOutputTokens='65537' is invalid (out of range)" },
        };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;

        clear_env();
        p = test_write_file(test_tmpdir(), "g.conf",
                            "[Gemini]\nMaxCallsPerHour=0\nMaxOutputTokens=65536\n");
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_EQ(d.n, 0);
        ASSERT_EQ(c->gemini_max_calls_per_hour, 0);
        ASSERT_EQ(c->gemini_max_output_tokens, 65536);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(config_freep) Config *c2 = NULL;
                _cleanup_(config_diags_done) ConfigDiags d2 = {};
                _cleanup_free_ char *p2 = NULL;

                fprintf(stderr, "case %zu\n", i);
                p2 = test_write_file(test_tmpdir(), "g.conf", bad[i].line);
                ASSERT_ERROR(config_load(p2, true, &c2, &d2), EINVAL);
                ASSERT_EQ(d2.n_errors, 1);
                ASSERT_STRSTR(d2.items[0].message, bad[i].message);
                ASSERT_EQ(d2.items[0].line, 2);
        }
        return 0;
}

TEST(enum_strings) {
        /* Severity and Language are shared/taxonomy's (test-taxonomy). */
        ASSERT_STREQ(app_kind_to_string(APP_KIND_PYTHON), "python");
        ASSERT_EQ(app_kind_from_string("flutter"), APP_KIND_FLUTTER);
        ASSERT_ERROR(app_kind_from_string("cobol"), EINVAL);
        return 0;
}

/* The status check's thresholds: [Check]. */
TEST(check_keys) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags d = {};
        _cleanup_free_ char *p = NULL;

        clear_env();
        p = test_write_file(test_tmpdir(), "check.conf",
                            "[Check]\n"
                            "MinFreeDiskPercent=100\n"
                            "MinFreeInodesPercent=0\n"
                            "MaxOutboxAgeSec=90min\n"
                            "MaxQueueDepth=10\n"
                            "StuckFixMarginSec=0\n");
        ASSERT_OK(config_load(p, true, &c, &d));
        ASSERT_EQ(d.n, 0);
        ASSERT_EQ(c->check_min_free_disk, 100);
        ASSERT_EQ(c->check_min_free_inodes, 0);
        ASSERT_EQ(c->check_max_outbox_age, 90 * USEC_PER_MINUTE);
        ASSERT_EQ(c->check_max_queue_depth, 10);
        ASSERT_EQ(c->check_fix_margin, 0);
        return 0;
}

TEST(check_keys_refused) {
        static const struct {
                const char *line, *message;
        } cases[] = {
                { "[Check]\nMinFreeDiskPercent=101\n",
                  "[Check] MinFreeDiskPercent='101' is invalid (out of range)" },
                { "[Check]\nMinFreeInodesPercent=five\n",
                  "[Check] MinFreeInodesPercent='five' is invalid" },
                { "[Check]\nMaxOutboxAgeSec=10s\n",
                  "[Check] MaxOutboxAgeSec='10s' is invalid (out of range)" },
                { "[Check]\nMaxQueueDepth=0\n", "[Check] MaxQueueDepth='0' is invalid (out of range)" },
                { "[Check]\nStuckFixMarginSec=2d\n",
                  "[Check] StuckFixMarginSec='2d' is invalid (out of range)" },
        };

        clear_env();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_(config_diags_done) ConfigDiags d = {};
                _cleanup_free_ char *p = NULL;

                fprintf(stderr, "case %zu\n", i);
                p = test_write_file(test_tmpdir(), "a.conf", cases[i].line);
                ASSERT_ERROR(config_load(p, true, &c, &d), EINVAL);
                ASSERT_EQ(d.n_errors, 1);
                ASSERT_STRSTR(d.items[0].message, cases[i].message);
                ASSERT_EQ(d.items[0].line, 2);
        }
        return 0;
}
