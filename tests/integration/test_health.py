#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of the health check (appwatchctl health) with the real
appwatchd and the loopback fakes of Gemini and Notion (which validate
requests as the real APIs do): a refused Gemini key is exactly one High
incident however often the check runs ("API 키 확인 필요", the users'
guide's scenario 2) and is resolved when the key works again; a retired
model is an incident naming it; a Notion schema without a property is an
incident; a malformed Slack URL is an incident and nothing is posted;
--print records nothing; results land in health_results."""

import json
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import Daemon  # noqa: E402
from fakes import FakeGemini, FakeNotion  # noqa: E402


def own(incidents, text):
    return [i for i in incidents if i["app"] == "appwatch" and text in i["title"]]


class Health(unittest.TestCase):
    def setUp(self):
        self.gemini = FakeGemini().start()
        self.addCleanup(self.gemini.stop)
        self.notion = FakeNotion().start()
        self.addCleanup(self.notion.stop)

    def daemon(self, extra="", env=None, notion=False):
        e = {"GEMINI_API_KEY": self.gemini.api_key}
        if notion:
            e["NOTION_API_TOKEN"] = self.notion.token
            e["NOTION_DATABASE_ID"] = self.notion.database_id
        e.update(env or {})
        conf = ("[Journal]\nEnabled=no\n[Gemini]\nEndpoint=%s\n[Notion]\nEndpoint=%s\n%s"
                % (self.gemini.url, self.notion.url, extra))
        d = Daemon(self, conf, env=e)
        d.start()
        return d

    def health(self, d, *args):
        p = d.ctl("health", "--json", *args, check=False)
        self.assertIn(p.returncode, (0, 3), p.stdout + p.stderr)
        data = json.loads(p.stdout)
        self.assertEqual(p.returncode == 0, data["ok"])
        return p.returncode, {i["key"]: i for i in data["items"]}, data

    def results(self, d):
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        try:
            return db.execute("SELECT probe, ok, detail FROM health_results ORDER BY id").fetchall()
        finally:
            db.close()

    def test_all_good(self):
        d = self.daemon(notion=True)
        rc, items, _ = self.health(d)
        self.assertEqual(rc, 0, items)
        for k in ("gemini:key_invalid", "gemini:model_not_found", "health:notion:schema",
                  "health:notion:invalid_token"):
            self.assertTrue(items[k]["ok"], items[k])
        self.assertEqual([i for i in d.incidents() if i["app"] == "appwatch"], [])
        self.assertIn(("gemini:model_not_found", 1, "Gemini model 'gemini-3.8-flash' is served"),
                      self.results(d))

    def test_invalid_key_is_one_high_incident(self):
        self.gemini.set_key_state("invalid")
        d = self.daemon()
        for _ in range(3):
            rc, items, _ = self.health(d)
            self.assertEqual(rc, 3)
        self.assertFalse(items["gemini:key_invalid"]["ok"])
        self.assertEqual(items["gemini:key_invalid"]["reason"], "API_KEY_INVALID")
        # The model could not be asked about: no item, nothing raised or resolved.
        self.assertNotIn("gemini:model_not_found", items)
        incs = own(d.incidents(), "API 키 확인 필요")
        self.assertEqual(len(incs), 1, incs)
        self.assertEqual(incs[0]["severity"], "High")
        self.assertEqual(incs[0]["category"], "api_key_invalid")
        self.assertEqual(incs[0]["count"], 3)
        self.assertNotIn(self.gemini.api_key, d.logtext())
        # The key works again: resolved.
        self.gemini.set_key_state(None)
        rc, items, data = self.health(d)
        self.assertEqual(rc, 0, items)
        self.assertEqual(data["resolved"], 1)
        self.assertEqual(own(d.incidents(), "API 키 확인 필요")[0]["status"], "Resolved")
        self.assertEqual([r for r in self.results(d) if r[0] == "gemini:key_invalid"][-1][1], 1)

    def test_retired_model(self):
        d = self.daemon("[Gemini]\nModel=gemini-2.0-flash\n")
        rc, items, _ = self.health(d)
        self.assertEqual(rc, 3)
        self.assertTrue(items["gemini:key_invalid"]["ok"])
        self.assertFalse(items["gemini:model_not_found"]["ok"])
        incs = own(d.incidents(), "gemini-2.0-flash")
        self.assertEqual(len(incs), 1, d.incidents())
        self.assertIn("Gemini model 'gemini-2.0-flash' is not served", incs[0]["title"])

    def test_notion_schema_missing_property(self):
        self.notion.set_schema_property("심각도", None)
        d = self.daemon(notion=True)
        rc, items, _ = self.health(d)
        self.assertEqual(rc, 3)
        self.assertFalse(items["health:notion:schema"]["ok"])
        self.assertIn("심각도", items["health:notion:schema"]["title"])
        self.assertEqual(len(own(d.incidents(), "Notion database schema does not fit")), 1)

    def test_notion_invalid_token(self):
        d = self.daemon(notion=True, env={"NOTION_API_TOKEN": "ntn_wrong"})
        rc, items, _ = self.health(d)
        self.assertEqual(rc, 3)
        self.assertFalse(items["health:notion:invalid_token"]["ok"])
        self.assertIn("HTTP 401", items["health:notion:invalid_token"]["title"])

    def test_slack_url_malformed_and_print_records_nothing(self):
        d = self.daemon(env={"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0AAA"})
        rc, items, data = self.health(d, "--print")
        self.assertEqual(rc, 3)
        self.assertFalse(items["health:slack:webhook_malformed"]["ok"])
        self.assertFalse(data["recorded"])
        self.assertEqual(own(d.incidents(), "Slack webhook URL"), [])
        self.assertEqual(self.results(d), [])
        rc, items, data = self.health(d)
        self.assertEqual(rc, 3)
        self.assertEqual(len(own(d.incidents(), "Slack webhook URL is malformed")), 1)
        # Text output.
        p = d.ctl("health", "--print", check=False)
        self.assertEqual(p.returncode, 3)
        self.assertIn("FAIL Slack webhook URL is malformed", p.stdout)


FLUTTER = """#!/bin/sh
case "$*" in
--version) echo "Flutter 3.24.0 • channel stable • https://github.com/flutter/flutter.git"; exit 0 ;;
"pub get --dry-run")
    echo "Resolving dependencies..."
    echo "Because shop depends on foo ^9.0.0 which doesn't match any versions, version solving failed."
    exit 1 ;;
esac
exit 64
"""
DART = """#!/bin/sh
echo "Dart SDK version: 3.5.0 (stable) on \"linux_x64\""
"""
PYTHON = """#!/bin/sh
case "$*" in
--version) echo "Python 3.11.2" ;;
"-m pip --version") echo "pip 23.0.1 from /usr/lib/python3/dist-packages/pip (python 3.11)" ;;
"-m pip check") echo "No broken requirements found." ;;
*) exit 64 ;;
esac
"""


class ToolProbes(unittest.TestCase):
    """The tools of each app, run as FixPlans with the app's PATH (here: fakes)."""

    def write(self, d, name, text):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)

    def test_versions_and_dependencies(self):
        d = Daemon(self, "")
        bindir = os.path.join(d.dir, "bin")
        shop = os.path.join(d.dir, "shop")
        tool = os.path.join(d.dir, "tool")
        for p in (bindir, shop, tool):
            os.makedirs(p)
        self.write(bindir, "flutter", FLUTTER)
        self.write(bindir, "dart", DART)
        self.write(bindir, "python3", PYTHON)
        d.write_config("[Journal]\nEnabled=no\n"
                       "[App.shop]\nKind=flutter\nDirectory=%s\nEnvironment=PATH=%s\nAllowRoot=yes\n"
                       "[App.tool]\nKind=python\nDirectory=%s\nEnvironment=PATH=%s\nAllowRoot=yes\n"
                       % (shop, bindir, tool, bindir))
        d.start()
        p = d.ctl("health", "--json", check=False)
        self.assertEqual(p.returncode, 3, p.stdout + p.stderr)
        items = {i["key"]: i for i in json.loads(p.stdout)["items"]}
        self.assertTrue(items["health:shop:flutter_version"]["ok"])
        self.assertIn("Flutter 3.24.0", items["health:shop:flutter_version"]["title"])
        self.assertIn("Dart SDK version: 3.5.0", items["health:shop:dart_version"]["title"])
        dep = items["health:shop:dependencies"]
        self.assertFalse(dep["ok"])
        self.assertEqual(dep["severity"], "Medium")
        self.assertEqual(dep["category"], "flutter_dependency")
        self.assertIn("version solving failed", dep["title"])
        self.assertTrue(items["health:tool:python_version"]["ok"])
        self.assertIn("pip 23.0.1", items["health:tool:pip_version"]["title"])
        self.assertTrue(items["health:tool:dependencies"]["ok"])
        # Recorded per app.
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        rows = db.execute("SELECT app, probe, ok, detail FROM health_results "
                          "WHERE probe LIKE 'health:%' ORDER BY id").fetchall()
        db.close()
        self.assertIn(("shop", "health:shop:flutter_version", 1,
                       items["health:shop:flutter_version"]["title"]), rows)
        self.assertEqual(len(rows), 6, rows)
        incs = [i for i in d.incidents() if i["app"] == "appwatch"]
        self.assertEqual(len(incs), 1, incs)
        self.assertIn("shop: flutter pub get --dry-run failed", incs[0]["title"])
        # The dependencies resolve again: resolved.
        self.write(bindir, "flutter", FLUTTER.replace("exit 1 ;;", "exit 0 ;;"))
        p = d.ctl("health", "--json", check=False)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(json.loads(p.stdout)["resolved"], 1)

    def test_missing_tool(self):
        d = Daemon(self, "")
        shop = os.path.join(d.dir, "shop")
        empty = os.path.join(d.dir, "empty")
        os.makedirs(shop)
        os.makedirs(empty)
        d.write_config("[Journal]\nEnabled=no\n[App.shop]\nKind=flutter\nDirectory=%s\n"
                       "Environment=PATH=%s\nAllowRoot=yes\n" % (shop, empty))
        d.start()
        p = d.ctl("health", "--json", check=False)
        self.assertEqual(p.returncode, 3)
        it = {i["key"]: i for i in json.loads(p.stdout)["items"]}["health:shop:flutter_version"]
        self.assertFalse(it["ok"])
        self.assertEqual(it["severity"], "High")
        self.assertIn("flutter", it["title"])

    def test_app_user_refused_without_systemd(self):
        d = Daemon(self, "")
        shop = os.path.join(d.dir, "shop")
        os.makedirs(shop)
        d.write_config("[Journal]\nEnabled=no\n[App.shop]\nKind=python\nDirectory=%s\n"
                       "User=nobody\n" % shop)
        d.start()
        if os.getuid() != 0:
            self.skipTest("needs root to be another user than nobody's")
        p = d.ctl("health", "--json", check=False)
        it = {i["key"]: i for i in json.loads(p.stdout)["items"]}["health:shop:python_version"]
        self.assertFalse(it["ok"])
        self.assertIn("nobody", it["title"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
