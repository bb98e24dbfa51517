"""Keep an output folder equal to what the specs generate.

`plan_changes` compares in memory; `apply` writes atomically per spec: the new tree is
built beside the old one and swapped in with renames, so a failure leaves the folder as
it was. `<out>/<spec-id>/` belongs to vtlgen: files there that the spec no longer
generates are removed.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def merge(self, other: Changes) -> None:
        self.added += other.added
        self.changed += other.changed
        self.removed += other.removed
        self.diffs += other.diffs

    def summary(self) -> list[str]:
        return (
            [f"added    {p}" for p in self.added]
            + [f"changed  {p}" for p in self.changed]
            + [f"removed  {p}" for p in self.removed]
        )


def _existing(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {p.relative_to(folder.parent).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return "<binary>"


def plan_changes(out: Path, spec_id: str, files: dict[str, str]) -> Changes:
    """What writing `files` (paths relative to `out`) under `out/spec_id` would change."""
    changes = Changes()
    existing = _existing(out / spec_id)
    for rel, text in sorted(files.items()):
        shown = (out / rel).as_posix()
        if rel not in existing:
            changes.added.append(shown)
            changes.diffs.append(_diff([], text, shown))
            continue
        old = _read(existing[rel])
        if old != text:
            changes.changed.append(shown)
            changes.diffs.append(_diff(old.splitlines(keepends=True), text, shown))
    for rel, path in existing.items():
        if rel not in files:
            changes.removed.append(path.as_posix())
            changes.diffs.append(_diff(_read(path).splitlines(keepends=True), "", path.as_posix()))
    return changes


def _diff(old: list[str], new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old, new.splitlines(keepends=True), f"a/{name}", f"b/{name}"))


def apply(out: Path, spec_id: str, files: dict[str, str]) -> None:
    """Replace `out/spec_id` with exactly `files`, atomically from a reader's view."""
    out.mkdir(parents=True, exist_ok=True)
    target = out / spec_id
    staging = Path(tempfile.mkdtemp(prefix=f".{spec_id}.new-", dir=out))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the result must not be
    try:
        for rel, text in files.items():
            path = staging.parent / rel.replace(spec_id, staging.name, 1)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        retired = out / f".{spec_id}.old-{staging.name.rsplit('-', 1)[-1]}"
        if target.exists():
            os.replace(target, retired)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def write_atomically(path: Path, text: str) -> None:
    """Write one file whole or not at all: a temporary file beside it, synced, then renamed
    over it, so a reader (a browser, a CI upload) never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; the result must not be
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def update_files(out: Path, files: dict[str, str]) -> Changes:
    """Write just `files` (paths relative to `out`), each atomically; leave every other file
    alone. For commands that produce part of what `generate` writes (`vtlgen doc`)."""
    changes = Changes()
    for rel, text in sorted(files.items()):
        path = out / rel
        old = _read(path) if path.is_file() else None
        if old == text:
            continue
        write_atomically(path, text)
        (changes.added if old is None else changes.changed).append(path.as_posix())
    return changes
