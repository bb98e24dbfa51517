"""A stub's listing, annotated per instruction: its role and the context slots it touches.

Roles come from the Plan's blocks when the stub is the one vtlgen generates from that
Plan (the Plan's instructions, as written); a hand-written stub's roles are unknown, except the trap,
which is the convention's conduit word. Slots come from following the context pointer
through the straight-line code: it arrives in x0 (AAPCS64: `void f(ctx)`), moves with
`mov`, and may be spilled to and reloaded from the stack. Where that cannot be followed
(an index register, an address computed with arithmetic, code after a branch), the
access is marked unknown rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vtlgen.generate import context_map, render
from vtlgen.isa.assembler import Assembly
from vtlgen.isa.disassembler import Decoded, decode
from vtlgen.plan import Plan

# A block's title says what it does; its first word, the role a reviewer looks for.
ROLES = {
    "entry": "frame",
    "exit": "frame",
    "save": "save",
    "keep": "save",  # the context pointer, kept across the trap (in a carrier or on the stack)
    "load": "load",
    "arguments": "arguments",
    "switch": "trap",
    "store": "store",
    "restore": "restore",
}
UNKNOWN = "unknown"
CONTEXT_ARGUMENT = "x0"  # AAPCS64 passes the first pointer argument in x0

_SP_ARITHMETIC = re.compile(r"^(add|sub) sp, sp, #(0x[0-9a-f]+|\d+)$")
_POST_INDEX = re.compile(r"\], #(-?0x[0-9a-f]+|-?\d+)$")
_MOVE = re.compile(r"^mov (x\d+), (x\d+)$")
_BRANCHES = ("b", "bl", "br", "blr", "cbz", "cbnz", "tbz", "tbnz", "ret", "eret")


@dataclass(frozen=True)
class Row:
    offset: int
    line: int | None  # source line of the instruction
    source: str  # the instruction as written
    disassembly: str
    role: str
    block: str  # the Plan block's title; "" when unknown
    touches: tuple[str, ...]  # context slots and stack bytes it reads or writes
    access: str  # "read", "write" or ""


def generated_roles(plan: Plan, assembly: Assembly) -> list[tuple[str, str]] | None:
    """(role, block title) per instruction, when `assembly` is the stub generated from `plan`:
    its instructions, as written, are the Plan's (the standalone flavour, `templates/stub.S.j2`),
    read off the Plan rather than rendered and assembled again."""
    planned = [(render.BTI_C_AS_WRITTEN, "frame", "entry: bti c landing pad")] if plan.bti else []
    for block in plan.blocks:
        role = ROLES.get(block.title.split()[0], block.title)
        planned += [(f"{i.mnemonic} {i.literal}", role, block.title) for i in block.instructions]
    if len(planned) != len(assembly.source_text):
        return None
    for (text, _, _), written in zip(planned, assembly.source_text, strict=True):
        if _spaced(text) != _spaced(written):
            return None
    return [(role, title) for _, role, title in planned]


def _spaced(text: str) -> str:
    return " ".join(text.split())


def _immediate(text: str) -> int:
    return int(text, 0)


def _region_names(plan: Plan, address: int, size: int) -> list[str]:
    """`x[5] (x5)`, `rsvd`, `reserved`/`unused` for padding and spare bytes, or outside."""
    names = []
    for region in context_map.elements(plan):
        if region.offset < address + size and address < region.end:
            if region.registers:
                names.append(f"{region.slots} ({region.registers[0]})")
            else:
                names.append(region.slots or region.kind)
    limit = plan.context.max_size or plan.context.size
    if address < 0 or address + size > limit:
        names.append(f"outside the context (ctx{address:+d})")
    return names


class _Tracker:
    """Where the context pointer is, and SP relative to the caller's SP."""

    def __init__(self) -> None:
        self.context: set[str] | None = {CONTEXT_ARGUMENT}
        self.sp: int | None = 0
        self.spills: set[int] = set()  # caller-SP-relative addresses holding the context pointer

    def touches(self, plan: Plan, d: Decoded) -> tuple[str, ...]:
        access = d.access
        if not d.memory:
            return ()
        if d.vector_access is not None:  # SVE/SME: the displacement and size scale with the vector length
            scaled = d.vector_access
            sign = "-" if scaled.multiple < 0 else "+"
            where = f"{scaled.base} {sign} {abs(scaled.multiple)} × {scaled.unit.upper()}"
            return (f"memory at {where} (scales with the vector length)",)
        if access is None or access.index is not None or self.context is None:
            return ("memory (not followed)",)
        displacement = 0 if access.post_index else access.displacement
        if access.base in self.context:
            return tuple(_region_names(plan, displacement, access.size))
        if access.base == "sp" and self.sp is not None:
            address = self.sp + displacement
            return (f"stack {address:+d}..{address + access.size:+d}",)
        return ("memory (not followed)",)

    def step(self, d: Decoded) -> None:
        if self.context is None:
            return
        mnemonic = d.text.split()[0]
        access = d.access
        data = sorted(d.reads - {access.base} if access else set())
        sp_address = None
        if access and access.base == "sp" and access.index is None and self.sp is not None:
            sp_address = self.sp + (0 if access.post_index else access.displacement)
        if access and access.write and sp_address is not None and len(data) == 1 and data[0] in self.context:
            self.spills.add(sp_address)
        loads_context = access is not None and not access.write and sp_address in self.spills
        move = _MOVE.match(d.text)
        copies = move is not None and move.group(2) in self.context
        self.context -= d.writes
        if loads_context:
            self.context |= d.writes - {"sp"}
        if copies and move:
            self.context.add(move.group(1))
        self._move_sp(d)
        if mnemonic in _BRANCHES and mnemonic != "ret":
            self.context = None  # the code is no longer straight-line: stop following

    def _move_sp(self, d: Decoded) -> None:
        if self.sp is None or "sp" not in d.writes:
            return
        arithmetic = _SP_ARITHMETIC.match(d.text)
        if arithmetic:
            amount = _immediate(arithmetic.group(2))
            self.sp += amount if arithmetic.group(1) == "add" else -amount
        elif d.pre_index:
            self.sp += d.displacement
        elif d.writeback and (post := _POST_INDEX.search(d.text)):
            self.sp += _immediate(post.group(1))
        else:
            self.sp = None  # SP set some other way: stack addresses are no longer known


def annotate(plan: Plan, assembly: Assembly) -> list[Row]:
    decoded = decode(assembly.code)
    roles = generated_roles(plan, assembly)
    tracker = _Tracker()
    rows = []
    for index, d in enumerate(decoded):
        if roles is not None:
            role, block = roles[index]
        elif int.from_bytes(assembly.code[d.offset : d.offset + 4], "little") == plan.model.conduit_encoding:
            role, block = "trap", ""
        else:
            role, block = UNKNOWN, ""
        touches = tracker.touches(plan, d)
        tracker.step(d)
        writes = (d.access is not None and d.access.write) or (d.vector_access is not None and d.vector_access.write)
        access = "" if not d.memory else ("write" if writes else "read")
        rows.append(
            Row(d.offset, assembly.line_of(d.offset), assembly.text_of(d.offset), d.text, role, block, touches, access)
        )
    return rows
