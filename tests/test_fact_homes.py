"""One home per fact: each ABI or ISA fact below is spelled in its home module and imported
everywhere else, so that the package cannot drift into two versions of it.

The scan reads code only: comments and docstrings are blanked first, so a comment that cites
the Arm ARM ("hvc #0 is 0xD4000002") is not a second spelling.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vtlgen"


@dataclass(frozen=True)
class Spelling:
    fact: str
    pattern: re.Pattern[str]
    home: str  # the one module, relative to vtlgen/, allowed to spell it
    example: str  # a line of code that spells it, for the test of the test


def _code(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


SPELLINGS: tuple[Spelling, ...] = (
    Spelling(
        "the svc/hvc/smc encoding",
        _code(r"\b0x_?D400_?000[0-3]\b|\b0x_?FFE0_?001F\b"),
        "isa/encoding.py",
        "return (word & 0xFFE0001F) in (0xD4000002, 0xD4000003)",
    ),
    Spelling(
        "the exception immediate's shift",
        _code(r"\bimm(?:16)?\s*\)?\s*<<\s*5\b"),
        "isa/encoding.py",
        "return base | (self.imm16 << 5) | low",
    ),
    Spelling(
        "the SMCCC function-ID owner and reserved fields",
        _code(r"(?:<<|>>)\s*(?:24|17)\b"),
        "isa/encoding.py",
        "owner = value >> 24 & 0x3F",
    ),
    Spelling(
        "the SMCCC function-ID flag bits",
        _code(r">>\s*(?:31|30|16)\s*&\s*1\b|\b1\s*<<\s*(?:31|16)\b\s*if\b"),
        "isa/encoding.py",
        'return (1 << 31 if self.call == "fast" else 0)',
    ),
    Spelling(
        "the frame-register list",
        _code(r"""["']x29["']\s*,\s*["']x30["']\s*,\s*["']sp["']"""),
        "isa/registers.py",
        'frame_names = [*plan.model.kept, "x29", "x30", "sp"]',
    ),
    Spelling(
        "the platform register",
        _code(r"""["']x18["']"""),
        "isa/registers.py",
        '_ALWAYS_TAGGED = {*registers.CALLEE_SAVED_GPRS, "x18"}',
    ),
    Spelling(
        "the modelled register set",
        _code(r"""range\(31\)\)\s*,\s*["']sp["']"""),
        "isa/registers.py",
        'ANY = [*(f"x{n}" for n in range(31)), "sp", *(f"q{n}" for n in range(32)), "nzcv"]',
    ),
    Spelling(
        "the VL-scaled state",
        _code(r"""["']z_upper["']\s*,\s*\*\(f["']p\{n\}["']\s*for n in range\(16\)\)"""),
        "isa/registers.py",
        'VECTOR_STATE = ("z_upper", *(f"p{n}" for n in range(16)), "ffr", "za")',
    ),
    Spelling(
        "the vector-length rule",
        _code(
            r"\b[\w.]*(?:vl|vector_length|length)\s*%\s*16\b"
            r"|\brange\(\s*16\s*,\s*25[67]\b"
            r"|\b16\s*<=\s*[\w.]*(?:vl|length)\s*<=\s*256\b"
            r"|\b[\w.]*(?:vl|length)\s*>\s*256\b"
        ),
        "isa/vector_length.py",
        "if vector_length % 16 or not 16 <= vector_length <= 256:",
    ),
    Spelling(
        "the offset-macro suffixes",
        _code(r"""\}_(?:OFFSET|SIZE|VL_OFFSET|SIZE_VL|MAX_VQ|MAX_SIZE|DEFINED|EXISTING)["']"""),
        "spec/context_layout.py",
        'size = Macro(f"{element.macro}_SIZE", (VQ,), body)',
    ),
)

# Spellings whose owner switches them to the home after merging this branch. Each entry must
# still be found (the test fails when one is fixed, so that its entry goes too).
PENDING: frozenset[tuple[str, str]] = frozenset(
    {
        ("validate/backends/unicorn.py", "the svc/hvc/smc encoding"),
        ("validate/backends/unicorn.py", "the frame-register list"),
        ("validate/backends/unicorn.py", "the modelled register set"),
    }
)


def code_only(source: str) -> str:
    """`source` with comments and docstrings (string statements) blanked, lines kept in place."""
    lines = source.splitlines(keepends=True)
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    statement_start = True
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        is_docstring = token.type == tokenize.STRING and statement_start  # a string on its own
        if token.type == tokenize.COMMENT or is_docstring:
            spans.append((token.start, token.end))
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            statement_start = token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    for (first_row, first_col), (last_row, last_col) in spans:
        for row in range(first_row, last_row + 1):
            line = lines[row - 1]
            start = first_col if row == first_row else 0
            end = last_col if row == last_row else len(line.rstrip("\r\n"))
            lines[row - 1] = line[:start] + " " * (end - start) + line[end:]
    return "".join(lines)


def second_spellings(module: str, source: str) -> list[tuple[str, int, str]]:
    """(module, line, fact) for every fact `source` spells outside the fact's home."""
    found = []
    for number, line in enumerate(code_only(source).splitlines(), start=1):
        for spelling in SPELLINGS:
            if module != spelling.home and spelling.pattern.search(line):
                found.append((module, number, spelling.fact))
    return found


def package_spellings() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        found += second_spellings(path.relative_to(PACKAGE).as_posix(), path.read_text())
    return found


def test_each_fact_is_spelled_only_in_its_home() -> None:
    found = package_spellings()
    unexpected = [f"vtlgen/{m}:{n}: {fact}" for m, n, fact in found if (m, fact) not in PENDING]
    assert unexpected == [], "import these facts from their homes instead:\n" + "\n".join(unexpected)


def test_pending_spellings_are_still_there() -> None:
    """A PENDING entry that no longer matches is stale: remove it, so that the spelling cannot return."""
    still = {(m, fact) for m, _, fact in package_spellings()}
    assert sorted(PENDING - still) == []


def test_every_home_exists() -> None:
    for spelling in SPELLINGS:
        assert (PACKAGE / spelling.home).is_file(), spelling.home


@pytest.mark.parametrize("spelling", SPELLINGS, ids=lambda s: s.fact)
def test_a_second_spelling_is_reported(spelling: Spelling) -> None:
    source = f"def elsewhere(word, vector_length, self, value, plan, element):\n    {spelling.example}\n"
    assert second_spellings("validate/somewhere.py", source) == [("validate/somewhere.py", 2, spelling.fact)]
    assert second_spellings(spelling.home, source) == []


@pytest.mark.parametrize("spelling", SPELLINGS, ids=lambda s: s.fact)
def test_comments_and_docstrings_are_not_spellings(spelling: Spelling) -> None:
    source = (
        '"""Module text: ' + spelling.example.replace('"', "'") + '"""\n'
        "def f() -> None:\n"
        '    """' + spelling.example.replace('"', "'") + ' (Arm ARM C6.2)."""\n'
        "    return None  # " + spelling.example + "\n"
    )
    assert second_spellings("validate/somewhere.py", source) == []


def test_known_false_friends_are_not_spellings() -> None:
    """Code that looks like a fact but is another one: SP alignment, an SVE immediate, a sort key."""
    source = (
        "ok = context % 16 == 0 and sp % 16 == 0\n"
        "word = word | n << 16 | (imm & 0x3F) << 5 | t\n"
        "key = 1 << 30\n"
        '__all__ = ["INSTRUCTION_SIZE"]\n'
        "top = (tag << 56) | ((register & 0xFF) << 48)\n"
    )
    assert second_spellings("validate/somewhere.py", source) == []
