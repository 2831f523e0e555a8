"""The one atomic writer: whole files or none, readable like any artifact."""

from __future__ import annotations

import os
import stat

import pytest
from voicewire.harness.atomic_file import write_atomically


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_text_and_bytes_creating_parents_with_mode_0644(tmp_path):
    path = tmp_path / "a" / "b" / "report.json"
    assert write_atomically(path, "héllo\n") == path
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert _mode(path) == 0o644
    write_atomically(path, b"\x00\xff")
    assert path.read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.json"]


def test_an_existing_files_mode_is_kept(tmp_path):
    path = tmp_path / "private.json"
    path.write_text("old")
    os.chmod(path, 0o600)
    write_atomically(path, "new")
    assert (path.read_text(), _mode(path)) == ("new", 0o600)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "result.json"
    write_atomically(path, "old")
    with pytest.raises(TypeError, match="data must be str or bytes"):
        write_atomically(path, {"not": "text"})  # type: ignore[arg-type]
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(OSError, match=r"cannot write .*blocker/x\.json"):
        write_atomically(tmp_path / "blocker" / "x.json", "data")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "result.json"]


def test_a_path_that_names_no_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="path must name a file"):
        write_atomically("", "x")
