# SPDX-License-Identifier: MIT
"""A loopback fake of the Gemini API (generativelanguage, v1beta).

Routes: POST /v1beta/models/{model}:generateContent, GET
/v1beta/models/{model} and GET /v1beta/models. The key goes in the
x-goog-api-key header; a key in the URL (?key=) is flagged on the record
and, by default, refused, so appwatch can never leak it through a logged
URL. The request is validated as the API does (contents, roles,
systemInstruction, generationConfig with responseMimeType and either
responseSchema, the OpenAPI subset, or responseJsonSchema), unknown
fields are the real "Unknown name" errors, and every error body has
Google's shape ({"error":{"code","message","status","details":[…]}}).

The answer is scripted: a queue (answer(), answers()), rules on the
prompt (answer_when()), or a function (answer_fn); else one synthesized
from the response schema. Answers can be blocked for safety, be empty,
or stop at MAX_TOKENS. FAKES.md lists each rule and its source."""

import json
import math
import re
import secrets
import uuid

from fakehttp import FakeError, FakeServer, Response

# Served and retired models; a test can change both sets.
SERVED_MODELS = ("gemini-3.8-flash", "gemini-3.7-flash", "gemini-3.6-flash", "gemini-3.5-flash",
                 "gemini-3.5-flash-lite", "gemini-3.1-flash-lite", "gemini-flash-latest",
                 "gemini-flash-lite-latest", "gemini-3.1-pro-preview")
RETIRED_MODELS = ("gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-2.0-flash",
                  "gemini-2.0-flash-lite", "gemini-1.5-flash", "gemini-1.5-pro", "gemini-1.0-pro",
                  "gemini-pro")

KEY_STATES = ("invalid", "expired", "service_disabled", "permission_denied", "quota_exhausted")

REQUEST_FIELDS = {"contents", "systemInstruction", "generationConfig", "safetySettings", "tools",
                  "toolConfig", "cachedContent", "labels"}
GENERATION_FIELDS = {"responseMimeType", "responseSchema", "responseJsonSchema", "maxOutputTokens",
                     "temperature", "topP", "topK", "candidateCount", "stopSequences", "seed",
                     "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
                     "thinkingConfig", "responseModalities", "mediaResolution", "speechConfig",
                     "enableEnhancedCivicAnswers"}
MIME_TYPES = ("text/plain", "application/json", "text/x.enum")
SCHEMA_FIELDS = {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
                 "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
                 "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum",
                 "maximum"}
SCHEMA_TYPES = ("STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL", "TYPE_UNSPECIFIED")
JSON_SCHEMA_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
ROLES = ("user", "model")
# thinkingConfig.thinkingLevel of the Gemini 3 models; 3.8 Flash takes low,
# medium and high (docs.cloud.google.com/…/models/guides/gemini-3-8-flash).
THINKING_LEVELS = {"gemini-3.8-flash": ("low", "medium", "high"),
                   "gemini-3.7-flash": ("low", "medium", "high")}
THINKING_LEVELS_DEFAULT = ("minimal", "low", "medium", "high")
THINKING_FIELDS = {"thinkingLevel", "thinkingBudget", "includeThoughts"}

_MODEL_RE = re.compile(r"^/v1beta/models/([A-Za-z0-9._-]+)(:[A-Za-z]+)?$")
_SERVICE = "generativelanguage.googleapis.com"


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _tokens(text):
    """A stable estimate, about 4 characters a token (the API's own rule of thumb)."""
    return max(1, math.ceil(len(text) / 4)) if text else 0


class GeminiError(Exception):
    def __init__(self, code, status, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details
        self.headers = headers


def _bad_request(message, field=None):
    details = None
    if field:
        details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": field, "description": message}]}]
    return GeminiError(400, "INVALID_ARGUMENT", message, details)


def _unknown_name(name, where):
    at = " at '%s'" % where if where else ""
    return _bad_request('Invalid JSON payload received. Unknown name "%s"%s: Cannot find field.' % (name, at),
                        (where + "." if where else "") + name)


class Answer:
    """A scripted answer: text (or json=, serialized), or a safety block
    (block_reason= on the prompt; finish_reason="SAFETY" on the
    candidate), an empty candidate (empty=True), no candidates at all
    (no_candidates=True), or finish_reason="MAX_TOKENS" with the text as given."""

    def __init__(self, text=None, json=None, finish_reason="STOP", block_reason=None, empty=False,
                 no_candidates=False, prompt_tokens=None, output_tokens=None, thoughts_tokens=0):
        if text is not None and json is not None:
            raise FakeError("Answer takes text= or json=, not both")
        self.text = text
        self.json = json
        self.finish_reason = finish_reason
        self.block_reason = block_reason
        self.empty = empty
        self.no_candidates = no_candidates
        self.prompt_tokens = prompt_tokens
        self.output_tokens = output_tokens
        self.thoughts_tokens = thoughts_tokens

    @classmethod
    def of(cls, a):
        if isinstance(a, Answer):
            return a
        if isinstance(a, str):
            return cls(text=a)
        if isinstance(a, dict) and set(a) <= {"text", "json", "finish_reason", "block_reason", "empty",
                                              "no_candidates", "prompt_tokens", "output_tokens",
                                              "thoughts_tokens"} and a:
            return cls(**a)
        raise FakeError("an answer is a string, an Answer, or a dict of Answer's fields, not %r" % (a,))

    def body_text(self):
        if self.json is not None:
            return json.dumps(self.json, ensure_ascii=False)
        return self.text


def synthesize(schema, json_schema=False):
    """A minimal value matching a response schema (first enum value, empty
    strings, zeros), for calls with no scripted answer."""
    if not isinstance(schema, dict):
        return None
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if str(x).lower() != "null"), "null")
    t = str(t or ("object" if "properties" in schema else "string")).upper()
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "anyOf" in schema and schema["anyOf"]:
        return synthesize(schema["anyOf"][0], json_schema)
    if t == "OBJECT":
        return {k: synthesize(v, json_schema) for k, v in (schema.get("properties") or {}).items()}
    if t == "ARRAY":
        return []
    if t in ("NUMBER", "INTEGER"):
        return schema.get("minimum", 0)
    if t == "BOOLEAN":
        return False
    if t == "NULL":
        return None
    return ""


class FakeGemini(FakeServer):
    NAME = "gemini"
    KNOBS = ("key_state", "reject_key_in_url", "served_models", "retired_models", "retry_after_header",
             "expect_appwatch")

    def __init__(self, host="127.0.0.1", port=0, api_key=None):
        super().__init__(host, port)
        self.api_key = api_key or "AIzaFAKE" + secrets.token_urlsafe(24)
        self.key_state = None              # one of KEY_STATES, or None when the key works
        self.reject_key_in_url = True      # the real API accepts ?key=; appwatch must never send it
        self.retry_after_header = False    # the real 429 carries RetryInfo, not Retry-After
        self.served_models = set(SERVED_MODELS)
        self.retired_models = set(RETIRED_MODELS)
        # appwatch's contract on top of the API's: a systemInstruction, JSON
        # answers with a responseSchema whose fix_id is an enum. A request
        # that breaks it is answered 400 and listed in `violations`.
        self.expect_appwatch = False
        self.violations = []
        self.answer_fn = None              # fn(prompt_text, request_json) -> answer, or None to fall through
        self._queue = []
        self._rules = []                   # [(substring, answer)]
        self.calls = []                    # {"model", "prompt", "answer", "usage", "request"}

    # -- scripting ----------------------------------------------------------

    def answer(self, a=None, **kw):
        """Queues one answer for the next generateContent call."""
        with self._lock:
            self._queue.append(Answer.of(a) if a is not None else Answer(**kw))

    def answers(self, items):
        for a in items:
            self.answer(a)

    def answer_when(self, substring, a):
        """Answers `a` to every call whose prompt contains `substring`
        (after the queue, before answer_fn)."""
        with self._lock:
            self._rules.append((substring, Answer.of(a)))

    def set_key_state(self, state):
        if state is not None and state not in KEY_STATES:
            raise FakeError("unknown key state %r (known: %s)" % (state, ", ".join(KEY_STATES)))
        self.key_state = state

    def reset(self):
        super().reset()
        with self._lock:
            self._queue.clear()
            self._rules.clear()
            self.calls.clear()
            self.violations.clear()
            self.key_state = None

    def state(self):
        return {"api_key": self.api_key, "key_state": self.key_state, "calls": self.calls,
                "queued": len(self._queue), "served_models": sorted(self.served_models),
                "retired_models": sorted(self.retired_models)}

    def control(self, req, parts):
        body = req.json if isinstance(req.json, dict) else {}
        if parts == ["answers"] and req.method == "POST":
            self.answers(body.get("answers", []))
            return Response(200, {"ok": True})
        if parts == ["rules"] and req.method == "POST":
            for r in body.get("rules", []):
                self.answer_when(r["contains"], r["answer"])
            return Response(200, {"ok": True})
        if parts == ["key_state"] and req.method == "POST":
            self.set_key_state(body.get("state"))
            return Response(200, {"ok": True})
        return None

    # -- errors -------------------------------------------------------------

    def _error_body(self, code, status, message, details=None):
        err = {"code": code, "message": message, "status": status}
        if details:
            err["details"] = details
        return {"error": err}

    def _key_error(self, reason, message, code=400, status="INVALID_ARGUMENT"):
        return GeminiError(code, status, message, [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
             "metadata": {"service": _SERVICE}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message}])

    def _quota_error(self, retry_after, model="gemini"):
        delay = "%ds" % (17 if retry_after is None else max(0, math.ceil(float(retry_after))))
        headers = {"Retry-After": delay[:-1]} if self.retry_after_header else None
        return GeminiError(429, "RESOURCE_EXHAUSTED",
                           "You exceeded your current quota, please check your plan and billing details. For "
                           "more information on this error, head to: https://ai.google.dev/gemini-api/docs/"
                           "rate-limits.", [
                               {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                "violations": [{"quotaMetric": _SERVICE + "/generate_content_free_tier_requests",
                                                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                                                "quotaDimensions": {"location": "global", "model": model},
                                                "quotaValue": "10"}]},
                               {"@type": "type.googleapis.com/google.rpc.Help",
                                "links": [{"description": "Learn more about Gemini API quotas",
                                           "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
                               {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}],
                           headers)

    def _respond_error(self, e):
        return Response(e.code, self._error_body(e.code, e.status, e.message, e.details), headers=e.headers)

    def error_response(self, status, retry_after=None):
        if status == 429:
            return self._respond_error(self._quota_error(retry_after))
        if status == 502:
            return Response(502, "<!DOCTYPE html><html lang=en><title>Error 502 (Server Error)!!1</title>"
                            "<p><b>502.</b> <ins>That's an error.</ins></p></html>", "text/html; charset=UTF-8")
        if status == 503:
            return Response(503, self._error_body(503, "UNAVAILABLE",
                                                  "The model is overloaded. Please try again later."))
        if status == 504:
            return Response(504, self._error_body(504, "DEADLINE_EXCEEDED", "Deadline expired before operation "
                                                  "could complete."))
        if status >= 500:
            return Response(status, self._error_body(status, "INTERNAL", "An internal error has occurred. Please "
                                                     "retry or report in https://developers.generativeai.google/"
                                                     "guide/troubleshooting"))
        if status == 403:
            return Response(403, self._error_body(403, "PERMISSION_DENIED", "The caller does not have permission"))
        if status == 404:
            return Response(404, self._error_body(404, "NOT_FOUND", "Requested entity was not found."))
        return Response(status, self._error_body(status, "INVALID_ARGUMENT",
                                                 "Request contains an invalid argument."))

    def error_code(self, resp):
        try:
            err = json.loads(resp.body)["error"]
        except (ValueError, KeyError, TypeError):
            return None
        for d in err.get("details") or []:
            if d.get("reason"):
                return d["reason"]
        return err.get("status")

    # -- the API ------------------------------------------------------------

    def handle(self, req):
        try:
            with self._lock:
                return self._route(req)
        except GeminiError as e:
            return self._respond_error(e)

    def _check_key(self, req):
        if "key" in req.query:
            req.warnings.append("API key in the URL (?key=)")
            if self.reject_key_in_url:
                raise _bad_request("This fake refuses API keys in the URL (?key=): send the x-goog-api-key "
                                   "header, so that the key cannot leak through a logged URL.", "key")
        key = req.header("x-goog-api-key")
        if key is None and "key" in req.query:
            key = req.query["key"][0]
        if not key:
            raise GeminiError(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers "
                              "without established identity). Please use API Key or other form of API consumer "
                              "identity to call this API.")
        if key != self.api_key or self.key_state == "invalid":
            raise self._key_error("API_KEY_INVALID", "API key not valid. Please pass a valid API key.")
        if self.key_state == "expired":
            raise self._key_error("API_KEY_INVALID", "API key expired. Please renew the API key.")
        if self.key_state == "service_disabled":
            raise GeminiError(403, "PERMISSION_DENIED", "Generative Language API has not been used in project "
                              "123456789012 before or it is disabled. Enable it by visiting https://console."
                              "developers.google.com/apis/api/%s/overview?project=123456789012 then retry."
                              % _SERVICE, [
                                  {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                   "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
                                   "metadata": {"service": _SERVICE, "consumer": "projects/123456789012"}}])
        if self.key_state == "permission_denied":
            raise GeminiError(403, "PERMISSION_DENIED", "The caller does not have permission")

    def _route(self, req):
        m = _MODEL_RE.match(req.path)
        if req.path == "/v1beta/models" and req.method == "GET":
            self._check_key(req)
            return Response(200, {"models": [self._model_info(n) for n in sorted(self.served_models)]})
        if not m:
            raise GeminiError(404, "NOT_FOUND", "The requested URL %s was not found on this server." % req.path)
        model, method = m.group(1), m.group(2)
        self._check_key(req)
        if method is None and req.method == "GET":
            if model not in self.served_models:
                raise GeminiError(404, "NOT_FOUND", "models/%s is not found for API version v1beta, or is not "
                                  "supported for getModel. Call ListModels to see the list of available models "
                                  "and their supported methods." % model)
            return Response(200, self._model_info(model))
        if method == ":generateContent" and req.method == "POST":
            if model not in self.served_models:
                raise GeminiError(404, "NOT_FOUND", "models/%s is not found for API version v1beta, or is not "
                                  "supported for generateContent. Call ListModels to see the list of available "
                                  "models and their supported methods." % model)
            if self.key_state == "quota_exhausted":
                raise self._quota_error(None, model)
            return self._generate(req, model)
        raise GeminiError(404, "NOT_FOUND", "The requested URL %s was not found on this server." % req.path)

    def _model_info(self, name):
        return {"name": "models/" + name, "baseModelId": name, "version": "001",
                "displayName": name.replace("-", " ").title(), "description": "Fake %s." % name,
                "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent",
                                               "batchGenerateContent"],
                "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": True}

    # -- generateContent ----------------------------------------------------

    def _normalize(self, obj, known, where):
        out = {}
        for k, v in obj.items():
            ck = _camel(k)
            if ck not in known:
                raise _unknown_name(k, where)
            out[ck] = v
        return out

    def _parts_text(self, content, where):
        if not isinstance(content, dict):
            raise _bad_request("Invalid value at '%s': expected an object." % where, where)
        content = self._normalize(content, {"role", "parts"}, where)
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise _bad_request("* GenerateContentRequest.%s.parts: contents.parts must not be empty." % where,
                               where + ".parts")
        texts = []
        for i, p in enumerate(parts):
            pw = "%s.parts[%d]" % (where, i)
            if not isinstance(p, dict):
                raise _bad_request("Invalid value at '%s': expected an object." % pw, pw)
            p = self._normalize(p, {"text", "inlineData", "fileData", "functionCall", "functionResponse",
                                    "executableCode", "codeExecutionResult", "thought", "thoughtSignature"}, pw)
            if "text" in p:
                if not isinstance(p["text"], str):
                    raise _bad_request("Invalid value at '%s.text' (TYPE_STRING)" % pw, pw + ".text")
                texts.append(p["text"])
        return content, texts

    def _check_schema(self, s, where, depth=0):
        if not isinstance(s, dict):
            raise _bad_request("Invalid value at '%s': expected a Schema object." % where, where)
        if depth > 32:
            raise _bad_request("* GenerationConfig.response_schema: schema nests too deeply.", where)
        for k in s:
            if k not in SCHEMA_FIELDS:
                raise _unknown_name(k, where)
        t = s.get("type")
        if t is not None and (not isinstance(t, str) or t.upper() not in SCHEMA_TYPES):
            raise _bad_request('Invalid value at \'%s.type\' (type.googleapis.com/google.ai.generativelanguage.'
                               'v1beta.Type), "%s"' % (where, t), where + ".type")
        if "enum" in s and not (isinstance(s["enum"], list) and all(isinstance(x, str) for x in s["enum"])):
            raise _bad_request("Invalid value at '%s.enum': enum values are strings." % where, where + ".enum")
        props = s.get("properties")
        if props is not None:
            if not isinstance(props, dict):
                raise _bad_request("Invalid value at '%s.properties': expected an object." % where, where)
            for name, sub in props.items():
                self._check_schema(sub, "%s.properties[%s].value" % (where, name), depth + 1)
        if "items" in s:
            self._check_schema(s["items"], where + ".items", depth + 1)
        for i, sub in enumerate(s.get("anyOf") or []):
            self._check_schema(sub, "%s.any_of[%d]" % (where, i), depth + 1)
        req = s.get("required")
        if req is not None:
            if not isinstance(req, list) or not all(isinstance(x, str) for x in req):
                raise _bad_request("Invalid value at '%s.required': expected strings." % where, where)
            missing = [r for r in req if r not in (props or {})]
            if missing:
                raise _bad_request("* GenerateContentRequest.generation_config.response_schema.required[0]: "
                                   "property is not defined: %s" % missing[0], where + ".required")

    def _check_json_schema(self, s, where, depth=0):
        if not isinstance(s, (dict, bool)):
            raise _bad_request("Invalid value at '%s': expected a JSON Schema." % where, where)
        if isinstance(s, bool) or depth > 32:
            return
        t = s.get("type")
        types = t if isinstance(t, list) else [t] if t is not None else []
        for x in types:
            if x not in JSON_SCHEMA_TYPES:
                raise _bad_request("Invalid JSON Schema at '%s.type': unknown type %r." % (where, x), where)
        for name, sub in (s.get("properties") or {}).items():
            self._check_json_schema(sub, "%s.properties.%s" % (where, name), depth + 1)
        if "items" in s:
            self._check_json_schema(s["items"], where + ".items", depth + 1)

    def _generate(self, req, model):
        mime = req.header("content-type", "").split(";")[0].strip().lower()
        if mime != "application/json":
            raise _bad_request("Invalid Content-Type %r: the request body must be JSON (application/json)."
                               % req.header("content-type", ""))
        if req.json is None:
            raise _bad_request("Invalid JSON payload received. %s" % (req.json_error or "Empty body."))
        if not isinstance(req.json, dict):
            raise _bad_request("Invalid JSON payload received. Unknown name \"\": Root element must be a message.")
        body = self._normalize(req.json, REQUEST_FIELDS, "")
        contents = body.get("contents")
        if not contents:
            raise _bad_request("* GenerateContentRequest.contents: contents is not specified", "contents")
        if not isinstance(contents, list):
            raise _bad_request("Invalid value at 'contents': expected a list.", "contents")
        prompt = []
        for i, c in enumerate(contents):
            c, texts = self._parts_text(c, "contents[%d]" % i)
            role = c.get("role", "user")
            if role not in ROLES:
                raise _bad_request("Please use a valid role: %s." % ", ".join(ROLES), "contents[%d].role" % i)
            prompt.extend(texts)
        system = []
        if "systemInstruction" in body:
            _, system = self._parts_text(body["systemInstruction"], "system_instruction")
        gc = body.get("generationConfig") or {}
        if not isinstance(gc, dict):
            raise _bad_request("Invalid value at 'generation_config': expected an object.", "generation_config")
        gc = self._normalize(gc, GENERATION_FIELDS, "generation_config")
        rmime = gc.get("responseMimeType", "text/plain")
        if rmime not in MIME_TYPES:
            raise _bad_request("* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes "
                               "are %s." % ", ".join("`%s`" % x for x in MIME_TYPES),
                               "generation_config.response_mime_type")
        if "responseSchema" in gc and "responseJsonSchema" in gc:
            raise _bad_request("* GenerateContentRequest.generation_config: response_schema and "
                               "response_json_schema cannot both be set.", "generation_config")
        schema = gc.get("responseSchema")
        json_schema = gc.get("responseJsonSchema")
        if (schema is not None or json_schema is not None) and rmime == "text/plain":
            raise _bad_request("* GenerateContentRequest.generation_config.response_mime_type: a response schema "
                               "needs response_mime_type application/json or text/x.enum, not text/plain.",
                               "generation_config.response_mime_type")
        if schema is not None:
            self._check_schema(schema, "generation_config.response_schema")
        if json_schema is not None:
            self._check_json_schema(json_schema, "generation_config.response_json_schema")
        max_out = gc.get("maxOutputTokens")
        if max_out is not None and (isinstance(max_out, bool) or not isinstance(max_out, int) or max_out < 1):
            raise _bad_request("* GenerateContentRequest.generation_config.max_output_tokens: must be a positive "
                               "integer.", "generation_config.max_output_tokens")
        temp = gc.get("temperature")
        if temp is not None and (not isinstance(temp, (int, float)) or not 0 <= temp <= 2):
            raise _bad_request("* GenerateContentRequest.generation_config.temperature: must be between 0 and 2.",
                               "generation_config.temperature")
        tc = gc.get("thinkingConfig")
        if tc is not None:
            if not isinstance(tc, dict):
                raise _bad_request("Invalid value at 'generation_config.thinking_config': expected an object.",
                                   "generation_config.thinking_config")
            tc = self._normalize(tc, THINKING_FIELDS, "generation_config.thinking_config")
            level = tc.get("thinkingLevel")
            levels = THINKING_LEVELS.get(model, THINKING_LEVELS_DEFAULT)
            if level is not None and (not isinstance(level, str) or level.lower() not in levels):
                raise _bad_request("* GenerateContentRequest.generation_config.thinking_config.thinking_level: "
                                   "%r is not supported by models/%s (supported: %s)."
                                   % (level, model, ", ".join(levels)),
                                   "generation_config.thinking_config.thinking_level")
        if self.expect_appwatch:
            self._check_appwatch(body, gc, schema)
        count = gc.get("candidateCount", 1)
        if count != 1:
            raise _bad_request("* GenerateContentRequest.generation_config.candidate_count: this fake answers "
                               "one candidate.", "generation_config.candidate_count")

        prompt_text = "\n".join(system + prompt)
        ans = self._pick(prompt_text, req.json)
        if ans is None:
            if schema is not None or json_schema is not None:
                ans = Answer(json=synthesize(schema if schema is not None else json_schema))
            else:
                ans = Answer(text="OK")
        ptoks = ans.prompt_tokens if ans.prompt_tokens is not None else _tokens(prompt_text)
        out = {"modelVersion": model, "responseId": uuid.uuid4().hex[:22]}
        text = ans.body_text() or ""
        finish = ans.finish_reason
        if ans.block_reason:
            out["promptFeedback"] = {"blockReason": ans.block_reason, "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]}
            out["usageMetadata"] = {"promptTokenCount": ptoks, "totalTokenCount": ptoks}
            text = ""
        elif ans.no_candidates:
            out["usageMetadata"] = {"promptTokenCount": ptoks, "totalTokenCount": ptoks}
            text = ""
        else:
            thoughts = ans.thoughts_tokens or 0
            if max_out is not None and _tokens(text) + thoughts > max_out and finish == "STOP":
                text = text[:max(0, max_out - thoughts) * 4]
                finish = "MAX_TOKENS"
            otoks = ans.output_tokens if ans.output_tokens is not None else _tokens(text)
            cand = {"finishReason": finish, "index": 0}
            if finish == "SAFETY":
                cand["safetyRatings"] = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH",
                                          "blocked": True}]
                text = ""
                otoks = 0
            elif ans.empty:
                cand["content"] = {"role": "model"}
                text = ""
                otoks = 0
            else:
                cand["content"] = {"parts": [{"text": text}], "role": "model"}
            out["candidates"] = [cand]
            out["usageMetadata"] = {"promptTokenCount": ptoks, "candidatesTokenCount": otoks,
                                    "totalTokenCount": ptoks + otoks + thoughts,
                                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": ptoks}]}
            if thoughts:
                out["usageMetadata"]["thoughtsTokenCount"] = thoughts
        self.calls.append({"model": model, "prompt": prompt_text, "answer": text,
                           "usage": out["usageMetadata"], "request": req.json})
        return Response(200, out)

    def _check_appwatch(self, body, gc, schema):
        problems = []
        if not body.get("systemInstruction"):
            problems.append("no systemInstruction")
        if gc.get("responseMimeType") != "application/json":
            problems.append("responseMimeType is not application/json")
        props = (schema or {}).get("properties") or {}
        if not schema:
            problems.append("no responseSchema")
        else:
            fix = props.get("fix_id") or {}
            if not isinstance(fix.get("enum"), list) or "none" not in fix["enum"]:
                problems.append("responseSchema's fix_id is not an enum with 'none'")
            for k in ("category", "cause", "fix_summary", "fix_id", "confidence", "details"):
                if k not in props or k not in (schema.get("required") or []):
                    problems.append("responseSchema lacks required %r" % k)
        if problems:
            self.violations.append(problems)
            raise _bad_request("appwatch's request contract broken: " + "; ".join(problems))

    def _pick(self, prompt_text, request_json):
        if self._queue:
            return self._queue.pop(0)
        for sub, a in self._rules:
            if sub in prompt_text:
                return a
        if self.answer_fn is not None:
            a = self.answer_fn(prompt_text, request_json)
            if a is not None:
                return Answer.of(a)
        return None
