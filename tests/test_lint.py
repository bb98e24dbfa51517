"""The review rules: the default spec lints clean, the convention as posted is flagged."""

from __future__ import annotations

import pytest

from tests.conftest import DATA, SPEC, edited
from vtlgen.lint import Finding, counts, lint
from vtlgen.loader import load, load_text
from vtlgen.rules import RULES

POSTED = DATA / "hyperv_vtl_posted.yaml"


def _rules(findings: list[Finding], waived: bool = False) -> set[str]:
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
        ([("preserved: [x18-x30, sp, q0-q31]", "preserved: [x17-x30, sp, q0-q31]")], "smccc-relies-on-unpreserved"),
        ([("max_size: 1024", "max_size: 512")], "context-too-large"),
        ([("  ffr:\n    class: private\n", "  ffr:\n    class: unspecified\n")], "unspecified-state"),
        (
            [("  za:\n    class: clobbered\n    saved_by: caller\n", "  za:\n    class: clobbered\n")],
            "clobbered-without-owner",
        ),
        (
            [("  x18:\n    class: private\n", "  x18:\n    class: clobbered\n    saved_by: caller\n")],
            "kernel-register-not-preserved",
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
    from vtlgen.loader import SpecError

    with pytest.raises(SpecError) as caught:
        load_text(edited(spec_text, "  - rule: conduit-not-smccc\n", "  - rule: conduit-not-smcc\n"), "spec/x.yaml")
    assert "waivers[0].rule: unknown lint rule" in str(caught.value)
