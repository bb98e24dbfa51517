"""The qemu-system backend: generated stubs pass at EL1; stubs that each break one property
fail with it, including breaks only real exception levels show (SP alignment, BTI)."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.support import ROOT, SPEC, require_tool
from tests.support.stubs import CorpusStub, corpus, plan_for
from vtlgen.generate import render
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load
from vtlgen.validate.backends.base import BackendError
from vtlgen.validate.backends.qemu_harness import HarnessError
from vtlgen.validate.backends.qemu_system import BTI_CAUSE, EMULATOR, LIMITS, TOOLS
from vtlgen.validate.run import validate

pytestmark = [pytest.mark.integration, pytest.mark.qemu]

SPECS = {"current": SPEC, "1.0.0": ROOT / "tests/data/hyperv_vtl_1.0.0.yaml"}
SMCCC = ROOT / "generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S"
TRAP = "\thvc    #0\t/* to VTL0; back on the next VTL0 exit */\n"
PUSH = "\tstp    x29, x30, [sp, #-16]!\t/* push the frame record and allocate the frame */\n"
POP = "\tldp    x29, x30, [sp], #16\t/* pop the frame record and the frame */\n"
LANDING = "\thint #34\t/* bti c: landing pad for indirect calls */\n"


@pytest.fixture(autouse=True)
def _tools() -> None:
    for tool, package in TOOLS.items():
        require_tool(tool, package)


def _plans(spec: str) -> dict[str, Plan]:
    return {p.convention_id: p for p in lower(load(SPECS[spec]).spec, SPECS[spec].name)}


@pytest.mark.parametrize("spec", sorted(SPECS))
@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_generated_stubs_pass_at_el1(spec: str, conv: str) -> None:
    plan = _plans(spec)[conv]
    text = render.standalone_asm(plan, SPECS[spec].name)
    report = validate(plan, text, f"{conv}.S", trials=60, seed=3, backend="qemu-system")
    assert report.ok, [v.describe() for v in report.violations]
    assert report.backend == "qemu-system"


def _broken(old: str, new: str) -> str:
    text = SMCCC.read_text()
    assert old in text
    return text.replace(old, new, 1)


# Each stub breaks one property; the first two pass on qemu-user, which runs at EL0 with no
# SP alignment check and no guarded pages.
BROKEN = {
    "sp_misaligned_by_a_push": (
        _broken(PUSH, PUSH + "\tstr    x19, [sp, #-8]!\n").replace(POP, "\tldr    x19, [sp], #8\n" + POP),
        "P7",
        "SP",
    ),
    "bti_c_missing": (_broken(LANDING, ""), "P9", "landing pad"),
    "store_outside_the_context": (
        _broken(TRAP, TRAP + "\tstur   xzr, [x2, #-256]\n\tstur   xzr, [x2, #-200]\n"),
        "P8",
        "outside",
    ),
    "store_far_from_the_context": (
        _broken(TRAP, "\tsub    x3, x2, #0x10, lsl #12\n\tstr    xzr, [x3]\n" + TRAP),
        "P8",
        "outside",
    ),
    "wrong_hvc_immediate": (_broken(TRAP, "\thvc    #5\n"), "P9", "conduit"),
    "breakpoint": (_broken(TRAP, TRAP + "\tbrk    #7\n"), "P9", "not the conduit"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_stub_that_breaks_one_property_fails_with_it(name: str) -> None:
    text, expected, phrase = BROKEN[name]
    report = validate(_plans("current")["smccc"], text, f"{name}.S", trials=8, seed=1, backend="qemu-system")
    assert expected in report.broken_properties(), [v.describe() for v in report.violations]
    assert any(phrase.lower() in v.describe().lower() for v in report.violations), [
        v.describe() for v in report.violations
    ]


def test_a_missing_landing_pad_is_named() -> None:
    text, _, _ = BROKEN["bti_c_missing"]
    report = validate(_plans("current")["smccc"], text, "bti.S", trials=2, backend="qemu-system")
    assert any(BTI_CAUSE in v.message for v in report.violations)
    (violation,) = {v.offset for v in report.violations}
    assert violation == 0  # the first instruction: where the `blr` landed


@pytest.mark.parametrize("name", ["sp_misaligned_by_a_push", "bti_c_missing"])
def test_qemu_user_cannot_see_what_el1_shows(name: str) -> None:
    """Why this backend exists: the same stubs pass on qemu-user (EL0, a signal handler)."""
    require_tool("qemu-aarch64", "qemu-user")
    text, expected, _ = BROKEN[name]
    report = validate(_plans("current")["smccc"], text, f"{name}.S", trials=8, seed=1, backend="qemu-user")
    assert expected not in report.broken_properties()


def test_frame_state_is_checked_after_every_instruction() -> None:
    """Software step at EL2: x29 briefly pointing at no record is P6 at that instruction,
    between the entry and the trap, where qemu-user looks at neither."""
    text = _broken("\tmov    x29, sp", "\tmov    x29, #8\n\tmov    x29, sp")
    (violation,) = validate(_plans("current")["smccc"], text, "fp.S", trials=4, backend="qemu-system").violations
    assert violation.property == "P6" and violation.disassembly == "mov x29, #8"


def test_an_interrupt_inside_the_stub_uses_the_stack_below_sp() -> None:
    """Data kept below SP only between two instructions before the trap: the trap's scribble
    misses it; the interrupt the image takes after a chosen instruction destroys it in some
    trials, and x19 comes back wrong (P5)."""
    keep = "\tstur   x19, [sp, #-16]\n\tmov    x19, x2\n\tnop\n\tnop\n\tnop\n\tldur   x19, [sp, #-16]\n"
    text = _broken(TRAP, keep + TRAP)
    report = validate(_plans("current")["smccc"], text, "below.S", trials=40, seed=2, backend="qemu-system")
    assert "P5" in report.broken_properties(), [v.describe() for v in report.violations]
    assert 0 < report.occurrences["P5"] < 40  # only where the interrupt fell between the two


def test_a_stub_that_never_returns_is_p9_within_the_deadline() -> None:
    """EL2's timer ends the trial at the loop (not the run's deadline, which would name no offset)."""
    text = _broken(TRAP, TRAP + "1:\tb      1b\n")
    report = validate(_plans("current")["smccc"], text, "loops.S", trials=3, backend="qemu-system")
    (violation,) = report.violations
    assert violation.property == "P9" and violation.disassembly.startswith("b ")


def test_a_stub_that_holds_the_semihosting_call_is_not_run() -> None:
    """Semihosting is the image's own channel; a stub that could call it could write results."""
    text = _broken(TRAP, TRAP + "\tb      2f\n\thlt    #0xf000\n2:\n")
    with pytest.raises(HarnessError, match="semihosting"):
        validate(_plans("current")["smccc"], text, "hlt.S", trials=1, backend="qemu-system")


def test_a_missing_emulator_is_exit_2_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vtlgen.cli import app

    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == EMULATOR else real(name, *a, **k))
    result = CliRunner().invoke(app, ["validate", "--backend", "qemu-system", "--no-proof", str(SPECS["current"])])
    assert result.exit_code == 2, result.output
    assert "qemu-system-arm" in result.output and "Traceback" not in result.output


def test_the_limits_name_what_is_not_seen() -> None:
    assert LIMITS["P10"].startswith("not observed")


# Every difference from unicorn on the corpus, with its reason.
PARTLY_SEEN = set(LIMITS)  # P3, P6, P7, P8, P10: at the trap, the end and at faults only
# The image runs trials without SVE/SME state (VL 128, PSTATE.ZA 0, Z/P/FFR not compared):
VECTOR_STATE = {"P1", "P2", "P4", "P5"}  # what only the vector state shows
NEEDS_ZA = {"P9"}  # an SME instruction that needs PSTATE.ZA traps where unicorn's ZA trials have it on


@pytest.mark.parametrize("stub", corpus(), ids=lambda s: s.name)
def test_backends_agree_on_the_corpus(stub: CorpusStub) -> None:
    """qemu-system against unicorn on every corpus stub, with the same seeds. Corpus stubs are
    written without `bti c`; on a guarded page each would stop at its first instruction (a
    verdict of its own, tested above), so the landing pad is added here to compare the rest."""
    plan = plan_for(stub)
    if plan.model.conduit_text.split()[0] != "hvc":
        with pytest.raises(BackendError, match="hvc conduits only"):
            validate(plan, stub.text, stub.name, trials=1, backend="qemu-system")
        return
    unicorn = validate(plan, stub.text, stub.name, trials=20, seed=5).broken_properties()
    text = LANDING + stub.text
    system = validate(plan, text, stub.name, trials=20, seed=5, backend="qemu-system").broken_properties()
    vector = "_sve_" in stub.name or "za" in stub.name.split("_")
    if vector and re.search(r"\b(?:zero\s+\{za\}|smstart|smstop)", stub.text):
        system -= NEEDS_ZA
    assert system <= unicorn, f"qemu-system found {system - unicorn} that unicorn did not"
    explained = PARTLY_SEEN | (VECTOR_STATE if vector else set())
    assert unicorn - system <= explained, f"qemu-system missed {unicorn - system}"
    if not stub.expected & explained:
        assert system == unicorn


def test_a_step_row_puts_each_register_where_the_reader_takes_it() -> None:
    from vtlgen.validate.backends import qemu_system

    x = [0x1000 + n for n in range(31)]
    raw = qemu_system.STEP.pack({"pc": 7, "x": x, "sp": 0x99, "record": b"r" * 16, "record_valid": 1,
                                 "after_switch": 1})  # fmt: skip
    (row,) = qemu_system.STEP.rows(raw)
    assert row[0] == 7 and row[qemu_system._RECORD] == b"r" * 16
    assert {name: row[i] for name, i in qemu_system._STEP_ITEM.items()} == {f"x{n}": x[n] for n in range(31)} | {
        "sp": 0x99
    }
    assert row[qemu_system._RECORD_VALID] == 1 and row[qemu_system._AFTER_SWITCH] == 1
