"""voicewire's hypothesis profiles, for ``voicewire run`` and for users who ask for them.

- ``ci``: derandomized (the same examples on every run) with modest example counts, no
  deadline (a loaded CI core must not turn slowness into failures), no example database
  so a CI run never depends on files left by an earlier one, and no explain phase.
- ``dev``: hypothesis' defaults with a larger budget; failures are remembered locally.
- ``deep``: fuzzing depth, for hunting rare protocol edge cases on purpose.

They are registered under their own names only when one is loaded (:func:`load_profile`), so
merely installing voicewire never touches a project's own hypothesis profiles.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

__all__ = ["PROFILE_NAMES", "load_profile", "register_profiles"]

PROFILE_NAMES = ("ci", "dev", "deep")


def register_profiles() -> None:
    """Register the ``ci``, ``dev`` and ``deep`` profiles with hypothesis."""
    settings.register_profile(
        "ci",
        derandomize=True,
        max_examples=40,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
        # The explain phase re-runs a shrunk failure many times to annotate it; over sockets
        # that costs more than the search itself, and the replay file already pins the case.
        phases=[p for p in Phase if p is not Phase.explain],
    )
    settings.register_profile("dev", max_examples=100, deadline=None, print_blob=True)
    settings.register_profile(
        "deep",
        max_examples=2000,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def load_profile(
    name: str | None,
    *,
    examples: int | None = None,
    seeded: bool = False,
    shrink: bool = True,
) -> str:
    """Load voicewire's profile ``name`` (None: keep the current one) and, with ``examples``,
    cap its examples per property test; returns the name of the profile now loaded.

    ``seeded``: the run gives hypothesis a seed (``--hypothesis-seed``), which must choose the
    examples: derandomization (which would ignore it) is turned off, and with no example
    database the same seed still gives the same examples.

    ``shrink=False``: a property test stops at its first failing example and reports it as
    found, without hypothesis' shrink phase (seconds over sockets): the verdict without a
    minimal example.

    Raises ``ValueError`` for a name that is not one of :data:`PROFILE_NAMES`.
    """
    if name is not None:
        if name not in PROFILE_NAMES:
            raise ValueError(
                f"unknown voicewire hypothesis profile {name!r}: use {', '.join(PROFILE_NAMES)}"
            )
        register_profiles()
        settings.load_profile(name)
    if examples is not None:
        base = settings.get_current_profile_name()
        settings.register_profile(
            f"{base}+examples", parent=settings.get_profile(base), max_examples=examples
        )
        settings.load_profile(f"{base}+examples")
    if seeded and settings.default.derandomize:
        base = settings.get_current_profile_name()
        settings.register_profile(
            f"{base}+seeded", parent=settings.get_profile(base), derandomize=False, database=None
        )
        settings.load_profile(f"{base}+seeded")
    if not shrink and Phase.shrink in settings.default.phases:
        base = settings.get_current_profile_name()
        # Explaining needs a shrunk example: it goes with the shrink phase.
        phases = [p for p in settings.default.phases if p not in (Phase.shrink, Phase.explain)]
        settings.register_profile(
            f"{base}+no-shrink", parent=settings.get_profile(base), phases=phases
        )
        settings.load_profile(f"{base}+no-shrink")
    return settings.get_current_profile_name()
