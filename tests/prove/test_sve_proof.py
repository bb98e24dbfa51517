"""SVE/SME in the proof (vtlgen/prove/sve_semantics.py): the default ABI 2.0.0 stubs are PROVED
at every architectural VL, and broken SVE stubs fail with their property at exactly the VLs
where they break. The broken stubs are generated from the shipped stub by mutation classes
(a VL-dependent scale replaced by a constant or by the other scale, a carrier write dropped,
a fast path taken at one VL, a power-of-two-only vq), so siblings of each named case are found."""

from __future__ import annotations

import pytest

from tests.support import ROOT
from vtlgen.isa.vector_length import ARCHITECTURAL_VECTOR_LENGTHS
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.prove.run import PROVED, VIOLATED, proof_lengths, prove
from vtlgen.spec.loader import load

DEFAULT = ROOT / "spec" / "hyperv_vtl.yaml"
PLANS: dict[str, Plan] = {p.convention_id: p for p in lower(load(DEFAULT).spec, DEFAULT.name)}
POWERS = tuple(vl for vl in ARCHITECTURAL_VECTOR_LENGTHS if vl & (vl - 1) == 0)


def shipped(conv: str) -> str:
    return (ROOT / "generated" / "hyperv_vtl" / conv / f"hyperv_vtl_{conv}.S").read_text()


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_default_stubs_are_proved_at_every_vector_length(conv: str) -> None:
    report = prove(PLANS[conv], shipped(conv), f"{conv}.S").report
    assert report.verdict == PROVED, report.summary()
    assert report.vector_lengths == list(ARCHITECTURAL_VECTOR_LENGTHS)
    assert proof_lengths(PLANS[conv], b"") == ARCHITECTURAL_VECTOR_LENGTHS


HVC3_ADDVL = "addvl  x1, x1, #3"
FFR_LOAD = "\tldr    p0, [x1, #248, mul vl]"


def _fast_path(vl: int) -> str:
    """Skips loading VTL0's FFR when the VL is `vl` (FFR then gets VTL2's p0): right at every other length."""
    return f"\trdvl   x9, #1\n\tcmp    x9, #{vl}\n\tb.eq   9f\n{FFR_LOAD}\n9:"


# (name, edit, the property expected, the VLs at which it must fail)
BROKEN: list[tuple[str, tuple[str, str], str, tuple[int, ...]]] = [
    ("ffr_not_written", ("\twrffr  p0.b", "\tnop"), "P2", ARCHITECTURAL_VECTOR_LENGTHS),
    ("fixed_16_byte_stride", (HVC3_ADDVL, "add    x1, x1, #48"), "P1", ARCHITECTURAL_VECTOR_LENGTHS[1:]),
    ("addpl_for_addvl", (HVC3_ADDVL, "addpl  x1, x1, #3"), "P1", ARCHITECTURAL_VECTOR_LENGTHS),
    (
        "power_of_two_vq",  # 3 << log2(VL): 3 * VL only when VL is a power of two
        (
            HVC3_ADDVL,
            "rdvl   x9, #1\n\tclz    x10, x9\n\tmov    x11, #63\n\tsub    x10, x11, x10\n"
            "\tmov    x12, #3\n\tlsl    x9, x12, x10\n\tadd    x1, x1, x9",
        ),
        "P1",
        tuple(vl for vl in ARCHITECTURAL_VECTOR_LENGTHS if vl not in POWERS),
    ),
    ("za_zeroed", ("\thvc    #3", "\thvc    #3\n\tzero   {za}"), "P5", ARCHITECTURAL_VECTOR_LENGTHS),
    *((f"fast_path_at_vl{vl}", (FFR_LOAD, _fast_path(vl)), "P2", (vl,)) for vl in (32, 48, 256)),
]


def _lengths_named(message: str) -> tuple[int, ...]:
    """The VLs a proof violation names: `(VL 16, 48)` or `(VL every VL)`."""
    inside = message[message.rindex("(VL ") + 4 : message.rindex(")")]
    if inside == "every VL":
        return ARCHITECTURAL_VECTOR_LENGTHS
    return tuple(int(part) for part in inside.split(", "))


@pytest.mark.parametrize("name,change,prop,lengths", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_sve_stub_fails_at_exactly_its_vector_lengths(
    name: str, change: tuple[str, str], prop: str, lengths: tuple[int, ...]
) -> None:
    text = edit(shipped("hvc3"), *change)
    report = prove(PLANS["hvc3"], text, f"{name}.S").report
    assert report.verdict == VIOLATED, report.summary()
    named = [v for v in report.violations if v.property == prop]
    assert named, report.summary()
    assert _lengths_named(named[0].message) == lengths, named[0].message
    for violation in report.violations:  # no VL outside the broken ones is blamed
        assert set(_lengths_named(violation.message)) <= set(lengths), violation.message


def test_smstop_sm_guard_and_rdvl_arithmetic_are_proved() -> None:
    """Correct variants: an `smstop sm` guard (SM is 0 at entry: no change), `rdvl` arithmetic
    for the extended context's end, and `ptrue` of a scratch predicate later reloaded."""
    text = edit(shipped("hvc3"), HVC3_ADDVL, "smstop sm\n\trdvl   x9, #3\n\tadd    x1, x1, x9")
    text = edit(text, "\tldr    p1, [x1, #233, mul vl]", "\tptrue  p1.d\n\tldr    p1, [x1, #233, mul vl]")
    report = prove(PLANS["hvc3"], text, "guarded.S").report
    assert report.verdict == PROVED, report.summary()


def test_a_form_without_semantics_is_unproven_naming_the_families() -> None:
    text = edit(shipped("hvc3"), "\thvc    #3", "\tldr    za[w12, 0], [x1]\n\thvc    #3")
    report = prove(PLANS["hvc3"], text, "za.S").report
    assert report.verdict in ("UNPROVEN", VIOLATED), report.summary()
    assert report.verdict == VIOLATED or any("ZA slices" in gap for gap in report.unproven)
