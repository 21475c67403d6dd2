/* SPDX-License-Identifier: MIT */
/* Logs as they really look: every labelled log of tests/data/logs, wrapped
 * in each decoration real output carries (flutter -v and logging prefixes,
 * CI timestamps, logcat, ANSI colours and CRLF, markdown quotes and fences,
 * box frames, Windows paths, terminal wrapping), must give the findings of
 * its undecorated twin: the same categories, fixes and fingerprints, in the
 * same order. Table-driven: one row per decoration. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/detect/detect-internal.h"
#include "test-detect-util.h"
#include "detect/engine.h"
#include "tests.h"

typedef struct Text {
        char *data;
        size_t len, cap;
} Text;

static void text_add(Text *t, const char *p, size_t n) {
        if (t->len + n + 1 > t->cap) {
                t->cap = (t->len + n + 1) * 2;
                t->data = realloc(t->data, t->cap);
                if (!t->data)
                        abort();
        }
        memcpy(t->data + t->len, p, n);
        t->len += n;
        t->data[t->len] = 0;
}

static void text_str(Text *t, const char *s) {
        text_add(t, s, strlen(s));
}

typedef void (*DecorateLine)(Text *out, const char *l, size_t n, size_t index, size_t width);

typedef struct Decoration {
        const char *name;
        const char *head, *tail;                /* lines before and after the log */
        DecorateLine line;                      /* NULL: prefix + line + suffix */
        const char *prefix, *suffix;
        bool framed;                            /* "│ " + line padded + " │" */
} Decoration;

/* "/home/dev/app/lib/main.dart" -> "C:\home\dev\app\lib\main.dart";
 * "/tmp/x" -> "C:\Users\dev\AppData\Local\Temp\x", where Windows keeps
 * temporary files */
static void windows_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        for (size_t i = 0; i < n; i++) {
                bool start = l[i] == '/' && i + 1 < n && isalnum((unsigned char) l[i + 1]) &&
                             (i == 0 || strchr(" '\"(`", l[i - 1]));

                if (!start) {
                        text_add(out, l + i, 1);
                        continue;
                }
                if (detect_startswith(l + i, n - i, "/tmp/")) {
                        text_str(out, "C:\\Users\\dev\\AppData\\Local\\Temp");
                        i += 4;
                } else
                        text_str(out, "C:");
                for (; i < n && !isspace((unsigned char) l[i]) && !strchr("'\"`<>|", l[i]); i++)
                        text_add(out, l[i] == '/' ? "\\" : l + i, 1);
                i--;
        }
        text_str(out, "\n");
}

/* A terminal 80 columns wide. Lines with tabs or wide characters are left
 * alone (their width is the terminal's business), and so are lines with a
 * cut the engine does not take for one (detect_wrap_cut(): before white
 * space, or between a word and a capital): it cannot tell those pieces
 * from lines of their own, and does not guess. */
static void wrap_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        size_t cols = 0, cut[64], n_cut = 0;
        bool plain = true;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) l[i];

                if (c == '\t' || c >= 0xe1)
                        plain = false;
                if ((c & 0xc0) == 0x80)
                        continue;
                if (cols > 0 && cols % DETECT_WRAP_COLUMNS == 0 && n_cut < 64) {
                        if (!detect_wrap_cut(l[i - 1], l[i]))
                                plain = false;
                        cut[n_cut++] = i;
                }
                cols++;
        }
        if (!plain || n_cut == 0) {
                text_add(out, l, n);
                text_str(out, "\n");
                return;
        }
        for (size_t k = 0, from = 0; k <= n_cut; k++) {
                size_t to = k < n_cut ? cut[k] : n;

                text_add(out, l + from, to - from);
                text_str(out, "\n");
                from = to;
        }
}

static void verbose_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        text_str(out, index % 3 == 0 ? "[  +24 ms] " : index % 3 == 1 ? "[        ] " : "[+1024 ms] ");
        text_add(out, l, n);
        text_str(out, "\n");
}

static void ansi_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        text_str(out, index % 2 ? "\x1b[1;31m" : "\x1b[33m");
        text_add(out, l, n);
        text_str(out, "\x1b[0m\r\n");
}

static void quote_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        text_str(out, n == 0 ? ">" : "> ");
        text_add(out, l, n);
        text_str(out, "\n");
}

/* One line quoted as `inline code` (an empty line stays empty, and so does
 * one that opens or closes a code span of its own: nobody quotes that). */
static void inline_code_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        bool quote = n > 0 && l[0] != '`' && l[n - 1] != '`';

        if (quote)
                text_str(out, "`");
        text_add(out, l, n);
        text_str(out, quote ? "`\n" : "\n");
}

/* A CI timestamp before one line quoted as `inline code`. */
static void stamped_inline_code_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        text_str(out, "2024-01-01T00:00:00.0000000Z ");
        inline_code_line(out, l, n, index, width);
}

static const Decoration decorations[] = {
        { "flutter -v", .line = verbose_line },
        { "python logging", .prefix = "2026-11-30 10:00:01,123 ERROR " },
        { "logging with dashes", .prefix = "2026-11-30 10:00:01,123 - INFO - " },
        { "ISO 8601 offset", .prefix = "2026-11-30T10:00:01+09:00 " },
        { "GitHub Actions", .prefix = "2024-01-01T00:00:00.0000000Z " },
        { "bracketed time", .prefix = "[10:00:01.512] " },
        { "Go's log", .prefix = "2026/11/30 10:00:01 " },
        { "Bamboo, pasted as a table", .prefix = "30-Nov-2026 10:00:01 | " },
        { "[INFO]", .prefix = "[INFO] " },
        { "fastlane", .prefix = "[10:35:51]: \xe2\x96\xb8 " },
        { "logcat", .prefix = "E/flutter (12345): " },
        { "syslog", .prefix = "Nov 30 10:00:01 ci-runner app[812]: " },
        /* journalctl's month in the locale (three ASCII letters from a capital, or a
         * number: "12月"), the day padded, -o short-precise */
        { "journalctl, ja_JP", .prefix = "12\xe6\x9c\x88 15 16:28:23 host app[2545]: " },
        { "journalctl -o short-precise", .prefix = "Dec  3 09:00:01.123456 host app[812]: " },
        { "NLog's default layout", .prefix = "2023-11-06 10:39:02.0|Error|tdarr_inform.py|" },
        { "docker buildkit", .prefix = "#12 3.456 " },
        { "docker compose v2", .prefix = "app-1  | " },
        { "docker compose v1", .prefix = "web_1     | " },
        { "docker compose container_name", .prefix = "pytube-downloader  | " },
        { "inline code", .line = inline_code_line },
        { "timestamp, then inline code", .line = stamped_inline_code_line },
        { "flutter -v, a quote, then docker compose", .prefix = "[        ] > app-1  | " },
        { "GitHub Actions ##[error]", .prefix = "##[error]" },
        { "Actions timestamp and ##[error]", .prefix = "2024-01-01T00:00:00.0000000Z ##[error]" },
        { "::error file=::", .prefix = "::error file=app/main.py,line=3::" },
        { "ANSI and CRLF", .line = ansi_line },
        { "CRLF", .suffix = "\r" },
        { "markdown quote", .line = quote_line },
        { "markdown fence", .head = "```\n", .tail = "```\n" },
        { "console fence", .head = "```console\n", .tail = "```\n" },
        { "light box", .head = "┌─ Flutter ────────┐\n", .tail = "└──────────────────┘\n", .framed = true,
          .prefix = "│", .suffix = "│" },
        { "heavy box", .head = "┏━━━━━━━━┓\n", .tail = "┗━━━━━━━━┛\n", .framed = true, .prefix = "┃",
          .suffix = "┃" },
        { "double box", .head = "╔════════╗\n", .tail = "╚════════╝\n", .framed = true, .prefix = "║",
          .suffix = "║" },
        { "Windows paths", .line = windows_line },
        { "terminal wrap at 80", .line = wrap_line },
        { "fence, flutter -v and CRLF", .head = "```console\r\n", .tail = "```\r\n", .line = verbose_line,
          .suffix = "\r" },
};

static size_t utf8_width(const char *l, size_t n) {
        size_t w = 0;

        for (size_t i = 0; i < n; i++)
                w += ((unsigned char) l[i] & 0xc0) != 0x80;
        return w;
}

static char *decorate(const Decoration *d, const char *log) {
        Text out = {};
        size_t width = 0, index = 0;

        for (const char *p = log; *p;) {
                size_t n = strcspn(p, "\n");
                size_t w = utf8_width(p, n);

                width = w > width ? w : width;
                p += n + (p[n] == '\n');
        }
        text_str(&out, "");
        if (d->head)
                text_str(&out, d->head);
        for (const char *p = log; *p; index++) {
                size_t n = strcspn(p, "\n");

                if (d->line && !d->framed) {
                        Text piece = {};

                        d->line(&piece, p, n, index, width);
                        /* a suffix (CR) goes before each newline the line made */
                        for (size_t i = 0; i < piece.len; i++) {
                                if (piece.data[i] == '\n' && d->suffix)
                                        text_str(&out, d->suffix);
                                text_add(&out, piece.data + i, 1);
                        }
                        free(piece.data);
                } else if (d->framed) {
                        text_str(&out, d->prefix);
                        text_str(&out, " ");
                        text_add(&out, p, n);
                        for (size_t w = utf8_width(p, n); w < width; w++)
                                text_str(&out, " ");
                        text_str(&out, " ");
                        text_str(&out, d->suffix);
                        text_str(&out, "\n");
                } else {
                        if (d->prefix)
                                text_str(&out, d->prefix);
                        text_add(&out, p, n);
                        if (d->suffix)
                                text_str(&out, d->suffix);
                        text_str(&out, "\n");
                }
                p += n + (p[n] == '\n');
        }
        if (d->tail)
                text_str(&out, d->tail);
        return out.data;
}

static char *read_all(const char *path) {
        Text t = {};
        char buf[4096];
        size_t n;
        FILE *f = fopen(path, "re");

        if (!f)
                return NULL;
        text_str(&t, "");
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
                text_add(&t, buf, n);
        fclose(f);
        return t.data;
}

/* "category fix auto fingerprint|" for every finding, in order. */
static int summarize(DetectEngine *e, const char *text, char *out, size_t outsz) {
        Collected c = {};
        size_t len = 0;
        int r;

        out[0] = 0;
        /* feed_data, like the daemon: lines end at '\n' only */
        r = detect_engine_feed_data(e, "s", text, strlen(text), 0, collect_cb, &c);
        if (r >= 0)
                r = detect_engine_flush(e, "s", UINT64_MAX, collect_cb, &c);
        for (size_t i = 0; i < c.n; i++)
                len += (size_t) snprintf(out + len, len < outsz ? outsz - len : 0, "%s %s %s %s|",
                                         category_to_string(c.items[i]->category), c.items[i]->fix,
                                         c.items[i]->auto_fixable ? "auto" : "manual",
                                         c.items[i]->fingerprint);
        collected_done(&c);
        detect_engine_forget(e, "s");
        return r < 0 ? r : 0;
}

/* A message a person marks in a sentence, without the white space after it
 * (markdown has no emphasis that ends in a space). Lines that begin with
 * white space (a nested cause, a frame) or with the marker are left alone:
 * a person marks the message, and markdown would not show those. */
static void emphasis_line(Text *out, const char *l, size_t n, const char *marker) {
        bool marked;

        while (n > 0 && isspace((unsigned char) l[n - 1]))
                n--;
        marked = n > 0 && !isspace((unsigned char) l[0]) && l[0] != marker[0] && l[n - 1] != marker[0];
        if (marked)
                text_str(out, marker);
        text_add(out, l, n);
        if (marked)
                text_str(out, marker);
        text_str(out, "\n");
}

static void italics_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        emphasis_line(out, l, n, "_");
}

static void bold_line(Text *out, const char *l, size_t n, size_t index, size_t width) {
        emphasis_line(out, l, n, "**");
}

/* A person's list or emphasis around one message, as issue threads quote
 * it. Only for single lines: a list marker before every line of a traceback or a Gradle
 * report would be no log at all. */
static const Decoration list_items[] = {
        { "markdown list item", .prefix = "- " },
        { "markdown list item, starred", .prefix = "* " },
        { "numbered list", .prefix = "1. " },
        { "markdown italics", .line = italics_line },
        { "markdown bold", .line = bold_line },
};

/* Whether the line (ending in a newline) carries a decoration of its own,
 * which cleaning takes off. */
static bool carries_decoration(const char *line) {
        _cleanup_(detect_buf_done) DetectBuf b = {};
        DetectLineInfo info;
        size_t n = strcspn(line, "\n");

        if (detect_line_clean(&b, line, n, &info) < 0)
                abort();
        return info.text != line || info.len != n;
}

/* Decorates text with each of decs (Windows paths too unless told not)
 * and compares its findings with the undecorated text's; prints each that
 * differs as name's and returns how many did, or a negative errno. */
static int count_unlike_twins(DetectEngine *e, const char *name, const char *text, bool windows_paths,
                              const Decoration *decs, size_t n_decs) {
        char want[8192], got[8192];
        int r, failures = 0;

        r = summarize(e, text, want, sizeof want);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_decs; i++) {
                _cleanup_free_ char *decorated = NULL;

                if (decs[i].line == windows_line && !windows_paths)
                        continue;
                decorated = decorate(&decs[i], text);
                r = summarize(e, decorated, got, sizeof got);
                if (r < 0)
                        return r;
                if (strcmp(want, got) != 0) {
                        printf("%s, %s:\n  undecorated '%s'\n  decorated   '%s'\n", name, decs[i].name,
                               want, got);
                        failures++;
                }
        }
        return failures;
}

TEST(decorated_logs_match_their_undecorated_twins) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        char labels[4096], line[2048];
        unsigned logs = 0, failures = 0;
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        f = open_data(root, "tests/data/labels.tsv", labels, sizeof labels);
        ASSERT_TRUE(f);
        while (fgets(line, sizeof line, f)) {
                char path[4096];
                _cleanup_free_ char *log = NULL;
                int r;

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                line[strcspn(line, "\t")] = 0;
                (void) snprintf(path, sizeof path, "%s/tests/data/logs/%s", root, line);
                log = read_all(path);
                ASSERT_TRUE(log);
                r = count_unlike_twins(e, line, log, true, decorations, ELEMENTSOF(decorations));
                ASSERT_OK(r);
                failures += (unsigned) r;
                logs++;
        }
        fclose(f);
        ASSERT_TRUE(logs >= 80);
        ASSERT_EQ(failures, 0u);
        return 0;
}

/* The same for every line of the vocabulary (tests/data/vocabulary.tsv), one
 * failure's message alone: a prefix, a frame or a list marker must not hide
 * its words. */
TEST(decorated_vocabulary_matches_its_undecorated_twin) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        _cleanup_free_ char *line = NULL;
        char path[4096];
        size_t linesz = 0;
        unsigned lines = 0, failures = 0;
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        f = open_data(root, "tests/data/vocabulary.tsv", path, sizeof path);
        ASSERT_TRUE(f);
        while (getline(&line, &linesz, f) > 0) {
                char *text;
                int r;

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                /* category, fix, then the line itself */
                text = strchr(line, '\t');
                text = text ? strchr(text + 1, '\t') : NULL;
                if (!text) {
                        fclose(f);
                        TEST_FAIL("%s: a line without its three columns", path);
                }
                text++;
                /* Xcode and CocoaPods run on macOS only: no Windows paths */
                r = count_unlike_twins(e, text, text, strncmp(line, "ios_pods\t", 9) != 0, decorations,
                                       ELEMENTSOF(decorations));
                ASSERT_OK(r);
                failures += (unsigned) r;
                /* a list marker before a decoration hides the decoration
                 * (it is no longer at the start): the words must still be
                 * read, but the fingerprint is of the line as it stands */
                if (!carries_decoration(text)) {
                        r = count_unlike_twins(e, text, text, false, list_items, ELEMENTSOF(list_items));
                        ASSERT_OK(r);
                        failures += (unsigned) r;
                }
                lines++;
        }
        fclose(f);
        ASSERT_TRUE(lines >= 300);
        ASSERT_EQ(failures, 0u);
        return 0;
}

/* Decorations are taken off only where they are unambiguous. */
TEST(cleaning_keeps_what_is_not_a_decoration) {
        static const struct {
                const char *text;
                size_t n;                       /* findings */
                const char *category;
        } cases[] = {
                /* a warning stays a warning under its timestamp */
                { "2026-11-30 10:00:01,123 WARNING Could not GET 'https://x' (will retry)\n", 0, NULL },
                { "[WARNING] deprecated: Failed to parse x, ignoring\n", 0, NULL },
                /* pip's tree, drawn with a lone │, is not a frame */
                { "error: subprocess-exited-with-error\n"
                  "\n"
                  "× python setup.py egg_info did not run successfully.\n"
                  "│ exit code: 1\n"
                  "╰─> [1 lines of output]\n"
                  "    No space left on device\n",
                  1, "disk_full" },
                /* "[ ]" is a checkbox, "[!]" a CocoaPods error, not prefixes */
                { "[!] CocoaPods could not find compatible versions for pod \"Firebase\"\n", 1, "ios_pods" },
                /* a CI timestamp before a Dart error is no syslog host */
                { "2024-01-01T00:00:00Z lib/main.dart:3:5: Error: Expected ';' after this.\n", 1,
                  "dart_syntax" },
                /* a GitHub Actions warning that quotes an error stays a warning */
                { "##[warning]Failed to save cache: Error: ENOSPC\n", 0, NULL },
                /* a pipe in a command line is no compose prefix */
                { "cat | grep 'No module named'\n", 0, NULL },
                /* an exactly 80-column ruler is no wrapped line */
                { "================================================================================\n"
                  "ModuleNotFoundError: No module named 'yaml'\n",
                  1, "python_missing_package" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
                _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
                Collected c = {};

                ASSERT_OK(detect_engine_new(rules, NULL, &e));
                ASSERT_OK(feed_text(e, "s", cases[i].text, &c));
                if (c.n != cases[i].n) {
                        collected_done(&c);
                        TEST_FAIL("case %zu: %zu findings, want %zu", i, c.n, cases[i].n);
                }
                if (cases[i].category)
                        ASSERT_STREQ(category_to_string(c.items[0]->category), cases[i].category);
                if (cases[i].category && strstr(cases[i].text, "ModuleNotFound"))
                        ASSERT_STREQ(c.items[0]->title, "ModuleNotFoundError: No module named 'yaml'");
                collected_done(&c);
        }
        return 0;
}

/* Inline code is markdown's code span: one or two backticks open it, as
 * many close it; in a box frame too. Emphasis is one or two '*' or '_'
 * around words. */
TEST(cleaning_takes_off_inline_code_and_emphasis) {
        static const struct {
                const char *line, *text;
        } cases[] = {
                { "`error: x`", "error: x" },
                { "``error: a ` in it``", "error: a ` in it" },
                { "> ``ModuleNotFoundError: No module named 'yaml'``", "ModuleNotFoundError: No module named 'yaml'" },
                { "│ `error: x` │", "error: x" },
                { "│ ``error: x``   │", "error: x" },
                /* not one code span: left as they are */
                { "``error: x`", "``error: x`" },
                { "`x", "`x" },
                { "``", "``" },
                { "````", "" },                 /* a fence: a boundary */
                /* emphasis around a message, as a sentence marks it */
                { "_IndentationError: unexpected indent_", "IndentationError: unexpected indent" },
                { "**Error: ENOSPC: no space left on device**", "Error: ENOSPC: no space left on device" },
                { "> *No module named 'my_mod'*", "No module named 'my_mod'" },
                { "__a b__", "a b" },
                /* not emphasis: a dunder name, spaces inside the markers, Gradle's bullet, a ruler */
                { "__init__", "__init__" },
                { "_MemoryError_", "MemoryError" },
                { "** a b **", "** a b **" },
                { "* What went wrong:", "* What went wrong:" },
                { "***************", "***************" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(detect_buf_done) DetectBuf b = {};
                DetectLineInfo info;

                ASSERT_OK(detect_line_clean(&b, cases[i].line, strlen(cases[i].line), &info));
                if (info.len != strlen(cases[i].text) || memcmp(info.text, cases[i].text, info.len) != 0)
                        TEST_FAIL("case %zu: '%.*s', want '%s'", i, (int) info.len, info.text, cases[i].text);
        }
        return 0;
}

/* A wrapped line is one line again: its title, its parameters and its fix
 * come from the whole of it, and the lines after it keep their raw numbers. */
TEST(wrapped_line_is_joined) {
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        Collected c = {};
        /* 80 + 80 + rest */
        const char *text =
                "step 1\n"
                "lib/src/screens/settings/notifications/preferences_page.dart:120:17: Error: The \n"
                "getter 'subtitleStyle' isn't defined for the class 'NotificationPreferencesTheme\n"
                "'.\n"
                "done\n";

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        ASSERT_OK(feed_text(e, "s", text, &c));
        ASSERT_EQ(c.n, (size_t) 1);
        ASSERT_STREQ(category_to_string(c.items[0]->category), "dart_syntax");
        ASSERT_TRUE(strstr(c.items[0]->title, "'NotificationPreferencesTheme'.") != NULL);
        ASSERT_EQ(c.items[0]->line_start, (uint64_t) 2);
        ASSERT_EQ(c.items[0]->line_end, (uint64_t) 5); /* "done" is its context line */
        collected_done(&c);

        /* A line of `inline code` a terminal wrapped: the marks are on its
         * first and last pieces, and come off the joined line. */
        ASSERT_OK(feed_text(e, "c",
                            "`lib/src/screens/settings/notifications/preference_page.dart:120:17: Error: The \n"
                            "getter 'subtitleStyle' isn't defined for the class 'NotificationPreferencesTheme'.`\n",
                            &c));
        ASSERT_EQ(c.n, (size_t) 1);
        ASSERT_STREQ(category_to_string(c.items[0]->category), "dart_syntax");
        ASSERT_TRUE(strncmp(c.items[0]->title, "lib/src/", 8) == 0);
        ASSERT_TRUE(c.items[0]->title[strlen(c.items[0]->title) - 1] == '.');
        collected_done(&c);

        /* A held piece counts as pending until it is decided. */
        ASSERT_OK(detect_engine_feed(e, "t", text + 7, 80, 0, collect_cb, &c));
        ASSERT_EQ(detect_engine_pending_lines(e, "t"), (size_t) 1);
        ASSERT_EQ(detect_engine_next_deadline(e), (uint64_t) DETECT_OPTIONS_DEFAULT_IDLE_USEC);
        ASSERT_EQ(detect_engine_flush(e, "t", UINT64_MAX, collect_cb, &c), 1);
        ASSERT_EQ(detect_engine_pending_lines(e, "t"), (size_t) 0);
        collected_done(&c);
        return 0;
}


/* The verdict on text (verdict_cb: its category and its automatic fix),
 * as "category fix". */
static int verdict_of(DetectEngine *e, const char *text, char *out, size_t outsz) {
        Verdict v = {};
        int r;

        r = detect_engine_feed_data(e, "s", text, strlen(text), 0, verdict_cb, &v);
        if (r >= 0)
                r = detect_engine_flush(e, "s", UINT64_MAX, verdict_cb, &v);
        (void) snprintf(out, outsz, "%s %s", category_to_string(v.primary ? v.primary->category : CATEGORY_NONE),
                        v.any_auto_fix ? v.auto_fix : "manual");
        verdict_done(&v);
        detect_engine_forget(e, "s");
        return r < 0 ? r : 0;
}

/* Whether a line of text is as wide as the terminal the engine assumes: the
 * text was wrapped there, and a prefix or a frame before each piece makes
 * lines no tool writes (the terminal wraps the prefixed line). */
static bool terminal_wrapped(const char *text) {
        for (const char *p = text; *p;) {
                size_t n = strcspn(p, "\n");

                if (detect_display_columns(p, n) == DETECT_WRAP_COLUMNS)
                        return true;
                p += n + (p[n] == '\n');
        }
        return false;
}

static bool changes_width(const Decoration *d) {
        return d->prefix || d->framed || (d->line && d->line != ansi_line);
}

/* Where a decoration of the test makes another log, not the same one
 * decorated. Each must still differ (a stale entry fails too). */
static const struct {
        const char *file, *decoration, *why;
} unlike_twins_expected[] = {
        { "752-django-error-email-external-ip.log", "Windows paths",
          "Django's request paths (/api/base/search/) are URLs, on Windows too" },
        /* a line of exactly 78 columns quoted is 80: a markdown quote cannot
         * be told from Gradle's "> ", which the terminal wrapped with it */
        { "5421-dart-sdk-download-curl-18-transfer-closed-proxy.log", "markdown quote",
          "curl's progress meter, 78 columns, quoted: taken for a wrapped line, and curl's error for its end" },
        { "5423-flutter-doctor-dart-sdk-curl-35-server-aborted-ssl.log", "markdown quote",
          "curl's progress meter, 78 columns, quoted: taken for a wrapped line, and curl's error for its end" },
};

/* The real-world excerpts of the tuning part (tests/data/real/), each
 * decorated as above, keep their verdict: category and automatic fix. Not
 * their fingerprints: an excerpt often carries markdown of its own (a
 * fence, a quote), which a prefix before it makes part of the log, as no
 * tool writes it. An excerpt a terminal wrapped gets only the decorations
 * that keep its width. The held-out part is left alone: it is scored, never
 * read (real/README.md). */
TEST(decorated_real_excerpts_keep_their_verdict) {
        const char *root = getenv("MESON_SOURCE_ROOT") ?: "..";
        _cleanup_(detect_rules_unrefp) DetectRules *rules = detect_test_rules(0);
        _cleanup_(detect_engine_freep) DetectEngine *e = NULL;
        bool expected_seen[ELEMENTSOF(unlike_twins_expected)] = {};
        _cleanup_free_ char *line = NULL;
        char labels[4096];
        size_t linesz = 0;
        unsigned failures = 0, excerpts = 0;
        FILE *f;

        ASSERT_OK(detect_engine_new(rules, NULL, &e));
        f = open_data(root, "tests/data/real/labels.tsv", labels, sizeof labels);
        ASSERT_TRUE(f);
        while (getline(&line, &linesz, f) > 0) {
                char path[4096], *col[7], want[256], got[256];
                _cleanup_free_ char *log = NULL;
                bool wrapped;
                int nc;

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                line[strcspn(line, "\n")] = 0;
                nc = split_columns(line, col, 7);
                if (nc < 6) {
                        fclose(f);
                        TEST_FAIL("%s: a line with %d columns", labels, nc);
                }
                if (strcmp(col[5], "tune") != 0)
                        continue;
                (void) snprintf(path, sizeof path, "%s/tests/data/real/logs/%s", root, col[0]);
                log = read_all(path);
                ASSERT_TRUE(log);
                ASSERT_OK(verdict_of(e, log, want, sizeof want));
                wrapped = terminal_wrapped(log);
                for (size_t i = 0; i < ELEMENTSOF(decorations); i++) {
                        _cleanup_free_ char *decorated = NULL;
                        bool expected = false;

                        if (wrapped && changes_width(&decorations[i]))
                                continue;
                        /* Xcode and CocoaPods run on macOS only: no Windows paths */
                        if (decorations[i].line == windows_line && strcmp(col[2], "ios_pods") == 0)
                                continue;
                        decorated = decorate(&decorations[i], log);
                        ASSERT_OK(verdict_of(e, decorated, got, sizeof got));
                        for (size_t k = 0; k < ELEMENTSOF(unlike_twins_expected); k++)
                                if (strcmp(col[0], unlike_twins_expected[k].file) == 0 &&
                                    strcmp(decorations[i].name, unlike_twins_expected[k].decoration) == 0) {
                                        expected = true;
                                        expected_seen[k] = strcmp(want, got) != 0;
                                }
                        if (!expected && strcmp(want, got) != 0) {
                                printf("%s, %s: undecorated '%s', decorated '%s'\n", col[0], decorations[i].name,
                                       want, got);
                                failures++;
                        }
                }
                excerpts++;
        }
        fclose(f);
        for (size_t k = 0; k < ELEMENTSOF(unlike_twins_expected); k++)
                if (!expected_seen[k]) {
                        printf("%s, %s: now the same verdict; drop it from unlike_twins_expected\n",
                               unlike_twins_expected[k].file, unlike_twins_expected[k].decoration);
                        failures++;
                }
        printf("%u excerpts, %zu decorations: %u verdicts unlike their twin's\n", excerpts, ELEMENTSOF(decorations),
               failures);
        ASSERT_TRUE(excerpts >= 1000);
        ASSERT_EQ(failures, 0u);
        return 0;
}
