"""The stub corpus: hand-written stubs in tests/data/stubs/*.S, correct and broken, and
broken ones built from the correct ones by the hand-made edits in broken.yaml.

Each stub names its convention, optionally the spec it is for (a file in tests/data, or a
path from the repository's root such as spec/hyperv_vtl.yaml; the default is
tests/data/hyperv_vtl_1.0.0.yaml, the revision the first stubs were written for), and
what validation must say: `pass`, or the
properties it breaks (`P5,P7`: a fault with an effect seen everywhere and a cause seen
where each access is observed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ruamel.yaml import YAML

from tests.support import DATA, ROOT
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load

STUBS = DATA / "stubs"


@dataclass(frozen=True)
class CorpusStub:
    name: str
    convention: str
    expect: str  # "pass" or property ids separated by commas
    text: str
    spec: str = ""  # a spec in tests/data, or a path from the root with a "/"; "" for DEFAULT_SPEC
    fails_at: tuple[int, ...] = ()  # vector lengths (bytes) where the fault shows; () for every one

    @property
    def expected(self) -> set[str]:
        return set() if self.expect == "pass" else set(self.expect.split(","))

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.S"
        path.write_text(self.text)
        return path


DEFAULT_SPEC = "hyperv_vtl_1.0.0.yaml"


@cache
def _plans(spec: str) -> dict[str, Plan]:
    spec = spec or DEFAULT_SPEC
    path = ROOT / spec if "/" in spec else DATA / spec
    return {p.convention_id: p for p in lower(load(path).spec, path.name)}


def plan_for(stub: CorpusStub) -> Plan:
    return _plans(stub.spec)[stub.convention]


def _header(text: str, key: str, path: Path, default: str | None = None) -> str:
    match = re.search(rf"\* {key}: ([\w.,/]+)", text)
    if match is None and default is not None:
        return default
    assert match, f"{path} lacks its `{key}:` header"
    return match.group(1)


def corpus() -> list[CorpusStub]:
    stubs = []
    bases = {}
    for path in sorted(STUBS.glob("*.S")):
        text = path.read_text()
        bases[path.name] = text
        stubs.append(
            CorpusStub(
                path.stem,
                _header(text, "convention", path),
                _header(text, "expect", path),
                text,
                _header(text, "spec", path, ""),
            )
        )
    for entry in YAML(typ="safe").load((STUBS / "broken.yaml").read_text()):
        base = bases[entry["base"]]
        text = base
        for old, new in entry["edits"]:
            assert text.count(old) == 1, f"{entry['name']}: {old!r} must occur once in {entry['base']}"
            text = text.replace(old, new)
        header = f"/*\n * {entry['name']}: {entry['why']}\n * expect: {entry['expect']}\n */\n"
        body = text[text.index(" */\n") + 4 :]
        base_path = STUBS / entry["base"]
        stubs.append(
            CorpusStub(
                entry["name"],
                _header(base, "convention", base_path),
                entry["expect"],
                header + body,
                _header(base, "spec", base_path, ""),
                tuple(entry.get("fails_at", ())),
            )
        )
    return stubs


def named(name: str) -> CorpusStub:
    return next(stub for stub in corpus() if stub.name == name)
