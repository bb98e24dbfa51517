"""Tools and files outside Python: a test that needs one skips outside CI, naming the Debian
package to install, and fails in CI (where .ci/run must have installed it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_tool(name: str, package: str) -> str:
    """A tool outside Python: skip outside CI with the Debian package named; fail in CI."""
    require(tools={name: package})
    return str(shutil.which(name))


def require_file(path: Path, package: str) -> Path:
    """A file a Debian package installs (a tarball, a header): as require_tool."""
    require(files={path: package})
    return path


def require(tools: dict[str, str] | None = None, files: dict[Path, str] | None = None) -> None:
    """Everything at once, so a skip names every Debian package that is missing."""
    missing = {name: package for name, package in (tools or {}).items() if not shutil.which(name)}
    missing |= {str(path): package for path, package in (files or {}).items() if not path.exists()}
    if not missing:
        return
    packages = sorted(set(missing.values()))
    names, debian = ", ".join(missing), f"Debian package{'s' if len(packages) > 1 else ''} {' '.join(packages)}"
    if IN_CI:
        pytest.fail(f"{names} missing in CI; .ci/run must install the {debian}")
    pytest.skip(f"{names} not found; install the {debian}")
