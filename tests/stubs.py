"""The broken-stub corpus in tests/data/stubs: each file names its convention and expectation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

STUBS = Path(__file__).resolve().parent / "data" / "stubs"


@dataclass(frozen=True)
class CorpusStub:
    path: Path
    convention: str
    expect: str  # "pass" or a property id

    @property
    def text(self) -> str:
        return self.path.read_text()


def corpus() -> list[CorpusStub]:
    out = []
    for path in sorted(STUBS.glob("*.S")):
        text = path.read_text()
        convention = re.search(r"convention: (\w+)", text)
        expect = re.search(r"expect: (\w+)", text)
        assert convention and expect, f"{path} lacks its convention/expect header"
        out.append(CorpusStub(path, convention.group(1), expect.group(1)))
    return out
