"""The sans-IO wire module of Inworld (SPEC §5, AUTH-6): the NDJSON codec and the messages of
TTS over HTTP, the voices list, the context multiplexer of TTS over WebSocket (both roles), the
STT messages, sessions and segment tracker. No sockets, no event loop, an injected clock.
"""
