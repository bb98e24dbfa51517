"""Where the unicorn harness must look at a stub, decided once per stub from its code.

Looking at every instruction (one callback each) is most of a trial's cost, yet most
instructions need no look of their own: a load or store's address follows from its base
register, and a base register that nothing but a pre-indexed writeback changed since the
last look is known from that look. So the harness looks only

- where a translated block starts (the executed trace is the blocks' instructions: QEMU,
  which unicorn is, ends a block at every branch and at every instruction that raises an
  exception, so a block that is entered runs to its end or stops at a trap or fault);
- at the instruction after one that may change frame state (x29, x30, SP, `plan.model.kept`),
  where the frame step is read (P3, P6); and after one whose effects are not known exactly;
- at a load or store whose registers an instruction since the last look changed in any
  other way.

Between two looks the accesses are computed from the registers read at the first
(`Segment`). What cannot be decided this way (a store into the live frame record that is
not the last instruction before a look, a trial that does not return) the harness leaves
to its reference mode, which looks at every instruction (unicorn_harness.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from vtlgen.isa.disassembler import Decoded


class AccessTemplate(NamedTuple):
    """One load or store of a segment, relative to the registers read at the segment's start:
    its address is `registers[base] + constant (+ (registers[index_register] + index_delta) << shift)`.
    (A tuple: the harness unpacks one per access of every trial.)"""

    offset: int
    write: bool
    size: int
    base: str
    constant: int  # how far the base moved since the segment's start, plus the displacement
    index_register: str | None
    index_delta: int
    shift: int
    sp_delta: int  # SP at the access, from SP at the segment's start
    push: int  # how far a pre-indexed `[sp, #-n]!` moves SP before its access
    sp_based: bool


@dataclass(frozen=True)
class Segment:
    """The instructions from one look to the next one planned: the registers to read at
    the start (`names`) and the accesses in order."""

    names: tuple[str, ...]
    accesses: tuple[AccessTemplate, ...]


class WatchPlan:
    """The looks planned for one stub (`looks`, instruction indices) and the segments that
    start at any instruction (a block may start anywhere a branch lands)."""

    def __init__(self, decoded: Sequence[Decoded], trapped: Sequence[bool], watched: Collection[str]):
        """`trapped[i]`: instruction i always traps (an SVE/SME word the harness runs itself)."""
        self.decoded = decoded
        self.trapped = trapped
        self.frame_writer = [bool(d.writes & set(watched)) for d in decoded]
        looks: list[int] = []
        changed: set[str] = set()  # registers changed, other than by a known delta, since the last look
        for i, d in enumerate(decoded):
            look = i > 0 and (self.frame_writer[i - 1] or not decoded[i - 1].exact)
            if not look and self._access(i) is not None and changed & set(self._registers(i)):
                look = True
            if look:
                looks.append(i)
                changed = set()
            changed |= {name for name in d.writes if self._delta(i, name) is None}
        self.looks = tuple(looks)
        self._look_set = frozenset(looks)
        self._segments: dict[int, Segment] = {}

    def _access(self, i: int) -> Decoded | None:
        d = self.decoded[i]
        return d if d.access is not None and not self.trapped[i] else None

    def _registers(self, i: int) -> tuple[str, ...]:
        access = self.decoded[i].access
        assert access is not None
        return (access.base, *([access.index] if access.index else []), "sp")

    def _delta(self, i: int, name: str) -> int | None:
        """How instruction i changes register `name` by a known amount, or None when not known:
        only a pre-indexed store's writeback, or a pre-indexed load's of SP (a load's data
        register may be the base; SP never is one)."""
        d = self.decoded[i]
        if name not in d.writes:
            return 0
        access = d.access
        if access is None or not (d.writeback and d.pre_index) or name != access.base or self.trapped[i]:
            return None
        return d.displacement if access.write or name == "sp" else None

    def segment(self, start: int) -> Segment:
        """The segment from instruction `start` to the next planned look (or the code's end)."""
        segment = self._segments.get(start)
        if segment is not None:
            return segment
        deltas: dict[str, int] = {}
        names: list[str] = []
        accesses: list[AccessTemplate] = []
        for i in range(start, len(self.decoded)):
            if i > start and i in self._look_set:
                break
            if self._access(i) is not None:
                d = self.decoded[i]
                access = d.access
                assert access is not None
                for name in self._registers(i):
                    if name not in names:
                        names.append(name)
                sp_based = d.base == "sp"
                accesses.append(
                    AccessTemplate(
                        offset=4 * i,
                        write=access.write,
                        size=access.size,
                        base=access.base,
                        # A post-indexed access is at the base; its writeback comes after.
                        constant=deltas.get(access.base, 0) + (0 if access.post_index else access.displacement),
                        index_register=access.index,
                        index_delta=deltas.get(access.index, 0) if access.index else 0,
                        shift=access.shift,
                        sp_delta=deltas.get("sp", 0),
                        push=d.displacement if sp_based and d.pre_index else 0,
                        sp_based=sp_based,
                    )
                )
            for name in self.decoded[i].writes:
                delta = self._delta(i, name)
                # A register changed otherwise is read again at a look before any access uses it.
                deltas[name] = deltas.get(name, 0) + (delta or 0)
        segment = self._segments[start] = Segment(tuple(names), tuple(accesses))
        return segment
