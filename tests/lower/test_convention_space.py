"""Lowering never crashes on a spec that semantics accepts: a property-based walk over the
register classes (which registers are shared, private or clobbered, and how each
convention moves them), checked against the default spec's structure."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.support import SPEC
from vtlgen.lower.convention import LoweringError, lower
from vtlgen.spec.loader import SpecError, load_text

BASE = YAML(typ="safe").load(SPEC.read_text())
CLASSES = ["shared", "private", "clobbered", "unspecified"]
# Register groups as specs write them; the ctx register x0 and its neighbours apart.
GROUPS = ["x0", "x1", "x2-x15", "x16-x17", "x19-x28"]


def _entry(name: str, cls: str) -> dict[str, object]:
    entry: dict[str, object] = {"class": cls, "sources": ["tlfs-vsm"]}
    if cls == "shared":
        first = name.split("-")[0]
        entry["slot"] = f"{first[0]}[{first[1:]}]"
    if cls == "clobbered":
        entry["saved_by"] = "caller"
    return entry


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gprs=st.lists(st.sampled_from(CLASSES), min_size=len(GROUPS), max_size=len(GROUPS)),
    vectors=st.sampled_from(CLASSES),
    transports=st.lists(st.sampled_from(["registers", "memory"]), min_size=2, max_size=2),
)
def test_lowering_never_crashes(gprs: list[str], vectors: str, transports: list[str]) -> None:
    doc = copy.deepcopy(BASE)
    registers = {k: v for k, v in doc["registers"].items() if not k.startswith(("x0", "x19", "q0"))}
    registers |= {name: _entry(name, cls) for name, cls in zip(GROUPS, gprs, strict=True)}
    registers["q0-q31"] = _entry("q0", vectors)
    doc["registers"] = registers
    for convention, transport in zip(doc["conventions"], transports, strict=True):
        convention["transport"] = transport
    try:
        loaded = load_text(json.dumps(doc), "spec/space.yaml")
    except SpecError as error:
        assert error.problems  # semantics refused it, with located reasons
        return
    try:
        plans = lower(loaded.spec, "space.yaml")
    except LoweringError as error:
        assert str(error) and error.path  # a spec the generator cannot realise, said where
        return
    for plan in plans:
        assert plan.blocks and plan.model.conduit_encoding


def test_x0_private_with_x1_to_x17_shared_lowers() -> None:
    """The case that once raised KeyError('context pointer')."""
    doc = copy.deepcopy(BASE)
    registers = {k: v for k, v in doc["registers"].items() if k != "x0-x17"}
    registers["x0"] = _entry("x0", "private")
    registers["x1-x17"] = {"class": "shared", "slot": "x[1]", "sources": ["tlfs-vsm"]}
    doc["registers"] = registers
    plans = lower(load_text(json.dumps(doc), "spec/x0.yaml").spec, "x0.yaml")
    assert {p.convention_id for p in plans} == {"hvc3", "smccc"}
