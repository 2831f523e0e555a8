"""How voicewire installs: one namespace, nothing else at the top of site-packages, and a
non-editable install that runs the suites from site-packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CODE_FOLDERS = ("reference", "simulators", "suites", "harness")
PIP = (sys.executable, "-m", "pip")
VOICEWIRE = (sys.executable, "-m", "voicewire.harness.cli")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (an in-tree build would leave build/ and
    egg-info folders in the repository), without build isolation (nothing to download)."""
    source = tmp_path_factory.mktemp("source")
    for name in (*CODE_FOLDERS, "pyproject.toml", "README.md", "LICENSE"):
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("voicewire-*.whl")
    return built


def test_the_wheel_installs_nothing_at_the_top_level_but_voicewire(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    dist_info = {top for top in tops if top.endswith(".dist-info")}
    assert tops - dist_info == {"voicewire"}
    assert len(dist_info) == 1
    # voicewire is a namespace: no voicewire/__init__.py shadows anything either.
    assert "voicewire/__init__.py" not in names


def test_every_source_file_of_the_four_folders_is_in_the_wheel(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        f"voicewire/{path.relative_to(REPO).as_posix()}"
        for folder in CODE_FOLDERS
        for path in (REPO / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    missing = sorted(sources - names)
    assert not missing, f"not packaged (add the folder to [tool.setuptools] packages): {missing}"


def test_the_wheel_carries_the_license_text_and_its_expression(wheel):
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    headers = archive.read(metadata).decode().split("\n\n", 1)[0].splitlines()
    assert "License-Expression: Apache-2.0" in headers
    assert "License-File: LICENSE" in headers
    licensed = metadata.replace("METADATA", "licenses/LICENSE")
    assert archive.read(licensed) == (REPO / "LICENSE").read_bytes()


def test_entry_points_name_the_namespaced_modules(wheel):
    archive = zipfile.ZipFile(wheel)
    (entry_points,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "voicewire = voicewire.harness.cli:main" in text
    assert "voicewire = voicewire.harness.pytest_plugin" in text


def test_a_non_editable_install_runs_the_suites_from_site_packages(wheel, tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(
        [*PIP, "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import voicewire.suites as s; print(s.__file__)"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    )
    assert where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    run = subprocess.run(
        [*VOICEWIRE, "run", "--suite", "chat_context", "-k", "truncate", "--json", "report.json"],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "CONFORMANT" in run.stdout
