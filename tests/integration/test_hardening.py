#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of appwatchd against input that others control (issue
"Hardening"): names that are not UTF-8, and more. Each test ends with the
daemon alive and answering, and every failure counted exactly once."""

import json
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import Daemon, wait_until  # noqa: E402


def watch_config(logdir, extra=""):
    return ("[Journal]\nEnabled=no\n[Service]\nWorkers=2\n[Watch.shop]\nPath=%s\nApp=shop\n%s"
            % (logdir, extra))


class Hardening(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="appwatch-hard.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.logdir = os.path.join(self.tmp, "logs")
        os.makedirs(self.logdir)

    def assert_alive(self, d):
        t0 = time.monotonic()
        st = json.loads(d.ctl("status", "--json", timeout=5).stdout)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertIsNone(d.proc.poll())
        return st

    def test_file_name_not_utf8(self):
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        bad = os.path.join(self.logdir.encode(), b"bad\xff.log")
        # The last line written: its block stays open over a commit, so its
        # stream is saved as a pending block (that used to kill the daemon).
        with open(bad, "ab") as f:
            f.write(b"ERROR: x\n")
        inc = d.wait_incidents(lambda l: [i for i in l if i["title"] == "ERROR: x"],
                               what="the failure in the badly named file")
        self.assert_alive(d)
        show = json.loads(d.ctl("show", "--json", str(inc[0]["id"])).stdout)
        self.assertIn("bad\\xff.log", show["occurrences"][0]["source"])
        # More lines, and a restart that restores the pending block.
        with open(bad, "ab") as f:
            f.write(b"ERROR: y\nTraceback (most recent call last):\n")
        time.sleep(0.5)
        d.kill()
        d.start()
        self.assert_alive(d)
        with open(bad, "ab") as f:
            f.write(b"ValueError: z\n")
        d.wait_incidents(lambda l: [i for i in l if "ValueError: z" in i["excerpt"]],
                         what="the traceback split by the restart")
        counts = {i["title"]: i["count"] for i in d.incidents()}
        self.assertEqual(counts["ERROR: x"], 1)
        self.assertEqual(counts["ERROR: y"], 1)
        self.assert_alive(d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
