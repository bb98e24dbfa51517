"""Atomic writes, stale-file removal, and in-memory comparison."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vtlgen import sync

FILES = {"s/a/one.txt": "1\n", "s/b/two.txt": "2\n"}


def test_apply_then_nothing_to_do(tmp_path: Path) -> None:
    assert sync.plan_changes(tmp_path, "s", FILES).added == [f"{tmp_path.as_posix()}/{p}" for p in sorted(FILES)]
    sync.apply(tmp_path, "s", FILES)
    assert (tmp_path / "s/a/one.txt").read_text() == "1\n"
    assert not sync.plan_changes(tmp_path, "s", FILES).any
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]  # no staging left behind


def test_changed_and_stale_files_are_reported_and_fixed(tmp_path: Path) -> None:
    sync.apply(tmp_path, "s", FILES)
    (tmp_path / "s/a/one.txt").write_text("edited\n")
    (tmp_path / "s/old.txt").write_text("left over\n")
    changes = sync.plan_changes(tmp_path, "s", FILES)
    assert changes.changed == [f"{tmp_path.as_posix()}/s/a/one.txt"]
    assert changes.removed == [f"{tmp_path.as_posix()}/s/old.txt"]
    assert any("-edited" in d and "+1" in d for d in changes.diffs)
    sync.apply(tmp_path, "s", FILES)
    assert not (tmp_path / "s/old.txt").exists()
    assert not sync.plan_changes(tmp_path, "s", FILES).any


def test_other_spec_folders_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other/keep.txt").write_text("mine\n")
    sync.apply(tmp_path, "s", FILES)
    assert (tmp_path / "other/keep.txt").read_text() == "mine\n"


def test_failed_write_leaves_the_old_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync.apply(tmp_path, "s", FILES)
    real_fsync = sync.os.fsync
    calls = {"n": 0}

    def failing_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(sync.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        sync.apply(tmp_path, "s", {"s/a/one.txt": "NEW\n", "s/b/two.txt": "NEW\n"})
    assert (tmp_path / "s/a/one.txt").read_text() == "1\n"
    assert (tmp_path / "s/b/two.txt").read_text() == "2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_update_files_writes_only_its_files(tmp_path: Path) -> None:
    sync.apply(tmp_path, "s", FILES)
    changes = sync.update_files(tmp_path, {"s/page.rst": "page\n", "s/a/one.txt": "1\n"})
    assert changes.added == [f"{tmp_path.as_posix()}/s/page.rst"] and not changes.changed
    assert (tmp_path / "s/b/two.txt").read_text() == "2\n"  # left alone
    assert not sync.update_files(tmp_path, {"s/page.rst": "page\n"}).any
    assert sync.update_files(tmp_path, {"s/page.rst": "new\n"}).changed == [f"{tmp_path.as_posix()}/s/page.rst"]


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.html"
    sync.write_atomically(target, "old\n")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not private, as the temporary file was

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sync.os, "fsync", no_space)
    with pytest.raises(OSError):
        sync.write_atomically(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
