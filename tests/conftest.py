"""Shared fixtures: the real spec, and helpers to make edited copies of it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "hyperv_vtl.yaml"
DATA = Path(__file__).resolve().parent / "data"
# ABI 1.0.0, before SVE state travelled: Q in q[n], no SVE instructions in the stubs. The
# tests of the register-bank machinery and of the proof (which lifts no SVE) use it.
FIRST = DATA / "hyperv_vtl_1.0.0.yaml"
IN_CI = os.environ.get("CI", "").lower() == "true"

# The hvc3 stub carries ctx across the trap in x30: private per VTL (TLFS), with the entry
# x30 held in the live frame record. Issue 9's P3 accepts that; until it is merged, the
# validator flags the write. Remove this marker (and its uses) once issue 9 is in.


@pytest.fixture
def spec_text() -> str:
    return SPEC.read_text()


def edited(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence, so a test never silently edits nothing."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


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


def invoke(*arguments: str) -> Result:
    """Run the CLI in-process; whatever it is given, it must never end in a traceback."""
    from vtlgen.cli import app

    result = CliRunner().invoke(app, list(arguments))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result
