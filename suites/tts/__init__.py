"""TTS client conformance (SPEC §4): what a LiveKit inference TTS client sends (TTS-C-*), the
audio it emits of what the server sent (TTS-OUT-1), how its syntheses fail (TTS-OUT-2,
CLI-ROB-1) and retry (TTS-RETRY-1), against the embedded TTS simulator; and what a TTS
server sends (TTS-S-*, ``tts.server``)."""
