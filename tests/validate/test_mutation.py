"""Mutation testing: every mutant of the generated stubs that changes behaviour is caught."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from tests.support import DATA, ROOT, SPEC, mutation
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}
EQUIVALENT = YAML(typ="safe").load((DATA / "equivalent_mutants.yaml").read_text())


def test_operators_produce_every_kind() -> None:
    text = (ROOT / "generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S").read_text()
    names = [m.name for m in mutation.mutants(text)]
    for kind in (" delete ", " swap ", " shift ", " conduit "):
        assert any(kind in name for name in names), kind
    assert "L36 conduit `hvc #0` -> `smc #0`" in names
    assert "L41 shift `ldp x29, x30, [sp], #16` by +8" in names


# hvc3's stub moves the SVE/SME state: many times smccc's mutants, each validated in full,
# a minute or more alone; `nox -s tests` runs it, the quick loop keeps smccc.
@pytest.mark.parametrize("conv", [pytest.param("hvc3", marks=pytest.mark.slow), "smccc"])
def test_kill_rate(conv: str) -> None:
    text = (ROOT / f"generated/hyperv_vtl/{conv}/hyperv_vtl_{conv}.S").read_text()
    outcomes = mutation.run(PLANS[conv], text, trials=3)
    survivors = {o.mutant for o in outcomes if not o.killed}
    listed = set(EQUIVALENT[f"hyperv_vtl/{conv}"])
    assert survivors == listed, f"new survivors: {survivors - listed}; now killed: {listed - survivors}"
    behavioural = [o for o in outcomes if o.mutant not in listed]
    kill_rate = sum(o.killed for o in behavioural) / len(behavioural)
    assert len(behavioural) > (250 if conv == "hvc3" else 15)
    assert kill_rate == 1.0


OPERATORS = {
    "branch on a VTL0 value",
    "w-register truncation of a pointer",
    "orr for add",
    "store far outside",
    "store far inside the reserved area",
    "non-load/store memory",
    "reads after the call",
    "x30 scratch",
}


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_bug_models_are_killed_by_the_property_that_explains_them(conv: str) -> None:
    """Each modelled bug is caught, and by a property that explains it; the correct
    variant (x30 scratch under a live record) passes."""
    text = (ROOT / f"generated/hyperv_vtl/{conv}/hyperv_vtl_{conv}.S").read_text()
    outcomes = mutation.run(PLANS[conv], text, trials=40, seed=0, models=True)
    assert {o.operator for o in outcomes} == OPERATORS
    wrong = [(o.mutant, o.properties) for o in outcomes if o.killed == o.correct]
    assert not wrong, wrong
    assert sum(o.correct for o in outcomes) == 1


def test_a_kill_needs_an_explaining_property(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same broken stub counts as killed when P9 explains it, and as a survivor when
    only P7 would: a violation of some other property is no evidence."""
    text = (ROOT / "generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S").read_text()
    (model,) = [m for m in mutation.bug_models(text, PLANS["smccc"]) if m.name == "cbz x5 around the trap"]
    unexplained = mutation.Mutant(model.name, model.text, model.operator, frozenset({"P7"}))
    monkeypatch.setattr(mutation, "bug_models", lambda _text, _plan: iter([model, unexplained]))
    explained_outcome, unexplained_outcome = mutation.run(PLANS["smccc"], text, trials=40, models=True)
    assert explained_outcome.properties == unexplained_outcome.properties == ("P9",)
    assert explained_outcome.killed and not unexplained_outcome.killed
