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
        ASSERT_EQ(c->slack_min_severity, def->slack_min_severity);
        ASSERT_EQ(c->slack_repeat_interval, def->slack_repeat_interval);
        ASSERT_STREQ(c->notion_endpoint, def->notion_endpoint);
        ASSERT_STREQ(c->notion_prop_status, def->notion_prop_status);
        ASSERT_STREQ(c->notion_prop_time, def->notion_prop_time);
        ASSERT_EQ(c->fix_enabled, def->fix_enabled);
        ASSERT_EQ(c->fix_dry_run, def->fix_dry_run);
        ASSERT_EQ(c->fix_timeout, def->fix_timeout);
        ASSERT_EQ(c->fix_max_attempts, def->fix_max_attempts);
        return 0;
}

TEST(enum_strings) {
        /* Severity and Language are shared/taxonomy's (test-taxonomy). */
        ASSERT_STREQ(app_kind_to_string(APP_KIND_PYTHON), "python");
        ASSERT_EQ(app_kind_from_string("flutter"), APP_KIND_FLUTTER);
        ASSERT_ERROR(app_kind_from_string("cobol"), EINVAL);
        return 0;
}
