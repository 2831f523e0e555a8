"""``voicewire record`` killed with SIGKILL mid-session leaves a cassette that loads: every
record it had finished is there, at most the line it was writing is lost (``cut_tail``), and
everything the upstream received was recorded first.

The recorder runs as a real subprocess between a raw WebSocket client streaming STT audio
(many messages) and the simulator; it is killed once its cassette reaches N lines, for a few
N, read by polling the file between the client's steps.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp
from voicewire.reference.auth import create_access_token
from voicewire.reference.stt.wire import InputAudio, encode_message, session_create
from voicewire.reference.tone_code import encode_tone
from voicewire.simulators import SimulatorServer
from voicewire.simulators.recording.cassette import load_cassette

RATE = 16000
FRAME = RATE // 20 * 2  # 50 ms of s16le
VOICEWIRE = Path(sys.executable).parent / "voicewire"
KILL_AT = (2, 12, 30)


def complete_lines(path: Path) -> list[bytes]:
    """The cassette's lines that end with a newline (what a reader can trust)."""
    raw = path.read_bytes()
    return raw.split(b"\n")[:-1]


def client_messages_received(sim: SimulatorServer) -> int:
    return sum(
        1
        for e in sim.journal.entries()
        if e["type"] == "wire.frame" and e.get("direction") == "in" and e["kind"] == "ws_message"
    )


async def stream_until_killed(kill_at: int, folder: Path) -> tuple[Path, int, int]:
    """Record one STT session and SIGKILL the recorder once the cassette has ``kill_at``
    lines; returns the cassette, the lines seen at the kill, and how many client messages the
    simulator had received."""
    out = folder / f"kill-{kill_at}.jsonl"
    async with SimulatorServer() as sim:
        recorder = await asyncio.create_subprocess_exec(
            str(VOICEWIRE), "record", "--upstream", sim.base_url, "--out", str(out),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert recorder.stdout is not None
        banner = (await recorder.stdout.readline()).decode()
        assert banner.startswith("voicewire record: forwarding http://127.0.0.1:"), banner
        base = banner.split()[3]
        lines_at_kill = -1

        def kill() -> None:
            nonlocal lines_at_kill
            lines_at_kill = len(complete_lines(out))
            recorder.send_signal(signal.SIGKILL)

        def kill_if_due() -> bool:
            if lines_at_kill < 0 and len(complete_lines(out)) >= kill_at:
                kill()
            return lines_at_kill >= 0

        pcm = encode_tone("hello world", sample_rate=RATE).to_bytes() + bytes(2 * RATE // 2)
        token = create_access_token(sim.api_key, sim.api_secret)
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(
                    base.replace("http", "ws", 1) + "/stt?model=deepgram/nova-3",
                    headers={"Authorization": f"Bearer {token}"},
                ) as ws,
            ):
                await ws.send_str(encode_message(session_create(sample_rate=RATE)))
                for start in range(0, len(pcm), FRAME):
                    if kill_if_due():
                        break
                    audio = InputAudio.from_pcm(pcm[start : start + FRAME])
                    await ws.send_str(encode_message(audio))
                else:
                    await ws.send_str(json.dumps({"type": "session.finalize"}))
                # Then the server's answers, until the kill ends the socket (or the session
                # ends before N lines: the kill comes at its end).
                while not kill_if_due():
                    message = await ws.receive()
                    if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                        break
                if not kill_if_due():
                    kill()
        except (aiohttp.ClientError, ConnectionError):
            pass  # the recorder died under the client: expected
        finally:
            if lines_at_kill < 0:
                kill()
            await recorder.wait()
        assert recorder.returncode == -signal.SIGKILL
        received = client_messages_received(sim)
    return out, lines_at_kill, received


async def test_a_recorder_killed_mid_session_leaves_a_loadable_cassette(tmp_path: Path) -> None:
    results = await asyncio.gather(*(stream_until_killed(n, tmp_path) for n in KILL_AT))
    for (out, lines_at_kill, received), kill_at in zip(results, KILL_AT, strict=True):
        assert lines_at_kill >= kill_at
        whole = complete_lines(out)
        cassette = load_cassette(out)
        raw = out.read_bytes()
        assert cassette.cut_tail == (None if raw.endswith(b"\n") else len(whole) + 1)
        # Every whole line is a record that loaded: nothing finished was lost.
        records = sum(
            1 + (e.response is not None) + len(e.items) + (e.end is not None)
            for e in cassette.exchanges
        )
        assert records == len(whole) - 1
        assert len(whole) >= lines_at_kill
        if cassette.exchanges:
            (exchange,) = cassette.exchanges
            assert exchange.request.endpoint == "stt"
            # Recorded before forwarded: all the simulator got is in the cassette.
            assert len(exchange.messages("client")) >= received
