"""Mutants of a stub, to prove that the validator notices when a stub breaks.

Operators (ARCHITECTURE.md "The validator must prove its own sensitivity"): delete an
instruction, swap registers, shift a memory offset, change the conduit. A mutant that
does not assemble is not a mutant and is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vtlgen.assembler import AssemblyError, assemble
from vtlgen.plan import Plan
from vtlgen.validator import validate

_INSTRUCTION = re.compile(r"^(\s+)([a-z][a-z0-9.]*)(\s+(.*?))?(\s*/\*.*\*/)?\s*$")
_REGISTER = re.compile(r"\b([xwqd])(\d+)\b")
_OFFSET = re.compile(r"(\[[a-z0-9]+, #|\[[a-z0-9]+\], #)(-?\d+)(\]?)")
_CONDUIT = re.compile(r"^(hvc|smc)$")


@dataclass(frozen=True)
class Mutant:
    name: str
    text: str


@dataclass(frozen=True)
class Outcome:
    mutant: str
    killed: bool
    properties: tuple[str, ...]


def _instruction_lines(text: str) -> Iterator[tuple[int, re.Match[str]]]:
    for number, line in enumerate(text.split("\n"), start=1):
        match = _INSTRUCTION.match(line)
        if match and not line.lstrip().startswith((".", "/*", "*")):
            yield number, match


def _replace_line(text: str, number: int, new: str | None) -> str:
    lines = text.split("\n")
    if new is None:
        del lines[number - 1]
    else:
        lines[number - 1] = new
    return "\n".join(lines)


def _render(indent: str, mnemonic: str, operands: str) -> str:
    return f"{indent}{mnemonic} {operands}".rstrip()


def mutants(text: str) -> Iterator[Mutant]:
    for number, match in _instruction_lines(text):
        indent, mnemonic, operands = match.group(1), match.group(2), (match.group(4) or "")
        shown = f"{mnemonic} {operands}".strip()
        yield Mutant(f"L{number} delete `{shown}`", _replace_line(text, number, None))
        registers = _REGISTER.findall(operands)
        if len(registers) >= 2 and registers[0] != registers[1]:
            first, second = "".join(registers[0]), "".join(registers[1])
            exchange = {first: second, second: first}
            swapped = _REGISTER.sub(lambda m, swap=exchange: swap.get(m.group(0), m.group(0)), operands, count=2)
            yield Mutant(
                f"L{number} swap `{shown}` -> `{mnemonic} {swapped}`",
                _replace_line(text, number, _render(indent, mnemonic, swapped)),
            )
        elif len(registers) == 1:
            kind, index = registers[0]
            other = f"{kind}{(int(index) + 1) % 31}"
            changed = _REGISTER.sub(other, operands, count=1)
            yield Mutant(
                f"L{number} swap `{shown}` -> `{mnemonic} {changed}`",
                _replace_line(text, number, _render(indent, mnemonic, changed)),
            )
        offset = _OFFSET.search(operands)
        if offset:
            step = 16 if registers and registers[0][0] == "q" else 8
            for delta in (step, -step):
                value = int(offset.group(2)) + delta
                changed = _OFFSET.sub(lambda m, v=value: f"{m.group(1)}{v}{m.group(3)}", operands, count=1)
                yield Mutant(
                    f"L{number} shift `{shown}` by {delta:+d}",
                    _replace_line(text, number, _render(indent, mnemonic, changed)),
                )
        if _CONDUIT.match(mnemonic):
            imm = int(operands.lstrip("#"), 0)
            yield Mutant(
                f"L{number} conduit `{shown}` -> `{mnemonic} #{imm + 1}`",
                _replace_line(text, number, _render(indent, mnemonic, f"#{imm + 1}")),
            )
            other = "smc" if mnemonic == "hvc" else "hvc"
            yield Mutant(
                f"L{number} conduit `{shown}` -> `{other} {operands}`",
                _replace_line(text, number, _render(indent, other, operands)),
            )


def run(plan: Plan, text: str, trials: int = 3, seed: int = 0) -> list[Outcome]:
    """Validate every mutant that assembles; killed means at least one violation."""
    outcomes = []
    for mutant in mutants(text):
        try:
            assemble(mutant.text, "mutant.S")
        except AssemblyError:
            continue
        report = validate(plan, mutant.text, "mutant.S", trials=trials, seed=seed)
        outcomes.append(Outcome(mutant.name, not report.ok, tuple(sorted(report.broken_properties()))))
    return outcomes
