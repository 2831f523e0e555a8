"""voicewire conformance suites, keyed by SPEC.md requirement IDs."""
