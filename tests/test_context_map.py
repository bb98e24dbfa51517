"""The context byte by byte: shared, private, reserved and unused regions."""

from __future__ import annotations

import itertools

from tests.conftest import SPEC, edited
from vtlgen import context_map
from vtlgen.loader import load, load_text
from vtlgen.lowering import lower
from vtlgen.plan import Plan


def plan_of(text: str | None = None) -> Plan:
    loaded = load(SPEC) if text is None else load_text(text, SPEC.as_posix())
    return lower(loaded.spec, SPEC.as_posix())[0]


def test_every_byte_up_to_the_limit_has_exactly_one_region() -> None:
    regions = context_map.elements(plan_of())
    assert regions[0].offset == 0 and regions[-1].end == 1024
    assert all(a.end == b.offset for a, b in itertools.pairwise(regions))
    kinds = {r.slots or f"@{r.offset}": r.kind for r in regions}
    assert kinds["x[0]"] == kinds["x[17]"] == kinds["q[31]"] == "shared"
    assert kinds["x[18]"] == kinds["x[29]"] == kinds["x[30]"] == "private"
    assert kinds["rsvd"] == "reserved" and kinds["@768"] == "unused"


def test_runs_merge_neighbours_of_one_field_and_kind() -> None:
    rows = [(r.offset, r.size, r.slots, r.kind) for r in context_map.runs(plan_of())]
    assert rows == [
        (0, 144, "x[0..17]", "shared"),
        (144, 8, "x[18]", "private"),
        (152, 80, "x[19..28]", "shared"),
        (232, 16, "x[29..30]", "private"),
        (248, 8, "rsvd", "reserved"),
        (256, 512, "q[0..31]", "shared"),
        (768, 256, "", "unused"),
    ]


def test_padding_and_a_missing_limit(spec_text: str) -> None:
    text = edited(spec_text, "- {name: rsvd, type: u64, offset: 248}", "- {name: rsvd, type: u64, offset: 240}")
    text = edited(text, "- {name: x, type: u64, count: 31, offset: 0}", "- {name: x, type: u64, count: 30, offset: 0}")
    text = edited(text, "  max_size: 1024\n", "")
    runs = context_map.runs(plan_of(text))
    assert (248, 8, "", "reserved") in [(r.offset, r.size, r.slots, r.kind) for r in runs]  # padding
    assert runs[-1].end == 768 and all(r.kind != "unused" for r in runs)
