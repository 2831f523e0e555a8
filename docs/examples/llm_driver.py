#!/usr/bin/env python3
"""An example voicewire ``cmd:`` driver: a LiveKit-inference LLM client in plain Python.

Run the conformance suites against it with::

    voicewire run --iut "cmd:python docs/examples/llm_driver.py"

It is what the author of a port (Go, TypeScript, Rust...) writes: a small program that reads
requests from stdin and answers on stdout, one JSON object per line (``docs/iut-protocol.md``),
and behind it a complete client for SPEC §2.1-2.4: the request body, the bearer token, SSE
parsing, thinking-block removal, tool-call assembly, usage and the retry loop. It uses the
standard library only, so nothing in it leans on voicewire or on an SDK.

It declares only the ``llm.chat`` capability: the fallback-adapter and chat-context cases are
reported UNSUPPORTED for it, which is how a partial implementation is tested honestly.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import http.client
import json
import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

PROTOCOL = 2
NAME = "example-llm-driver (python stdlib)"
CAPABILITIES = ["llm.chat"]
PROVIDER_HEADER = "X-LiveKit-Inference-Provider"
FIRST_RETRY_WAIT = 0.1  # SPEC §2.4: the first retry waits 0.1 s, later ones retry_interval
RETRYABLE_4XX = {408, 429, 499}  # RETRY-3


# -- errors (SPEC §2.4 names: they are what the suites see in ErrorInfo.kind) ------------------


class APIError(Exception):
    """A failed attempt, with the fields of the harness's ErrorInfo."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status_code = status_code
        self.body = body


class APIStatusError(APIError):
    pass


class APITimeoutError(APIError):
    pass


class APIConnectionError(APIError):
    pass


def error_info(error: BaseException) -> dict[str, Any]:
    """An exception as the protocol's ``ErrorInfo`` object."""
    if isinstance(error, APIError):
        return {
            "kind": type(error).__name__,
            "message": error.message,
            "status_code": error.status_code,
            "retryable": error.retryable,
            "body": error.body,
        }
    return {"kind": type(error).__name__, "message": str(error), "retryable": None}


# -- AUTH-1..3: an HS256 JWT, fresh for every request -----------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(value: Any) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def access_token(api_key: str, api_secret: str) -> str:
    now = int(time.time())
    claims = {
        "iss": api_key,
        "sub": "agent",
        "nbf": now,
        "exp": now + 600,
        "inference": {"perform": True},
    }
    signing_input = _b64json({"alg": "HS256", "typ": "JWT"}) + "." + _b64json(claims)
    signature = hmac.new(api_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


# -- LLM-REQ-2: OpenAI strict schemas ---------------------------------------------------------

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = ("additionalProperties", "items", "not", "contains", "if", "then", "else")
_SCHEMA_ONE += ("propertyNames",)
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def _accepts_null(schema: Any) -> bool:
    if isinstance(schema, bool):
        return schema
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if ("const" in schema and schema["const"] is None) or None in schema.get("enum", ()):
        return True
    return any(_accepts_null(s) for key in ("anyOf", "oneOf") for s in schema.get(key, ()))


def _nullable(schema: Any) -> Any:
    # Strict mode requires every property, so an optional one must accept null instead.
    if _accepts_null(schema):
        return schema
    null = {"type": "null"}
    if isinstance(schema, bool):
        return {"anyOf": [schema, null]}
    inner = {k: v for k, v in schema.items() if k != "description"}
    outer = {"description": schema["description"]} if "description" in schema else {}
    if set(inner) == {"anyOf"}:
        return {"anyOf": [*inner["anyOf"], null], **outer}
    return {"anyOf": [inner, null], **outer}


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    target: Any = root
    for token in ref.lstrip("#").split("/")[1:]:
        target = target[token.replace("~1", "/").replace("~0", "~")]
    return target


def strict_schema(schema: Any, root: Any = None, inlining: tuple[str, ...] = ()) -> Any:
    """``additionalProperties: false`` on every object, every property required (optional
    ones made nullable), no ``title``/``default``, ``$ref`` with siblings inlined."""
    root = schema if root is None else root
    if isinstance(schema, bool):
        return schema
    node = {k: v for k, v in schema.items() if k not in ("title", "default")}
    if "$ref" in node and len(node) > 1:
        ref = node.pop("$ref")
        if ref in inlining:
            raise ValueError(f"{ref!r} refers to itself and has siblings: cannot inline it")
        return strict_schema({**_resolve(root, ref), **node}, root, (*inlining, ref))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS:
            out[key] = {name: strict_schema(sub, root, inlining) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS or (key == "items" and isinstance(value, list)):
            out[key] = [strict_schema(sub, root, inlining) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = strict_schema(value, root, inlining)
        else:
            out[key] = copy.deepcopy(value)
    kind = out.get("type")
    if kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in out:
        if out.get("additionalProperties", False) is not False:
            raise ValueError("a strict schema cannot allow additionalProperties")
        properties = out.get("properties", {})
        required = schema.get("required", [])
        for name in properties:
            if name not in required:
                properties[name] = _nullable(properties[name])
        out["required"] = list(properties)
        out["additionalProperties"] = False
    return out


def tool_entry(tool: dict[str, Any]) -> dict[str, Any]:
    function = {
        "name": tool["name"],
        "description": tool.get("description", ""),
        "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
    }
    if not tool.get("raw"):  # a raw tool's schema is sent exactly as its author wrote it
        function["parameters"] = strict_schema(function["parameters"])
        function["strict"] = True
    return {"type": "function", "function": function}


# -- SPEC §6.3: chat context items -> openai messages -----------------------------------------


def _generation(item: dict[str, Any]) -> str:
    # An assistant message "X" and its calls "X/fnc_0", "X/fnc_1" are one provider message.
    if item["type"] == "function_call" and item.get("group_id"):
        return item["group_id"]
    return item["id"].split("/", 1)[0]


def _content(message: dict[str, Any]) -> Any:
    parts = message.get("content") or []
    if isinstance(parts, str):
        parts = [parts]
    texts = [p for p in parts if isinstance(p, str)]
    images = [p for p in parts if isinstance(p, dict) and p.get("type") == "image_content"]
    text = "\n".join(texts)
    if not images:  # CTX-OAI-3: text only is one string; audio is never sent
        return text
    content = [
        {
            "type": "image_url",
            "image_url": {"url": p["image"], "detail": p.get("inference_detail", "auto")},
        }
        for p in images
    ]
    if texts:
        content.append({"type": "text", "text": text})
    return content


def openai_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CTX-OAI-1/2: calls grouped with their assistant message, each followed by its output;
    a call without output and an output without call are left out (the provider would 400)."""
    groups: list[dict[str, Any]] = []
    open_groups: dict[str, dict[str, Any]] = {}
    outputs = []
    for item in items:
        if item["type"] == "function_call_output":
            outputs.append(item)
        elif item["type"] == "function_call" or item.get("role") == "assistant":
            key = _generation(item)
            group = open_groups.get(key)
            # A second assistant message under one key is a new turn, not a merge.
            if group is None or (item["type"] == "message" and group["message"] is not None):
                group = open_groups[key] = {"message": None, "calls": [], "outputs": {}}
                groups.append(group)
            if item["type"] == "function_call":
                group["calls"].append(item)
            else:
                group["message"] = item
        else:
            groups.append({"message": item, "calls": [], "outputs": {}})
    group_of_call = {call["call_id"]: g for g in groups for call in g["calls"]}
    for output in outputs:
        group = group_of_call.get(output["call_id"])
        if group is not None:
            group["outputs"].setdefault(output["call_id"], output)  # the first output counts

    messages: list[dict[str, Any]] = []
    for group in groups:
        pairs = []
        for call in group["calls"]:
            output = group["outputs"].pop(call["call_id"], None)
            if output is not None:
                pairs.append((call, output))
        if group["message"] is None and not pairs:
            continue
        message: dict[str, Any] = {"role": "assistant"}
        if group["message"] is not None:
            message["role"] = group["message"]["role"]
            content = _content(group["message"])
            if content or not pairs:
                message["content"] = content
        if pairs:
            message["tool_calls"] = [
                {
                    "id": call["call_id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": call["arguments"]},
                }
                for call, _ in pairs
            ]
        messages.append(message)
        for _, output in pairs:
            messages.append(
                {"role": "tool", "tool_call_id": output["call_id"], "content": output["output"]}
            )
    return messages


def build_body(request: dict[str, Any]) -> dict[str, Any]:
    """LLM-REQ-1..4. Per-call options override constructor options."""
    llm = request["llm"]
    body = {**(llm.get("extra_kwargs") or {}), **(request.get("extra_kwargs") or {})}
    body["model"] = llm["model"]
    body["messages"] = openai_messages(request.get("chat_ctx", {}).get("items", []))
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    tools = [tool_entry(tool) for tool in request.get("tools") or []]
    if tools:
        body["tools"] = tools
        choice = request.get("tool_choice")
        if isinstance(choice, dict):
            body["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
        elif choice is not None:
            body["tool_choice"] = choice
        if request.get("parallel_tool_calls") is not None:
            body["parallel_tool_calls"] = request["parallel_tool_calls"]
    else:
        # Never "tools": [] (LLM-REQ-2), and a tool_choice without tools is a provider 400.
        for key in ("tools", "tool_choice", "parallel_tool_calls"):
            body.pop(key, None)
    return body


# -- LLM-TXT-2: removing <think> blocks from streamed text ------------------------------------


class ThinkFilter:
    """Holds back only the tail that could still grow into the tag it looks for, so a tag
    split across deltas is found and nothing else is delayed."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.thinking = False
        self.held = ""

    @staticmethod
    def _partial(text: str, tag: str) -> int:
        for size in range(min(len(tag) - 1, len(text)), 0, -1):
            if text.endswith(tag[:size]):
                return size
        return 0

    def feed(self, text: str) -> str:
        buffer, self.held, visible, pos = self.held + text, "", [], 0
        while True:
            tag = self.CLOSE if self.thinking else self.OPEN
            found = buffer.find(tag, pos)
            if found < 0:
                keep = self._partial(buffer[pos:], tag)
                if not self.thinking:
                    visible.append(buffer[pos : len(buffer) - keep])
                self.held = buffer[len(buffer) - keep :] if keep else ""
                return "".join(visible)
            if not self.thinking:
                visible.append(buffer[pos:found])
            pos = found + len(tag)
            self.thinking = not self.thinking

    def finish(self) -> str:
        """End of stream: a held tag prefix was text after all; an open block is dropped."""
        released = "" if self.thinking else self.held
        self.thinking, self.held = False, ""
        return released


# -- LLM-TC-1..5: assembling tool calls from fragments ----------------------------------------


# Every chunk field this client reads and its JSON type (null is always allowed): a field of
# another type makes the stream malformed (LLM-ROB-1), never a completion or a crash.
_INT = (int,)
_CHOICE_FIELDS = {"index": _INT, "delta": (dict,), "finish_reason": (str,)}
_DELTA_FIELDS = {"content": (str,), "role": (str,), "tool_calls": (list,)}
_CALL_FIELDS = {"index": _INT, "id": (str,), "function": (dict,)}
_FUNCTION_FIELDS = {"name": (str,), "arguments": (str,)}
_USAGE_FIELDS = {"prompt_tokens": _INT, "completion_tokens": _INT, "total_tokens": _INT}


def _field_problem(
    where: str, node: dict[str, Any], fields: dict[str, tuple[type, ...]]
) -> str | None:
    for key, kinds in fields.items():
        value = node.get(key)
        wrong = value is not None and (
            not isinstance(value, kinds) or (kinds is _INT and isinstance(value, bool))
        )
        if wrong:
            return f"{where}{key} is {type(value).__name__}, not {kinds[0].__name__}"
    return None


def chunk_type_problem(chunk: dict[str, Any]) -> str | None:
    """What is mistyped in a chunk, or None."""
    problem = _field_problem("", chunk, {"id": (str,), "choices": (list,), "usage": (dict,)})
    if problem is not None:
        return problem
    for number, choice in enumerate(chunk.get("choices") or []):
        if not isinstance(choice, dict):
            return f"choices[{number}] is {type(choice).__name__}, not an object"
        where = f"choices[{number}]."
        problem = _field_problem(where, choice, _CHOICE_FIELDS)
        delta = choice.get("delta") or {}
        problem = problem or _field_problem(f"{where}delta.", delta, _DELTA_FIELDS)
        for at, call in enumerate(delta.get("tool_calls") or []):
            if problem is not None:
                break
            if not isinstance(call, dict):
                return f"{where}delta.tool_calls[{at}] is not an object"
            call_where = f"{where}delta.tool_calls[{at}]."
            problem = _field_problem(call_where, call, _CALL_FIELDS) or _field_problem(
                f"{call_where}function.", call.get("function") or {}, _FUNCTION_FIELDS
            )
        if problem is not None:
            return problem
    return _field_problem("usage.", chunk.get("usage") or {}, _USAGE_FIELDS)


class ToolCalls:
    """Calls are held until the completion ends: fragments of different indices may
    interleave, so only the end proves a call complete (and it is then never lost)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.newest: dict[int, dict[str, Any]] = {}  # the newest call at each index

    def feed(self, fragments: list[Any]) -> None:
        for fragment in fragments:
            if not isinstance(fragment, dict):
                raise ValueError(f"a tool_calls entry is not an object: {fragment!r}")
            function = fragment.get("function") or {}
            # Servers send "" where they mean "absent"; an "" id must not split a call.
            call_id = fragment.get("id") or None
            name = function.get("name") or None
            arguments = function.get("arguments") or None
            if call_id is None and name is None and arguments is None:
                continue
            index = fragment.get("index")
            if index is None:  # non-conformant, but seen: attach to the latest call
                index = self.calls[-1]["index"] if self.calls else 0
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise ValueError(f"tool call index must be an int >= 0, got {index!r}")
            call = self.newest.get(index)
            # A new id on a seen index is a new call (some servers reuse indices).
            if call is None or (call_id is not None and call_id != call["call_id"]):
                call = {"index": index, "call_id": call_id or "", "name": "", "parts": []}
                self.calls.append(call)
                self.newest[index] = call
            if name is not None and not call["name"]:
                call["name"] = name
            if arguments is not None:
                call["parts"].append(arguments)

    def finish(self) -> list[dict[str, str]]:
        ordered = sorted(self.calls, key=lambda call: call["index"])  # stable for reused indices
        self.calls, self.newest = [], {}
        return [
            {
                "name": c["name"],
                "arguments": _join_surrogates("".join(c["parts"])),
                "call_id": c["call_id"],
            }
            for c in ordered
        ]


def _join_surrogates(text: str) -> str:
    # A server may split a non-BMP character into two JSON-escaped UTF-16 halves in separate
    # fragments; each arrives as a lone surrogate. Rejoin them into the character.
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


# -- LLM-SSE-1: server-sent events --------------------------------------------------------------


def body_lines(response: http.client.HTTPResponse) -> Iterator[bytes]:
    """The response body's lines, without their line ends.

    Not ``response.readline()``: on a chunked body it reports a connection cut in the middle
    of the stream as a normal end, and a reset must be an error (RETRY-1). ``read1`` raises
    ``IncompleteRead`` for it instead.
    """
    pending = b""
    while True:
        data = response.read1(65536)
        if not data:
            return  # a final line without its line end is incomplete: dropped
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r")


def sse_data(response: http.client.HTTPResponse) -> Iterator[str]:
    """The ``data`` of each event; comments, keep-alives and other fields are skipped."""
    data: list[str] = []
    for raw in body_lines(response):
        line = raw.decode("utf-8")  # whole lines: a multi-byte character is never split
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    # An event without its terminating blank line is incomplete: dropped, per SSE.


# -- one chat: attempts and the retry loop (RETRY-1..7) --------------------------------------


class Chat:
    """One ``llm.chat`` operation; collects the canonical events it produces."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.request = request
        self.llm = request["llm"]
        self.options = request.get("conn_options") or {}
        self.started = time.monotonic()
        self.events: list[dict[str, Any]] = []
        self.visible = False  # RETRY-2: once True nothing is retried

    def now(self) -> float:
        return time.monotonic() - self.started

    def run(self) -> list[dict[str, Any]]:
        try:
            body = json.dumps(build_body(self.request)).encode("utf-8")
        except Exception as exc:  # a bad request fails before any attempt, like chat() raising
            return [*self.events, {"type": "llm.end", "t": self.now(), "error": error_info(exc)}]
        failure = self.retry_loop(body)
        end = None if failure is None else error_info(failure)
        return [*self.events, {"type": "llm.end", "t": self.now(), "error": end}]

    def retry_loop(self, body: bytes) -> BaseException | None:
        max_retry = int(self.options.get("max_retry", 3))
        interval = float(self.options.get("retry_interval", 2.0))
        for attempt in range(max_retry + 1):
            try:
                self.attempt(body)  # RETRY-7: the same body every time
                return None
            except APIError as error:
                if not error.retryable or max_retry == 0:
                    self.error_event(error, recoverable=False)
                    return error  # raised as itself
                if attempt == max_retry:
                    self.error_event(error, recoverable=False)
                    return APIConnectionError(
                        f"failed to generate LLM completion after {attempt + 1} attempts",
                        retryable=False,
                    )
                self.error_event(error, recoverable=True)
                time.sleep(FIRST_RETRY_WAIT if attempt == 0 else interval)
            except Exception as error:
                traceback.print_exc(file=sys.stderr)
                self.error_event(error, recoverable=False)
                return error
        return None  # unreachable: the loop always returns

    def error_event(self, error: BaseException, *, recoverable: bool) -> None:
        self.events.append(
            {
                "type": "llm.error",
                "t": self.now(),
                "error": error_info(error),
                "recoverable": recoverable,
            }
        )

    def attempt(self, body: bytes) -> None:
        """One request; every failure leaves as an APIError of the RETRY-1 kind."""
        try:
            self.stream_once(body)
        except APIError:
            raise
        except TimeoutError as exc:  # socket.timeout is TimeoutError since Python 3.10
            raise APITimeoutError("Request timed out.", retryable=not self.visible) from exc
        except (
            OSError,
            http.client.HTTPException,
            ValueError,
            TypeError,
            AttributeError,
            KeyError,
            IndexError,
            RecursionError,
        ) as exc:
            # Refused, reset, truncated body, malformed SSE or JSON, in-band errors; and
            # LLM-ROB-1: a field of the wrong type (content 1.5, choices an object ...) or
            # JSON nested too deep fails where the stream is read: a malformed answer, not a
            # crash of the client.
            message = f"{type(exc).__name__}: {exc}"
            raise APIConnectionError(message, retryable=not self.visible) from exc

    def stream_once(self, body: bytes) -> None:
        url = urlsplit(self.llm["base_url"])
        timeout = float(self.options.get("timeout", 10.0))
        # A socket timeout applies to the connect and to every read: exactly "no byte for
        # `timeout` seconds". (0 would make the socket non-blocking, so it means no limit.)
        connection_class = (
            http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(url.netloc, timeout=timeout or None)
        headers = {
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
            # AUTH-3: a fresh token for every request.
            "Authorization": "Bearer " + access_token(self.llm["api_key"], self.llm["api_secret"]),
        }
        if self.llm.get("provider"):
            headers[PROVIDER_HEADER] = self.llm["provider"]  # LLM-REQ-5
        try:
            connection.request(
                "POST", url.path.rstrip("/") + "/chat/completions", body=body, headers=headers
            )
            response = connection.getresponse()
            if not 200 <= response.status < 300:
                raise self.status_error(response.status, response.read())
            content_type = response.getheader("Content-Type") or ""
            if not content_type.startswith("text/event-stream"):  # LLM-ROB-1: not a stream
                raise ValueError(f"expected a text/event-stream body, got {content_type!r}")
            self.read_stream(response)
        finally:
            connection.close()

    def status_error(self, status: int, raw: bytes) -> APIStatusError:
        text = raw.decode("utf-8", errors="replace").strip()
        message = f"Error code: {status}"
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        if isinstance(body, dict):
            body = body.get("error", body)
            if isinstance(body, dict) and isinstance(body.get("message"), str):
                message += " - " + body["message"]
        # RETRY-3: a 4xx can never succeed on a retry, except 408, 429 and 499.
        retryable = not self.visible and not (400 <= status < 500 and status not in RETRYABLE_4XX)
        return APIStatusError(message, retryable=retryable, status_code=status, body=body)

    def read_stream(self, response: http.client.HTTPResponse) -> None:
        think = ThinkFilter()
        calls = ToolCalls()
        usages: list[dict[str, Any]] = []
        chunk_id = ""
        received = False
        for data in sse_data(response):
            received = True
            if data == "[DONE]":
                break
            chunk = json.loads(data)  # a ValueError here is a malformed stream
            if not isinstance(chunk, dict):
                raise ValueError(f"SSE event is not a JSON object: {data[:80]!r}")
            problem = chunk_type_problem(chunk)
            if problem is not None:
                raise ValueError(f"malformed chunk: {problem}")  # LLM-ROB-1
            if chunk.get("error"):
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise APIConnectionError(
                    f"in-band error: {message}", retryable=not self.visible, body=error
                )
            chunk_id = chunk.get("id") or chunk_id
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                text = think.feed(delta["content"]) if delta.get("content") else ""
                if delta.get("tool_calls"):
                    calls.feed(delta["tool_calls"])
                finished: list[dict[str, str]] = []
                if choice.get("finish_reason") is not None:
                    text += think.finish()
                    finished = calls.finish()
                self.emit(chunk_id, text, finished)  # LLM-TC-5: text and calls together
            if chunk.get("usage") is not None:
                usages.append(chunk["usage"])
        if not received:
            # LLM-ROB-1: a body that ends before any event (an empty 200, a 204, comments
            # only, text that is no SSE) is no answer: a connection error, retryable.
            raise APIConnectionError(
                "the stream ended before any chunk or [DONE]", retryable=not self.visible
            )
        # LLM-TC-3: whatever is pending at the end of the stream is emitted, never dropped.
        self.emit(chunk_id, think.finish(), calls.finish())
        for usage in usages:  # LLM-USG-1: after all content and tool calls
            details = usage.get("prompt_tokens_details") or {}
            self.events.append(
                {
                    "type": "llm.usage",
                    "t": self.now(),
                    "id": chunk_id,
                    "completion_tokens": usage.get("completion_tokens") or 0,
                    "prompt_tokens": usage.get("prompt_tokens") or 0,
                    "prompt_cached_tokens": details.get("cached_tokens") or 0,
                    "total_tokens": usage.get("total_tokens") or 0,
                }
            )

    def emit(self, chunk_id: str, text: str, calls: list[dict[str, str]]) -> None:
        if not text and not calls:
            return  # LLM-TXT-1: an empty or role-only delta emits nothing
        self.visible = True
        self.events.append(
            {
                "type": "llm.chunk",
                "t": self.now(),
                "id": chunk_id,
                "content": text or None,
                "tool_calls": calls,
            }
        )


# -- the protocol loop ---------------------------------------------------------------------------


def handle(op: str, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to one request; raising makes an error reply."""
    if op == "hello":
        if request.get("protocol") != PROTOCOL:
            raise ValueError(
                f"this driver speaks protocol {PROTOCOL}, not {request.get('protocol')}"
            )
        return {"name": NAME, "capabilities": CAPABILITIES, "protocol": PROTOCOL}
    if op == "llm.chat":
        events = Chat(request).run()
        if request.get("again_after") is not None:
            # A second chat() of the same LLM: this driver keeps no state between calls, so
            # it is a second Chat, with a fresh token per attempt as every Chat mints one.
            time.sleep(request["again_after"])
            started = events[-1]["t"] + request["again_after"]
            events += [{**e, "t": e["t"] + started} for e in Chat(request).run()]
        return {"events": events}
    raise ValueError(f"unsupported op {op!r}")


def main() -> int:
    requests = sys.stdin.buffer
    replies = sys.stdout.buffer
    # stdout carries protocol replies only: a stray print() must not corrupt it.
    sys.stdout = sys.stderr
    for raw in iter(requests.readline, b""):
        if not raw.strip():
            continue
        request = json.loads(raw)
        op, body = request.get("op"), request.get("request") or {}
        reply: dict[str, Any] = {"id": request.get("id")}
        try:
            reply["answer"] = {} if op == "shutdown" else handle(op, body)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply["error"] = {"message": f"{type(exc).__name__}: {exc}"}
        # ASCII-only JSON: lone surrogates in tool arguments survive as \\u escapes.
        replies.write(json.dumps(reply, separators=(",", ":")).encode("ascii") + b"\n")
        replies.flush()
        if op == "shutdown":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
