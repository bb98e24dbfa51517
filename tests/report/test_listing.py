"""Annotated listings: roles from the Plan's blocks, and the context slots each instruction touches."""

from __future__ import annotations

import pytest

from tests.support import ROOT, SPEC
from tests.support.stubs import STUBS, named
from vtlgen.isa.assembler import assemble
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.report import listing
from vtlgen.spec.loader import load


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {plan.convention_id: plan for plan in lower(load(SPEC).spec, SPEC.as_posix())}


def rows_of(plan: Plan, text: str) -> list[listing.Row]:
    return listing.annotate(plan, assemble(text, "stub.S"))


def generated(convention: str) -> str:
    return (ROOT / "generated" / "hyperv_vtl" / convention / f"hyperv_vtl_{convention}.S").read_text()


def by_source(rows: list[listing.Row], source: str) -> listing.Row:
    (row,) = [r for r in rows if " ".join(r.source.split()) == source]
    return row


def test_generated_stub_roles_follow_the_plan_blocks(plans: dict[str, Plan]) -> None:
    rows = rows_of(plans["hvc3"], generated("hvc3"))
    assert [r.role for r in rows][:3] == ["frame", "frame", "frame"]  # bti, push, mov x29
    roles = [r.role for r in rows]
    assert roles.count("trap") == 1 and by_source(rows, "hvc #3").role == "trap"
    assert by_source(rows, "stp x19, x20, [sp, #16]").role == "save"
    assert by_source(rows, "ldp x4, x5, [x30, #32]").role == "load"  # ctx rides in x30 across the trap
    assert by_source(rows, "stp x4, x5, [x30, #32]").role == "store"
    assert by_source(rows, "ldp x19, x20, [sp, #16]").role == "restore"
    assert rows[-1].role == "frame" and rows[-1].block == "exit"
    assert listing.UNKNOWN not in roles
    smccc = rows_of(plans["smccc"], generated("smccc"))
    assert [r.role for r in smccc].count("arguments") == 4


def test_hand_written_stub_roles_are_unknown_but_the_trap(plans: dict[str, Plan]) -> None:
    rows = rows_of(plans["hvc3"], (STUBS / "hvc3_ok_variant.S").read_text())
    assert {r.role for r in rows} == {listing.UNKNOWN, "trap"}
    assert [r.role for r in rows].count("trap") == 1 and all(not r.block for r in rows)
    # The generated stub with one instruction changed is no longer the generated stub.
    edited = generated("hvc3").replace("stp    x19, x20, [sp, #16]", "stp    x20, x19, [sp, #16]")
    assert {r.role for r in rows_of(plans["hvc3"], edited)} == {listing.UNKNOWN, "trap"}


def test_slots_follow_the_context_pointer(plans: dict[str, Plan]) -> None:
    rows = rows_of(plans["hvc3"], (STUBS / "hvc3_ok_variant.S").read_text())
    # ctx moved to x1, then spilled and reloaded across the trap
    assert by_source(rows, "ldp x4, x5, [x1, #32]").touches == ("x[4] (x4)", "x[5] (x5)")
    assert by_source(rows, "ldp q30, q31, [x1, #736]").touches == ("q[30] (q30)", "q[31] (q31)")
    assert by_source(rows, "stp x27, x28, [x1, #216]").access == "write"
    assert by_source(rows, "str x2, [x1, #8]").touches == ("x[1] (x1)",)
    assert by_source(rows, "str x0, [sp, #144]").touches == ("stack -48..-40",)  # SP moved by `sub sp, sp, #192`


def test_a_write_to_rsvd_is_named(plans: dict[str, Plan]) -> None:
    rows = rows_of(plans["hvc3"], named("hvc3_p8_writes_rsvd").text)
    assert by_source(rows, "str xzr, [x1, #248]").touches == ("rsvd",)


def test_what_cannot_be_followed_is_said(plans: dict[str, Plan]) -> None:
    text = """
    add    x3, x0, #16
    ldr    x4, [x3]
    ldr    x5, [x0, x4]
    ldr    x6, [x0, #1024]
    cbz    x6, skip
    ldr    x7, [x0]
skip:
    ret
    """
    rows = rows_of(plans["hvc3"], text)
    assert by_source(rows, "ldr x4, [x3]").touches == ("memory (not followed)",)  # address from arithmetic
    assert by_source(rows, "ldr x5, [x0, x4]").touches == ("memory (not followed)",)  # index register
    assert by_source(rows, "ldr x6, [x0, #1024]").touches == ("outside the context (ctx+1024)",)
    assert by_source(rows, "ldr x7, [x0]").touches == ("memory (not followed)",)  # after a branch
