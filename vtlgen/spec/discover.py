"""Which spec files a command works on: the ones named, or every `spec/*.yaml`."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DIR = Path("spec")


def resolve(paths: list[Path] | None) -> list[Path]:
    if paths:
        return list(paths)
    return sorted(DEFAULT_DIR.glob("*.yaml")) + sorted(DEFAULT_DIR.glob("*.json"))
