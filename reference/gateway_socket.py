"""The WebSocket the LiveKit inference gateway's speech clients open (STT and TTS): its URL,
the upgrade with a fresh token and the error each way of failing maps to (§2.4's mapping, as
RETRY-1), and a send bounded by the timeout. On the ``websockets`` library: the simulators are
aiohttp, so the two stacks check each other."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote

from voicewire.reference.errors import APIConnectionError, APIStatusError, APITimeoutError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, InvalidURI, WebSocketException

__all__ = ["gateway_url", "open_gateway_socket", "send_within"]


def gateway_url(base_url: str, path: str, model: str) -> str:
    """The WebSocket URL of ``path`` (``stt``, ``tts``; SPEC §3, §4): ``base_url`` with its
    first ``http`` turned into ``ws`` (``https`` → ``wss``), ``/<path>`` appended to its path,
    and ``?model=<model>`` with the ``/`` of the model left as is, as upstream's request reads
    on the wire. A ``ws://``/``wss://`` base is kept; one trailing ``/`` of the base is dropped
    so that ``…/v1/`` and ``…/v1`` give the same path."""
    if not isinstance(base_url, str) or not base_url:
        raise ValueError(f"base_url must be a non-empty string, got {base_url!r}")
    base = base_url
    if base.startswith(("http://", "https://")):
        base = base.replace("http", "ws", 1)
    base = base.removesuffix("/")
    return f"{base}/{path}?model={quote(model, safe='/:@')}"


async def open_gateway_socket(
    url: str, token: str, *, service: str, timeout: float, max_size: int
) -> ClientConnection:
    """The upgrade to ``url`` with ``token`` as its bearer, within ``timeout``. ``service``
    (``LiveKit Inference STT``...) names the service in the errors: a refused upgrade is an
    ``APIStatusError`` with its status and body, a timeout an ``APITimeoutError``, a bad URL a
    non-retryable ``APIConnectionError``, anything else a retryable one."""
    try:
        return await connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            # As upstream's aiohttp client: no extension offered, no keepalive pings.
            compression=None,
            ping_interval=None,
            proxy=None,
            open_timeout=timeout,
            close_timeout=timeout,
            max_size=max_size,
        )
    except InvalidStatus as exc:
        response = exc.response
        raise APIStatusError(
            f"{service} refused the connection: HTTP {response.status_code}",
            status_code=response.status_code,
            request_id=response.headers.get("X-Request-Id"),
            body=_response_body(response.body),
        ) from exc
    except (TimeoutError, asyncio.TimeoutError) as exc:
        raise APITimeoutError(f"connecting to {service} timed out after {timeout} s") from exc
    except InvalidURI as exc:
        raise APIConnectionError(f"invalid {service} URL {url!r}: {exc}", retryable=False) from exc
    except (OSError, EOFError, WebSocketException) as exc:
        raise APIConnectionError(
            f"failed to connect to {service}: {type(exc).__name__}: {exc}"
        ) from exc


async def send_within(ws: ClientConnection, frame: str, timeout: float, *, service: str) -> None:
    """Send one frame within ``timeout``: a server that stops reading must not hang the
    stream (CLI-ROB-1). Raises ``ConnectionClosed`` as websockets does."""
    # asyncio.wait, not wait_for: before Python 3.12, wait_for swallows a cancellation that
    # arrives as the send completes, and aclose() must always stop the sender.
    send = asyncio.get_running_loop().create_task(ws.send(frame))
    # When this coroutine is cancelled as the send fails (a reset), nobody awaits the send:
    # its error is retrieved here so asyncio does not log it as never retrieved.
    send.add_done_callback(lambda task: task.cancelled() or task.exception())
    try:
        done, _ = await asyncio.wait({send}, timeout=timeout)
    finally:
        if not send.done():
            send.cancel()
    if not done:
        raise APITimeoutError(f"sending to {service} timed out after {timeout} s")
    send.result()


def _response_body(body: bytes | None) -> object | None:
    """A refused upgrade's body: its JSON when it is JSON, else its text (cut short)."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text[:4000]
