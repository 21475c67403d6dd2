# SPDX-License-Identifier: MIT
"""Helpers for appwatch's integration tests: a captured NOTIFY_SOCKET, the
real appwatchd on temporary directories (plain or under
systemd-socket-activate), and raw control-socket clients. Standard library
only, so the suite runs on a bare Debian."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

APPWATCHD = os.environ.get("APPWATCHD", "appwatchd")
APPWATCHCTL = os.environ.get("APPWATCHCTL", "appwatchctl")
SRCDIR = os.environ.get("MESON_SOURCE_ROOT",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket. A thread
    drains it all the time, as systemd does: a receive queue left full
    (net.unix.max_dgram_qlen is only 10) would block the daemon's next
    sd_notify()."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data and self.closed:
                return
            with self.cond:
                self.messages.append(data.decode())
                self.cond.notify_all()

    def wait_for(self, predicate, timeout=10.0):
        """Returns the first message (new or seen) whose fields satisfy
        predicate(dict); consumes messages up to it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                while self.messages:
                    msg = self.messages.pop(0)
                    fields = dict(l.split("=", 1) for l in msg.split("\n") if "=" in l)
                    if predicate(fields):
                        return fields
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("notify message not seen in %.1fs" % timeout)
                self.cond.wait(left)

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Daemon:
    """Runs appwatchd on private directories; stderr goes to a log file."""

    def __init__(self, testcase, config_text="", activate=False, extra_args=(), env=None,
                 watchdog_usec=None, state_dir=None):
        self.tc = testcase
        self.dir = tempfile.mkdtemp(prefix="appwatch-it.")
        testcase.addCleanup(shutil.rmtree, self.dir, True)
        self.state_dir = state_dir or os.path.join(self.dir, "state")
        self.runtime_dir = os.path.join(self.dir, "run")
        os.makedirs(self.runtime_dir, exist_ok=True)
        self.config = os.path.join(self.dir, "appwatch.conf")
        self.write_config(config_text)
        self.socket_path = os.path.join(self.runtime_dir, "control.sock")
        self.notify = NotifySocket(self.dir)
        testcase.addCleanup(self.notify.close)
        self.log_path = os.path.join(self.dir, "appwatchd.log")
        self.activate = activate
        self.extra_args = list(extra_args)
        self.env = dict(os.environ)
        for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "STATE_DIRECTORY",
                  "RUNTIME_DIRECTORY", "CONFIGURATION_DIRECTORY", "CREDENTIALS_DIRECTORY",
                  "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID"):
            self.env.pop(k, None)
        self.env["NOTIFY_SOCKET"] = self.notify.path
        # The rules of this checkout, not whatever is installed.
        self.env["APPWATCH_RULES_DIR"] = os.path.join(SRCDIR, "etc", "rules.d")
        self.spool_dir = os.path.join(self.dir, "spool")
        os.makedirs(self.spool_dir, exist_ok=True)
        self.env["APPWATCH_SPOOL_DIR"] = self.spool_dir
        if watchdog_usec:
            self.env["WATCHDOG_USEC"] = str(watchdog_usec)
        if env:
            self.env.update(env)
        self.proc = None

    def write_config(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def argv(self):
        args = [APPWATCHD, "--foreground", "--config=" + self.config,
                "--state-dir=" + self.state_dir, "--runtime-dir=" + self.runtime_dir]
        args += self.extra_args
        if self.activate:
            return ["systemd-socket-activate", "-l", self.socket_path, "--fdname=control",
                    "-E", "NOTIFY_SOCKET"] + (["-E", "WATCHDOG_USEC"] if "WATCHDOG_USEC" in self.env else []) + args
        return args

    def start(self, wait_ready=True):
        if getattr(self, "log", None):
            self.log.close()
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=self.env)
        self.tc.addCleanup(self.kill)
        if self.activate:
            # systemd-socket-activate starts the program on the first connection.
            deadline = time.monotonic() + 10
            while not os.path.exists(self.socket_path):
                if time.monotonic() > deadline:
                    raise AssertionError("socket-activate never listened")
                time.sleep(0.02)
            threading_free_poke(self.socket_path)
        if wait_ready:
            return self.notify.wait_for(lambda f: f.get("READY") == "1")
        return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def logtext(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def call(self, verb, args=None, timeout=10):
        return call(self.socket_path, verb, args, timeout)

    def incidents(self, *args):
        """The incidents as a list of dicts (appwatchctl incidents --json)."""
        out = self.ctl("incidents", "--json", *args).stdout
        return [json.loads(l) for l in out.splitlines() if l.strip()]

    def wait_incidents(self, predicate, timeout=20, what="incidents", args=()):
        """Polls until predicate(incidents) is true; returns the incidents."""
        last = []

        def check():
            nonlocal last
            last = self.incidents(*args)
            return predicate(last)
        try:
            wait_until(check, timeout=timeout, interval=0.1, what=what)
        except AssertionError:
            raise AssertionError("%s; incidents were:\n%s\nlog:\n%s" % (
                what, json.dumps(last, indent=1)[:4000], self.logtext()[-4000:]))
        return last

    def reachable_ctl(self):
        """A copy of appwatchctl that any user can run. The build tree may sit
        below a directory other users cannot enter (a checkout in /root, mode
        0700 on a fresh system: EACCES for nobody), so the binary (linked
        statically against our own code) is copied into a fresh 0755
        directory under the system's temporary directory, whose parents every
        user can search."""
        if getattr(self, "_reachable_ctl", None):
            return self._reachable_ctl
        d = tempfile.mkdtemp(prefix="appwatch-ctl.")
        self.tc.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        path = os.path.join(d, "appwatchctl")
        shutil.copy(shutil.which(APPWATCHCTL) or APPWATCHCTL, path)
        os.chmod(path, 0o755)
        probe = d
        while probe != "/":
            probe = os.path.dirname(probe)
            if os.stat(probe).st_mode & 0o001 == 0:
                raise AssertionError("%s is not searchable by other users: cannot run %s as "
                                     "another user" % (probe, path))
        self._reachable_ctl = path
        return path

    def ctl(self, *args, check=True, user=None, timeout=30, input=None, cwd=None):
        """Runs appwatchctl on this daemon's socket; as another user (uid)
        when user is given, from a copy that user can reach."""
        argv = [APPWATCHCTL, "--socket=" + self.socket_path] + list(args)
        kw = {}
        if input is not None:
            kw["input"] = input
        if cwd is not None:
            kw["cwd"] = cwd
        if user is not None:
            kw["user"] = user
            argv[0] = self.reachable_ctl()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, APPWATCH_SPOOL_DIR=self.spool_dir), **kw)
        if check and p.returncode != 0:
            raise AssertionError("appwatchctl %s failed (%d): %s%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr))
        return p


def threading_free_poke(path):
    """Connects once (which makes systemd-socket-activate start the daemon)
    and sends a ping, leaving the reply unread."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"verb":"ping"}\n')
    s.close()


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def read_line(s, timeout=10):
    s.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def call(path, verb, args=None, timeout=10):
    """One request on a fresh connection; returns the decoded reply."""
    s = connect(path)
    try:
        req = {"verb": verb}
        if args is not None:
            req["args"] = args
        s.sendall((json.dumps(req) + "\n").encode())
        line = read_line(s, timeout)
        return json.loads(line)
    finally:
        s.close()


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def proc_rss_kib(pid, field="VmRSS"):
    """Resident memory of a process, in KiB: VmRSS, or RssAnon (its own
    heap and stacks, without mapped files such as journal files)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def proc_wakeups(pid):
    """Voluntary context switches of all of a process's threads: each is a
    wake-up after waiting."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
    return total


def main():
    unittest.main(verbosity=2)
