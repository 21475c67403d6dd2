# SPDX-License-Identifier: MIT
"""A loopback fake of the Notion API, version 2025-09-03 (databases are
containers of data sources).

Routes: GET /v1/databases/{id}, GET /v1/data_sources/{id},
POST /v1/data_sources/{id}/query, POST /v1/pages, GET and PATCH
/v1/pages/{id}, GET and PATCH /v1/blocks/{id}/children, DELETE
/v1/blocks/{id}, GET /v1/users/me. Requests are validated as Notion does:
the Bearer token, Notion-Version, JSON, property values against the data
source's schema (a select option that does not exist yet is created), and
the request limits (100 children, 2000 characters per rich-text item,
two levels of nesting, …). Errors are Notion's JSON bodies
({"object":"error","status":…,"code":…,"message":…}). Pages live in
memory: tests read them (pages(), simple_properties()) and edit them as a
person would (edit_page()). FAKES.md lists each rule and its source."""

import contextlib
import copy
import datetime
import json
import re
import secrets
import time
import uuid

from fakehttp import FakeError, FakeServer, Response, retry_after_seconds

VERSION = "2025-09-03"

MAX_CHILDREN = 100
MAX_RICH_TEXT_ITEMS = 100
MAX_TEXT_CONTENT = 2000
MAX_LINK_URL = 2000
MAX_EQUATION = 1000
MAX_URL = 2000
MAX_EMAIL = 200
MAX_PHONE = 200
MAX_MULTI_SELECT = 100
MAX_RELATION = 100
MAX_PEOPLE = 100
MAX_BLOCKS_PER_REQUEST = 1000
MAX_PAYLOAD = 500 * 1000
MAX_NESTING = 2
MAX_PAGE_SIZE = 100
MAX_OPTION_NAME = 100

# The database the users' guide asks for, plus the fingerprint property.
DEFAULT_SCHEMA = {
    "제목": "title",
    "타입": ("select", ["Build Failure", "Dependency Error", "Runtime Error", "Test Alert"]),
    "앱": "rich_text",
    "심각도": ("select", ["Low", "Medium", "High", "Critical"]),
    "자동수정가능": "checkbox",
    "상태": ("select", ["New", "In Progress", "Resolved", "Manual Required"]),
    "발생시간": "date",
    "Fingerprint": "rich_text",
}

PROPERTY_TYPES = ("title", "rich_text", "select", "multi_select", "status", "checkbox", "date",
                  "number", "url", "email", "phone_number", "people", "relation", "files",
                  "created_time", "last_edited_time", "created_by", "last_edited_by",
                  "formula", "rollup", "unique_id")
READ_ONLY_TYPES = ("created_time", "last_edited_time", "created_by", "last_edited_by",
                   "formula", "rollup", "unique_id")

TEXT_BLOCKS = ("paragraph", "heading_1", "heading_2", "heading_3", "bulleted_list_item",
               "numbered_list_item", "quote", "to_do", "toggle", "callout", "code")
NESTABLE = ("paragraph", "bulleted_list_item", "numbered_list_item", "quote", "to_do",
            "toggle", "callout")
BLOCK_TYPES = TEXT_BLOCKS + ("divider", "table_of_contents", "breadcrumb")

CODE_LANGUAGES = {
    "abap", "arduino", "bash", "basic", "c", "clojure", "coffeescript", "c++", "c#", "css",
    "dart", "diff", "docker", "elixir", "elm", "erlang", "flow", "fortran", "f#", "gherkin",
    "glsl", "go", "graphql", "groovy", "haskell", "html", "java", "javascript", "json",
    "julia", "kotlin", "latex", "less", "lisp", "livescript", "lua", "makefile", "markdown",
    "markup", "matlab", "mermaid", "nix", "objective-c", "ocaml", "pascal", "perl", "php",
    "plain text", "powershell", "prolog", "protobuf", "python", "r", "reason", "ruby", "rust",
    "sass", "scala", "scheme", "scss", "shell", "sql", "swift", "typescript", "vb.net",
    "verilog", "vhdl", "visual basic", "webassembly", "xml", "yaml", "java/c/c++/c#",
}
COLORS = ("default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red")
BOT_USER = {"object": "user", "id": "00000000-0000-4000-8000-0000000000b0"}
PERSON_USER = {"object": "user", "id": "00000000-0000-4000-8000-0000000000a1"}

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


class NotionError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _invalid(message):
    return NotionError(400, "validation_error", message)


def _body_error(path, should, was):
    return _invalid("body failed validation: %s should be %s, instead was `%s`." % (path, should, was))


def js_len(s):
    """String length as Notion (JavaScript) counts it: UTF-16 code units."""
    return len(s.encode("utf-16-le")) // 2


def normalize_id(s):
    if not isinstance(s, str) or not _UUID_RE.match(s):
        return None
    h = s.replace("-", "").lower()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def _parse_time(s, path):
    if not isinstance(s, str):
        raise _body_error(path, "a valid ISO 8601 date string", json.dumps(s))
    try:
        if len(s) == 10:
            d = datetime.date.fromisoformat(s)
            return datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc)
        t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise _body_error(path, "a valid ISO 8601 date string", s) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t


def _short_id():
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789%:;<=>?@[]^_`{|}~") for _ in range(4))


def plain_text(rich):
    return "".join(r.get("plain_text", "") for r in rich or [])


class FakeNotion(FakeServer):
    NAME = "notion"
    KNOBS = ("token_state", "accepted_versions", "minute_granularity", "restricted", "hidden")

    def __init__(self, host="127.0.0.1", port=0, token=None, schema=None, data_sources=1):
        super().__init__(host, port)
        self.token = token or "ntn_fake_" + secrets.token_hex(16)
        self.token_state = None            # "invalid": every request gets 401 (a revoked token)
        self.accepted_versions = {VERSION}
        self.minute_granularity = True     # Notion rounds page timestamps to the minute
        self.restricted = set()            # ids answered 403 restricted_resource
        self.hidden = set()                # ids answered 404 (not shared with the integration)
        self.clock = time.time
        self.databases = {}
        self.data_sources = {}
        self.pages = {}                    # id -> page (response shape, plus "_children")
        self.blocks = {}                   # id -> block (response shape, plus "_children")
        names = ["Incidents"] if data_sources == 1 else ["Incidents %d" % (i + 1) for i in range(data_sources)]
        db = self.add_database("appwatch incidents", [(n, schema or DEFAULT_SCHEMA) for n in names])
        self.database_id = db["id"]
        self.data_source_id = db["data_sources"][0]["id"]

    # -- data ---------------------------------------------------------------

    def _now(self):
        t = self.clock()
        return datetime.datetime.fromtimestamp(t, datetime.timezone.utc)

    def _stamp(self):
        t = self._now()
        if self.minute_granularity:
            t = t.replace(second=0, microsecond=0)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)

    def add_database(self, title, data_sources):
        """data_sources: [(name, schema)], schema {name: type or (type, [options])}."""
        with self._lock:
            now = self._stamp()
            db_id = str(uuid.uuid4())
            db = {"object": "database", "id": db_id, "title": self._rich([{"text": {"content": title}}], "title"),
                  "description": [], "parent": {"type": "page_id", "page_id": str(uuid.uuid4())},
                  "is_inline": False, "in_trash": False, "archived": False, "is_locked": False,
                  "created_time": now, "last_edited_time": now, "created_by": BOT_USER,
                  "last_edited_by": BOT_USER, "icon": None, "cover": None,
                  "url": "https://www.notion.so/" + db_id.replace("-", ""), "public_url": None,
                  "data_sources": []}
            for name, schema in data_sources:
                ds_id = str(uuid.uuid4())
                props = {}
                for pname, spec in schema.items():
                    ptype, options = (spec, None) if isinstance(spec, str) else spec
                    if ptype not in PROPERTY_TYPES:
                        raise FakeError("schema property %r: unknown type %r" % (pname, ptype))
                    prop = {"id": "title" if ptype == "title" else _short_id(), "name": pname,
                            "type": ptype, "description": "", ptype: {}}
                    if ptype in ("select", "multi_select", "status"):
                        prop[ptype] = {"options": [self._option(o, i) for i, o in enumerate(options or [])]}
                    props[pname] = prop
                if sum(1 for p in props.values() if p["type"] == "title") != 1:
                    raise FakeError("data source %r needs exactly one title property" % name)
                self.data_sources[ds_id] = {
                    "object": "data_source", "id": ds_id,
                    "title": self._rich([{"text": {"content": name}}], "title"), "description": [],
                    "parent": {"type": "database_id", "database_id": db_id},
                    "database_parent": db["parent"], "properties": props, "is_inline": False,
                    "archived": False, "in_trash": False, "created_time": now, "last_edited_time": now,
                    "created_by": BOT_USER, "last_edited_by": BOT_USER, "icon": None, "cover": None,
                    "url": "https://www.notion.so/" + ds_id.replace("-", ""), "public_url": None}
                db["data_sources"].append({"id": ds_id, "name": name})
            self.databases[db_id] = db
            return db

    @staticmethod
    def _option(name, i):
        return {"id": _short_id() + str(i), "name": name, "color": COLORS[i % len(COLORS)], "description": None}

    def schema(self, data_source_id=None):
        """{property name: type} of a data source."""
        ds = self.data_sources[data_source_id or self.data_source_id]
        return {n: p["type"] for n, p in ds["properties"].items()}

    def options(self, prop, data_source_id=None):
        ds = self.data_sources[data_source_id or self.data_source_id]
        p = ds["properties"][prop]
        return [o["name"] for o in p[p["type"]]["options"]]

    def set_schema_property(self, name, ptype, data_source_id=None, options=None):
        """Adds or changes (ptype) or removes (ptype None) a property, as
        someone editing the database would."""
        with self._lock:
            ds = self.data_sources[data_source_id or self.data_source_id]
            if ptype is None:
                ds["properties"].pop(name, None)
                return
            prop = {"id": _short_id(), "name": name, "type": ptype, "description": "", ptype: {}}
            if ptype in ("select", "multi_select", "status"):
                prop[ptype] = {"options": [self._option(o, i) for i, o in enumerate(options or [])]}
            ds["properties"][name] = prop

    def pages_in(self, data_source_id=None, include_trash=False):
        with self._lock:
            ds = data_source_id or self.data_source_id
            return [p for p in self.pages.values()
                    if p["parent"].get("data_source_id") == ds and (include_trash or not p["in_trash"])]

    def simple_properties(self, page_id):
        """A page's properties as plain values: title/rich_text as text,
        select as its name, checkbox as bool, date as its start."""
        with self._lock:
            page = self.pages[normalize_id(page_id)]
            out = {}
            for name, v in page["properties"].items():
                t = v["type"]
                val = v.get(t)
                if t in ("title", "rich_text"):
                    out[name] = plain_text(val)
                elif t in ("select", "status"):
                    out[name] = val["name"] if val else None
                elif t == "multi_select":
                    out[name] = [o["name"] for o in val]
                elif t == "date":
                    out[name] = val["start"] if val else None
                else:
                    out[name] = val
            return out

    def page_text(self, page_id):
        """The plain text of a page's blocks, one line per block, depth first."""
        with self._lock:
            lines = []

            def walk(ids):
                for bid in ids:
                    b = self.blocks[bid]
                    if b["in_trash"]:
                        continue
                    c = b.get(b["type"], {})
                    lines.append(plain_text(c.get("rich_text")))
                    walk(b["_children"])
            walk(self.pages[normalize_id(page_id)]["_children"])
            return lines

    def blocks_of(self, page_id):
        with self._lock:
            return [self.blocks[b] for b in self.pages[normalize_id(page_id)]["_children"]]

    def edit_page(self, page_id, properties):
        """Changes property values as a person in the Notion app would
        (values given in the API's format, or plain strings for selects):
        last_edited_time and last_edited_by change; no request is recorded."""
        with self._lock:
            page = self.pages[normalize_id(page_id)]
            ds = self.data_sources[page["parent"]["data_source_id"]]
            props = {}
            for name, v in properties.items():
                if isinstance(v, str) and ds["properties"].get(name, {}).get("type") in ("select", "status"):
                    v = {ds["properties"][name]["type"]: {"name": v}}
                props[name] = v
            with self._atomic(ds, page):
                self._apply_properties(page, ds, props, "properties")
            page["last_edited_time"] = self._stamp()
            page["last_edited_by"] = PERSON_USER

    def state(self):
        def clean(o):
            return {k: v for k, v in o.items() if not k.startswith("_")}
        return {"token": self.token, "database_id": self.database_id,
                "data_source_id": self.data_source_id,
                "databases": list(self.databases.values()),
                "data_sources": list(self.data_sources.values()),
                "pages": [dict(clean(p), children=p["_children"]) for p in self.pages.values()],
                "blocks": [dict(clean(b), children=b["_children"]) for b in self.blocks.values()]}

    def control(self, req, parts):
        body = req.json if isinstance(req.json, dict) else {}
        if parts == ["edit"] and req.method == "POST":
            try:
                self.edit_page(body["page_id"], body["properties"])
            except KeyError as e:
                raise FakeError("edit: no page or field %s" % e) from None
            except NotionError as e:
                raise FakeError("edit: %s" % e.message) from None
            return Response(200, self.pages[normalize_id(body["page_id"])])
        if parts == ["schema"] and req.method == "POST":
            self.set_schema_property(body["name"], body.get("type"), body.get("data_source_id"),
                                     body.get("options"))
            return Response(200, {"ok": True})
        return None

    # -- errors -------------------------------------------------------------

    def _error(self, status, code, message, headers=None):
        return Response(status, {"object": "error", "status": status, "code": code, "message": message,
                                 "request_id": str(uuid.uuid4())}, headers=headers)

    def error_response(self, status, retry_after=None):
        if status == 429:
            return self._error(429, "rate_limited",
                               "You have been rate limited. Please try again in a few minutes.",
                               {"Retry-After": retry_after_seconds(retry_after)})
        if status == 409:
            return self._error(409, "conflict_error", "Conflict occurred while saving. Please try again.")
        if status == 502:
            return Response(502, "<html><head><title>502 Bad Gateway</title></head><body>"
                            "<center><h1>502 Bad Gateway</h1></center></body></html>", "text/html")
        if status == 503:
            return self._error(503, "service_unavailable", "Notion is unavailable, try again later.",
                               {"Retry-After": retry_after} if retry_after is not None else None)
        if status == 504:
            return self._error(504, "gateway_timeout",
                               "Notion timed out while attempting to complete this request.")
        if status == 401:
            return self._error(401, "unauthorized", "API token is invalid.")
        if status == 403:
            return self._error(403, "restricted_resource", "API token does not have access to this resource.")
        if status == 404:
            return self._error(404, "object_not_found", "Could not find object.")
        if status >= 500:
            return self._error(status, "internal_server_error", "Unexpected error occurred.")
        return self._error(status, "validation_error", "The request failed validation.")

    def error_code(self, resp):
        try:
            return json.loads(resp.body).get("code")
        except (ValueError, AttributeError):
            return None

    # -- the API ------------------------------------------------------------

    def handle(self, req):
        try:
            with self._lock:
                return self._route(req)
        except NotionError as e:
            req.error = e.code
            return self._error(e.status, e.code, e.message)

    def _route(self, req):
        auth = req.header("authorization", "")
        if self.token_state == "invalid" or auth != "Bearer " + self.token:
            raise NotionError(401, "unauthorized", "API token is invalid.")
        version = req.header("notion-version")
        if version is None:
            raise NotionError(400, "missing_version", "Notion-Version header failed validation: Notion-Version "
                              "header should be defined, instead was `undefined`.")
        if version not in self.accepted_versions:
            raise _invalid("Notion-Version header failed validation: this fake serves %s, the request sent `%s`."
                           % (", ".join(sorted(self.accepted_versions)), version))
        body = None
        if req.method in ("POST", "PATCH"):
            mime = req.header("content-type", "").split(";")[0].strip().lower()
            if req.body and mime != "application/json":
                raise NotionError(400, "invalid_request", "Content-Type must be application/json, was `%s`."
                                  % (req.header("content-type") or "undefined"))
            if len(req.body) > MAX_PAYLOAD:
                raise NotionError(413, "payload_too_large", "Request body too large.")
            if req.body:
                if req.json is None:
                    raise NotionError(400, "invalid_json", "Error parsing JSON body.")
                body = req.json
            else:
                body = {}
            if not isinstance(body, dict):
                raise _body_error("body", "an object", json.dumps(body)[:100])

        parts = [p for p in req.path.split("/") if p]
        if len(parts) < 2 or parts[0] != "v1":
            raise NotionError(400, "invalid_request_url", "Invalid request URL.")
        m = req.method
        route = parts[1:]
        if route == ["users", "me"] and m == "GET":
            return Response(200, dict(BOT_USER, type="bot", name="appwatch", bot={"owner": {"type": "workspace",
                                                                                           "workspace": True}}))
        if len(route) >= 2:
            kind, oid = route[0], route[1]
            rest = route[2:]
            label = {"databases": "database_id", "data_sources": "data_source_id", "pages": "page_id",
                     "blocks": "block_id"}.get(kind)
            if label:
                nid = normalize_id(oid)
                if nid is None:
                    raise _invalid("path failed validation: path.%s should be a valid uuid, instead was `\"%s\"`."
                                   % (label, oid))
                if kind == "databases" and not rest and m == "GET":
                    return Response(200, self._get("database", self.databases, nid))
                if kind == "data_sources" and not rest and m == "GET":
                    return Response(200, self._get("data_source", self.data_sources, nid))
                if kind == "data_sources" and rest == ["query"] and m == "POST":
                    return Response(200, self._query(self._get("data_source", self.data_sources, nid), body))
                if kind == "pages" and not rest and m == "GET":
                    return Response(200, self._page_out(self._get("page", self.pages, nid)))
                if kind == "pages" and not rest and m == "PATCH":
                    return Response(200, self._update_page(self._get("page", self.pages, nid), body))
                if kind == "blocks" and rest == ["children"] and m == "PATCH":
                    return Response(200, self._append(nid, body))
                if kind == "blocks" and rest == ["children"] and m == "GET":
                    return Response(200, self._list_children(nid, req))
                if kind == "blocks" and not rest and m == "DELETE":
                    return Response(200, self._delete(nid))
        if route == ["pages"] and m == "POST":
            return Response(200, self._create_page(body))
        raise NotionError(400, "invalid_request_url", "Invalid request URL.")

    def _get(self, what, table, nid):
        if nid in self.restricted:
            raise NotionError(403, "restricted_resource", "API token does not have access to this resource.")
        obj = table.get(nid)
        if obj is None or nid in self.hidden:
            raise NotionError(404, "object_not_found", "Could not find %s with ID: %s. Make sure the relevant "
                              "pages and databases are shared with your integration." % (what, nid))
        return obj

    # -- rich text and blocks -----------------------------------------------

    def _rich(self, items, path):
        if not isinstance(items, list):
            raise _body_error(path, "an array", json.dumps(items)[:100])
        if len(items) > MAX_RICH_TEXT_ITEMS:
            raise _body_error(path + ".length", "≤ `%d`" % MAX_RICH_TEXT_ITEMS, len(items))
        out = []
        for i, it in enumerate(items):
            p = "%s[%d]" % (path, i)
            if not isinstance(it, dict):
                raise _body_error(p, "an object", json.dumps(it)[:100])
            t = it.get("type") or next((k for k in ("text", "mention", "equation") if k in it), None)
            if t not in ("text", "mention", "equation") or t not in it:
                raise _body_error(p + ".text", "defined", "undefined")
            ann = it.get("annotations", {})
            if not isinstance(ann, dict):
                raise _body_error(p + ".annotations", "an object", json.dumps(ann))
            for k, v in ann.items():
                if k == "color":
                    if not isinstance(v, str):
                        raise _body_error(p + ".annotations.color", "a string", json.dumps(v))
                elif k in ("bold", "italic", "strikethrough", "underline", "code"):
                    if not isinstance(v, bool):
                        raise _body_error("%s.annotations.%s" % (p, k), "a boolean", json.dumps(v))
                else:
                    raise _body_error("%s.annotations.%s" % (p, k), "not present", json.dumps(v))
            annotations = {"bold": False, "italic": False, "strikethrough": False, "underline": False,
                           "code": False, "color": "default"}
            annotations.update(ann)
            if t == "text":
                txt = it["text"]
                if not isinstance(txt, dict) or not isinstance(txt.get("content"), str):
                    raise _body_error(p + ".text.content", "a string", json.dumps(txt)[:100])
                n = js_len(txt["content"])
                if n > MAX_TEXT_CONTENT:
                    raise _body_error(p + ".text.content.length", "≤ `%d`" % MAX_TEXT_CONTENT, n)
                link = txt.get("link")
                if link is not None:
                    if not isinstance(link, dict) or not isinstance(link.get("url"), str):
                        raise _body_error(p + ".text.link.url", "a string", json.dumps(link)[:100])
                    if js_len(link["url"]) > MAX_LINK_URL:
                        raise _body_error(p + ".text.link.url.length", "≤ `%d`" % MAX_LINK_URL,
                                          js_len(link["url"]))
                out.append({"type": "text", "text": {"content": txt["content"], "link": link},
                            "annotations": annotations, "plain_text": txt["content"],
                            "href": link["url"] if link else None})
            elif t == "equation":
                expr = it["equation"].get("expression") if isinstance(it["equation"], dict) else None
                if not isinstance(expr, str):
                    raise _body_error(p + ".equation.expression", "a string", json.dumps(expr))
                if js_len(expr) > MAX_EQUATION:
                    raise _body_error(p + ".equation.expression.length", "≤ `%d`" % MAX_EQUATION, js_len(expr))
                out.append({"type": "equation", "equation": {"expression": expr}, "annotations": annotations,
                            "plain_text": expr, "href": None})
            else:
                out.append({"type": "mention", "mention": it["mention"], "annotations": annotations,
                            "plain_text": it.get("plain_text", "@mention"), "href": None})
        return out

    def _blocks_in(self, children, path, depth, counter):
        """Validates a children array; returns the blocks as Notion stores them."""
        if not isinstance(children, list):
            raise _body_error(path, "an array", json.dumps(children)[:100])
        if len(children) > MAX_CHILDREN:
            raise _body_error(path + ".length", "≤ `%d`" % MAX_CHILDREN, len(children))
        out = []
        for i, b in enumerate(children):
            p = "%s[%d]" % (path, i)
            counter[0] += 1
            if counter[0] > MAX_BLOCKS_PER_REQUEST:
                raise _invalid("body failed validation: a request may hold at most %d blocks in all."
                               % MAX_BLOCKS_PER_REQUEST)
            if not isinstance(b, dict):
                raise _body_error(p, "an object", json.dumps(b)[:100])
            t = b.get("type") or next((k for k in BLOCK_TYPES if k in b), None)
            if t not in BLOCK_TYPES or t not in b:
                raise _body_error(p, "one of the supported block types (%s)" % ", ".join(BLOCK_TYPES),
                                  json.dumps(sorted(b))[:100])
            content = b[t]
            if not isinstance(content, dict):
                raise _body_error("%s.%s" % (p, t), "an object", json.dumps(content)[:100])
            stored = {}
            if t in TEXT_BLOCKS:
                if "rich_text" not in content:
                    raise _body_error("%s.%s.rich_text" % (p, t), "defined", "undefined")
                stored["rich_text"] = self._rich(content["rich_text"], "%s.%s.rich_text" % (p, t))
                color = content.get("color", "default")
                if t != "code":
                    stored["color"] = color
            if t == "code":
                lang = content.get("language")
                if lang not in CODE_LANGUAGES:
                    raise _body_error("%s.code.language" % p, "one of the code languages Notion knows", lang)
                stored["language"] = lang
                stored["caption"] = self._rich(content.get("caption", []), "%s.code.caption" % p)
            if t == "to_do":
                checked = content.get("checked", False)
                if not isinstance(checked, bool):
                    raise _body_error("%s.to_do.checked" % p, "a boolean", json.dumps(checked))
                stored["checked"] = checked
            kids = []
            if "children" in content:
                if t not in NESTABLE:
                    raise _body_error("%s.%s.children" % (p, t), "not present", "[...]")
                if depth >= MAX_NESTING:
                    raise _invalid("body failed validation: %s.%s.children: at most %d levels of nesting "
                                   "in a single request." % (p, t, MAX_NESTING))
                kids = self._blocks_in(content["children"], "%s.%s.children" % (p, t), depth + 1, counter)
            out.append((t, stored, kids))
        return out

    def _store_blocks(self, parent, items):
        ids = []
        now = self._stamp()
        for t, stored, kids in items:
            bid = str(uuid.uuid4())
            blk = {"object": "block", "id": bid, "parent": parent, "created_time": now,
                   "last_edited_time": now, "created_by": BOT_USER, "last_edited_by": BOT_USER,
                   "has_children": bool(kids), "archived": False, "in_trash": False, "type": t, t: stored}
            self.blocks[bid] = blk
            blk["_children"] = self._store_blocks({"type": "block_id", "block_id": bid}, kids)
            ids.append(bid)
        return ids

    def _block_out(self, blk):
        return {k: v for k, v in blk.items() if not k.startswith("_")}

    # -- properties -----------------------------------------------------------

    @contextlib.contextmanager
    def _atomic(self, ds, page=None):
        """A request that fails changes nothing: not the schema's select
        options, not the page's properties."""
        saved_props = copy.deepcopy(ds["properties"])
        saved_page = copy.deepcopy(page["properties"]) if page else None
        try:
            yield
        except NotionError:
            ds["properties"] = saved_props
            if page:
                page["properties"] = saved_page
            raise

    def _apply_properties(self, page, ds, props, path):
        if not isinstance(props, dict):
            raise _body_error("body." + path, "an object", json.dumps(props)[:100])
        by_id = {p["id"]: p for p in ds["properties"].values()}
        for key, value in props.items():
            prop = ds["properties"].get(key) or by_id.get(key)
            if prop is None:
                raise _invalid("%s is not a property that exists." % key)
            t = prop["type"]
            if t in READ_ONLY_TYPES:
                raise _invalid("%s is a %s property; it cannot be set." % (prop["name"], t))
            if not isinstance(value, dict):
                raise _body_error("body.%s.%s" % (path, key), "an object", json.dumps(value)[:100])
            if ("type" in value and value["type"] != t) or t not in value:
                raise _invalid("%s is expected to be %s." % (prop["name"], t))
            page["properties"][prop["name"]] = {"id": prop["id"], "type": t,
                                                t: self._value(prop, value[t], "body.%s.%s.%s" % (path, key, t))}

    def _value(self, prop, v, path):
        t = prop["type"]
        name = prop["name"]
        if t in ("title", "rich_text"):
            return self._rich(v, path)
        if t in ("select", "status"):
            if v is None:
                return None
            if not isinstance(v, dict) or not ("name" in v or "id" in v):
                raise _body_error(path, "an object with a name or an id", json.dumps(v)[:100])
            opts = prop[t]["options"]
            if "id" in v:
                found = next((o for o in opts if o["id"] == v["id"]), None)
                if found is None:
                    raise _invalid("Invalid %s option id `%s` for %s." % (t, v["id"], name))
                return dict(found)
            oname = v["name"]
            if not isinstance(oname, str) or not oname.strip():
                raise _body_error(path + ".name", "a non-empty string", json.dumps(oname))
            if "," in oname:
                raise _invalid("Invalid %s option for %s: commas are not allowed in option names (`%s`)."
                               % (t, name, oname))
            if js_len(oname) > MAX_OPTION_NAME:
                raise _body_error(path + ".name.length", "≤ `%d`" % MAX_OPTION_NAME, js_len(oname))
            found = next((o for o in opts if o["name"] == oname), None)
            if found is None:
                if t == "status":
                    raise _invalid("Invalid status option `%s` for %s." % (oname, name))
                found = self._option(oname, len(opts))  # Notion creates a missing select option
                opts.append(found)
            return dict(found)
        if t == "multi_select":
            if not isinstance(v, list):
                raise _body_error(path, "an array", json.dumps(v)[:100])
            if len(v) > MAX_MULTI_SELECT:
                raise _body_error(path + ".length", "≤ `%d`" % MAX_MULTI_SELECT, len(v))
            return [self._value(dict(prop, type="select", select=prop["multi_select"]), x, "%s[%d]" % (path, i))
                    for i, x in enumerate(v)]
        if t == "checkbox":
            if not isinstance(v, bool):
                raise _body_error(path, "a boolean", json.dumps(v))
            return v
        if t == "number":
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise _body_error(path, "a number or null", json.dumps(v))
            return v
        if t == "date":
            if v is None:
                return None
            if not isinstance(v, dict) or "start" not in v:
                raise _body_error(path + ".start", "defined", "undefined")
            _parse_time(v["start"], path + ".start")
            if v.get("end") is not None:
                _parse_time(v["end"], path + ".end")
            tz = v.get("time_zone")
            if tz is not None and not isinstance(tz, str):
                raise _body_error(path + ".time_zone", "a string", json.dumps(tz))
            return {"start": v["start"], "end": v.get("end"), "time_zone": tz}
        if t in ("url", "email", "phone_number"):
            limit = {"url": MAX_URL, "email": MAX_EMAIL, "phone_number": MAX_PHONE}[t]
            if v is not None and not isinstance(v, str):
                raise _body_error(path, "a string or null", json.dumps(v))
            if v is not None and js_len(v) > limit:
                raise _body_error(path + ".length", "≤ `%d`" % limit, js_len(v))
            return v
        if t in ("people", "relation", "files"):
            limit = {"people": MAX_PEOPLE, "relation": MAX_RELATION, "files": MAX_CHILDREN}[t]
            if not isinstance(v, list):
                raise _body_error(path, "an array", json.dumps(v)[:100])
            if len(v) > limit:
                raise _body_error(path + ".length", "≤ `%d`" % limit, len(v))
            return v
        raise _invalid("%s: setting %s properties is not supported by this fake." % (name, t))

    # -- endpoints ----------------------------------------------------------

    def _page_out(self, page):
        return {k: v for k, v in page.items() if not k.startswith("_")}

    def _create_page(self, body):
        parent = body.get("parent")
        if not isinstance(parent, dict):
            raise _body_error("body.parent", "defined", "undefined")
        ptype = parent.get("type") or next((k for k in ("data_source_id", "database_id", "page_id")
                                            if k in parent), None)
        if ptype == "database_id":
            db = self._get("database", self.databases, normalize_id(parent.get("database_id")) or "")
            if len(db["data_sources"]) != 1:
                raise _invalid("Database %s has %d data sources; create pages with a data_source_id parent."
                               % (db["id"], len(db["data_sources"])))
            ds = self.data_sources[db["data_sources"][0]["id"]]
        elif ptype == "data_source_id":
            raw = parent.get("data_source_id")
            nid = normalize_id(raw)
            if nid is None:
                raise _body_error("body.parent.data_source_id", "a valid uuid", json.dumps(raw))
            ds = self._get("data_source", self.data_sources, nid)
        else:
            raise _invalid("body failed validation: body.parent should have a data_source_id (or a database_id "
                           "of a single-source database); this fake does not create pages under pages.")
        unknown = set(body) - {"parent", "properties", "children", "icon", "cover", "content", "markdown",
                               "template", "position"}
        if unknown:
            raise _body_error("body." + sorted(unknown)[0], "not present", "defined")
        now = self._stamp()
        pid = str(uuid.uuid4())
        page = {"object": "page", "id": pid, "created_time": now, "last_edited_time": now,
                "created_by": BOT_USER, "last_edited_by": BOT_USER, "cover": None, "icon": body.get("icon"),
                "parent": {"type": "data_source_id", "data_source_id": ds["id"],
                           "database_id": ds["parent"]["database_id"]},
                "archived": False, "in_trash": False, "is_locked": False, "properties": {},
                "url": "https://www.notion.so/" + pid.replace("-", ""), "public_url": None}
        for name, prop in ds["properties"].items():   # every property is present, empty if unset
            t = prop["type"]
            empty = {"title": [], "rich_text": [], "multi_select": [], "people": [], "relation": [],
                     "files": [], "checkbox": False}.get(t)
            page["properties"][name] = {"id": prop["id"], "type": t, t: empty}
        items = self._blocks_in(body.get("children", []), "body.children", 1, [0])
        with self._atomic(ds):
            self._apply_properties(page, ds, body.get("properties", {}), "properties")
        page["_children"] = self._store_blocks({"type": "page_id", "page_id": pid}, items)
        self.pages[pid] = page
        return self._page_out(page)

    def _update_page(self, page, body):
        unknown = set(body) - {"properties", "in_trash", "archived", "icon", "cover", "is_locked"}
        if unknown:
            raise _body_error("body." + sorted(unknown)[0], "not present", "defined")
        if page["in_trash"] and not (body.get("in_trash") is False or body.get("archived") is False):
            raise _invalid("Can't edit block that is archived. You must unarchive the block before editing.")
        ds = self.data_sources[page["parent"]["data_source_id"]]
        for k in ("in_trash", "archived"):
            if k in body and not isinstance(body[k], bool):
                raise _body_error("body." + k, "a boolean", json.dumps(body[k]))
        if "properties" in body:
            with self._atomic(ds, page):
                self._apply_properties(page, ds, body["properties"], "properties")
        for k in ("in_trash", "archived"):
            if k in body:
                page["in_trash"] = page["archived"] = body[k]
        page["last_edited_time"] = self._stamp()
        page["last_edited_by"] = BOT_USER
        return self._page_out(page)

    def _parent_of(self, nid):
        if nid in self.pages:
            obj = self._get("page", self.pages, nid)
            return obj, {"type": "page_id", "page_id": nid}
        if nid in self.blocks:
            obj = self._get("block", self.blocks, nid)
            return obj, {"type": "block_id", "block_id": nid}
        raise NotionError(404, "object_not_found", "Could not find block with ID: %s. Make sure the relevant "
                          "pages and databases are shared with your integration." % nid)

    def _append(self, nid, body):
        obj, parent = self._parent_of(nid)
        if obj["in_trash"]:
            raise _invalid("Can't edit block that is archived. You must unarchive the block before editing.")
        if "children" not in body:
            raise _body_error("body.children", "defined", "undefined")
        unknown = set(body) - {"children", "after", "position"}
        if unknown:
            raise _body_error("body." + sorted(unknown)[0], "not present", "defined")
        items = self._blocks_in(body["children"], "body.children", 1, [0])
        new = self._store_blocks(parent, items)
        after = body.get("after")
        if after is not None:
            a = normalize_id(after)
            if a not in obj["_children"]:
                raise _invalid("body failed validation: body.after should be a child block of %s." % nid)
            i = obj["_children"].index(a) + 1
            obj["_children"][i:i] = new
        else:
            obj["_children"].extend(new)
        if obj.get("object") == "block":
            obj["has_children"] = True
        obj["last_edited_time"] = self._stamp()
        return {"object": "list", "results": [self._block_out(self.blocks[b]) for b in new],
                "next_cursor": None, "has_more": False, "type": "block", "block": {}}

    def _list_children(self, nid, req):
        obj, _ = self._parent_of(nid)
        ids = [b for b in obj["_children"] if not self.blocks[b]["in_trash"]]
        raw = (req.query.get("page_size") or [str(MAX_PAGE_SIZE)])[0]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise _invalid("query failed validation: query.page_size should be a number between 1 and %d, "
                           "instead was `%s`." % (MAX_PAGE_SIZE, raw))
        size = int(raw)
        start = (req.query.get("start_cursor") or [None])[0]
        i = ids.index(normalize_id(start)) if start and normalize_id(start) in ids else 0
        chunk = ids[i:i + size]
        more = i + size < len(ids)
        return {"object": "list", "results": [self._block_out(self.blocks[b]) for b in chunk],
                "next_cursor": ids[i + size] if more else None, "has_more": more, "type": "block", "block": {}}

    def _delete(self, nid):
        obj, _ = self._parent_of(nid)
        obj["in_trash"] = obj["archived"] = True
        obj["last_edited_time"] = self._stamp()
        if obj["object"] == "page":
            return self._page_out(obj)
        return self._block_out(obj)

    # -- query --------------------------------------------------------------

    def _query(self, ds, body):
        unknown = set(body) - {"filter", "sorts", "start_cursor", "page_size", "filter_properties",
                               "in_trash", "archived", "result_type"}
        if unknown:
            raise _body_error("body." + sorted(unknown)[0], "not present", "defined")
        size = body.get("page_size", MAX_PAGE_SIZE)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
            raise _body_error("body.page_size", "a number between 1 and %d" % MAX_PAGE_SIZE, json.dumps(size))
        want_trash = bool(body.get("in_trash") or body.get("archived"))
        pages = [p for p in self.pages.values()
                 if p["parent"]["data_source_id"] == ds["id"] and p["in_trash"] == want_trash]
        if body.get("filter") is not None:
            pages = [p for p in pages if self._match(body["filter"], p, ds, "body.filter", 0)]
        sorts = body.get("sorts", [])
        if not isinstance(sorts, list):
            raise _body_error("body.sorts", "an array", json.dumps(sorts)[:100])
        for i, s in reversed(list(enumerate(sorts))):
            pages.sort(key=self._sort_key(s, ds, "body.sorts[%d]" % i),
                       reverse=s.get("direction") == "descending")
        ids = [p["id"] for p in pages]
        start = 0
        if body.get("start_cursor") is not None:
            cur = normalize_id(body["start_cursor"])
            if cur not in ids:
                raise _body_error("body.start_cursor", "a cursor returned by an earlier query",
                                  body["start_cursor"])
            start = ids.index(cur)
        chunk = pages[start:start + size]
        more = start + size < len(pages)
        return {"object": "list", "results": [self._page_out(p) for p in chunk],
                "next_cursor": ids[start + size] if more else None, "has_more": more,
                "type": "page_or_data_source", "page_or_data_source": {}}

    def _sort_key(self, s, ds, path):
        if not isinstance(s, dict) or s.get("direction", "ascending") not in ("ascending", "descending"):
            raise _body_error(path + ".direction", "`ascending` or `descending`", json.dumps(s)[:100])
        if "timestamp" in s:
            ts = s["timestamp"]
            if ts not in ("created_time", "last_edited_time"):
                raise _body_error(path + ".timestamp", "`created_time` or `last_edited_time`", ts)
            return lambda p: p[ts]
        prop = self._filter_prop(s.get("property"), ds)

        def key(p):
            v = p["properties"][prop["name"]].get(prop["type"])
            if prop["type"] in ("title", "rich_text"):
                return plain_text(v)
            if prop["type"] in ("select", "status"):
                return v["name"] if v else ""
            if prop["type"] == "date":
                return v["start"] if v else ""
            return v if v is not None else 0
        return key

    def _filter_prop(self, name, ds):
        prop = ds["properties"].get(name) or next((p for p in ds["properties"].values() if p["id"] == name), None)
        if prop is None:
            raise _invalid("Could not find property with name or id: %s" % name)
        return prop

    def _match(self, f, page, ds, path, depth):
        if not isinstance(f, dict):
            raise _body_error(path, "an object", json.dumps(f)[:100])
        for op in ("and", "or"):
            if op in f:
                if depth >= 2:
                    raise _invalid("body failed validation: %s: compound filters nest at most two levels." % path)
                subs = f[op]
                if not isinstance(subs, list):
                    raise _body_error("%s.%s" % (path, op), "an array", json.dumps(subs)[:100])
                results = [self._match(s, page, ds, "%s.%s[%d]" % (path, op, i), depth + 1)
                           for i, s in enumerate(subs)]
                return all(results) if op == "and" else any(results)
        if "timestamp" in f:
            ts = f["timestamp"]
            if ts not in ("created_time", "last_edited_time") or ts not in f:
                raise _body_error(path + ".timestamp", "`created_time` or `last_edited_time`", json.dumps(ts))
            return self._date_cond(f[ts], page[ts], "%s.%s" % (path, ts))
        if "property" not in f:
            raise _body_error(path + ".property", "defined", "undefined")
        prop = self._filter_prop(f["property"], ds)
        t = prop["type"]
        keys = [k for k in f if k not in ("property", "type")]
        if len(keys) != 1:
            raise _body_error(path, "one condition for property %s" % prop["name"], json.dumps(keys))
        k = keys[0]
        if k != t and not (t == "title" and k == "rich_text"):
            raise _invalid("body failed validation: %s.%s: %s is a %s property." % (path, k, prop["name"], t))
        cond = f[k]
        if not isinstance(cond, dict) or len(cond) != 1:
            raise _body_error("%s.%s" % (path, k), "an object with one condition", json.dumps(cond)[:100])
        (op, arg), = cond.items()
        val = page["properties"][prop["name"]].get(t)
        cp = "%s.%s.%s" % (path, k, op)
        if t in ("title", "rich_text"):
            s = plain_text(val)
            ops = {"equals": lambda: s == arg, "does_not_equal": lambda: s != arg,
                   "contains": lambda: arg in s, "does_not_contain": lambda: arg not in s,
                   "starts_with": lambda: s.startswith(arg), "ends_with": lambda: s.endswith(arg),
                   "is_empty": lambda: s == "", "is_not_empty": lambda: s != ""}
            if op not in ops or (op not in ("is_empty", "is_not_empty") and not isinstance(arg, str)):
                raise _body_error(cp, "a known rich_text condition with a string", json.dumps(arg))
            return ops[op]()
        if t in ("select", "status"):
            name = val["name"] if val else None
            ops = {"equals": lambda: name == arg, "does_not_equal": lambda: name != arg,
                   "is_empty": lambda: name is None, "is_not_empty": lambda: name is not None}
            if op not in ops:
                raise _body_error(cp, "a known select condition", op)
            return ops[op]()
        if t == "checkbox":
            if op not in ("equals", "does_not_equal") or not isinstance(arg, bool):
                raise _body_error(cp, "equals or does_not_equal with a boolean", json.dumps(arg))
            return (val == arg) == (op == "equals")
        if t == "date":
            return self._date_cond(cond, val["start"] if val else None, "%s.%s" % (path, k))
        if t == "number":
            ops = {"equals": lambda: val == arg, "does_not_equal": lambda: val != arg,
                   "greater_than": lambda: val is not None and val > arg,
                   "less_than": lambda: val is not None and val < arg,
                   "is_empty": lambda: val is None, "is_not_empty": lambda: val is not None}
            if op not in ops:
                raise _body_error(cp, "a known number condition", op)
            return ops[op]()
        raise _invalid("%s: filtering on %s properties is not supported by this fake." % (prop["name"], t))

    def _date_cond(self, cond, value, path):
        if not isinstance(cond, dict) or len(cond) != 1:
            raise _body_error(path, "an object with one date condition", json.dumps(cond)[:100])
        (op, arg), = cond.items()
        if op in ("is_empty", "is_not_empty"):
            return (value is None) == (op == "is_empty")
        if op not in ("equals", "before", "after", "on_or_before", "on_or_after"):
            raise _body_error("%s.%s" % (path, op), "a date condition this fake knows", op)
        a = _parse_time(arg, "%s.%s" % (path, op))
        if value is None:
            return False
        v = _parse_time(value, path)
        return {"equals": v == a, "before": v < a, "after": v > a,
                "on_or_before": v <= a, "on_or_after": v >= a}[op]

