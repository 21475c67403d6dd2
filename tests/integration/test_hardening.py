#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of appwatchd against input that others control (issue
"Hardening"): names that are not UTF-8, and more. Each test ends with the
daemon alive and answering, and every failure counted exactly once."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import APPWATCHCTL, Daemon, call, connect, read_line, wait_until  # noqa: E402


JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"


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


# Users made for these tests. They exist only in the daemon's private mount
# namespace, where /etc/passwd and /etc/group are bind-mounted copies: the
# host's files are never touched. The clients run with these ids (the kernel
# needs no name for them), and the daemon resolves them in its namespace.
APPWATCH_GID = 47001          # the "appwatch" group
MEMBER_UID = 47002            # awmember: in the appwatch group, not root
STRANGER_UID = 47003          # awstranger: a local user outside the group


class LoopBudget(unittest.TestCase):
    """Item 8: a flood of lines on which a rule backtracks catastrophically
    never stalls the loop. Each such line costs about a millisecond at
    PCRE2's limits; 40,000 of them used to keep the loop busy for over 30 s
    (longer than WatchdogSec=30s), so status was not answered, no
    WATCHDOG=1 was sent, and after systemd's restart the same uncommitted
    lines would stall it again."""

    EVIL = b"a" * 37 + b"b\n"
    WATCHDOG_USEC = 2000000

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="appwatch-loop.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.logdir = os.path.join(self.tmp, "logs")
        os.makedirs(self.logdir)

    def daemon(self, config=None):
        d = Daemon(self, config or watch_config(self.logdir), watchdog_usec=self.WATCHDOG_USEC)
        rules = os.path.join(d.dir, "rules.d")
        os.makedirs(rules)
        with open(os.path.join(rules, "50-evil.rules"), "w") as f:
            f.write("[Rule.evil]\nPattern=(a+)+$\nCategory=network\nPriority=90\n")
        d.start()
        return d

    @staticmethod
    def longest_gap(times):
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)

    def flood(self, d, data, n_lines, write=None):
        """Writes data (n_lines lines) at once, then a normal failure once
        they are read, sampling status and WATCHDOG=1 all along; write(data)
        does the writing when given (a journal file, say), else data goes
        to a watched file. Checks that status answered within a second
        every time and that the watchdog was fed within its period; returns
        the failure's incidents."""
        lines0 = json.loads(d.ctl("status", "--json").stdout)["counts"]["lines"]
        stop = threading.Event()
        self.addCleanup(stop.set)
        calls, answered, pings = [], [], []

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
                    reply = d.call("status", timeout=60)
                except (OSError, ValueError) as e:
                    reply = {"error": str(e)}
                t1 = time.monotonic()
                calls.append(t1 - t0)
                if "data" in reply:
                    answered.append((t1, reply["data"]))
                time.sleep(0.02)
        threads = [threading.Thread(target=watchdog, daemon=True),
                   threading.Thread(target=status, daemon=True)]
        for t in threads:
            t.start()
        time.sleep(1.5)       # a few pings and answers before the flood
        t_flood = time.monotonic()
        path = os.path.join(self.logdir, "flood.log")
        if not write:
            def write(data):
                with open(path, "ab") as f:
                    f.write(data)
        write(data)
        wait_until(lambda: answered and answered[-1][1]["counts"]["lines"] >= lines0 + n_lines,
                   timeout=300, interval=0.1, what="the flood read")
        t_read = time.monotonic()
        write(b"ERROR: a normal failure after the flood\n")
        inc = d.wait_incidents(lambda l: [i for i in l if "after the flood" in i["title"]],
                               what="the failure after the flood")
        time.sleep(1.5)       # more pings after it
        stop.set()
        for t in threads:
            t.join(65)
        sys.stderr.write("flood of %d lines read in %.3f s: %d status answers, slowest %.3f s, "
                         "longest gap between answers %.3f s; %d WATCHDOG=1, longest gap "
                         "%.3f s\n" % (n_lines, t_read - t_flood, len(answered), max(calls),
                                        self.longest_gap([t for t, _ in answered]), len(pings),
                                        self.longest_gap(pings)))
        self.assertIsNone(d.proc.poll())
        self.assertLess(max(calls), 1.0)
        self.assertGreater(len(pings), 3)
        self.assertLess(self.longest_gap(pings), self.WATCHDOG_USEC / 1e6)
        # The failure after the flood: exactly once.
        inc = [i for i in inc if "after the flood" in i["title"]]
        self.assertEqual([i["count"] for i in inc], [1])
        return inc

    def test_catastrophic_pattern_flood(self):
        d = self.daemon()
        # The rule has no literal: it is kept, and the warning says so.
        self.assertRegex(d.logtext(), r"50-evil.rules:1: rule 'evil': .*so it is loaded, but "
                                      r"tried on every line \(slow\)")
        self.assertNotIn("ignoring that rule", d.logtext())
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual(st["rules_disabled"], [])

        self.flood(d, self.EVIL * 40000, 40000)

        # The rule is disabled: one record in the log, a line in status.
        log = d.logtext()
        self.assertEqual(log.count("Rule 'evil' ("), 1, log[-3000:])
        self.assertRegex(log, r"Rule 'evil' \(.*50-evil.rules:1\) hit PCRE2's match limits "
                              r"\d+ times .*disabling it until the next reload")
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual([r["name"] for r in st["rules_disabled"]], ["evil"])
        self.assertTrue(st["rules_disabled"][0]["file"].endswith("50-evil.rules"))
        self.assertEqual(st["rules_disabled"][0]["line"], 1)
        text = d.ctl("status").stdout
        self.assertIn("1 disabled until the next reload", text)
        self.assertRegex(text, r"disabled evil \(.*50-evil.rules:1\): hit PCRE2's limits")

        # Still once after a restart: the flood was committed, not read again.
        d.stop()
        d.start()
        time.sleep(1)
        inc = [i for i in d.incidents() if "after the flood" in i["title"]]
        self.assertEqual([i["count"] for i in inc], [1])

        # A reload gives the rule its budget back.
        d.ctl("reload")
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual(st["rules_disabled"], [])
        self.assertNotIn("disabled evil", d.ctl("status").stdout)

    def test_slow_lines_under_the_rule_budget(self):
        """One pathological line in 17 keeps the rule under its match
        budget, so it is never disabled: only the bound on each loop
        iteration keeps status and the watchdog served."""
        d = self.daemon()
        block = self.EVIL + b"".join(b"plain line %d\n" % i for i in range(16))
        self.flood(d, block * 4000, 17 * 4000)
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual(st["rules_disabled"], [])

    def test_slow_journal_backlog(self):
        """The same through the journal reader, one entry per line."""
        if not os.path.exists(JOURNAL_REMOTE):
            self.skipTest("systemd-journal-remote is not installed")
        jdir = os.path.join(self.tmp, "journal")
        os.makedirs(jdir)
        n_files = []

        def write(data):
            t = int(time.time() * 1e6)
            out = []
            for i, m in enumerate(data.decode().splitlines()):
                out += ["__REALTIME_TIMESTAMP=%d" % (t + i), "__MONOTONIC_TIMESTAMP=%d" % (t + i),
                        "_BOOT_ID=0123456789abcdef0123456789abcdef", "_HOSTNAME=builder7",
                        "_SYSTEMD_UNIT=build.service", "SYSLOG_IDENTIFIER=build", "PRIORITY=6",
                        "MESSAGE=" + m, ""]
            n_files.append(1)
            path = os.path.join(jdir, "remote-%d.journal" % len(n_files))
            subprocess.run([JOURNAL_REMOTE, "-o", path, "-"],
                           input=("\n".join(out) + "\n").encode(), check=True,
                           capture_output=True)
        d = self.daemon("[Journal]\nDirectory=%s\nUnits=build.service\n[Service]\nWorkers=1\n"
                        % jdir)
        block = self.EVIL + b"".join(b"plain line %d\n" % i for i in range(16))
        self.flood(d, block * 4000, 17 * 4000, write)
        st = json.loads(d.ctl("status", "--json").stdout)
        self.assertEqual(st["rules_disabled"], [])


def need_root(tc):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        tc.skipTest("needs root and unshare(1) to make users in a mount namespace")


class NsDaemon(Daemon):
    """appwatchd in a private mount namespace whose /etc/passwd and
    /etc/group know the test users; its directories are open to them as
    they are under systemd (socket 0660 root:appwatch, spool 3770)."""

    def __init__(self, testcase, config_text="", **kw):
        need_root(testcase)
        super().__init__(testcase, config_text, **kw)
        self.passwd = os.path.join(self.dir, "passwd")
        self.group = os.path.join(self.dir, "group")
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open("/etc/group") as f:
            group = "".join(l for l in f if not l.startswith("appwatch:"))
        with open(self.passwd, "w") as f:
            f.write(passwd.rstrip("\n") + "\n"
                    "awmember:x:%d:%d::/nonexistent:/bin/sh\n"
                    "awstranger:x:%d:%d::/nonexistent:/bin/sh\n"
                    % (MEMBER_UID, MEMBER_UID, STRANGER_UID, STRANGER_UID))
        with open(self.group, "w") as f:
            f.write(group.rstrip("\n") + "\n"
                    "appwatch:x:%d:awmember\nawmember:x:%d:\nawstranger:x:%d:\n"
                    % (APPWATCH_GID, MEMBER_UID, STRANGER_UID))
        os.chmod(self.dir, 0o711)
        os.chmod(self.runtime_dir, 0o755)
        os.chown(self.spool_dir, 0, APPWATCH_GID)
        os.chmod(self.spool_dir, 0o3770)

    def argv(self):
        return ["unshare", "-m", "--propagation", "private", "sh", "-c",
                'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && '
                'exec "$@"', "sh", self.passwd, self.group] + super().argv()

    def ctl_as(self, uid, *args, groups=(), input=None, timeout=60, check=True):
        """appwatchctl run with uid and these supplementary groups only."""
        p = subprocess.run([self.reachable_ctl(), "--socket=" + self.socket_path] + list(args),
                           capture_output=True, text=True, timeout=timeout, input=input,
                           user=uid, group=uid, extra_groups=list(groups), cwd="/",
                           env=dict(os.environ, APPWATCH_SPOOL_DIR=self.spool_dir))
        if check and p.returncode != 0:
            raise AssertionError("appwatchctl %s as %d failed (%d): %s%s" % (
                " ".join(args), uid, p.returncode, p.stdout, p.stderr))
        return p

    def member(self, *args, **kw):
        return self.ctl_as(MEMBER_UID, *args, groups=[APPWATCH_GID], **kw)


class HardeningBase(unittest.TestCase):
    config = "[Journal]\nEnabled=no\n[Service]\nWorkers=1\n"

    def setUp(self):
        need_root(self)
        self.tmp = tempfile.mkdtemp(prefix="appwatch-hard.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o711)
        # A root-only file: none of its bytes may reach an incident or the log.
        self.secret = os.path.join(self.tmp, "secret.json")
        with open(self.secret, "w") as f:
            json.dump({"app": "secretapp", "exit_code": 1,
                       "output": "ERROR: ROOTONLY-7f3a9 leaked\n"}, f)
        os.chmod(self.secret, 0o600)
        self.d = NsDaemon(self, self.config)

    def assert_alive(self):
        t0 = time.monotonic()
        st = json.loads(self.d.ctl("status", "--json", timeout=5).stdout)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertIsNone(self.d.proc.poll())
        return st

    def assert_nothing_leaked(self):
        everything = json.dumps([json.loads(self.d.ctl("show", "--json", str(i["id"])).stdout)
                                 for i in self.d.incidents()])
        with open("/etc/shadow") as f:
            shadow_head = f.read(12)
        for text, what in ((everything, "an incident"), (self.d.logtext(), "the log")):
            self.assertNotIn("ROOTONLY", text, what)
            self.assertNotIn("secretapp", text, what)
            self.assertNotIn("SHADOWISH", text, what)
            self.assertNotIn(shadow_head, text, what)

    def counts(self, app):
        return [i["count"] for i in self.d.incidents("--app", app)]

    def spool(self):
        return sorted(os.listdir(self.d.spool_dir))

    def member_file(self, name, content, uid=MEMBER_UID):
        path = os.path.join(self.d.spool_dir, name)
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        os.chown(path, uid, APPWATCH_GID)
        os.chmod(path, 0o640)
        return path


def submission(app, output, **kw):
    return json.dumps(dict({"app": app, "exit_code": 1, "output": output, "origin": "submit"},
                           **kw))


class Spool(HardeningBase):
    """Item 4: the spool is written by the appwatch group and read by root."""

    def plant(self, prefix):
        sp = self.d.spool_dir
        os.symlink("/etc/shadow", os.path.join(sp, prefix + "1-shadow.json"))
        os.symlink(self.secret, os.path.join(sp, prefix + "2-secret.json"))
        os.mkfifo(os.path.join(sp, prefix + "3-fifo.json"))
        os.link(self.secret, os.path.join(sp, prefix + "4-hardlink.json"))
        self.member_file(prefix + "5-stranger.json", submission("strangerapp", "ERROR: x\n"),
                         uid=STRANGER_UID)
        self.member_file(prefix + "6-big.json", b" " * (4 * 1024 * 1024 + 1))
        self.member_file(prefix + "7-garbage.json", "root:SHADOWISH$6$hash:19000:0:99999:7:::\n")
        self.member_file(prefix + "8-good.json", submission(prefix + "good",
                                                           "ERROR: spooled %s\n" % prefix))
        return {prefix + "1-shadow.json": "is a symlink", prefix + "2-secret.json": "is a symlink",
                prefix + "3-fifo.json": "is a FIFO", prefix + "4-hardlink.json": "links",
                prefix + "5-stranger.json": "UID %d" % STRANGER_UID,
                prefix + "6-big.json": "larger than",
                prefix + "7-garbage.json": "not valid JSON (at line 1"}

    def check_set_aside(self, bad):
        log = self.d.logtext()
        for name, reason in bad.items():
            self.assertIn(name + ".bad", self.spool())
            line = [l for l in log.splitlines() if name in l]
            self.assertTrue(line and reason in line[0], (name, reason, line))

    def test_only_regular_files_of_submitters_are_taken(self):
        # At start, with a FIFO there: it must not keep the daemon from ready.
        bad = self.plant("a")
        self.d.start()
        self.assertEqual(self.counts("agood"), [1])
        self.check_set_aside(bad)
        self.assert_alive()
        # While running: the next submission reads the spool first.
        bad = self.plant("b")
        p = self.d.member("submit", "--app", "live", input="ERROR: live one\n", timeout=20)
        self.assertIn("recorded incident", p.stderr)
        self.assertEqual(self.counts("live"), [1])
        self.assertEqual(self.counts("bgood"), [1])
        self.check_set_aside(bad)
        self.assertEqual(self.counts("strangerapp"), [])
        self.assertEqual([n for n in self.spool() if n.endswith(".json")], [])
        self.assert_alive()
        self.assert_nothing_leaked()
        # Restart: what was set aside stays aside, nothing is counted again.
        self.d.stop()
        self.d.start()
        self.assertEqual(self.counts("agood") + self.counts("bgood") + self.counts("live"),
                         [1, 1, 1])
        self.assert_alive()


class Delivery(HardeningBase):
    """Item 5: no submission is lost because it is big or the daemon is busy."""

    def test_big_run_output_fits_the_limit(self):
        self.d.start()
        script = ("import sys\nfor i in range(1400): print('build step %04d ' % i + 'x' * 40)\n"
                  "print('ERROR: the failure at the end')\nsys.exit(3)\n")
        p = self.d.member("run", "--app", "bigrun", "--", "/usr/bin/python3", "-c", script,
                          check=False)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("left out", p.stderr)
        inc = [i for i in self.d.incidents("--app", "bigrun")
               if "the failure at the end" in i["title"]]
        self.assertEqual([i["count"] for i in inc], [1], self.d.incidents("--app", "bigrun"))
        self.assertEqual(self.spool(), [])
        self.assert_alive()

    def test_big_piped_submit_fits_the_limit(self):
        self.d.start()
        text = "".join("ERROR: disk quota exceeded on volume %d\n" % (i % 7) for i in range(5000))
        p = self.d.member("submit", "--app", "bigpipe", input=text)
        self.assertIn("left out", p.stderr)
        self.assertTrue(self.d.incidents("--app", "bigpipe"), p.stderr)
        self.assertEqual(self.spool(), [])
        self.assert_alive()

    def test_idle_connections_do_not_lock_out(self):
        self.d.start()
        # 64 idle connections (MaxClients=64), held by a local user of the group.
        holder = subprocess.Popen(
            ["/usr/bin/python3", "-c",
             "import socket, sys, time\n"
             "s = []\n"
             "for i in range(64):\n"
             "    c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); s.append(c)\n"
             "print('held', flush=True); time.sleep(120)\n", self.d.socket_path],
            stdout=subprocess.PIPE, text=True, user=MEMBER_UID, group=MEMBER_UID,
            extra_groups=[APPWATCH_GID])
        self.addCleanup(holder.stdout.close)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.kill)
        self.assertEqual(holder.stdout.readline().strip(), "held")
        wait_until(lambda: self.d.call("ping")["ok"], what="the daemon serving")
        p = self.d.member("submit", "--app", "busy", input="ERROR: while all slots taken\n")
        self.assertIn("recorded incident", p.stderr)
        p = self.d.member("run", "--app", "busyrun", "--", "sh", "-c",
                          "echo 'ERROR: run while taken'; exit 1", check=False)
        self.assertIn("recorded incident", p.stderr)
        self.assertEqual(self.counts("busy") + self.counts("busyrun"), [1, 1])
        self.assertEqual(self.spool(), [])
        self.assertIn("closing the connection idle the longest", self.d.logtext())
        self.assert_alive()

    def fake_daemon(self, behaviour):
        """A socket at the daemon's path that fails each connection one way."""
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(self.d.socket_path)
        os.chmod(self.d.socket_path, 0o666)
        srv.listen(16)
        self.addCleanup(srv.close)

        def serve():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                with c:
                    if behaviour == "close":
                        continue
                    c.settimeout(5)
                    try:
                        req = json.loads(read_line(c))
                    except (OSError, ValueError):
                        continue
                    if req["verb"] == "ping":
                        c.sendall(b'{"ok":true,"data":{"max_request_bytes":65536}}\n')
                        continue
                    c.sendall(json.dumps({"ok": False, "error": {
                        "code": behaviour, "message": "fake says " + behaviour}}).encode() + b"\n")
        threading.Thread(target=serve, daemon=True).start()
        return srv

    def test_every_failure_to_deliver_spools(self):
        for behaviour in ("EUSERS", "ENOMEM", "EIO", "EMSGSIZE", "EPERM", "close"):
            srv = self.fake_daemon(behaviour)
            p = self.d.member("submit", "--app", "fallback", "--command", behaviour,
                              input="ERROR: delivered despite %s\n" % behaviour)
            self.assertIn("saved to", p.stderr, behaviour)
            if behaviour != "close":
                self.assertIn("fake says " + behaviour, p.stderr)
            srv.close()
            os.unlink(self.d.socket_path)
        self.assertEqual(len([n for n in self.spool() if n.endswith(".json")]), 6)
        # A rejection of the submission itself is not spooled: it would be refused again.
        srv = self.fake_daemon("EINVAL")
        p = self.d.member("submit", "--app", "fallback", input="x\n", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("fake says EINVAL", p.stderr)
        srv.close()
        os.unlink(self.d.socket_path)
        self.d.start()
        titles = sorted(i["title"] for i in self.d.incidents("--app", "fallback"))
        self.assertEqual(len(titles), 6, titles)
        self.assertEqual(self.spool(), [])
        self.assertEqual(self.counts("fallback"), [1] * 6)
        self.assert_alive()


class Once(HardeningBase):
    """Item 6: a submission that reaches the daemon twice counts once."""

    def test_stalled_daemon_counts_once(self):
        self.d.start()
        self.d.proc.send_signal(signal.SIGSTOP)
        try:
            p = self.d.member("--timeout=3s", "submit", "--app", "stall",
                              input="ERROR: submitted while stalled\n")
            self.assertIn("saved to", p.stderr)
            self.assertEqual(len(self.spool()), 1)
        finally:
            self.d.proc.send_signal(signal.SIGCONT)
        # The daemon took the copy in its socket buffer; the next submission
        # reads the spooled copy first, and a restart would too.
        wait_until(lambda: self.counts("stall"), what="the socket copy taken")
        self.d.member("submit", "--app", "next", input="ERROR: the next one\n")
        self.assertEqual(self.spool(), [])
        self.assertEqual(self.counts("stall"), [1])
        self.assertIn("taken already", self.d.logtext())
        self.d.stop()
        self.d.start()
        self.assertEqual(self.counts("stall"), [1])
        self.assert_alive()

    def test_same_id_twice(self):
        self.d.start()
        args = {"app": "twice", "exit_code": 1, "output": "ERROR: sent twice\n",
                "submission_id": "0123456789abcdef0123456789abcdef"}
        first = self.d.call("submit", args)
        self.assertTrue(first["ok"], first)
        self.assertNotIn("duplicate", first["data"])
        second = self.d.call("submit", args)
        self.assertTrue(second["ok"], second)
        self.assertTrue(second["data"]["duplicate"])
        self.member_file("0-copy.json", json.dumps(args))
        self.d.member("submit", "--app", "other", input="ERROR: other\n")
        self.assertEqual(self.spool(), [])
        self.assertEqual(self.counts("twice"), [1])
        bad = self.d.call("submit", dict(args, submission_id="not hex!"))
        self.assertEqual(bad["error"]["code"], "EINVAL")
        self.assertIn("submission_id", bad["error"]["message"])
        self.assert_alive()


class Protocol(HardeningBase):
    """Item 9: a field of the wrong type is an error naming it; ids are bounded."""

    def test_wrong_types_are_errors(self):
        self.d.start()
        r = self.d.call("submit", {"app": "typed", "exit_code": 1, "output": "ERROR: typed\n"})
        self.assertTrue(r["ok"], r)
        iid = r["data"]["incidents"][0]
        cases = [
            ("incidents", {"app": 5}, "\"app\" must be a string"),
            ("incidents", {"status": 1}, "\"status\" must be a string"),
            ("incidents", {"since": "0"}, "\"since\""),
            ("incidents", {"limit": "3"}, "\"limit\""),
            ("show", {"id": str(iid)}, "\"id\""),
            ("resolve", {"id": iid, "status": ["Resolved"]}, "\"status\" must be a string"),
            ("submit", {"app": "typed2", "exit_code": 1, "origin": []}, "\"origin\" must be a string"),
            ("submit", {"app": "typed2", "exit_code": "1"}, "\"exit_code\""),
            ("submit", {"app": "typed2", "exit_code": 1, "output": 5}, "\"output\" must be a string"),
            ("submit", {"app": "typed2", "exit_code": 1, "command": {}}, "\"command\" must be a string"),
            ("submit", {"app": "typed2", "exit_code": 1, "unit": 3}, "\"unit\" must be a string"),
            ("submit", {"app": ["typed2"], "exit_code": 1}, "\"app\" must be a string"),
        ]
        for verb, args, message in cases:
            r = self.d.call(verb, args)
            self.assertFalse(r["ok"], (verb, args, r))
            self.assertEqual(r["error"]["code"], "EINVAL", (verb, args, r))
            self.assertIn(message, r["error"]["message"], (verb, args))
        self.assertEqual(self.d.incidents("--app", "typed")[0]["status"], "New")
        self.assertEqual(self.counts("typed2"), [])
        self.assertEqual(self.counts("typed"), [1])
        self.assert_alive()

    def raw(self, line):
        s = connect(self.d.socket_path)
        try:
            s.sendall(line.encode() + b"\n")
            return json.loads(read_line(s))
        finally:
            s.close()

    def test_request_id_is_bounded(self):
        self.d.start()
        self.assertEqual(self.raw('{"verb":"ping","id":7}')["id"], 7)
        self.assertEqual(self.raw('{"verb":"ping","id":"%s"}' % ("a" * 128))["id"], "a" * 128)
        for bad in ('"%s"' % ("a" * 129), "[1]", "{}", "1.5", "true"):
            r = self.raw('{"verb":"ping","id":%s}' % bad)
            self.assertFalse(r["ok"], bad)
            self.assertIn("\"id\" must be", r["error"]["message"])
            self.assertNotIn("id", r)
        self.assert_alive()

    def test_pipelined_requests_are_served_fairly(self):
        self.d.start()
        flood = connect(self.d.socket_path)
        self.addCleanup(flood.close)
        flood.setblocking(False)
        line = b'{"verb":"status"}\n'
        sent = 0
        deadline = time.monotonic() + 2
        # As much as the socket takes, never reading a reply.
        while time.monotonic() < deadline:
            try:
                sent += flood.send(line * 256)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                break   # dropped for not reading its replies: fine too
        self.assertGreater(sent, 64 * 1024)
        for _ in range(5):
            self.assert_alive()


def root_only(path):
    """A new file only root can read, from its creation on."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w")


class WatchedDirSwap(HardeningBase):
    """Item 3: the owner of a watched directory swaps it for a symlink to a
    root-only directory, or puts a root-only file in it. appwatchd (root)
    reads neither, now or for lines appended later."""

    config = "[Journal]\nEnabled=no\n[Service]\nWorkers=1\n"

    def as_member(self, *argv):
        subprocess.run(list(argv), check=True, user=MEMBER_UID, group=MEMBER_UID,
                       extra_groups=[], cwd="/")

    def member_append(self, path, text):
        self.as_member("sh", "-c", 'printf "%s" "$2" >> "$1"', "sh", path, text)

    def test_symlink_swap_and_root_only_files(self):
        home = os.path.join(self.tmp, "home")
        os.makedirs(home)
        os.chown(home, MEMBER_UID, MEMBER_UID)
        logs, glogs = os.path.join(home, "logs"), os.path.join(home, "glogs")
        self.as_member("mkdir", "-m", "0755", logs, glogs)
        self.member_append(os.path.join(logs, "app.log"), "starting\n")
        self.member_append(os.path.join(glogs, "app.log"), "starting\n")
        # Root's own files, in a directory the member cannot enter.
        rootdir = os.path.join(self.tmp, "rootlogs")
        os.makedirs(rootdir, mode=0o700)
        root_log = os.path.join(rootdir, "app.log")
        with root_only(root_log) as f:
            f.write("ERROR: ROOTONLY-7f3a9 before the swap\n")
        self.d.write_config(self.config + "[Watch.shop]\nPath=%s\nApp=shop\n"
                            "[Watch.globbed]\nPath=%s/*.log\nApp=globbed\n" % (logs, glogs))
        self.d.start()
        self.member_append(os.path.join(logs, "app.log"), "ERROR: member before\n")
        self.d.wait_incidents(lambda l: [i for i in l if i["title"] == "ERROR: member before"],
                              what="the member's own failure")

        # The swap, by the directory's owner, for both watches.
        self.as_member("mv", logs, logs + ".real")
        self.as_member("ln", "-s", rootdir, logs)
        self.as_member("mv", glogs, glogs + ".real")
        self.as_member("ln", "-s", rootdir, glogs)
        time.sleep(0.3)
        # Root keeps writing its files: appended lines and a new file.
        with open(root_log, "a") as f:
            f.write("ERROR: ROOTONLY-7f3a9 appended\n")
        with root_only(os.path.join(rootdir, "new.log")) as f:
            f.write("ERROR: ROOTONLY-7f3a9 new file\n")

        # A real directory back in place of the glob's symlink, with a
        # root-only file in it (root wrote it there, or the owner made a
        # hard link): skipped, named in a warning; the member's file is read.
        self.as_member("rm", glogs)
        self.as_member("mkdir", "-m", "0755", glogs)
        planted = os.path.join(glogs, "planted.log")
        with root_only(planted) as f:
            f.write("ERROR: ROOTONLY-7f3a9 planted\n")
        self.member_append(os.path.join(glogs, "member.log"), "ERROR: member after\n")
        self.d.wait_incidents(lambda l: [i for i in l if i["title"] == "ERROR: member after"],
                              what="the member's failure after the swap")
        with open(planted, "a") as f:
            f.write("ERROR: ROOTONLY-7f3a9 planted later\n")
        with open(root_log, "a") as f:
            f.write("ERROR: ROOTONLY-7f3a9 later still\n")
        self.member_append(os.path.join(glogs, "member.log"), "ERROR: member last\n")
        self.d.wait_incidents(lambda l: [i for i in l if i["title"] == "ERROR: member last"],
                              what="the member's last failure")

        log = self.d.logtext()
        self.assertIn("symlink; not following it", log)
        self.assertRegex(log, r"'%s' \(owner 0, mode 0600\) is not readable by the "
                              r"directory's owner \(uid %d\)" % (planted, MEMBER_UID))
        self.assert_nothing_leaked()
        for title in ("ERROR: member before", "ERROR: member after", "ERROR: member last"):
            self.assertEqual([i["count"] for i in self.d.incidents() if i["title"] == title],
                             [1], title)
        st = self.assert_alive()
        self.assertGreaterEqual(st["ingest"]["files"]["unreadable"], 1)

    def test_app_user_reads_its_files_in_anothers_directory(self):
        # A directory owned by one user (the stranger), with files of the
        # app's user (the member) in it, and a root-only one.
        logs = os.path.join(self.tmp, "shared")
        os.makedirs(logs)
        os.chmod(logs, 0o755)
        os.chown(logs, STRANGER_UID, STRANGER_UID)
        self.d.write_config(self.config + "[Watch.shop]\nPath=%s\nApp=shop\n"
                            "[App.shop]\nUser=awmember\n" % logs)
        self.d.start()
        with root_only(os.path.join(logs, "root.log")) as f:
            f.write("ERROR: ROOTONLY-7f3a9 in a shared directory\n")
        mine = os.path.join(logs, "member.log")
        with root_only(mine) as f:
            # Seen while still root's, as logrotate's "create" makes a file
            # and then gives it to its user: read once it is the user's.
            time.sleep(0.5)
            os.fchown(f.fileno(), MEMBER_UID, MEMBER_UID)
            f.write("ERROR: the app user's own\n")
        self.d.wait_incidents(lambda l: [i for i in l
                                         if i["title"] == "ERROR: the app user's own"],
                              what="the failure in the app user's file")
        with open(mine, "a") as f:
            f.write("ERROR: the app user's second\n")
        self.d.wait_incidents(lambda l: [i for i in l
                                         if i["title"] == "ERROR: the app user's second"],
                              what="the second failure in the app user's file")
        self.assertIn("nor the app's user 'awmember', not reading it", self.d.logtext())
        self.assert_nothing_leaked()
        self.assertEqual(sorted(i["count"] for i in self.d.incidents()), [1, 1])
        st = self.assert_alive()
        self.assertEqual(st["ingest"]["files"]["unreadable"], 1)

    def test_dot_dot_in_path_is_refused(self):
        self.d.write_config(self.config + "[Watch.shop]\nPath=%s/../etc\n" % self.tmp)
        p = subprocess.run(self.d.argv() + ["--check-config"], capture_output=True, text=True,
                           env=self.d.env)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("'.' and '..' are not allowed", p.stdout + p.stderr)


class LimitedDaemon(Daemon):
    """appwatchd under RLIMIT_NOFILE soft:hard, like systemd's 1024 soft."""

    def __init__(self, testcase, config_text="", nofile=(1024, 1024), **kw):
        super().__init__(testcase, config_text, **kw)
        self.nofile = nofile

    def argv(self):
        return ["prlimit", "--nofile=%d:%d" % self.nofile, "--"] + super().argv()

    def fds(self):
        """Descriptors appwatchd has open (prlimit and systemd-socket-activate
        exec it, so it has their pid)."""
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))


class FileDescriptors(unittest.TestCase):
    """Item 7: the daemon lives within its descriptor limit, and a failure in
    any watch is recorded, however many files a glob matches."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="appwatch-fd.")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.many = os.path.join(self.tmp, "many")
        self.other = os.path.join(self.tmp, "other")
        os.makedirs(self.many)
        os.makedirs(self.other)
        for i in range(2000):
            with open(os.path.join(self.many, "f%04d.log" % i), "w") as f:
                f.write("ok %d\n" % i)
        self.config = ("[Journal]\nEnabled=no\n[Service]\nWorkers=1\n"
                       "[Watch.many]\nPath=%s/*.log\nApp=many\n"
                       "[Watch.other]\nPath=%s\nApp=other\n" % (self.many, self.other))

    def assert_alive(self, d):
        t0 = time.monotonic()
        st = json.loads(d.ctl("status", "--json", timeout=5).stdout)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertIsNone(d.proc.poll())
        return st

    def failures_recorded(self, d, limit):
        with open(os.path.join(self.other, "new.log"), "w") as f:
            f.write("ERROR: in the other watch\n")
        d.wait_incidents(lambda l: [i for i in l if i["title"] == "ERROR: in the other watch"],
                         what="the failure in the other watch's new file")
        with open(os.path.join(self.many, "f1500.log"), "a") as f:
            f.write("ERROR: in the big glob\n")
        d.wait_incidents(lambda l: [i for i in l if i["title"] == "ERROR: in the big glob"],
                         what="the failure in one of the glob's files")
        counts = {i["title"]: i["count"] for i in d.incidents()}
        self.assertEqual(counts, {"ERROR: in the other watch": 1, "ERROR: in the big glob": 1})
        st = self.assert_alive(d)
        files = st["ingest"]["files"]
        self.assertLessEqual(files["open"], limit)
        self.assertEqual(files["open"] + files["dormant"], 2001)
        self.assertEqual(files["waiting"], 0)
        self.assertLess(d.fds(), limit)
        return st

    def test_big_glob_with_the_systemd_soft_limit(self):
        # Soft 1024 as systemd gives it; the daemon raises it to the hard limit.
        d = LimitedDaemon(self, self.config, nofile=(1024, 4096))
        d.start()
        st = self.failures_recorded(d, 4096)
        # Still the tailer's own cap of 1024 open files.
        self.assertLessEqual(st["ingest"]["files"]["open"], 1024)

    def test_big_glob_at_a_hard_limit_of_1024(self):
        # The limit cannot be raised: the tailer keeps a reserve below it and
        # closes idle files, so nothing starves.
        d = LimitedDaemon(self, self.config, nofile=(1024, 1024), activate=True)
        d.start()
        st = self.failures_recorded(d, 1024)
        self.assertGreater(st["ingest"]["files"]["evictions"], 0)

    def test_out_of_descriptors(self):
        """Every descriptor taken by idle clients: accept() pauses instead of
        spinning and logs once; a new file is retried, counted, and read once
        descriptors are free again."""
        config = ("[Journal]\nEnabled=no\n[Service]\nWorkers=1\nMaxClients=200\n"
                  "[Watch.other]\nPath=%s\nApp=other\n" % self.other)
        d = LimitedDaemon(self, config, nofile=(64, 64))
        d.start()
        self.assert_alive(d)
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        for _ in range(100):
            clients.append(connect(d.socket_path))
        wait_until(lambda: d.fds() >= 63, what="the daemon out of descriptors")
        with open(os.path.join(self.other, "new.log"), "w") as f:
            f.write("ERROR: while out of descriptors\n")
        time.sleep(2.5)
        log = d.logtext()
        self.assertEqual(log.count("cannot accept a connection"), 1, log[-3000:])
        self.assertLess(len(log.splitlines()), 100)
        for c in clients:
            c.close()
        clients.clear()
        d.wait_incidents(lambda l: [i for i in l
                                    if i["title"] == "ERROR: while out of descriptors"],
                         what="the failure written while out of descriptors")
        self.assertEqual([i["count"] for i in d.incidents()], [1])
        st = self.assert_alive(d)
        self.assertGreaterEqual(st["ingest"]["files"]["open_errors"], 1)
        self.assertEqual(st["ingest"]["files"]["waiting"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
