"""The unicorn harness itself: conduit decoding, bare runs, and errors inside hooks."""

from __future__ import annotations

import pytest

from tests.conftest import HVC3, ROOT, SPEC
from vtlgen.assembler import assemble
from vtlgen.emulator import Harness, is_conduit
from vtlgen.loader import load
from vtlgen.lowering import lower

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}


def _harness(conv: str, checks: bool = True) -> Harness:
    text = (ROOT / f"generated/hyperv_vtl/{conv}/hyperv_vtl_{conv}.S").read_text()
    return Harness(PLANS[conv], assemble(text), f"{conv}.S", checks=checks)


def test_conduit_words() -> None:
    assert is_conduit(0xD4000062) and is_conduit(0xD4000002) and is_conduit(0xD4000003)
    assert not is_conduit(0xD503201F)  # nop
    assert not is_conduit(0xD4200000)  # brk #0


@pytest.mark.parametrize("conv", [HVC3, "smccc"])
def test_round_trip_counts(conv: str) -> None:
    result = _harness(conv).run(0)
    assert result.traps == 1 and not result.violations
    assert result.instructions == PLANS[conv].budget.lower_bound


def test_bare_runs_make_the_same_switch_but_check_nothing() -> None:
    bare = _harness("hvc3", checks=False).run(0)
    assert bare.traps == 1 and bare.violations == () and bare.instructions == 0  # nothing counted


def test_an_error_inside_the_hook_is_raised_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    harness = _harness("smccc")

    def broken(*_: object) -> None:
        raise RuntimeError("bug in a check")

    monkeypatch.setattr(harness, "_on_instruction", broken)
    with pytest.raises(RuntimeError, match="bug in a check"):
        harness.run(0)


def test_memory_forms_outside_the_static_model_use_memory_hooks() -> None:
    text = "stp x29, x30, [sp, #-16]!\nmov x29, sp\nldxr x9, [x0]\nmov x2, x0\nhvc #0\nldp x29, x30, [sp], #16\nret\n"
    harness = Harness(PLANS["smccc"], assemble(text), "x.S")
    assert not harness.static_memory
    result = harness.run(0)
    assert {v.property for v in result.violations} == {"P1"}  # w0/x1 not set; the ldxr read is allowed
