"""Deciding the answer to one admitted chat completion request, with no I/O.

Both shells (the aiohttp server and the in-process respx one) admit a request with the core
(:meth:`~voicewire.simulators.core.state.SimulatorState.admit`: token, scenario), then call
:func:`decide_completion` and execute what it returns. The decision journals through the
exchange: the request, any error answer, the rule note; it counts the attempt and the key's
usage. A streamed answer carries its actions as a lazy iterator: nothing is planned until the
shell pulls.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from voicewire.reference.errors import error_body
from voicewire.simulators.core.actions import Action
from voicewire.simulators.core.state import Exchange
from voicewire.simulators.llm.echo import echo_reply
from voicewire.simulators.llm.plan import (
    completion_body,
    stream_actions,
    stream_events,
    usage_payload,
)
from voicewire.simulators.llm.request import RequestError, decode_body, request_from_json
from voicewire.simulators.llm.templates import StreamTemplates
from voicewire.simulators.scenario import StatusFault, Timing

__all__ = [
    "COMPLETION_ID_PREFIX",
    "ENDPOINT",
    "EVENT_KIND",
    "TEMPLATES_CACHE",
    "CompletionAnswer",
    "ErrorAnswer",
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
) -> ErrorAnswer | CompletionAnswer:
    """The answer to one admitted chat completion request.

    Journals the request; refuses a bad body (400, SRV-1); counts the attempt (attempt N is
    the Nth identical body under the scenario); picks the first rule that matches (its
    ``text`` is searched in the last user message), else echoes or answers 404 per the
    scenario's ``on_unmatched``; journals the rule; counts the key's usage; answers a
    ``status`` fault, else a completion whose stream is planned lazily.
    """
    try:
        document = decode_body(body)
    except RequestError as exc:
        exchange.request(method, path, headers, body)
        return _refused(exchange, exc)
    exchange.request(method, path, headers, body, decoded=document)
    try:
        chat = request_from_json(document)
    except RequestError as exc:
        return _refused(exchange, exc)

    attempt = exchange.next_attempt(body)
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
        index, reply, faults, timing = None, echo_reply(chat), [], Timing()
    else:
        index, rule = chosen
        reply, faults, timing = rule.reply, rule.faults_for(attempt), rule.timing
    exchange.note("rule", {"rule": index, "attempt": attempt})

    usage = exchange.usage
    usage["requests"] += 1
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
