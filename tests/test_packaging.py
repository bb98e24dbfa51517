"""A regular (non-editable) install works from any folder and generates the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = [pytest.mark.wheel]


def test_installed_wheel_generates_the_golden_bytes(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".nox", "__pycache__", "*.egg-info", "build"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # Reuse this interpreter's dependencies (appended after the new venv's own packages);
    # install only vtlgen itself, built as a wheel.
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "_parent_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(source)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    installed = subprocess.run(
        [python, "-c", "import vtlgen, sys; print(vtlgen.__file__)"],
        cwd=elsewhere,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert str(env_dir) in installed  # the installed copy, not the checkout
    vtlgen = env_dir / "bin" / "vtlgen"
    spec = ROOT / "spec" / "hyperv_vtl.yaml"
    subprocess.run([vtlgen, "generate", str(spec), "--out", "out"], cwd=elsewhere, env=env, check=True)
    module = subprocess.run(
        [python, "-m", "vtlgen", "--version"], cwd=elsewhere, env=env, check=True, capture_output=True, text=True
    )
    assert module.stdout.startswith("vtlgen ")
    # The qemu harness is C beside its backend, read when a harness is built: the wheel ships it.
    harness = "import json; from vtlgen.validate.backends import qemu_harness as h; print(json.dumps(h.SOURCES))"
    names = json.loads(subprocess.run([python, "-c", harness], cwd=elsewhere, env=env, check=True,
                                      capture_output=True, text=True).stdout)  # fmt: skip
    assert names == ["qemu_harness.c", "qemu_harness_vector.c"]
    package = Path(installed).parent / "validate" / "backends"
    for name in names:
        assert (package / name).read_bytes() == (ROOT / "vtlgen" / "validate" / "backends" / name).read_bytes()
    golden = sorted((ROOT / "generated" / "hyperv_vtl").rglob("*.*"))
    assert golden
    for path in golden:
        produced = elsewhere / "out" / path.relative_to(ROOT / "generated")
        assert produced.read_bytes() == path.read_bytes(), produced
    assert sys.version_info >= (3, 10)
