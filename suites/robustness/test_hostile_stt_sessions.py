"""Server direction, STT: hostile client sessions (SPEC §7 SRV-1..4, §3.2 STT-S-1, §1.1 AUTH-4).

The server is ``voicewire_iut.server()``: voicewire's own embedded simulator for
``--iut reference``, or a gateway given with ``--iut url:<base_url>#protocols=...,stt``. Each
example of :mod:`voicewire.suites.robustness.stt_sessions` is played over its own connection
(aiohttp sessions of :mod:`voicewire.suites.stt.raw_sessions` where a WebSocket client can say
it; raw sockets of :mod:`voicewire.suites.robustness.raw_peers` for half an upgrade, a bad
``Authorization`` byte and a TCP reset), while a
valid session (50 ms frames of tone-coded speech, then ``session.finalize``) runs beside it;
another valid session follows them. Nothing depends on the text of a transcript.

What every example is judged on:

- a hostile session ends with a close frame and code (SRV-3): 1003 for a binary frame (SRV-3),
  1009 for a message over the size limit (SRV-4; a server of unknown limit may answer the
  over-long audio frame with an ``error`` 400 instead); otherwise each hostile frame gets an
  ``error`` with code 400 and the socket stays usable, so the closing ``session.finalize`` gets
  ``session.finalized`` and a close 1000 (STT-S-1), unless the server closed the session with
  1003 or 1008 (SRV-1); never an error of another code, a close 1011 or a transcript before
  ``session.created`` (SRV-1, STT-S-1);
- a bad token gets HTTP 401 with the ``authentication_error`` body and no upgrade (AUTH-4; 400
  where the header holds bytes no header may); half an upgrade request is closed by the head
  deadline and a quiet session with a close code by the idle deadline (SRV-4), waited for as
  :class:`~voicewire.suites.robustness.requests.ServerWaits` says (``VOICEWIRE_SERVER_WAITS``);
- the valid session beside the peer ends with ``session.finalized`` and a close 1000 (SRV-2),
  and so does the one after it (SRV-1: the server keeps serving).
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
from voicewire.suites.robustness.stt_sessions import (
    HOSTILE_SESSION_BOUNDARIES,
    SESSION_PEER_BOUNDARIES,
    hostile_sessions,
    session_peers,
)
from voicewire.suites.stt.raw_sessions import (
    CREATE,
    FINALIZE,
    MODEL,
    TRANSCRIPTS,
    Session,
    ends_cleanly,
    input_audio_frames,
    is_400_error,
    play,
    silent_pcm,
    speech,
    ws_url,
)

_ROUTE = f"/stt?model={MODEL}"
"""Where a raw peer asks for its upgrade: the STT socket."""

# -- playing -----------------------------------------------------------------------------------


def expand(frames: list[Any], max_message: int) -> list[str | bytes]:
    """An example's frames as the text (str) and binary (bytes) frames to send."""
    out: list[str | bytes] = []
    for frame in frames:
        if frame == "CREATE":
            out.append(CREATE)
        elif frame == "FINALIZE":
            out.append(FINALIZE)
        elif "audio" in frame:
            out += input_audio_frames(silent_pcm(frame["audio"]))
        elif "repeat" in frame:
            out += [frame["text"]] * frame["repeat"]
        elif "text" in frame:
            out.append(frame["text"])
        elif "binary" in frame:
            out.append(bytes.fromhex(frame["binary"]))
        else:
            head, tail = '{"type": "input_audio", "audio": "', '"}'
            size = max_message + frame["oversized"] - len(head) - len(tail)
            out.append(head + "A" * size + tail)
    return out


def _valid() -> list[str | bytes]:
    return [CREATE, *input_audio_frames(speech()), FINALIZE]


@dataclass
class _Played:
    peer: Any
    beside: Session
    after: Session


async def _play(server: ServerUnderTest, example: dict[str, Any]) -> _Played:
    peer_spec = example.get("peer")
    if peer_spec is None:
        hostile = play(server.target, expand(example["frames"], server.max_message))
    elif peer_spec["kind"] == "idle":
        frames = expand(peer_spec["frames"], server.max_message)
        hostile = play_quiet_peer(server, ws_url(server.target), frames, Session())
    else:
        frames = expand(peer_spec.get("frames", []), server.max_message)
        hostile = play_raw_peer(server, peer_spec, route=_ROUTE, frames=frames)
    peer, beside = await asyncio.gather(hostile, play(server.target, _valid()))
    after = await play(server.target, _valid())
    return _Played(peer, beside, after)


# -- judging -----------------------------------------------------------------------------------


def _late_frames(example: dict[str, Any], max_message: int) -> int:
    """How many frames follow the first ``session.finalize``: the server may close before it
    reads them, so they may go unanswered."""
    frames = example["frames"]
    if "FINALIZE" not in frames:
        return 0
    return len(expand(frames[frames.index("FINALIZE") + 1 :], max_message))


def _judge_session(example: dict[str, Any], seen: Session, server: ServerUnderTest) -> str:
    """A hostile session past its upgrade and close (which
    :func:`~voicewire.suites.robustness.raw_peers.judge_hostile_side` judged): its errors, its
    close code and whether the socket stayed usable; the label it is classified by."""
    what = f"{example['family']}: {example['what']}"
    want = example["expect"]
    errors = [m for m in seen.messages if isinstance(m, dict) and m.get("type") == "error"]
    if want["close"] is not None:
        allowed = seen.close_code in want["close"]
        if example["family"] == "oversized" and not server.embedded:
            # Of unknown limit: the over-long audio frame itself may be what is refused.
            allowed = allowed or (any(is_400_error(m) for m in errors) and ends_cleanly(seen))
        expect(
            allowed,
            want["rule"],
            f"{what}: expected a close with {' or '.join(map(str, want['close']))}: "
            f"{seen.describe()}",
        )
        return f"closed {seen.close_code}"
    expect(
        seen.close_code != 1011 and all(is_400_error(m) for m in errors),
        "SRV-1",
        f"{what}: a bad client message gets a protocol error (code 400), never another code or "
        f"a close 1011: {seen.describe()}",
    )
    types = seen.types()
    created = types.index("session.created") if "session.created" in types else len(types)
    expect(
        not TRANSCRIPTS.intersection(types[:created]),
        "STT-S-1",
        f"{what}: a transcript before session.created: {seen.describe()}",
    )
    if seen.close_code in (1003, 1008):
        return f"closed {seen.close_code}"
    late = _late_frames(example, server.max_message)
    hostile = example["hostile"]
    expect(
        hostile <= len(errors) <= hostile + late,
        "STT-S-1",
        f"{what}: {hostile} bad message(s) must each get an error with code 400 (or the session "
        f"a close 1003/1008); {len(errors)} error(s) came: {seen.describe()}",
    )
    expect(
        ends_cleanly(seen),
        "STT-S-1",
        f"{what}: the socket must stay usable: session.finalize must still get "
        f"session.finalized and a close 1000: {seen.describe()}",
    )
    answered = "an error for each bad message" if errors else "no error"
    return f"{answered}, then closed {seen.close_code}"


def judge(example: dict[str, Any], played: _Played, server: ServerUnderTest) -> None:
    """Every expectation of one example (see the module docstring)."""
    what = f"{example['family']}: {example['what']}"
    judge_hostile_side(example, played.peer, server, _judge_session)
    expect(
        ends_cleanly(played.beside),
        "SRV-2",
        f"{what}: the valid session beside it must end with session.finalized and a close "
        f"1000: {played.beside.describe()}",
    )
    expect(
        ends_cleanly(played.after),
        "SRV-1",
        f"{what}: the server must keep serving: the valid session after it must end with "
        f"session.finalized and a close 1000: {played.after.describe()}",
    )


@pytest.mark.spec("STT-S-1", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("stt.server")
@property_family("hostile-stt-sessions", hostile_sessions(), boundaries=HOSTILE_SESSION_BOUNDARIES)
def test_hostile_stt_sessions(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad, mistyped, out-of-order, binary, oversized and flooding frames get a 400 error, a
    close 1003 or a close 1009; the socket stays usable; sessions beside and after are served."""
    check_hostile_example(voicewire_iut, voicewire_simulator, example, _play, judge)


@pytest.mark.spec("AUTH-4", "SRV-1", "SRV-2", "SRV-3", "SRV-4")
@pytest.mark.capability("stt.server")
@property_family(
    "stt-session-peers", session_peers(), max_examples=4, boundaries=SESSION_PEER_BOUNDARIES
)
def test_stt_session_peers(voicewire_iut: Any, voicewire_simulator: Any, example: Any) -> None:
    """Bad tokens get 401 before any upgrade; half upgrades and quiet sessions are closed by
    the server's deadlines; resets change nothing for the sessions beside and after."""
    check_hostile_example(voicewire_iut, voicewire_simulator, example, _play, judge)
