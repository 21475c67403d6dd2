#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark: appwatchd's ingestion, end to end through the real daemon.

  1. file ingest: a generated build log (gen-log.py) copied at once into a
     watched directory; lines/s and MB/s until every line is committed, and
     the daemon's peak RSS meanwhile (sampled from /proc);
  2. journal ingest: the same lines as a journal file (systemd-journal-remote)
     read through [Journal] Directory=; lines/s;
  3. latency from an appended failure line to its committed occurrence, read
     straight from the database: p50/p99, for a failure followed by more
     output, and for a lone last line (bounded by the idle timeout);
  4. idle: wake-ups (voluntary context switches) in IDLE seconds with a
     watch and a journal directory configured, and RSS.
Prints figures; asserts nothing.
usage: tests/bench/ingest.py [BUILD_DIR] [--size-mb N] [--idle S] [--samples N]
                             [--parts file,journal,latency,idle]
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "lib"))






def status(d):
    return json.loads(d.ctl("status", "--json").stdout)


def wait_lines(d, n, key):
    peak = 0
    t0 = time.monotonic()
    while True:
        peak = max(peak, awtest.proc_rss_kib(d.proc.pid))
        wait_lines.peak_anon = max(getattr(wait_lines, "peak_anon", 0),
                                   awtest.proc_rss_kib(d.proc.pid, "RssAnon"))
        st = status(d)
        if key(st) >= n:
            return time.monotonic() - t0, peak, st
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build", nargs="?", default="build")
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--idle", type=int, default=60)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--parts", default="file,journal,latency,idle",
                    help="comma-separated subset of file,journal,latency,idle")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    os.environ["APPWATCHD"] = os.path.join(build, "appwatchd")
    os.environ["APPWATCHCTL"] = os.path.join(build, "appwatchctl")
    global awtest
    import awtest

    tc = unittest.TestCase()
    tmp = tempfile.mkdtemp(prefix="appwatch-bench.")
    try:
        log = os.path.join(tmp, "build.log")
        subprocess.run([sys.executable, os.path.join(here, "gen-log.py"), log, "--size-mb",
                        str(a.size_mb)], check=True)
        with open(log, "rb") as f:
            n_lines = sum(1 for _ in f)
        mb = os.path.getsize(log) / 1e6

        parts = a.parts.split(",")
        logdir = os.path.join(tmp, "logs")
        jdir = os.path.join(tmp, "journal")
        jlines = min(n_lines, 200000)

        # 1. File ingest.
        if "file" in parts:
            file_ingest(tc, log, logdir, n_lines, mb)

        # 2. Journal ingest (a sample: journal-remote is slow to write big files).
        if "journal" in parts or "idle" in parts:
            make_journal(log, tmp, jdir, jlines)
        if "journal" in parts:
            journal_ingest(tc, jdir, jlines)

        # 3. Latency, appended line -> committed occurrence.
        if "latency" in parts:
            latency(tc, tmp, a.samples)

        # 4. Idle.
        if "idle" in parts:
            idle(tc, jdir, jlines, logdir, a.idle)
    finally:
        tc.doCleanups()
        shutil.rmtree(tmp, True)


def file_ingest(tc, log, logdir, n_lines, mb):
    os.makedirs(logdir, exist_ok=True)
    d = awtest.Daemon(tc, "[Journal]\nEnabled=no\n[Watch.bench]\nPath=%s\n" % logdir)
    d.start()
    base = awtest.proc_rss_kib(d.proc.pid)
    t0 = time.monotonic()
    shutil.copy(log, os.path.join(logdir, "build.log"))
    secs, peak, st = wait_lines(d, n_lines, lambda s: s["counts"]["lines"])
    secs = time.monotonic() - t0
    print("file ingest: %d lines, %.1f MB in %.2f s: %.0f lines/s, %.1f MB/s; "
          "%d incidents from %d findings; RSS %d KiB idle, peak %d KiB (anonymous peak %d KiB)"
          % (n_lines, mb, secs, n_lines / secs, mb / secs, st["counts"]["incidents_total"],
             st["counts"]["findings"], base, peak, wait_lines.peak_anon))
    d.stop()
    d.kill()


def make_journal(log, tmp, jdir, jlines):
    """The first jlines lines of the log as a journal file (journal-remote)."""
    os.makedirs(jdir, exist_ok=True)
    t = int(time.time() * 1e6)
    export = os.path.join(tmp, "in.export")
    with open(log, "rb") as f, open(export, "wb") as out:
        for i, line in enumerate(f):
            if i >= jlines:
                break
            out.write(b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
                      b"_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=bench\n"
                      b"_SYSTEMD_UNIT=build.service\nPRIORITY=6\nMESSAGE=" % (t + i, t + i))
            out.write(line.rstrip(b"\n") + b"\n\n")
    with open(export, "rb") as f:
        subprocess.run(["/lib/systemd/systemd-journal-remote", "-o",
                        os.path.join(jdir, "bench.journal"), "-"], stdin=f, check=True,
                       capture_output=True)


def journal_ingest(tc, jdir, jlines):
    d = awtest.Daemon(tc, "[Journal]\nDirectory=%s\nUnits=build.service\n" % jdir)
    t0 = time.monotonic()
    d.start()
    secs, peak, st = wait_lines(d, jlines, lambda s: s["ingest"]["journal_reader"]["lines"])
    secs = time.monotonic() - t0
    print("journal ingest: %d lines in %.2f s: %.0f lines/s; peak RSS %d KiB"
          % (jlines, secs, jlines / secs, peak))
    d.stop()
    d.kill()


def latency(tc, tmp, samples):
    ldir = os.path.join(tmp, "latency")
    os.makedirs(ldir)
    d = awtest.Daemon(tc, "[Journal]\nEnabled=no\n[Watch.lat]\nPath=%s\n" % ldir)
    d.start()
    db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"), timeout=5)
    path = os.path.join(ldir, "lat.log")

    def occurrences():
        return db.execute("SELECT count(*) FROM occurrences").fetchone()[0]

    for label, follow in (("followed by more output", True), ("lone last line", False)):
        lat = []
        for _ in range(samples if follow else max(5, samples // 10)):
            before = occurrences()
            with open(path, "ab") as f:
                # Filler keeps each probe out of the previous one's echo window.
                f.write(b"".join(b"step %d ok\n" % j for j in range(30)))
                f.flush()
                time.sleep(0.01)
                t0 = time.monotonic()
                f.write(b"ERROR: latency probe failed\n" + (b"next step\n" if follow else b""))
                f.flush()
            while occurrences() == before:
                time.sleep(0.0005)
            lat.append((time.monotonic() - t0) * 1000)
        lat.sort()
        print("latency (%s): p50 %.1f ms, p99 %.1f ms over %d probes"
              % (label, statistics.median(lat), lat[max(0, int(len(lat) * 0.99) - 1)], len(lat)))
    db.close()
    d.stop()
    d.kill()


def idle(tc, jdir, jlines, logdir, seconds):
    os.makedirs(logdir, exist_ok=True)
    d = awtest.Daemon(tc, "[Journal]\nDirectory=%s\nUnits=build.service\n[Watch.idle]\nPath=%s\n"
                      % (jdir, logdir))
    d.start()
    wait_lines(d, jlines, lambda s: s["ingest"]["journal_reader"]["lines"])
    time.sleep(3)   # past the idle flush of the last block
    before = awtest.proc_wakeups(d.proc.pid)
    time.sleep(seconds)
    print("idle: %d wake-ups in %d s with a watch and a journal directory; RSS %d KiB "
          "(anonymous %d KiB; the rest is mapped journal files and libraries)"
          % (awtest.proc_wakeups(d.proc.pid) - before, seconds, awtest.proc_rss_kib(d.proc.pid),
             awtest.proc_rss_kib(d.proc.pid, "RssAnon")))
    d.stop()
    d.kill()


if __name__ == "__main__":
    main()
