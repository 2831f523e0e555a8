"""Deciding the answer to one admitted chat completion request, with no I/O.

Both shells (the aiohttp server and the in-process respx one) admit a request with the core
(:meth:`~voicewire.simulators.core.state.SimulatorState.admit`: token, scenario), then call
:func:`decide_completion` and execute what it returns. The decision journals through the
exchange: the request, any error answer, the rule note; it counts the attempt and the key's
usage. A streamed answer carries its actions as a lazy iterator: nothing is planned until the
shell pulls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from voicewire.reference.errors import error_body
from voicewire.simulators.core.actions import Action
from voicewire.simulators.core.raw import RawAnswer, raw_answer
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.llm.echo import echo_reply
from voicewire.simulators.llm.plan import (
    completion_body,
    stream_actions,
    stream_events,
    usage_payload,
)
from voicewire.simulators.llm.request import (
    MAX_JSON_DEPTH,
    ChatCompletionRequest,
    RequestError,
    read_request,
)
from voicewire.simulators.llm.script import LLMReply
from voicewire.simulators.llm.templates import StreamTemplates
from voicewire.simulators.scenario import StatusFault, Timing

__all__ = [
    "COMPLETION_ID_PREFIX",
    "ENDPOINT",
    "EVENT_KIND",
    "TEMPLATES_CACHE",
    "CheckedBody",
    "CompletionAnswer",
    "ErrorAnswer",
    "check_body",
    "decide_completion",
]

ENDPOINT = "llm"
"""The scenario endpoint of chat completions."""
EVENT_KIND = "sse_event"
"""The journal ``kind`` of each SSE event written."""
COMPLETION_ID_PREFIX = "chatcmpl-vw"
"""Completion ids are this prefix and the exchange's next ``completion`` id."""
TEMPLATES_CACHE = "llm.stream_templates"
"""The simulator-state cache holding the :class:`~.templates.StreamTemplates`."""


@dataclass(frozen=True)
class ErrorAnswer:
    """Answer HTTP ``status`` with a JSON ``body`` (and ``headers``) instead of a completion."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompletionAnswer:
    """Answer with a completion: streamed, execute ``actions`` (a lazy iterator, pulled once);
    else wait ``delay`` seconds (already time-scaled) and send ``payload``."""

    stream: bool
    payload: dict[str, Any] | None = None
    delay: float = 0.0
    actions: Iterator[Action] = field(default_factory=lambda: iter(()))


@dataclass(frozen=True)
class CheckedBody:
    """What a request body is, worked out before any decision: the checked request (or the
    problem that refuses it), the body's SHA-256 (its attempt key) and the echo answer.

    Everything here costs in proportion to the body's size and touches no shared state, so
    :func:`check_body` may run in a worker thread for a large body (SRV-7)."""

    request: ChatCompletionRequest | None
    problem: RequestError | None
    digest: str
    echo: LLMReply | None


def check_body(body: bytes, *, max_depth: int = MAX_JSON_DEPTH, echo: bool = False) -> CheckedBody:
    """Decode and check ``body`` (documents nested deeper than ``max_depth`` are refused)
    and hash it; with ``echo``, work out its echo answer too (else it is worked out only if
    no rule matches)."""
    digest = hashlib.sha256(body).hexdigest()
    try:
        chat = read_request(body, max_depth=max_depth)
    except RequestError as problem:
        return CheckedBody(None, problem, digest, None)
    return CheckedBody(chat, None, digest, echo_reply(chat) if echo else None)


def _status_answer(exchange: Exchange, fault: StatusFault) -> ErrorAnswer:
    kind = "server_error" if fault.code >= 500 else "invalid_request_error"
    body = fault.body or error_body(fault.code, f"simulated HTTP {fault.code}", kind)
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    exchange.frame("out", "http_error", {"status": fault.code, "body": body, "headers": headers})
    return ErrorAnswer(fault.code, body, headers)


def _refused(exchange: Exchange, problem: RequestError) -> ErrorAnswer:
    """The 400 of a request the simulator cannot act on (SRV-1), journaled."""
    exchange.frame("out", "http_error", {"status": 400, "message": str(problem)})
    return ErrorAnswer(400, error_body(400, str(problem), "invalid_request_error"))


def decide_completion(
    exchange: Exchange,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    checked: CheckedBody | None = None,
) -> ErrorAnswer | CompletionAnswer | RawAnswer:
    """The answer to one admitted chat completion request.

    Journals the request; refuses a bad body (400, SRV-1); counts the attempt (attempt N is
    the Nth identical body under the scenario); picks the first rule that matches (its
    ``text`` is searched in the last user message), else echoes or answers 404 per the
    scenario's ``on_unmatched``; journals the rule; counts the key's usage; answers a
    ``status`` fault, else a completion whose stream is planned lazily; a rule with ``raw``
    gets its exact bytes instead, for a streamed request or not. ``checked`` is
    :func:`check_body` of ``body`` when the caller worked it out already (off the event
    loop, for a large body).
    """
    if checked is None:
        checked = check_body(body, max_depth=exchange.state.limits.max_json_depth)
    exchange.request(method, path, headers, body)
    if checked.problem is not None or checked.request is None:
        return _refused(exchange, checked.problem or RequestError("request body is invalid"))
    chat = checked.request

    attempt = exchange.next_attempt(body, digest=checked.digest)
    text = chat.last_user_text
    chosen = exchange.choose_rule(ENDPOINT, attempt=attempt, model=chat.model, text=text)
    scenario = exchange.scenario
    if chosen is None and scenario.on_unmatched == "error":
        message = (
            f"no rule of scenario {scenario.name!r} matches this request "
            f"(model {chat.model!r}, attempt {attempt}, last user message {text[:80]!r})"
        )
        exchange.frame("out", "http_error", {"status": 404, "message": message})
        return ErrorAnswer(404, error_body(404, message, "scenario_unmatched"))
    if chosen is None:
        reply = checked.echo if checked.echo is not None else echo_reply(chat)
        index, faults, timing = None, [], Timing()
    else:
        index, rule = chosen
        reply, faults, timing = rule.reply, rule.faults_for(attempt), rule.timing
    exchange.note("rule", {"rule": index, "attempt": attempt})

    usage = exchange.usage
    usage["requests"] += 1
    if chosen is not None and chosen[1].raw is not None:
        return raw_answer(exchange, chosen[1].raw)
    status = next((f for f in faults if isinstance(f, StatusFault)), None)
    if status is not None:
        return _status_answer(exchange, status)

    completion_id = COMPLETION_ID_PREFIX + exchange.next_id("completion")
    created = exchange.created()
    scale = exchange.time_scale
    token_usage = usage_payload(reply, chat)
    if token_usage is not None:
        usage["prompt_tokens"] += token_usage["prompt_tokens"]
        usage["completion_tokens"] += token_usage["completion_tokens"]

    if not chat.stream:
        payload = completion_body(reply, request=chat, completion_id=completion_id, created=created)
        return CompletionAnswer(stream=False, payload=payload, delay=timing.ttft * scale)
    if chosen is None:
        events = stream_events(reply, request=chat, completion_id=completion_id, created=created)
    else:
        # Scripted replies stream again and again: their encoded chunks are kept.
        templates = exchange.state.cache(TEMPLATES_CACHE, StreamTemplates)
        events = templates.events(reply, request=chat, completion_id=completion_id, created=created)
    actions = stream_actions(events, faults=faults, timing=timing, time_scale=scale)
    return CompletionAnswer(stream=True, actions=actions)
