"""P1-P10 are stated once (`vtlgen.properties`): the text report, the HTML report, SARIF and
the ABI page all read that one statement, and the trials and the proof word a fault alike."""

from __future__ import annotations

import html

import pytest

from tests.support import SPEC
from tests.support.stubs import named, plan_for
from vtlgen import properties
from vtlgen.generate import abidoc
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.properties import PROPERTIES, Property
from vtlgen.report import html_page, sarif
from vtlgen.spec.loader import load
from vtlgen.validate.results import ConventionReport
from vtlgen.validate.run import validate

BROKEN = "smccc_p3_x30_scratch_without_record"  # P3, which both evaluators word


@pytest.fixture(scope="module")
def trials() -> tuple[Plan, str, ConventionReport]:
    stub = named(BROKEN)
    plan = plan_for(stub)
    return plan, stub.text, validate(plan, stub.text, f"{BROKEN}.S", trials=5)


def outputs(plan: Plan, text: str, report: ConventionReport) -> dict[str, str]:
    spec = load(SPEC).spec
    run = html_page.StubRun(plan, text, f"{BROKEN}.S", report.as_dict(), "vtlgen validate")
    rules = sarif.violations([report])["runs"][0]["tool"]["driver"]["rules"]  # type: ignore[index]
    return {
        "text": report.summary() + "\n" + "\n".join(v.describe() for v in report.violations),
        "html": html.unescape(html_page.page([run])),  # the page escapes quotes: read it as a browser would
        "sarif": "\n".join(rule["shortDescription"]["text"] for rule in rules),
        "abi page": " ".join(abidoc.page(spec, SPEC.name, lower(spec, SPEC.as_posix())).split()),
    }


def test_every_output_states_the_properties_as_the_one_module_does(
    trials: tuple[Plan, str, ConventionReport],
) -> None:
    plan, text, report = trials
    shown = outputs(plan, text, report)
    # The text report names them by id, in the module's order, and leads each violation with one.
    assert f"properties {','.join(PROPERTIES)};" in shown["text"]
    assert report.violations and all(v.describe().split()[0] in PROPERTIES for v in report.violations)
    for prop in PROPERTIES.values():
        for where in ("html", "sarif", "abi page"):
            assert prop.statement in shown[where], (where, prop.id)


def test_a_changed_statement_shows_everywhere(
    monkeypatch: pytest.MonkeyPatch, trials: tuple[Plan, str, ConventionReport]
) -> None:
    """The outputs read the module when they are made: no output keeps a copy of the words."""
    plan, text, report = trials
    changed = Property("P3", "kernel registers", "a wording no output holds a copy of")
    monkeypatch.setattr(properties, "PROPERTIES", {**PROPERTIES, "P3": changed})
    shown = outputs(plan, text, report)
    for where in ("html", "sarif", "abi page"):
        assert changed.statement in shown[where], where
        assert PROPERTIES["P3"].statement not in shown[where], where


def test_sarif_results_point_at_their_property_and_line(trials: tuple[Plan, str, ConventionReport]) -> None:
    _, _, report = trials
    run = sarif.violations([report])["runs"][0]  # type: ignore[index]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == list(PROPERTIES)
    results = run["results"]
    assert {r["ruleId"] for r in results} == report.broken_properties() == {"P3"}
    for result, violation in zip(results, report.violations, strict=True):
        assert rules[result["ruleIndex"]] == violation.property
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == f"{BROKEN}.S"
        assert location["region"]["startLine"] == violation.source_line


@pytest.mark.parametrize(
    ("name", "broken"),
    [
        (BROKEN, {"P3"}),
        ("smccc_p5_p7_keeps_x19_below_sp", {"P5", "P7"}),
        ("smccc_p6_fp_4_aligned", {"P6"}),
        ("smccc_p10_reads_flags", {"P10"}),
    ],
)
def test_trials_and_proof_word_a_fault_alike(name: str, broken: set[str]) -> None:
    """The same property broken reads the same from either evaluator (where they blame and how
    they show the location may differ: the proof's addresses are a counterexample's), because
    both build the message with `vtlgen.properties`."""
    from vtlgen.prove.run import prove

    stub = named(name)
    plan = plan_for(stub)

    def worded(report: ConventionReport) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for v in report.violations:
            out.setdefault(v.property, set()).add(v.message)
        return out

    by_trials = worded(validate(plan, stub.text, "stub.S", trials=20))
    by_proof = worded(prove(plan, stub.text, "stub.S").report)
    assert set(by_trials) == set(by_proof) == broken
    assert by_trials == by_proof
