"""The foundation's command line and pytest plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import settings

from harness.cli import main
from suites.hypothesis_profiles import PROFILE_NAMES, default_profile_name, register_profiles


def test_voicewire_without_command_says_what_is_installed(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "reference.llm" in out and "Not yet available" in out


def test_voicewire_run_refuses_honestly_until_suites_exist(capsys):
    assert main(["run", "--iut", "reference"]) != 0
    assert "no conformance suites are installed yet" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_console_script_is_installed():
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.startswith("voicewire ")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "dev"),
        ({"CI": "true"}, "ci"),
        ({"CI": "false"}, "dev"),
        ({"CI": "1", "VOICEWIRE_HYPOTHESIS_PROFILE": "deep"}, "deep"),
    ],
)
def test_default_profile_follows_the_environment(environ, expected):
    assert default_profile_name(environ) == expected


def test_unknown_profile_name_is_refused():
    with pytest.raises(ValueError, match="VOICEWIRE_HYPOTHESIS_PROFILE='fast' is not one of"):
        default_profile_name({"VOICEWIRE_HYPOTHESIS_PROFILE": "fast"})


def test_profiles_are_registered_and_ci_is_derandomized():
    register_profiles()
    for name in PROFILE_NAMES:
        assert settings.get_profile(name) is not None
    assert settings.get_profile("ci").derandomize is True
    assert settings.get_profile("ci").database is None
    assert settings.get_profile("deep").max_examples > settings.get_profile("ci").max_examples


def _run_pytest(
    tmp_path, body: str, *args: str, env_ci: bool = False
) -> subprocess.CompletedProcess:
    test_file = tmp_path / "test_user_suite.py"
    test_file.write_text(textwrap.dedent(body))

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "VOICEWIRE_HYPOTHESIS_PROFILE")}
    if env_ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(test_file), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )


def test_plugin_is_active_in_a_users_repo_and_selects_ci_under_ci(tmp_path):
    body = """
        import pytest
        from hypothesis import settings

        @pytest.mark.spec("CTX-TRUNC-1")
        def test_marked():
            assert settings.get_current_profile_name() == "ci"
    """
    done = _run_pytest(tmp_path, body, env_ci=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "voicewire: hypothesis profile 'ci'" in done.stdout


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
