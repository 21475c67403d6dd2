#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of the daily report with the real appwatchd and the
loopback fake Slack and Notion: its numbers are those `appwatchctl
incidents --json` lists for the same window; --print records and sends
nothing; a recorded report goes to Slack (the Block Kit the fake checks)
and to a Notion page once; the next one covers only what came after; a
report after days without one covers all of them, once, and names the time
appwatchd did not run. And appwatch's self-watch: `appwatchctl
notify-down` with a real journal file (made by systemd-journal-remote)
posts one redacted "appwatch is down on HOST" message without the daemon."""

import collections
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import shutil
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import APPWATCHCTL, Daemon, wait_until  # noqa: E402
from fakes import FakeNotion, FakeSlack  # noqa: E402

TRACEBACK = ("Traceback (most recent call last):\n"
             "  File \"/srv/tool/main.py\", line 3, in <module>\n"
             "    import {mod}\n"
             "ModuleNotFoundError: No module named '{mod}'\n")
GRADLE = ("FAILURE: Build failed with an exception.\n\n* What went wrong:\n"
          "Execution failed for task ':app:compileDebugKotlin'.\n\nBUILD FAILED in 12s\n")
DISK = "OSError: [Errno 28] No space left on device: '/var/tmp/build-{n}'\n"
DAY = 24 * 3600 * 1000000
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


class Report(unittest.TestCase):
    def setUp(self):
        self.slack = FakeSlack().start()
        self.addCleanup(self.slack.stop)
        self.notion = FakeNotion().start()
        self.addCleanup(self.notion.stop)

    def daemon(self, notion=True, state_dir=None, extra=""):
        e = {"SLACK_WEBHOOK_URL": self.slack.webhook_url}
        if notion:
            e["NOTION_API_TOKEN"] = self.notion.token
            e["NOTION_DATABASE_ID"] = self.notion.database_id
        conf = ("[Service]\nLanguage=en\n[Journal]\nEnabled=no\n[Notion]\nEndpoint=%s\n"
                "FingerprintProperty=Fingerprint\n%s" % (self.notion.url, extra))
        d = Daemon(self, conf, env=e, state_dir=state_dir)
        d.start()
        return d

    def submit(self, d, app, text, code=1):
        p = d.ctl("submit", "--app", app, "--exit-code", str(code), input=text)
        self.assertEqual(p.returncode, 0, p.stderr)

    def report(self, d, *args):
        return json.loads(d.ctl("report", "daily", "--json", *args).stdout)

    def reports_in_slack(self):
        return [m for m in self.slack.messages if "daily report" in m.get("text", "")]

    def report_pages(self):
        return [p for p in self.notion.pages_in()
                if "daily report" in self.notion.simple_properties(p["id"]).get("제목", "")]

    def settle(self, d):
        """Waits until the outbox is empty: every incident message went out."""
        wait_until(lambda: not d.call("outbox")["data"]["rows"], timeout=30,
                   what="an empty outbox")

    def populate(self, d):
        for mod in ("yaml", "cv2", "bs4"):
            self.submit(d, "tool", TRACEBACK.format(mod=mod))
        self.submit(d, "tool", TRACEBACK.format(mod="yaml"))      # a repeat
        self.submit(d, "shop", GRADLE)
        self.submit(d, "shop", DISK.format(n=1))
        return d.wait_incidents(lambda l: len(l) >= 5, what="five incidents")

    def test_numbers_equal_incidents_and_print_sends_nothing(self):
        d = self.daemon()
        self.populate(d)
        # One incident is resolved by hand and one needs a human.
        incs = d.incidents()
        d.ctl("resolve", str(incs[-1]["id"]))
        self.settle(d)
        before = len(self.slack.messages)

        rep = self.report(d, "--print", "--since=1h")
        incs = d.incidents("--since=1h")
        self.assertEqual(rep["total"], len(incs))
        self.assertEqual(rep["by_severity"],
                         {s: sum(1 for i in incs if i["severity"] == s)
                          for s in ("Low", "Medium", "High", "Critical")})
        self.assertEqual(rep["by_category"], dict(collections.Counter(i["category"] for i in incs)))
        self.assertEqual(rep["manual"], sum(1 for i in incs if i["status"] == "Manual Required"))
        self.assertEqual(rep["open_total"], sum(1 for i in incs if i["status"] != "Resolved"))
        self.assertEqual(rep["resolved"], 1)
        self.assertEqual(sum(rep["hourly"]), sum(i["count"] for i in incs))
        top = max(incs, key=lambda i: i["count"])
        self.assertEqual(rep["top"][0]["id"], top["id"])
        self.assertEqual(rep["top"][0]["count"], 2)
        self.assertNotIn("id", rep)                               # not recorded
        self.assertIn("Total errors: %d\n" % len(incs), rep["text"])
        self.assertIn("By severity:\n", rep["text"])

        # The text form too, and nothing was sent or recorded.
        text = d.ctl("report", "daily", "--print").stdout
        self.assertTrue(text.startswith("📊 App factory daily report ("), text)
        time.sleep(1.5)
        self.assertEqual(len(self.slack.messages), before)
        self.assertEqual(self.reports_in_slack(), [])
        self.assertEqual(self.report(d, "--print")["first"], True)

        # A recorded report over the same incidents (the first: the last 24
        # hours) has the same numbers.
        sent = self.report(d)
        self.assertEqual(sent["total"], rep["total"])
        self.assertEqual(sent["by_category"], rep["by_category"])
        self.assertTrue(sent["first"])
        self.assertEqual(sent["window_end"] - sent["window_start"], DAY)
        self.assertEqual(sent["queued"], 2)

    def test_sent_once_to_slack_and_notion_and_next_covers_since(self):
        d = self.daemon()
        self.populate(d)
        self.settle(d)
        first = self.report(d)
        wait_until(lambda: self.reports_in_slack() and self.report_pages(), timeout=20,
                   what="the report in Slack and in Notion")
        msg = self.reports_in_slack()[0]
        body = json.dumps(msg["blocks"], ensure_ascii=False)
        self.assertEqual(msg["blocks"][0]["type"], "header")
        self.assertIn("Total errors: %d" % first["total"], body)
        self.assertIn("🟠 Medium", body)
        self.assertIn("Sightings per hour", body)
        page = self.report_pages()[0]
        props = self.notion.simple_properties(page["id"])
        self.assertEqual(props["앱"], "appwatch")
        self.assertEqual(props["심각도"], "Low")
        self.assertIn("Total errors: %d" % first["total"],
                      "\n".join(self.notion.page_text(page["id"])))

        # The next one covers only what came after the first.
        self.submit(d, "late", TRACEBACK.format(mod="PIL"))
        d.wait_incidents(lambda l: any(i["app"] == "late" for i in l), what="the late incident")
        second = self.report(d)
        self.assertFalse(second["first"])
        self.assertEqual(second["window_start"], first["window_end"])
        self.assertEqual(second["total"], 1)
        self.assertEqual(second["by_category"], {"python_missing_package": 1})
        wait_until(lambda: len(self.reports_in_slack()) == 2 and len(self.report_pages()) == 2,
                   timeout=20, what="the second report")
        # Each went out once, also after a restart (the outbox is done).
        d.stop()
        d.start()
        time.sleep(2)
        self.assertEqual(len(self.reports_in_slack()), 2)
        self.assertEqual(len(self.report_pages()), 2)

    def test_report_forgets_ai_calls_older_than_90_days(self):
        d = self.daemon(notion=False)
        d.stop()
        now = int(time.time() * 1000000)
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        for age in (91 * DAY, 89 * DAY, DAY):
            db.execute("INSERT INTO ai_calls (time, model, outcome) VALUES (?, 'm', 'ok')",
                       (now - age,))
        db.commit()
        db.close()
        d.start()
        self.report(d)
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        left = [r[0] for r in db.execute("SELECT time FROM ai_calls ORDER BY time")]
        db.close()
        self.assertEqual(left, [now - 89 * DAY, now - DAY])

    def test_missed_days_are_caught_up_once(self):
        d = self.daemon(notion=False)
        self.submit(d, "tool", TRACEBACK.format(mod="yaml"))
        d.wait_incidents(lambda l: len(l) == 1)
        d.stop()
        # As if the last report was three days ago and appwatchd had not
        # run since two days ago (the machine was off).
        now = int(time.time() * 1000000)
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        db.execute("INSERT INTO reports (kind, window_start, window_end, created, body) "
                   "VALUES ('daily', ?, ?, ?, 'old')", (now - 4 * DAY, now - 3 * DAY, now - 3 * DAY))
        db.execute("UPDATE daemon_runs SET started = ?, heartbeat = ?, stopped = ?",
                   (now - 3 * DAY - 1000, now - 2 * DAY, now - 2 * DAY))
        db.execute("UPDATE incidents SET first_seen = ?, last_seen = ?",
                   (now - 2 * DAY - 60000000, now - 2 * DAY - 60000000))
        db.commit()
        db.close()
        d.start()
        # What the timer does at boot with Persistent=true: one run.
        rep = self.report(d)
        self.assertEqual(rep["window_start"], now - 3 * DAY)
        self.assertEqual(rep["total"], 1)                       # from two days ago
        self.assertGreaterEqual(rep["down_usec"], 2 * DAY - 60 * 1000000)
        self.assertEqual(len(rep["gaps"]), 1)
        self.assertIn("appwatch was not running", rep["text"])
        wait_until(lambda: len(self.reports_in_slack()) == 1, timeout=20, what="one report")
        # Caught up: the next covers only the seconds since.
        again = self.report(d)
        self.assertEqual(again["window_start"], rep["window_end"])
        self.assertEqual(again["total"], 0)
        self.assertIn("appwatch ran throughout the period", again["text"])
        wait_until(lambda: len(self.reports_in_slack()) == 2, timeout=20, what="two reports")
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        n = db.execute("SELECT count(*) FROM reports").fetchone()[0]
        db.close()
        self.assertEqual(n, 3)

    def test_since_only_with_print_and_bad_arguments(self):
        d = self.daemon(notion=False)
        p = d.ctl("report", "daily", "--since=2h", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--since is only for --print", p.stderr)
        p = d.ctl("report", "weekly", check=False)
        self.assertEqual(p.returncode, 2)
        r = d.call("report", {"kind": "weekly"})
        self.assertIn("unknown report kind", json.dumps(r))
        r = d.call("report", {"kind": "daily", "since": 5})
        self.assertIn("only for printing", json.dumps(r))

    def test_min_severity_above_low_keeps_the_report_off_slack(self):
        d = self.daemon(notion=False, extra="[Slack]\nMinSeverity=High\n")
        rep = self.report(d)
        self.assertEqual(rep["queued"], 0)


@unittest.skipUnless(os.access(JOURNAL_REMOTE, os.X_OK), "systemd-journal-remote not installed")
class NotifyDown(unittest.TestCase):
    def setUp(self):
        self.slack = FakeSlack().start()
        self.addCleanup(self.slack.stop)
        self.dir = tempfile.mkdtemp(prefix="appwatch-down.")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def journal(self, entries):
        """A real journal file with entries (dicts of fields)."""
        path = os.path.join(self.dir, "down.journal")
        export = b""
        t = int(time.time() * 1000000) - 10000000
        for i, e in enumerate(entries):
            fields = {"__REALTIME_TIMESTAMP": str(t + i), "__MONOTONIC_TIMESTAMP": str(1000 + i),
                      "_BOOT_ID": "f" * 32, "__CURSOR": "s=%032x;i=%x" % (1, i + 1)}
            fields.update(e)
            export += b"".join(b"%s=%s\n" % (k.encode(), v.encode()) for k, v in fields.items())
            export += b"\n"
        subprocess.run([JOURNAL_REMOTE, "-o", path, "-"], input=export, check=True,
                       capture_output=True)
        return path

    def run_ctl(self, *args, env=None):
        conf = os.path.join(self.dir, "appwatch.conf")
        with open(conf, "w") as f:
            f.write("[Service]\nLanguage=en\nHost=build-box\n")
        e = dict(os.environ)
        for k in ("CREDENTIALS_DIRECTORY", "SLACK_WEBHOOK_URL", "CONFIGURATION_DIRECTORY"):
            e.pop(k, None)
        e.update(env or {})
        return subprocess.run([APPWATCHCTL, "notify-down", "--config=" + conf] + list(args),
                              capture_output=True, text=True, env=e, timeout=30)

    def test_one_redacted_message_without_the_daemon(self):
        key = "AIza" + "Sy" + "D" * 33
        path = self.journal([
            {"_SYSTEMD_UNIT": "appwatch.service", "MESSAGE": "appwatchd started"},
            {"_SYSTEMD_UNIT": "other.service", "MESSAGE": "not about appwatch"},
            {"_SYSTEMD_UNIT": "appwatch.service",
             "MESSAGE": "Cannot open the database: key=%s No space left on device" % key},
            {"_SYSTEMD_UNIT": "init.scope", "UNIT": "appwatch.service",
             "MESSAGE": "appwatch.service: Start request repeated too quickly."},
        ])
        p = self.run_ctl("--journal-file=" + path, "appwatch.service",
                         env={"SLACK_WEBHOOK_URL": self.slack.webhook_url})
        self.assertEqual(p.returncode, 0, p.stderr)
        wait_until(lambda: self.slack.messages, timeout=5, what="the message")
        time.sleep(0.5)
        self.assertEqual(len(self.slack.messages), 1)
        m = self.slack.messages[0]
        self.assertEqual(m["text"], "appwatch is down on build-box")
        body = json.dumps(m["blocks"], ensure_ascii=False)
        self.assertIn("Start request repeated too quickly", body)
        self.assertIn("appwatchd started", body)
        self.assertIn("No space left on device", body)
        self.assertNotIn("not about appwatch", body)
        self.assertNotIn(key, body)
        self.assertIn("[REDACTED:", body)
        self.assertLess(body.index("appwatchd started"), body.index("Start request"))

    def test_without_a_webhook_it_says_so(self):
        path = self.journal([{"_SYSTEMD_UNIT": "appwatch.service", "MESSAGE": "x"}])
        p = self.run_ctl("--journal-file=" + path, "appwatch.service")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("no Slack webhook is configured", p.stderr)
        self.assertEqual(self.slack.messages, [])

    def test_a_broken_configuration_still_sends(self):
        path = self.journal([{"_SYSTEMD_UNIT": "appwatch.service", "MESSAGE": "x"}])
        conf = os.path.join(self.dir, "bad.conf")
        with open(conf, "w") as f:
            f.write("[Slack]\nMinSeverity=Loud\n")
        e = dict(os.environ, SLACK_WEBHOOK_URL=self.slack.webhook_url)
        e.pop("CREDENTIALS_DIRECTORY", None)
        p = subprocess.run([APPWATCHCTL, "notify-down", "--config=" + conf,
                            "--journal-file=" + path, "appwatch.service"],
                           capture_output=True, text=True, env=e, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("does not load", p.stderr)
        wait_until(lambda: self.slack.messages, timeout=5, what="the message")
        self.assertTrue(self.slack.messages[0]["text"].startswith("appwatch is down on "))

    def test_slack_refusing_is_a_failure(self):
        path = self.journal([{"_SYSTEMD_UNIT": "appwatch.service", "MESSAGE": "x"}])
        p = self.run_ctl("--journal-file=" + path, "appwatch.service",
                         env={"SLACK_WEBHOOK_URL": self.slack.webhook_url + "x"})
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("answered HTTP", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
