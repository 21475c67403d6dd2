#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: how fast appwatchd's outbox delivers to Slack and Notion.

Runs the real appwatchd against the loopback fakes of Slack and Notion
(tests/lib/fakes.py, in this process) and measures

  latency  incidents submitted one by one, with a pause: for each, the time
           from its commit to the Slack POST that carries it, and to the
           Notion POST /v1/pages that makes its page. "Commit" is the
           outbox row's `created` (written in the incident's transaction,
           CLOCK_REALTIME); the submit call's return, just after that
           commit, is shown as a second origin. The POST's time is the
           fake's `received` (time.time() when the request line arrived).
           Both clocks are the same host's realtime clock.
  drain    Slack and Notion down (connections refused), N distinct
           incidents created, both brought back (with `outbox retry --all`,
           so the backoff reached during the outage does not count): Slack
           messages/s and incidents/s, Notion requests/s and pages/s, from
           the first request after the outage to the last accepted one,
           until the outbox is empty. Run with GroupWindowSec as configured
           by default (5s) and with GroupWindowSec=0.

Usage: tests/bench/delivery.py [BUILD_DIR] [--latency N] [--pause S]
                               [--backlog N] [--only latency|drain|drain0]
Prints a table; asserts nothing."""

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from benchlib import awtest_for, pct  # noqa: E402




def ms(x):
    return "%.1f" % (x * 1000.0)


class Bench:
    def __init__(self, awtest, fakes, group_window=None, slack=True, notion=True):
        self.tc = unittest.TestCase()
        self.slack = fakes.FakeSlack().start()
        self.tc.addCleanup(self.slack.stop)
        self.notion = fakes.FakeNotion().start()
        self.tc.addCleanup(self.notion.stop)
        env = {}
        if slack:
            env["SLACK_WEBHOOK_URL"] = self.slack.webhook_url
        if notion:
            env.update(NOTION_API_TOKEN=self.notion.token, NOTION_DATABASE_ID=self.notion.database_id)
        conf = ("[Journal]\nEnabled=no\n[Notion]\nEndpoint=%s\nFingerprintProperty=Fingerprint\n"
                % self.notion.url)
        if group_window is not None:
            conf += "[Slack]\nGroupWindowSec=%s\n" % group_window
        self.d = awtest.Daemon(self.tc, conf, env=env)
        self.awtest = awtest

    def start(self):
        self.d.start()
        self.db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.d.state_dir, "appwatch.db"),
                                  uri=True, timeout=10)
        self.tc.addCleanup(self.db.close)

    def close(self):
        self.tc.doCleanups()

    def submit(self, app, text):
        t0 = time.time()
        reply = self.d.call("submit", {"app": app, "exit_code": 1, "output": text,
                                       "origin": "submit"}, timeout=30)
        t1 = time.time()
        if not reply.get("ok", True) or "data" not in reply:
            raise RuntimeError("submit failed: %s" % reply)
        return reply["data"]["incidents"], t0, t1

    def rows(self, sink):
        """{incident id: created (s)} of the sink's outbox rows for new incidents."""
        out = {}
        for target, created, payload in self.db.execute(
                "SELECT target, created, payload FROM outbox WHERE kind = ?", (sink,)):
            if json.loads(payload).get("kind") == "new":
                out[int(target)] = created / 1e6
        return out

    def pending(self, sink=None):
        q = "SELECT count(*) FROM outbox WHERE state = 'pending'"
        args = ()
        if sink:
            q += " AND kind = ?"
            args = (sink,)
        return self.db.execute(q, args).fetchone()[0]


def probe(i):
    return "ERROR: bench probe %05d failed: connection to db%05d.internal refused\n" % (i, i)


def run_latency(awtest, fakes, n, pause):
    b = Bench(awtest, fakes)
    try:
        b.start()
        submitted = {}
        for i in range(n):
            ids, _, t1 = b.submit("lat%05d" % i, probe(i))
            submitted[ids[0]] = (i, t1)
            time.sleep(pause)
        awtest.wait_until(lambda: b.pending() == 0, timeout=120, what="everything delivered")
        created = b.rows("slack")
        ncreated = b.rows("notion")
        slack_at = {}
        for r in b.slack.requests:
            if r.method == "POST" and r.status == 200 and r.json:
                s = json.dumps(r.json)
                for inc, (i, _) in submitted.items():
                    if "bench probe %05d" % i in s and inc not in slack_at:
                        slack_at[inc] = r.time
        notion_at = {}
        for r in b.notion.requests:
            if r.method == "POST" and r.path == "/v1/pages" and r.status == 200 and r.json:
                s = json.dumps(r.json)
                for inc, (i, _) in submitted.items():
                    if "lat%05d" % i in s and inc not in notion_at:
                        notion_at[inc] = r.time
        res = {
            "slack, row created -> POST": [slack_at[k] - created[k] for k in slack_at],
            "slack, submit returned -> POST": [slack_at[k] - submitted[k][1] for k in slack_at],
            "notion, row created -> POST /v1/pages": [notion_at[k] - ncreated[k] for k in notion_at],
        }
        print("\nlatency: %d incidents, one every %.2f s (+ the submit), GroupWindowSec default"
              % (n, pause))
        print("%-40s %5s %9s %9s %9s %9s" % ("", "n", "p50 ms", "p99 ms", "min ms", "max ms"))
        for k, v in res.items():
            if v:
                print("%-40s %5d %9s %9s %9s %9s" % (k, len(v), ms(pct(v, 50)), ms(pct(v, 99)),
                                                     ms(min(v)), ms(max(v))))
        missing = n - len(slack_at)
        if missing:
            print("(%d incidents never matched a Slack POST)" % missing)
    finally:
        b.close()


def rate(times):
    if len(times) < 2:
        return float("nan"), 0.0
    span = max(times) - min(times)
    return ((len(times) - 1) / span if span > 0 else float("inf")), span


def run_drain(awtest, fakes, n, group_window, notion=True):
    b = Bench(awtest, fakes, group_window=group_window, notion=notion)
    try:
        b.slack.outage("refuse")
        b.notion.outage("refuse")
        b.start()
        t0 = time.time()
        for i in range(n):
            b.submit("drain%05d" % i, probe(i))
        t_created = time.time() - t0
        awtest.wait_until(lambda: b.pending("slack") == n, timeout=60, what="the backlog written")
        b.slack.reset()
        b.notion.reset()           # ends the outages, forgets the failed attempts
        t_back = time.time()
        b.d.ctl("outbox", "retry", "--all")
        awtest.wait_until(lambda: b.pending() == 0, timeout=4 * 3600, interval=0.5,
                          what="the outbox empty")
        t_empty = time.time()
        label = "GroupWindowSec=%s" % (group_window if group_window is not None else "5s (default)")
        posts = [r for r in b.slack.requests if r.method == "POST"]
        ok = [r for r in posts if r.status == 200]
        srate, sspan = rate([r.time for r in ok])
        print("\ndrain: %d incidents (written in %.1f s while both were down), %s"
              % (n, t_created, label))
        print("  Slack : %d POSTs (%d answered 200, %d 429) carrying %d incidents in %.1f s: "
              "%.2f messages/s, %.1f incidents/s; max in any 1 s window: %d"
              % (len(posts), len(ok), sum(1 for r in posts if r.status == 429),
                 n, sspan, srate, n / sspan if sspan else float("nan"),
                 fakes.FakeSlack.max_in_window(posts, 1.0)))
        if notion:
            nreqs = [r for r in b.notion.requests]
            pages = [r for r in nreqs if r.method == "POST" and r.path == "/v1/pages"
                     and r.status == 200]
            nrate, nspan = rate([r.time for r in nreqs])
            print("  Notion: %d requests (%d 429) in %.1f s: %.2f requests/s, %.2f pages/s; "
                  "max in any 1 s window: %d; pages: %d"
                  % (len(nreqs), sum(1 for r in nreqs if r.status == 429), nspan, nrate,
                     len(pages) / nspan if nspan else float("nan"),
                     fakes.FakeNotion.max_in_window(nreqs, 1.0), len(b.notion.pages_in())))
        print("  outbox empty %.1f s after both came back" % (t_empty - t_back))
    finally:
        b.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--latency", type=int, default=100, help="incidents for the latency run")
    ap.add_argument("--pause", type=float, default=1.2,
                    help="seconds between two latency submissions (Slack takes 1 a second)")
    ap.add_argument("--backlog", type=int, default=1000, help="incidents in the drain runs")
    ap.add_argument("--only", choices=["latency", "drain", "drain0"], action="append",
                    help="run only these parts (repeatable); drain0 is GroupWindowSec=0, Slack only")
    a = ap.parse_args()
    awtest = awtest_for(a.build)
    import fakes

    parts = a.only or ["latency", "drain", "drain0"]
    if "latency" in parts:
        run_latency(awtest, fakes, a.latency, a.pause)
    if "drain" in parts:
        run_drain(awtest, fakes, a.backlog, None)
    if "drain0" in parts:
        # Notion does not depend on grouping: measured in the run above.
        run_drain(awtest, fakes, a.backlog, 0, notion=False)


if __name__ == "__main__":
    main()
