"""Reference STT clients (LiveKit inference, Inworld)."""
