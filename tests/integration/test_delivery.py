#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of delivery with the real appwatchd and the loopback
fake Slack and Notion (tests/lib/fakes.py, which validate requests as the
real APIs do): one message per incident event, one Notion page per incident
whose 상태 follows it, nothing lost while a service is down, Retry-After
honoured, refusals that retrying cannot fix held (and one incident of
appwatch's own), a refused row marked dead alone, test-notify, the schema
check, no second page after a lost answer or a SIGKILL, and no secret in
the log, the outbox listing or status."""

import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import Daemon, wait_until  # noqa: E402
from fakes import FakeNotion, FakeSlack  # noqa: E402
from fake_notion import normalize_id  # noqa: E402

TRACEBACK = ("Traceback (most recent call last):\n"
             "  File \"/srv/tool/main.py\", line 3, in <module>\n"
             "    import {mod}\n"
             "ModuleNotFoundError: No module named '{mod}'\n")


class Delivery(unittest.TestCase):
    def setUp(self):
        self.slack = FakeSlack().start()
        self.addCleanup(self.slack.stop)
        self.notion = FakeNotion().start()
        self.addCleanup(self.notion.stop)

    def daemon(self, extra="", slack=True, notion=True, fingerprint=True, env=None):
        e = {}
        if slack:
            e["SLACK_WEBHOOK_URL"] = self.slack.webhook_url
        if notion:
            e["NOTION_API_TOKEN"] = self.notion.token
            e["NOTION_DATABASE_ID"] = self.notion.database_id
        e.update(env or {})
        conf = ("[Journal]\nEnabled=no\n[Notion]\nEndpoint=%s\n%s%s"
                % (self.notion.url, "FingerprintProperty=Fingerprint\n" if fingerprint else "",
                   extra))
        d = Daemon(self, conf, env=e)
        d.start()
        return d

    def submit(self, d, app, text, code=1):
        p = d.ctl("submit", "--app", app, "--exit-code", str(code), input=text)
        self.assertEqual(p.returncode, 0, p.stderr)

    def slack_texts(self):
        return [m.get("text", "") + json.dumps(m.get("blocks", []), ensure_ascii=False)
                for m in self.slack.messages]

    def pages(self):
        return [self.notion.simple_properties(p["id"]) for p in self.notion.pages_in()]

    def test_incident_reaches_slack_and_notion_and_status_follows(self):
        d = self.daemon()
        self.submit(d, "shop", TRACEBACK.format(mod="yaml"))
        wait_until(lambda: self.slack.messages and self.pages(), timeout=20,
                   what="a Slack message and a Notion page")
        msg = self.slack_texts()[0]
        self.assertIn("🟠", msg)                        # Medium: the guide's mark
        self.assertIn("shop", msg)
        self.assertIn("No module named", msg)
        page = self.pages()[0]
        self.assertEqual(page["상태"], "New")
        self.assertEqual(page["앱"], "shop")
        self.assertEqual(page["심각도"], "Medium")
        self.assertTrue(page["자동수정가능"])
        self.assertRegex(page["Fingerprint"], r"^[0-9a-f]{32} shop@")
        inc = d.incidents()[0]
        wait_until(lambda: json.loads(d.ctl("show", "--json", str(inc["id"])).stdout)
                   .get("notion_page_id"), what="the page id stored")
        # Resolved by hand: a message, and the page's 상태 follows.
        d.ctl("resolve", str(inc["id"]))
        wait_until(lambda: self.pages()[0]["상태"] == "Resolved", timeout=20,
                   what="상태 Resolved in Notion")
        wait_until(lambda: len(self.slack.messages) == 2, what="the resolved message")
        self.assertIn("✅", self.slack_texts()[1])
        # Seen again: a regression sets 상태 back.
        self.submit(d, "shop", TRACEBACK.format(mod="yaml"))
        wait_until(lambda: self.pages()[0]["상태"] == "New", timeout=20, what="상태 New again")
        self.assertEqual(len(self.notion.pages_in()), 1)   # one page per incident
        wait_until(lambda: json.loads(d.ctl("outbox", "--json").stdout)["rows"] == [],
                   timeout=20, what="everything delivered")
        self.assertEqual(self.slack.crashes + self.notion.crashes, [])

    def test_repeats_are_counted_not_sent(self):
        d = self.daemon()
        for _ in range(5):
            self.submit(d, "shop", "ERROR: connection pool exhausted\n")
        wait_until(lambda: d.incidents() and d.incidents()[0]["count"] == 5, what="5 sightings")
        time.sleep(2)
        self.assertEqual(len(self.slack.messages), 1)

    def test_repeat_interval_reannounces_with_the_count_since(self):
        d = self.daemon("[Slack]\nRepeatIntervalSec=2s\n", notion=False)
        self.submit(d, "shop", "ERROR: connection pool exhausted\n")
        wait_until(lambda: self.slack.messages, what="the first message")
        for _ in range(3):
            self.submit(d, "shop", "ERROR: connection pool exhausted\n")
        time.sleep(2.5)
        self.submit(d, "shop", "ERROR: connection pool exhausted\n")
        wait_until(lambda: len(self.slack.messages) == 2, timeout=20, what="the repeat message")
        text = self.slack_texts()[1]
        self.assertIn("지난 알림 이후 4회", text)      # 4 since the last message, of 5

    def test_new_incidents_close_together_are_one_message(self):
        self.slack.outage("refuse")
        d = self.daemon(notion=False)
        for i in range(3):
            self.submit(d, "app%d" % i, TRACEBACK.format(mod="m%d" % i))
        self.slack.end_outage()
        d.ctl("outbox", "retry", "--all")
        wait_until(lambda: json.loads(d.ctl("outbox", "--json").stdout)["rows"] == [],
                   timeout=20, what="delivered")
        self.assertEqual(len(self.slack.messages), 1)
        text = self.slack_texts()[0]
        for i in range(3):
            self.assertIn("app%d" % i, text)
        # With GroupWindowSec=0, one message each.
        self.slack.reset()
        self.slack.messages.clear()
        self.slack.outage("refuse")
        d2 = self.daemon("[Slack]\nGroupWindowSec=0\n", notion=False)
        for i in range(3):
            self.submit(d2, "solo%d" % i, TRACEBACK.format(mod="n%d" % i))
        self.slack.end_outage()
        d2.ctl("outbox", "retry", "--all")
        wait_until(lambda: len(self.slack.messages) == 3, timeout=20, what="three messages")

    def test_min_severity_filters_slack_not_notion(self):
        d = self.daemon("[Slack]\nMinSeverity=High\n")
        self.submit(d, "shop", TRACEBACK.format(mod="requests"))      # Medium
        wait_until(lambda: self.pages(), timeout=20, what="the Notion page")
        time.sleep(1.5)
        self.assertEqual(self.slack.messages, [])

    def test_outage_loses_nothing_and_drains_in_order(self):
        self.slack.outage("refuse")
        d = self.daemon(notion=False)
        mods = ["mod%d" % i for i in range(6)]
        for m in mods:
            self.submit(d, "tool-" + m, TRACEBACK.format(mod=m))
        wait_until(lambda: any(r["attempts"] >= 2 for r in
                               json.loads(d.ctl("outbox", "--json").stdout)["rows"]),
                   timeout=20, what="a retried row")
        out = d.ctl("outbox").stdout
        self.assertIn("slack", out)
        self.assertNotIn(self.slack.hook_path, out)
        d.notify.wait_for(lambda f: "outbox 6 pending" in f.get("STATUS", ""), timeout=20)
        self.slack.end_outage()
        d.ctl("outbox", "retry", "--all")
        wait_until(lambda: json.loads(d.ctl("outbox", "--json").stdout)["rows"] == [],
                   timeout=30, what="the backlog drained")
        text = "".join(self.slack_texts())
        for m in mods:
            self.assertEqual(text.count("No module named '%s'" % m) >= 1, True, m)
        # In order: a group or messages, the first incident first.
        self.assertLess(text.index("mod0"), text.index("mod5"))
        reqs = self.slack.requests_to("POST")
        self.assertLessEqual(FakeSlack.max_in_window(reqs, 1.0), 1)    # 1 message a second

    def test_state_is_retrying_during_an_outage_after_a_success(self):
        d = self.daemon(notion=False)
        state = lambda: json.loads(d.ctl("status", "--json").stdout)["delivery"]["slack"]["state"]
        self.submit(d, "shop", "ERROR: before the outage\n")
        wait_until(lambda: self.slack.messages, timeout=20, what="the first message")
        self.assertEqual(state(), "ok")
        self.slack.outage("refuse")
        self.submit(d, "shop", "ERROR: during the outage\n")
        wait_until(lambda: state() == "retrying", timeout=20, what="Slack retrying")
        self.slack.end_outage()
        d.ctl("outbox", "retry", "--all")
        wait_until(lambda: len(self.slack.messages) == 2, timeout=30, what="the second message")
        wait_until(lambda: state() == "ok", what="Slack ok again")

    def test_notion_keeps_its_rate_across_jobs(self):
        # With a fingerprint property each page is a query and a create: two
        # requests in one job, and the next job must still wait its turn.
        d = self.daemon(slack=False)
        for i in range(4):
            self.submit(d, "app%d" % i, "ERROR: paced %d\n" % i)
        wait_until(lambda: len(self.notion.pages_in()) == 4, timeout=30, what="four pages")
        stamps = sorted(r.monotonic for r in self.notion.requests)
        self.assertGreaterEqual(len(stamps), 10)        # prepare (2) + 4 x (query, create)
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        self.assertGreaterEqual(min(gaps), 0.3, gaps)   # one request every 1/3 s

    def test_retry_after_is_honoured(self):
        self.slack.fail("rate_limit", retry_after=3)
        d = self.daemon(notion=False)
        self.submit(d, "shop", "ERROR: first\n")
        wait_until(lambda: self.slack.messages, timeout=20, what="the message after 429")
        reqs = self.slack.requests_to("POST")
        self.assertEqual(len(reqs), 2)
        self.assertGreaterEqual(reqs[1].monotonic - reqs[0].monotonic, 3.0)

    def test_server_errors_and_garbage_are_retried(self):
        self.slack.fail("status", status=500)
        self.slack.fail("status", status=503)
        self.slack.fail("drop")
        self.slack.fail("garbage")
        d = self.daemon(notion=False)
        self.submit(d, "shop", "ERROR: flaky\n")
        wait_until(lambda: self.slack.messages, timeout=40, what="delivered in the end")
        self.assertEqual(len(self.slack.messages), 1)

    def test_invalid_token_holds_the_sink_and_is_one_incident(self):
        self.slack.set_hook_state("invalid_token")
        d = self.daemon()
        self.submit(d, "shop", "ERROR: first\n")
        wait_until(lambda: json.loads(d.ctl("status", "--json").stdout)["delivery"]["slack"]
                   ["state"] == "held", timeout=20, what="Slack held")
        self.submit(d, "shop", "ERROR: second\n")
        time.sleep(3)
        self.assertEqual(len(self.slack.requests_to("POST")), 1)     # not retried in a loop
        own = [i for i in d.incidents() if i["app"] == "appwatch"]
        self.assertEqual(len(own), 1)
        self.assertEqual(own[0]["severity"], "High")
        self.assertIn("invalid_token", own[0]["title"])
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertIn("invalid_token", st["delivery"]["slack"]["reason"])
        self.assertNotIn(self.slack.hook_path, json.dumps(st))
        d.notify.wait_for(lambda f: "Slack held: " in f.get("STATUS", ""), timeout=20)
        # Notion still works and records appwatch's own incident.
        wait_until(lambda: any(p["앱"] == "appwatch" for p in self.pages()), timeout=20,
                   what="the delivery incident in Notion")
        # Fixed: retry sends what waited, in order.
        self.slack.set_hook_state(None)
        d.ctl("outbox", "retry", "--all")
        wait_until(lambda: "second" in "".join(self.slack_texts()), timeout=30,
                   what="the held messages")
        text = "".join(self.slack_texts())
        self.assertLess(text.index("first"), text.index("second"))
        wait_until(lambda: [i for i in d.incidents() if i["app"] == "appwatch"][0]["status"]
                   == "Resolved", what="the delivery incident resolved")
        self.assertNotIn(self.slack.hook_path, d.logtext())

    def test_every_refusal_of_the_service_holds_it(self):
        cases = [
            ("slack", lambda: self.slack.set_hook_state("no_service"), "no_service"),
            ("slack", lambda: self.slack.set_hook_state("channel_not_found"), "channel_not_found"),
            ("slack", lambda: self.slack.set_hook_state("channel_is_archived"),
             "channel_is_archived"),
            ("notion", lambda: setattr(self.notion, "token_state", "invalid"), "unauthorized"),
            ("notion", lambda: self.notion.hidden.add(normalize_id(self.notion.database_id)),
             "object_not_found"),
            ("notion", lambda: self.notion.restricted.add(
                normalize_id(self.notion.database_id)), "restricted_resource"),
        ]
        for sink, breakit, code in cases:
            with self.subTest(code=code):
                self.slack.reset()
                self.slack.set_hook_state(None)
                self.notion.token_state = None
                self.notion.hidden.clear()
                self.notion.restricted.clear()
                breakit()
                d = self.daemon(slack=sink == "slack", notion=sink == "notion")
                self.submit(d, "shop", "ERROR: %s\n" % code)
                wait_until(lambda: json.loads(d.ctl("status", "--json").stdout)["delivery"]
                           [sink]["state"] == "held", timeout=20, what=sink + " held")
                n = len(self.slack.requests if sink == "slack" else self.notion.requests)
                time.sleep(2)
                self.assertEqual(len(self.slack.requests if sink == "slack" else
                                     self.notion.requests), n, "retried in a loop")
                st = json.loads(d.ctl("status", "--json").stdout)["delivery"][sink]
                self.assertIn(code, st["reason"] + (st["last_error"] or ""))
                own = [i for i in d.incidents() if i["app"] == "appwatch"]
                self.assertEqual(len(own), 1)
                self.assertEqual(own[0]["severity"], "High")
                d.kill()

    def test_a_refused_row_is_dead_alone(self):
        self.slack.fail("status", status=400, body="invalid_blocks")
        d = self.daemon(notion=False)
        self.submit(d, "shop", "ERROR: refused\n")
        wait_until(lambda: any(r["state"] == "dead" for r in
                               json.loads(d.ctl("outbox", "--json").stdout)["rows"]),
                   timeout=20, what="a dead row")
        self.submit(d, "shop", "ERROR: taken\n")
        wait_until(lambda: self.slack.messages, timeout=20, what="the next row delivered")
        rows = json.loads(d.ctl("outbox", "--json").stdout)["rows"]
        self.assertEqual(len(rows), 1)
        self.assertIn("invalid_blocks", rows[0]["last_error"])
        d.ctl("outbox", "retry", str(rows[0]["id"]))
        wait_until(lambda: len(self.slack.messages) == 2, timeout=20, what="re-sent")

    def test_test_notify(self):
        d = self.daemon()
        p = d.ctl("test-notify", "--notion")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("HTTP status: 200", p.stdout)
        self.assertIn("Delete it in Notion", p.stdout)
        self.assertIn("Slack 연동 테스트", json.dumps(self.slack.messages, ensure_ascii=False))
        pages = self.pages()
        self.assertEqual(len(pages), 1)
        self.assertEqual(pages[0]["앱"], "Test")
        self.assertEqual(pages[0]["심각도"], "Low")
        self.assertFalse(pages[0]["자동수정가능"])
        # Without Slack configured it says what to set.
        d2 = self.daemon(slack=False, notion=False)
        p = d2.ctl("test-notify", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("SLACK_WEBHOOK_URL", p.stderr)

    def test_schema_mismatch_names_the_property(self):
        self.notion.set_schema_property("심각도", "rich_text")
        d = self.daemon(slack=False)
        self.submit(d, "shop", "ERROR: x\n")
        wait_until(lambda: json.loads(d.ctl("status", "--json").stdout)["delivery"]["notion"]
                   ["state"] == "held", timeout=20, what="Notion held")
        reason = json.loads(d.ctl("status", "--json").stdout)["delivery"]["notion"]["reason"]
        self.assertIn("'심각도': expected select, found rich_text", reason)
        self.assertEqual(self.notion.pages_in(), [])

    def test_lost_answer_makes_no_second_page(self):
        # The page is made, but the answer never arrives.
        self.notion.fail("drop_after", path="/v1/pages")
        d = self.daemon(slack=False)
        self.submit(d, "shop", "ERROR: made once\n")
        wait_until(lambda: json.loads(d.ctl("outbox", "--json").stdout)["rows"] == [] and
                   d.incidents(), timeout=40, what="the row delivered")
        self.assertEqual(len(self.notion.pages_in()), 1)

    def test_sigkill_during_delivery(self):
        # Every request hangs until the daemon is killed.
        self.notion.outage("timeout")
        d = self.daemon(slack=False)
        for i in range(3):
            self.submit(d, "app%d" % i, "ERROR: failure %d\n" % i)
        time.sleep(1.5)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        self.notion.end_outage()
        d.start()
        wait_until(lambda: len(self.notion.pages_in()) == 3 and
                   json.loads(d.ctl("outbox", "--json").stdout)["rows"] == [],
                   timeout=40, what="every page made after the restart")
        titles = sorted(p["제목"] for p in self.pages())
        self.assertEqual(titles, ["ERROR: failure 0", "ERROR: failure 1", "ERROR: failure 2"])

    def test_korean_text_within_both_limits(self):
        d = self.daemon()
        long = "한글 오류 메시지입니다 " * 900
        self.submit(d, "앱", "ERROR: " + long + "\n")
        wait_until(lambda: self.slack.messages and self.pages(), timeout=20, what="delivered")
        rows = json.loads(d.ctl("outbox", "--json").stdout)["rows"]
        self.assertEqual(rows, [])       # nothing refused by either service's limits

    def test_secrets_never_leave_in_clear(self):
        d = self.daemon()
        self.submit(d, "shop", "ERROR: login failed password=hunter2 AIzaSyA1234567890abcdefghijklmnopqrstuv\n")
        wait_until(lambda: self.slack.messages and self.pages(), timeout=20, what="delivered")
        for fake in (self.slack, self.notion):
            self.assertEqual(fake.requests_containing("hunter2"), [])
            self.assertEqual(fake.requests_containing("AIzaSyA1234567890abcdefghijklmnopqrstuv"),
                             [])
        log = d.logtext()
        self.assertNotIn(self.notion.token, log)
        self.assertNotIn(self.slack.hook_path, log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
