"""voicewire conformance suites, keyed by SPEC.md requirement IDs.

:data:`SUITES` is the suites' one registration: name → what it checks, in run order. Each
name is a subpackage of pytest modules. The harness reads this table by package name when it
runs (it never imports the suites itself: they sit above it).
"""

from __future__ import annotations

__all__ = ["SUITES"]

SUITES: dict[str, str] = {
    "llm": "LLM client: request shape, stream framing, content, tool calls, usage (SPEC §2.1-2.3)",
    "retry": "LLM client: errors, retries and the fallback adapter (SPEC §2.4-2.5)",
    "chat_context": "chat context operations and the openai format (SPEC §6)",
    "server": "LLM server: framing, auth rejection, error bodies, usage (SPEC §1.1, §2.2, §7)",
    "robustness": "hostile peers: streams to clients, requests to servers (SPEC §2.4a, §7)",
    "stt": "STT client: session.create, 50 ms frames, finalize, speech events, retries (SPEC §3)",
    "tts": "TTS client and server: pooled sessions, sentences, audio, errors, retries (SPEC §4)",
    "inworld": "Inworld clients and server: HTTP NDJSON, voices, WebSocket contexts, STT (SPEC §5)",
}
