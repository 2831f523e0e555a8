"""Recorded sessions as cases: what ``voicewire run --cassette FILE`` runs (not a conformance
suite of the table: its cases come from the cassette it is given)."""
