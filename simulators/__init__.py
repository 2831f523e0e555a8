"""Scriptable provider simulators: real aiohttp servers driven by scenarios."""
