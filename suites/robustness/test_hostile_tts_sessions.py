"""Server direction, TTS: hostile client sessions (SPEC §7 SRV-1..4, §4 TTS-S-1, §1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own embedded simulator for
``--iut reference``, or a gateway given with ``--iut url:<base_url>#protocols=...,tts``. Each
example of :mod:`voicewire.suites.robustness.tts_sessions` is played over its own connection
(sessions of :mod:`voicewire.suites.tts.raw_sessions` where a WebSocket client can say it; raw
sockets for half an upgrade, a bad ``Authorization`` byte and a TCP reset mid-synthesis), while
:data:`BESIDE` valid sessions (``session.create``, a sentence, ``session.flush``, its ``done``)
run beside it; another valid session follows them. Nothing depends on what the audio sounds
like.

§4 has no rule for a bad client message: TTS-S-1 says what a synthesis gets, and the generic
rules of §7 judge the rest. What every example is judged on:

- a hostile session ends with a close frame and code (SRV-3): the server's 1003 for a binary
  frame (SRV-3), 1009 for a message over the size limit (SRV-4; a server of unknown limit may
  answer it with an ``error`` instead), otherwise the server's answer to the client's close;
  each hostile frame gets an ``error`` with no 5xx code, never a close 1011 (SRV-1), unless the
  server closed the session with 1003 or 1008 (SRV-1), and the socket stays usable: the valid
  synthesis that ends the session gets its audio and ``done`` (SRV-1, TTS-S-1);
- a bad token gets HTTP 401 with the ``authentication_error`` body and no upgrade (AUTH-4; 400
  where the header holds bytes no header may); half an upgrade request is closed by the head
  deadline and a quiet session with a close code by the idle deadline (SRV-4), waited for as
  :class:`~voicewire.suites.robustness.requests.ServerWaits` says (``VOICEWIRE_SERVER_WAITS``);
- the valid sessions beside the peer get their audio and ``done`` (SRV-2), and so does the one
  after it (SRV-1: the server keeps serving).

The server under test, the raw-socket and quiet peers and their judging are the STT family's
too (:mod:`voicewire.suites.robustness.raw_peers`): only the route, the frames and the session
record differ, and a reset waits for the synthesis to begin.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from voicewire.harness.replay import property_family
from voicewire.harness.verdicts import expect
from voicewire.suites.robustness.raw_peers import (
    ServerUnderTest,
    check_hostile_example,
    judge_hostile_side,
    play_quiet_peer,
    play_raw_peer,
)
from voicewire.suites.robustness.tts_sessions import (
    HOSTILE_TTS_SESSION_BOUNDARIES,
    TTS_SESSION_PEER_BOUNDARIES,
    hostile_tts_sessions,
    tts_session_peers,
)
from voicewire.suites.tts.raw_sessions import (
    ANSWER,
    CREATE,
    DONE,
    ERROR,
    FLUSH,
    Step,
    TTSSession,
    is_tts_protocol_error,
    play_tts,
    synthesis,
    transcript,
    tts_ws_url,
)
from voicewire.suites.tts.wire_log import MODEL

BESIDE = 2
"""Valid sessions that run beside each hostile peer (SRV-2)."""

_AWAITS = {"done": DONE, "error": ERROR, "answer": ANSWER}
_ROUTE = f"/tts?model={MODEL}"
"""Where a raw peer asks for its upgrade: the TTS socket."""


# -- playing -----------------------------------------------------------------------------------


def expand_tts(frames: list[Any], max_message: int) -> list[Step]:
    """An example's frames as the steps of a session: text (str) and binary (bytes) frames,
    and awaits."""
    out: list[Step] = []
    for frame in frames:
        if frame == "CREATE":
            out.append(CREATE)
        elif frame == "FLUSH":
            out.append(FLUSH)
        elif "await" in frame:
            out.append(_AWAITS[frame["await"]])
        elif "say" in frame:
            out += [transcript(frame["say"])] * frame.get("repeat", 1)
        elif "text" in frame:
            out += [frame["text"]] * frame.get("repeat", 1)
        elif "binary" in frame:
            out.append(bytes.fromhex(frame["binary"]))
        else:
            head = '{"type": "input_transcript", "transcript": "'
            tail = '", "generation_config": {}, "extra": {}}'
            size = max_message + frame["oversized"] - len(head) - len(tail)
            out.append(head + "a" * size + tail)
    return out


_VALID = [CREATE, *synthesis("Still here.")]


async def _quiet(server: ServerUnderTest, frames: list[Step]) -> tuple[TTSSession, float | None]:
    """A quiet peer (:func:`~voicewire.suites.robustness.raw_peers.play_quiet_peer`) whose
    session record says who closed it."""
    seen, closed_after = await play_quiet_peer(
        server, tts_ws_url(server.target), frames, TTSSession()
    )
    seen.closed_by_server = closed_after is not None
    return seen, closed_after


@dataclass
class _Played:
    peer: Any
    beside: list[TTSSession]
    after: TTSSession


async def _play(server: ServerUnderTest, example: dict[str, Any]) -> _Played:
    peer_spec = example.get("peer")
    if peer_spec is None:
        hostile = play_tts(server.target, expand_tts(example["frames"], server.max_message))
    elif peer_spec["kind"] == "idle":
        hostile = _quiet(server, expand_tts(peer_spec["frames"], server.max_message))
    else:
        frames = expand_tts(peer_spec.get("frames", []), server.max_message)
        # A reset waits for the synthesis to begin, so it finds its audio on the way out.
        hostile = play_raw_peer(
            server, peer_spec, route=_ROUTE, frames=frames, reset_after_reply=True
        )
    peer, *beside = await asyncio.gather(
        hostile, *(play_tts(server.target, _VALID) for _ in range(BESIDE))
    )
    after = await play_tts(server.target, _VALID)
    return _Played(peer, beside, after)


# -- judging -----------------------------------------------------------------------------------


def _judge_session(example: dict[str, Any], seen: TTSSession, server: ServerUnderTest) -> str:
    """A hostile session past its upgrade and close (which
    :func:`~voicewire.suites.robustness.raw_peers.judge_hostile_side` judged): its errors, its
    close code and whether the socket stayed usable; the label it is classified by."""
    what = f"{example['family']}: {example['what']}"
    want = example["expect"]
    errors = seen.errors()
    if want["close"] is not None:
        allowed = seen.closed_by_server and seen.close_code in want["close"]
        if example["family"] == "oversized" and not server.embedded:
            # Of unknown limit: the over-long sentence itself may be what is refused.
            allowed = allowed or (any(is_tts_protocol_error(m) for m in errors) and _served(seen))
        expect(
            allowed,
            want["rule"],
            f"{what}: expected the server's close with "
            f"{' or '.join(map(str, want['close']))}: {seen.describe()}",
        )
        return f"closed {seen.close_code}"
    expect(
        seen.close_code != 1011 and all(is_tts_protocol_error(m) for m in errors),
        "SRV-1",
        f"{what}: a bad client message gets a protocol error (an error with a message and no "
        f"5xx code), never a close 1011: {seen.describe()}",
    )
    if seen.closed_by_server and seen.close_code in (1003, 1008):
        return f"closed {seen.close_code}"
    hostile, tolerated = example["hostile"], example["tolerated"]
    expect(
        hostile <= len(errors) <= hostile + tolerated,
        "SRV-1",
        f"{what}: {hostile} bad message(s) must each get an error (or the session a close "
        f"1003/1008); {len(errors)} error(s) came: {seen.describe()}",
    )
    expect(
        _served(seen),
        ["SRV-1", "TTS-S-1"],
        f"{what}: the socket must stay usable: the synthesis that ends the session must get "
        f"its audio and done: {seen.describe()}",
    )
    answered = "an error for each bad message" if errors else "no error"
    return f"{answered}, then served"


def _served(seen: TTSSession) -> bool:
    """Whether the session's last synthesis got audio and ``done`` and the session ended with
    the server's answer to the client's close (the socket stayed usable)."""
    syntheses = seen.syntheses()
    return (
        seen.failure is None
        and not seen.closed_by_server
        and bool(syntheses)
        and any(m.get("type") == "output_audio" for m in syntheses[-1])
    )


def judge_tts(example: dict[str, Any], played: _Played, server: ServerUnderTest) -> None:
    """Every expectation of one example (see the module docstring)."""
    what = f"{example['family']}: {example['what']}"
    judge_hostile_side(example, played.peer, server, _judge_session)
    for index, beside in enumerate(played.beside):
        expect(
            _served(beside),
            "SRV-2",
            f"{what}: valid session {index + 1} of {BESIDE} beside it must get its audio and "
            f"done and end with a close frame: {beside.describe()}",
        )
    expect(
        _served(played.after),
        "SRV-1",
        f"{what}: the server must keep serving: the valid session after it must get its audio "
        f"and done and end with a close frame: {played.after.describe()}",
    )


@pytest.mark.spec("TTS-S-1", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("tts.server")
@property_family(
    "hostile-tts-sessions",
    hostile_tts_sessions(),
    max_examples=20,
    boundaries=HOSTILE_TTS_SESSION_BOUNDARIES,
)
def test_hostile_tts_sessions(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad, mistyped, out-of-order, binary, oversized and flooding frames get an error, a close
    1003 or a close 1009; the socket stays usable; sessions beside and after are served."""
    check_hostile_example(voicewire_iut, voicewire_simulator, example, _play, judge_tts)


@pytest.mark.spec("AUTH-4", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("tts.server")
@property_family(
    "tts-session-peers",
    tts_session_peers(),
    max_examples=1,
    boundaries=TTS_SESSION_PEER_BOUNDARIES,
)
def test_tts_session_peers(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad tokens get 401 before any upgrade; half upgrades and quiet sessions are closed by
    the server's deadlines; resets mid-synthesis change nothing for the sessions beside and
    after."""
    check_hostile_example(voicewire_iut, voicewire_simulator, example, _play, judge_tts)
