"""How a protocol turns a recorded exchange into the IUT operation that makes the same client
traffic: the registration each protocol's ``<protocol>_cassette`` module fills
(:data:`voicewire.harness.protocols.CASSETTE_OPERATIONS`), and the helpers they share.
:mod:`voicewire.harness.cassette_run` plays and judges the operations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from pydantic import BaseModel
from voicewire.harness.iut import Target
from voicewire.simulators.recording.cassette import RecordedExchange

__all__ = ["CassetteOperation", "NotReplayable", "client_json_messages", "query_value"]


class NotReplayable(Exception):
    """A recorded session holds something the operation's request model cannot express (the
    message says what and where): its case is UNSUPPORTED."""


@dataclass(frozen=True)
class CassetteOperation:
    """How one endpoint's recorded exchange becomes one IUT operation.

    - ``endpoint``: the recorded endpoint's name (``RecordedEndpoint.endpoint``);
    - ``capability`` and ``operation``: what the IUT must declare and perform;
    - ``traffic_ids``: the SPEC IDs of what a client sends on this endpoint, which a replay
      mismatch (the IUT sent what the recording does not hold) breaks;
    - ``request``: the operation's request for a recorded exchange, aimed at ``target`` (the
      replayer); raises :class:`NotReplayable` for what the request model cannot express.
    """

    endpoint: str
    capability: str
    operation: str
    traffic_ids: tuple[str, ...]
    request: Callable[[RecordedExchange, Target], BaseModel]


def client_json_messages(
    exchange: RecordedExchange, decode: Callable[[str | bytes], object]
) -> list[object]:
    """The client's WebSocket messages of ``exchange``, each read with the protocol's
    ``decode``; a message it refuses is :class:`NotReplayable` naming the message."""
    decoded: list[object] = []
    for message in exchange.messages("client"):
        try:
            decoded.append(decode(exchange.payload(message)))
        except ValueError as exc:
            raise NotReplayable(
                f"exchange {exchange.x}: client message {message.after} is not one the "
                f"protocol reads: {exc}"
            ) from None
    return decoded


def query_value(exchange: RecordedExchange, name: str) -> str | None:
    """The first value of query parameter ``name`` of the exchange's request (None: absent)."""
    values = parse_qs(exchange.request.query, keep_blank_values=True).get(name)
    return values[0] if values else None
