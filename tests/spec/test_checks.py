"""The cross-part checks (and lint, which `generate` runs) refuse what the stages after them
cannot build: a spec they accept generates, validates and proves without an internal error (found by trying every
register group as shared through every slot, and the largest context the schema allows)."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from tests.support import FIRST, SPEC, edited, invoke
from vtlgen.generate import artifacts
from vtlgen.isa import registers
from vtlgen.lower.convention import LoweringError
from vtlgen.spec.lint import lint
from vtlgen.spec.loader import SpecError, load_text
from vtlgen.spec.schema import MAX_CONTEXT

SLOTS = ["x[0]", "x[19]", "rsvd", "q[0]", "z[0]", "p[0]", "ffr", "za"]


def _groups() -> list[str]:
    return list(YAML(typ="safe").load(SPEC.read_text())["registers"])


@pytest.mark.parametrize("group", _groups())
def test_every_group_shared_through_any_slot_is_refused_or_generates(group: str) -> None:
    data = YAML(typ="safe").load(SPEC.read_text())
    built = 0
    for slot in SLOTS:
        data["registers"][group] = {"class": "shared", "slot": slot, "sources": ["tlfs-vsm"]}
        try:
            loaded = load_text(_yaml(data), "spec/x.yaml")
        except SpecError as error:
            assert str(error).startswith("spec/x.yaml:"), error  # located
            continue
        if [f for f in lint(loaded.spec, loaded.tree) if f.severity == "error" and not f.waived]:
            continue  # `generate` refuses it with the located findings of `vtlgen lint`
        try:
            artifacts.build(loaded)  # renders and assembles every stub: AssemblyError is a bug here
        except LoweringError:
            continue  # a located refusal of its own
        built += 1
        assert all(registers.moved_by_loads(name) for name in registers.expand(group))
    if not all(registers.moved_by_loads(name) for name in registers.expand(group)):
        assert built == 0, f"{group} is shared through a slot, yet no load or store moves it"


def _yaml(data: object) -> str:
    import io

    stream = io.StringIO()
    YAML(typ="safe").dump(data, stream)
    return stream.getvalue()


def test_nzcv_and_fpcr_with_a_slot_are_located_errors() -> None:
    text = SPEC.read_text()
    for old in ("  fpcr:\n    class: clobbered\n    saved_by: caller\n",):
        changed = edited(text, old, old.replace("clobbered\n    saved_by: caller", "shared\n    slot: rsvd"))
        with pytest.raises(SpecError, match=r"spec/x\.yaml:\d+:\d+: registers\.fpcr\.class: fpcr cannot be shared"):
            load_text(changed, "spec/x.yaml")


def test_the_largest_context_the_schema_allows_validates_and_proves(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = FIRST.read_text()
    text = edited(text, "  max_size: 1024\n", f"  max_size: {MAX_CONTEXT}\n")
    q_field = "    - {name: q, type: u128, count: 32, offset: 256}\n"
    text = edited(text, q_field, f"{q_field}    - {{name: pad, type: u64, offset: {MAX_CONTEXT - 8}}}\n")
    spec = tmp_path / "big.yaml"
    spec.write_text(text)
    assert invoke("validate", str(spec), "--convention", "smccc", "--trials", "2").exit_code == 0
    assert invoke("prove", str(spec), "--convention", "smccc").exit_code == 0
    over = edited(text, f"  max_size: {MAX_CONTEXT}\n", f"  max_size: {MAX_CONTEXT + 16}\n")
    with pytest.raises(
        SpecError,
        match=rf"context\.max_size: expected less than or equal to {MAX_CONTEXT}, found int {MAX_CONTEXT + 16}",
    ):
        load_text(over, "spec/x.yaml")
