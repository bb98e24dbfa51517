"""The review rules: the default spec lints clean, the convention as posted is flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import DATA, SPEC, edited
from tests.support.families import as_family
from vtlgen.spec.lint import LintFinding, counts, lint
from vtlgen.spec.loader import LoadedSpec, SpecError, load, load_text
from vtlgen.spec.rules import RULES

POSTED = DATA / "hyperv_vtl_posted.yaml"


def _rules(findings: list[LintFinding], waived: bool = False) -> set[str]:
    return {f.rule for f in findings if bool(f.waived) == waived}


def test_default_spec_is_clean_except_the_waived_hvc3_conduit() -> None:
    findings = lint(load(SPEC).spec)
    assert _rules(findings) == set()
    (waived,) = [f for f in findings if f.waived]
    assert (waived.rule, waived.convention) == ("conduit-not-smccc", "hvc3")
    assert "arm64-review, point 1" in (waived.waived or "")
    assert not [f for f in findings if f.convention == "smccc"]
    assert counts(findings, "warning") == (0, 1)


def test_posted_convention_reports_every_maintainer_objection() -> None:
    findings = lint(load(POSTED).spec)
    messages = {(f.rule, f.message.split(" ")[0]) for f in findings}
    assert ("conduit-not-smccc", "`hvc") in messages  # point 1: not SMCCC
    assert ("kernel-register-not-preserved", "the") in messages and any(
        "x29" in f.message for f in findings if f.rule == "kernel-register-not-preserved"
    )  # point 2: x29 loaded
    assert {"svcr.sm", "svcr.za", "za", "zt0"} <= {
        f.message.split(" ")[0] for f in findings if f.rule == "unspecified-state"
    }  # point 3: SME unspecified
    assert any(f.rule == "clobbered-without-owner" and "z_upper" in f.message for f in findings)  # point 3: SVE
    assert {"PMBPTR_EL1", "PMBLIMITR_EL1"} <= {
        f.message.split(" ")[0] for f in findings if f.rule == "steering-register-shared"
    }  # point 4: shared SPE buffer registers
    assert "context-no-size-limit" in _rules(findings)  # point 5: no size check
    assert counts(findings, "error")[0] >= 10


def test_every_finding_has_a_rule_with_reason_and_source() -> None:
    for finding in lint(load(POSTED).spec):
        rule = RULES[finding.rule]
        assert rule.reason and rule.source and rule.severity in ("error", "warning")


NO_VALUE = ("      value: 0x46000001\n", "")  # the cross-check would reject an edited function ID


@pytest.mark.parametrize(
    ("edits", "rule"),
    [
        ([("number: 1\n", "number: 1\n      reserved: 3\n"), NO_VALUE], "function-id-reserved-bits"),
        ([("owner: vendor-hyp", "owner: sip"), NO_VALUE], "function-id-owner"),
        ([("owner: vendor-hyp", "owner: 50"), NO_VALUE], "function-id-owner"),
        ([("number: 1\n", "number: 1\n      sve_hint: true\n"), NO_VALUE], "smccc-sve-hint"),
        ([("results: [x0]", "results: [x0, x18]")], "smccc-results-outside-x0-x17"),
        (
            [("{register: x2, value: context, sources: [smccc]}", "{register: x19, value: context}")],
            "smccc-arguments-outside-x0-x17",
        ),
        ([("preserved: [x18-x30, sp,", "preserved: [x17-x30, sp,")], "smccc-relies-on-unpreserved"),
        ([("max_size: 1024", "max_size: 512")], "context-too-large"),
        ([("  zt0:\n    class: private\n", "  zt0:\n    class: unspecified\n")], "unspecified-state"),
        ([("  za:\n    class: private\n", "  za:\n    class: clobbered\n")], "clobbered-without-owner"),
        (
            [("  x18:\n    class: private\n", "  x18:\n    class: clobbered\n    saved_by: caller\n")],
            "platform-register-clobbered",
        ),
        ([("  PMBPTR_EL1:\n    class: private\n", "  PMBPTR_EL1:\n    class: shared\n")], "steering-register-shared"),
        ([("conduit: {instruction: hvc, imm16: 0}", "conduit: {instruction: smc, imm16: 1}")], "conduit-not-smccc"),
        ([("    convention: hvc3\n", "    convention: smccc\n")], "waiver-unused"),
    ],
)
def test_each_rule_fires_on_its_edit(spec_text: str, edits: list[tuple[str, str]], rule: str) -> None:
    text = spec_text
    for old, new in edits:
        text = edited(text, old, new)
    findings = lint(load_text(text, "spec/x.yaml").spec)
    assert rule in _rules(findings), [f.rule for f in findings]
    assert RULES[rule].severity in ("error", "warning")


def test_unclassified_steering_register_warns(spec_text: str) -> None:
    entry = (
        "  TRBLIMITR_EL1:\n    class: private\n    writable: true\n    steers_memory_writes: true\n"
        "    sources: [arm-arm, arm64-review]\n    note: TRBE buffer limit and enable; not covered by the TLFS\n"
    )
    text = edited(spec_text, entry, "")
    findings = lint(load_text(text, "spec/x.yaml").spec)
    (warning,) = [f for f in findings if f.rule == "steering-register-unclassified"]
    assert warning.severity == "warning" and "TRBLIMITR_EL1" in warning.message
    assert counts(findings, "error") == (0, 1) and counts(findings, "warning") == (1, 1)


def test_smccc_without_function_id(spec_text: str) -> None:
    text = edited(spec_text, "conduit: {instruction: hvc, imm16: 3}", "conduit: {instruction: hvc, imm16: 0}")
    assert "smccc-function-id-missing" in _rules(lint(load_text(text, "spec/x.yaml").spec))


def test_smc32_with_a_64_bit_argument_is_an_error(spec_text: str) -> None:
    text = edited(spec_text, "      convention: smc64\n", "      convention: smc32\n")
    text = edited(text, "      value: 0x46000001\n", "")
    findings = [f for f in lint(load_text(text, "spec/x.yaml").spec) if f.rule == "smc32-wide-argument"]
    assert [(f.path[-2:], f.convention) for f in findings] == [((2, "value"), "smccc")]  # x2 = the context
    assert findings[0].severity == "error" and "context's 64-bit address" in findings[0].message
    wide = edited(text, "value: 0x12, name:", "value: 0x100000012, name:")
    assert len([f for f in lint(load_text(wide, "spec/x.yaml").spec) if f.rule == "smc32-wide-argument"]) == 2
    # SMC64 carries 64-bit arguments: the default spec has no such finding.
    assert "smc32-wide-argument" not in _rules(lint(load_text(spec_text, "spec/x.yaml").spec))


def test_a_title_cut_by_a_yaml_comment_warns(spec_text: str) -> None:
    quoted = "    title: 'register-bank VTL return, as posted (hvc #3)'\n"
    text = edited(spec_text, quoted, "    title: register-bank VTL return, as posted (hvc #3)\n")
    loaded = load_text(text, "spec/x.yaml")
    assert loaded.spec.conventions[0].title == "register-bank VTL return, as posted (hvc"  # what YAML did
    (finding,) = [f for f in lint(loaded.spec, loaded.tree) if f.rule == "prose-trailing-comment"]
    assert finding.path == ("conventions", 0, "title") and finding.severity == "warning"
    assert "`#3)`" in finding.message
    note = edited(
        spec_text, "    note: the one SPE register the TLFS makes private\n", "    note: kept  # by the TLFS\n"
    )
    noted = load_text(note, "spec/x.yaml")
    assert [f.path for f in lint(noted.spec, noted.tree) if f.rule == "prose-trailing-comment"] == [
        ("system_registers", "PMBSR_EL1", "note")
    ]
    # Comments on their own line, or after other fields, are fine.
    default = load_text(spec_text, "spec/x.yaml")
    assert "prose-trailing-comment" not in _rules(lint(default.spec, default.tree))


def test_waiver_for_an_unknown_rule_is_bad_input(spec_text: str) -> None:
    from vtlgen.spec.loader import SpecError

    with pytest.raises(SpecError) as caught:
        load_text(edited(spec_text, "  - rule: conduit-not-smccc\n", "  - rule: conduit-not-smcc\n"), "spec/x.yaml")
    assert "waivers[0].rule: unknown lint rule" in str(caught.value)


# --- SVE/SME state: a VL-scaled home, and the SMCCC SVE hint ------------------------------

ONE_ZERO = DATA / "hyperv_vtl_1.0.0.yaml"
SVE_1_1 = DATA / "hyperv_vtl_sve.yaml"
HINT = [("number: 1\n", "number: 1\n      sve_hint: true\n"), NO_VALUE]


def _lint_text(text: str) -> tuple[list[LintFinding], LoadedSpec]:
    loaded = load_text(text, "spec/x.yaml")
    return lint(loaded.spec, loaded.tree), loaded


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("  ffr:\n    class: shared\n    slot: ffr\n", "  ffr:\n    class: shared\n    slot: rsvd\n", "ffr"),
        ("    slot: p[0]\n", "    slot: q[0]\n", "p0-p15"),  # the fixed q[] is free in 2.0.0
        ("  za:\n    class: private\n", "  za:\n    class: shared\n    slot: rsvd\n", "za"),
    ],
    ids=["ffr", "p0-p15", "za"],
)
def test_shared_sve_state_in_a_fixed_slot_has_no_home(spec_text: str, old: str, new: str, key: str) -> None:
    findings, loaded = _lint_text(edited(spec_text, old, new))
    (finding,) = [f for f in findings if f.rule == "sve-state-without-home"]
    assert finding.severity == "error" and finding.path == ("registers", key)
    assert "scales with the vector length" in finding.message and "vl_scaled" in finding.message
    line, _ = loaded.locate(finding.path)
    assert loaded.tree["registers"].lc.key(key)[0] + 1 == line  # the register entry itself


def test_shared_z_upper_without_an_extended_context_has_no_home() -> None:
    """1.0.0 with z_upper shared in a fixed slot (there is no `vl_scaled`): the error of review point 3."""
    text = edited(
        ONE_ZERO.read_text(),
        "  z_upper:\n    class: clobbered\n    saved_by: caller\n",
        "  z_upper:\n    class: shared\n    slot: rsvd\n",
    )
    findings, _ = _lint_text(text)
    assert [f.path for f in findings if f.rule == "sve-state-without-home"] == [("registers", "z_upper")]


def test_q_in_a_zreg_field_without_z_upper_is_refused_before_lint(spec_text: str) -> None:
    """Half a Z register in the extended context is a malformed layout (semantics), not a review point."""
    text = edited(
        spec_text,
        "  z_upper:\n    class: shared\n    slot: z[0]\n",
        "  z_upper:\n    class: clobbered\n    saved_by: caller\n",
    )
    with pytest.raises(SpecError, match="z_upper is not shared there"):
        load_text(text, "spec/x.yaml")


@pytest.mark.parametrize("path", [SPEC, ONE_ZERO, SVE_1_1])
def test_no_homeless_or_hinted_sve_state_in_the_shipped_specs(path: Path) -> None:
    rules = _rules(lint(load(path).spec))
    assert not rules & {"sve-state-without-home", "smccc-sve-hint-drops-state", "smccc-relies-on-unpreserved"}


def test_smccc_preserves_sve_state_only_without_the_hint(spec_text: str) -> None:
    # 2.0.0's smccc convention keeps z_upper, p0-p15 and ffr: SMCCC v1.2+ preserves them ...
    assert "smccc-relies-on-unpreserved" not in _rules(lint(load(SPEC).spec))
    # ... unless the function ID sets the v1.3 SVE hint: then the callee need not.
    text = spec_text
    for old, new in HINT:
        text = edited(text, old, new)
    findings, _ = _lint_text(text)
    unpreserved = [f for f in findings if f.rule == "smccc-relies-on-unpreserved"]
    assert [f.path[-1] for f in unpreserved] == [3, 4, 5]  # preserved: [..., z_upper, p0-p15, ffr]
    (dropped,) = [f for f in findings if f.rule == "smccc-sve-hint-drops-state"]
    assert dropped.severity == "warning" and dropped.path == ("conventions", 1, "function_id", "sve_hint")
    assert "shares z_upper, p0-p15, ffr and keeps z_upper, p0-p15, ffr" in dropped.message
    assert "smccc-sve-hint" in _rules(findings)


def test_sve_hint_warns_for_private_sve_state_too() -> None:
    """1.0.0 keeps P0-P15 and FFR per VTL (private): the hint would let the hypervisor drop them."""
    text = ONE_ZERO.read_text()
    for old, new in HINT:
        text = edited(text, old, new)
    (dropped,) = [f for f in _lint_text(text)[0] if f.rule == "smccc-sve-hint-drops-state"]
    assert dropped.message.endswith("but this spec keeps p0-p15, ffr")


def test_sve_hint_without_sve_state_only_gets_the_general_warning() -> None:
    text = ONE_ZERO.read_text()
    clobbered = "    class: clobbered\n    saved_by: caller\n"
    for old, new in [
        *HINT,
        *((f"  {key}:\n    class: private\n", f"  {key}:\n{clobbered}") for key in ("p0-p15", "ffr")),
    ]:
        text = edited(text, old, new)
    rules = _rules(_lint_text(text)[0])
    assert "smccc-sve-hint" in rules and "smccc-sve-hint-drops-state" not in rules


X18_CLASSES = {
    "private": "  x18:\n    class: private\n",
    "clobbered": "  x18:\n    class: clobbered\n    saved_by: caller\n",
    "shared": "  x18:\n    class: shared\n    slot: x[18]\n",
}


@pytest.mark.parametrize("x18", sorted(X18_CLASSES))
def test_x18_out_of_private_is_named_for_shadow_call_stacks(spec_text: str, x18: str) -> None:
    """Clobbered x18 is a stated choice: a warning naming shadow call stacks, not an error;
    shared x18 (loaded from the context) stays the kernel-register error."""
    text = edited(spec_text, X18_CLASSES["private"], X18_CLASSES[x18])
    findings = [f for f in lint(load_text(text, "spec/x.yaml").spec) if "x18" in f.message]
    by_rule = {f.rule: f for f in findings}
    if x18 == "private":
        assert by_rule == {}
    elif x18 == "clobbered":
        assert set(by_rule) == {"platform-register-clobbered"}
        assert by_rule["platform-register-clobbered"].severity == "warning"
        assert "shadow call stack" in by_rule["platform-register-clobbered"].message
        assert by_rule["platform-register-clobbered"].path == ("registers", "x18")
    else:
        assert set(by_rule) == {"kernel-register-not-preserved"}


XEN_NUMBER = "{register: x16, value: 0x22}"  # a hypercall number in x16 (arch/arm64/xen/hypercall.S)
STUB_CALL = "{register: x0, value: 2}"  # HVC_RESET_VECTORS (asm/virt.h)


@pytest.mark.parametrize(
    ("family", "imm16", "x0", "rules"),
    [
        ("xen", 0xEA1, XEN_NUMBER, set()),  # right for Xen, and no SMCCC rule applies
        ("xen", 0, XEN_NUMBER, {"xen-conduit"}),
        ("xen", 0xEA1, "{register: x0, value: 7}", {"xen-conduit"}),  # no number in x16
        ("kvm-hyp-stub", 0, STUB_CALL, set()),
        ("kvm-hyp-stub", 3, STUB_CALL, {"kvm-hyp-stub-conduit"}),
        ("kvm-hyp-stub", 0, "{register: x0, value: 9}", {"kvm-hyp-stub-conduit"}),  # not a stub call
        ("smccc", 0xEA1, XEN_NUMBER, {"conduit-not-smccc"}),  # the default family keeps the SMCCC rules
    ],
)
def test_each_family_has_its_own_conduit_rules(
    spec_text: str, family: str, imm16: int, x0: str, rules: set[str]
) -> None:
    findings = lint(load_text(as_family(spec_text, family, imm16, x0), "spec/x.yaml").spec)
    mine = {f.rule for f in findings if f.convention == "smccc" and not f.waived}
    assert mine == rules, [f.message for f in findings if f.convention == "smccc"]
