"""The unicorn harness's two ways of looking observe the same: watching (looks only where
`WatchPlan` says) and the reference mode (a look at every instruction)."""

from __future__ import annotations

import pytest

from tests.support import DATA, FIRST, SPEC
from vtlgen.generate import render
from vtlgen.isa.assembler import Assembly, assemble
from vtlgen.isa.disassembler import decode
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load
from vtlgen.validate.backends.unicorn_harness import Harness
from vtlgen.validate.backends.unicorn_watch import WatchPlan

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}
FIRST_PLANS = {p.convention_id: p for p in lower(load(FIRST).spec, FIRST.name)}
FIELDS = ("traps", "end", "steps", "accesses", "trace")


def _same(plan: Plan, assembly: Assembly, seeds: range, vector_length: int = 0) -> Harness:
    watching = Harness(plan, assembly, vector_length=vector_length)
    reference = Harness(plan, assembly, vector_length=vector_length, reference=True)
    for seed in seeds:
        fast, slow = watching.run(seed), reference.run(seed)
        for field in FIELDS:
            assert getattr(fast, field) == getattr(slow, field), f"seed {seed}: {field} differs"
    return watching


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_generated_stubs_are_watched_and_observed_alike(conv: str) -> None:
    plan = FIRST_PLANS[conv]
    harness = _same(plan, assemble(render.standalone_asm(plan, FIRST.name)), range(40))
    assert harness.watching and harness._reference is None  # every trial decided by watching
    assert len(harness.watch.looks) <= len(harness.decoded) // 3  # far fewer looks than instructions


@pytest.mark.parametrize("vector_length", [16, 48, 256])
def test_sve_stubs_are_observed_alike_at_each_vector_length(vector_length: int) -> None:
    plan = PLANS["hvc3"]
    assert _same(plan, assemble(render.standalone_asm(plan, SPEC.name)), range(12), vector_length).watching


@pytest.mark.parametrize("stub", sorted(p.name for p in (DATA / "stubs").glob("*.S")))
def test_corpus_stubs_are_observed_alike(stub: str) -> None:
    """Good and bad stubs alike: the ones watching cannot decide fall back and match too."""
    plan = PLANS["hvc3" if stub.startswith("hvc3") else "smccc"]
    assembly = assemble((DATA / "stubs" / stub).read_text())
    _same(plan, assembly, range(12), vector_length=64 if "sve" in stub else 0)


def test_a_trial_that_does_not_return_falls_back_to_the_reference() -> None:
    plan = PLANS["smccc"]
    harness = _same(plan, assemble((DATA / "stubs" / "smccc_p9_brk.S").read_text()), range(2))
    assert harness._reference is not None


def test_a_store_into_the_live_frame_record_mid_segment_falls_back() -> None:
    """The frame step after such a store falls between two looks: only the reference sees it."""
    text = (
        "stp x29, x30, [sp, #-32]!\nmov x29, sp\nstr x9, [sp]\nstr x10, [sp, #16]\n"
        "mov x2, x0\nhvc #0\nldp x29, x30, [sp], #32\nret\n"
    )
    plan = PLANS["smccc"]
    harness = _same(plan, assemble(text), range(3))
    assert harness._reference is not None
    first = Harness(plan, assemble(text)).run(0)
    assert [s.offset for s in first.steps][:3] == [0, 4, 8]  # the step right after the store at +8


def test_looks_follow_frame_writers_and_registers_changed_before_an_access() -> None:
    text = (
        "stp x29, x30, [sp, #-16]!\n"  # 0: SP moves by a known 16: no look needed for it
        "str x1, [sp, #-8]\n"  # 4: after a frame writer (SP): a look
        "ldr x2, [x0]\n"  # 8
        "add x0, x0, #8\n"  # 12: x0 changed in a way not followed
        "ldr x3, [x0]\n"  # 16: a look, x0 is read again
        "ldr x4, [x0, #8]\n"  # 20
        "ret\n"
    )
    decoded = decode(assemble(text).code)
    plan = WatchPlan(decoded, [False] * len(decoded), {"x29", "x30", "sp"})
    assert plan.looks == (1, 4)
    segment = plan.segment(1)
    assert segment.names == ("sp", "x0") and [a.offset for a in segment.accesses] == [4, 8]


def test_a_pre_indexed_writeback_is_followed_not_looked_at() -> None:
    decoded = decode(assemble("str x1, [x2, #16]!\nstr x3, [x2, #8]\nldr x4, [x2], #8\nldr x5, [x2]\nret\n").code)
    plan = WatchPlan(decoded, [False] * len(decoded), {"x29", "x30", "sp"})
    assert plan.looks == (3,)  # after the post-index (its amount is not decoded), x2 is read again
    accesses = plan.segment(0).accesses
    assert [(a.offset, a.base, a.constant) for a in accesses] == [(0, "x2", 16), (4, "x2", 24), (8, "x2", 16)]
