"""Reference TTS clients (LiveKit inference, Inworld)."""
