"""Register classes in words, and register lists as ranges."""

from __future__ import annotations

import pytest

from vtlgen.spec.class_meaning import meaning, ranges
from vtlgen.spec.schema import RegisterClass


def test_every_class_has_a_meaning_for_both_vtls() -> None:
    for class_ in RegisterClass:
        m = meaning(class_.value, "caller")
        assert m.vtl0 and m.vtl2 and m.kept_by


def test_clobbered_names_who_keeps_the_copy() -> None:
    assert meaning("clobbered", "caller").kept_by == "the caller"
    assert "lint" in meaning("clobbered", None).kept_by
    assert meaning("private").kept_by == "the hypervisor"


@pytest.mark.parametrize(
    ("names", "text"),
    [
        (["x0", "x1", "x2", "x5"], "x0-x2, x5"),
        (["x18", "x29", "x30", "sp", "q0", "q1"], "x18, x29-x30, sp, q0-q1"),
        (["x17", "q0"], "x17, q0"),
        (["nzcv"], "nzcv"),
        ([], ""),
    ],
)
def test_ranges(names: list[str], text: str) -> None:
    assert ranges(names) == text
