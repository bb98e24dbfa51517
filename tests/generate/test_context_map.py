"""The context byte by byte: shared, private, reserved and unused regions."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.support import FIRST, SPEC, edited
from vtlgen.generate import context_map
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load, load_text


def plan_of(text: str | None = None, spec: Path = SPEC) -> Plan:
    loaded = load(spec) if text is None else load_text(text, spec.as_posix())
    return lower(loaded.spec, spec.as_posix())[0]


# q[] is where Q0-Q31 travel in 1.0.0; 2.0.0 homes them in z[n] of the VL-scaled extended
# context (not part of this map) and keeps q[] for layout compatibility, unused: reserved.
@pytest.mark.parametrize(("spec", "q_kind"), [(FIRST, "shared"), (SPEC, "reserved")], ids=["1.0.0", "2.0.0"])
def test_every_byte_up_to_the_limit_has_exactly_one_region(spec: Path, q_kind: str) -> None:
    plan = plan_of(spec=spec)
    regions = context_map.elements(plan)
    assert regions[0].offset == 0 and regions[-1].end == 1024
    assert all(a.end == b.offset for a, b in itertools.pairwise(regions))
    kinds = {r.slots or f"@{r.offset}": r.kind for r in regions}
    assert kinds["x[0]"] == kinds["x[17]"] == "shared"
    assert kinds["q[0]"] == kinds["q[31]"] == q_kind
    assert kinds["x[18]"] == kinds["x[29]"] == kinds["x[30]"] == "private"
    assert kinds["rsvd"] == "reserved" and kinds["@768"] == "unused"
    # "shared" is exactly the plan's fixed slots: nothing else claims a shared byte
    shared = {(r.field, r.first) for r in regions if r.kind == "shared"}
    assert shared == {(s.field, s.index) for s in plan.slots}


def test_2_0_0_homes_q_in_the_extended_context_not_in_q() -> None:
    plan = plan_of()
    assert not [s for s in plan.slots if s.field == "q"]
    assert plan.model.vector is not None
    homes = {s.register: (s.element.name, s.index) for s in plan.model.vector.slots}
    assert {homes[f"z{n}"] for n in range(32)} == {("z", n) for n in range(32)}
    assert plan.context.vl_elements[0].base == 1024 == context_map.elements(plan)[-1].end


@pytest.mark.parametrize(("spec", "q_kind"), [(FIRST, "shared"), (SPEC, "reserved")], ids=["1.0.0", "2.0.0"])
def test_runs_merge_neighbours_of_one_field_and_kind(spec: Path, q_kind: str) -> None:
    runs = context_map.runs(plan_of(spec=spec))
    rows = [(r.offset, r.size, r.slots, r.kind) for r in runs]
    assert rows == [
        (0, 144, "x[0..17]", "shared"),
        (144, 8, "x[18]", "private"),
        (152, 80, "x[19..28]", "shared"),
        (232, 16, "x[29..30]", "private"),
        (248, 8, "rsvd", "reserved"),
        (256, 512, "q[0..31]", q_kind),
        (768, 256, "", "unused"),
    ]
    assert runs[5].registers == tuple(f"q{n}" for n in range(32))  # the registers the slots are named after


def test_padding_and_a_missing_limit(spec_text: str) -> None:
    text = edited(spec_text, "- {name: rsvd, type: u64, offset: 248}", "- {name: rsvd, type: u64, offset: 240}")
    text = edited(text, "- {name: x, type: u64, count: 31, offset: 0}", "- {name: x, type: u64, count: 30, offset: 0}")
    text = edited(text, "  max_size: 1024\n", "")
    runs = context_map.runs(plan_of(text))
    assert (248, 8, "", "reserved") in [(r.offset, r.size, r.slots, r.kind) for r in runs]  # padding
    assert runs[-1].end == 768 and all(r.kind != "unused" for r in runs)
