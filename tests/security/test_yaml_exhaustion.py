"""Class 7: a small spec must not exhaust the machine; it ends as one located error.

Time and memory figures for these inputs are in `nox -s bench`; here each input must be
refused, located, before a Spec is built.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import invoke
from tests.support.yaml_bombs import BOMBS, billion_laughs
from vtlgen.spec.loader import MAX_SPEC_BYTES, SpecError, load_text


@pytest.mark.parametrize("name", BOMBS)
def test_an_exhausting_spec_is_one_located_error(name: str) -> None:
    text, words = BOMBS[name]
    with pytest.raises(SpecError) as caught:
        load_text(text, "bomb.yaml")
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 1 and words in problems[0], problems
    assert re.match(r"^bomb\.yaml:\d+:\d+: ", problems[0])


def test_a_nul_byte_is_reported_where_it_is() -> None:
    with pytest.raises(SpecError, match=r"^bomb\.yaml:2:3: character \\x00"):
        load_text("id: x\nti\x00tle: y\n", "bomb.yaml")


def test_a_spec_file_beyond_the_size_limit_is_not_read(checkout: Path) -> None:
    spec = checkout / "spec" / "big.yaml"
    with open(spec, "w") as handle:
        handle.write("# x\n" * (MAX_SPEC_BYTES // 4 + 1))
    result = invoke("lint", "spec/big.yaml")
    assert result.exit_code == 2
    assert re.match(rf"^spec/big\.yaml:1:1: the spec is \d+ bytes; at most {MAX_SPEC_BYTES}", result.output)


@pytest.mark.parametrize("command", ["show", "lint", "generate", "check", "validate"])
def test_every_command_refuses_the_bomb_with_exit_2(command: str, checkout: Path) -> None:
    (checkout / "spec" / "hyperv_vtl.yaml").write_text(billion_laughs())
    result = invoke(command)
    assert result.exit_code == 2
    assert result.output.startswith("spec/hyperv_vtl.yaml:2:")
