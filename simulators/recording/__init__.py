"""Recorded sessions: the cassette format (:mod:`.cassette`), what is redacted before a
record is written (:mod:`.redaction`), the recording proxy and the cassette replayer.

Generic: what a protocol's endpoints look like to a recorder comes from their
:class:`~voicewire.simulators.core.recorded.RecordedEndpoint` registrations.
"""
