"""The ``url:`` IUT: a server under test, reached at a base URL.

``url:http://127.0.0.1:8080/v1`` serves the protocols that are served by default (the LLM);
``url:http://127.0.0.1:8080/v1#protocols=llm,stt`` names them. The fragment never reaches the
server (HTTP clients do not send it), so the base URL itself stays exactly what the server
expects. The suites drive the server with voicewire's reference client and raw probes.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

from voicewire.harness.capabilities import CapabilityTable
from voicewire.harness.iut import IUTSpecError, Target

__all__ = ["URLIUT"]


class URLIUT:
    """A server under test at ``base_url``: the server capabilities of the protocols it
    serves, and no client operation."""

    def __init__(
        self,
        spec: str,
        *,
        api_key: str,
        api_secret: str,
        table: CapabilityTable,
        credentials_from: str = "arguments",
    ) -> None:
        base_url, _, fragment = spec.partition("#")
        if not base_url.startswith(("http://", "https://")):
            raise IUTSpecError(f"url: needs an http:// or https:// base URL, got {base_url!r}")
        protocols: list[str] | None = None
        if fragment:
            fields = parse_qs(fragment, keep_blank_values=True)
            unknown = set(fields) - {"protocols"}
            if unknown or not fields.get("protocols"):
                raise IUTSpecError(
                    f"url:{spec}: the fragment names the protocols served, as "
                    f"'#protocols=a,b'; got {fragment!r}"
                )
            protocols = [p for p in fields["protocols"][0].split(",") if p]
        try:
            self.capabilities = table.server_capabilities(protocols)
        except KeyError as exc:
            raise IUTSpecError(f"url:{spec}: {exc.args[0]}") from None
        if not self.capabilities:
            raise IUTSpecError(f"url:{spec}: these protocols have no server capability")
        self.name = f"url:{spec}"
        self.target = Target(base_url=base_url.rstrip("/"), api_key=api_key, api_secret=api_secret)
        self._probes = [
            probe
            for capability in sorted(self.capabilities)
            if (probe := table.protocol(table.capability(capability).protocol).credentials_probe)
        ]
        self._credentials_from = credentials_from

    async def start(self) -> None:
        """Check that the server accepts connections, so an unreachable URL is one clear
        error instead of every server case failing."""
        parts = urlsplit(self.target.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(parts.hostname, port), timeout=10
            )
        except (OSError, asyncio.TimeoutError) as exc:
            raise IUTSpecError(
                f"{self.name}: cannot connect to {parts.hostname}:{port}: "
                f"{exc or type(exc).__name__}"
            ) from None
        writer.close()
        for probe in dict.fromkeys(self._probes):
            refused = await probe(self.target)
            if refused is not None:
                raise IUTSpecError(
                    f"{self.name}: the server refuses voicewire's credentials (API key "
                    f"{self.target.api_key!r}, from {self._credentials_from}): {refused.strip()}"
                    " — set VOICEWIRE_IUT_API_KEY and VOICEWIRE_IUT_API_SECRET to credentials "
                    "it accepts"
                )

    def server_target(self, embedded: Target) -> Target:
        return self.target

    async def aclose(self) -> None:
        return None
