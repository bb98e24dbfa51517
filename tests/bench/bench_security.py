"""What containment costs, and that hostile inputs end fast and small (not a test).

Targets: a YAML bomb is refused within 1 s and 100 MB; keystone's limited child adds
a few milliseconds per stub; the qemu-user sandbox adds well under a second per run.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.yaml_bombs import BOMBS  # noqa: E402

REFUSE = """
import sys, time
from vtlgen.spec.loader import SpecError, load_text
text = open(sys.argv[1]).read()
start = time.perf_counter()
try:
    load_text(text, "bomb.yaml")
except SpecError:
    pass
print(time.perf_counter() - start)
"""


def bomb_figures() -> None:
    print("hostile spec                     refused in    peak RSS of the process")
    with tempfile.TemporaryDirectory() as folder:
        for name, (text, _) in BOMBS.items():
            path = Path(folder) / "bomb.yaml"
            path.write_text(text)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            seconds = float(subprocess.run([sys.executable, "-c", REFUSE, str(path)], capture_output=True,
                                           text=True, check=True, cwd=ROOT).stdout)  # fmt: skip
            peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
            verdict = "ok" if seconds < 1.0 and peak < 100_000 else "OVER TARGET"
            print(f"  {name:<30} {seconds * 1000:8.1f} ms   {peak / 1024:6.1f} MB (max so far)  {verdict}")


def keystone_figures() -> None:
    from keystone import KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN, Ks

    from vtlgen.isa import assembler

    text = (ROOT / "generated/hyperv_vtl/hvc3/hyperv_vtl_hvc3.S").read_text()
    rounds = 20
    start = time.perf_counter()
    for k in range(rounds):
        assembler.assemble.cache_clear()
        assembler.assemble(text + f"// {k}\n", "hvc3.S")
    limited = (time.perf_counter() - start) / rounds
    canonical = assembler.assemble(text, "hvc3.S").canonical
    engine = Ks(KS_ARCH_ARM64, KS_MODE_LITTLE_ENDIAN)
    start = time.perf_counter()
    for _ in range(rounds):
        engine.asm(canonical, 0)
    bare = (time.perf_counter() - start) / rounds
    print(f"assemble hvc3: {limited * 1000:.1f} ms vetted and limited, {bare * 1000:.1f} ms bare keystone")


def sandbox_figures() -> None:
    import shutil

    from vtlgen.guard import sandbox

    if shutil.which("bwrap") is None:
        print("sandbox: bwrap missing (Debian package bubblewrap); not measured")
        return
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        for _ in range(10):
            sandbox.run_contained(["true"], scratch=Path(folder), writable=False, seconds=30)
        contained = (time.perf_counter() - start) / 10
        start = time.perf_counter()
        for _ in range(10):
            subprocess.run(["true"], check=True)
        bare = (time.perf_counter() - start) / 10
    print(f"sandboxed `true`: {contained * 1000:.1f} ms, bare {bare * 1000:.1f} ms")


if __name__ == "__main__":
    bomb_figures()
    keystone_figures()
    sandbox_figures()
