"""STT client conformance (SPEC §3): what a LiveKit inference STT client sends (STT-C-*), the
SpeechEvents it makes of a scripted transcript (STT-ORD-*, STT-USG-1), how its streams end
(STT-END-1) and how it reconnects (STT-RETRY-1), against the embedded STT simulator."""
