"""The context byte by byte, as a reviewer reads it: which bytes are whose.

Every byte up to the size limit is one of:
- shared: the slot of a shared register; VTL0's value travels through it;
- private: the slot of a private register (e.g. x[18], x[29], x[30] in the Hyper-V
  layout): the struct keeps room for it, but the switch never transfers it;
- reserved: a field or padding with no register (e.g. `rsvd`);
- unused: past the struct, up to the bytes reserved for it (`max_size`).
Both the Documentation page's layout table and the HTML report's drawing read this.
"""

from __future__ import annotations

from dataclasses import dataclass

from vtlgen.plan import Plan

KINDS = ("shared", "private", "reserved", "unused")


@dataclass(frozen=True)
class Region:
    offset: int
    size: int
    kind: str  # one of KINDS
    field: str  # the C field, "" for padding and unused bytes
    first: int  # first element index in the field
    count: int  # elements
    registers: tuple[str, ...]  # the registers whose slots these are, in order
    array: bool = False  # the field has several elements, so one is named `field[i]`

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def slots(self) -> str:
        """`x[0..17]`, `rsvd`, or "" for padding and unused bytes."""
        if not self.field:
            return ""
        if self.count == 1:
            return f"{self.field}[{self.first}]" if self.array else self.field
        return f"{self.field}[{self.first}..{self.first + self.count - 1}]"


def _element_kind(plan: Plan, field: str, index: int, shared: dict[tuple[str, int], str]) -> tuple[str, str | None]:
    if (field, index) in shared:
        return "shared", shared[(field, index)]
    # A slot named after a register (x[18] for x18) that the spec does not share.
    name = f"{field}{index}"
    classes = dict(plan.register_classes)
    if name in classes:
        return ("private" if classes[name] == "private" else "reserved"), name
    return "reserved", None


def elements(plan: Plan) -> list[Region]:
    """One region per element of the context, then padding and the unused tail."""
    shared = {(s.field, s.index): s.register for s in plan.slots}
    out: list[Region] = []
    position = 0
    for element in plan.context.elements:
        if element.offset > position:
            out.append(Region(position, element.offset - position, "reserved", "", 0, 0, ()))
        for index in range(element.count):
            kind, register = _element_kind(plan, element.name, index, shared)
            offset = element.offset + index * element.element_size
            registers = (register,) if register else ()
            array = element.count > 1
            out.append(Region(offset, element.element_size, kind, element.name, index, 1, registers, array))
        position = element.offset + element.size
    if plan.context.size > position:
        out.append(Region(position, plan.context.size - position, "reserved", "", 0, 0, ()))
    limit = plan.context.max_size or plan.context.size
    if limit > plan.context.size:
        out.append(Region(plan.context.size, limit - plan.context.size, "unused", "", 0, 0, ()))
    return out


def runs(plan: Plan) -> list[Region]:
    """Neighbouring elements of one field and one kind merged: the rows of a layout table."""
    merged: list[Region] = []
    for region in elements(plan):
        last = merged[-1] if merged else None
        if (
            last is not None
            and region.field
            and last.field == region.field
            and last.kind == region.kind
            and last.end == region.offset
            and bool(last.registers) == bool(region.registers)
        ):
            merged[-1] = Region(
                last.offset,
                last.size + region.size,
                last.kind,
                last.field,
                last.first,
                last.count + region.count,
                last.registers + region.registers,
                True,
            )
        else:
            merged.append(region)
    return merged
