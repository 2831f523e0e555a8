"""Mutant: the token carries no ``sub`` claim.

The port author built the claims from a generic JWT example (issuer, validity, the grant) and
left out the identity. A lenient gateway accepts it; one that attributes usage to the token's
subject cannot, and the agent's requests go unaccounted or refused.

Caught by: AUTH-2 (claims ``iss``, ``sub`` = ``"agent"``, ``nbf``, ``exp``, ``inference``).
"""

from __future__ import annotations

import time

import jwt
from voicewire.harness.reference_iut import ReferenceIUT
from voicewire.reference.llm.inference import LLM

from tests.mutants.port import mutant

__all__ = ["AnonymousTokenLLM", "factory"]


class AnonymousTokenLLM(LLM):
    """The reference LLM whose tokens name no subject."""

    def access_token(self) -> str:
        now = int(time.time())
        claims = {  # BUG: no "sub"
            "iss": self._credentials.api_key,
            "nbf": now,
            "exp": now + 600,
            "inference": {"perform": True},
        }
        return jwt.encode(claims, self._credentials.api_secret, algorithm="HS256")


def factory() -> ReferenceIUT:
    """The adapter ``--iut python:tests.mutants.token_without_subject:factory`` loads."""
    return mutant("token_without_subject", llm_class=AnonymousTokenLLM)
