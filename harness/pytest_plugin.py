"""voicewire's pytest plugin (registered through the ``pytest11`` entry point).

Installed with ``pip install voicewire``, it gives any test suite:

- the hypothesis profiles ``ci`` / ``dev`` / ``deep`` (see :mod:`suites.hypothesis_profiles`),
  with ``ci`` selected automatically when the ``CI`` environment variable is set, unless
  ``--hypothesis-profile`` names one;
- the ``spec`` marker, ``@pytest.mark.spec("LLM-TC-1", ...)``, which ties a test to SPEC.md
  requirement IDs; unknown IDs are a collection error, so a typo cannot silently detach a
  test from the requirement it claims to check.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from suites.hypothesis_profiles import default_profile_name, register_profiles
from suites.requirements import REQUIREMENTS

# Registered at import so hypothesis' own plugin can load a profile named with
# --hypothesis-profile during its pytest_configure.
register_profiles()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spec(*ids): the SPEC.md requirement IDs this test checks (e.g. 'CTX-TRUNC-1')",
    )
    if config.getoption("hypothesis_profile", default=None) is None:
        settings.load_profile(default_profile_name())


def pytest_report_header(config: pytest.Config) -> str:
    return f"voicewire: hypothesis profile {settings.get_current_profile_name()!r}"


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    unknown: list[str] = []
    for item in items:
        for marker in item.iter_markers("spec"):
            if not marker.args:
                unknown.append(f"{item.nodeid}: @pytest.mark.spec() names no requirement ID")
            for rid in marker.args:
                if rid not in REQUIREMENTS:
                    unknown.append(f"{item.nodeid}: unknown SPEC requirement ID {rid!r}")
    if unknown:
        raise pytest.UsageError("invalid spec markers:\n  " + "\n  ".join(unknown))
