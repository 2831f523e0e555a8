"""Hostile peers, both directions (SPEC §2.4a, §1.1 AUTH-4, §7).

- client direction (:mod:`.streams`, :mod:`.test_hostile_streams`): the simulator serves a
  client IUT hostile streams (malformed JSON, wrong types, wrong content types, non-SSE bodies,
  deep nesting, invalid UTF-8, truncated final events, keep-alive floods, stalls, arbitrary
  byte splits); verdicts on LLM-ROB-1..3 and RETRY-1/2; for STT clients
  (:mod:`.stt_streams`, :mod:`.test_hostile_stt_streams`) hostile server messages, binary
  frames, closes with any code, resets, unknown types and keys, silences (CLI-ROB-1, STT-END-1);
  for TTS clients (:mod:`.tts_streams`, :mod:`.test_hostile_tts_streams`) the same on
  ``tts.stream`` and ``tts.synthesize``, plus audio that is no base64 or cut inside a sample,
  frames over the message size, odd ``error`` messages, ``done`` before any audio, before the
  flush and followed by more, ``session_id`` missing (CLI-ROB-1, TTS-OUT-1, TTS-OUT-2); for
  Inworld clients (:mod:`.inworld_streams`, :mod:`.test_hostile_inworld_streams`) hostile
  NDJSON answers (lines to skip, lines of the wrong shape, odd error codes, bodies cut
  mid-line, huge lines), hostile replies on the contexts socket (unreadable, failing statuses
  of any code, replies about other contexts, closes at any point) and hostile STT messages
  (CLI-ROB-1, IW-HTTP-2, IW-WS-4, IW-STT-END-1);
- server direction (:mod:`.requests`, :mod:`.test_hostile_requests`): hostile requests to a
  server IUT (voicewire's embedded simulator or a ``url:`` gateway) over raw sockets:
  mistyped, malformed, non-UTF-8, too deep and too large bodies; bad tokens of every AUTH-4
  kind, invalid bytes, names, sizes and framing in heads; tokens skewed inside and outside the
  AUTH-4 leeway; slow, partial, idle and vanishing connections, several at once; while valid
  streaming sessions run beside them, timed against an unloaded baseline. Verdicts on
  AUTH-4, SRV-1, SRV-2, SRV-4, SRV-5, SRV-6 and SRV-7 (SRV-3 is about WebSockets, which the
  LLM protocol does not use). For STT servers (:mod:`.stt_sessions`,
  :mod:`.test_hostile_stt_sessions`): bad, mistyped, out-of-order, binary, oversized and
  flooding frames, bad tokens at the upgrade, half upgrades, resets and quiet sessions (STT-S-1,
  AUTH-4, SRV-1..4). For TTS servers (:mod:`.tts_sessions`, :mod:`.test_hostile_tts_sessions`):
  bad, mistyped, out-of-order (input before ``session.create``, a second one, a flush with
  nothing pending), binary, oversized and flooding frames, bad tokens at the upgrade, half
  upgrades, resets mid-synthesis and quiet sessions, each beside valid sessions (TTS-S-1,
  AUTH-4, SRV-1..4). For Inworld servers (:mod:`.inworld_sessions`,
  :mod:`.test_hostile_inworld_sessions`): bodies that are no request, mistyped, too deep or
  long, keys that are no ``Basic <key>``, and bad, mistyped, out-of-order, binary and flooding
  frames on both WebSockets, each beside a valid session (AUTH-6, SRV-1..4). The LiveKit
  families play and judge their raw-socket and quiet peers with
  :mod:`.raw_peers`. ``VOICEWIRE_SERVER_WAITS`` sets how long the checks wait for a server's
  deadlines.

The strategies are public: ``voicewire fuzz`` runs the same families at fuzzing depth, and a
user's own property tests can draw from them.
"""
