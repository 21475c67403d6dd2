#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: how long the scheduled verbs take, end to end through
appwatchctl (process start, the control socket, the daemon's work):

  check    `appwatchctl check --json`, N runs (disk, sources, queues,
           outbox, stuck fixes; no Notion configured).
  health   `appwatchctl health --print --json`, N runs, with one Python app
           whose three tool probes (python --version, -m pip --version,
           -m pip check) run as children of appwatchd, with this machine's
           python3; no Gemini key, no Notion.
  report   `appwatchctl report daily --print --json` over a database of
           I incidents (a third of them last seen in the last 24 hours,
           written directly into a stopped daemon's SQLite file), N runs.

Usage: tests/bench/checks.py [BUILD_DIR] [--n N] [--incidents I]
Prints a table; asserts nothing."""

import argparse
import os
import sqlite3
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from benchlib import awtest_for, pct  # noqa: E402




def row(name, values):
    ms = [x * 1000.0 for x in values]
    print("%-52s %9.1f %9.1f %9.1f" % (name, pct(ms, 50), max(ms), min(ms)))


def timed(d, n, *args):
    out = []
    for _ in range(n):
        t = time.monotonic()
        p = d.ctl(*args, check=False)
        out.append(time.monotonic() - t)
        assert p.returncode in (0, 3), p.stdout + p.stderr
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--incidents", type=int, default=100000)
    a = ap.parse_args()
    awtest = awtest_for(a.build)

    tc = unittest.TestCase()
    print("%-52s %9s %9s %9s" % ("ms", "median", "max", "min"))

    d = awtest.Daemon(tc, "[Journal]\nEnabled=no\n")
    d.start()
    row("check", timed(d, a.n, "check", "--json"))
    d.stop()

    app = os.path.join(d.dir, "tool")
    os.makedirs(app, exist_ok=True)
    d2 = awtest.Daemon(tc, "[Journal]\nEnabled=no\n[App.tool]\nDirectory=%s\nKind=python\n"
                       "User=root\nAllowRoot=yes\nPython=/usr/bin/python3\n" % app)
    d2.start()
    row("health --print (3 tool probes, children)", timed(d2, a.n, "health", "--print", "--json"))
    d2.stop()

    d3 = awtest.Daemon(tc, "[Journal]\nEnabled=no\n")
    d3.start()
    d3.stop()
    now = int(time.time() * 1e6)
    db = sqlite3.connect(os.path.join(d3.state_dir, "appwatch.db"))
    with db:
        db.executemany(
            "INSERT INTO incidents (fingerprint, app, host, category, severity, status, count, "
            "first_seen, last_seen, title) VALUES (?, ?, 'bench', ?, ?, ?, ?, ?, ?, ?)",
            (("%032x" % i, "app%d" % (i % 50),
              ("flutter_build", "python_missing_package", "network", "disk_full")[i % 4],
              ("Low", "Medium", "High", "Critical")[i % 4],
              ("New", "Resolved", "Manual Required")[i % 3], 1 + i % 7,
              now - (i % 72) * 3600 * 10**6 - 10**6, now - (i % 72) * 3600 * 10**6, "failure %d" % i)
             for i in range(a.incidents)))
    in_window = db.execute("SELECT count(*) FROM incidents WHERE last_seen >= ?",
                           (now - 24 * 3600 * 10**6,)).fetchone()[0]
    db.close()
    d3.start()
    row("report daily --print --json (%d incidents, %d in the window)" % (a.incidents, in_window),
        timed(d3, a.n, "report", "daily", "--print", "--json"))
    d3.stop()
    for c in reversed(tc._cleanups):
        c[0](*c[1], **c[2])


if __name__ == "__main__":
    main()
