# SPDX-License-Identifier: MIT
"""The shared base of the loopback fakes of Slack, Notion and Gemini
(fake_slack.py, fake_notion.py, fake_gemini.py).

A fake is a threaded HTTP/1.1 server on 127.0.0.1 that records every
request and can be told to misbehave: a queue of faults for the next
requests, a fault that lasts until cleared, an outage (connection refused,
or a status, a hang or a dropped connection on every request), and a
token-bucket rate limit that answers 429 the way the real service does.
The fake itself only supplies the routes, the validation and the
real-looking error bodies.

It runs in-process (FakeSlack().start(); fake.url; fake.requests) or as a
process (fakes.py slack --port-file F), driven then through the control
API under /_fake/ (see FAKES.md). Standard library only: the suite runs on
a bare Debian with python3 and nothing else."""

import http.server
import json
import math
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

MAX_BODY = 8 * 1024 * 1024
POLL = 0.02                 # how soon shutdown() is noticed: stop() and 'refuse' outages are quick

FAULT_KINDS = ("status", "rate_limit", "timeout", "timeout_after", "delay", "drop", "drop_after",
               "drop_mid_body", "garbage", "truncated", "wrong_type")
# Kinds that carry the request out before misbehaving: the client cannot
# tell whether it took effect (a page was created, a message posted).
PROCESSING_KINDS = ("timeout_after", "delay", "drop_after", "drop_mid_body", "truncated")
OUTAGE_MODES = ("refuse", "status", "timeout", "drop")


class FakeError(Exception):
    """A test misused a fake (unknown fault, bad knob): says what and where."""


class Recorded:
    """One request as the fake received it."""

    def __init__(self, method, target, headers, body, received, received_mono):
        self.method = method
        self.target = target
        parsed = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(parsed.path)
        self.query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.json = None
        self.json_error = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                self.json_error = str(e)
        self.time = received
        self.monotonic = received_mono
        self.status = None          # the status answered, None if no answer
        self.fault = None           # the fault applied, if any
        self.error = None           # the API error code answered, if any
        self.warnings = []          # accepted, but near or over a soft limit
        self.processed = False      # the fake acted on it (even if the answer then broke)
        self.response_body = None   # what was answered (None if nothing was)

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def to_dict(self, redact=False):
        headers = dict(self.headers)
        if redact:
            for h in ("authorization", "x-goog-api-key"):
                if h in headers:
                    headers[h] = "<redacted %d chars>" % len(headers[h])
        d = {"method": self.method, "path": self.path, "target": self.target,
             "query": self.query, "headers": headers, "json": self.json,
             "time": self.time, "monotonic": self.monotonic, "status": self.status,
             "fault": self.fault, "error": self.error, "warnings": self.warnings,
             "processed": self.processed,
             "response": (self.response_body[:65536].decode("utf-8", "replace")
                          if self.response_body is not None else None)}
        if self.json is None and self.body:
            d["body"] = self.body.decode("utf-8", "replace")
        if redact and "target" in d and "key=" in d["target"]:
            d["target"] = d["path"] + "?<query redacted>"
            d["query"] = {k: ["<redacted>"] if k == "key" else v for k, v in self.query.items()}
        return d


class Response:
    """What a route answers; the base sends it with a Content-Length."""

    def __init__(self, status, body=b"", content_type="application/json; charset=utf-8",
                 headers=None):
        self.status = status
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False)
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})


class _Fault:
    def __init__(self, kind, params):
        if kind not in FAULT_KINDS:
            raise FakeError("unknown fault kind %r (known: %s)" % (kind, ", ".join(FAULT_KINDS)))
        params = dict(params)
        self.method = params.pop("method", None)
        self.path = params.pop("path", None)
        allowed = {"status", "retry_after", "seconds", "body", "content_type"}
        unknown = set(params) - allowed
        if unknown:
            raise FakeError("fault %r: unknown parameter(s) %s" % (kind, ", ".join(sorted(unknown))))
        if kind == "status" and "status" not in params:
            raise FakeError("fault 'status' needs status=")
        self.kind = kind
        self.params = params

    def matches(self, req):
        return ((self.method is None or req.method == self.method)
                and (self.path is None or req.path.startswith(self.path)))

    def describe(self):
        d = {"kind": self.kind}
        d.update(self.params)
        for k in ("method", "path"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        return d


class _Bucket:
    """Token bucket: `rate` requests a second on average, `burst` at once."""

    def __init__(self, rate, burst):
        if rate <= 0 or burst < 1:
            raise FakeError("rate limit needs rate > 0 and burst >= 1, got %r, %r" % (rate, burst))
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self):
        """Returns 0 when the request may pass, else the seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return (1 - self.tokens) / self.rate


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, addr, fake, control_only=False):
        self.fake = fake
        self.control_only = control_only
        super().__init__(addr, _Handler)

    def handle_error(self, request, client_address):
        # A client that hung up (after a timeout or a drop) is not news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as real API servers set it: without it a kept-alive
    # connection waits ~40 ms (Nagle against the client's delayed ACK)
    # between an answer's headers and its body.
    disable_nagle_algorithm = True
    server_version = "appwatch-fake"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: the fake records, it does not log
        pass

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length > MAX_BODY or length < 0:
            return None
        return self.rfile.read(length) if length else b""

    def _handle(self):
        fake = self.server.fake
        received, mono = time.time(), time.monotonic()
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._send(Response(413, b"request too large, or a bad Content-Length", "text/plain"))
            return
        req = Recorded(self.command, self.path, self.headers, body, received, mono)
        if req.path.startswith("/_fake/"):
            self._send(fake._control(req))
            return
        if self.server.control_only:
            self._send(Response(404, {"error": "control port: only /_fake/ here"}))
            return
        fake._record(req)
        if self.server is not fake._httpd:
            # A keep-alive connection that outlived a 'refuse' outage: a real
            # outage breaks it too.
            req.fault = {"kind": "outage", "mode": "refuse"}
            self.close_connection = True
            self._abort()
            return
        action = fake._decide(req)
        if action is None:
            resp = self._process(fake, req)
        else:
            resp = self._fault(fake, req, action)
            if resp is None:
                return
        req.status = resp.status
        req.response_body = resp.body
        if req.error is None and resp.status >= 400:
            req.error = fake.error_code(resp)
        self._send(resp)

    def _process(self, fake, req):
        req.processed = True
        try:
            return fake.handle(req)
        except Exception as e:  # a bug in the fake must show, not hang the client
            fake._note_crash(req, e)
            return Response(599, "fake crashed: %r" % e, "text/plain")

    def _fault(self, fake, req, fault):
        p = fault.params
        req.fault = fault.describe()
        if fault.kind in ("status", "rate_limit"):
            status = p.get("status", 429)
            resp = fake.error_response(status, p.get("retry_after"))
            if "body" in p:
                resp = Response(status, p["body"], p.get("content_type", "text/plain"), resp.headers)
            return resp
        if fault.kind in ("timeout", "timeout_after"):
            # Accept and never answer (until the fake stops, or `seconds`).
            if fault.kind == "timeout_after":
                self._process(fake, req)
            fake._stopping.wait(p.get("seconds", 3600))
            self.close_connection = True
            self._abort()
            return None
        if fault.kind == "delay":
            fake._stopping.wait(p.get("seconds", 1.0))
            return self._process(fake, req)
        if fault.kind in ("drop", "drop_after"):
            if fault.kind == "drop_after":
                self._process(fake, req)
            self.close_connection = True
            self._abort()
            return None
        if fault.kind == "drop_mid_body":
            resp = self._process(fake, req)
            body = resp.body if len(resp.body) >= 8 else resp.body + b" " * 8
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self._abort()
            return None
        if fault.kind == "garbage":
            return Response(200, p.get("body", "\x00\x01 this is not JSON <html>"),
                            p.get("content_type", "application/json"))
        if fault.kind == "truncated":
            resp = self._process(fake, req)
            cut = resp.body[:max(1, len(resp.body) // 2)]
            if cut == resp.body:
                cut = b'{"truncated":'
            return Response(resp.status, cut, resp.content_type, resp.headers)
        if fault.kind == "wrong_type":
            return Response(200, p.get("body", "<html><body>Service page</body></html>"),
                            p.get("content_type", "text/html; charset=utf-8"))
        raise FakeError("unhandled fault " + fault.kind)

    def _abort(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, resp):
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle


class FakeServer:
    """Base of a fake. Subclasses set NAME and KNOBS and implement handle(),
    error_response(), error_code() and state()."""

    NAME = "fake"
    KNOBS = ()

    def __init__(self, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._httpd = None
        self._thread = None
        self._control_httpd = None
        self._control_thread = None
        self.log_file = None
        self.requests = []
        self.crashes = []
        self._faults = []            # [(fault, remaining count or None for "until cleared")]
        self._outage = None
        self._bucket = None

    # -- life cycle ---------------------------------------------------------

    def start(self, control_port=None):
        """Listens (port 0 picks a free port) and serves in a thread; with
        control_port (0 for any) also a control-only listener, which keeps
        answering during a 'refuse' outage."""
        self._listen()
        if control_port is not None:
            self._control_httpd = _Server((self.host, control_port), self, control_only=True)
            self._control_thread = threading.Thread(target=self._control_httpd.serve_forever, args=(POLL,),
                                                    name=self.NAME + "-control", daemon=True)
            self._control_thread.start()
        return self

    def _listen(self):
        self._httpd = _Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(POLL,),
                                        name=self.NAME, daemon=True)
        self._thread.start()

    def _unlisten(self):
        httpd, self._httpd = self._httpd, None
        if httpd:
            httpd.shutdown()
            httpd.server_close()
            self._thread.join(5)

    def stop(self):
        self._stopping.set()
        self._unlisten()
        if self._control_httpd:
            self._control_httpd.shutdown()
            self._control_httpd.server_close()
            self._control_httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        """Base URL, e.g. http://127.0.0.1:PORT"""
        return "http://%s:%d" % (self.host, self.port)

    @property
    def control_url(self):
        if self._control_httpd:
            return "http://%s:%d" % (self.host, self._control_httpd.server_address[1])
        return self.url

    # -- faults -------------------------------------------------------------

    def fail(self, kind, count=1, **params):
        """The next `count` requests get this fault (queued after earlier
        ones); with method= and/or path= (a prefix), only the requests that
        match. Kinds: status (status=, retry_after=, body=, content_type=),
        rate_limit (retry_after=), timeout (seconds=, default: until
        stopped), delay (seconds=), drop, garbage, wrong_type; and, carried
        out before they misbehave, timeout_after, drop_after, drop_mid_body,
        truncated (and delay)."""
        if count < 1:
            raise FakeError("fail(%r): count must be >= 1, got %r" % (kind, count))
        with self._lock:
            self._faults.append([_Fault(kind, params), count])

    def fail_always(self, kind, **params):
        """Every request gets this fault until clear_faults()."""
        with self._lock:
            self._faults.append([_Fault(kind, params), None])

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    def outage(self, mode="refuse", **params):
        """The service is down until end_outage(): 'refuse' closes the
        listening socket (connection refused), 'status' answers status=
        (default 503), 'timeout' accepts and never answers, 'drop' closes
        each connection without an answer."""
        if mode not in OUTAGE_MODES:
            raise FakeError("unknown outage mode %r (known: %s)" % (mode, ", ".join(OUTAGE_MODES)))
        with self._lock:
            if mode == "status":
                params.setdefault("status", 503)
            self._outage = None if mode == "refuse" else _Fault(mode, params)
            refuse = mode == "refuse"
        if refuse and self._httpd:
            self._unlisten()

    def end_outage(self):
        with self._lock:
            self._outage = None
        if self._httpd is None and not self._stopping.is_set():
            self._listen()

    @property
    def down(self):
        return self._httpd is None or self._outage is not None

    def rate_limit(self, rate, burst=1):
        """Answer 429 (with the service's Retry-After) past `rate` requests a
        second on average and `burst` at once; rate_limit(None) removes it."""
        with self._lock:
            self._bucket = None if rate is None else _Bucket(rate, burst)

    def _decide(self, req):
        with self._lock:
            if self._outage is not None:
                return self._outage
            for i, entry in enumerate(self._faults):
                if not entry[0].matches(req):
                    continue
                if entry[1] is not None:
                    entry[1] -= 1
                    if entry[1] == 0:
                        self._faults.pop(i)
                return entry[0]
            if self._bucket is not None:
                wait = self._bucket.take()
                if wait:
                    return _Fault("rate_limit", {"retry_after": max(1, math.ceil(wait))})
        return None

    # -- recording ----------------------------------------------------------

    def _record(self, req):
        with self._lock:
            self.requests.append(req)
            if self.log_file:
                self.log_file.write(json.dumps(req.to_dict(redact=True), ensure_ascii=False) + "\n")
                self.log_file.flush()

    def _note_crash(self, req, e):
        with self._lock:
            self.crashes.append("%s %s: %r" % (req.method, req.path, e))

    def reset(self):
        """Forgets recorded requests and faults, ends an outage, drops the
        rate limit (the fake's data stays)."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self._bucket = None
        self.end_outage()

    def requests_to(self, method=None, path_prefix=""):
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and r.path.startswith(path_prefix)]

    def requests_containing(self, text):
        """The requests whose target or body holds `text` (bytes or str),
        or any header but the credential headers: for checking that a
        planted secret never left the host."""
        needle = text.encode("utf-8") if isinstance(text, str) else text
        sneedle = needle.decode("utf-8", "replace")
        with self._lock:
            return [r for r in self.requests
                    if needle in r.body or sneedle in r.target
                    or any(sneedle in v for k, v in r.headers.items()
                           if k not in ("authorization", "x-goog-api-key"))]

    @staticmethod
    def max_in_window(reqs, seconds):
        """The most requests received within any `seconds`-long window: for
        asserting that a client kept to a rate limit."""
        stamps = sorted(r.monotonic for r in reqs)
        best, lo = 0, 0
        for hi, t in enumerate(stamps):
            while t - stamps[lo] >= seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def wait_requests(self, n, timeout=10.0, method=None, path_prefix=""):
        """Waits until at least n matching requests arrived; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests_to(method, path_prefix)
            if len(got) >= n:
                return got
            if time.monotonic() > deadline:
                raise AssertionError("%s: %d of %d requests after %.1fs" % (self.NAME, len(got), n, timeout))
            time.sleep(0.01)

    # -- to implement -------------------------------------------------------

    def handle(self, req):
        raise NotImplementedError

    def error_response(self, status, retry_after=None):
        """The real service's answer for a status it chose (429, 5xx)."""
        raise NotImplementedError

    def error_code(self, resp):
        """The API error code inside an error response, for the record."""
        return None

    def state(self):
        """The fake's data as JSON, for the control API."""
        return {}

    def control(self, req, parts):
        """Fake-specific control routes (/_fake/<NAME>/...); None if unknown."""
        return None

    # -- control API --------------------------------------------------------

    def _control(self, req):
        try:
            return self._control_route(req)
        except FakeError as e:
            return Response(400, {"error": str(e)})

    def _control_route(self, req):
        parts = [p for p in req.path.split("/") if p][1:]
        body = req.json if isinstance(req.json, dict) else {}
        m = req.method
        if req.body and req.json is None:
            raise FakeError("control body is not JSON: %s" % req.json_error)
        if parts == ["requests"] and m == "GET":
            with self._lock:
                return Response(200, [r.to_dict() for r in self.requests])
        if parts == ["state"] and m == "GET":
            with self._lock:
                return Response(200, self.state())
        if parts == ["reset"] and m == "POST":
            self.reset()
            return Response(200, {"ok": True})
        if parts == ["faults"] and m == "POST":
            body = dict(body)
            kind = body.pop("kind", None)
            if body.pop("always", False):
                self.fail_always(kind, **body)
            else:
                self.fail(kind, body.pop("count", 1), **body)
            return Response(200, {"ok": True})
        if parts == ["faults"] and m == "DELETE":
            self.clear_faults()
            return Response(200, {"ok": True})
        if parts == ["outage"] and m == "POST":
            body = dict(body)
            self.outage(body.pop("mode", "refuse"), **body)
            return Response(200, {"ok": True})
        if parts == ["outage"] and m == "DELETE":
            self.end_outage()
            return Response(200, {"ok": True})
        if parts == ["rate_limit"] and m == "POST":
            self.rate_limit(body.get("rate"), body.get("burst", 1))
            return Response(200, {"ok": True})
        if parts == ["rate_limit"] and m == "DELETE":
            self.rate_limit(None)
            return Response(200, {"ok": True})
        if parts == ["knobs"] and m == "POST":
            for k, v in body.items():
                if k not in self.KNOBS:
                    raise FakeError("%s has no knob %r (knobs: %s)" % (self.NAME, k, ", ".join(self.KNOBS)))
                if isinstance(getattr(self, k, None), set) and isinstance(v, list):
                    v = set(v)
                setattr(self, k, v)
            return Response(200, {"ok": True})
        if parts and parts[0] == self.NAME:
            with self._lock:
                resp = self.control(req, parts[1:])
            if resp is not None:
                return resp
        raise FakeError("unknown control request %s %s" % (m, req.path))


def retry_after_seconds(retry_after, default=1):
    if retry_after is None:
        return default
    return max(0, int(math.ceil(float(retry_after))))
