"""`nox -s bench`: proof time per default stub, and `vtlgen validate` wall time (issue 10).

Targets: at most 0.5 s to prove each generated default stub (best of several rounds), and
at most 1.5 s wall for `vtlgen validate` on the default spec, trials and proof included.
Prints figures and exits 1 when a target is missed; never part of the test suite.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from vtlgen.loader import load
from vtlgen.lowering import lower
from vtlgen.prove import PROVED, prove

ROOT = Path(__file__).resolve().parents[2]
TARGET_PROOF = 0.5
TARGET_VALIDATE = 1.5
ROUNDS = 5


def best_of(work: object, rounds: int = ROUNDS) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    spec = load(ROOT / "spec" / "hyperv_vtl.yaml")
    failed = False
    print(f"{'convention':<12}{'proof s':>10}{'paths':>7}{'insns':>7}")
    for plan in lower(spec.spec, "spec/hyperv_vtl.yaml"):
        path = ROOT / "generated" / plan.spec_id / plan.convention_id / f"{plan.spec_id}_{plan.convention_id}.S"
        text = path.read_text()
        report = prove(plan, text, str(path)).report
        assert report.verdict == PROVED, "the generated stub must be proved before it is timed"
        seconds = best_of(lambda plan=plan, text=text, path=path: prove(plan, text, str(path)))
        print(f"{plan.convention_id:<12}{seconds:>10.3f}{report.paths:>7}{report.instructions_per_round_trip:>7}")
        failed |= seconds > TARGET_PROOF
    command = [sys.executable, "-m", "vtlgen", "validate"]
    wall = best_of(lambda: subprocess.run(command, cwd=ROOT, check=True, capture_output=True), rounds=3)
    print(f"vtlgen validate (trials and proof): {wall:.2f} s wall")
    failed |= wall > TARGET_VALIDATE
    print(
        f"targets: proof <= {TARGET_PROOF} s per stub, validate <= {TARGET_VALIDATE} s: {'MISSED' if failed else 'met'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
