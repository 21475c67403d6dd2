/* SPDX-License-Identifier: MIT */
/*
 * The daily report's rendering; see report.h. The first lines are the
 * users' guide's example (title, 총 오류 / 자동 수정 / 수동 필요, 심각도별
 * 분포 with 🟡🟠🔴, 오류 유형별); the rest follows. Pure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/report.h"
#include "detect/category.h"
#include "shared/cleanup.h"
#include "shared/parse.h"
#include "shared/protocol.h"

/* Slack: a section holds 3000 characters (UTF-16 units, never more than
 * UTF-8 bytes); a message 50 blocks. */
#define SECTION_MAX_BYTES 2900
#define MAX_SECTIONS 40

typedef enum RStr {
        R_TITLE,
        R_WINDOW,
        R_FIRST,
        R_TOTAL,
        R_AUTO_FIXED,
        R_MANUAL,
        R_BY_SEVERITY,
        R_BY_TYPE,
        R_NONE,
        R_HOURLY,
        R_TOP,
        R_REGRESSIONS,
        R_OPEN,
        R_MTTR,
        R_MTTR_NONE,
        R_FIX_RATE,
        R_FIX_NONE,
        R_AI,
        R_DEAD,
        R_DEAD_NONE,
        R_DOWN,
        R_UP,
        R_TIMES,
        R_MORE,
        _R_MAX,
} RStr;

static const char *const strings[_R_MAX][_LANGUAGE_MAX] = {
        [R_TITLE] = { "📊 앱 팩토리 일일 리포트", "📊 App factory daily report" },
        [R_WINDOW] = { "기간", "Period" },
        [R_FIRST] = { " (첫 리포트: 최근 24시간)", " (first report: the last 24 hours)" },
        [R_TOTAL] = { "총 오류", "Total errors" },
        [R_AUTO_FIXED] = { "자동 수정", "Auto-fixed" },
        [R_MANUAL] = { "수동 필요", "Manual needed" },
        [R_BY_SEVERITY] = { "심각도별 분포", "By severity" },
        [R_BY_TYPE] = { "오류 유형별", "By type" },
        [R_NONE] = { "• 없음", "• none" },
        [R_HOURLY] = { "시간별 발생 (최근 24시간)", "Sightings per hour (last 24 hours)" },
        [R_TOP] = { "반복 오류 상위", "Top recurring" },
        [R_REGRESSIONS] = { "재발 (회귀)", "Regressions" },
        [R_OPEN] = { "미해결 오류 (오래된 순)", "Open incidents (oldest first)" },
        [R_MTTR] = { "평균 해결 시간", "Mean time to resolve" },
        [R_MTTR_NONE] = { "평균 해결 시간: 해결된 오류 없음", "Mean time to resolve: nothing resolved" },
        [R_FIX_RATE] = { "자동 수정 성공률", "Auto-fix success rate" },
        [R_FIX_NONE] = { "자동 수정 성공률: 시도 없음", "Auto-fix success rate: no attempts" },
        [R_AI] = { "AI 호출", "AI calls" },
        [R_DEAD] = { "전송 실패", "Failed deliveries" },
        [R_DEAD_NONE] = { "전송 실패: 없음", "Failed deliveries: none" },
        [R_DOWN] = { "⚠️ appwatch가 실행되지 않은 시간", "⚠️ appwatch was not running" },
        [R_UP] = { "appwatch 가동: 기간 내내 실행됨", "appwatch ran throughout the period" },
        [R_TIMES] = { "회", "×" },
        [R_MORE] = { "… 외", "… and" },
};

static const char *const severity_marks[_SEVERITY_MAX] = {
        [SEVERITY_LOW] = "🟡",
        [SEVERITY_MEDIUM] = "🟠",
        [SEVERITY_HIGH] = "🔴",
        [SEVERITY_CRITICAL] = "🔴",
};

static void item_done(ReportItem *i) {
        free(i->app);
        free(i->title);
        *i = (ReportItem) {};
}

void report_done(Report *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_top; i++)
                item_done(&r->top[i]);
        for (size_t i = 0; i < r->n_regressions; i++)
                item_done(&r->regressions[i]);
        for (size_t i = 0; i < r->n_open; i++)
                item_done(&r->open[i]);
        free(r->last_delivery_error);
        r->n_top = r->n_regressions = r->n_open = 0;
        r->last_delivery_error = NULL;
}

static const char *const eighths[9] = { "", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█" };

char *report_bar(uint64_t n, uint64_t max, size_t width, char *buf, size_t size) {
        uint64_t e;
        size_t l = 0;

        if (size == 0)
                return buf;
        buf[0] = 0;
        if (n == 0 || max == 0 || width == 0)
                return buf;
        if (n > max)
                n = max;
        /* In eighths of a cell; a double keeps huge counts from overflowing. */
        e = (uint64_t) ((double) n / (double) max * (double) width * 8.0 + 0.5);
        if (e == 0)
                e = 1;
        if (e > width * 8)
                e = width * 8;
        for (; e >= 8 && l + 4 <= size; e -= 8)
                l += (size_t) snprintf(buf + l, size - l, "%s", eighths[8]);
        if (e > 0 && l + 4 <= size)
                snprintf(buf + l, size - l, "%s", eighths[e]);
        return buf;
}

static const char *const levels[8] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

char *report_sparkline(const uint64_t *v, size_t n, char *buf, size_t size) {
        uint64_t max = 0;
        size_t l = 0;

        if (size == 0)
                return buf;
        buf[0] = 0;
        for (size_t i = 0; i < n; i++)
                if (v[i] > max)
                        max = v[i];
        for (size_t i = 0; i < n && l + 4 <= size; i++) {
                /* 0 is the lowest bar; anything above 0 at least the second. */
                size_t k = max == 0 || v[i] == 0
                                   ? 0
                                   : 1 + (size_t) ((double) v[i] / (double) max * 6.0 + 0.5);
                if (k > 7)
                        k = 7;
                l += (size_t) snprintf(buf + l, size - l, "%s", levels[k]);
        }
        return buf;
}

/* 1234567 as "1,234,567". */
static char *format_count(uint64_t n, char buf[static 32]) {
        char digits[24];
        int l = snprintf(digits, sizeof digits, "%llu", (unsigned long long) n), o = 0;

        for (int i = 0; i < l; i++) {
                if (i > 0 && (l - i) % 3 == 0)
                        buf[o++] = ',';
                buf[o++] = digits[i];
        }
        buf[o] = 0;
        return buf;
}

typedef enum TimeFormat { TIME_DAY, TIME_MINUTE, TIME_SHORT, TIME_CLOCK } TimeFormat;

static char *format_local(int64_t usec, TimeFormat format, char buf[static 32]) {
        time_t t = (time_t) (usec / (int64_t) USEC_PER_SEC);
        struct tm tm;
        size_t l = 0;

        if (localtime_r(&t, &tm))
                switch (format) {
                case TIME_DAY: l = strftime(buf, 32, "%Y-%m-%d", &tm); break;
                case TIME_MINUTE: l = strftime(buf, 32, "%Y-%m-%d %H:%M", &tm); break;
                case TIME_SHORT: l = strftime(buf, 32, "%m-%d %H:%M", &tm); break;
                case TIME_CLOCK: l = strftime(buf, 32, "%H:%M", &tm); break;
                }
        if (l == 0)
                snprintf(buf, 32, "-");
        return buf;
}

/* "2일 3시간" / "2d 3h": the two largest units, down to minutes. */
static char *format_duration(int64_t usec, Language lang, char buf[static 48]) {
        static const char *const units[4][_LANGUAGE_MAX] = {
                { "일", "d" }, { "시간", "h" }, { "분", "min" }, { "초", "s" },
        };
        int64_t s = usec > 0 ? usec / (int64_t) USEC_PER_SEC : 0;
        int64_t v[4] = { s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60 };
        int shown = 0, l = 0;

        buf[0] = 0;
        for (int i = 0; i < 4 && shown < 2; i++) {
                if (v[i] == 0 && !(shown == 0 && i == 3))
                        continue;
                if (i == 3 && shown > 0)
                        break;
                l += snprintf(buf + l, 48 - (size_t) l, "%s%lld%s", shown ? " " : "",
                              (long long) v[i], units[i][lang]);
                shown++;
                if (i < 3 && v[i + 1] == 0)
                        break;
        }
        return buf;
}

static const char *unit_word(Language lang) {
        return lang == LANGUAGE_KO ? "개" : "";
}

static void print_count_line(FILE *f, const char *mark, const char *label, uint64_t n,
                             uint64_t max, Language lang) {
        char c[32], bar[REPORT_BAR_MAX];

        fprintf(f, "%s%s%s: %s%s", mark ?: "", mark ? " " : "", label, format_count(n, c),
                unit_word(lang));
        report_bar(n, max, REPORT_BAR_WIDTH, bar, sizeof bar);
        if (bar[0])
                fprintf(f, " %s", bar);
        fputc('\n', f);
}

/* A list's title: its first line, at most TITLE_MAX characters (never cut
 * inside one), "…" when cut. */
#define TITLE_MAX 100
static void print_title(FILE *f, const char *t) {
        size_t chars = 0, i = 0;

        for (; t[i] && t[i] != '\n' && chars <= TITLE_MAX; i++)
                if (((unsigned char) t[i] & 0xC0) != 0x80 && ++chars > TITLE_MAX)
                        break;
        fwrite(t, 1, i, f);
        if (t[i])
                fputs("…", f);
}

static void print_items(FILE *f, const ReportItem *items, size_t n, uint64_t total,
                        bool ages, int64_t now, Language lang) {
        char c[32], d[48];

        for (size_t i = 0; i < n; i++) {
                const ReportItem *it = &items[i];
                fprintf(f, "• %s #%lld %s — ", severity_marks[it->severity], (long long) it->id,
                        it->app);
                print_title(f, it->title);
                fprintf(f, " (%s%s", format_count((uint64_t) it->count, c), strings[R_TIMES][lang]);
                if (ages)
                        fprintf(f, lang == LANGUAGE_KO ? ", %s째" : ", open %s",
                                format_duration(now - it->first_seen, lang, d));
                fprintf(f, ")\n");
        }
        if (total > n) {
                fprintf(f, lang == LANGUAGE_KO ? "%s %s건\n" : "%s %s more\n",
                        strings[R_MORE][lang], format_count(total - n, c));
        }
}

int report_title(const Report *r, Language lang, char **ret) {
        char day[32];

        if (asprintf(ret, "%s (%s)", strings[R_TITLE][lang],
                     format_local(r->window_end, TIME_DAY, day)) < 0)
                return -ENOMEM;
        return 0;
}

int report_render_text(const Report *r, Language lang, char **ret) {
        _cleanup_free_ char *title = NULL, *buf = NULL;
        char a[32], b[32], c[32], d[48], spark[3 * REPORT_HOURS + 1];
        uint64_t max = 0;
        size_t size = 0;
        FILE *f;
        int q;

        if (lang < 0 || lang >= _LANGUAGE_MAX)
                return -EINVAL;
        q = report_title(r, lang, &title);
        if (q < 0)
                return q;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fprintf(f, "%s\n", title);
        fprintf(f, "%s: %s ~ %s%s\n\n", strings[R_WINDOW][lang],
                format_local(r->window_start, TIME_MINUTE, a),
                format_local(r->window_end, TIME_MINUTE, b), r->first ? strings[R_FIRST][lang] : "");
        fprintf(f, "%s: %s%s\n", strings[R_TOTAL][lang], format_count(r->total, c), unit_word(lang));
        fprintf(f, "%s: %s%s\n", strings[R_AUTO_FIXED][lang], format_count(r->auto_fixed, c),
                unit_word(lang));
        fprintf(f, "%s: %s%s\n\n", strings[R_MANUAL][lang], format_count(r->manual, c),
                unit_word(lang));

        fprintf(f, "%s:\n", strings[R_BY_SEVERITY][lang]);
        for (Severity s = 0; s < _SEVERITY_MAX; s++)
                if (r->by_severity[s] > max)
                        max = r->by_severity[s];
        for (Severity s = 0; s < _SEVERITY_MAX; s++)
                /* The guide lists Low, Medium and High; Critical when there is one. */
                if (s != SEVERITY_CRITICAL || r->by_severity[s] > 0)
                        print_count_line(f, severity_marks[s], severity_to_string(s),
                                         r->by_severity[s], max, lang);

        fprintf(f, "\n%s:\n", strings[R_BY_TYPE][lang]);
        max = 0;
        for (Category k = 0; k < _CATEGORY_MAX; k++)
                if (r->by_category[k] > max)
                        max = r->by_category[k];
        if (max == 0)
                fprintf(f, "%s\n", strings[R_NONE][lang]);
        /* Most frequent first; ties in the taxonomy's order. */
        for (uint64_t shown = 0, last = UINT64_MAX; shown < _CATEGORY_MAX;) {
                uint64_t best = 0;
                for (Category k = 0; k < _CATEGORY_MAX; k++)
                        if (r->by_category[k] < last && r->by_category[k] > best)
                                best = r->by_category[k];
                if (best == 0)
                        break;
                for (Category k = 0; k < _CATEGORY_MAX; k++)
                        if (r->by_category[k] == best) {
                                _cleanup_free_ char *label = NULL;
                                if (asprintf(&label, "• %s",
                                             detect_category_label(k, lang) ?: category_to_string(k)) < 0) {
                                        fclose(f);
                                        return -ENOMEM;
                                }
                                print_count_line(f, NULL, label, best, max, lang);
                                shown++;
                        }
                last = best;
        }

        report_sparkline(r->hourly, REPORT_HOURS, spark, sizeof spark);
        fprintf(f, "\n%s:\n%s %s %s\n", strings[R_HOURLY][lang],
                format_local(r->window_end - (int64_t) REPORT_HOURS * 3600 * (int64_t) USEC_PER_SEC,
                             TIME_CLOCK, a),
                spark, format_local(r->window_end, TIME_CLOCK, b));

        if (r->n_top > 0) {
                fprintf(f, "\n%s:\n", strings[R_TOP][lang]);
                print_items(f, r->top, r->n_top, r->n_top, false, r->window_end, lang);
        }
        if (r->n_regressions > 0) {
                fprintf(f, "\n%s: %s%s\n", strings[R_REGRESSIONS][lang],
                        format_count(r->regressions_total, c), unit_word(lang));
                print_items(f, r->regressions, r->n_regressions, r->regressions_total, false,
                            r->window_end, lang);
        }
        if (r->n_open > 0) {
                fprintf(f, "\n%s: %s%s\n", strings[R_OPEN][lang], format_count(r->open_total, c),
                        unit_word(lang));
                print_items(f, r->open, r->n_open, r->open_total, true, r->window_end, lang);
        }

        fputc('\n', f);
        if (r->n_resolved > 0)
                fprintf(f, lang == LANGUAGE_KO ? "%s: %s (해결 %s건)\n" : "%s: %s (%s resolved)\n",
                        strings[R_MTTR][lang], format_duration(r->mttr_usec, lang, d),
                        format_count(r->n_resolved, c));
        else
                fprintf(f, "%s\n", strings[R_MTTR_NONE][lang]);
        if (r->fixes_ok + r->fixes_failed > 0)
                fprintf(f, "%s: %llu%% (%s/%llu)\n", strings[R_FIX_RATE][lang],
                        (unsigned long long) ((double) r->fixes_ok * 100.0 /
                                              (double) (r->fixes_ok + r->fixes_failed) + 0.5),
                        format_count(r->fixes_ok, c),
                        (unsigned long long) (r->fixes_ok + r->fixes_failed));
        else
                fprintf(f, "%s\n", strings[R_FIX_NONE][lang]);
        {
                char p[32], o[32], t[32], all[32];
                fprintf(f,
                        lang == LANGUAGE_KO
                                ? "%s: %s회, 토큰 %s (입력 %s / 출력 %s / 사고 %s)\n"
                                : "%s: %s, tokens %s (prompt %s / output %s / thoughts %s)\n",
                        strings[R_AI][lang], format_count(r->ai_calls, c),
                        format_count(r->ai_prompt_tokens + r->ai_output_tokens +
                                             r->ai_thoughts_tokens, all),
                        format_count(r->ai_prompt_tokens, p), format_count(r->ai_output_tokens, o),
                        format_count(r->ai_thoughts_tokens, t));
        }
        if (r->dead_deliveries > 0)
                fprintf(f, lang == LANGUAGE_KO ? "%s: %s건 (마지막 오류: %.200s)\n"
                                               : "%s: %s (last error: %.200s)\n",
                        strings[R_DEAD][lang], format_count(r->dead_deliveries, c),
                        r->last_delivery_error ?: "-");
        else
                fprintf(f, "%s\n", strings[R_DEAD_NONE][lang]);

        if (r->gaps_total > 0) {
                fprintf(f, "%s: %s\n", strings[R_DOWN][lang], format_duration(r->down_usec, lang, d));
                for (size_t i = 0; i < r->n_gaps; i++)
                        fprintf(f, "• %s ~ %s (%s)\n",
                                format_local(r->gaps[i].start, TIME_SHORT, a),
                                format_local(r->gaps[i].end, TIME_SHORT, b),
                                format_duration(r->gaps[i].end - r->gaps[i].start, lang, d));
                if (r->gaps_total > r->n_gaps) {
                        fprintf(f, lang == LANGUAGE_KO ? "%s %s건\n" : "%s %s more\n",
                                strings[R_MORE][lang], format_count(r->gaps_total - r->n_gaps, c));
                }
        } else
                fprintf(f, "%s\n", strings[R_UP][lang]);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Slack's mrkdwn needs &, < and > escaped; nothing else is special here. */
static int append_escaped(FILE *f, const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                switch (s[i]) {
                case '&': fputs("&amp;", f); break;
                case '<': fputs("&lt;", f); break;
                case '>': fputs("&gt;", f); break;
                default: fputc(s[i], f);
                }
        return 0;
}

static int add_block(json_t *blocks, const char *type, const char *text_type, const char *text) {
        json_t *b = json_pack("{s:s, s:{s:s, s:s}}", "type", type, "text", "type", text_type,
                              "text", text);
        return b && json_array_append_new(blocks, b) >= 0 ? 0 : -ENOMEM;
}

/* A section of lines [from, to) of text, escaped. */
static int add_section(json_t *blocks, const char *from, const char *to) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        append_escaped(f, from, (size_t) (to - from));
        if (fclose(f) != 0)
                return -ENOMEM;
        /* Slack refuses an empty section. */
        return size == 0 || strspn(buf, "\n") == size ? 0 : add_block(blocks, "section", "mrkdwn", buf);
}

int report_render_slack(const Report *r, Language lang, char **ret_json) {
        _cleanup_free_ char *title = NULL, *text = NULL;
        _cleanup_json_ json_t *blocks = NULL, *o = NULL;
        const char *p, *start;
        size_t n_sections = 0;
        char *s;
        int q;

        q = report_title(r, lang, &title);
        if (q >= 0)
                q = report_render_text(r, lang, &text);
        if (q < 0)
                return q;
        blocks = json_array();
        if (!blocks)
                return -ENOMEM;
        q = add_block(blocks, "header", "plain_text", title);
        if (q < 0)
                return q;
        /* The text without its title line, in sections cut at paragraph
         * (or, for a long paragraph, line) ends; escaping at most quintuples
         * a byte, so a section's source is kept to a fifth of the limit
         * when it has any &, < or >. */
        p = strchr(text, '\n');
        p = p ? p + 1 : text + strlen(text);
        start = p;
        while (*p && n_sections < MAX_SECTIONS) {
                const char *end = strchr(p, '\n');
                end = end ? end + 1 : p + strlen(p);
                size_t limit = strpbrk(start, "&<>") && strpbrk(start, "&<>") < end
                                       ? SECTION_MAX_BYTES / 5 : SECTION_MAX_BYTES;
                bool paragraph = *end == '\n';
                if (end - start > (ptrdiff_t) limit && p > start) {
                        q = add_section(blocks, start, p);
                        if (q < 0)
                                return q;
                        n_sections++;
                        start = p;
                        continue;
                }
                if ((size_t) (end - start) > limit) {
                        /* One line longer than a section: cut it (on a UTF-8 boundary). */
                        const char *cut = start + limit;
                        while (cut > start && ((unsigned char) *cut & 0xC0) == 0x80)
                                cut--;
                        end = cut;
                }
                p = end;
                if (paragraph || !*p) {
                        q = add_section(blocks, start, p);
                        if (q < 0)
                                return q;
                        n_sections++;
                        start = p;
                }
        }
        o = json_pack("{s:s, s:O}", "text", title, "blocks", blocks);
        if (!o)
                return -ENOMEM;
        s = json_dumps(o, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}

static json_t *items_json(const ReportItem *items, size_t n) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++) {
                json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}",
                                      "id", (json_int_t) items[i].id, "app", items[i].app,
                                      "title", items[i].title,
                                      "category", category_to_string(items[i].category),
                                      "severity", severity_to_string(items[i].severity),
                                      "status", incident_status_to_string(items[i].status) ?: "",
                                      "count", (json_int_t) items[i].count,
                                      "regressions", (json_int_t) items[i].regressions,
                                      "first_seen", (json_int_t) items[i].first_seen,
                                      "last_seen", (json_int_t) items[i].last_seen);
                if (!o || json_array_append_new(a, o) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

json_t *report_to_json(const Report *r) {
        _cleanup_json_ json_t *sev = json_object(), *cat = json_object(), *hourly = json_array(),
                              *gaps = json_array();
        json_t *o;

        if (!sev || !cat || !hourly || !gaps)
                return NULL;
        for (Severity s = 0; s < _SEVERITY_MAX; s++)
                if (json_object_set_new(sev, severity_to_string(s),
                                        json_integer((json_int_t) r->by_severity[s])) < 0)
                        return NULL;
        for (Category k = 0; k < _CATEGORY_MAX; k++)
                if (r->by_category[k] > 0 &&
                    json_object_set_new(cat, category_to_string(k),
                                        json_integer((json_int_t) r->by_category[k])) < 0)
                        return NULL;
        for (size_t i = 0; i < REPORT_HOURS; i++)
                if (json_array_append_new(hourly, json_integer((json_int_t) r->hourly[i])) < 0)
                        return NULL;
        for (size_t i = 0; i < r->n_gaps; i++)
                if (json_array_append_new(gaps, json_pack("{s:I, s:I}",
                                                          "start", (json_int_t) r->gaps[i].start,
                                                          "end", (json_int_t) r->gaps[i].end)) < 0)
                        return NULL;
        o = json_pack("{s:I, s:I, s:b, s:I, s:I, s:I, s:O, s:O, s:o, s:o, s:I, s:o, s:I,"
                      " s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:I, s:s?, s:O, s:O, s:I}",
                      "window_start", (json_int_t) r->window_start,
                      "window_end", (json_int_t) r->window_end,
                      "first", r->first,
                      "total", (json_int_t) r->total,
                      "auto_fixed", (json_int_t) r->auto_fixed,
                      "manual", (json_int_t) r->manual,
                      "by_severity", sev,
                      "by_category", cat,
                      "top", items_json(r->top, r->n_top),
                      "regressions", items_json(r->regressions, r->n_regressions),
                      "regressions_total", (json_int_t) r->regressions_total,
                      "open", items_json(r->open, r->n_open),
                      "open_total", (json_int_t) r->open_total,
                      "resolved", (json_int_t) r->n_resolved,
                      "mttr_usec", (json_int_t) r->mttr_usec,
                      "fixes_ok", (json_int_t) r->fixes_ok,
                      "fixes_failed", (json_int_t) r->fixes_failed,
                      "ai", "calls", (json_int_t) r->ai_calls,
                      "prompt_tokens", (json_int_t) r->ai_prompt_tokens,
                      "output_tokens", (json_int_t) r->ai_output_tokens,
                      "thoughts_tokens", (json_int_t) r->ai_thoughts_tokens,
                      "dead_deliveries", (json_int_t) r->dead_deliveries,
                      "last_delivery_error", r->last_delivery_error,
                      "hourly", hourly,
                      "gaps", gaps,
                      "down_usec", (json_int_t) r->down_usec);
        return o;
}
