"""The lowering: ABI decisions and the instruction budget, checked against the spec."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import DATA, FIRST, SPEC, edited
from tests.support.families import as_family
from vtlgen.lower.convention import LoweringError, lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import SpecError, load, load_text


def _plans(text: str | None = None, spec: Path = SPEC) -> dict[str, Plan]:
    loaded = load(spec) if text is None else load_text(text, "spec/x.yaml")
    return {p.convention_id: p for p in lower(loaded.spec, "spec/x.yaml")}


@pytest.fixture
def first_text() -> str:
    """ABI 1.0.0 (Q in q[n], bound 85): the register-bank machinery's tests edit this one."""
    return FIRST.read_text()


def _operands(plan: Plan) -> list[str]:
    return [f"{i.mnemonic} {i.literal}" for i in plan.instructions]


def test_hvc3_moves_exactly_the_shared_registers() -> None:
    plan = _plans(spec=FIRST)["hvc3"]
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


# Linux's SVE signal frame (arch/arm64/include/uapi/asm/sigcontext.h), in units of vq = VL / 16:
# z[n] at 16 * n, p[n] at 512 + 2 * n, ffr at 544 bytes per vq after the extended context's start.
Z_AT, P_AT, FFR_AT = 16, 512, 544
VL_START = 1024  # after the 1024 bytes struct mshv_vtl_run reserves (spec/hyperv_vtl.yaml)


def _mul_vl(literal: str) -> tuple[str, str, int]:
    """`z3, [x1, #-2, mul vl]` -> ("z3", "x1", -2); `z3, [x1]` -> ("z3", "x1", 0)."""
    match = re.fullmatch(r"(\w+), \[(\w+)(?:, #(-?\d+), mul vl)?\]", literal)
    assert match, literal
    return match[1], match[2], int(match[3] or 0)


def _vector_block(plan: Plan, title: str) -> dict[str, int]:
    """A vector block's transfers as register -> byte offset per vq from the extended context
    (FFR, moved through P0 beside WRFFR/RDFFR, as "ffr"), checking its base on the way."""
    (block,) = [b for b in plan.blocks if b.title == title]
    ops = [(i.mnemonic, i.literal) for i in block.instructions]
    (add, source), (addvl, k) = ops[0], ops[1]
    assert add == "add" and addvl == "addvl"
    pointer = re.fullmatch(r"(x\d+), (x\d+), #(\d+)", source)
    assert pointer, source
    base, ctx, start = pointer.groups()
    # ctx is in x0 before the trap and in the carrier x30 after it
    assert ctx == ("x0" if title.startswith("load") else "x30") and int(start) == VL_START
    scaled = re.fullmatch(rf"{base}, {base}, #(-?\d+)", k)
    assert scaled, k
    steps = int(scaled[1])
    out: dict[str, int] = {}
    transfers = [(m, lit) for m, lit in ops[2:] if m in ("ldr", "str")]
    ffr_moves = [m for m, _ in ops[2:] if m in ("wrffr", "rdffr")]
    assert ffr_moves == (["wrffr"] if title.startswith("load") else ["rdffr"])
    for index, (_, literal) in enumerate(transfers):
        register, used, immediate = _mul_vl(literal)
        assert used == base
        if register.startswith("z"):  # imm * VL = imm * 16 * vq
            out[register] = 16 * (steps + immediate)
        else:  # imm * VL / 8 = imm * 2 * vq
            position = 16 * steps + 2 * immediate
            last = 0 if title.startswith("load") else len(transfers) - 1  # FFR's P0 comes first / last
            out["ffr" if index == last else register] = position
    return out


def test_hvc3_moves_z_p_and_ffr_to_and_from_their_linux_layout_homes() -> None:
    plan = _plans()["hvc3"]
    # The fixed part: only the GPRs now (Q lives in z[n]; q[] is kept for layout, unused).
    loaded = {
        r
        for i in plan.instructions
        if i.mnemonic in ("ldp", "ldr") and "[x30" in i.literal
        for r in i.literal.split("[")[0].replace(",", " ").split()
    }
    assert loaded == {f"x{n}" for n in range(18)} | {f"x{n}" for n in range(19, 29)}
    assert not any(i.literal.startswith(("q", "d")) and "[x30" in i.literal for i in plan.instructions)
    homes = {f"z{n}": Z_AT * n for n in range(32)} | {f"p{n}": P_AT + 2 * n for n in range(16)} | {"ffr": FFR_AT}
    assert _vector_block(plan, "load VTL0 vector state") == homes
    assert _vector_block(plan, "store VTL0 vector state") == homes
    assert plan.model.preserved == ("x18", "x29", "x30", "sp")


def test_hvc3_vector_blocks_sit_where_their_base_register_is_free() -> None:
    # Before the trap the vector loads run while x0 still holds ctx and before "keep ctx" and
    # the GPR loads fill x1; after it, once "store VTL0 state" has saved x1, and before the
    # callee-saved registers come back.
    titles = [b.title for b in _plans()["hvc3"].blocks]
    assert titles == [
        "entry",
        "save VTL2 state",
        "load VTL0 vector state",
        "keep ctx",
        "load VTL0 state",
        "switch",
        "store VTL0 state",
        "store VTL0 vector state",
        "restore VTL2 state",
        "exit",
    ]


def test_hvc3_saves_d8_d15_because_the_z_loads_replace_them() -> None:
    # In 2.0.0 no Q/D register is loaded from q[]; d8-d15 are the low 64 bits of z8-z15
    # (aapcs64), which the vector block loads, so they are still saved and restored.
    plan = _plans()["hvc3"]
    ops = _operands(plan)
    assert {f"ldr z{n}" for n in range(8, 16)} <= {op.split(",")[0] for op in ops}
    save = [op for op in ops if op.startswith("stp d") and "[sp" in op]
    restore = [op for op in ops if op.startswith("ldp d") and "[sp" in op]
    assert [op.split(", [")[0] for op in save] == ["stp d8, d9", "stp d10, d11", "stp d12, d13", "stp d14, d15"]
    assert [op.split(", [")[0] for op in restore] == ["ldp d8, d9", "ldp d10, d11", "ldp d12, d13", "ldp d14, d15"]
    assert ops.index(save[-1]) < ops.index("ldr z8, [x1, #5, mul vl]") and ops.index(restore[0]) > ops.index("hvc #3")


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
    plan = _plans(spec=FIRST)["hvc3"]
    ops = _operands(plan)
    # x30 is private per VTL (tlfs-vsm) and the entry x30 is in the frame record: one move,
    # no spill of ctx to the frame, no VTL0 value parked.
    assert ops.count("mov x30, x0") == 1
    assert [s.what for s in plan.frame.slots if s.what in ("context pointer", "stash")] == []
    assert plan.budget.lower_bound == 85 == _count(plan)
    carry = [t for t in plan.budget.terms if "carry ctx" in t.what]
    assert [t.count for t in carry] == [1]


def test_hvc3_2_0_0_meets_its_bound_exactly() -> None:
    plan = _plans()["hvc3"]
    ops = _operands(plan)
    assert ops.count("mov x30, x0") == 1
    assert [s.what for s in plan.frame.slots if s.what in ("context pointer", "stash")] == []
    gpr_pairs = 9 + 5  # x0-x17, x19-x28 in pairs
    callee_saved = 2 * (5 + 4)  # x19-x28 and d8-d15, saved and restored in pairs
    vector = 32 + 16 + 1 + 1 + 1 + 1  # Z, P, FFR; wrffr or rdffr; the base's add and addvl
    bound = 1 + 4 + callee_saved + 1 + 2 * gpr_pairs + 2 * vector + 1  # bti, frame, carrier, trap
    assert bound == 157 == plan.budget.lower_bound == _count(plan)
    assert [t.count for t in plan.budget.terms if "Z, P and FFR" in t.what] == [2 * vector]
    # 1.0.0's 85 less its 16 Q pairs each way, plus the vector blocks
    assert _plans(spec=FIRST)["hvc3"].budget.lower_bound - 2 * 16 + 2 * vector == bound


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


def test_budget_follows_the_spec(first_text: str) -> None:
    # Two fewer shared vector registers -> one LDP and one STP fewer.
    text = edited(
        first_text, "  q0-q31:\n    class: shared\n    slot: q[0]\n", "  q0-q29:\n    class: shared\n    slot: q[0]\n"
    )
    text = edited(text, "  z_upper:\n", "  q30-q31:\n    class: clobbered\n    saved_by: caller\n  z_upper:\n")
    plan = _plans(text)["hvc3"]
    assert plan.budget.lower_bound == 83 == _count(plan)


def test_unpaired_slots_use_single_transfers(first_text: str) -> None:
    text = edited(
        first_text,
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


def test_a_kept_x0_carries_ctx_itself(first_text: str) -> None:
    text = edited(first_text, X0_X17, "  x0:\n    class: private\n  x1-x17:\n    class: shared\n    slot: x[1]\n")
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


def test_a_context_beyond_pair_reach_biases_the_carrier(first_text: str) -> None:
    text = edited(first_text, "    - {name: x, type: u64, count: 31, offset: 0}\n", "")
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


def test_shared_sp_never_reaches_lowering(spec_text: str) -> None:
    """No load or store moves SP, so the spec's checks refuse it, located, before lowering."""
    text = edited(spec_text, "  sp:\n    class: private\n", "  sp:\n    class: shared\n    slot: rsvd\n")
    with pytest.raises(SpecError, match=r"spec/x\.yaml:\d+:\d+: registers\.sp\.class: sp cannot be shared"):
        load_text(text, "spec/x.yaml")


def test_lowering_is_deterministic() -> None:
    assert _plans() == _plans()


LEAF = ("    transport: memory\n", "    transport: memory\n    stub: {frame_record: false}\n")


def test_a_leaf_stub_pushes_no_frame_record_and_meets_its_leaf_bound(first_text: str) -> None:
    framed = lower(load_text(first_text, "x.yaml").spec, "x")[1]
    plan = lower(load_text(edited(first_text, *LEAF), "x.yaml").spec, "x")[1]
    assert plan.convention_id == framed.convention_id == "smccc"
    ops = _operands(plan)
    assert not any("x29" in op or "sp" in op.split() for op in ops) and ops[-1].strip() == "ret"
    assert plan.frame.size == 0 and plan.frame.slots == ()
    # The leaf drops the push, the `mov x29, sp` and the pop; the bound counts exactly that.
    assert plan.budget.lower_bound == _count(plan) == framed.budget.lower_bound - 3 == _count(framed) - 3


def test_a_leaf_is_refused_where_the_stub_needs_a_frame(first_text: str) -> None:
    text = edited(
        first_text, "    transport: registers\n", "    transport: registers\n    stub: {frame_record: false}\n"
    )
    with pytest.raises(LoweringError) as caught:
        lower(load_text(text, "spec/x.yaml").spec, "x")
    assert "save x19" in str(caught.value) and "x30 to carry ctx" in str(caught.value)
    assert caught.value.path == ("conventions", 0, "stub", "frame_record")


def test_a_leaf_is_refused_when_the_trap_may_change_x30(first_text: str) -> None:
    text = edited(first_text, *LEAF)
    text = edited(text, "preserved: [x18-x30, sp,", "preserved: [x18-x29, sp,")
    clobbered_x30 = "  x29:\n    class: private\n  x30:\n    class: clobbered\n    saved_by: caller\n"
    text = edited(text, "  x29-x30:\n    class: private\n", clobbered_x30)
    with pytest.raises(LoweringError) as caught:
        lower(load_text(text, "spec/x.yaml").spec, "x")
    assert "returns through x30" in str(caught.value)
    assert caught.value.path == ("conventions", 1, "stub", "frame_record")


@pytest.mark.parametrize(
    ("family", "imm16", "x0", "words"),
    [
        ("xen", 0xEA1, "{register: x16, value: 0x22}", "Xen"),
        ("kvm-hyp-stub", 0, "{register: x0, value: 2}", "EL2 stub"),
    ],
)
def test_the_call_is_described_in_its_family_words(
    spec_text: str, family: str, imm16: int, x0: str, words: str
) -> None:
    plan = lower(load_text(as_family(spec_text, family, imm16, x0), "spec/x.yaml").spec, "x")[1]
    blocks = {b.title: b for b in plan.blocks}
    # The macro names come from the spec's own ids; the prose is the lowering's, per family.
    told = blocks["arguments"].why + " " + blocks["switch"].instructions[0].comment
    assert words in told and "SMCCC" not in told and "VTL" not in told, told
