"""The lowering: ABI decisions and the instruction budget, checked against the spec."""

from __future__ import annotations

import pytest

from tests.conftest import DATA, SPEC, edited
from vtlgen.loader import load, load_text
from vtlgen.lowering import LoweringError, lower
from vtlgen.plan import Plan


def _plans(text: str | None = None) -> dict[str, Plan]:
    loaded = load(SPEC) if text is None else load_text(text, "spec/x.yaml")
    return {p.convention_id: p for p in lower(loaded.spec, "spec/x.yaml")}


def _operands(plan: Plan) -> list[str]:
    return [f"{i.mnemonic} {i.literal}" for i in plan.instructions]


def test_hvc3_moves_exactly_the_shared_registers() -> None:
    plan = _plans()["hvc3"]
    loaded = {
        r
        for i in plan.instructions
        if i.mnemonic in ("ldp", "ldr") and "[x30" in i.literal
        for r in i.literal.split("[")[0].replace(",", " ").split()
    }
    shared = {f"x{n}" for n in range(18)} | {f"x{n}" for n in range(19, 29)} | {f"q{n}" for n in range(32)}
    assert loaded == shared
    text = " ".join(_operands(plan))
    assert "x18" not in text  # hypervisor-managed, never touched (tlfs-vsm)
    assert plan.model.preserved == ("x18", "x29", "x30", "sp")


def test_frame_record_is_first_and_last() -> None:
    plan = _plans()["hvc3"]
    ops = _operands(plan)
    assert ops[0].startswith("stp x29, x30, [sp, #-") and ops[1] == "mov x29, sp"
    assert ops[-2].startswith("ldp x29, x30, [sp], #") and ops[-1].strip() == "ret"
    assert sum("x29" in op for op in ops) == 3  # push, mov, pop: nothing else writes x29


def test_hvc3_saves_overlapping_callee_saved() -> None:
    ops = _operands(_plans()["hvc3"])
    for pair in ("x19, x20", "x27, x28", "d8, d9", "d14, d15"):
        assert any(op.startswith(f"stp {pair}, [sp") for op in ops)
        assert any(op.startswith(f"ldp {pair}, [sp") for op in ops)


def _count(plan: Plan) -> int:
    return len(plan.instructions) + (1 if plan.bti else 0)


def test_hvc3_carries_ctx_in_x30_and_meets_its_bound_exactly() -> None:
    plan = _plans()["hvc3"]
    ops = _operands(plan)
    # x30 is private per VTL (tlfs-vsm) and the entry x30 is in the frame record: one move,
    # no spill of ctx to the frame, no VTL0 value parked.
    assert ops.count("mov x30, x0") == 1
    assert [s.what for s in plan.frame.slots if s.what in ("context pointer", "stash")] == []
    assert plan.budget.lower_bound == 85 == _count(plan)
    carry = [t for t in plan.budget.terms if "carry ctx" in t.what]
    assert [t.count for t in carry] == [1]


def test_without_a_private_carrier_ctx_is_spilled_and_the_bound_says_so() -> None:
    loaded = load(DATA / "hyperv_vtl_posted.yaml")
    (plan,) = lower(loaded.spec, "posted.yaml")
    ops = _operands(plan)
    assert any(op.startswith("str x0, [sp, #") for op in ops)  # x30 is shared here: no carrier
    assert {s.what for s in plan.frame.slots} >= {"context pointer", "stash"}
    assert _count(plan) == plan.budget.lower_bound


def test_smccc_arguments() -> None:
    plan = _plans()["smccc"]
    ops = _operands(plan)
    assert "hvc #0" in ops
    assert ops.index("mov x2, x0") < ops.index("movz w0, #0x1")  # ctx read before w0 is written
    assert {a.register: a.value for a in plan.model.arguments} == {"x0": 0x46000001, "x1": 0x12, "x2": None}
    assert not any(i.mnemonic in ("ldp", "ldr", "stp", "str") and "[x0" in i.literal for i in plan.instructions)
    assert set(plan.model.randomized) >= {f"x{n}" for n in range(18)}


def test_budget_follows_the_spec(spec_text: str) -> None:
    # Two fewer shared vector registers -> one LDP and one STP fewer.
    text = edited(
        spec_text, "  q0-q31:\n    class: shared\n    slot: q[0]\n", "  q0-q29:\n    class: shared\n    slot: q[0]\n"
    )
    text = edited(text, "  z_upper:\n", "  q30-q31:\n    class: clobbered\n    saved_by: caller\n  z_upper:\n")
    plan = _plans(text)["hvc3"]
    assert plan.budget.lower_bound == 83 == _count(plan)


def test_unpaired_slots_use_single_transfers(spec_text: str) -> None:
    text = edited(
        spec_text,
        "  x0-x17:\n    class: shared\n    slot: x[0]\n",
        "  x0-x16:\n    class: shared\n    slot: x[0]\n  x17:\n    class: clobbered\n",
    )
    plan = _plans(text)["hvc3"]
    # A run of 17 slots: eight pairs and one single, both ways, and the bound knows it.
    assert "ldr x16, [x30, #128]" in _operands(plan) and "str x16, [x30, #128]" in _operands(plan)
    moves = [t.count for t in plan.budget.terms if t.what.startswith("load shared")]
    assert moves == [9 + 5 + 16]
    assert _count(plan) == plan.budget.lower_bound


X0_X17 = "  x0-x17:\n    class: shared\n    slot: x[0]\n"


def test_a_kept_x0_carries_ctx_itself(spec_text: str) -> None:
    text = edited(spec_text, X0_X17, "  x0:\n    class: private\n  x1-x17:\n    class: shared\n    slot: x[1]\n")
    plan = _plans(text)["hvc3"]
    ops = _operands(plan)
    assert not any(op.startswith("mov x30") for op in ops) and "ldp x1, x2, [x0, #8]" in ops
    assert _count(plan) == plan.budget.lower_bound == 84


def test_a_private_caller_saved_register_carries_ctx_when_x30_is_not_private(spec_text: str) -> None:
    text = edited(
        spec_text,
        X0_X17,
        "  x0-x8:\n    class: shared\n    slot: x[0]\n  x9:\n    class: private\n"
        "  x10-x17:\n    class: shared\n    slot: x[10]\n",
    )
    text = edited(
        text, "  x29-x30:\n    class: private\n", "  x29:\n    class: private\n  x30:\n    class: clobbered\n"
    )
    plan = _plans(text)["hvc3"]
    ops = _operands(plan)
    assert ops.count("mov x9, x0") == 1 and not any("x30, [x" in op or "[x30" in op for op in ops)
    assert _count(plan) == plan.budget.lower_bound


def test_a_context_beyond_pair_reach_biases_the_carrier(spec_text: str) -> None:
    text = edited(spec_text, "    - {name: x, type: u64, count: 31, offset: 0}\n", "")
    text = edited(text, "    - {name: rsvd, type: u64, offset: 248}\n", "")
    text = edited(
        text,
        "    - {name: q, type: u128, count: 32, offset: 256}\n",
        "    - {name: q, type: u128, count: 32, offset: 0}\n    - {name: x, type: u64, count: 31, offset: 512}\n",
    )
    plan = _plans(text)["hvc3"]
    ops = _operands(plan)
    # The lowest base from which LDP reaches x27/x28 at 512 + 216: 728 - 63*8, rounded up to 16.
    assert ops.count("add x30, x0, #224") == 1 and "mov x30, x0" not in ops
    assert not any(op.startswith(("ldr x", "str x")) for op in ops)  # every GPR still pairs
    assert _count(plan) == plan.budget.lower_bound == 85


def test_shared_sp_cannot_be_lowered(spec_text: str) -> None:
    text = edited(spec_text, "  sp:\n    class: private\n", "  sp:\n    class: shared\n    slot: rsvd\n")
    loaded = load_text(text, "spec/x.yaml")
    with pytest.raises(LoweringError):
        lower(loaded.spec, "x")


def test_lowering_is_deterministic() -> None:
    assert _plans() == _plans()
