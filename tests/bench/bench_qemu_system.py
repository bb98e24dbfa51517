"""`nox -s bench`: the qemu-system backend against its targets.

Targets (the stub at EL1 under the test hypervisor at EL2):
- the image build (assemble the stub, link it to the image objects) at most 2 s with the
  objects from the cache; the cold build (compiling them) is printed beside it;
- at least 200 trials/s once booted: two runs of N and 2N trials, whose difference cancels
  the build and QEMU's boot;
- `vtlgen validate --backend qemu-system` on the default spec at most 10 s, as a user runs it.
Prints figures and exits 1 when a target is missed; skips (exit 0, saying why) without
qemu-system-aarch64 (Debian qemu-system-arm) or the cross toolchain.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.validate.backends.qemu_harness import HarnessShape
from vtlgen.validate.backends.qemu_system import TOOLS, build_image
from vtlgen.validate.run import stub_code, validate
from vtlgen.validate.trial import TrialFactory

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec/hyperv_vtl.yaml"
BUILD_TARGET = 2.0
TRIALS_TARGET = 200.0
VALIDATE_TARGET = 10.0
N = 500


def main() -> int:
    missing = sorted({package for tool, package in TOOLS.items() if not shutil.which(tool)})
    if missing:
        print(f"qemu-system bench skipped: install {', '.join(missing)}")
        return 0
    plan = next(p for p in lower(load(SPEC).spec, SPEC.name) if p.convention_id == "hvc3")
    text = (ROOT / "generated/hyperv_vtl/hvc3/hyperv_vtl_hvc3.S").read_text()
    canonical = stub_code(text, "hvc3.S").assembly.canonical
    shape = HarnessShape(TrialFactory(plan).region_size, None)
    failed = False
    with tempfile.TemporaryDirectory() as cache:
        os.environ["VTLGEN_CACHE"] = cache
        times = []
        for _ in range(2):  # cold, then from the cache
            with tempfile.TemporaryDirectory() as folder:
                start = time.perf_counter()
                build_image(plan, canonical, Path(folder), shape)
                times.append(time.perf_counter() - start)
        print(f"image build: cold {times[0]:.2f} s, cached {times[1]:.2f} s (target <= {BUILD_TARGET} s cached)")
        failed |= times[1] > BUILD_TARGET
        runs = []
        for count in (N, 2 * N):
            start = time.perf_counter()
            report = validate(plan, text, "hvc3.S", trials=count, seed=1, backend="qemu-system")
            runs.append(time.perf_counter() - start)
            assert report.ok, [v.describe() for v in report.violations]
        rate = N / max(runs[1] - runs[0], 1e-9)
        print(f"trials once booted: {rate:.0f}/s ({N} trials in {runs[0]:.2f} s, {2 * N} in {runs[1]:.2f} s; "
              f"target >= {TRIALS_TARGET:.0f}/s)")  # fmt: skip
        failed |= rate < TRIALS_TARGET
        start = time.perf_counter()
        command = [sys.executable, "-m", "vtlgen", "validate", "--backend", "qemu-system", str(SPEC)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
        seconds = time.perf_counter() - start
        print(f"validate --backend qemu-system (default spec, warm cache): {seconds:.2f} s, exit {done.returncode} "
              f"(target <= {VALIDATE_TARGET} s)")  # fmt: skip
        failed |= seconds > VALIDATE_TARGET or done.returncode != 0
        start = time.perf_counter()
        done = subprocess.run([*command, "--no-proof"], cwd=ROOT, capture_output=True, check=False)
        seconds = time.perf_counter() - start
        print(f"  the same with --no-proof (the trials alone): {seconds:.2f} s, exit {done.returncode}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
