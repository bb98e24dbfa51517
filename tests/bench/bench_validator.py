"""`nox -s bench`: validator throughput against its targets, on one core, and peak memory.

Targets: at least 2,000 validated round trips per second with every check on, and at
least 25% of a bare unicorn loop of the same stub, measured side by side in the same run.
The bare loop is the stub on unicorn's own Python API and nothing else: it writes the
general registers (`reg_write_batch`) and the context, calls `emu_start`, and has one
interrupt hook that steps over the trap; its inputs are drawn before it is timed. Beside it,
for reference and without a target, the same loop writing every modelled register through
unicorn's C API (`unicorn_capi.RegisterBank`), the floor of any harness. The validated loop
is the unicorn backend's trials through the judge, every property judged, at VL 0; beside it
`validate` itself, as `vtlgen validate --no-proof` runs it (the model's vector lengths, so
SVE/SME state in every trial), with its own ratio. The target holds for both.
Peak memory of a whole `validate` at 1,000 and 10,000 trials on both backends (each in a
fresh process, the qemu-user harness included) shows it stays flat as trials grow. The
qemu-user SVE/SME mode's time per trial at each vector length is printed too (no target).
Prints figures and exits 1 when a target is missed; never part of the test suite.
BENCH_THROUGHPUT_ONLY=1 stops after the throughput tables (no peak memory, no qemu).
"""

from __future__ import annotations

import itertools
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, UC_PROT_READ, Uc, arm64_const

from vtlgen.generate import render
from vtlgen.isa import registers
from vtlgen.isa.assembler import Assembly, assemble
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load
from vtlgen.validate.backends.base import StubCode, TrialObservation
from vtlgen.validate.backends.unicorn import CODE, CODE_SIZE, RETURN_ADDRESS, UnicornBackend
from vtlgen.validate.backends.unicorn_capi import RegisterBank
from vtlgen.validate.contract import TrialJudge
from vtlgen.validate.results import StubSource
from vtlgen.validate.run import validate
from vtlgen.validate.trial import CONTEXT_WINDOW, ENTRY_GPRS, STACK_WINDOW, WINDOW_SIZE, TrialFactory

ROOT = Path(__file__).resolve().parents[2]
TARGET_VALIDATED = 2000.0
TARGET_RATIO = 0.25
ROUNDS = 5
TRIALS = 600


Round = Callable[[], float]  # one timed round of TRIALS round trips: their rate


def validated_round(plan: Plan, code: StubCode, vector_length: int = 0) -> Round:
    """Rounds of validated trials: the unicorn backend's observations, each judged on every property."""
    backend = UnicornBackend(vector_length)
    judge = TrialJudge(plan, StubSource(code.assembly, code.file), backend.observes)
    first = next(backend.observe(plan, code, [0]))
    assert first.end.kind == "returned" and not judge.trial(first), "the stub must validate before it is timed"
    seeds = itertools.count(1, TRIALS)

    def one_round() -> float:
        seed = next(seeds)
        start = time.perf_counter()
        for observation in backend.observe(plan, code, range(seed, seed + TRIALS)):
            judge.trial(observation)
        return TRIALS / (time.perf_counter() - start)

    return one_round


def bare_round(plan: Plan, assembly: Assembly, c_api: bool = False) -> Round:
    """Rounds of the bare loop: the same stub, memory map and inputs as a trial, nothing
    observed; `c_api`: every modelled register written through `RegisterBank`."""
    factory = TrialFactory(plan)
    states = [factory.initial(seed, RETURN_ADDRESS) for seed in range(TRIALS)]
    uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
    uc.mem_map(CODE, CODE_SIZE)
    uc.mem_map(RETURN_ADDRESS, 0x1000, UC_PROT_READ)
    uc.mem_map(CONTEXT_WINDOW, WINDOW_SIZE)
    uc.mem_map(STACK_WINDOW, WINDOW_SIZE)
    uc.mem_write(CODE, assembly.code)
    uc.reg_write(arm64_const.UC_ARM64_REG_CPACR_EL1, 3 << 20)  # FPEN, as the harness sets it
    pc = arm64_const.UC_ARM64_REG_PC

    def trap(uc: Uc, intno: int, _: object) -> None:
        if intno == 1:  # hvc arrives as UDEF with PC at it (unicorn_harness.py); smc with PC past it
            uc.reg_write(pc, uc.reg_read(pc) + 4)

    uc.hook_add(UC_HOOK_INTR, trap)
    general = [*ENTRY_GPRS, registers.STACK_POINTER]
    ids = [getattr(arm64_const, f"UC_ARM64_REG_{name.upper()}") for name in general]
    batches = [list(zip(ids, (state.entry[name] for name in general), strict=True)) for state in states]
    bank = RegisterBank(uc, registers.MODELLED)
    entries = [[state.entry[name] for name in registers.MODELLED] for state in states]
    limit = 4 * plan.budget.lower_bound + 256

    def one_round() -> float:
        start = time.perf_counter()
        for state, batch, entry in zip(states, batches, entries, strict=True):
            if c_api:
                bank.write(entry)
            else:
                uc.reg_write_batch(batch)
            uc.mem_write(state.addresses.region_start, state.region)
            uc.emu_start(CODE, RETURN_ADDRESS, count=limit)
        rate = TRIALS / (time.perf_counter() - start)
        assert uc.reg_read(pc) == RETURN_ADDRESS, "the bare loop must run the stub to its return"
        return rate

    return one_round


def validate_round(plan: Plan, code: StubCode) -> Round:
    """Rounds of `validate` as `vtlgen validate --no-proof` calls it: the model's vector
    lengths, every trial judged and collected into the report."""
    seeds = itertools.count(1, TRIALS)
    assert not validate(plan, code.text, code.file, trials=1).violations, "the stub must validate before it is timed"

    def one_round() -> float:
        start = time.perf_counter()
        validate(plan, code.text, code.file, trials=TRIALS, seed=next(seeds))
        return TRIALS / (time.perf_counter() - start)

    return one_round


def best_of(*rounds: Round) -> list[float]:
    """Each loop's best round, the loops' rounds interleaved so that a change in the machine's
    load falls on all of them alike: the least disturbed measurement of the same work."""
    best = [0.0] * len(rounds)
    for _ in range(ROUNDS):
        for n, one_round in enumerate(rounds):
            best[n] = max(best[n], one_round())
    return best


def stub_code(plan: Plan, spec_name: str) -> StubCode:
    text = render.standalone_asm(plan, spec_name)
    return StubCode(text, "stub.S", assemble(text, "stub.S"))


PEAK = """
import resource, sys
from pathlib import Path
from vtlgen.spec.loader import load
from vtlgen.lower.convention import lower
from vtlgen.validate.run import validate
plan = lower(load(Path(sys.argv[1])).spec, "hyperv_vtl.yaml")[0]
validate(plan, Path(sys.argv[2]).read_text(), "stub.S", trials=int(sys.argv[3]), backend=sys.argv[4])
usage = [resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
print(max(usage) // 1024)
"""


def peak_memory() -> None:
    """Peak resident memory (MiB) of one `validate` per backend and trial count."""
    spec = ROOT / "spec" / "hyperv_vtl.yaml"
    stub = ROOT / "generated" / "hyperv_vtl" / "hvc3" / "hyperv_vtl_hvc3.S"
    backends = ["unicorn"] + (["qemu-user"] if shutil.which("qemu-aarch64") else [])
    print(f"{'backend':<12}{'trials':>8}{'peak MiB':>10}{'seconds':>9}")
    for backend in backends:
        for trials in (1_000, 10_000):
            start = time.perf_counter()
            argv = [sys.executable, "-c", PEAK, str(spec), str(stub), str(trials), backend]
            printed = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=1800).stdout
            print(f"{backend:<12}{trials:>8}{int(printed):>10}{time.perf_counter() - start:>9.1f}")


SVE_STUB = ROOT / "tests" / "data" / "stubs" / "hvc3_sve_ok_variant.S"
SVE_TRIALS = 400


def qemu_vector_times() -> None:
    """qemu-user in SVE/SME mode: the build, then milliseconds per trial (run and parsed, not
    judged) of a hand-written SVE stub at each vector length, from a 1-trial and a
    (1 + SVE_TRIALS)-trial run, so the build and qemu's start-up cancel out."""
    from vtlgen.isa.assembler import Assembly
    from vtlgen.validate.backends.base import StubCode
    from vtlgen.validate.backends.qemu_user import QemuUserBackend

    if not all(shutil.which(tool) for tool in ("qemu-aarch64", "aarch64-linux-gnu-gcc", "bwrap")):
        print("qemu-user SVE: tools missing, not measured")
        return
    plan = next(p for p in lower(load(ROOT / "spec" / "hyperv_vtl.yaml").spec, "x") if p.convention_id == "hvc3")
    text = SVE_STUB.read_text()  # trusted: GNU as reads it directly (keystone has no SVE)
    gnu_only = StubCode(text, SVE_STUB.name, Assembly(b"", (), (), (), text))  # no keystone bytes to compare
    print(f"{'VL':>4}{'SVL':>5}{'build s':>9}{'ms/trial':>10}")
    for vl in (16, 48, 64, 256):
        backend = QemuUserBackend(vl)
        timings = []
        for count in (1, 1 + SVE_TRIALS):
            start = time.perf_counter()
            ends = [o.end.kind for o in backend.observe(plan, gnu_only, range(count))]
            timings.append(time.perf_counter() - start)
            assert ends == ["returned"] * count, f"the SVE stub must return at VL {vl}"
        per_trial = (timings[1] - timings[0]) / SVE_TRIALS
        assert backend.vector is not None
        print(f"{vl:>4}{backend.vector.svl:>5}{timings[0]:>9.2f}{per_trial * 1000:>10.3f}")


VECTOR_LENGTHS = (16, 48, 64, 256)


def vector_rates() -> None:
    """Validated trials/s of the default spec's stubs (rendered in memory) at each vector
    length on unicorn, where SVE/SME words run on `VectorMachine`, beside its bare loop
    (which runs the stub without a vector length: its SVE words trap and are stepped over)."""
    print(f"{'convention':<12}{'VL':>5}{'validated/s':>14}")
    for plan in lower(load(ROOT / "spec" / "hyperv_vtl.yaml").spec, "hyperv_vtl.yaml"):
        code = stub_code(plan, "hyperv_vtl.yaml")
        for length in VECTOR_LENGTHS:
            (rate,) = best_of(validated_round(plan, code, length))
            print(f"{plan.convention_id:<12}{length:>5}{rate:>14.0f}")


def _one(plan: Plan, code: StubCode) -> TrialObservation:
    return next(UnicornBackend().observe(plan, code, [0]))


def main() -> int:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    # The targets are for the machinery without SVE state: ABI 1.0.0's stubs (no SVE instruction),
    # rendered in memory. `vector_rates` prints the 2.0.0 stubs at each vector length beside them.
    fixture = ROOT / "tests" / "data" / "hyperv_vtl_1.0.0.yaml"
    failed = False
    # validated: the backend's trials through the judge at VL 0; validate: the library call the
    # CLI makes, at the model's vector lengths (VectorMachine state in every trial). The ratio
    # to the bare loop is judged on both.
    print(
        f"{'convention':<12}{'validated/s':>12}{'ratio':>6}{'validate/s':>11}{'ratio':>6}{'bare/s':>8}"
        f"{'target':>7}{'C-API bare/s':>13}{'insns':>6}"
    )
    for plan in lower(load(fixture).spec, fixture.name):
        code = stub_code(plan, fixture.name)
        validated, whole, bare, floor = best_of(
            validated_round(plan, code),
            validate_round(plan, code),
            bare_round(plan, code.assembly),
            bare_round(plan, code.assembly, c_api=True),
        )
        instructions = len(_one(plan, code).trace)
        print(
            f"{plan.convention_id:<12}{validated:>12.0f}{validated / bare:>6.0%}{whole:>11.0f}{whole / bare:>6.0%}"
            f"{bare:>8.0f}{TARGET_RATIO:>7.0%}{floor:>13.0f}{instructions:>6}"
        )
        failed |= validated < TARGET_VALIDATED or min(validated, whole) / bare < TARGET_RATIO
    vector_rates()
    if not os.environ.get("BENCH_THROUGHPUT_ONLY"):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MiB")
        peak_memory()
        qemu_vector_times()
    print(
        f"targets: >= {TARGET_VALIDATED:.0f} validated/s, >= {TARGET_RATIO:.0%} of bare: "
        + ("MISSED" if failed else "met")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
