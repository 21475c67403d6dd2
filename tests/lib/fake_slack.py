# SPDX-License-Identifier: MIT
"""A loopback fake of a Slack incoming webhook.

It accepts POST /services/T…/B…/… with a JSON message and validates it as
the real webhook does: Content-Type, UTF-8, the JSON shape, `text`,
`attachments` and Block Kit's limits, answering the real plain-text
errors (invalid_payload, no_text, invalid_blocks, too_many_attachments …)
with their HTTP statuses. The hook's state can be set to what Slack says
when the configuration is wrong (invalid_token, no_service,
channel_not_found, channel_is_archived, action_prohibited,
posting_to_general_channel_denied). Accepted messages are in .messages.
The limits and where each comes from are in FAKES.md."""

import json
import re
import secrets
import string

from fakehttp import FakeError, FakeServer, Response, retry_after_seconds

HOOK_STATES = {
    # state: (HTTP status, body) as the real webhook answers
    "invalid_token": (403, "invalid_token"),
    "no_service": (404, "no_service"),
    "channel_not_found": (404, "channel_not_found"),
    "channel_is_archived": (410, "channel_is_archived"),
    "action_prohibited": (403, "action_prohibited"),
    "posting_to_general_channel_denied": (403, "posting_to_general_channel_denied"),
    "team_disabled": (403, "team_disabled"),
}

MAX_BLOCKS = 50
MAX_ATTACHMENTS = 100
MAX_TEXT_OBJECT = 3000          # any text object
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELD = 2000
MAX_SECTION_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255
MAX_ACTIONS_ELEMENTS = 25
MAX_IMAGE_URL = 3000
MAX_ALT_TEXT = 2000
MAX_MARKDOWN_TOTAL = 12000      # cumulative text of markdown blocks in a payload
SOFT_TEXT = 4000                # Slack advises at most 4,000 characters of text
MAX_TEXT = 40000                # and truncates past 40,000

_HOOK_RE = re.compile(r"^/services/(T[A-Z0-9]+)/(B[A-Z0-9]+)/([A-Za-z0-9]+)$")


class BlockError(Exception):
    """A Block Kit rule broken: Slack answers 400 invalid_blocks."""


def _rand(n):
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


class FakeSlack(FakeServer):
    NAME = "slack"
    KNOBS = ("hook_state", "strict_content_type")

    def __init__(self, host="127.0.0.1", port=0, hook_path=None):
        super().__init__(host, port)
        self.hook_path = hook_path or "/services/T0FAKE%s/B0FAKE%s/%s" % (
            _rand(4).upper(), _rand(4).upper(), _rand(24))
        if not _HOOK_RE.match(self.hook_path):
            raise FakeError("hook_path %r is not /services/T…/B…/TOKEN" % self.hook_path)
        self.hook_state = None          # one of HOOK_STATES, or None when all is well
        self.strict_content_type = True
        self.messages = []              # accepted payloads (parsed JSON), in order

    @property
    def webhook_url(self):
        return self.url + self.hook_path

    def set_hook_state(self, state):
        if state is not None and state not in HOOK_STATES:
            raise FakeError("unknown hook state %r (known: %s)" % (state, ", ".join(HOOK_STATES)))
        self.hook_state = state

    def state(self):
        return {"webhook_url": self.webhook_url, "hook_state": self.hook_state,
                "messages": self.messages}

    def reset(self):
        super().reset()
        with self._lock:
            self.messages.clear()
            self.hook_state = None

    # -- errors -------------------------------------------------------------

    def error_response(self, status, retry_after=None):
        if status == 429:
            return Response(429, "rate_limited", "text/plain; charset=utf-8",
                            {"Retry-After": retry_after_seconds(retry_after)})
        if status == 502:
            return Response(502, "<html><head><title>502 Bad Gateway</title></head>"
                            "<body>502 Bad Gateway</body></html>", "text/html")
        if status == 503:
            return Response(503, "service_unavailable", "text/plain; charset=utf-8")
        if status >= 500:
            return Response(status, "rollup_error", "text/plain; charset=utf-8")
        return Response(status, "invalid_payload", "text/plain; charset=utf-8")

    def error_code(self, resp):
        if resp.content_type.startswith("text/plain"):
            return resp.body.decode("utf-8", "replace")
        return None

    def _err(self, status, code):
        return Response(status, code, "text/plain; charset=utf-8")

    # -- the webhook --------------------------------------------------------

    def handle(self, req):
        m = _HOOK_RE.match(req.path)
        if not m:
            return self._err(404, "no_service")
        if req.method != "POST":
            return self._err(405, "invalid_method")
        want = _HOOK_RE.match(self.hook_path)
        if m.group(1, 2) != want.group(1, 2):
            return self._err(404, "no_service")
        if m.group(3) != want.group(3):
            return self._err(403, "invalid_token")
        if self.hook_state:
            return self._err(*HOOK_STATES[self.hook_state])

        ctype = req.header("content-type", "")
        mime, _, params = ctype.partition(";")
        if self.strict_content_type and mime.strip().lower() != "application/json":
            return self._err(400, "invalid_payload")
        charset = re.search(r"charset=([^;]+)", params, re.I)
        if charset and charset.group(1).strip().strip('"').lower() not in ("utf-8", "utf8"):
            return self._err(400, "invalid_payload")
        try:
            text = req.body.decode("utf-8")
            payload = json.loads(text)
        except (UnicodeDecodeError, ValueError):
            return self._err(400, "invalid_payload")
        if not isinstance(payload, dict):
            return self._err(400, "invalid_payload")

        msg_text = payload.get("text")
        if msg_text is not None and not isinstance(msg_text, str):
            return self._err(400, "invalid_payload")
        blocks = payload.get("blocks")
        attachments = payload.get("attachments")
        if attachments is not None:
            if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
                return self._err(400, "invalid_attachments")
            if len(attachments) > MAX_ATTACHMENTS:
                return self._err(400, "too_many_attachments")
        if blocks is not None:
            if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
                return self._err(400, "invalid_blocks_format")
            try:
                validate_blocks(blocks)
            except BlockError as e:
                req.warnings.append("invalid_blocks: %s" % e)
                return self._err(400, "invalid_blocks")
        if not msg_text and not blocks and not attachments:
            return self._err(400, "no_text")
        if msg_text and len(msg_text) > MAX_TEXT:
            return self._err(400, "msg_too_long")
        if msg_text and len(msg_text) > SOFT_TEXT:
            req.warnings.append("text has %d characters; Slack advises at most %d" % (len(msg_text), SOFT_TEXT))
        if blocks and not msg_text:
            req.warnings.append("blocks without a top-level text fallback (notifications show nothing)")
        with self._lock:
            self.messages.append(payload)
        return Response(200, "ok", "text/html")

    def control(self, req, parts):
        if parts == ["hook_state"] and req.method == "POST":
            self.set_hook_state((req.json or {}).get("state"))
            return Response(200, {"ok": True})
        return None


# -- Block Kit --------------------------------------------------------------

def _check_len(value, limit, what, minimum=1):
    if not isinstance(value, str):
        raise BlockError("%s must be a string" % what)
    if len(value) < minimum:
        raise BlockError("%s must have at least %d character(s)" % (what, minimum))
    if len(value) > limit:
        raise BlockError("%s has %d characters, more than %d" % (what, len(value), limit))


def _text_object(obj, what, limit=MAX_TEXT_OBJECT, plain_only=False):
    if not isinstance(obj, dict):
        raise BlockError("%s must be a text object" % what)
    t = obj.get("type")
    if t not in ("plain_text", "mrkdwn"):
        raise BlockError("%s.type must be plain_text or mrkdwn, not %r" % (what, t))
    if plain_only and t != "plain_text":
        raise BlockError("%s must be plain_text" % what)
    _check_len(obj.get("text"), limit, what + ".text")
    if "emoji" in obj and (t != "plain_text" or not isinstance(obj["emoji"], bool)):
        raise BlockError("%s.emoji is only a boolean of plain_text" % what)
    if "verbatim" in obj and (t != "mrkdwn" or not isinstance(obj["verbatim"], bool)):
        raise BlockError("%s.verbatim is only a boolean of mrkdwn" % what)
    extra = set(obj) - {"type", "text", "emoji", "verbatim"}
    if extra:
        raise BlockError("%s has unknown field(s) %s" % (what, ", ".join(sorted(extra))))


def _image_element(el, what):
    if el.get("type") != "image":
        raise BlockError("%s.type must be image" % what)
    if "image_url" not in el and "slack_file" not in el:
        raise BlockError("%s needs image_url or slack_file" % what)
    if "image_url" in el:
        _check_len(el["image_url"], MAX_IMAGE_URL, what + ".image_url")
    _check_len(el.get("alt_text"), MAX_ALT_TEXT, what + ".alt_text")


def validate_blocks(blocks):
    """Raises BlockError naming the first rule a message's blocks break."""
    if len(blocks) > MAX_BLOCKS:
        raise BlockError("%d blocks, more than %d" % (len(blocks), MAX_BLOCKS))
    seen_ids = set()
    markdown_total = 0
    for i, b in enumerate(blocks):
        what = "blocks[%d]" % i
        t = b.get("type")
        if "block_id" in b:
            _check_len(b["block_id"], MAX_BLOCK_ID, what + ".block_id")
            if b["block_id"] in seen_ids:
                raise BlockError("%s.block_id %r is not unique" % (what, b["block_id"]))
            seen_ids.add(b["block_id"])
        if t == "section":
            if "text" not in b and "fields" not in b:
                raise BlockError("%s: a section needs text or fields" % what)
            if "text" in b:
                _text_object(b["text"], what + ".text", MAX_SECTION_TEXT)
            if "fields" in b:
                f = b["fields"]
                if not isinstance(f, list) or not f:
                    raise BlockError("%s.fields must be a non-empty array" % what)
                if len(f) > MAX_SECTION_FIELDS:
                    raise BlockError("%s.fields has %d items, more than %d" % (what, len(f), MAX_SECTION_FIELDS))
                for j, x in enumerate(f):
                    _text_object(x, "%s.fields[%d]" % (what, j), MAX_SECTION_FIELD)
            if "accessory" in b and not (isinstance(b["accessory"], dict) and "type" in b["accessory"]):
                raise BlockError("%s.accessory must be an element with a type" % what)
            extra = set(b) - {"type", "block_id", "text", "fields", "accessory", "expand"}
        elif t == "header":
            _text_object(b.get("text"), what + ".text", MAX_HEADER_TEXT, plain_only=True)
            extra = set(b) - {"type", "block_id", "text"}
        elif t == "context":
            els = b.get("elements")
            if not isinstance(els, list) or not els:
                raise BlockError("%s.elements must be a non-empty array" % what)
            if len(els) > MAX_CONTEXT_ELEMENTS:
                raise BlockError("%s.elements has %d items, more than %d" % (what, len(els), MAX_CONTEXT_ELEMENTS))
            for j, el in enumerate(els):
                ew = "%s.elements[%d]" % (what, j)
                if isinstance(el, dict) and el.get("type") == "image":
                    _image_element(el, ew)
                else:
                    _text_object(el, ew)
            extra = set(b) - {"type", "block_id", "elements"}
        elif t == "divider":
            extra = set(b) - {"type", "block_id"}
        elif t == "image":
            _image_element(b, what)
            if "title" in b:
                _text_object(b["title"], what + ".title", MAX_ALT_TEXT, plain_only=True)
            extra = set(b) - {"type", "block_id", "image_url", "slack_file", "alt_text", "title"}
        elif t == "markdown":
            _check_len(b.get("text"), MAX_MARKDOWN_TOTAL, what + ".text")
            markdown_total += len(b["text"])
            if markdown_total > MAX_MARKDOWN_TOTAL:
                raise BlockError("markdown blocks have %d characters in all, more than %d"
                                 % (markdown_total, MAX_MARKDOWN_TOTAL))
            extra = set(b) - {"type", "block_id", "text"}
        elif t == "actions":
            els = b.get("elements")
            if not isinstance(els, list) or not els or len(els) > MAX_ACTIONS_ELEMENTS:
                raise BlockError("%s.elements must have 1 to %d items" % (what, MAX_ACTIONS_ELEMENTS))
            extra = set(b) - {"type", "block_id", "elements"}
        elif t == "rich_text":
            if not isinstance(b.get("elements"), list):
                raise BlockError("%s.elements must be an array" % what)
            extra = set(b) - {"type", "block_id", "elements"}
        else:
            raise BlockError("%s.type %r is not a block type of messages" % (what, t))
        if extra:
            raise BlockError("%s has unknown field(s) %s" % (what, ", ".join(sorted(extra))))
