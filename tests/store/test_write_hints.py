"""A failed write says what to do about its own cause: only a full disk asks for space."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from nnctl.errors import CheckpointError
from nnctl.store import files


def _hint(path: Path) -> str:
    with pytest.raises(CheckpointError) as caught:
        files.write_text(path, "x")
    assert caught.value.exit_code == 3
    assert caught.value.hint is not None
    return caught.value.hint


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    hint = _hint(tmp_path / "nope" / "a.txt")
    assert hint == f"the folder {tmp_path / 'nope'} does not exist"


def test_a_folder_in_the_way_is_named(tmp_path: Path) -> None:
    (tmp_path / "a.txt").mkdir()
    assert _hint(tmp_path / "a.txt") == f"{tmp_path / 'a.txt'} is a folder; give a file name"


def test_a_folder_without_permission_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: object, **kwargs: object) -> None:  # as mkstemp fails in a 0500 folder
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(files.tempfile, "mkstemp", refused)
    assert _hint(tmp_path / "a.txt") == f"the folder {tmp_path} is not writable by you"


def test_a_full_disk_asks_for_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    assert _hint(tmp_path / "a.txt").startswith("free some space")
    assert not (tmp_path / "a.txt").exists()
