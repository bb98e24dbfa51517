"""ABI changes between spec revisions, and the version bump they need."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import DATA, SPEC, edited, invoke
from vtlgen.spec.diff import actual_bump, bump_ok, diff, required_bump
from vtlgen.spec.loader import load, load_text
from vtlgen.spec.schema import Spec

ONE_ZERO = DATA / "hyperv_vtl_1.0.0.yaml"
SVE_1_1 = DATA / "hyperv_vtl_sve.yaml"


def _spec(text: str) -> Spec:
    return load_text(text, "spec/x.yaml").spec


def test_no_changes(spec_text: str) -> None:
    assert diff(_spec(spec_text), _spec(spec_text)) == []
    notes_only = edited(
        spec_text, "    note: the low 128 bits of Z0-Z31, in the first 16 bytes of z[n]\n", "    note: reworded\n"
    )
    assert diff(_spec(spec_text), _spec(notes_only)) == []  # prose is not ABI
    assert required_bump([]) == "none"


@pytest.mark.parametrize(
    ("old", "new", "kind", "what"),
    [
        (
            "{name: q, type: u128, count: 32, offset: 256}",
            "{name: q, type: u128, count: 32, offset: 272}",
            "breaking",
            "context.q.offset",
        ),
        (
            "  x18:\n    class: private\n",
            "  x18:\n    class: clobbered\n    saved_by: caller\n",
            "breaking",
            "x18 class",
        ),
        (
            "  svcr.sm:\n    class: private\n",
            "  svcr.sm:\n    class: clobbered\n    saved_by: caller\n",
            "breaking",
            "svcr.sm class",
        ),
        ("symbol: __mshv_vtl_return_call_smccc", "symbol: mshv_vtl_return_smccc", "breaking", "smccc symbol"),
        ("conduit: {instruction: hvc, imm16: 3}", "conduit: {instruction: hvc, imm16: 2}", "breaking", "hvc3 conduit"),
        ("number: 1\n", "number: 2\n", "breaking", "smccc function ID"),
        ("  max_size: 1024\n", "", "compatible", "context.max_size"),  # no limit; more room collides with vl_scaled
        ("max_size: 1024", "max_size: 900", "breaking", "context.max_size"),
        ("results: [x0]", "results: [x0, x1]", "compatible", "smccc result x1"),
        ("slot: x[19]", "slot: x[20]", "breaking", "x19-x28 slot"),
        (  # the prototype gains a parameter: callers are built against the old one
            "{register: x2, value: context, sources: [smccc]}",
            "{register: x2, value: context, sources: [smccc]}\n      - {register: x3, value: pass-through, name: F}",
            "breaking",
            "smccc arguments",
        ),
    ],
)
def test_changes_are_classified(spec_text: str, old: str, new: str, kind: str, what: str) -> None:
    changed = edited(spec_text, old, new).replace("      value: 0x46000001\n", "")
    changes = diff(_spec(spec_text), _spec(changed))
    assert any(c.kind == kind and c.what == what for c in changes), changes
    if what == "x19-x28 slot":
        (change,) = changes
        assert (change.old, change.new) == ("x[19..28]", "x[20..29]")


def test_field_added_in_unused_space_is_compatible(spec_text: str) -> None:
    grown = edited(
        spec_text,
        "    - {name: q, type: u128, count: 32, offset: 256}\n",
        "    - {name: q, type: u128, count: 32, offset: 256}\n    - {name: fpsr, type: u64, offset: 768}\n",
    )
    changes = diff(_spec(spec_text), _spec(grown))
    kinds = {c.what: c.kind for c in changes}
    assert kinds == {"context.fpsr": "compatible", "context size": "breaking"}  # 768 -> 784 bytes


def test_conventions_added_and_removed(spec_text: str) -> None:
    old, posted = load(SPEC).spec, load(DATA / "hyperv_vtl_posted.yaml").spec
    changes = {c.what: c.kind for c in diff(posted, old)}
    assert changes["convention posted"] == "breaking"
    assert changes["convention smccc"] == "compatible"
    assert changes["x29-x30 class"] == "breaking"


@pytest.mark.parametrize(
    ("old", "new", "bump"),
    [("1.0.0", "2.0.0", "major"), ("1.0.0", "1.1.0", "minor"), ("1.0.0", "1.0.1", "patch"), ("1.2.0", "1.2.0", "none"),
     ("2.0.0", "1.9.9", "downgrade"), ("1.9.0", "1.10.0", "minor")],
)  # fmt: skip
def test_actual_bump(old: str, new: str, bump: str) -> None:
    assert actual_bump(old, new) == bump


def test_bump_rules() -> None:
    assert bump_ok("major", "major") and not bump_ok("major", "minor")
    assert bump_ok("minor", "major") and bump_ok("minor", "minor") and not bump_ok("minor", "patch")
    assert bump_ok("none", "none") and not bump_ok("none", "downgrade")


def test_sve_revision_is_a_compatible_minor_bump() -> None:
    old, new = load(ONE_ZERO).spec, load(SVE_1_1).spec
    changes = diff(old, new)
    assert {c.what for c in changes} == {"ZCR_EL1", "SMCR_EL1", "TPIDR2_EL0"}
    assert required_bump(changes) == "minor" and bump_ok("minor", actual_bump(old.abi_version, new.abi_version))


# --- 2.0.0: VTL0's Z, P and FFR in the extended context ------------------------------------

# What 1.1.0 -> 2.0.0 changes; 1.0.0 -> 2.0.0 also classifies the three SVE/SME control registers.
SVE_AWARE = {
    ("breaking", "context.vl_scaled"),  # the switch reads and writes past the old end, at VL
    ("breaking", "q0-q31 slot"),  # q[n] -> the low 16 bytes of z[n]
    ("breaking", "z_upper class"),  # clobbered -> shared
    ("breaking", "p0-p15, ffr class"),  # private -> shared
    ("compatible", "svcr.sm, svcr.za, za, zt0 class"),  # clobbered -> private: a new guarantee
    ("compatible", "smccc preserves z_upper, p0-p15, ffr"),  # SMCCC v1.2+ without the SVE hint
    ("breaking", "entry requirement svcr.sm"),  # callers must now leave streaming mode
}
CONTROL_REGISTERS = {("compatible", "ZCR_EL1"), ("compatible", "SMCR_EL1"), ("compatible", "TPIDR2_EL0")}


def test_sve_aware_revision_needs_the_major_bump_it_has() -> None:
    old, new = load(ONE_ZERO).spec, load(SPEC).spec
    changes = diff(old, new)
    assert {(c.kind, c.what) for c in changes} == SVE_AWARE | CONTROL_REGISTERS
    assert len(changes) == len(SVE_AWARE | CONTROL_REGISTERS)  # each change once
    by_what = {c.what: c for c in changes}
    assert (by_what["q0-q31 slot"].old, by_what["q0-q31 slot"].new) == ("q[0..31]", "z[0..31]")
    assert by_what["q0-q31 slot"].why == "the context slot moves, from the fixed struct to the extended context"
    assert (by_what["z_upper class"].old, by_what["z_upper class"].new) == ("clobbered", "shared")
    assert (by_what["entry requirement svcr.sm"].old, by_what["entry requirement svcr.sm"].new) == ("-", "0")
    assert required_bump(changes) == "major" and actual_bump(old.abi_version, new.abi_version) == "major"
    result = invoke("diff", str(ONE_ZERO), str(SPEC))
    assert result.exit_code == 0, result.output
    assert "breaking   q0-q31 slot: q[0..31] -> z[0..31]" in result.output
    assert result.output.rstrip().endswith("the changes need a major bump: ok")


def test_sve_aware_revision_as_a_minor_bump_is_refused(tmp_path: Path) -> None:
    minor = tmp_path / "hyperv_vtl.yaml"
    minor.write_text(edited(SPEC.read_text(), "abi_version: 2.0.0", "abi_version: 1.2.0"))
    result = invoke("diff", str(ONE_ZERO), str(minor))
    assert result.exit_code == 1, result.output
    assert "ABI 1.0.0 -> 1.2.0: minor bump; the changes need a major bump: NOT OK" in result.output


def test_sve_fixture_to_sve_aware_revision() -> None:
    """1.1.0 already classified ZCR_EL1, SMCR_EL1 and TPIDR2_EL0 (the same way): the rest is 2.0.0's."""
    changes = diff(load(SVE_1_1).spec, load(SPEC).spec)
    assert {(c.kind, c.what) for c in changes} == SVE_AWARE
    assert required_bump(changes) == "major" and bump_ok("major", actual_bump("1.1.0", "2.0.0"))


VL_START = "    offset: 1024\n    max_vl: 256\n"
P_AND_FFR = "      - {name: p, type: preg, count: 16}\n      - {name: ffr, type: preg}\n"
SPARE = "      - {name: spare, type: preg}\n"


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        (
            [(VL_START, "    offset: 1040\n    max_vl: 256\n")],
            {("breaking", "context.vl_scaled.offset")},
        ),
        (
            [(VL_START, "    offset: 1024\n    max_vl: 128\n")],
            {("breaking", "context.vl_scaled.max_vl")},
        ),
        (
            [(P_AND_FFR, "      - {name: ffr, type: preg}\n      - {name: p, type: preg, count: 16}\n")],
            {
                ("breaking", "context.vl_scaled order"),
                ("breaking", "context.vl_scaled.p offset"),
                ("breaking", "context.vl_scaled.ffr offset"),
            },
        ),
        (
            [("{name: p, type: preg, count: 16}", "{name: p, type: preg, count: 17}")],
            {("breaking", "context.vl_scaled.p.count"), ("breaking", "context.vl_scaled.ffr offset")},
        ),
        ([(P_AND_FFR, P_AND_FFR + SPARE)], {("compatible", "context.vl_scaled.spare")}),  # nothing lives there
        (
            [(P_AND_FFR, P_AND_FFR + SPARE), ("    slot: ffr\n", "    slot: spare\n")],
            {("breaking", "context.vl_scaled.spare"), ("breaking", "ffr slot")},
        ),
        (
            [("  - state: svcr.sm\n    value: 0\n", "  - state: svcr.sm\n    value: 1\n")],
            {("breaking", "entry requirement svcr.sm")},
        ),
    ],
    ids=["start", "max_vl", "reordered", "resized", "added, unused", "added, used", "requirement changed"],
)
def test_extended_context_changes_are_classified(
    spec_text: str, edits: list[tuple[str, str]], expected: set[tuple[str, str]]
) -> None:
    changed = spec_text
    for old, new in edits:
        changed = edited(changed, old, new)
    assert {(c.kind, c.what) for c in diff(_spec(spec_text), _spec(changed))} == expected


def test_vl_fields_removed_and_retyped(spec_text: str) -> None:
    with_spare = _spec(edited(spec_text, P_AND_FFR, P_AND_FFR + SPARE))
    retyped = _spec(edited(spec_text, P_AND_FFR, P_AND_FFR + "      - {name: spare, type: zreg}\n"))
    assert [(c.kind, c.what, c.old, c.new) for c in diff(with_spare, retyped)] == [
        ("breaking", "context.vl_scaled.spare.type", "preg", "zreg")
    ]
    assert [(c.kind, c.what) for c in diff(with_spare, _spec(spec_text))] == [("breaking", "context.vl_scaled.spare")]


def test_extended_context_and_requirements_removed() -> None:
    changes = {(c.kind, c.what) for c in diff(load(SPEC).spec, load(ONE_ZERO).spec)}
    assert ("breaking", "context.vl_scaled") in changes
    assert ("compatible", "entry requirement svcr.sm") in changes  # callers need no longer meet it
    assert ("breaking", "q0-q31 slot") in changes
    assert ("breaking", "svcr.sm, svcr.za, za, zt0 class") in changes  # private -> clobbered: a guarantee lost


def test_extended_context_that_nothing_uses_yet_is_compatible() -> None:
    block = (
        "  vl_scaled:\n    offset: 1024\n    sources: [arm-arm]\n    fields:\n"
        "      - {name: z, type: zreg, count: 32}\n"
    )
    q_field = "    - {name: q, type: u128, count: 32, offset: 256}\n"
    grown = edited(ONE_ZERO.read_text(), q_field, q_field + block)
    changes = diff(load(ONE_ZERO).spec, _spec(grown))
    assert [(c.kind, c.what) for c in changes] == [("compatible", "context.vl_scaled")]


def test_never_written_is_the_word_for_private_and_changes_nothing(spec_text: str) -> None:
    renamed = spec_text.replace("class: private\n", "class: never-written\n")
    assert renamed != spec_text
    assert diff(load_text(spec_text, "a.yaml").spec, load_text(renamed, "b.yaml").spec) == []
