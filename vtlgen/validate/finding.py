"""One finding of the contract, before it is placed in the stub's source (`report.Violation`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    property: str
    message: str
    location: str  # register or memory location; "" when neither applies
    expected: str
    actual: str
    offset: int | None = None  # the instruction to blame, when known
    blame_register: str | None = None  # else: the last writer of this register
    blame_context: int | None = None  # else: the last store to this context offset


def fmt(value: int | None) -> str:
    return "-" if value is None else f"0x{value:x}"
