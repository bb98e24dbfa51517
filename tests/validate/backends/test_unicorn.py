"""The unicorn harness itself: conduit decoding, bare runs, and errors inside hooks."""

from __future__ import annotations

import pytest

from tests.support import ROOT, SPEC
from vtlgen.isa.assembler import assemble
from vtlgen.isa.encoding import is_conduit
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.validate.backends.unicorn import Harness

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}


def _harness(conv: str, checks: bool = True, vector_length: int = 64) -> Harness:
    """The generated stub; hvc3 moves SVE state, so its trials need a vector length."""
    text = (ROOT / f"generated/hyperv_vtl/{conv}/hyperv_vtl_{conv}.S").read_text()
    return Harness(PLANS[conv], assemble(text), checks=checks, vector_length=vector_length)


def test_conduit_words() -> None:
    assert is_conduit(0xD4000062) and is_conduit(0xD4000002) and is_conduit(0xD4000003)
    assert not is_conduit(0xD503201F)  # nop
    assert not is_conduit(0xD4200000)  # brk #0


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_round_trip_counts(conv: str) -> None:
    observation = _harness(conv).run(0)
    assert len(observation.traps) == 1 and observation.end.kind == "returned"
    assert len(observation.trace) == PLANS[conv].budget.lower_bound


def test_sve_instructions_without_a_vector_length_are_an_exception_not_a_crash() -> None:
    observation = _harness("hvc3", vector_length=0).run(0)
    assert observation.end.kind == "exception" and observation.traps[-1].kind == "exception"


def test_bare_runs_make_the_same_switch_but_observe_nothing() -> None:
    bare = _harness("hvc3", checks=False).run(0)
    assert len(bare.traps) == 1 and bare.end.kind == "returned"
    assert bare.trace == [] and bare.accesses == [] and bare.steps == []  # nothing observed


@pytest.mark.parametrize("reference", [False, True])
def test_an_error_inside_the_hook_is_raised_not_swallowed(monkeypatch: pytest.MonkeyPatch, reference: bool) -> None:
    text = (ROOT / "generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S").read_text()
    harness = Harness(PLANS["smccc"], assemble(text), vector_length=64, reference=reference)

    def broken(*_: object) -> None:
        raise RuntimeError("bug in a check")

    monkeypatch.setattr(harness, "_step_after", broken)  # called from the code hooks in both modes
    with pytest.raises(RuntimeError, match="bug in a check"):
        harness.run(0)


def test_memory_forms_outside_the_static_model_use_memory_hooks() -> None:
    text = "stp x29, x30, [sp, #-16]!\nmov x29, sp\nldxr x9, [x0]\nmov x2, x0\nhvc #0\nldp x29, x30, [sp], #16\nret\n"
    harness = Harness(PLANS["smccc"], assemble(text))
    assert not harness.static_memory
    observation = harness.run(0)
    assert (8, 8, False) in [(a.offset, a.size, a.write) for a in observation.accesses]  # the ldxr


def test_smc_is_seen_at_the_smc_and_resumes_after_it() -> None:
    text = "stp x29, x30, [sp, #-16]!\nmov x29, sp\nsmc #0\nnop\nldp x29, x30, [sp], #16\nret\n"
    observation = Harness(PLANS["smccc"], assemble(text)).run(0)
    assert [(t.offset, t.kind) for t in observation.traps] == [(8, "conduit")]
    assert observation.end.kind == "returned" and 12 in observation.trace


def test_brk_is_an_observation_not_a_crash() -> None:
    observation = Harness(PLANS["smccc"], assemble("brk #1\nret\n")).run(0)
    assert [(t.offset, t.kind) for t in observation.traps] == [(0, "exception")]
    assert observation.end.kind == "exception"


def test_context_and_stack_move_above_4_gib() -> None:
    harness = _harness("smccc")
    seen = {(o.state.addresses.context, o.state.addresses.entry_sp) for o in (harness.run(k) for k in range(8))}
    assert len(seen) == 8
    assert all(c > 1 << 32 and s > 1 << 32 and c % 16 == 0 and s % 16 == 0 for c, s in seen)
