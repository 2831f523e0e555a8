"""The pytest plugin in a project that is not voicewire: inert until asked, and never in the way.

The project has its own ``reference`` package (a name voicewire uses inside its namespace) and
its own hypothesis profile; with voicewire installed, its tests must collect, import its own
``reference``, keep its profile (under ``CI`` too), and the plugin must import nothing of
voicewire's machinery. A toy protocol registered from the project's conftest goes through the
whole generic path (capability table, adapter check, driver, operation, event validation,
UNSUPPORTED) without a line of voicewire changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VOICEWIRE_HYPOTHESIS_PROFILE"}
    env["CI"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=600,
    )


def test_a_project_with_its_own_reference_package_and_profile(tmp_path):
    _write(
        tmp_path,
        {
            "reference/__init__.py": "",
            "reference/auth.py": "TOKEN = 'the project s own'\n",
            "conftest.py": """
                from hypothesis import settings

                settings.register_profile("mine", max_examples=500)
                settings.load_profile("mine")
            """,
            "tests/test_project.py": """
                import sys

                from hypothesis import given, settings, strategies as st

                from reference.auth import TOKEN


                def test_imports_its_own_reference():
                    assert TOKEN == "the project s own"


                @given(st.integers())
                def test_keeps_its_own_profile(n):
                    assert settings.get_current_profile_name() == "mine"
                    assert settings.default.max_examples == 500


                def test_the_plugin_imported_nothing_of_voicewire():
                    loaded = sorted(m for m in sys.modules if m.startswith("voicewire."))
                    assert loaded == ["voicewire.harness", "voicewire.harness.pytest_plugin"]
                    assert "aiohttp" not in sys.modules
            """,
        },
    )
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout
    assert "voicewire: hypothesis profile" not in done.stdout


TOY_CONFTEST = """
    from typing import Literal

    from pydantic import BaseModel

    from voicewire.harness.capabilities import Capability, Operation, ProtocolSpec
    from voicewire.harness.events import BaseEvent
    from voicewire.harness.protocols import TABLE


    class Echoed(BaseEvent):
        type: Literal["toy.echoed"] = "toy.echoed"
        text: str


    class EchoRequest(BaseModel):
        text: str


    class EchoAnswer(BaseModel):
        events: list[Echoed]


    ECHO = Operation("toy.echo", EchoRequest, EchoAnswer, "say it back")
    TABLE.register(
        ProtocolSpec(
            name="toy",
            capabilities=(Capability("toy.echo", "toy", "client", (ECHO,), "an echo client"),),
            event_types=(Echoed,),
        )
    )
"""

TOY_ADAPTER = """
    from conftest import EchoAnswer, Echoed


    class ToyClient:
        name = "toy client"
        capabilities = frozenset({"toy.echo"})

        async def start(self):
            pass

        async def toy_echo(self, request):
            return {"events": [{"type": "toy.echoed", "t": 0.0, "text": request.text}]}

        async def aclose(self):
            pass


    def factory():
        return ToyClient()
"""

TOY_TESTS = """
    import pytest

    from conftest import EchoRequest, Echoed
    from voicewire.harness.events import load_events
    from voicewire.harness.protocols import TABLE


    @pytest.mark.spec("LLM-TXT-1")
    @pytest.mark.capability("toy.echo")
    def test_echo(voicewire_iut):
        answer = voicewire_iut.perform("toy.echo", EchoRequest(text="hi"))
        assert answer.events == [Echoed(t=0.0, text="hi")]
        assert load_events(TABLE, [{"type": "toy.echoed", "t": 1, "text": "x"}])[0].text == "x"


    @pytest.mark.spec("LLM-TXT-1")
    @pytest.mark.capability("llm.chat")
    def test_needs_an_llm(voicewire_iut):
        raise AssertionError("a toy client has no LLM: this case must be UNSUPPORTED")
"""


def test_a_toy_protocol_registers_without_touching_generic_code(tmp_path):
    _write(
        tmp_path,
        {"conftest.py": TOY_CONFTEST, "toy_adapter.py": TOY_ADAPTER, "test_toy.py": TOY_TESTS},
    )
    done = _pytest(tmp_path, "--voicewire-iut", "python:toy_adapter:factory")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed, 1 skipped" in done.stdout
    assert "UNSUPPORTED: toy client does not declare 'llm.chat'" in done.stdout
    # The reference implements no toy protocol: its echo case is UNSUPPORTED, not an error.
    done = _pytest(tmp_path, "-k", "test_echo")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "UNSUPPORTED: reference does not declare 'toy.echo'" in done.stdout
