"""The foundation's command line and pytest plugin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import settings
from voicewire.harness.cli import main
from voicewire.harness.profiles import PROFILE_NAMES, load_profile


def test_voicewire_without_command_says_what_is_installed(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "voicewire.reference.llm" in out and "voicewire run" in out
    # Every sub-command the parser has is named in what is installed.
    for command in ("run", "list", "explain", "fuzz", "serve", "record", "diff", "cassette"):
        assert f"voicewire {command} " in out, command
    assert "scenario from-cassette" in out and "voicewire_cassette" in out
    assert "Not yet available" not in out


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_console_script_is_installed():
    done = subprocess.run(
        [sys.executable, "-m", "voicewire.harness.cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("voicewire ")


def test_unknown_profile_name_is_refused():
    with pytest.raises(ValueError, match="unknown voicewire hypothesis profile 'fast'"):
        load_profile("fast")


def test_profiles_are_registered_and_ci_is_derandomized():
    previous = settings.get_current_profile_name()
    try:
        assert load_profile("ci") == "ci"
        for name in PROFILE_NAMES:
            assert settings.get_profile(name) is not None
        assert settings.get_profile("ci").derandomize is True
        assert settings.get_profile("ci").database is None
        assert settings.get_profile("deep").max_examples > settings.get_profile("ci").max_examples
        assert load_profile(None, examples=7) == "ci+examples"
        assert settings.default.max_examples == 7
    finally:
        settings.load_profile(previous)


def _failing_examples(profile: str) -> list[int]:
    """The examples a property failing for every n >= 1000 ran under ``profile``."""
    from hypothesis import given
    from hypothesis import strategies as st

    ran: list[int] = []

    @settings(settings.get_profile(profile))
    @given(st.integers(min_value=0, max_value=1 << 30))
    def prop(n: int) -> None:
        ran.append(n)
        assert n < 1000

    with pytest.raises(AssertionError):
        prop()
    return ran


def test_no_shrink_stops_at_the_first_failing_example():
    """``shrink=False`` (``voicewire run --no-shrink``): the first failing example is the one
    reported, as found; the same profile otherwise shrinks it to the minimal one."""
    from hypothesis import Phase

    previous = settings.get_current_profile_name()
    try:
        assert load_profile("ci", shrink=False) == "ci+no-shrink"
        assert Phase.shrink not in settings.default.phases
        assert Phase.generate in settings.default.phases
        assert settings.default.derandomize and settings.default.max_examples == 40
        unshrunk = _failing_examples("ci+no-shrink")
        first_failure = next(i for i, n in enumerate(unshrunk) if n >= 1000)
        # Past the first failure, only its reproduction runs: the same example again.
        assert unshrunk[first_failure + 1 :] == [unshrunk[first_failure]]
        assert load_profile("ci", examples=7, shrink=False) == "ci+examples+no-shrink"
        assert settings.default.max_examples == 7
        shrunk = _failing_examples("ci")
        assert shrunk[-1] == 1000 and len(shrunk) > len(unshrunk)
    finally:
        settings.load_profile(previous)


# The plugins a test of voicewire's plugin needs, loaded by name: autoloading every installed
# plugin costs seconds per pytest start, which only the tests about installation must pay.
EXPLICIT_PLUGINS = ("-p", "voicewire.harness.pytest_plugin", "-p", "_hypothesis_pytestplugin")


def _run_pytest(
    tmp_path, body: str, *args: str, env_ci: bool = False, autoload: bool = False
) -> subprocess.CompletedProcess:
    """pytest on ``body`` in a fresh interpreter; ``autoload``: with every installed plugin,
    as a user's project runs (else voicewire's and hypothesis' only)."""
    test_file = tmp_path / "test_user_suite.py"
    test_file.write_text(textwrap.dedent(body))

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "VOICEWIRE_HYPOTHESIS_PROFILE")}
    if env_ci:
        env["CI"] = "true"
    plugins: tuple[str, ...] = ()
    if autoload:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        plugins = EXPLICIT_PLUGINS
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugins, str(test_file), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )


def test_plugin_loads_a_profile_only_when_asked(tmp_path):
    """Installed voicewire leaves hypothesis alone (whatever hypothesis itself chooses, under
    CI too) unless --voicewire-profile names one of its profiles."""
    body = """
        import json, pathlib
        from hypothesis import settings

        def test_profile():
            seen = {"name": settings.get_current_profile_name(),
                    "max_examples": settings.default.max_examples}
            pathlib.Path("profile.json").write_text(json.dumps(seen))
    """

    def profile(*args: str, autoload: bool = False) -> dict:
        done = _run_pytest(tmp_path, body, *args, env_ci=True, autoload=autoload)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads((tmp_path / "profile.json").read_text())

    # As installed: autoloaded by its entry point, or kept out by the entry point's name.
    assert profile(autoload=True) == profile("-p", "no:voicewire", autoload=True)
    assert profile("--voicewire-profile", "ci") == {"name": "ci", "max_examples": 40}
    done = _run_pytest(tmp_path, body, "--voicewire-profile", "fast")
    assert done.returncode == 4
    assert "unknown voicewire hypothesis profile 'fast'" in done.stderr


def test_plugin_rejects_unknown_spec_ids(tmp_path):
    body = """
        import pytest

        @pytest.mark.spec("CTX-TRUNK-1")
        def test_typo():
            pass
    """
    done = _run_pytest(tmp_path, body)
    assert done.returncode != 0
    assert "unknown SPEC requirement ID 'CTX-TRUNK-1'" in done.stdout + done.stderr


def test_plugin_rejects_unknown_capabilities(tmp_path):
    body = """
        import pytest

        @pytest.mark.spec("LLM-TC-1")
        @pytest.mark.capability("llm.telepathy")
        def test_odd(voicewire_iut):
            pass
    """
    done = _run_pytest(tmp_path, body)
    assert done.returncode != 0
    assert "@pytest.mark.capability needs one of" in done.stdout + done.stderr


README_EXAMPLE_START = "<!-- readme-test: file test_my_port.py -->"


def _readme_user_example() -> str:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split(README_EXAMPLE_START, 1)[1]
    return block.split("```python", 1)[1].split("```", 1)[0]


STACKED_CAPABILITIES = """

@pytest.mark.spec("SRV-1")
@pytest.mark.capability("stt.stream")
@pytest.mark.capability("llm.server")
def test_needs_both(voicewire_iut):
    pass
"""


def test_the_readme_user_example_runs_in_a_users_repo(tmp_path):
    """The README's plugin example, as a user would save it, passes against the reference
    and reports a capability the IUT lacks as UNSUPPORTED."""
    done = _run_pytest(tmp_path, _readme_user_example(), "-rs", autoload=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"(\d+) passed", done.stdout)
    # A server-only IUT has no LLM client: its client cases are UNSUPPORTED, never silent.
    # A case that stacks capability markers needs them all: declaring the closest one is not
    # enough (and this server is down: the case must not start the IUT).
    done = _run_pytest(
        tmp_path,
        _readme_user_example() + STACKED_CAPABILITIES,
        "-rs",
        "--voicewire-iut",
        "url:http://127.0.0.1:9/v1",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "UNSUPPORTED: url:http://127.0.0.1:9/v1 does not declare 'llm.chat'" in done.stdout
    assert "UNSUPPORTED: url:http://127.0.0.1:9/v1 does not declare 'stt.stream'" in done.stdout


def test_a_seed_chooses_the_examples_also_under_the_derandomized_profile(tmp_path):
    """`voicewire run --seed N` gives hypothesis the seed: another seed draws other examples,
    the same seed the same ones (no example database)."""
    body = """
        import json, pathlib
        from hypothesis import given, strategies as st

        seen = []

        @given(st.integers())
        def test_draws(n):
            seen.append(n)
            pathlib.Path("drawn.json").write_text(json.dumps(seen))
    """

    def drawn(*args: str) -> list[int]:
        done = _run_pytest(tmp_path, body, "--voicewire-profile", "ci", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads((tmp_path / "drawn.json").read_text())

    first, again, other = (
        drawn("--hypothesis-seed", "1"),
        drawn("--hypothesis-seed", "1"),
        drawn("--hypothesis-seed", "2"),
    )
    assert first == again
    assert first != other
    assert drawn() == drawn()  # no seed: the derandomized profile, stable as before


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (KeyboardInterrupt(), 130, "voicewire list: interrupted"),
        (
            RuntimeError("boom"),
            3,
            "voicewire list: internal error: RuntimeError: boom (VOICEWIRE_DEBUG=1 shows the "
            "traceback; please report it)",
        ),
    ],
)
def test_the_command_line_never_ends_in_a_traceback(monkeypatch, capsys, raised, code, line):
    from voicewire.harness import cli, conformance_cli

    def fail(args):
        raise raised

    monkeypatch.setattr(conformance_cli, "run_list", fail)
    monkeypatch.delenv("VOICEWIRE_DEBUG", raising=False)
    assert cli.main(["list"]) == code
    captured = capsys.readouterr()
    assert captured.err.strip() == line and captured.out == ""
    monkeypatch.setenv("VOICEWIRE_DEBUG", "1")
    if isinstance(raised, RuntimeError):
        with pytest.raises(RuntimeError, match="boom"):
            cli.main(["list"])


def test_a_command_imports_only_its_own_module():
    """`voicewire --version` and `voicewire serve` with a bad argument answer without
    importing the protocols (seconds of start-up): each command's module is imported when that
    command runs."""
    probe = (
        "import sys\n"
        "from voicewire.harness.cli import main\n"
        "assert main(['--version']) == 0\n"
        "try:\n"
        "    main(['serve', '--port', 'x'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 2\n"
        "print(sorted(m for m in sys.modules if m.startswith('voicewire.harness.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.strip()
    assert "voicewire.harness.serve_cli" in loaded
    for heavy in ("voicewire.harness.protocols", "voicewire.harness.bench", "conformance_cli"):
        assert heavy not in loaded, heavy
