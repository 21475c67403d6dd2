#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of the real appwatchd: socket activation, sd_notify,
reload, the control socket's limits and authorization, and start-up checks
of the configuration and the database."""

import json
import os
import pwd
import socket
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(__file__) + "/.."), "lib"))
from awtest import APPWATCHD, Daemon, connect, read_line, wait_until  # noqa: E402


class SocketActivation(unittest.TestCase):
    def test_notify_lifecycle(self):
        d = Daemon(self, "[Service]\nWorkers=2\n", activate=True)
        ready = d.start()
        self.assertIn("STATUS", ready)
        self.assertTrue(ready["STATUS"].startswith("Ready: "), ready)
        st = d.call("status")
        self.assertTrue(st["ok"], st)
        self.assertTrue(st["data"]["socket_activated"])
        self.assertEqual(st["data"]["schema_version"], 5)

        # Good reload: RELOADING=1 with MONOTONIC_USEC, then READY=1 again.
        d.write_config("[Service]\nWorkers=3\n[Watch.app1]\nPath=/tmp/none\n")
        before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        d.proc.send_signal(1)
        rel = d.notify.wait_for(lambda f: f.get("RELOADING") == "1")
        self.assertGreaterEqual(int(rel["MONOTONIC_USEC"]), before)
        d.notify.wait_for(lambda f: f.get("READY") == "1")
        st = d.call("status")["data"]
        self.assertEqual(st["counts"]["reloads"], 1)
        self.assertEqual([w["name"] for w in st["sources"]["watches"]], ["app1"])

        # Bad reload: rejected with file:line, the old configuration keeps running.
        d.write_config("[Service]\nWorkers=3\n[Watch.app1]\nPath=/tmp/none\nWorkers=\n[Slack]\nMinSeverity=Loud\n")
        d.proc.send_signal(1)
        d.notify.wait_for(lambda f: f.get("RELOADING") == "1")
        d.notify.wait_for(lambda f: f.get("READY") == "1")
        st = d.call("status")["data"]
        self.assertEqual(st["counts"]["reloads_rejected"], 1)
        self.assertEqual([w["name"] for w in st["sources"]["watches"]], ["app1"])
        log = wait_until(lambda: "rejected" in d.logtext() and d.logtext(), what="reject log")
        self.assertIn("%s:7: [Slack] MinSeverity='Loud' is invalid" % d.config, log)
        self.assertIn("Configuration rejected, keeping the running one", log)

        # Reload through the control socket also works (root is privileged).
        d.write_config("[Service]\nWorkers=5\n")
        r = d.ctl("reload")
        self.assertIn("reloaded", r.stdout)
        self.assertEqual(d.call("status")["data"]["sources"]["watches"], [])

        self.assertEqual(d.stop(), 0)
        stopping = d.notify.wait_for(lambda f: f.get("STOPPING") == "1")
        self.assertIn("STATUS", stopping)

    def test_watchdog(self):
        d = Daemon(self, "", activate=True, watchdog_usec=200000)
        d.start()
        d.notify.wait_for(lambda f: f.get("WATCHDOG") == "1", timeout=5)
        d.notify.wait_for(lambda f: f.get("WATCHDOG") == "1", timeout=5)


class ControlSocket(unittest.TestCase):
    def setUp(self):
        self.d = Daemon(self, "[Service]\nMaxRequestBytes=1K\nMaxClients=8\nClientTimeoutSec=1s\n")
        self.d.start()

    def assertAlive(self):
        r = self.d.call("ping", timeout=3)
        self.assertTrue(r["ok"], r)

    def test_status_text_and_json(self):
        out = self.d.ctl("status").stdout
        self.assertIn("Version: ", out)
        self.assertIn("State: running", out)
        self.assertIn("Database: %s/appwatch.db (schema 5)" % self.d.state_dir, out)
        j = json.loads(self.d.ctl("status", "--json").stdout)
        for key in ("version", "uptime_usec", "config", "sources", "queues", "counts"):
            self.assertIn(key, j)
        self.assertEqual(j["config"], self.d.config)

    def test_malformed_request_closes_connection(self):
        for garbage in (b"this is not json\n", b"[1,2,3]\n", b'{"verb": 5}\n',
                        b'{"verb":"status","args":"x"}\n', b"\xff\xfe\x00garbage\n"):
            s = connect(self.d.socket_path)
            s.sendall(garbage + b'{"verb":"ping"}\n')
            reply = json.loads(read_line(s))
            self.assertFalse(reply["ok"])
            self.assertEqual(reply["error"]["code"], "EBADMSG")
            # The connection is closed; the ping after the garbage is not answered.
            self.assertEqual(read_line(s, timeout=3), b"")
            s.close()
        self.assertAlive()

    def test_unknown_verb(self):
        r = self.d.call("frobnicate")
        self.assertFalse(r["ok"])
        self.assertEqual(r["error"]["code"], "EOPNOTSUPP")

    def test_oversized_request(self):
        s = connect(self.d.socket_path)
        big = b'{"verb":"ping","args":{"pad":"' + b"x" * 5000 + b'"}}\n'
        try:
            s.sendall(big)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = json.loads(read_line(s))
        self.assertEqual(reply["error"]["code"], "EMSGSIZE")
        self.assertIn("1024", reply["error"]["message"])
        self.assertEqual(read_line(s, timeout=3), b"")
        s.close()
        # A huge request without a newline at all is cut off too.
        s = connect(self.d.socket_path)
        try:
            s.sendall(b"x" * 200000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertIn(b"EMSGSIZE", read_line(s))
        s.close()
        self.assertAlive()

    def test_stuck_clients_do_not_block(self):
        # One client sends half a request and stalls; another floods requests
        # and never reads the replies.
        half = connect(self.d.socket_path)
        half.sendall(b'{"verb":"sta')
        flood = connect(self.d.socket_path)
        flood.setblocking(False)
        sent = 0
        try:
            for _ in range(200000):
                sent += flood.send(b'{"verb":"status"}\n' * 64)
        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
            pass
        # Another client is still served (assertAlive's own timeout bounds it).
        self.assertAlive()
        # The stalled half request is timed out by ClientTimeoutSec=1s.
        self.assertEqual(read_line(half, timeout=5), b"")
        half.close()
        flood.close()
        self.assertAlive()

    def test_max_clients(self):
        # All slots idle: a new client closes the one idle the longest and is
        # served (refusal, EUSERS, is for when every slot is busy: unit test).
        idle = [connect(self.d.socket_path) for _ in range(8)]
        time.sleep(0.2)
        self.assertTrue(self.d.call("ping")["ok"])
        self.assertEqual(read_line(idle[0], timeout=5), b"")
        for s in idle:
            s.close()
        wait_until(lambda: self.d.call("ping")["ok"], what="ping after max clients")

    @unittest.skipUnless(os.geteuid() == 0, "needs root to run a client as another user")
    def test_authorization(self):
        nobody = pwd.getpwnam("nobody")
        os.chmod(self.d.dir, 0o755)
        os.chmod(self.d.runtime_dir, 0o755)
        os.chmod(self.d.socket_path, 0o666)
        r = self.d.ctl("status", user=nobody.pw_uid)
        self.assertIn("State: running", r.stdout)
        r = self.d.ctl("reload", check=False, user=nobody.pw_uid)
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs root or membership in the appwatch group", r.stderr)
        self.assertEqual(self.d.call("status")["data"]["counts"]["reloads"], 0)

    def test_ctl_cannot_connect(self):
        r = subprocess.run([os.environ.get("APPWATCHCTL", "appwatchctl"),
                            "--socket=/nonexistent/control.sock", "status"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot talk to appwatchd at /nonexistent/control.sock", r.stderr)
        self.assertIn("systemctl start appwatch.socket", r.stderr)


class Startup(unittest.TestCase):
    def run_daemon(self, *args, env=None):
        return subprocess.run([APPWATCHD] + list(args), capture_output=True, text=True,
                              timeout=30, env=env)

    def test_check_config(self):
        d = Daemon(self, "[Service]\nWorkers=2\nColour=blue\n")
        r = self.run_daemon("--config=" + d.config, "--check-config")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("%s:3: warning: unknown key Colour=" % d.config, r.stdout)
        self.assertIn("Configuration is valid", r.stdout)

        d.write_config("[Service]\nWorkers=100\nLanguage=xx\n[Fix]\nTimeoutSec=soon\n")
        r = self.run_daemon("--config=" + d.config, "--check-config")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:2: error: [Service] Workers='100' is invalid (out of range)" % d.config, r.stdout)
        self.assertIn("%s:3: error:" % d.config, r.stdout)
        self.assertIn("%s:5: error:" % d.config, r.stdout)
        self.assertIn("3 errors", r.stdout)

        r = self.run_daemon("--config=/nonexistent.conf", "--check-config")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open", r.stdout)

    def test_invalid_config_refuses_start(self):
        d = Daemon(self, "[Service]\nWorkers=zero\n")
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(10), 1)
        self.assertIn("Workers='zero'", d.logtext())
        self.assertIn("Refusing to start", d.logtext())

    def refused_alike(self, config, expected):
        """--check-config fails with FILE:LINE: error: EXPECTED, and the daemon
        refuses to start with the same FILE:LINE: EXPECTED."""
        d = Daemon(self, "")
        with open(d.config, "wb") as f:
            f.write(config)
        r = self.run_daemon("--config=" + d.config, "--check-config")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        for line, message in expected:
            self.assertIn("%s:%d: error: %s\n" % (d.config, line, message), r.stdout)
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(10), 1)
        log = d.logtext()
        for line, message in expected:
            self.assertIn("%s:%d: %s\n" % (d.config, line, message), log)
        self.assertIn("Refusing to start", log)
        self.assertNotIn("\ufffd", r.stdout + log)  # no raw invalid byte was printed

    def test_invalid_utf8_config_refused_alike(self):
        self.refused_alike(
            b"[Service]\nHost=a\xffb\n[Watch.w]\nPath=/tmp/t/logs\xff\nApp=x\xffy\n"
            b"[App.x\xff]\nKind=flutter\n[App.y]\nBuildCommand=make\x1b[2J\n",
            [(2, "[Service] Host='a\\xffb' is not valid UTF-8"),
             (4, "[Watch.w] Path='/tmp/t/logs\\xff' is not valid UTF-8"),
             (5, "[Watch.w] App='x\\xffy' is not valid UTF-8"),
             (6, "section name [App.x\\xff] is not valid UTF-8"),
             (9, "[App.y] BuildCommand='make\\x1b[2J' contains a control character")])

    def test_watch_path_refused_alike(self):
        # The tailer would refuse it at start ("Cannot watch ... Invalid argument").
        self.refused_alike(
            b"[Watch.x]\nPath=/tmp/*/logs/*.log\n",
            [(2, "[Watch.x] Path='/tmp/*/logs/*.log' is invalid: a wildcard ('*', '?' or '[') "
                 "may only be in the last component")])

    def test_check_config_warnings_and_sizes(self):
        d = Daemon(self, "")
        d.write_config("[Service]\nWorkers=2\nMaxRequestBytes=2 KiB\nWorkers=3\n"
                       "[Watch.w]\nPath=%s/logs/*.log\n[Service]\nMaxLineBytes=64kB\n" % d.dir)
        r = self.run_daemon("--config=" + d.config, "--check-config")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("%s:4: warning: [Service] Workers= is set again (first on line 2); "
                      "the later value wins" % d.config, r.stdout)
        self.assertIn("%s:7: warning: [Service] appears again (first on line 1)" % d.config,
                      r.stdout)
        # What the check accepts, the daemon runs with, as written.
        d.start()
        s = connect(d.socket_path)
        s.sendall(b'{"verb":"ping","args":{"pad":"' + b"x" * 3000 + b'"}}\n')
        reply = json.loads(read_line(s))
        self.assertEqual(reply["error"]["code"], "EMSGSIZE")
        self.assertIn("2048", reply["error"]["message"])
        s.close()
        self.assertEqual([w["name"] for w in d.call("status")["data"]["sources"]["watches"]],
                         ["w"])

    def test_version_and_usage(self):
        r = self.run_daemon("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^appwatchd \d+\.\d+")
        r = self.run_daemon("--bogus")
        self.assertEqual(r.returncode, 1)

    def test_second_instance_refused(self):
        d = Daemon(self, "")
        d.start()
        r = self.run_daemon("--foreground", "--config=" + d.config, "--state-dir=" + d.dir + "/s2",
                            "--runtime-dir=" + d.runtime_dir)
        self.assertEqual(r.returncode, 1)
        self.assertIn("Another appwatchd is answering", r.stderr)
        self.assertTrue(d.call("ping")["ok"])

    def test_stale_socket_replaced(self):
        d = Daemon(self, "")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(d.socket_path)
        s.close()  # leaves a socket file nobody listens on
        d.start()
        self.assertTrue(d.call("ping")["ok"])

    def test_rules_dirs_policy(self):
        # APPWATCH_RULES_DIR replaces the shipped directory, and rules.d next
        # to the configuration file adds to it: the policy appwatchctl scan
        # shares (tests/unit/test-detect-scan.c checks scan's side).
        d = Daemon(self, "", env={"APPWATCH_RULES_DIR": "/nonexistent/rules.d"})
        d.start()
        self.assertEqual(json.loads(d.ctl("status", "--json").stdout)["rules"], 5)
        self.assertIn("No rules directory exists (looked in /nonexistent/rules.d and %s/rules.d)"
                      ": only the built-in patterns are in use." % d.dir, d.logtext())
        d.stop()

        os.makedirs(os.path.join(d.dir, "rules.d"))
        with open(os.path.join(d.dir, "rules.d", "50-local.rules"), "w") as f:
            f.write("[Rule.local_one]\nCategory=disk_full\nPattern=^quota of the moon\n")
        d.start()
        self.assertEqual(json.loads(d.ctl("status", "--json").stdout)["rules"], 6)
        self.assertEqual(d.logtext().count("No rules directory exists"), 1)

    def test_newer_schema_refused(self):
        d = Daemon(self, "")
        os.makedirs(d.state_dir)
        db = os.path.join(d.state_dir, "appwatch.db")
        con = sqlite3.connect(db)
        con.execute("PRAGMA user_version=999")
        con.commit()
        con.close()
        with open(db, "rb") as f:
            before = f.read()
        d.start(wait_ready=False)
        self.assertEqual(d.proc.wait(10), 1)
        self.assertIn("999", d.logtext())
        with open(db, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_corrupt_database_moved_aside(self):
        d = Daemon(self, "")
        os.makedirs(d.state_dir)
        db = os.path.join(d.state_dir, "appwatch.db")
        with open(db, "wb") as f:
            f.write(b"this is not a database" * 400)
        d.start()
        moved = [n for n in os.listdir(d.state_dir) if n.startswith("appwatch.db.corrupt-")]
        self.assertEqual(len(moved), 1, os.listdir(d.state_dir))
        with open(os.path.join(d.state_dir, moved[0]), "rb") as f:
            self.assertTrue(f.read().startswith(b"this is not a database"))
        self.assertIn("was corrupt; it was moved to", d.logtext())
        self.assertTrue(d.call("status")["ok"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
