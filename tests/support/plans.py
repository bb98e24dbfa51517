"""The Plans of the real spec and of ABI 1.0.0, lowered once per test session."""

from __future__ import annotations

from functools import cache

from tests.support import FIRST, SPEC
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load


@cache
def _plans(spec: str) -> dict[str, Plan]:
    path = SPEC if spec == "current" else FIRST
    return {p.convention_id: p for p in lower(load(path).spec, path.name)}


def current(convention: str) -> Plan:
    """The convention's Plan from spec/hyperv_vtl.yaml."""
    return _plans("current")[convention]


def first(convention: str) -> Plan:
    """The convention's Plan from ABI 1.0.0 (tests/data/hyperv_vtl_1.0.0.yaml)."""
    return _plans("first")[convention]
