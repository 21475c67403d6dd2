#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: how long a flood of lines that a rule is slow on keeps
appwatchd's loop from serving anything else.

A local rule (default `(a+)+$`, which backtracks catastrophically and ends
at PCRE2's match limit on "aaa...b") is put in rules.d next to the
configuration, the daemon runs with WATCHDOG_USEC, and --lines such lines
are written at once to a watched file. Meanwhile `status` is asked over and
over on the control socket and the WATCHDOG=1 messages are timed. Prints
the longest gap between two answered status calls and between two
WATCHDOG=1 during the flood, the slowest status call, the time to read the
flood, and the rules the daemon disabled. Asserts nothing.

Usage: tests/bench/loop-stall.py [BUILD_DIR] [--lines N] [--pattern RE]
                                 [--line TEXT] [--every N] [--watchdog-usec N]"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from benchlib import awtest_for  # noqa: E402


def longest_gap(times):
    return max((b - a for a, b in zip(times, times[1:])), default=0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--lines", type=int, default=40000)
    ap.add_argument("--pattern", default="(a+)+$")
    ap.add_argument("--line", default="a" * 37 + "b")
    ap.add_argument("--every", type=int, default=1,
                    help="only every Nth line is --line, the others are plain; one in 17 stays "
                         "under the rule's match budget, so only the loop's bound helps")
    ap.add_argument("--watchdog-usec", type=int, default=2000000)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    awtest = awtest_for(a.build)

    tc = unittest.TestCase()
    logdir = tempfile.mkdtemp(prefix="appwatch-stall.")
    tc.addCleanup(shutil.rmtree, logdir, True)
    try:
        run(a, awtest, tc, logdir)
    finally:
        tc.doCleanups()    # the daemon is killed even when a step failed


def run(a, awtest, tc, logdir):
    d = awtest.Daemon(tc, "[Journal]\nEnabled=no\n[Service]\nWorkers=2\n"
                      "[Watch.flood]\nPath=%s\nApp=flood\n" % logdir,
                      watchdog_usec=a.watchdog_usec)
    os.makedirs(os.path.join(d.dir, "rules.d"))
    with open(os.path.join(d.dir, "rules.d", "50-slow.rules"), "w") as f:
        f.write("[Rule.slow]\nPattern=%s\nCategory=network\nPriority=90\n" % a.pattern)
    d.start()
    tc.addCleanup(d.kill)
    lines0 = d.call("status")["data"]["counts"]["lines"]
    stop = threading.Event()
    answered, calls, pings = [], [], []

    def watchdog():
        while not stop.is_set():
            try:
                d.notify.wait_for(lambda f: f.get("WATCHDOG") == "1", timeout=0.5)
            except AssertionError:
                continue
            pings.append(time.monotonic())

    def status():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                reply = d.call("status", timeout=a.timeout)
            except (OSError, ValueError):
                reply = {}
            t1 = time.monotonic()
            calls.append(t1 - t0)
            if "data" in reply:
                answered.append((t1, reply["data"]))
            time.sleep(0.02)

    threads = [threading.Thread(target=watchdog, daemon=True),
               threading.Thread(target=status, daemon=True)]
    for t in threads:
        t.start()
    time.sleep(1)
    t0 = time.monotonic()
    with open(os.path.join(logdir, "flood.log"), "w") as f:
        block = [a.line] + ["plain line %d" % i for i in range(1, a.every)]
        f.write("".join(block[i % a.every] + "\n" for i in range(a.lines)))
    awtest.wait_until(lambda: answered and answered[-1][1]["counts"]["lines"] >= lines0 + a.lines,
                      timeout=a.timeout, interval=0.05, what="the flood read")
    t1 = time.monotonic()
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(a.timeout)
    during = [t for t, _ in answered if t >= t0]
    pings_during = [t for t in pings if t >= t0 - 1]
    disabled = answered[-1][1].get("rules_disabled", "(not reported)")
    print("flood of %d lines read in %.3f s" % (a.lines, t1 - t0))
    print("status: %d answers, slowest call %.3f s, longest gap between answers %.3f s"
          % (len(during), max(calls), longest_gap([t0] + during)))
    print("watchdog: %d WATCHDOG=1 (WATCHDOG_USEC=%d), longest gap %.3f s"
          % (len(pings_during), a.watchdog_usec, longest_gap(pings_during)))
    print("rules disabled: %s" % json.dumps(disabled))


if __name__ == "__main__":
    main()
