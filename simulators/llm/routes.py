"""The LLM endpoints on the aiohttp server: ``POST /chat/completions`` and ``GET /models``.

The handlers only move bytes and time: admission and the body come from the core (from the
request head, before the body is read, and before ``100 Continue`` invites it: SRV-6; then the
body under its size and deadline: SRV-4), refusals are answered as JSON by the core's
middleware, the answer comes from :func:`~.decide.decide_completion`, and a stream's I/O from
the core's :func:`~voicewire.simulators.core.actions.walk`. A large body is decoded and
checked in a worker thread, and a large answer encoded there, so other sessions keep their
timing (SRV-7).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from voicewire.reference.llm.wire import models_payload
from voicewire.simulators.core.bodies import OFFLOAD_BYTES
from voicewire.simulators.core.raw import RawAnswer
from voicewire.simulators.core.serving import (
    admit,
    execute_actions,
    expect_admissible,
    receive_body,
    serve_raw,
    state_of,
)
from voicewire.simulators.llm.decide import (
    EVENT_KIND,
    ErrorAnswer,
    check_body,
    decide_completion,
)

__all__ = ["MODELS", "add_routes"]

MODELS = ("openai/gpt-4.1-mini", "openai/gpt-4o-mini", "google/gemini-2.5-flash")
"""The models ``GET /models`` lists."""

_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


def _encoded(payload: Any) -> bytes:
    return json.dumps(payload).encode()


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    exchange = admit(request)
    body = await receive_body(request)
    checked = None
    if len(body) > OFFLOAD_BYTES:
        checked = await asyncio.to_thread(
            check_body, body, max_depth=state.limits.max_json_depth, echo=True
        )
    answer = decide_completion(
        exchange,
        method=request.method,
        path=request.path,
        headers=request.headers,
        body=body,
        checked=checked,
    )
    if isinstance(answer, ErrorAnswer):
        return web.json_response(answer.body, status=answer.status, headers=answer.headers or None)
    if isinstance(answer, RawAnswer):
        return await serve_raw(request, exchange, answer)

    if not answer.stream:
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if len(body) > OFFLOAD_BYTES:
            # A reply as long as a large request (echo) is encoded off the loop too.
            encoded = await asyncio.to_thread(_encoded, answer.payload)
        else:
            encoded = _encoded(answer.payload)
        exchange.frame("out", "http_response", {"status": 200, "body": state.journal.body(encoded)})
        return web.Response(body=encoded, content_type="application/json")

    response = web.StreamResponse(status=200, headers=_SSE_HEADERS)
    await response.prepare(request)
    exchange.frame("out", "http_response", {"status": 200, "content_type": "text/event-stream"})
    await execute_actions(
        request, response, answer.actions, journal=exchange, write_kind=EVENT_KIND
    )
    return response


async def _models(request: web.Request) -> web.Response:
    state_of(request).api_key_of(request.headers)  # a Refusal is answered by the core
    return web.json_response(models_payload(MODELS))


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    """Mount the LLM endpoints under ``prefix`` (``""`` or ``"/v1"``)."""
    router.add_post(
        f"{prefix}/chat/completions", _chat_completions, expect_handler=expect_admissible
    )
    router.add_get(f"{prefix}/models", _models)
