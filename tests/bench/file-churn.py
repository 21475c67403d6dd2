#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: what a churn of short-lived log files costs appwatchd.

In a watched directory, batch after batch of files is created with one
failure line each, read by the daemon, renamed away (to NAME.1, as logrotate
does) and deleted. After a warm-up round and again after the main round it
prints the daemon's VmRSS, RssAnon, its open descriptors, how many of them
are deleted files, its open files as the tailer counts them, and the
failures recorded (the incident's occurrence count).

Usage: tests/bench/file-churn.py [BUILD_DIR] [--warmup N] [--files N]
                                 [--batch N] [--rate N] [--glob] [--unique]
--glob watches Path=DIR/*.log instead of the directory, so a rename takes
the file out of the watch at once. Prints figures; asserts nothing."""

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from benchlib import awtest_for  # noqa: E402

LINE = "ERROR: churn probe failed\n"


def fds(pid):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--glob", action="store_true")
    ap.add_argument("--unique", action="store_true",
                    help="number each file's line, so no two files begin alike")
    ap.add_argument("--rate", type=float, default=0,
                    help="at most this many files a second (0: as fast as they are read)")
    a = ap.parse_args()
    awtest = awtest_for(a.build)

    tc = unittest.TestCase()
    logdir = tempfile.mkdtemp(prefix="appwatch-churn.")
    tc.addCleanup(shutil.rmtree, logdir, True)
    path = os.path.join(logdir, "*.log") if a.glob else logdir
    try:
        run(a, awtest, tc, logdir, path)
    finally:
        tc.doCleanups()    # the daemon is killed even when a step failed


def run(a, awtest, tc, logdir, path):
    d = awtest.Daemon(tc, "[Journal]\nEnabled=no\n[Service]\nWorkers=2\n"
                          "[Watch.churn]\nPath=%s\nApp=churn\n" % path)
    d.start()
    pid = d.proc.pid
    db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"), timeout=5)
    tc.addCleanup(db.close)

    def recorded():
        row = db.execute("SELECT count FROM incidents WHERE title LIKE '%churn probe%'").fetchone()
        return row[0] if row else 0

    def tailer():
        return d.call("status")["data"]["ingest"]["files"]

    state = {"made": 0, "stalls": 0}

    def churn(n):
        t0 = time.monotonic()
        end = state["made"] + n
        while state["made"] < end:
            names = []
            for _ in range(min(a.batch, end - state["made"])):
                p = os.path.join(logdir, "app-%d.log" % state["made"])
                with open(p, "w") as f:
                    f.write(LINE.replace("\n", " (file %d)\n" % state["made"])
                            if a.unique else LINE)
                names.append(p)
                state["made"] += 1
            # A file deleted before the tailer has seen it cannot be read:
            # wait until every line is in, then rotate and delete.
            # (A line that is never read, e.g. of a file skipped over the open
            # files limit, makes a stall: counted, and the batch goes on.)
            try:
                awtest.wait_until(lambda: tailer()["lines"] >= state["made"], timeout=5,
                                  interval=0.01, what="lines read")
            except AssertionError:
                state["stalls"] += 1
            for p in names:
                os.rename(p, p + ".1")
            for p in names:
                os.unlink(p + ".1")
            if a.rate > 0:
                ahead = t0 + (state["made"] - end + n) / a.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        return time.monotonic() - t0

    def settle():
        # Until no deleted file is held and every failure is recorded (or 30 s).
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:
            if recorded() >= state["made"] and not any("(deleted)" in f for f in fds(pid)):
                break
            time.sleep(0.1)
        return time.monotonic() - t0

    def figures(label, secs, waited):
        f = fds(pid)
        print("%-8s %6d files in %5.1f s (+%4.1f s settling): VmRSS %6d KiB, RssAnon %6d KiB, "
              "fds %4d (%d deleted), tailer open %d, failures recorded %d, stalls %d"
              % (label, state["made"], secs, waited, awtest.proc_rss_kib(pid),
                 awtest.proc_rss_kib(pid, "RssAnon"), len(f), sum("(deleted)" in x for x in f),
                 tailer()["open"], recorded(), state["stalls"]))
        return awtest.proc_rss_kib(pid), len(f)

    print("start    VmRSS %d KiB, fds %d" % (awtest.proc_rss_kib(pid), len(fds(pid))))
    secs = churn(a.warmup)
    rss0, fd0 = figures("warm-up", secs, settle())
    secs = churn(a.files)
    rss1, fd1 = figures("churned", secs, settle())
    print("growth over %d files: VmRSS %+d KiB (%.1f bytes a file), fds %+d"
          % (a.files, rss1 - rss0, (rss1 - rss0) * 1024.0 / max(a.files, 1), fd1 - fd0))
    d.stop()


if __name__ == "__main__":
    main()
