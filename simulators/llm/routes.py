"""The LLM endpoints on the aiohttp server: ``POST /chat/completions`` and ``GET /models``.

The handlers only move bytes and time: admission comes from the core (from the request head,
before the body is read: SRV-6), the answer from :func:`~.decide.decide_completion`, and a
stream's I/O from the core's :func:`~voicewire.simulators.core.actions.walk`.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from voicewire.reference.llm.wire import models_payload
from voicewire.simulators.core.actions import Disconnect, walk
from voicewire.simulators.core.app import MAX_BODY_BYTES, error_response, state_of
from voicewire.simulators.core.state import Refusal
from voicewire.simulators.llm.decide import EVENT_KIND, ErrorAnswer, decide_completion

__all__ = ["MODELS", "add_routes"]

MODELS = ("openai/gpt-4.1-mini", "openai/gpt-4o-mini", "google/gemini-2.5-flash")
"""The models ``GET /models`` lists."""

_SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}


async def _chat_completions(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    try:
        exchange = state.admit(request.headers)
    except Refusal as refusal:
        return web.json_response(refusal.body, status=refusal.status)
    try:
        body = await request.read()
    except ConnectionResetError:
        # The client hung up before its body was complete: nobody is left to answer, and
        # aiohttp would log the unhandled error as a server fault.
        exchange.note("client_gone", "connection lost while reading the request body")
        return web.Response(status=400)
    except web.HTTPRequestEntityTooLarge:
        message = f"request body exceeds {MAX_BODY_BYTES} bytes"
        exchange.frame("out", "http_error", {"status": 413, "message": message})
        return error_response(413, message, kind="invalid_request_error")
    answer = decide_completion(
        exchange, method=request.method, path=request.path, headers=request.headers, body=body
    )
    if isinstance(answer, ErrorAnswer):
        return web.json_response(answer.body, status=answer.status, headers=answer.headers or None)

    if not answer.stream:
        if answer.delay:
            await asyncio.sleep(answer.delay)
        exchange.frame("out", "http_response", {"status": 200, "body": answer.payload})
        return web.json_response(answer.payload)

    response = web.StreamResponse(status=200, headers=_SSE_HEADERS)
    await response.prepare(request)
    exchange.frame("out", "http_response", {"status": 200, "content_type": "text/event-stream"})
    try:
        for step in walk(answer.actions, journal=exchange, write_kind=EVENT_KIND):
            if isinstance(step, bytes):
                await response.write(step)
                # write() only suspends when the transport pushes back; a fast reader never
                # does, so give the loop a turn per batch: other sessions keep their timing
                # while a long reply streams (SRV-7).
                await asyncio.sleep(0)
            elif isinstance(step, Disconnect):
                if step.mode == "reset":
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                break
            else:
                await asyncio.sleep(step)
        await response.write_eof()
    except ConnectionError as exc:
        exchange.note("client_gone", str(exc) or type(exc).__name__)
    return response


async def _models(request: web.Request) -> web.Response:
    try:
        state_of(request).api_key_of(request.headers)
    except Refusal as refusal:
        return web.json_response(refusal.body, status=refusal.status)
    return web.json_response(models_payload(MODELS))


def add_routes(router: web.UrlDispatcher, prefix: str) -> None:
    """Mount the LLM endpoints under ``prefix`` (``""`` or ``"/v1"``)."""
    router.add_post(f"{prefix}/chat/completions", _chat_completions)
    router.add_get(f"{prefix}/models", _models)
