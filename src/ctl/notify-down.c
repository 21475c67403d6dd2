/* SPDX-License-Identifier: MIT */
/*
 * appwatchctl notify-down UNIT: appwatch watches itself. appwatch.service's
 * OnFailure= (appwatch-down.service) runs this once systemd gave up
 * restarting appwatchd, so it works without the daemon: it reads the
 * configuration and the webhook URL as appwatchd does (shared/config.c: the
 * credential slack_webhook_url, else SLACK_WEBHOOK_URL; [Slack] Endpoint=,
 * [Service] Host= and Language=), takes UNIT's last journal lines (its own
 * and systemd's about it), redacts them (detect/redact.c), and posts one
 * Block Kit message, "appwatch is down on HOST", with shared/http.c.
 *
 * A configuration that does not load (which may be why appwatchd is down)
 * is reported on stderr, and the built-in defaults and the secrets are
 * used: the message matters more than the settings.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "ctl/client.h"
#include "detect/redact.h"
#include "shared/config.h"
#include "shared/http.h"
#include "shared/log.h"
#include "shared/protocol.h"
#include "shared/utf8.h"

#define DEFAULT_LINES 20
#define MAX_LINES 200
/* A code block in a section: 3000 characters in all, the fence included. */
#define LINES_MAX_BYTES 2800

static int field(sd_journal *j, const char *name, const char **ret, size_t *ret_len) {
        const void *d;
        size_t l, n = strlen(name);
        int r;

        r = sd_journal_get_data(j, name, &d, &l);
        if (r < 0)
                return r;
        *ret = (const char *) d + n + 1;
        *ret_len = l - n - 1;
        return 0;
}

/* The last n lines of unit (its own and systemd's about it), oldest first. */
static int read_lines(const char *journal_file, const char *unit, unsigned n, char **ret) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *buf = NULL;
        char **lines = NULL;
        unsigned got = 0;
        size_t size = 0;
        FILE *f;
        int r;

        if (journal_file)
                r = sd_journal_open_files(&j, (const char *[]) { journal_file, NULL }, 0);
        else
                r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        if (asprintf(&m1, "_SYSTEMD_UNIT=%s", unit) < 0 || asprintf(&m2, "UNIT=%s", unit) < 0)
                return -ENOMEM;
        if ((r = sd_journal_add_match(j, m1, 0)) < 0 || (r = sd_journal_add_disjunction(j)) < 0 ||
            (r = sd_journal_add_match(j, m2, 0)) < 0)
                return r;
        lines = calloc(n, sizeof(char *));
        if (!lines)
                return -ENOMEM;
        r = sd_journal_seek_tail(j);
        while (r >= 0 && got < n && (r = sd_journal_previous(j)) > 0) {
                const char *msg;
                size_t l;
                uint64_t usec = 0;
                char when[32] = "-";
                struct tm tm;

                if (field(j, "MESSAGE", &msg, &l) < 0)
                        continue;
                if (sd_journal_get_realtime_usec(j, &usec) >= 0) {
                        time_t t = (time_t) (usec / USEC_PER_SEC);
                        if (localtime_r(&t, &tm))
                                strftime(when, sizeof when, "%b %d %H:%M:%S", &tm);
                }
                _cleanup_free_ char *text = utf8_escape_invalid(msg, l);
                if (!text || asprintf(&lines[got], "%s %s", when, text) < 0) {
                        r = -ENOMEM;
                        break;
                }
                got++;
        }
        f = r >= 0 ? open_memstream(&buf, &size) : NULL;
        if (r >= 0 && !f)
                r = -ENOMEM;
        for (unsigned i = got; i > 0; i--) {
                if (f)
                        fprintf(f, "%s\n", lines[i - 1]);
                free(lines[i - 1]);
        }
        free(lines);
        if (r < 0) {
                if (f)
                        fclose(f);
                return r;
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return (int) got;
}

/* Keeps the end of text within max bytes, cut at a line (or UTF-8) boundary. */
static const char *tail_of(const char *text, size_t max) {
        size_t l = strlen(text);
        const char *p, *nl;

        if (l <= max)
                return text;
        p = text + l - max;
        nl = strchr(p, '\n');
        if (nl && nl[1])
                return nl + 1;
        while (((unsigned char) *p & 0xC0) == 0x80)
                p++;
        return p;
}

static int build_body(const char *host, const char *unit, const char *lines, Language lang,
                      char **ret) {
        _cleanup_free_ char *header = NULL, *fallback = NULL, *intro = NULL, *code = NULL;
        _cleanup_json_ json_t *o = NULL;
        bool ko = lang == LANGUAGE_KO;

        if (asprintf(&fallback, "appwatch is down on %s", host) < 0 ||
            asprintf(&header, ko ? "🔴 appwatch 중단: %.100s" : "🔴 appwatch is down on %.100s", host) < 0 ||
            asprintf(&intro,
                     ko ? "*appwatch is down on %s*: systemd가 %s 재시작을 포기했습니다 "
                          "(시작 한도 초과). 오류 감지, 알림, 리포트가 모두 멈춘 상태입니다.\n"
                          "확인: `systemctl status %s`, `journalctl -u %s`; 원인을 고친 뒤 "
                          "`systemctl reset-failed %s && systemctl start %s`."
                        : "*appwatch is down on %s*: systemd gave up restarting %s (its start "
                          "limit was hit). Nothing is watched, announced or reported until it "
                          "runs again.\nSee `systemctl status %s` and `journalctl -u %s`; once "
                          "fixed, `systemctl reset-failed %s && systemctl start %s`.",
                     host, unit, unit, unit, unit, unit) < 0 ||
            asprintf(&code, "```\n%s```", *lines ? tail_of(lines, LINES_MAX_BYTES)
                                                  : (ko ? "(journal 줄 없음)\n" : "(no journal lines)\n")) < 0)
                return -ENOMEM;
        o = json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}, {s:s, s:{s:s, s:s}}]}",
                      "text", fallback, "blocks",
                      "type", "header", "text", "type", "plain_text", "text", header,
                      "type", "section", "text", "type", "mrkdwn", "text", intro,
                      "type", "section", "text", "type", "mrkdwn", "text", code);
        if (!o)
                return -ENOMEM;
        *ret = json_dumps(o, JSON_COMPACT);
        return *ret ? 0 : -ENOMEM;
}

int verb_notify_down(const CtlGlobals *g, int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "journal-file", required_argument, NULL, 'f' },
                { "lines", required_argument, NULL, 'n' },
                { "config", required_argument, NULL, 'c' },
                { "dry-run", no_argument, NULL, 'D' },
                {}
        };
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_diags_done) ConfigDiags diags = {};
        _cleanup_free_ char *lines = NULL, *redacted = NULL, *body = NULL, *err = NULL;
        _cleanup_free_ char *shown = NULL;
        const char *journal_file = NULL, *config_path = NULL, *unit, *url;
        char host[256];
        unsigned n = DEFAULT_LINES;
        bool dry_run = false;
        HttpResponse resp = {};
        int ch, r;

        optind = 0;
        while ((ch = getopt_long(argc, argv, "+hf:n:c:", options, NULL)) >= 0)
                switch (ch) {
                case 'h':
                        ctl_verb_help("notify-down");
                        return CTL_EXIT_OK;
                case 'f':
                        journal_file = optarg;
                        break;
                case 'n': {
                        char *end;
                        long v = strtol(optarg, &end, 10);
                        if (*end || v <= 0 || v > MAX_LINES) {
                                fprintf(stderr, "appwatchctl notify-down: invalid --lines='%s': "
                                        "expected 1-%d.\n", optarg, MAX_LINES);
                                return CTL_EXIT_USAGE;
                        }
                        n = (unsigned) v;
                        break;
                }
                case 'c':
                        config_path = optarg;
                        break;
                case 'D':
                        dry_run = true;
                        break;
                default:
                        return CTL_EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "Usage: appwatchctl notify-down [--journal-file=FILE] "
                        "[--lines=N] [--config=PATH] [--dry-run] UNIT\n");
                return CTL_EXIT_USAGE;
        }
        unit = argv[optind];

        r = config_load(config_path, config_path != NULL, &c, &diags);
        if (r == -ENOMEM)
                return log_oom(), CTL_EXIT_FAILURE;
        if (r < 0) {
                /* Perhaps why appwatchd is down: say so, and send anyway. */
                config_diags_log(&diags);
                fprintf(stderr, "appwatchctl notify-down: the configuration does not load; "
                        "using the defaults and the secrets.\n");
                config_diags_done(&diags);
                r = config_new_default(&c);
                if (r >= 0)
                        r = config_load_secrets(c, &diags);
                if (r < 0 || !c) {
                        fprintf(stderr, "appwatchctl notify-down: cannot read the secrets: %s\n",
                                strerror(r < 0 ? -r : ENOMEM));
                        return CTL_EXIT_FAILURE;
                }
        }
        if (c->host)
                snprintf(host, sizeof host, "%s", c->host);
        else if (gethostname(host, sizeof host) < 0)
                snprintf(host, sizeof host, "localhost");
        host[sizeof host - 1] = 0;

        r = read_lines(journal_file, unit, n, &lines);
        if (r < 0) {
                /* The message without lines still says what matters. */
                fprintf(stderr, "appwatchctl notify-down: cannot read the journal%s%s: %s\n",
                        journal_file ? " file " : "", journal_file ?: "", strerror(-r));
                lines = strdup("");
                if (!lines)
                        return CTL_EXIT_FAILURE;
        }
        r = detect_redact(lines, strlen(lines), &redacted);
        if (r >= 0)
                r = build_body(host, unit, redacted, c->language, &body);
        if (r < 0) {
                fprintf(stderr, "appwatchctl notify-down: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (dry_run) {
                puts(body);
                return CTL_EXIT_OK;
        }
        if (!c->slack_webhook_url) {
                fprintf(stderr, "appwatchctl notify-down: no Slack webhook is configured "
                        "(slack_webhook_url, SLACK_WEBHOOK_URL): %s is down on %s, nobody told.\n",
                        unit, host);
                return CTL_EXIT_OK;
        }
        url = c->slack_endpoint ?: c->slack_webhook_url;
        r = http_global_init();
        if (r < 0) {
                fprintf(stderr, "appwatchctl notify-down: cannot initialise HTTP: %s\n",
                        strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        r = http_request(NULL,
                         &(HttpRequest) {
                                 .method = HTTP_POST,
                                 .url = url,
                                 .body = body,
                                 .body_size = strlen(body),
                                 .content_type = "application/json; charset=utf-8",
                         },
                         &resp, &err);
        shown = http_url_redact(url);
        if (r < 0) {
                fprintf(stderr, "appwatchctl notify-down: cannot post to %s: %s\n",
                        shown ?: "Slack", err ?: strerror(-r));
                http_global_done();
                return CTL_EXIT_FAILURE;
        }
        if (resp.status < 200 || resp.status > 299) {
                fprintf(stderr, "appwatchctl notify-down: %s answered HTTP %ld: %.200s\n",
                        shown ?: "Slack", resp.status, resp.body);
                http_response_done(&resp);
                http_global_done();
                return CTL_EXIT_FAILURE;
        }
        printf("Told Slack (%s) that %s is down on %s.\n", shown ?: "", unit, host);
        http_response_done(&resp);
        http_global_done();
        return CTL_EXIT_OK;
}
