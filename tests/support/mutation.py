"""Mutants of a stub, to prove that the validator notices when a stub breaks.

Two families of operators. The syntactic ones delete an instruction, swap registers,
shift a memory offset or change the conduit; any violation kills them. The bug models
insert the mistakes hand-written stubs make (a branch on a VTL0 value around a block, a
pointer truncated to 32 bits, `orr` for `add`, stores far inside and outside the
context, a memory instruction that is no load or store, flag and register reads after
the call, x30 as scratch with and without a live frame record); each names the
properties that explain it, and only those count as a kill. A bug model may also be a
correct variant (x30 scratch under a live record), which must pass. A mutant that does
not assemble is not a mutant and is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vtlgen.isa.assembler import AssemblyError, assemble
from vtlgen.plan import Plan
from vtlgen.validate.run import validate

ANY = frozenset({"P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"})

_INSTRUCTION = re.compile(r"^(\s+)([a-z][a-z0-9.]*)(\s+(.*?))?(\s*/\*.*\*/)?\s*$")
_REGISTER = re.compile(r"\b([xwqd])(\d+)\b")
_OFFSET = re.compile(r"(\[[a-z0-9]+, #|\[[a-z0-9]+\], #)(-?\d+)(\]?)")
_CONDUIT = re.compile(r"^(hvc|smc)$")


@dataclass(frozen=True)
class Mutant:
    name: str
    text: str
    operator: str = "syntactic"
    explains: frozenset[str] = ANY  # the properties that may kill it; empty: a correct variant


@dataclass(frozen=True)
class Outcome:
    mutant: str
    operator: str
    killed: bool  # broken by a property that explains it
    properties: tuple[str, ...]
    correct: bool  # a correct variant: must not be killed


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


_LABEL = "vtlgen_mutant_skip"


def _lines(text: str) -> list[str]:
    return text.split("\n")


def _find(lines: list[str], pattern: str, start: int = 0) -> int | None:
    regex = re.compile(pattern)
    for index in range(start, len(lines)):
        if regex.search(lines[index].split("/*")[0]):
            return index
    return None


def _insert(lines: list[str], index: int, new: list[str]) -> str:
    return "\n".join([*lines[:index], *(f"\t{n}" if not n.endswith(":") else n for n in new), *lines[index:]])


def _around(lines: list[str], index: int, before: list[str]) -> str:
    """Put `before` and a branch target around line `index`: the block it skips."""
    return "\n".join([*lines[:index], *(f"\t{n}" for n in before), lines[index], f"{_LABEL}:", *lines[index + 1 :]])


def bug_models(text: str, plan: Plan) -> Iterator[Mutant]:
    """Mutants that make the mistakes real stubs make, each with the properties explaining it."""
    lines = _lines(text)
    conduit = _find(lines, r"^\s+(hvc|smc)\s")
    frame = _find(lines, r"^\s+mov\s+x29, sp\b")
    if conduit is None or frame is None:
        return
    branch = "branch on a VTL0 value"
    yield Mutant("cbz x5 around the trap", _around(lines, conduit, [f"cbz    x5, {_LABEL}"]), branch, frozenset({"P9"}))
    yield Mutant(
        "tbnz x5 #63 around the trap", _around(lines, conduit, [f"tbnz   x5, #63, {_LABEL}"]), branch, frozenset({"P9"})
    )
    store = _find(lines, r"^\s+stp\s+x(\d+), x(\d+), \[x\d+", conduit)
    if store is not None:
        match = re.search(r"stp\s+(x\d+), (x\d+)", lines[store])
        assert match
        first, second = match.groups()
        yield Mutant(
            f"tbnz {first} #63 around a store",
            _around(lines, store, [f"tbnz   {first}, #63, {_LABEL}"]),
            branch,
            frozenset({"P4"}),
        )
        yield Mutant(
            f"{first} == {second} around a store",
            _around(lines, store, [f"cmp    {first}, {second}", f"b.eq   {_LABEL}"]),
            branch,
            frozenset({"P4"}),
        )
    vector = _find(lines, r"^\s+stp\s+q\d+, q\d+, \[x\d+", conduit)
    if vector is not None:
        number = re.search(r"stp\s+q(\d+)", lines[vector])
        assert number
        yield Mutant(
            f"d{number.group(1)} == 0.0 around a store",
            _around(lines, vector, [f"fcmp   d{number.group(1)}, #0.0", f"b.eq   {_LABEL}"]),
            branch,
            frozenset({"P4"}),
        )
    truncation = "w-register truncation of a pointer"
    for index, line in enumerate(lines):
        code = line.split("/*")[0]
        move = re.match(r"^(\s+)mov\s+x(\d+), x(\d+)\s*$", code)
        spill = re.match(r"^(\s+)str\s+x0, \[sp, #(\d+)\]\s*$", code)
        if move:
            new = f"{move.group(1)}mov    w{move.group(2)}, w{move.group(3)}"
            yield Mutant(
                f"L{index + 1} `mov w{move.group(2)}, w{move.group(3)}`",
                "\n".join([*lines[:index], new, *lines[index + 1 :]]),
                truncation,
                frozenset({"P1", "P4", "P8"}),
            )
        elif spill:
            new = f"{spill.group(1)}str    w0, [sp, #{spill.group(2)}]"
            yield Mutant(
                f"L{index + 1} `str w0` spill",
                "\n".join([*lines[:index], new, *lines[index + 1 :]]),
                truncation,
                frozenset({"P1", "P4", "P8"}),
            )
    after = frame + 1
    yield Mutant(
        "orr for add on ctx",
        _insert(lines, after, ["orr    x0, x0, #0x100", "sub    x0, x0, #0x100"]),
        "orr for add",
        frozenset({"P1", "P2", "P4", "P8"}),
    )
    for offset, where in ((4096, "far outside"), (1000, "far inside the reserved area")):
        yield Mutant(
            f"store at ctx+{offset}",
            _insert(lines, after, [f"str    xzr, [x0, #{offset}]"]),
            f"store {where}",
            frozenset({"P8"}),
        )
    yield Mutant(
        "store at ctx-200", _insert(lines, after, ["stur   xzr, [x0, #-200]"]), "store far outside", frozenset({"P8"})
    )
    # A block past the end of the context at every vector length (its extended part grows with VL).
    end = max(plan.model.region_size, plan.context.size_at(plan.context.max_vl or 16))
    far = (end + 127) // 64 * 64
    point = (
        [f"add    x16, x0, #{far}"]
        if far < 4096
        else [f"add    x16, x0, #{far >> 12}, lsl #12", f"add    x16, x16, #{far & 0xFFF}"]
    )
    zva = [*point, "and    x16, x16, #0xffffffffffffffc0", "dc     zva, x16"]
    yield Mutant("dc zva past the context", _insert(lines, after, zva), "non-load/store memory", frozenset({"P8"}))
    reads = "reads after the call"
    if "nzcv" in plan.model.poisoned:
        yield Mutant(
            "b.ne after the call",
            _insert(lines, conduit + 1, [f"b.ne   {_LABEL}", f"{_LABEL}:"]),
            reads,
            frozenset({"P10"}),
        )
        yield Mutant(
            "mrs nzcv after the call", _insert(lines, conduit + 1, ["mrs    xzr, nzcv"]), reads, frozenset({"P10"})
        )
    gprs = [r for r in plan.model.poisoned if r.startswith("x")]
    for name in gprs[:1] + gprs[-1:]:
        yield Mutant(
            f"cbz {name} after the call",
            _insert(lines, conduit + 1, [f"cbz    {name}, {_LABEL}", f"{_LABEL}:"]),
            reads,
            frozenset({"P10"}),
        )
    scratch = "x30 scratch"
    yield Mutant("x30 scratch under a live record", _insert(lines, after, ["mov    x30, x0"]), scratch, frozenset())
    yield Mutant(
        "x30 scratch before the record is live", _insert(lines, frame, ["mov    x30, x0"]), scratch, frozenset({"P3"})
    )


def run(plan: Plan, text: str, trials: int = 3, seed: int = 0, models: bool = False) -> list[Outcome]:
    """Validate every mutant that assembles. Killed: broken by a property that explains it."""
    outcomes = []
    candidates = bug_models(text, plan) if models else mutants(text)
    for mutant in candidates:
        try:
            assemble(mutant.text, "mutant.S")
        except AssemblyError:
            continue
        report = validate(plan, mutant.text, "mutant.S", trials=trials, seed=seed)
        broken = report.broken_properties()
        correct = not mutant.explains
        killed = bool(broken) if correct else bool(broken & mutant.explains)
        outcomes.append(Outcome(mutant.name, mutant.operator, killed, tuple(sorted(broken)), correct))
    return outcomes
