"""The stub corpus: correct hand-written stubs in tests/data/stubs/*.S, and broken ones
built from them by the hand-made edits in tests/data/stubs/broken.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

STUBS = Path(__file__).resolve().parent / "data" / "stubs"


@dataclass(frozen=True)
class CorpusStub:
    name: str
    convention: str
    expect: str  # "pass" or a property id
    text: str

    def write(self, folder: Path) -> Path:
        path = folder / f"{self.name}.S"
        path.write_text(self.text)
        return path


def _header(text: str, key: str, path: Path) -> str:
    match = re.search(rf"{key}: (\w+)", text)
    assert match, f"{path} lacks its `{key}:` header"
    return match.group(1)


def corpus() -> list[CorpusStub]:
    stubs = []
    bases = {}
    for path in sorted(STUBS.glob("*.S")):
        text = path.read_text()
        bases[path.name] = text
        stubs.append(CorpusStub(path.stem, _header(text, "convention", path), _header(text, "expect", path), text))
    for entry in YAML(typ="safe").load((STUBS / "broken.yaml").read_text()):
        base = bases[entry["base"]]
        text = base
        for old, new in entry["edits"]:
            assert text.count(old) == 1, f"{entry['name']}: {old!r} must occur once in {entry['base']}"
            text = text.replace(old, new)
        header = f"/*\n * {entry['name']}: {entry['why']}\n * expect: {entry['expect']}\n */\n"
        body = text[text.index(" */\n") + 4 :]
        stubs.append(
            CorpusStub(
                entry["name"], _header(base, "convention", STUBS / entry["base"]), entry["expect"], header + body
            )
        )
    return stubs


def named(name: str) -> CorpusStub:
    return next(stub for stub in corpus() if stub.name == name)
