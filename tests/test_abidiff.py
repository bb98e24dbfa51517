"""ABI changes between spec revisions, and the version bump they need."""

from __future__ import annotations

import pytest

from tests.conftest import DATA, SPEC, edited
from vtlgen.abidiff import actual_bump, bump_ok, diff, required_bump
from vtlgen.loader import load, load_text
from vtlgen.schema import Spec


def _spec(text: str) -> Spec:
    return load_text(text, "spec/x.yaml").spec


def test_no_changes(spec_text: str) -> None:
    assert diff(_spec(spec_text), _spec(spec_text)) == []
    notes_only = edited(spec_text, "    note: the low 128 bits of Z0-Z31\n", "    note: reworded\n")
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
            "  svcr.sm:\n    class: clobbered\n    saved_by: caller\n",
            "  svcr.sm:\n    class: private\n",
            "compatible",
            "svcr.sm class",
        ),
        ("symbol: __mshv_vtl_return_call_smccc", "symbol: mshv_vtl_return_smccc", "breaking", "smccc symbol"),
        ("conduit: {instruction: hvc, imm16: 3}", "conduit: {instruction: hvc, imm16: 2}", "breaking", "hvc3 conduit"),
        ("number: 1\n", "number: 2\n", "breaking", "smccc function ID"),
        ("max_size: 1024", "max_size: 2048", "compatible", "context.max_size"),
        ("max_size: 1024", "max_size: 900", "breaking", "context.max_size"),
        ("results: [x0]", "results: [x0, x1]", "compatible", "smccc result x1"),
        ("slot: x[19]", "slot: x[20]", "breaking", "x19-x28 slot"),
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
    old, new = load(SPEC).spec, load(DATA / "hyperv_vtl_sve.yaml").spec
    changes = diff(old, new)
    assert {c.what for c in changes} == {"ZCR_EL1", "SMCR_EL1", "TPIDR2_EL0"}
    assert required_bump(changes) == "minor" and bump_ok("minor", actual_bump(old.abi_version, new.abi_version))
