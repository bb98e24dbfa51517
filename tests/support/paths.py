"""Where the tests find the repository, the real spec and the fixtures."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "hyperv_vtl.yaml"
DATA = ROOT / "tests" / "data"
# ABI 1.0.0, before SVE state travelled: Q in q[n], no SVE instructions in the stubs. The
# tests of the register-bank machinery and of the proof (which lifts no SVE) use it.
FIRST = DATA / "hyperv_vtl_1.0.0.yaml"
# Minimal kernel headers (linkage.h, asm-offsets) to build the kernel flavour offline.
SHIM = ROOT / "tests" / "shim"
