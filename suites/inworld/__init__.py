"""The Inworld suites (SPEC §5, AUTH-6): TTS over HTTP NDJSON, the voices list, TTS contexts
over one WebSocket, STT over WebSocket (clients), and an Inworld server's four endpoints."""
