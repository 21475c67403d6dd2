#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The loopback fakes of Slack, Notion and Gemini, in-process or as a process.

In-process (python integration tests):

    from fakes import FakeSlack, FakeNotion, FakeGemini
    slack = FakeSlack().start(); self.addCleanup(slack.stop)
    ... slack.webhook_url, slack.messages, slack.fail("status", status=503)

As a process (e2e tests; the nspawn container shares the host loopback):

    python3 tests/lib/fakes.py slack --port-file F [--info-file J] [--log L]
    python3 tests/lib/fakes.py ctl --info-file J POST /_fake/outage '{"mode":"refuse"}'

The process writes its port to F (and the URLs, the secrets it accepts and
its control URL, as JSON, to J) once it listens, and runs until SIGTERM or
SIGINT. Its control API is under /_fake/ on its port and on a separate
control port that keeps answering while the fake is "down" (see FAKES.md)."""

import argparse
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_gemini import Answer, FakeGemini  # noqa: E402,F401
from fake_notion import FakeNotion  # noqa: E402
from fake_slack import FakeSlack  # noqa: E402
from fakehttp import FakeError  # noqa: E402,F401

KINDS = {"slack": FakeSlack, "notion": FakeNotion, "gemini": FakeGemini}


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def info(fake):
    d = {"kind": fake.NAME, "url": fake.url, "port": fake.port, "control_url": fake.control_url,
         "pid": os.getpid()}
    if isinstance(fake, FakeSlack):
        d["webhook_url"] = fake.webhook_url
    elif isinstance(fake, FakeNotion):
        d.update(token=fake.token, database_id=fake.database_id, data_source_id=fake.data_source_id)
    elif isinstance(fake, FakeGemini):
        d["api_key"] = fake.api_key
    return d


def serve(args):
    cls = KINDS[args.kind]
    kw = {}
    if args.kind == "slack" and args.hook_path:
        kw["hook_path"] = args.hook_path
    if args.kind == "notion":
        if args.token:
            kw["token"] = args.token
        kw["data_sources"] = args.data_sources
    if args.kind == "gemini" and args.api_key:
        kw["api_key"] = args.api_key
    fake = cls(host=args.host, port=args.port, **kw)
    if args.log:
        fake.log_file = open(args.log, "a", encoding="utf-8")
    fake.start(control_port=args.control_port)
    done = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda *_: done.set())
    d = info(fake)
    if args.info_file:
        _write_atomic(args.info_file, json.dumps(d, indent=1) + "\n")
    if args.port_file:
        _write_atomic(args.port_file, "%d\n" % fake.port)
    print(json.dumps(d), flush=True)
    done.wait()
    fake.stop()
    return 0


def ctl(args):
    if args.info_file:
        with open(args.info_file) as f:
            base = json.load(f)["control_url"]
    elif args.url:
        base = args.url.rstrip("/")
    else:
        print("ctl: give --info-file or --url", file=sys.stderr)
        return 2
    data = args.body.encode() if args.body is not None else None
    req = urllib.request.Request(base + args.path, data=data, method=args.method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            sys.stdout.write(r.read().decode() + "\n")
            return 0
    except urllib.error.HTTPError as e:
        sys.stderr.write("ctl: %s %s: %d %s\n" % (args.method, args.path, e.code, e.read().decode()))
        return 1
    except urllib.error.URLError as e:
        sys.stderr.write("ctl: %s: %s\n" % (base, e.reason))
        return 1


def main(argv=None):
    p = argparse.ArgumentParser(description="loopback fakes of Slack, Notion and Gemini")
    sub = p.add_subparsers(dest="kind", required=True)
    for kind in KINDS:
        s = sub.add_parser(kind, help="serve a fake %s" % kind)
        s.add_argument("--host", default="127.0.0.1")
        s.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
        s.add_argument("--port-file", help="write the port here once listening")
        s.add_argument("--info-file", help="write URLs, accepted secrets and the control URL here (JSON)")
        s.add_argument("--control-port", type=int, default=0, help="port of the control listener (0: any)")
        s.add_argument("--log", help="append every request here as a JSON line (secrets redacted)")
        if kind == "slack":
            s.add_argument("--hook-path", help="/services/T…/B…/TOKEN (default: random)")
        if kind == "notion":
            s.add_argument("--token", help="the integration token accepted (default: random)")
            s.add_argument("--data-sources", type=int, default=1, help="data sources in the database")
        if kind == "gemini":
            s.add_argument("--api-key", help="the API key accepted (default: random)")
    c = sub.add_parser("ctl", help="send a control request to a running fake")
    c.add_argument("--info-file")
    c.add_argument("--url", help="control URL, if no --info-file")
    c.add_argument("method")
    c.add_argument("path")
    c.add_argument("body", nargs="?")
    args = p.parse_args(argv)
    if args.kind == "ctl":
        return ctl(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
