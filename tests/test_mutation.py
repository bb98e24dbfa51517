"""Mutation testing: every mutant of the generated stubs that changes behaviour is caught."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from tests.conftest import DATA, HVC3, ROOT, SPEC
from vtlgen import mutation
from vtlgen.loader import load
from vtlgen.lowering import lower

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}
EQUIVALENT = YAML(typ="safe").load((DATA / "equivalent_mutants.yaml").read_text())


def test_operators_produce_every_kind() -> None:
    text = (ROOT / "generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S").read_text()
    names = [m.name for m in mutation.mutants(text)]
    for kind in (" delete ", " swap ", " shift ", " conduit "):
        assert any(kind in name for name in names), kind
    assert "L36 conduit `hvc #0` -> `smc #0`" in names
    assert "L41 shift `ldp x29, x30, [sp], #16` by +8" in names


@pytest.mark.parametrize("conv", [HVC3, "smccc"])
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
