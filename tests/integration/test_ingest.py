#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of ingestion and incidents with the real appwatchd:
watched log directories (appends, rotation, copytruncate, huge and binary
lines, restarts), journal files made by systemd-journal-remote, wrapped
builds and submissions (with the spool when the daemon is down), the
incident lifecycle through appwatchctl, floods, backpressure, and a crash
test that SIGKILLs the daemon while failures stream in."""

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import APPWATCHCTL, APPWATCHD, Daemon, proc_rss_kib, wait_until  # noqa: E402

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"

TRACEBACK = ("Traceback (most recent call last):\n"
             "  File \"/srv/tool/main.py\", line 3, in <module>\n"
             "    import {mod}\n"
             "ModuleNotFoundError: No module named '{mod}'\n")


def by_title(incidents, needle):
    return [i for i in incidents if needle in i["title"] or needle in i.get("excerpt", "")]


def watch_config(logdir, extra=""):
    return ("[Journal]\nEnabled=no\n[Service]\nWorkers=2\n[Watch.shop]\nPath=%s\nApp=shop\n%s"
            % (logdir, extra))


class WatchedFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="appwatch-logs.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.logdir = os.path.join(self.tmp, "logs")
        os.makedirs(self.logdir)
        self.log = os.path.join(self.logdir, "build.log")

    def write(self, text, path=None, mode="a"):
        with open(path or self.log, mode + "b") as f:
            f.write(text.encode() if isinstance(text, str) else text)

    def test_append_rotate_copytruncate(self):
        # Present before the watch ever ran: old news, not read.
        self.write("ERROR: stale failure from last week\n")
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        self.write("ERROR: gradle daemon crashed\n")
        d.wait_incidents(lambda l: by_title(l, "gradle daemon crashed"), what="first line")
        # logrotate "create": rename, then a new file under the old name.
        os.rename(self.log, self.log + ".1")
        self.write("ERROR: gradle daemon crashed\n")
        self.write("ERROR: gradle daemon crashed\n", path=self.log + ".1")  # late writer
        # copytruncate: copy aside, truncate in place, append again.
        time.sleep(0.3)
        shutil.copy(self.log, self.log + ".2")
        os.truncate(self.log, 0)
        # A writer appends after the truncation is seen; a file truncated and
        # refilled to its old size before the tailer looks cannot be told
        # from an untouched one while running (only restore checks markers).
        time.sleep(0.5)
        self.write("ERROR: gradle daemon crashed\n")
        inc = d.wait_incidents(lambda l: by_title(l, "gradle daemon crashed")
                               and by_title(l, "gradle daemon crashed")[0]["count"] >= 4,
                               what="4 sightings")
        time.sleep(1.0)
        inc = by_title(d.incidents(), "gradle daemon crashed")
        self.assertEqual(len(inc), 1)
        # .2, copytruncate's copy, is a rotated name: not read again.
        self.assertEqual(inc[0]["count"], 4, inc)
        self.assertEqual(inc[0]["app"], "shop")
        self.assertEqual(inc[0]["origin"], "file")
        self.assertFalse(by_title(d.incidents(), "stale failure"))

    def test_committed_without_more_output(self):
        # Each failure is on disk without waiting for any later event (a
        # batch left open until the next write was a bug).
        # Read from the database itself: a control request would make the
        # daemon commit and hide the bug.
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"), timeout=5)
        self.addCleanup(db.close)

        def count():
            row = db.execute("SELECT count FROM incidents WHERE title LIKE '%probe failed%'").fetchone()
            return row[0] if row else 0
        for k in range(1, 4):
            self.write("".join("step %d ok\n" % j for j in range(30)))
            time.sleep(0.05)
            self.write("ERROR: probe failed\nnext step\n")
            wait_until(lambda: count() == k, timeout=10, what="probe %d committed" % k)

    def test_status_line_follows_incidents(self):
        # STATUS= is recomputed after commits, with no control request.
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        self.write("ERROR: status probe\nnext\n")
        d.notify.wait_for(lambda f: "1 incident today" in f.get("STATUS", ""), timeout=10)

    def test_multiline_traceback_is_one_incident(self):
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        self.write("starting tool\n" + TRACEBACK.format(mod="yaml") + "tool exited\n")
        inc = d.wait_incidents(lambda l: len(l) >= 1, what="traceback")
        time.sleep(2.5)   # past the idle timeout: nothing else may appear
        inc = d.incidents()
        self.assertEqual(len(inc), 1, inc)
        self.assertEqual(inc[0]["category"], "python_missing_package")
        self.assertEqual(inc[0]["fix"], "pip_install:PyYAML")
        self.assertIn("import yaml", inc[0]["excerpt"])
        self.assertNotIn("tool exited", inc[0]["excerpt"])
        full = json.loads(d.ctl("show", "--json", str(inc[0]["id"])).stdout)
        wait_until(lambda: json.loads(d.ctl("show", "--json", str(inc[0]["id"])).stdout)
                   .get("analysis"), what="analysis")
        self.assertEqual(full["occurrences"][0]["source"], self.log)

    def test_long_binary_and_invalid_utf8_lines(self):
        d = Daemon(self, watch_config(self.logdir, "[Service]\nMaxLineBytes=1K\n"))
        d.start()
        self.write(b"ERROR: huge line " + b"x" * 200000 + b"\n")
        self.write(b"\x00\x01\x02\xff\xfe binary junk \x00\n")
        self.write(b"ERROR: bad bytes \xff\xfe\xc3 in name\n")
        self.write(b"ERROR: after the junk\n")
        inc = d.wait_incidents(lambda l: by_title(l, "after the junk"), what="after junk")
        huge = by_title(inc, "huge line")
        self.assertEqual(len(huge), 1)
        self.assertLess(len(huge[0]["excerpt"]), 8000)
        self.assertIn("appwatch: line cut", huge[0]["excerpt"])
        bad = by_title(inc, "bad bytes")
        self.assertEqual(len(bad), 1)
        bad[0]["title"].encode("utf-8")   # valid UTF-8 whatever came in
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual(st["ingest"]["files"]["truncated_lines"], 1)

    def test_restart_reads_what_was_written_while_down(self):
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        self.write("ERROR: pub get failed\n")
        d.wait_incidents(lambda l: by_title(l, "pub get failed"))
        self.assertEqual(d.stop(), 0)
        self.write("ERROR: pub get failed\n")
        self.write("ERROR: pub get failed\n", path=os.path.join(self.logdir, "new.log"))
        d.start()
        inc = d.wait_incidents(lambda l: by_title(l, "pub get failed")
                               and by_title(l, "pub get failed")[0]["count"] >= 3)
        time.sleep(0.5)
        self.assertEqual(by_title(d.incidents(), "pub get failed")[0]["count"], 3)

    def test_traceback_split_by_restart(self):
        # The block is open when the daemon stops: it is saved and finished later.
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        tb = TRACEBACK.format(mod="cv2").splitlines(True)
        self.write("".join(tb[:2]))
        time.sleep(0.5)
        d.stop()
        d.start()
        self.write("".join(tb[2:]) + "done\n")
        inc = d.wait_incidents(lambda l: len(l) >= 1)
        time.sleep(2.5)
        inc = d.incidents()
        self.assertEqual(len(inc), 1, inc)
        self.assertEqual(inc[0]["fix"], "pip_install:opencv-python")
        self.assertIn("File \"/srv/tool/main.py\"", inc[0]["excerpt"])

    def test_local_rules_and_reload(self):
        d = Daemon(self, watch_config(self.logdir))
        rules = os.path.join(d.dir, "rules.d")
        os.makedirs(rules)
        with open(os.path.join(rules, "50-local.rules"), "w") as f:
            f.write("[Rule.broken]\nPattern=unclosed (group\nCategory=network\n\n"
                    "[Rule.quota]\nPattern=^QUOTA BLOWN: (?<what>\\w+)\nCategory=api_quota\n"
                    "Priority=90\n")
        d.start()
        self.assertRegex(d.logtext(), r"50-local.rules:2: .*offset")   # file:line, PCRE2 offset
        self.write("QUOTA BLOWN: gemini\nnext\n")
        inc = d.wait_incidents(lambda l: by_title(l, "QUOTA BLOWN"))
        self.assertEqual(inc[0]["category"], "api_quota")
        # A rule added later takes effect on reload.
        with open(os.path.join(rules, "60-more.rules"), "w") as f:
            f.write("[Rule.printer]\nPattern=^PRINTER ON FIRE\nCategory=permission\nPriority=90\n")
        d.ctl("reload")
        self.write("PRINTER ON FIRE\nnext\n")
        inc = d.wait_incidents(lambda l: by_title(l, "PRINTER ON FIRE"))
        self.assertEqual(by_title(inc, "PRINTER")[0]["category"], "permission")

    def test_failed_reload_keeps_the_running_sources(self):
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        self.write("ERROR: before the reload\n")
        d.wait_incidents(lambda l: by_title(l, "before the reload"))
        # The new configuration parses, but one of its sources cannot be set
        # up (a journal directory that is not there): nothing is swapped.
        other = os.path.join(self.tmp, "other")
        os.makedirs(other)
        d.write_config(watch_config(self.logdir, "[Watch.other]\nPath=%s\nApp=other\n"
                                    "[Journal]\nEnabled=yes\nUnits=*\nDirectory=%s\n"
                                    % (other, os.path.join(self.tmp, "missing"))))
        p = d.ctl("reload", check=False)
        self.assertNotEqual(p.returncode, 0)
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual([w["name"] for w in st["sources"]["watches"]], ["shop"])
        self.assertEqual(st["counts"]["reloads_rejected"], 1)
        self.assertIn("keeping the running configuration, rules and sources", d.logtext())
        # The old watch still delivers, the new one was never set up.
        self.write("ERROR: after the failed reload\n")
        with open(os.path.join(other, "x.log"), "w") as f:
            f.write("ERROR: in the watch that was not set up\n")
        d.wait_incidents(lambda l: by_title(l, "after the failed reload"))
        time.sleep(0.5)
        self.assertEqual(by_title(d.incidents(), "not set up"), [])
        # Same through SIGHUP, and a good reload afterwards still works.
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: json.loads(d.ctl("status", "--json").stdout)["counts"]
                   ["reloads_rejected"] == 2, what="second rejection")
        d.write_config(watch_config(self.logdir, "[Watch.other]\nPath=%s\nApp=other\n" % other))
        d.ctl("reload")
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual(sorted(w["name"] for w in st["sources"]["watches"]), ["other", "shop"])
        with open(os.path.join(other, "x.log"), "a") as f:
            f.write("ERROR: in the new watch\n")
        d.wait_incidents(lambda l: by_title(l, "in the new watch"))
        self.assertEqual(len(by_title(d.incidents(), "before the reload")), 1)

    def test_flood_is_counted_exactly(self):
        d = Daemon(self, watch_config(self.logdir))
        d.start()
        n = 100000
        self.write("ERROR: connection pool exhausted\n" * n)
        inc = d.wait_incidents(lambda l: by_title(l, "pool exhausted")
                               and by_title(l, "pool exhausted")[0]["count"] >= n,
                               timeout=120, what="flood counted")
        self.assertEqual(by_title(inc, "pool exhausted")[0]["count"], n)
        self.assertEqual(len(inc), 1)


def proc_fds(pid):
    """The targets of a process's open descriptors."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass    # closed meanwhile
    return out


class FileChurn(unittest.TestCase):
    """Short-lived log files (created with one failure, rotated, deleted)
    must not leave anything behind in the daemon: no descriptor on a deleted
    file, no per-file memory, no position row; and each failure counts once."""

    BATCH = 500

    def test_churn_leaves_memory_and_descriptors_flat(self):
        tmp = tempfile.mkdtemp(prefix="appwatch-churn.")
        self.addCleanup(shutil.rmtree, tmp, True)
        # Under ASan freed memory sits in a quarantine (256 MB) instead of
        # being reused, which looks like growth: reuse it at once here.
        asan = os.environ.get("ASAN_OPTIONS", "")
        asan += (":" if asan else "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
        d = Daemon(self, watch_config(tmp), env={"ASAN_OPTIONS": asan})
        d.start()
        pid = d.proc.pid
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"), timeout=5)
        self.addCleanup(db.close)
        made = 0

        def recorded():
            row = db.execute("SELECT count FROM incidents WHERE title LIKE '%churn probe%'"
                             ).fetchone()
            return row[0] if row else 0

        def tailer():
            return d.call("status")["data"]["ingest"]["files"]

        def churn(n):
            nonlocal made
            end = made + n
            while made < end:
                names = []
                for _ in range(min(self.BATCH, end - made)):
                    p = os.path.join(tmp, "app-%d.log" % made)
                    with open(p, "w") as f:
                        f.write("ERROR: churn probe failed\n")
                    names.append(p)
                    made += 1
                # A file deleted before the daemon has listed it cannot be read
                # by anyone: let it see this batch before it goes.
                wait_until(lambda: tailer()["lines"] >= made, timeout=30, interval=0.01,
                           what="%d lines read" % made)
                for p in names:
                    os.rename(p, p + ".1")
                for p in names:
                    os.unlink(p + ".1")

        def settled():
            # Every failure recorded, every file closed, every position dropped.
            files = db.execute("SELECT COUNT(*) FROM positions WHERE source LIKE 'file:%'"
                               ).fetchone()[0]
            return (recorded() >= made and tailer()["open"] == 0 and files == 0
                    and not any("(deleted)" in f for f in proc_fds(pid)))

        churn(2000)    # warm-up: the heap, SQLite's page cache, the journal's buffers
        wait_until(settled, timeout=30, interval=0.1, what="warm-up settled")
        rss0, fds0 = proc_rss_kib(pid), len(proc_fds(pid))
        t0 = time.monotonic()
        churn(20000)
        wait_until(settled, timeout=30, interval=0.1, what="churn settled")
        rss1, fds1 = proc_rss_kib(pid), len(proc_fds(pid))
        print("\n20000 files churned in %.1f s: VmRSS %d -> %d KiB (%+d), fds %d -> %d (%+d)"
              % (time.monotonic() - t0, rss0, rss1, rss1 - rss0, fds0, fds1, fds1 - fds0),
              file=sys.stderr)
        # ASan's allocator keeps growing its caches for a while even without
        # a quarantine (+0.8 MiB over these 20,000 files, +1.3 MiB over 60,000
        # here, against +0.1 MiB without ASan): give it more room.
        with open(APPWATCHD, "rb") as f:
            sanitized = b"__asan_init" in f.read()
        self.assertLessEqual(rss1 - rss0, 3072 if sanitized else 1024)
        self.assertLessEqual(fds1 - fds0, 5)
        # Exactly once: nothing lost (a reused inode must not inherit the
        # position of the deleted file that had it), nothing repeated.
        time.sleep(0.5)
        self.assertEqual(recorded(), 22000)
        self.assertEqual(len(d.incidents()), 1)


class Crash(unittest.TestCase):
    """SIGKILL at random moments while a known set of failures streams in;
    after the last restart every failure is counted exactly once."""

    WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]

    def test_sigkill_exactly_once(self):
        tmp = tempfile.mkdtemp(prefix="appwatch-crash.")
        self.addCleanup(shutil.rmtree, tmp, True)
        logdir = os.path.join(tmp, "logs")
        os.makedirs(logdir)
        rng = random.Random(int(os.environ.get("APPWATCH_CRASH_SEED", "4242")))
        d = Daemon(self, watch_config(logdir), state_dir=os.path.join(tmp, "state"))
        d.start()
        expected = {}
        rounds = int(os.environ.get("APPWATCH_CRASH_ROUNDS", "12"))
        for r in range(rounds):
            # A burst of one-line errors and multi-line tracebacks...
            # Filler between failures, as in real build output: tools report
            # one failure several times in a row, and the engine folds such
            # echoes within 25 lines into the first report.
            with open(os.path.join(logdir, "app%d.log" % (r % 3)), "ab") as f:
                for _ in range(rng.randint(20, 120)):
                    w = rng.choice(self.WORDS)
                    if rng.random() < 0.3:
                        f.write(TRACEBACK.format(mod="mod_" + w).encode())
                        key = "mod_" + w
                    else:
                        f.write(("ERROR: failure %s\n" % w).encode())
                        key = "failure " + w
                    f.write(b"".join(b"step %d ok\n" % k for k in range(30)))
                    expected[key] = expected.get(key, 0) + 1
                f.flush()
            # ...and a kill at a random moment while it is being read.
            time.sleep(rng.uniform(0, 0.15))
            d.proc.kill()
            d.proc.wait()
            d.start()
        total = sum(expected.values())

        def counted(l):
            got = {}
            for i in l:
                for k in expected:
                    if ("'%s'" % k if k.startswith("mod_") else k) in i["title"] + i["excerpt"]:
                        got[k] = got.get(k, 0) + i["count"]
            return got

        d.wait_incidents(lambda l: sum(counted(l).values()) >= total, timeout=60,
                         what="all %d failures" % total)
        time.sleep(2.5)   # idle flush of the last block, and anything extra
        self.assertEqual(counted(d.incidents()), expected)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("mount"), "needs root to mount a tmpfs")
class FullDisk(unittest.TestCase):
    """The state directory fills up: appwatchd stops rather than lose what it
    read, and once there is room again a restart counts everything once."""

    def test_full_disk_loses_nothing(self):
        tmp = tempfile.mkdtemp(prefix="appwatch-full.")
        self.addCleanup(shutil.rmtree, tmp, True)
        state = os.path.join(tmp, "state")
        logdir = os.path.join(tmp, "logs")
        os.makedirs(state)
        os.makedirs(logdir)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", state], check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", state])
        d = Daemon(self, watch_config(logdir), state_dir=state)
        d.start()
        # Distinct failures (letters only: digits are folded by fingerprints).
        rng = random.Random(7)
        words = set()
        while len(words) < 3000:
            words.add("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10)))
        words = sorted(words)
        with open(os.path.join(logdir, "app.log"), "w") as f:
            for w in words:
                f.write("ERROR: failure %s\nnext\n" % w)
        self.assertNotEqual(d.proc.wait(60), 0)
        self.assertIn("No space left on device", d.logtext())
        self.assertIn("nothing is lost", d.logtext())
        # Room again: a restart resumes from the last commit.
        subprocess.run(["mount", "-o", "remount,size=64m", state], check=True)
        d.start()
        inc = d.wait_incidents(lambda l: len(l) >= len(words), timeout=60,
                               what="%d incidents after the disk was freed" % len(words),
                               args=("--limit", "10000"))
        time.sleep(1)
        inc = d.incidents("--limit", "10000")
        self.assertEqual(len(inc), len(words))
        self.assertTrue(all(i["count"] == 1 for i in inc))


class Journal(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(JOURNAL_REMOTE):
            self.skipTest("systemd-journal-remote is not installed")
        self.tmp = tempfile.mkdtemp(prefix="appwatch-journal.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.jdir = os.path.join(self.tmp, "remote")
        os.makedirs(self.jdir)
        self.n = 0

    def make_journal(self, messages, host="builder7", unit="flutter-build@shop.service"):
        """Writes a journal file from export format with systemd-journal-remote."""
        t = int(time.time() * 1e6)
        out = []
        for i, m in enumerate(messages):
            out += ["__REALTIME_TIMESTAMP=%d" % (t + i), "__MONOTONIC_TIMESTAMP=%d" % (t + i),
                    "_BOOT_ID=" + hashlib.md5(host.encode()).hexdigest(), "_HOSTNAME=" + host,
                    "_SYSTEMD_UNIT=" + unit, "SYSLOG_IDENTIFIER=build", "PRIORITY=6",
                    "MESSAGE=" + m, ""]
        self.n += 1
        path = os.path.join(self.jdir, "remote-%d.journal" % self.n)
        subprocess.run([JOURNAL_REMOTE, "-o", path, "-"], input=("\n".join(out) + "\n").encode(),
                       check=True, capture_output=True)
        return path

    def config(self):
        return ("[Journal]\nDirectory=%s\nUnits=flutter-build@shop.service\n"
                "[Service]\nWorkers=1\n" % self.jdir)

    def test_directory_cursor_and_hosts(self):
        self.make_journal(TRACEBACK.format(mod="yaml").splitlines() +
                          ["step %d" % k for k in range(30)] + ["ERROR: Gradle task failed"])
        self.make_journal(["ERROR: Gradle task failed"], host="builder9")
        d = Daemon(self, self.config())
        d.start()
        inc = d.wait_incidents(lambda l: len(l) >= 3, what="journal incidents")
        hosts = sorted(i["host"] for i in by_title(inc, "Gradle task failed"))
        self.assertEqual(hosts, ["builder7", "builder9"])
        self.assertTrue(all(i["app"] == "shop" and i["origin"] == "journal" for i in inc))
        mods = by_title(inc, "No module named")
        self.assertEqual(len(mods), 1)
        self.assertEqual(mods[0]["fix"], "pip_install:PyYAML")
        # A restart resumes after the committed cursor: nothing counted twice.
        d.stop()
        d.start()
        self.make_journal(["step %d" % k for k in range(30)] + ["ERROR: Gradle task failed"])
        inc = d.wait_incidents(lambda l: sum(i["count"] for i in by_title(l, "Gradle task failed")) >= 3)
        time.sleep(1)
        inc = d.incidents()
        b7 = [i for i in by_title(inc, "Gradle task failed") if i["host"] == "builder7"]
        self.assertEqual(b7[0]["count"], 2)
        self.assertEqual(len(by_title(inc, "No module named")), 1)
        self.assertEqual(by_title(inc, "No module named")[0]["count"], 1)

    def test_many_entries_in_batches(self):
        # More than one dispatch's batch (1000 entries) of backlog.
        self.make_journal(["building step"] * 2500 + ["ERROR: after a long backlog"])
        d = Daemon(self, self.config())
        d.start()
        d.wait_incidents(lambda l: by_title(l, "after a long backlog"))
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual(st["ingest"]["journal_reader"]["entries"], 2501)

    def test_vacuum_while_running(self):
        first = self.make_journal(["ERROR: first file failure"])
        d = Daemon(self, self.config())
        d.start()
        d.wait_incidents(lambda l: by_title(l, "first file failure"))
        os.unlink(first)      # journald vacuumed it
        self.make_journal(["ERROR: second file failure"])
        inc = d.wait_incidents(lambda l: by_title(l, "second file failure"))
        self.assertEqual(by_title(inc, "first file failure")[0]["count"], 1)
        d.stop()
        d.start()             # the saved cursor's file is gone: no re-read, no loss
        self.make_journal(["ERROR: third file failure"])
        inc = d.wait_incidents(lambda l: by_title(l, "third file failure"))
        self.assertEqual(by_title(inc, "second file failure")[0]["count"], 1)

    def test_invalid_cursor_falls_back_to_tail(self):
        self.make_journal(["ERROR: before the reset"])
        d = Daemon(self, self.config())
        os.makedirs(d.state_dir)
        d.start()
        d.wait_incidents(lambda l: by_title(l, "before the reset"))
        d.stop()
        db = sqlite3.connect(os.path.join(d.state_dir, "appwatch.db"))
        db.execute("UPDATE positions SET cursor = 'this is no cursor' WHERE source LIKE 'journal%'")
        db.commit()
        db.close()
        d.start()
        wait_until(lambda: "cannot be used" in d.logtext(), what="cursor reset record")
        self.make_journal(["ERROR: after the reset"])
        inc = d.wait_incidents(lambda l: by_title(l, "after the reset"))
        self.assertEqual(by_title(inc, "before the reset")[0]["count"], 1)


class Submissions(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(self, "[Journal]\nEnabled=no\n")

    def run_ctl(self, *args, **kw):
        return subprocess.run([APPWATCHCTL, "--socket=" + self.d.socket_path] + list(args),
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, APPWATCH_SPOOL_DIR=self.d.spool_dir), **kw)

    def test_run_failure_success_and_regression(self):
        self.d.start()
        cmd = ["run", "--app", "tool", "--", "sh", "-c",
               "echo building; echo \"ModuleNotFoundError: No module named 'bs4'\" >&2; exit 3"]
        p = self.run_ctl(*cmd)
        self.assertEqual(p.returncode, 3)
        self.assertIn("building", p.stdout)              # live output passed through
        self.assertIn("No module named 'bs4'", p.stderr)
        self.assertIn("recorded incident #", p.stderr)
        inc = self.d.incidents("--app", "tool")
        self.assertEqual(len(inc), 1)
        self.assertEqual(inc[0]["origin"], "run")
        self.assertEqual(inc[0]["fix"], "pip_install:beautifulsoup4")

        # A run with nothing recognisable still records the failure itself.
        p = self.run_ctl("run", "--app", "tool", "--", "false")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(by_title(self.d.incidents(), "'false' exited with status 1"))

        # Success resolves the app's build incidents.
        p = self.run_ctl("run", "--app", "tool", "--", "true")
        self.assertEqual(p.returncode, 0)
        inc = self.d.incidents("--app", "tool")
        self.assertTrue(all(i["status"] == "Resolved" for i in inc), inc)
        self.assertEqual(self.d.incidents("--status", "new"), [])

        # Seen again: reopened as a regression.
        p = self.run_ctl(*cmd)
        self.assertEqual(p.returncode, 3)
        bs4 = by_title(self.d.incidents(), "bs4")[0]
        self.assertEqual(bs4["status"], "New")
        self.assertTrue(bs4["regression"])
        self.assertEqual(bs4["regressions"], 1)
        self.assertEqual(bs4["count"], 2)
        show = self.d.ctl("show", str(bs4["id"])).stdout
        self.assertIn("Status:      New (regression)", show)

        # Manual resolve, and its errors.
        self.assertIn("resolved", self.d.ctl("resolve", str(bs4["id"])).stdout)
        self.assertIn("already resolved", self.d.ctl("resolve", str(bs4["id"])).stdout)
        p = self.d.ctl("resolve", "9999", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no incident #9999", p.stderr)
        p = self.d.ctl("show", "abc", check=False)
        self.assertEqual(p.returncode, 2)
        p = self.d.ctl("incidents", "--status", "closed", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown status 'closed'", p.stderr)
        p = self.d.ctl("incidents", "--since", "last tuesday", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(len(self.d.incidents("--since", "1h")), 2)
        self.assertEqual(self.d.incidents("--since", "2099-01-01"), [])

    def test_run_missing_command(self):
        self.d.start()
        p = self.run_ctl("run", "--app", "x", "--", "/nonexistent/tool")
        self.assertEqual(p.returncode, 127)
        self.assertTrue(self.d.incidents("--app", "x"))

    def test_submit_from_pipe(self):
        self.d.start()
        p = self.run_ctl("submit", "--app", "flutterapp", "--exit-code", "1", "--command",
                         "flutter build apk",
                         input="FAILURE: Build failed with an exception.\n\n* What went wrong:\n"
                               "Execution failed for task ':app:compileDebugKotlin'.\n\n* Try:\n"
                               "> Run with --stacktrace option.\n\nBUILD FAILED in 12s\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        inc = self.d.incidents("--app", "flutterapp")
        self.assertEqual(len(inc), 1, inc)
        self.assertEqual(inc[0]["origin"], "submit")
        p = self.run_ctl("submit", "--exit-code", "1", input="x")
        self.assertEqual(p.returncode, 2)
        p = self.run_ctl("submit", "--app", "a", "--exit-code", "999", input="x")
        self.assertEqual(p.returncode, 2)

    def test_spool_when_daemon_is_down(self):
        p = self.run_ctl("run", "--app", "offline", "--", "sh", "-c",
                         "echo 'ERROR: offline failure'; exit 2")
        self.assertEqual(p.returncode, 2)
        self.assertIn("saved to " + self.d.spool_dir, p.stderr)
        p = self.run_ctl("submit", "--app", "offline", input="ERROR: piped while down\n")
        self.assertEqual(p.returncode, 0)
        with open(os.path.join(self.d.spool_dir, "0-broken.json"), "w") as f:
            f.write("{not json")
        self.assertEqual(len([n for n in os.listdir(self.d.spool_dir) if n.endswith(".json")]), 3)
        self.d.start()
        inc = self.d.incidents("--app", "offline")
        self.assertEqual(len(inc), 2, inc)
        self.assertEqual(sorted(os.listdir(self.d.spool_dir)), ["0-broken.json.bad"])
        self.assertIn("not valid JSON", self.d.logtext())
        # Restart: nothing is read twice.
        self.d.stop()
        self.d.start()
        self.assertEqual(sum(i["count"] for i in self.d.incidents("--app", "offline")), 2)

    def test_backpressure_never_drops(self):
        self.d.write_config("[Journal]\nEnabled=no\n[Service]\nWorkers=1\nQueueSize=1\n")
        self.d.start()
        text = "".join("ERROR: distinct failure %s\nnext step\n" % w for w in
                       [a + b for a in "abcdefghij" for b in "klmnopqrst"])
        p = self.run_ctl("submit", "--app", "many", input=text)
        self.assertEqual(p.returncode, 0, p.stderr)
        inc = self.d.incidents("--app", "many")
        self.assertEqual(len(inc), 100)

        def analysed():
            ids = [i["id"] for i in self.d.incidents("--app", "many")]
            return all(json.loads(self.d.ctl("show", "--json", str(i)).stdout).get("analysis")
                       for i in ids)
        wait_until(analysed, timeout=30, what="every incident analysed")
        st = json.loads(self.d.ctl("status", "--json").stdout)
        self.assertGreater(st["queues"]["jobs_waiting"], 0)   # the queue was full at times
        self.assertEqual(st["counts"]["analyses"], 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
