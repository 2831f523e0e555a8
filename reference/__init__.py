"""voicewire's reference client: the executable form of SPEC.md.

Mirrors the names and semantics of ``livekit.agents`` so code written against it reads the
same, but depends only on openai, aiohttp, pyjwt, numpy and pydantic.
"""
