#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of the status check (appwatchctl check) with the real
appwatchd: a threshold breach becomes one incident of app "appwatch" under a
stable key, seen again it stays one incident, and it is resolved when the
breach clears; a watch whose directory is gone is a breach; a fix left
'running' in a real database of a stopped daemon is found stuck; STATUS=
shows the result; the exit status is 3 on a breach, 0 otherwise."""

import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import Daemon, wait_until  # noqa: E402
from fakes import FakeNotion, FakeSlack  # noqa: E402

TRACEBACK = ("Traceback (most recent call last):\n"
             "  File \"/srv/tool/main.py\", line 3, in <module>\n"
             "    import {mod}\n"
             "ModuleNotFoundError: No module named '{mod}'\n")

BASE = "[Journal]\nEnabled=no\n"


def own(incidents, key_part):
    return [i for i in incidents if i["app"] == "appwatch" and key_part in i["title"]]


class StatusCheck(unittest.TestCase):
    def check(self, d):
        p = d.ctl("check", "--json", check=False)
        self.assertIn(p.returncode, (0, 3), p.stderr)
        data = json.loads(p.stdout)
        self.assertEqual(p.returncode == 0, data["ok"])
        return p.returncode, data

    def item(self, data, key):
        for it in data["items"]:
            if it["key"] == key:
                return it
        raise AssertionError("no item %s in %s" % (key, [i["key"] for i in data["items"]]))

    def test_disk_breach_is_one_incident_then_resolved(self):
        d = Daemon(self, BASE + "[Check]\nMinFreeDiskPercent=100\n")
        d.start()
        key = "check:disk:" + d.state_dir
        rc, data = self.check(d)
        self.assertEqual(rc, 3)
        it = self.item(data, key)
        self.assertFalse(it["ok"])
        self.assertEqual(it["min_percent"], 100)
        self.assertEqual(it["category"], "disk_full")
        # The other items pass: one breach only.
        self.assertEqual(data["breaches"], 1, data)
        d.notify.wait_for(lambda f: "check: 1 breach: Disk space of" in f.get("STATUS", ""))
        # Seen again: still one incident, counted.
        self.check(d)
        incs = own(d.incidents(), "Disk space of " + d.state_dir)
        self.assertEqual(len(incs), 1, incs)
        self.assertEqual(incs[0]["status"], "New")
        self.assertEqual(incs[0]["severity"], "High")
        self.assertEqual(incs[0]["origin"], "appwatch")
        self.assertEqual(incs[0]["count"], 2)
        # The text output names the breach and its key.
        p = d.ctl("check", check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("FAIL Disk space of %s" % d.state_dir, p.stdout)
        self.assertIn(key, p.stdout)

        # Cleared: resolved, reason system, and STATUS= says so.
        d.write_config(BASE + "[Check]\nMinFreeDiskPercent=0\n")
        d.ctl("reload")
        rc, data = self.check(d)
        self.assertEqual(rc, 0, data)
        self.assertEqual(data["resolved"], 1)
        incs = own(d.incidents(), "Disk space of " + d.state_dir)
        self.assertEqual(incs[0]["status"], "Resolved")
        self.assertIn("resolved", d.logtext())
        d.notify.wait_for(lambda f: f.get("STATUS", "").endswith("check ok"))
        # Passing again is not a second resolution.
        rc, data = self.check(d)
        self.assertEqual(data["resolved"], 0)

    def test_inodes_threshold(self):
        d = Daemon(self, BASE + "[Check]\nMinFreeInodesPercent=100\n")
        d.start()
        st = os.statvfs(d.state_dir)
        rc, data = self.check(d)
        if st.f_files == 0:
            self.skipTest("the filesystem reports no inodes")
        self.assertEqual(rc, 3)
        self.assertFalse(self.item(data, "check:inodes:" + d.state_dir)["ok"])

    def test_missing_watch_directory(self):
        d = Daemon(self, BASE)
        gone = os.path.join(d.dir, "logs")
        d.write_config(BASE + "[Watch.builds]\nPath=%s/*.log\nApp=shop\n" % gone)
        d.start()
        rc, data = self.check(d)
        self.assertEqual(rc, 3)
        it = self.item(data, "check:watch:builds")
        self.assertIn("cannot be looked at: No such file or directory", it["title"])
        # The directory appears: the breach clears.
        os.makedirs(gone)
        rc, data = self.check(d)
        self.assertEqual(rc, 0, data)
        self.assertEqual(data["resolved"], 1)
        # On the same filesystem as the state directory: looked at once, under that name.
        self.assertNotIn("check:disk:" + gone, [i["key"] for i in data["items"]])

    def test_old_and_dead_outbox_rows(self):
        d = Daemon(self, BASE)
        d.start()
        self.assertEqual(d.stop(), 0)
        now = int(time.time() * 1e6)
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        with db:
            # Slack is not configured: nothing will send these.
            db.execute("INSERT INTO outbox (kind, target, idempotency_key, payload, state, created) "
                       "VALUES ('slack', '1', 'k1', '{}', 'pending', ?)", (now - 2 * 3600 * 10**6,))
            db.execute("INSERT INTO outbox (kind, target, idempotency_key, payload, state, created) "
                       "VALUES ('slack', '1', 'k2', '{}', 'dead', ?)", (now,))
        db.close()
        d.start()
        rc, data = self.check(d)
        self.assertEqual(rc, 3)
        age = self.item(data, "check:outbox:age")
        self.assertFalse(age["ok"])
        self.assertIn("1 message pending, the oldest for 2h", age["title"])
        self.assertFalse(self.item(data, "check:outbox:dead")["ok"])
        self.assertEqual(data["breaches"], 2)
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        with db:
            db.execute("UPDATE outbox SET state = 'done'")
        db.close()
        rc, data = self.check(d)
        self.assertEqual(rc, 0, data)
        self.assertEqual(data["resolved"], 2)

    def test_stuck_fix_in_a_real_database(self):
        d = Daemon(self, BASE + "[Fix]\nTimeoutSec=1min\n[Check]\nStuckFixMarginSec=1min\n")
        d.start()
        d.ctl("submit", "--app", "shop", input="ERROR: something broke\n")
        inc = d.wait_incidents(lambda l: l, what="an incident")[0]
        # Written behind the running daemon's back: rows no fixer of this run
        # follows, as a unit that hangs would leave them. (At a start the
        # fixer adopts or ends such rows, so they go in while it runs.)
        now = int(time.time() * 1e6)
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        with db:
            db.execute("INSERT INTO fix_attempts (incident_id, app, fingerprint, attempt, fix_id, state, "
                       "started) VALUES (?, ?, ?, 1, 'flutter_clean', 'running', ?)",
                       (inc["id"], inc["app"], inc["fingerprint"], now - 3 * 60 * 10**6))
            db.execute("INSERT INTO fix_attempts (incident_id, app, fingerprint, attempt, fix_id, state, "
                       "started) VALUES (?, ?, ?, 2, 'flutter_pub_get', 'verifying', ?)",
                       (inc["id"], inc["app"], inc["fingerprint"], now - 60 * 10**6))
        db.close()
        rc, data = self.check(d)
        self.assertEqual(rc, 3)
        stuck = [i for i in data["items"] if i["kind"] == "fix"]
        self.assertEqual(len(stuck), 1, stuck)
        self.assertEqual(stuck[0]["fix_id"], "flutter_clean")
        self.assertIn("is still running after 3min", stuck[0]["title"])
        self.assertIn("stuck after 2min", stuck[0]["title"])
        self.assertEqual(len(own(d.incidents(), "Fix attempt")), 1)
        # The fixer finishes it: resolved.
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        with db:
            db.execute("UPDATE fix_attempts SET state = 'failed', finished = ? WHERE attempt = 1",
                       (now,))
        db.close()
        rc, data = self.check(d)
        self.assertEqual(rc, 0, data)
        self.assertEqual(own(d.incidents(), "Fix attempt")[0]["status"], "Resolved")



class NotionStatusSync(unittest.TestCase):
    """The status check reads back the 상태 people set in Notion."""

    def setUp(self):
        self.slack = FakeSlack().start()
        self.addCleanup(self.slack.stop)
        self.notion = FakeNotion().start()
        self.addCleanup(self.notion.stop)
        env = {"SLACK_WEBHOOK_URL": self.slack.webhook_url, "NOTION_API_TOKEN": self.notion.token,
               "NOTION_DATABASE_ID": self.notion.database_id}
        self.d = Daemon(self, BASE + "[Notion]\nEndpoint=%s\nFingerprintProperty=Fingerprint\n"
                        % self.notion.url, env=env)
        self.d.start()

    def submit(self, mod):
        self.d.ctl("submit", "--app", "tool", input=TRACEBACK.format(mod=mod))

    def page_of(self, inc_id):
        def get():
            i = [x for x in self.d.incidents() if x["id"] == inc_id][0]
            return i["notion_page_id"]
        return wait_until(get, timeout=20, what="a Notion page")

    def status_patches(self, page):
        return [r for r in self.notion.requests_to("PATCH", "/v1/pages/")
                if page.replace("-", "") in r.path.replace("-", "")]

    def check(self):
        p = self.d.ctl("check", "--json", check=False)
        self.assertIn(p.returncode, (0, 3), p.stderr)
        return json.loads(p.stdout)

    def test_resolved_in_notion_then_regression(self):
        self.submit("yaml")
        inc = self.d.wait_incidents(lambda l: l, what="an incident")[0]
        page = self.page_of(inc["id"])
        self.assertEqual(self.check()["notion"]["changed"], 0)
        q = self.notion.requests_to("POST", "/v1/data_sources/")[-1]
        self.assertEqual(q.json["filter"]["timestamp"], "last_edited_time")
        self.assertIn("on_or_after", q.json["filter"]["last_edited_time"])

        # A person resolves it in Notion.
        self.notion.edit_page(page, {"상태": "Resolved"})
        patches = len(self.status_patches(page))
        data = self.check()
        self.assertEqual(data["notion"]["changed"], 1, data["notion"])
        self.assertIsNone(data["notion"].get("error"))
        got = [x for x in self.d.incidents() if x["id"] == inc["id"]][0]
        self.assertEqual(got["status"], "Resolved")
        self.assertIn("Incident #%d set to Resolved in Notion" % inc["id"], self.d.logtext())
        # Announced on Slack, but not written back to Notion: no echo.
        wait_until(lambda: any("Resolved" in json.dumps(m, ensure_ascii=False) or
                               "해결" in json.dumps(m, ensure_ascii=False)
                               for m in self.slack.messages[1:]), timeout=20,
                   what="the resolution on Slack")
        wait_until(lambda: not self.d.call("outbox")["data"]["rows"], timeout=20,
                   what="an empty outbox")
        self.assertEqual(len(self.status_patches(page)), patches)
        # Seen again by the next check: nothing more to do.
        self.assertEqual(self.check()["notion"]["changed"], 0)
        p = self.d.ctl("check", check=False)
        self.assertIn("ok   Notion status sync: ", p.stdout)
        self.assertIn("0 statuses taken from Notion", p.stdout)

        # The failure comes back: a regression, and the page says New again.
        self.submit("yaml")
        got = self.d.wait_incidents(
            lambda l: [x for x in l if x["id"] == inc["id"] and x["status"] == "New"],
            what="the regression")
        got = [x for x in got if x["id"] == inc["id"]][0]
        self.assertEqual(got["regressions"], 1)
        self.assertTrue(got["regression"])
        wait_until(lambda: self.notion.simple_properties(page)["상태"] == "New", timeout=20,
                   what="the page back to New")
        # appwatch's own edit read back changes nothing.
        self.assertEqual(self.check()["notion"]["changed"], 0)
        got = [x for x in self.d.incidents() if x["id"] == inc["id"]][0]
        self.assertEqual(got["status"], "New")

    def test_manual_required_in_notion(self):
        self.submit("cv2")
        inc = self.d.wait_incidents(lambda l: l, what="an incident")[0]
        page = self.page_of(inc["id"])
        self.notion.edit_page(page, {"상태": "Manual Required"})
        self.assertEqual(self.check()["notion"]["changed"], 1)
        got = [x for x in self.d.incidents() if x["id"] == inc["id"]][0]
        self.assertEqual(got["status"], "Manual Required")

    def test_notion_failure_is_reported_not_fatal(self):
        self.notion.token_state = "invalid"
        data = self.check()
        self.assertIn("database: HTTP 401", data["notion"]["error"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
