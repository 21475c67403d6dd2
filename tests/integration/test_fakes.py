#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of the loopback fakes of Slack, Notion and Gemini (tests/lib/fakes.py),
driven with urllib as a client would: what the real APIs accept is
accepted, each validation rule answers the real error, each fault and
outage does what it says, and the standalone process works through its
port file and control API. The appwatch clients' tests rely on these."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

LIB = os.path.join(os.environ.get("TEST_SRCDIR", os.path.dirname(os.path.abspath(__file__)) + "/.."), "lib")
sys.path.insert(0, LIB)
from fakes import Answer, FakeError, FakeGemini, FakeNotion, FakeSlack  # noqa: E402


def call(method, url, body=None, headers=None, timeout=5, raw=False):
    """Returns (status, headers, body bytes); HTTP errors are answers too."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body, ensure_ascii=False).encode()
    if headers is None:
        headers = {"Content-Type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def jcall(method, url, body=None, headers=None):
    st, hd, b = call(method, url, body, headers)
    return st, json.loads(b)


class Base(unittest.TestCase):
    def fake(self, cls, **kw):
        f = cls(**kw).start()
        self.addCleanup(f.stop)
        self.addCleanup(lambda: self.assertEqual(f.crashes, []))
        return f


# -- the shared machinery, on the Slack fake ---------------------------------

class Faults(Base):
    def setUp(self):
        self.s = self.fake(FakeSlack)
        self.url = self.s.webhook_url

    def post(self, **kw):
        return call("POST", self.url, {"text": "hello"}, **kw)

    def test_queue_of_statuses_then_normal(self):
        self.s.fail("status", status=500, count=2)
        self.s.fail("status", status=502)
        got = [self.post()[0] for _ in range(4)]
        self.assertEqual(got, [500, 500, 502, 200])
        self.assertEqual(call("POST", self.url, {"text": "x"})[2], b"ok")
        self.assertEqual([r.status for r in self.s.requests], [500, 500, 502, 200, 200])
        self.assertEqual(self.s.requests[0].fault, {"kind": "status", "status": 500})

    def test_fail_always_until_cleared(self):
        self.s.fail_always("status", status=503)
        self.assertEqual([self.post()[0] for _ in range(3)], [503, 503, 503])
        self.s.clear_faults()
        self.assertEqual(self.post()[0], 200)

    def test_rate_limit_fault_has_retry_after(self):
        self.s.fail("rate_limit", retry_after=7)
        st, hd, body = self.post()
        self.assertEqual((st, hd["Retry-After"], body), (429, "7", b"rate_limited"))

    def test_timeout_never_answers(self):
        self.s.fail("timeout", seconds=5)
        with self.assertRaises((socket.timeout, TimeoutError, urllib.error.URLError)):
            self.post(timeout=0.3)
        self.assertEqual(self.post()[0], 200)
        self.assertEqual(self.s.requests[0].status, None)
        self.assertEqual(self.s.requests[0].fault["kind"], "timeout")

    def test_delay_then_answer(self):
        self.s.fail("delay", seconds=0.3)
        t = time.monotonic()
        self.assertEqual(self.post()[0], 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.3)
        with self.assertRaises((socket.timeout, TimeoutError, urllib.error.URLError)):
            self.s.fail("delay", seconds=2)
            self.post(timeout=0.2)

    def test_drop_closes_without_answer(self):
        self.s.fail("drop")
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
            self.post()
        self.assertEqual(self.s.messages, [])

    def test_drop_mid_body(self):
        self.s.fail("drop_mid_body")
        with self.assertRaises((http.client.IncompleteRead, http.client.HTTPException, ConnectionError)):
            self.post()

    def test_garbage_truncated_wrong_type(self):
        n = self.fake(FakeNotion)
        h = {"Authorization": "Bearer " + n.token, "Notion-Version": "2025-09-03"}
        good = call("GET", n.url + "/v1/databases/" + n.database_id, headers=h)[2]
        json.loads(good)
        n.fail("garbage")
        st, hd, body = call("GET", n.url + "/v1/databases/" + n.database_id, headers=h)
        self.assertEqual((st, hd["Content-Type"]), (200, "application/json"))
        self.assertRaises(ValueError, json.loads, body)
        n.fail("truncated")
        st, hd, body = call("GET", n.url + "/v1/databases/" + n.database_id, headers=h)
        self.assertEqual(st, 200)
        self.assertRaises(ValueError, json.loads, body)
        self.assertTrue(good.startswith(body[:20]), body[:40])
        n.fail("wrong_type")
        st, hd, body = call("GET", n.url + "/v1/databases/" + n.database_id, headers=h)
        self.assertEqual(st, 200)
        self.assertTrue(hd["Content-Type"].startswith("text/html"))

    def test_outage_refuse_then_back_on_the_same_port(self):
        port = self.s.port
        self.s.outage("refuse")
        self.assertTrue(self.s.down)
        with self.assertRaises(urllib.error.URLError) as cm:
            self.post()
        self.assertIsInstance(cm.exception.reason, ConnectionRefusedError)
        self.s.end_outage()
        self.assertEqual((self.s.port, self.post()[0]), (port, 200))

    def test_outage_refuse_breaks_kept_alive_connections(self):
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=5)
        self.addCleanup(c.close)
        body = json.dumps({"text": "a"})
        c.request("POST", self.s.hook_path, body, {"Content-Type": "application/json"})
        self.assertEqual(c.getresponse().read(), b"ok")
        self.s.outage("refuse")
        with self.assertRaises((http.client.HTTPException, ConnectionError)):
            c.request("POST", self.s.hook_path, body, {"Content-Type": "application/json"})
            c.getresponse().read()
        self.s.end_outage()

    def test_outage_modes(self):
        self.s.outage("status")
        self.assertEqual([self.post()[0] for _ in range(2)], [503, 503])
        self.s.outage("status", status=500)
        self.assertEqual(self.post()[0], 500)
        self.s.outage("drop")
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
            self.post()
        self.s.outage("timeout", seconds=3)
        with self.assertRaises((socket.timeout, TimeoutError, urllib.error.URLError)):
            self.post(timeout=0.2)
        self.s.end_outage()
        self.assertEqual(self.post()[0], 200)
        self.assertEqual(len(self.s.messages), 1)

    def test_rate_limit_bucket(self):
        self.s.rate_limit(0.2, burst=2)  # a token every 5 s: no race with a slow machine
        got = [self.post() for _ in range(3)]
        self.assertEqual([g[0] for g in got], [200, 200, 429])
        self.assertIn(got[2][1]["Retry-After"], ("4", "5"))
        self.assertEqual(self.s.requests[-1].fault,
                         {"kind": "rate_limit", "retry_after": int(got[2][1]["Retry-After"])})
        self.s.rate_limit(None)
        self.assertEqual(self.post()[0], 200)

    def test_recording_and_window(self):
        call("POST", self.url, {"text": "한국어 ✅"}, headers={"Content-Type": "application/json",
                                                            "X-Test": "1"})
        self.post()
        r = self.s.requests[0]
        self.assertEqual((r.method, r.path, r.json, r.header("x-test")), ("POST", self.s.hook_path,
                                                                          {"text": "한국어 ✅"}, "1"))
        self.assertLessEqual(abs(r.time - time.time()), 5)
        self.assertEqual(FakeSlack.max_in_window(self.s.requests, 10), 2)
        self.assertEqual(self.s.requests_containing("한국어"), [r])
        self.assertEqual(self.s.requests_containing("X-Test"), [])
        self.assertEqual(self.s.requests_containing(self.s.hook_path.split("/")[-1]), self.s.requests)
        self.assertEqual(self.s.wait_requests(2, timeout=1), self.s.requests)
        self.assertRaises(AssertionError, self.s.wait_requests, 3, 0.05)

    def test_keep_alive_and_chunked(self):
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=5)
        self.addCleanup(c.close)
        for i in range(3):
            c.request("POST", self.s.hook_path, json.dumps({"text": str(i)}), {"Content-Type": "application/json"})
            self.assertEqual(c.getresponse().read(), b"ok")
        c.request("POST", self.s.hook_path, iter([b'{"text":', b'"chunked"}']),
                  {"Content-Type": "application/json"}, encode_chunked=True)
        self.assertEqual(c.getresponse().read(), b"ok")
        self.assertEqual([m["text"] for m in self.s.messages], ["0", "1", "2", "chunked"])

    def test_faults_that_carry_the_request_out(self):
        self.s.fail("drop_after")
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
            self.post()
        self.s.fail("timeout_after", seconds=3)
        with self.assertRaises((socket.timeout, TimeoutError, urllib.error.URLError)):
            self.post(timeout=0.3)
        self.s.fail("drop")
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
            self.post()
        # the client saw three failures; Slack posted two of the messages
        self.assertEqual(len(self.s.messages), 2)
        self.assertEqual([r.processed for r in self.s.requests], [True, True, False])
        self.assertEqual([r.status for r in self.s.requests], [None, None, None])

    def test_faults_for_some_requests_only(self):
        n = self.fake(FakeNotion)
        h = {"Authorization": "Bearer " + n.token, "Notion-Version": "2025-09-03",
             "Content-Type": "application/json"}
        n.fail("drop_after", method="POST", path="/v1/pages")
        db = call("GET", n.url + "/v1/databases/" + n.database_id, headers=h)
        self.assertEqual(db[0], 200)
        with self.assertRaises((http.client.HTTPException, ConnectionError, urllib.error.URLError)):
            call("POST", n.url + "/v1/pages", {"parent": {"data_source_id": n.data_source_id},
                                              "properties": {"제목": {"title": [{"text": {"content": "x"}}]}}},
                 headers=h)
        # created, though the client never heard of it: what a retry must not duplicate
        self.assertEqual(len(n.pages_in()), 1)
        self.assertEqual(n.requests[1].fault, {"kind": "drop_after", "method": "POST", "path": "/v1/pages"})
        self.assertEqual(call("GET", n.url + "/v1/databases/" + n.database_id, headers=h)[0], 200)

    def test_misuse_is_a_clear_error(self):
        self.assertRaisesRegex(FakeError, "unknown fault kind 'boom'", self.s.fail, "boom")
        self.assertRaisesRegex(FakeError, "needs status=", self.s.fail, "status")
        self.assertRaisesRegex(FakeError, "unknown parameter", self.s.fail, "drop", colour=1)
        self.assertRaisesRegex(FakeError, "unknown outage mode", self.s.outage, "meltdown")

    def test_reset(self):
        self.post()
        self.s.fail_always("drop")
        self.s.reset()
        self.assertEqual((self.s.requests, self.s.messages), ([], []))
        self.assertEqual(self.post()[0], 200)


# -- Slack ----------------------------------------------------------------------

def section(text, kind="mrkdwn"):
    return {"type": "section", "text": {"type": kind, "text": text}}


class Slack(Base):
    def setUp(self):
        self.s = self.fake(FakeSlack)

    def post(self, payload, ctype="application/json"):
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        st, hd, body = call("POST", self.s.webhook_url, data, {"Content-Type": ctype} if ctype else {})
        return st, body.decode()

    def test_a_full_incident_message(self):
        msg = {"text": "🔴 High: Build Failure in app1",
               "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "🔴 빌드 실패", "emoji": True}},
                          {"type": "section", "fields": [{"type": "mrkdwn", "text": "*앱*\napp1"},
                                                         {"type": "mrkdwn", "text": "*심각도*\nHigh"}]},
                          section("```Traceback ...```"),
                          {"type": "divider"},
                          {"type": "context", "elements": [{"type": "mrkdwn", "text": "first seen 10:00"},
                                                           {"type": "plain_text", "text": "count 3"}]}]}
        self.assertEqual(self.post(msg), (200, "ok"))
        self.assertEqual(self.s.messages, [msg])
        self.assertEqual(self.post({"text": "plain"}), (200, "ok"))
        self.assertEqual(self.post(msg, "application/json; charset=utf-8"), (200, "ok"))

    def test_block_kit_limits(self):
        ko = "가" * 3000
        self.assertEqual(self.post({"text": "t", "blocks": [section(ko)]})[0], 200)
        cases = {
            "section text 3001": [section(ko + "가")],
            "empty text": [section("")],
            "51 blocks": [{"type": "divider"}] * 51,
            "header 151": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "header mrkdwn": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}],
            "11 context elements": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}],
            "11 fields": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x"}] * 11}],
            "field 2001": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}],
            "bad text type": [section("x", "markdown")],
            "emoji on mrkdwn": [{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}],
            "unknown block": [{"type": "table"}],
            "section without text": [{"type": "section"}],
            "duplicate block_id": [dict(section("a"), block_id="b1"), dict(section("b"), block_id="b1")],
            "block_id 256": [dict(section("a"), block_id="i" * 256)],
            "unknown field": [dict(section("a"), colour="red")],
        }
        for what, blocks in cases.items():
            with self.subTest(what):
                self.assertEqual(self.post({"text": "t", "blocks": blocks}), (400, "invalid_blocks"))
        self.assertEqual(self.post({"text": "t", "blocks": [{"type": "header", "text": {
            "type": "plain_text", "text": "h" * 150}}] + [{"type": "divider"}] * 49})[0], 200)
        self.assertEqual(len(self.s.messages), 2)

    def test_payload_errors(self):
        self.assertEqual(self.post({}), (400, "no_text"))
        self.assertEqual(self.post({"text": ""}), (400, "no_text"))
        self.assertEqual(self.post({"text": 5}), (400, "invalid_payload"))
        self.assertEqual(self.post(b"{not json"), (400, "invalid_payload"))
        self.assertEqual(self.post(b'{"text": "\xff\xfe"}'), (400, "invalid_payload"))
        self.assertEqual(self.post(b"[1]"), (400, "invalid_payload"))
        self.assertEqual(self.post({"text": "x"}, "text/plain"), (400, "invalid_payload"))
        self.assertEqual(self.post({"text": "x"}, None), (400, "invalid_payload"))
        self.assertEqual(self.post({"text": "x"}, "application/json; charset=latin-1"), (400, "invalid_payload"))
        self.assertEqual(self.post({"text": "t", "blocks": {"type": "divider"}}), (400, "invalid_blocks_format"))
        self.assertEqual(self.post({"text": "t", "attachments": [{"text": "a"}] * 101}),
                         (400, "too_many_attachments"))
        self.assertEqual(self.post({"text": "x" * 40001}), (400, "msg_too_long"))
        self.assertEqual(self.s.messages, [])
        self.assertEqual(self.post({"blocks": [section("no fallback")]}), (200, "ok"))
        self.assertIn("fallback", self.s.requests[-1].warnings[0])

    def test_hook_and_configuration_errors(self):
        t, b, tok = self.s.hook_path.split("/")[2:]
        self.assertEqual(call("POST", "%s/services/%s/%s/WRONG" % (self.s.url, t, b), {"text": "x"})[0:3:2],
                         (403, b"invalid_token"))
        self.assertEqual(call("POST", "%s/services/T1/B1/%s" % (self.s.url, tok), {"text": "x"})[0:3:2],
                         (404, b"no_service"))
        self.assertEqual(call("POST", self.s.url + "/hooks", {"text": "x"})[0:3:2], (404, b"no_service"))
        self.assertEqual(call("GET", self.s.webhook_url)[0], 405)
        want = {"invalid_token": 403, "no_service": 404, "channel_not_found": 404, "channel_is_archived": 410,
                "action_prohibited": 403, "posting_to_general_channel_denied": 403}
        for state, status in want.items():
            self.s.set_hook_state(state)
            self.assertEqual(self.post({"text": "x"}), (status, state))
            self.assertEqual(self.s.requests[-1].error, state)
        self.s.set_hook_state(None)
        self.assertEqual(self.post({"text": "x"})[0], 200)
        self.assertRaises(FakeError, self.s.set_hook_state, "on_fire")

    def test_server_error_bodies(self):
        for status, body in ((500, b"rollup_error"), (503, b"service_unavailable")):
            self.s.fail("status", status=status)
            self.assertEqual(call("POST", self.s.webhook_url, {"text": "x"})[0:3:2], (status, body))
        self.s.fail("status", status=502)
        st, hd, body = call("POST", self.s.webhook_url, {"text": "x"})
        self.assertEqual((st, hd["Content-Type"]), (502, "text/html"))


# -- Notion ---------------------------------------------------------------------

def title(s):
    return {"title": [{"text": {"content": s}}]}


def rich(s):
    return {"rich_text": [{"type": "text", "text": {"content": s}}]}


def para(s, children=None):
    b = {"object": "block", "type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": s}}]}}
    if children is not None:
        b["paragraph"]["children"] = children
    return b


class Notion(Base):
    def setUp(self):
        self.n = self.fake(FakeNotion)
        self.h = {"Authorization": "Bearer " + self.n.token, "Notion-Version": "2025-09-03",
                  "Content-Type": "application/json"}

    def api(self, method, path, body=None, headers=None):
        return jcall(method, self.n.url + path, body, headers or self.h)

    def create(self, props=None, children=None, parent=None):
        body = {"parent": parent or {"type": "data_source_id", "data_source_id": self.n.data_source_id},
                "properties": props if props is not None else {"제목": title("빌드 실패")}}
        if children is not None:
            body["children"] = children
        return self.api("POST", "/v1/pages", body)

    def assertNotionError(self, answer, status, code, message=None):
        st, body = answer
        self.assertEqual((st, body["object"], body["status"], body["code"]), (status, "error", status, code), body)
        self.assertIsInstance(body["message"], str)
        if message:
            self.assertIn(message, body["message"])

    def test_headers(self):
        path = "/v1/databases/" + self.n.database_id
        self.assertNotionError(self.api("GET", path, headers={"Notion-Version": "2025-09-03"}),
                               401, "unauthorized", "API token is invalid.")
        self.assertNotionError(self.api("GET", path, headers=dict(self.h, Authorization="Bearer nope")),
                               401, "unauthorized")
        self.assertNotionError(self.api("GET", path, headers=dict(self.h, Authorization=self.n.token)),
                               401, "unauthorized")
        h = dict(self.h)
        del h["Notion-Version"]
        self.assertNotionError(self.api("GET", path, headers=h), 400, "missing_version")
        self.assertNotionError(self.api("GET", path, headers=dict(self.h, **{"Notion-Version": "2022-06-28"})),
                               400, "validation_error", "2022-06-28")
        self.n.token_state = "invalid"
        self.assertNotionError(self.api("GET", path), 401, "unauthorized")
        self.n.token_state = None
        st, hd, body = call("POST", self.n.url + "/v1/pages", b"{oops", self.h)
        self.assertEqual(json.loads(body)["code"], "invalid_json")
        cut = '{"properties": {"앱": "'.encode() + "가".encode()[:2] + b'"}}'  # a character cut in two
        st, hd, body = call("POST", self.n.url + "/v1/pages", cut, self.h)
        self.assertEqual((st, json.loads(body)["code"]), (400, "invalid_json"))
        pid = self.create()[1]["id"]
        self.assertNotionError(self.api("GET", "/v1/blocks/%s/children?page_size=abc" % pid),
                               400, "validation_error", "page_size")
        st, hd, body = call("POST", self.n.url + "/v1/pages", b"{}", dict(self.h, **{"Content-Type": "text/plain"}))
        self.assertEqual((st, json.loads(body)["code"]), (400, "invalid_request"))
        self.assertNotionError(self.api("GET", "/v1/nothing"), 400, "invalid_request_url")
        self.assertNotionError(self.api("GET", "/v1/databases/not-a-uuid"), 400, "validation_error",
                               "path.database_id should be a valid uuid")

    def test_database_and_data_source(self):
        st, db = self.api("GET", "/v1/databases/" + self.n.database_id.replace("-", ""))
        self.assertEqual((st, db["object"], len(db["data_sources"])), (200, "database", 1))
        self.assertEqual(db["data_sources"][0]["id"], self.n.data_source_id)
        self.assertNotIn("properties", db)
        st, ds = self.api("GET", "/v1/data_sources/" + self.n.data_source_id)
        self.assertEqual((st, ds["object"], ds["parent"]), (200, "data_source",
                                                             {"type": "database_id", "database_id": db["id"]}))
        types = {k: v["type"] for k, v in ds["properties"].items()}
        self.assertEqual(types, {"제목": "title", "타입": "select", "앱": "rich_text", "심각도": "select",
                                 "자동수정가능": "checkbox", "상태": "select", "발생시간": "date",
                                 "Fingerprint": "rich_text"})
        self.assertEqual([o["name"] for o in ds["properties"]["상태"]["select"]["options"]],
                         ["New", "In Progress", "Resolved", "Manual Required"])
        missing = "00000000-0000-4000-8000-000000000000"
        self.assertNotionError(self.api("GET", "/v1/databases/" + missing), 404, "object_not_found",
                               "Could not find database with ID: " + missing)
        self.assertNotionError(self.api("GET", "/v1/data_sources/" + missing), 404, "object_not_found")
        self.n.restricted.add(self.n.database_id)
        self.assertNotionError(self.api("GET", "/v1/databases/" + self.n.database_id), 403, "restricted_resource")
        self.n.hidden.add(self.n.data_source_id)
        self.assertNotionError(self.api("GET", "/v1/data_sources/" + self.n.data_source_id), 404,
                               "object_not_found")

    def test_several_data_sources(self):
        n = self.fake(FakeNotion, data_sources=2)
        h = dict(self.h, Authorization="Bearer " + n.token)
        st, db = jcall("GET", n.url + "/v1/databases/" + n.database_id, headers=h)
        self.assertEqual([d["name"] for d in db["data_sources"]], ["Incidents 1", "Incidents 2"])
        st, body = jcall("POST", n.url + "/v1/pages", {"parent": {"database_id": n.database_id},
                                                      "properties": {"제목": title("x")}}, h)
        self.assertEqual((st, body["code"]), (400, "validation_error"))
        self.assertIn("2 data sources", body["message"])
        st, body = jcall("POST", self.n.url + "/v1/pages", {"parent": {"database_id": self.n.database_id},
                                                      "properties": {"제목": title("x")}}, self.h)
        self.assertEqual(st, 200)  # a single-source database still takes a database_id parent

    def test_create_page_with_every_type(self):
        st, page = self.create({"제목": title("🔴 빌드 실패"), "타입": {"select": {"name": "Build Failure"}},
                                "앱": rich("app1"), "심각도": {"select": {"name": "High"}},
                                "자동수정가능": {"checkbox": True}, "상태": {"select": {"name": "New"}},
                                "발생시간": {"date": {"start": "2026-12-01T10:00:00+09:00"}},
                                "Fingerprint": {"type": "rich_text", "rich_text": [{"text": {"content": "fp1"}}]}},
                               [para("분석"), {"type": "code", "code": {"language": "plain text",
                                                                      "rich_text": [{"text": {"content": "log"}}]}},
                                {"type": "divider", "divider": {}},
                                {"bulleted_list_item": {"rich_text": [{"text": {"content": "a"}}],
                                                        "children": [para("nested")]}}])
        self.assertEqual((st, page["object"], page["parent"]["data_source_id"]),
                         (200, "page", self.n.data_source_id))
        self.assertEqual(page["properties"]["심각도"]["select"]["name"], "High")
        self.assertEqual(page["properties"]["제목"]["title"][0]["plain_text"], "🔴 빌드 실패")
        self.assertEqual(self.n.simple_properties(page["id"]),
                         {"제목": "🔴 빌드 실패", "타입": "Build Failure", "앱": "app1", "심각도": "High",
                          "자동수정가능": True, "상태": "New", "발생시간": "2026-12-01T10:00:00+09:00",
                          "Fingerprint": "fp1"})
        self.assertEqual(self.n.page_text(page["id"]), ["분석", "log", "", "a", "nested"])
        st, got = self.api("GET", "/v1/pages/" + page["id"])
        self.assertEqual(got, page)

    def test_select_option_is_created_and_failures_change_nothing(self):
        st, page = self.create({"제목": title("x"), "심각도": {"select": {"name": "Catastrophic"}}})
        self.assertEqual(st, 200)
        self.assertIn("Catastrophic", self.n.options("심각도"))
        st, body = self.create({"제목": title("x"), "타입": {"select": {"name": "Brand new"}}},
                               [para("x" * 2001)])
        self.assertEqual(st, 400)
        self.assertNotIn("Brand new", self.n.options("타입"))
        st, body = self.create({"제목": title("x"), "타입": {"select": {"name": "Another"}},
                                "앱": {"checkbox": 1}})
        self.assertEqual(st, 400)
        self.assertNotIn("Another", self.n.options("타입"))
        self.assertEqual(len(self.n.pages_in()), 1)

    def test_property_validation(self):
        cases = [
            ({"없음": rich("x")}, "없음 is not a property that exists."),
            ({"심각도": rich("High")}, "심각도 is expected to be select."),
            ({"앱": {"type": "title", "rich_text": []}}, "앱 is expected to be rich_text."),
            ({"자동수정가능": {"checkbox": "yes"}}, "body.properties.자동수정가능.checkbox should be a boolean"),
            ({"발생시간": {"date": {"start": "yesterday"}}}, "should be a valid ISO 8601 date string"),
            ({"발생시간": {"date": {}}}, "body.properties.발생시간.date.start should be defined"),
            ({"심각도": {"select": {"name": "High, Low"}}}, "commas are not allowed"),
            ({"심각도": {"select": "High"}}, "should be an object with a name or an id"),
            ({"앱": {"rich_text": "app1"}}, "body.properties.앱.rich_text should be an array"),
            ({"앱": {"rich_text": [{"text": {"content": "x"}}] * 101}},
             "body.properties.앱.rich_text.length should be ≤ `100`, instead was `101`."),
            ({"앱": {"rich_text": [{"text": {"content": "a", "link": {"url": "u" * 2001}}}]}},
             "text.link.url.length should be ≤ `2000`"),
            ({"앱": {"rich_text": [{"text": {"content": "a"}, "annotations": {"bold": "yes"}}]}},
             "annotations.bold should be a boolean"),
        ]
        for props, message in cases:
            with self.subTest(message):
                self.assertNotionError(self.create(dict(props, 제목=title("x"))), 400, "validation_error",
                                       message)
        self.assertNotionError(self.api("POST", "/v1/pages", {"properties": {}}), 400, "validation_error",
                               "body.parent should be defined")
        self.assertEqual(self.n.pages_in(), [])

    def test_text_and_children_limits(self):
        ko = "가" * 2000
        self.assertEqual(self.create(children=[para(ko)])[0], 200)
        self.assertNotionError(self.create(children=[para(ko + "나")]), 400, "validation_error",
                               "body.children[0].paragraph.rich_text[0].text.content.length should be ≤ `2000`, "
                               "instead was `2001`.")
        # Notion counts UTF-16 units, as JavaScript does: an emoji is two.
        self.assertNotionError(self.create(children=[para("a" * 1999 + "🔴")]), 400, "validation_error",
                               "instead was `2001`")
        self.assertEqual(self.create(children=[para("a" * 1998 + "🔴")])[0], 200)
        self.assertEqual(self.create(children=[para("x")] * 100)[0], 200)
        self.assertNotionError(self.create(children=[para("x")] * 101), 400, "validation_error",
                               "body.children.length should be ≤ `100`, instead was `101`.")
        self.assertEqual(self.create(children=[para("1", [para("2")])])[0], 200)
        self.assertNotionError(self.create(children=[para("1", [para("2", [para("3")])])]), 400,
                               "validation_error", "at most 2 levels of nesting")
        self.assertNotionError(self.create(children=[{"code": {"language": "klingon", "rich_text": []}}]), 400,
                               "validation_error", "body.children[0].code.language")
        self.assertNotionError(self.create(children=[{"type": "video", "video": {}}]), 400, "validation_error")
        self.assertNotionError(self.create(children=[{"type": "heading_1", "heading_1": {
            "rich_text": [], "children": [para("x")]}}]), 400, "validation_error")

    def test_update_append_delete(self):
        st, page = self.create({"제목": title("x"), "상태": {"select": {"name": "New"}}}, [para("one")])
        pid = page["id"]
        st, up = self.api("PATCH", "/v1/pages/" + pid,
                          {"properties": {"상태": {"select": {"name": "In Progress"}}}})
        self.assertEqual((st, up["properties"]["상태"]["select"]["name"]), (200, "In Progress"))
        self.assertNotionError(self.api("PATCH", "/v1/pages/" + pid, {"properties": {"상태": rich("x")}}),
                               400, "validation_error", "상태 is expected to be select.")
        st, res = self.api("PATCH", "/v1/blocks/%s/children" % pid, {"children": [para("two"), para("three")]})
        self.assertEqual((st, res["object"], len(res["results"])), (200, "list", 2))
        self.assertEqual(self.n.page_text(pid), ["one", "two", "three"])
        self.assertNotionError(self.api("PATCH", "/v1/blocks/%s/children" % pid, {"children": [para("x")] * 101}),
                               400, "validation_error", "body.children.length should be ≤ `100`")
        self.assertNotionError(self.api("PATCH", "/v1/blocks/%s/children" % pid, {}), 400, "validation_error")
        st, listing = self.api("GET", "/v1/blocks/%s/children" % pid)
        self.assertEqual([plain(b) for b in listing["results"]], ["one", "two", "three"])
        st, gone = self.api("DELETE", "/v1/blocks/" + pid)
        self.assertEqual((st, gone["in_trash"]), (200, True))
        self.assertEqual(self.n.pages_in(), [])
        st, q = self.api("POST", "/v1/data_sources/%s/query" % self.n.data_source_id, {})
        self.assertEqual(q["results"], [])
        self.assertNotionError(self.api("PATCH", "/v1/pages/" + pid, {"properties": {}}), 400, "validation_error",
                               "archived")
        st, back = self.api("PATCH", "/v1/pages/" + pid, {"in_trash": False})
        self.assertEqual((st, back["in_trash"]), (200, False))

    def test_query_filter_and_pagination(self):
        self.n.clock = lambda: 1_800_000_000.0  # 2027-01-15T08:00:00Z
        for i in range(5):
            self.create({"제목": title("p%d" % i), "Fingerprint": rich("fp%d" % (i % 2)),
                         "상태": {"select": {"name": "New"}}})
        ds = "/v1/data_sources/%s/query" % self.n.data_source_id
        st, q = self.api("POST", ds, {"filter": {"property": "Fingerprint", "rich_text": {"equals": "fp1"}}})
        self.assertEqual(sorted(plain(p["properties"]["제목"]) for p in q["results"]), ["p1", "p3"])
        seen, cursor = [], None
        while True:
            body = {"page_size": 2}
            if cursor:
                body["start_cursor"] = cursor
            st, q = self.api("POST", ds, body)
            seen += [p["id"] for p in q["results"]]
            self.assertLessEqual(len(q["results"]), 2)
            if not q["has_more"]:
                self.assertIsNone(q["next_cursor"])
                break
            cursor = q["next_cursor"]
        self.assertEqual(sorted(seen), sorted(p["id"] for p in self.n.pages_in()))
        # A person sets one page to Resolved later; the sync finds it by last edit.
        target = self.n.pages_in()[3]["id"]
        self.n.clock = lambda: 1_800_000_600.0 + 42.5
        self.n.edit_page(target, {"상태": "Resolved"})
        page = self.n.pages[target]
        self.assertEqual((page["last_edited_time"], page["last_edited_by"]["id"]),
                         ("2027-01-15T08:10:00.000Z", "00000000-0000-4000-8000-0000000000a1"))
        st, q = self.api("POST", ds, {"filter": {"and": [
            {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": "2027-01-15T08:05:00Z"}},
            {"property": "상태", "select": {"does_not_equal": "New"}}]}})
        self.assertEqual([p["id"] for p in q["results"]], [target])
        st, q = self.api("POST", ds, {"sorts": [{"property": "제목", "direction": "descending"}]})
        self.assertEqual([plain(p["properties"]["제목"]) for p in q["results"]], ["p4", "p3", "p2", "p1", "p0"])
        self.assertNotionError(self.api("POST", ds, {"filter": {"property": "nope", "rich_text": {"equals": "x"}}}),
                               400, "validation_error", "Could not find property with name or id: nope")
        self.assertNotionError(self.api("POST", ds, {"filter": {"property": "상태",
                                                                "rich_text": {"equals": "x"}}}),
                               400, "validation_error", "상태 is a select property")
        self.assertNotionError(self.api("POST", ds, {"start_cursor": "bogus"}), 400, "validation_error")
        self.assertNotionError(self.api("POST", ds, {"page_size": 101}), 400, "validation_error")
        self.assertNotionError(self.api("POST", ds, {"filter": {"or": [{"and": [{"or": []}]}]}}), 400,
                               "validation_error", "two levels")

    def test_fault_bodies(self):
        path = "/v1/databases/" + self.n.database_id
        for status, code in ((409, "conflict_error"), (500, "internal_server_error"),
                             (503, "service_unavailable"), (504, "gateway_timeout")):
            self.n.fail("status", status=status)
            self.assertNotionError(self.api("GET", path), status, code)
        self.n.fail("rate_limit", retry_after=2)
        st, hd, body = call("GET", self.n.url + path, headers=self.h)
        self.assertEqual((st, hd["Retry-After"], json.loads(body)["code"]), (429, "2", "rate_limited"))
        self.n.rate_limit(0.2, burst=3)
        statuses = [call("GET", self.n.url + path, headers=self.h)[0] for _ in range(4)]
        self.assertEqual(statuses, [200, 200, 200, 429])
        self.assertEqual(self.n.requests[-1].error, "rate_limited")

    def test_schema_edit(self):
        self.n.set_schema_property("심각도", None)
        self.n.set_schema_property("앱", "select")
        self.assertNotIn("심각도", self.n.schema())
        self.assertEqual(self.n.schema()["앱"], "select")


def plain(x):
    if isinstance(x, dict) and "type" in x:
        x = x[x["type"]]
    if isinstance(x, dict):
        x = x.get("rich_text", [])
    return "".join(r["plain_text"] for r in x)


# -- Gemini ---------------------------------------------------------------------

SCHEMA = {"type": "OBJECT", "properties": {
    "category": {"type": "STRING"}, "cause": {"type": "STRING"}, "fix_summary": {"type": "STRING"},
    "fix_id": {"type": "STRING", "enum": ["flutter_clean", "flutter_pub_get", "none"]},
    "confidence": {"type": "NUMBER"}, "details": {"type": "STRING"}},
    "required": ["category", "cause", "fix_id", "confidence"], "propertyOrdering": ["category", "cause"]}


class Gemini(Base):
    def setUp(self):
        self.g = self.fake(FakeGemini)
        self.h = {"x-goog-api-key": self.g.api_key, "Content-Type": "application/json"}
        self.gen = self.g.url + "/v1beta/models/gemini-3.5-flash:generateContent"

    def req(self, prompt="Build failed: ModuleNotFoundError: No module named 'yaml'", **gc):
        body = {"systemInstruction": {"parts": [{"text": "You analyse build failures. Answer in ko."}]},
                "contents": [{"role": "user", "parts": [{"text": prompt}]}]}
        if gc:
            body["generationConfig"] = gc
        return body

    def generate(self, body, headers=None, url=None):
        return jcall("POST", url or self.gen, body, headers or self.h)

    def assertGoogleError(self, answer, code, status, reason=None, message=None):
        st, body = answer
        err = body["error"]
        self.assertEqual((st, err["code"], err["status"]), (code, code, status), body)
        if reason:
            self.assertIn(reason, [d.get("reason") for d in err.get("details", [])])
        if message:
            self.assertIn(message, err["message"])
        return err

    def text(self, resp):
        return resp["candidates"][0]["content"]["parts"][0]["text"]

    def test_structured_answer_synthesized_from_the_schema(self):
        st, r = self.generate(self.req(responseMimeType="application/json", responseSchema=SCHEMA,
                                       maxOutputTokens=1024, temperature=0.2))
        self.assertEqual((st, r["candidates"][0]["finishReason"]), (200, "STOP"))
        self.assertEqual(json.loads(self.text(r)), {"category": "", "cause": "", "fix_summary": "",
                                                    "fix_id": "flutter_clean", "confidence": 0, "details": ""})
        u = r["usageMetadata"]
        self.assertEqual(u["totalTokenCount"], u["promptTokenCount"] + u["candidatesTokenCount"])
        self.assertGreater(u["promptTokenCount"], 0)
        self.assertIn("You analyse", self.g.calls[0]["prompt"])
        self.assertIn("yaml", self.g.calls[0]["prompt"])
        js = {"type": "object", "properties": {"fix_id": {"type": "string", "enum": ["none"]}},
              "required": ["fix_id"], "additionalProperties": False}
        st, r = self.generate(self.req(responseMimeType="application/json", responseJsonSchema=js))
        self.assertEqual(json.loads(self.text(r)), {"fix_id": "none"})
        # proto JSON takes the snake_case names too
        st, r = self.generate({"system_instruction": {"parts": [{"text": "s"}]},
                               "contents": [{"parts": [{"text": "p"}]}],
                               "generation_config": {"response_mime_type": "application/json",
                                                     "response_schema": SCHEMA}})
        self.assertEqual(st, 200)

    def test_scripted_answers(self):
        self.g.answer(json={"category": "dependency", "fix_id": "none"})
        self.g.answer("not json at all")
        self.g.answer_when("flutter", {"json": {"fix_id": "flutter_clean"}})
        self.g.answer_fn = lambda prompt, body: "fn:" + prompt[-3:] if "fn" in prompt else None
        self.assertEqual(json.loads(self.text(self.generate(self.req())[1])), {"category": "dependency",
                                                                               "fix_id": "none"})
        self.assertEqual(self.text(self.generate(self.req())[1]), "not json at all")
        self.assertEqual(json.loads(self.text(self.generate(self.req("flutter build apk failed"))[1])),
                         {"fix_id": "flutter_clean"})
        self.assertEqual(self.text(self.generate(self.req("use fn"))[1]), "fn: fn")
        self.assertEqual(self.text(self.generate(self.req("other"))[1]), "OK")
        self.assertEqual(len(self.g.calls), 5)

    def test_blocked_empty_and_truncated(self):
        self.g.answer(block_reason="SAFETY")
        st, r = self.generate(self.req())
        self.assertEqual((st, r["promptFeedback"]["blockReason"]), (200, "SAFETY"))
        self.assertNotIn("candidates", r)
        self.g.answer(finish_reason="SAFETY", text="x")
        st, r = self.generate(self.req())
        self.assertEqual(r["candidates"][0]["finishReason"], "SAFETY")
        self.assertNotIn("content", r["candidates"][0])
        self.g.answer(empty=True)
        st, r = self.generate(self.req())
        self.assertNotIn("parts", r["candidates"][0]["content"])
        self.g.answer(no_candidates=True)
        self.assertNotIn("candidates", self.generate(self.req())[1])
        self.g.answer(json={"details": "long " * 400})
        st, r = self.generate(self.req(responseMimeType="application/json", responseSchema=SCHEMA,
                                       maxOutputTokens=50))
        self.assertEqual(r["candidates"][0]["finishReason"], "MAX_TOKENS")
        self.assertEqual(len(self.text(r)), 200)
        self.assertRaises(ValueError, json.loads, self.text(r))
        self.g.answer(Answer(text='{"fix_id": "fl', finish_reason="MAX_TOKENS"))
        self.assertEqual(self.generate(self.req())[1]["candidates"][0]["finishReason"], "MAX_TOKENS")

    def test_keys(self):
        self.assertGoogleError(self.generate(self.req(), {"Content-Type": "application/json"}), 403,
                               "PERMISSION_DENIED", message="unregistered callers")
        err = self.assertGoogleError(self.generate(self.req(), dict(self.h, **{"x-goog-api-key": "AIzaWRONG"})),
                                     400, "INVALID_ARGUMENT", "API_KEY_INVALID", "API key not valid.")
        self.assertEqual(err["details"][0]["@type"], "type.googleapis.com/google.rpc.ErrorInfo")
        self.assertEqual(err["details"][0]["metadata"]["service"], "generativelanguage.googleapis.com")
        # a key in the URL is refused, and flagged on the record
        self.assertGoogleError(self.generate(self.req(), {"Content-Type": "application/json"},
                                             self.gen + "?key=" + self.g.api_key), 400, "INVALID_ARGUMENT",
                               message="x-goog-api-key")
        self.assertIn("API key in the URL (?key=)", self.g.requests[-1].warnings)
        self.assertNotIn(self.g.api_key, json.dumps(self.g.requests[-1].to_dict(redact=True)))
        self.g.reject_key_in_url = False
        self.assertEqual(self.generate(self.req(), {"Content-Type": "application/json"},
                                       self.gen + "?key=" + self.g.api_key)[0], 200)
        self.assertIn("API key in the URL (?key=)", self.g.requests[-1].warnings)
        for state, code, status, reason in (("expired", 400, "INVALID_ARGUMENT", "API_KEY_INVALID"),
                                            ("invalid", 400, "INVALID_ARGUMENT", "API_KEY_INVALID"),
                                            ("service_disabled", 403, "PERMISSION_DENIED", "SERVICE_DISABLED"),
                                            ("permission_denied", 403, "PERMISSION_DENIED", None)):
            self.g.set_key_state(state)
            self.assertGoogleError(self.generate(self.req()), code, status, reason)
        self.g.set_key_state("quota_exhausted")
        err = self.assertGoogleError(self.generate(self.req()), 429, "RESOURCE_EXHAUSTED")
        retry = [d for d in err["details"] if d["@type"] == "type.googleapis.com/google.rpc.RetryInfo"]
        self.assertEqual(retry[0]["retryDelay"], "17s")
        self.g.set_key_state(None)
        self.assertEqual(self.generate(self.req())[0], 200)

    def test_models(self):
        st, m = jcall("GET", self.g.url + "/v1beta/models/gemini-3.5-flash", headers=self.h)
        self.assertEqual((st, m["name"]), (200, "models/gemini-3.5-flash"))
        self.assertIn("generateContent", m["supportedGenerationMethods"])
        self.assertGoogleError(jcall("GET", self.g.url + "/v1beta/models/gemini-2.0-flash", headers=self.h),
                               404, "NOT_FOUND", message="models/gemini-2.0-flash is not found")
        self.assertGoogleError(self.generate(self.req(), url=self.g.url + "/v1beta/models/gemini-1.5-flash:"
                                             "generateContent"), 404, "NOT_FOUND", message="gemini-1.5-flash")
        self.g.retired_models.add("gemini-3.5-flash")
        self.g.served_models.discard("gemini-3.5-flash")
        self.assertGoogleError(self.generate(self.req()), 404, "NOT_FOUND")
        st, lst = jcall("GET", self.g.url + "/v1beta/models", headers=self.h)
        self.assertNotIn("models/gemini-3.5-flash", [x["name"] for x in lst["models"]])
        self.assertGoogleError(jcall("GET", self.g.url + "/v1/models/x", headers=self.h), 404, "NOT_FOUND")

    def test_request_validation(self):
        cases = [
            ({"contents": []}, "contents is not specified"),
            ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "Please use a valid role: user, model."),
            ({"contents": [{"parts": []}]}, "must not be empty"),
            ({"contents": [{"parts": [{"text": 1}]}]}, "TYPE_STRING"),
            (dict(self.req(), prompt="x"), 'Unknown name "prompt"'),
            (self.req(responseMimeType="application/yaml"), "allowed mimetypes"),
            (self.req(responseFormat="json"), 'Unknown name "responseFormat" at \'generation_config\''),
            (self.req(responseMimeType="application/json", responseSchema=dict(SCHEMA, additionalProperties=False)),
             'Unknown name "additionalProperties" at \'generation_config.response_schema\''),
            (self.req(responseMimeType="application/json", responseSchema={"type": "DICT"}), "Type"),
            (self.req(responseMimeType="application/json", responseSchema={"type": "OBJECT", "required": ["x"]}),
             "property is not defined: x"),
            (self.req(responseMimeType="application/json", responseSchema=SCHEMA, responseJsonSchema={}),
             "cannot both be set"),
            (self.req(responseSchema=SCHEMA), "needs response_mime_type application/json"),
            (self.req(maxOutputTokens=0), "max_output_tokens"),
            (self.req(temperature=3), "temperature"),
            (self.req(responseMimeType="application/json", responseJsonSchema={"type": "dict"}), "unknown type"),
        ]
        for body, message in cases:
            with self.subTest(message):
                err = self.assertGoogleError(self.generate(body), 400, "INVALID_ARGUMENT", message=message)
                self.assertIn(message, err["message"])
        st, hd, b = call("POST", self.gen, b"{nope", self.h)
        self.assertEqual((st, json.loads(b)["error"]["status"]), (400, "INVALID_ARGUMENT"))
        cut = '{"contents": [{"parts": [{"text": "'.encode() + "가".encode()[:2] + b'"}]}]}'
        st, hd, b = call("POST", self.gen, cut, self.h)
        self.assertEqual((st, json.loads(b)["error"]["status"]), (400, "INVALID_ARGUMENT"))
        st, hd, b = call("POST", self.gen, json.dumps(self.req()).encode(),
                         {"x-goog-api-key": self.g.api_key, "Content-Type": "text/plain"})
        self.assertEqual(st, 400)
        self.assertEqual(self.g.calls, [])

    def test_fault_bodies(self):
        self.g.fail("status", status=429, retry_after=3)
        err = self.assertGoogleError(self.generate(self.req()), 429, "RESOURCE_EXHAUSTED")
        self.assertIn({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}, err["details"])
        self.g.fail("status", status=503)
        self.assertGoogleError(self.generate(self.req()), 503, "UNAVAILABLE",
                               message="The model is overloaded. Please try again later.")
        self.g.fail("status", status=500)
        self.assertGoogleError(self.generate(self.req()), 500, "INTERNAL")
        self.g.fail("status", status=502)
        st, hd, b = call("POST", self.gen, self.req(), self.h)
        self.assertEqual((st, hd["Content-Type"].split(";")[0]), (502, "text/html"))
        self.assertEqual(self.g.calls, [])
        self.assertEqual([r.error for r in self.g.requests[:3]], ["RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL"])


# -- as a process -------------------------------------------------------------

class Standalone(unittest.TestCase):
    def spawn(self, kind, *args):
        d = tempfile.mkdtemp(prefix="fakes-test.")
        self.addCleanup(subprocess.run, ["rm", "-rf", d])
        port_file, info_file, log = (os.path.join(d, n) for n in ("port", "info.json", "log.jsonl"))
        p = subprocess.Popen([sys.executable, os.path.join(LIB, "fakes.py"), kind, "--port-file", port_file,
                              "--info-file", info_file, "--log", log] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def kill():
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()
        self.addCleanup(kill)
        deadline = time.monotonic() + 10
        while not os.path.exists(port_file):
            self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
            self.assertLess(time.monotonic(), deadline, "no port file")
            time.sleep(0.02)
        with open(port_file) as f:
            port = int(f.read())
        with open(info_file) as f:
            info = json.load(f)
        self.assertEqual(info["port"], port)
        info["_file"] = info_file
        return p, info, log

    def ctl(self, info, method, path, body=None):
        st, answer = jcall(method, info["control_url"] + path, body)
        self.assertEqual(st, 200, answer)
        return answer

    def ctl_command(self, *args):
        return subprocess.run([sys.executable, os.path.join(LIB, "fakes.py"), "ctl"] + list(args),
                              capture_output=True, text=True, timeout=20)

    def test_slack_process(self):
        p, info, log = self.spawn("slack", "--hook-path", "/services/T0E2E/B0E2E/secrettoken")
        self.assertEqual(info["webhook_url"], info["url"] + "/services/T0E2E/B0E2E/secrettoken")
        self.assertEqual(call("POST", info["webhook_url"], {"text": "from the container"})[0:3:2], (200, b"ok"))
        self.ctl(info, "POST", "/_fake/faults", {"kind": "drop", "path": "/services/T0OTHER"})
        self.ctl(info, "POST", "/_fake/faults", {"kind": "status", "status": 503, "count": 1})
        self.assertEqual(call("POST", info["webhook_url"], {"text": "x"})[0], 503)
        self.ctl(info, "POST", "/_fake/outage", {"mode": "refuse"})
        with self.assertRaises(urllib.error.URLError):
            call("POST", info["webhook_url"], {"text": "x"})
        self.ctl(info, "DELETE", "/_fake/outage")
        self.assertEqual(call("POST", info["webhook_url"], {"text": "back"})[0], 200)
        self.ctl(info, "POST", "/_fake/slack/hook_state", {"state": "channel_is_archived"})
        self.assertEqual(call("POST", info["webhook_url"], {"text": "x"})[0:3:2], (410, b"channel_is_archived"))
        self.ctl(info, "POST", "/_fake/knobs", {"hook_state": None})
        state = self.ctl(info, "GET", "/_fake/state")
        self.assertEqual([m["text"] for m in state["messages"]], ["from the container", "back"])
        reqs = self.ctl(info, "GET", "/_fake/requests")
        self.assertEqual([r["status"] for r in reqs], [200, 503, 200, 410])
        # the shell's way in: fakes.py ctl, through the info file
        r = self.ctl_command("--info-file", info["_file"], "GET", "/_fake/state")
        self.assertEqual((r.returncode, json.loads(r.stdout)["webhook_url"]), (0, info["webhook_url"]), r.stderr)
        r = self.ctl_command("--url", info["control_url"], "POST", "/_fake/faults", '{"kind": "boom"}')
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown fault kind", r.stderr)
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 0)
        with open(log) as f:
            lines = [json.loads(x) for x in f]
        self.assertEqual(len(lines), 4)
        self.assertNotIn("secrettoken", "".join(x["headers"].get("authorization", "") for x in lines))

    def test_notion_and_gemini_processes(self):
        p, info, log = self.spawn("notion", "--token", "ntn_e2e")
        h = {"Authorization": "Bearer ntn_e2e", "Notion-Version": "2025-09-03", "Content-Type": "application/json"}
        st, page = jcall("POST", info["url"] + "/v1/pages", {
            "parent": {"data_source_id": info["data_source_id"]},
            "properties": {"제목": title("e2e"), "상태": {"select": {"name": "New"}}}}, h)
        self.assertEqual(st, 200)
        self.ctl(info, "POST", "/_fake/notion/edit", {"page_id": page["id"], "properties": {"상태": "Resolved"}})
        st, got = jcall("GET", info["url"] + "/v1/pages/" + page["id"], headers=h)
        self.assertEqual(got["properties"]["상태"]["select"]["name"], "Resolved")
        state = self.ctl(info, "GET", "/_fake/state")
        self.assertEqual([pg["id"] for pg in state["pages"]], [page["id"]])
        with open(log) as f:
            self.assertIn("<redacted", f.read())

        p, info, log = self.spawn("gemini", "--api-key", "AIzaE2E")
        self.ctl(info, "POST", "/_fake/gemini/answers", {"answers": [{"json": {"fix_id": "none"}}]})
        self.ctl(info, "POST", "/_fake/gemini/rules", {"rules": [{"contains": "pip", "answer": "rule"}]})
        h = {"x-goog-api-key": "AIzaE2E", "Content-Type": "application/json"}
        url = info["url"] + "/v1beta/models/gemini-3.5-flash:generateContent"
        st, r = jcall("POST", url, {"contents": [{"parts": [{"text": "pip failed"}]}]}, h)
        self.assertEqual(json.loads(r["candidates"][0]["content"]["parts"][0]["text"]), {"fix_id": "none"})
        st, r = jcall("POST", url, {"contents": [{"parts": [{"text": "pip failed"}]}]}, h)
        self.assertEqual(r["candidates"][0]["content"]["parts"][0]["text"], "rule")
        self.ctl(info, "POST", "/_fake/gemini/key_state", {"state": "expired"})
        st, r = jcall("POST", url, {"contents": [{"parts": [{"text": "x"}]}]}, h)
        self.assertEqual(r["error"]["details"][0]["reason"], "API_KEY_INVALID")
        self.assertEqual(len(self.ctl(info, "GET", "/_fake/state")["calls"]), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
