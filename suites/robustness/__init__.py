"""Hostile peers, both directions (SPEC §2.4a, §1.1 AUTH-4, §7).

- client direction (:mod:`.streams`, :mod:`.test_hostile_streams`): the simulator serves a
  client IUT hostile streams (malformed JSON, wrong types, wrong content types, non-SSE bodies,
  deep nesting, invalid UTF-8, truncated final events, keep-alive floods, stalls, arbitrary
  byte splits); verdicts on LLM-ROB-1..3 and RETRY-1/2;
- server direction (:mod:`.requests`, :mod:`.test_hostile_requests`): hostile requests to a
  server IUT (voicewire's simulator or a ``url:`` gateway) while valid sessions run beside
  them; verdicts on SRV-1..7 and AUTH-4.

The strategies are public: ``voicewire fuzz`` runs the same families at fuzzing depth, and a
user's own property tests can draw from them.
"""
