#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: what the Gemini analysis costs, against the loopback fake
Gemini (tests/lib/fake_gemini.py, in this process) with a fixed delay.

  latency  N distinct failures submitted one by one. For each: from the
           submit call's return (the incident is committed) to the moment
           the analysis is in the database (polled every 2 ms, read-only),
           less the fake's fixed delay: what appwatch adds on top of the
           AI's own time. Also shown: from the submit's return to the
           request reaching the fake (queueing, redaction, the body, the
           connection), and appwatch's own measure of the call
           (ai_calls.latency_usec) less the delay (HTTP round trip).
  storm    10,000 repeats of one failure (10 submissions of 1,000 lines),
           then R resolve/regression cycles: the calls the fake received.

Usage: tests/bench/gemini.py [BUILD_DIR] [--n N] [--delay S] [--regressions R]
Prints a table; asserts nothing."""

import argparse
import json
import os
import sqlite3
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from benchlib import awtest_for, pct  # noqa: E402

GOOD = {"category": "python_missing_package", "cause": "The module is not installed.",
        "fix_summary": "Installs the missing distribution.", "fix_id": "pip_install",
        "confidence": 0.9, "details": "pip install into the app's interpreter."}
TRACEBACK = ("Traceback (most recent call last):\n"
             "  File \"/srv/tool/main.py\", line 3, in <module>\n"
             "    import {mod}\n"
             "ModuleNotFoundError: No module named '{mod}'\n")




def row(name, values):
    ms = [x * 1000.0 for x in values]
    print("%-44s %8.2f %8.2f %8.2f %8.2f" % (name, pct(ms, 50), pct(ms, 90), pct(ms, 99), max(ms)))


def daemon(awtest, fakes, tc, gemini):
    conf = "[Journal]\nEnabled=no\n[Gemini]\nEndpoint=%s\nMaxCallsPerHour=100000\nDailyBudget=1000000\n" % gemini.url
    d = awtest.Daemon(tc, conf, env={"GEMINI_API_KEY": gemini.api_key})
    d.start()
    return d


def run_latency(awtest, fakes, n, delay):
    tc = unittest.TestCase()
    g = fakes.FakeGemini().start()
    tc.addCleanup(g.stop)
    g.answer_fn = lambda prompt, req: {"json": GOOD}
    if delay > 0:
        g.fail_always("delay", seconds=delay)
    d = daemon(awtest, fakes, tc, g)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(d.state_dir, "appwatch.db"), uri=True)
    total, to_request, http_extra = [], [], []
    for i in range(n):
        mod = "bench%d_%d" % (i, os.getpid())
        before = len(g.requests)
        p = d.ctl("submit", "--app", "shop", "--exit-code", "1", input=TRACEBACK.format(mod=mod))
        t_sub = time.time()
        assert p.returncode == 0, p.stderr
        while True:
            r = db.execute("SELECT analysis_source FROM incidents WHERE title LIKE ?",
                           ("%" + mod + "%",)).fetchone()
            if r and r[0]:
                break
            time.sleep(0.002)
        t_done = time.time()
        assert r[0] == "gemini", r
        total.append(t_done - t_sub - delay)
        req = g.requests[before]
        to_request.append(req.time - t_sub)
        lat = db.execute("SELECT latency_usec FROM ai_calls ORDER BY id DESC LIMIT 1").fetchone()[0]
        http_extra.append(lat / 1e6 - delay)
    db.close()
    calls = len(g.requests_to("POST", "/v1beta/models/"))
    print("latency: %d analyses, fake delay %.0f ms, %d calls" % (n, delay * 1000, calls))
    print("%-44s %8s %8s %8s %8s" % ("ms", "p50", "p90", "p99", "max"))
    row("added: submit return -> analysis stored - delay", total)
    row("  submit return -> request at the fake", to_request)
    row("  ai_calls.latency_usec - delay", http_extra)
    d.stop()
    tc.doCleanups()


def run_storm(awtest, fakes, regressions):
    tc = unittest.TestCase()
    g = fakes.FakeGemini().start()
    tc.addCleanup(g.stop)
    g.answer_fn = lambda prompt, req: {"json": GOOD}
    d = daemon(awtest, fakes, tc, g)
    text = "ModuleNotFoundError: No module named 'stormmod'\n" * 1000
    t0 = time.monotonic()
    for _ in range(10):
        d.ctl("submit", "--app", "shop", "--exit-code", "1", input=text)
    awtest.wait_until(lambda: d.incidents() and d.incidents()[0]["count"] == 10000, timeout=120,
                      what="10000 sightings")
    iid = d.incidents()[0]["id"]
    awtest.wait_until(lambda: "analysed (gemini)" in d.logtext(), what="the analysis")
    t1 = time.monotonic()
    calls_storm = len(g.requests_to("POST", "/v1beta/models/"))
    for i in range(regressions):
        d.ctl("resolve", str(iid))
        d.ctl("submit", "--app", "shop", "--exit-code", "1", input=text[:48])
    awtest.wait_until(lambda: d.logtext().count("analysed (gemini)") == regressions + 1, timeout=120,
                      what="every regression analysed")
    calls = len(g.requests_to("POST", "/v1beta/models/"))
    print("storm: 10000 repeats of one failure in %.2f s: %d incident(s), %d AI call(s); "
          "then %d regressions: %d AI call(s) in all" % (t1 - t0, len(d.incidents()), calls_storm,
                                                           regressions, calls))
    d.stop()
    tc.doCleanups()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--n", type=int, default=100, help="analyses for the latency run")
    ap.add_argument("--delay", type=float, default=0.2, help="the fake's fixed delay, seconds")
    ap.add_argument("--regressions", type=int, default=20)
    a = ap.parse_args()
    awtest = awtest_for(a.build)
    import fakes

    run_latency(awtest, fakes, a.n, a.delay)
    run_storm(awtest, fakes, a.regressions)


if __name__ == "__main__":
    main()
