#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: appwatchd's start-up and idle cost.

Measures, on the embedded default configuration:
  - time from exec to READY=1 (median and max of N starts),
  - resident memory (VmRSS) once ready,
  - wake-ups in IDLE seconds of idleness (voluntary context switches of the
    daemon's threads), with and without a systemd watchdog (WatchdogSec=30s).
Usage: tests/bench/daemon-idle.py [BUILD_DIR] [--starts N] [--idle SECONDS]
Prints figures; asserts nothing about them."""

import argparse
import os
import statistics
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from benchlib import awtest_for  # noqa: E402






def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--idle", type=int, default=60)
    a = ap.parse_args()
    global awtest
    awtest = awtest_for(a.build)

    tc = unittest.TestCase()
    times = []
    rss = []
    for _ in range(a.starts):
        d = awtest.Daemon(tc, "")
        t0 = time.monotonic()
        d.start()
        times.append((time.monotonic() - t0) * 1000)
        rss.append(awtest.proc_rss_kib(d.proc.pid))
        d.stop()
        d.kill()
    print("start to READY=1: median %.1f ms, max %.1f ms over %d starts"
          % (statistics.median(times), max(times), a.starts))
    print("VmRSS once ready: median %d KiB" % statistics.median(rss))

    for label, wd in (("no watchdog", None), ("WatchdogSec=30s", 30_000_000)):
        d = awtest.Daemon(tc, "", watchdog_usec=wd)
        d.start()
        time.sleep(1)
        before = awtest.proc_wakeups(d.proc.pid)
        time.sleep(a.idle)
        after = awtest.proc_wakeups(d.proc.pid)
        print("wake-ups in %d idle seconds (%s): %d; VmRSS %d KiB"
              % (a.idle, label, after - before, awtest.proc_rss_kib(d.proc.pid)))
        d.stop()
        d.kill()
    tc.doCleanups()


if __name__ == "__main__":
    main()
