"""`nox -s bench`: validator throughput against its targets (issue 4), on one core.

Targets: at least 2,000 validated round trips per second with every check on, and at
least 25% of bare emulation speed (the same stub, setup and hypervisor model, no checks).
Prints figures and exits 1 when a target is missed; never part of the test suite.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

from vtlgen.assembler import assemble
from vtlgen.backends.base import Observable
from vtlgen.backends.unicorn import Harness
from vtlgen.contract import Judge
from vtlgen.loader import load
from vtlgen.lowering import lower
from vtlgen.report import StubSource

ROOT = Path(__file__).resolve().parents[2]
TARGET_VALIDATED = 2000.0
TARGET_RATIO = 0.25
ROUNDS = 5
TRIALS = 600


def rate(harness: Harness, judge: Judge | None) -> float:
    """Best of several rounds: the least disturbed measurement of the same work."""
    best = 0.0
    seed = 0
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(TRIALS):
            observation = harness.run(seed)
            if judge is not None:
                judge.trial(observation)
            seed += 1
        best = max(best, TRIALS / (time.perf_counter() - start))
    return best


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    spec = load(ROOT / "spec" / "hyperv_vtl.yaml")
    failed = False
    print(f"{'convention':<12}{'validated/s':>14}{'bare/s':>12}{'ratio':>8}{'insns':>7}")
    for plan in lower(spec.spec, "spec/hyperv_vtl.yaml"):
        path = ROOT / "generated" / plan.spec_id / plan.convention_id / f"{plan.spec_id}_{plan.convention_id}.S"
        assembly = assemble(path.read_text(), str(path))
        checked = Harness(plan, assembly, checks=True)
        bare = Harness(plan, assembly, checks=False)
        judge = Judge(plan, StubSource(assembly, str(path)), frozenset(Observable))
        assert not judge.trial(checked.run(0)), "the generated stub must validate before it is timed"
        validated_rate, bare_rate = rate(checked, judge), rate(bare, None)
        ratio = validated_rate / bare_rate
        instructions = len(checked.run(0).trace)
        print(f"{plan.convention_id:<12}{validated_rate:>14.0f}{bare_rate:>12.0f}{ratio:>8.0%}{instructions:>7}")
        failed |= validated_rate < TARGET_VALIDATED or ratio < TARGET_RATIO
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    print(
        f"targets: >= {TARGET_VALIDATED:.0f} validated/s, >= {TARGET_RATIO:.0%} of bare: "
        + ("MISSED" if failed else "met")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
