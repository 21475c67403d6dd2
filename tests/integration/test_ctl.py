#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of appwatchctl's interface: every verb answers --help
(without talking to the daemon), the top-level --help lists each verb with
its options, and a list of incidents cut at its limit says so, from the
real appwatchd with more incidents than the default limit."""

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import APPWATCHCTL, Daemon  # noqa: E402

# The verbs the users' guide documents; the help may list more.
KNOWN_VERBS = ["status", "incidents", "show", "resolve", "run", "submit", "submit-unit",
               "scan", "reload", "ping"]


def ctl(*args):
    # A socket nobody listens on: --help must not need the daemon.
    return subprocess.run([APPWATCHCTL, "--socket=/nonexistent/control.sock"] + list(args),
                          capture_output=True, text=True, timeout=30)


def option_lines(text):
    """The option lines of a help text (those starting with -x or --x),
    without their indentation, and the continuation lines that follow."""
    lines, inside = [], False
    for line in text.splitlines():
        s = line.strip()
        if re.match(r"^-(-|\w\s)", s):
            inside = True
            lines.append(" ".join(s.split()))
        elif inside and s and line.startswith(" " * 12):
            lines.append(" ".join(s.split()))
        else:
            inside = False
    return lines


class Help(unittest.TestCase):
    def top_level(self):
        r = ctl("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def listed_verbs(self, text):
        verbs = text.split("Verbs", 1)[1]
        return re.findall(r"^  ([a-z][a-z-]*)\b", verbs, re.M)

    def test_every_verb_answers_help(self):
        top = self.top_level()
        verbs = self.listed_verbs(top)
        for v in KNOWN_VERBS:
            self.assertIn(v, verbs)
        top_options = " | ".join(option_lines(top.split("Verbs", 1)[1]))
        for v in verbs:
            for flag in ("--help", "-h"):
                r = ctl(v, flag)
                self.assertEqual(r.returncode, 0, "%s %s: %s" % (v, flag, r.stderr))
                self.assertEqual(r.stderr, "", "%s %s" % (v, flag))
                self.assertRegex(r.stdout, r"^(Usage: )?appwatchctl %s " % re.escape(v))
                self.assertIn("--help", r.stdout)
            # Whatever the verb's own help offers, the top-level help lists.
            for opt in option_lines(r.stdout):
                if opt.startswith("-h --help"):
                    continue
                self.assertIn(opt, top_options, "%s --help has an option the top-level "
                              "help does not list" % v)

    def test_incidents_help_names_the_limit(self):
        r = ctl("incidents", "--help")
        self.assertIn("--limit=N", r.stdout)
        self.assertIn("default: 1000", r.stdout)
        self.assertIn("--limit=N", self.top_level())

    def test_unknown_option_is_a_usage_error(self):
        r = ctl("incidents", "--bogus")
        self.assertEqual(r.returncode, 2)
        self.assertIn("unrecognized option", r.stderr)


def watch_config(logdir):
    return ("[Journal]\nEnabled=no\n[Service]\nWorkers=2\n[Watch.shop]\nPath=%s\nApp=shop\n"
            % logdir)


class TruncatedList(unittest.TestCase):
    """More incidents than the default limit of 1000."""

    N = 1003

    @classmethod
    def setUpClass(cls):
        # One daemon and its incidents for every test of the class.
        cls.case = unittest.TestCase()
        cls.tmp = tempfile.mkdtemp(prefix="appwatch-ctl.")
        logdir = os.path.join(cls.tmp, "logs")
        os.makedirs(logdir)
        cls.d = Daemon(cls.case, watch_config(logdir))
        cls.d.start()
        # Distinct failures (letters only: digits are folded by fingerprints).
        rng = random.Random(11)
        words = set()
        while len(words) < cls.N:
            words.add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10)))
        with open(os.path.join(logdir, "app.log"), "w") as f:
            for w in sorted(words):
                f.write("ERROR: failure %s\nnext\n" % w)
        cls.d.wait_incidents(lambda l: len(l) >= cls.N, timeout=60,
                             what="%d incidents" % cls.N, args=("--limit", "5000"))

    @classmethod
    def tearDownClass(cls):
        cls.case.doCleanups()
        shutil.rmtree(cls.tmp, True)

    def test_default_limit_says_so(self):
        r = self.d.ctl("incidents")
        rows = r.stdout.splitlines()
        self.assertTrue(rows[0].startswith("ID "), rows[0])
        self.assertEqual(len(rows), 1 + 1000)
        self.assertIn("stops at 1000 incidents", r.stderr)
        self.assertIn("--limit=N", r.stderr)

    def test_json_says_so_on_stderr(self):
        r = self.d.ctl("incidents", "--json")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 1000)
        self.assertTrue(all("title" in json.loads(l) for l in lines))
        self.assertEqual(json.loads(r.stderr), {"truncated": True, "limit": 1000})

    def test_explicit_limit(self):
        r = self.d.ctl("incidents", "--limit", "3")
        self.assertEqual(len(r.stdout.splitlines()), 1 + 3)
        self.assertIn("stops at 3 incidents", r.stderr)
        # Exactly as many as there are: nothing was cut, nothing said.
        r = self.d.ctl("incidents", "--json", "--limit", str(self.N))
        self.assertEqual(len(r.stdout.splitlines()), self.N)
        self.assertEqual(r.stderr, "")

    def test_daemon_reply_carries_the_flag(self):
        r = self.d.call("incidents", {"limit": 2})
        self.assertTrue(r["ok"], r)
        self.assertEqual(len(r["data"]["incidents"]), 2)
        self.assertIs(r["data"]["truncated"], True)
        self.assertEqual(r["data"]["limit"], 2)
        r = self.d.call("incidents", {"limit": self.N + 1})
        self.assertEqual(len(r["data"]["incidents"]), self.N)
        self.assertIs(r["data"]["truncated"], False)
        r = self.d.call("incidents", {"app": "nobody"})
        self.assertEqual(r["data"], {"incidents": [], "truncated": False, "limit": 1000})


if __name__ == "__main__":
    unittest.main(verbosity=2)
