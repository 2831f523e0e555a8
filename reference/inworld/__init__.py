"""Reference Inworld clients (SPEC §5): TTS over HTTP NDJSON and over a multi-context
WebSocket, the voices list, STT over WebSocket; built on the sans-IO wire module :mod:`.wire`.
"""
