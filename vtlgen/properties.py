"""P1-P10, the register-preservation spec, stated once (README "What `validate` checks").

Each property has an id, a short name and what must hold. Two evaluators judge a stub
against them: the trials (`vtlgen.validate.contract`, over observations of concrete runs)
and the proof (`vtlgen.prove.obligations`, over every input). Both word a violation with
the builders below, so the same fault reads the same whichever found it; the reports (text,
HTML, SARIF) and the ABI page take the statements from `PROPERTIES`.

This module sits on the lowest floor: it knows words, not plans, registers or solvers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Property:
    id: str  # "P1"
    name: str  # "entry": the word a reader remembers it by
    text: str  # what must hold

    @property
    def statement(self) -> str:
        """The property as every report and the ABI page show it: `name: text`."""
        return f"{self.name}: {self.text}"


_ALL = (
    Property("P1", "entry", "at the trap, shared registers hold VTL0's values; SMCCC arguments in place"),
    Property("P2", "leak", "at the trap, nothing VTL0 can see holds a VTL2 value"),
    Property(
        "P3",
        "kernel registers",
        "private GPRs (x18 when private) never written; x30 scratch only while the live record holds it",
    ),
    Property("P4", "exit", "the context's shared slots hold what VTL0 left; other bytes unchanged"),
    Property("P5", "caller", "x19-x28, x29, SP, d8-d15 as at entry; control returns to the entry x30"),
    Property("P6", "frame", "at every instruction x29 is the caller's frame pointer or an 8-byte-aligned live record"),
    Property("P7", "stack", "SP 16-byte aligned at SP-based accesses; nothing below SP or above the caller's SP"),
    Property("P8", "footprint", "writes only to shared slots and the stub's frame; reads only from those"),
    Property("P9", "conduit", "exactly one trap with the exact conduit; bounded length"),
    Property("P10", "results", "after an SMCCC call the stub relies on no register the call may change"),
)

PROPERTIES: Mapping[str, Property] = MappingProxyType({p.id: p for p in _ALL})
IDS: tuple[str, ...] = tuple(PROPERTIES)


def statements() -> dict[str, str]:
    """Property id -> its statement, in order (the ABI page's table, the HTML report's rows)."""
    return {p.id: p.statement for p in PROPERTIES.values()}


# --- how a violation is worded, by property -----------------------------------------------------
# The trials and the proof name the same location the same way (`x5`, `ctx->x[5]`, `[sp-0x10]`);
# what differs is only how they arrive at it.

# P1, P2: at the trap.


def vtl2_value_visible(register: str) -> str:
    return f"VTL0 would see a VTL2 value in {register} at the trap"


def not_vtl0_value(register: str, field: str, index: int) -> str:
    return f"{register} does not hold VTL0's value from ctx->{field}[{index}] at the trap"


def changed_before_trap(where: str) -> str:
    return f"{where} changed before the trap"


def argument_missing(register: str, name: str, width: int) -> str:
    # A 32-bit argument (the SMCCC function ID, DEN0028 "Function Identifiers") is written as
    # wN, which zero-extends: junk in bits 63:32 is not the value the ABI passes.
    what = f"the zero-extended 32-bit {name}" if width == 32 else name
    return f"{register} does not hold {what} at the trap"


# P3, P6: along the way. Linux's unwinder (arch/arm64/kernel/stacktrace.c) rejects `fp & 7`
# and records off the stack; it reads the return address from the record.


def writes_kept(register: str) -> str:
    return f"writes {register}, which the stub must keep"


X30_WITHOUT_RECORD = "writes x30 while no live frame record holds the return address"
FP_MISALIGNED = "x29 is not 8-byte aligned (the unwinder rejects fp & 7)"
FP_OUTSIDE_FRAME = "x29 does not point into the stub's frame, between SP and the caller's SP"
FP_RECORD_WRONG = "the record at x29 does not hold {caller x29, return address}"

# P4, P5: after the return.


def slot_not_vtl0s(where: str, register: str) -> str:
    return f"{where} does not hold VTL0's {register}"


def not_as_at_entry(register: str) -> str:
    return f"{register} is not as at entry"


LEAVES_STUB = "control leaves the stub without returning to the entry x30"

# P7, P8: memory.

MISALIGNED_SP = "accesses memory through a misaligned SP"


def below_sp(write: bool) -> str:
    return f"{_verb(write)} below SP"


def above_caller_sp(write: bool) -> str:
    return f"{_verb(write)} above the caller's SP"


def outside_shared_slots(where: str) -> str:
    return f"writes {where}, outside the shared slots"


def _verb(write: bool) -> str:
    return "writes" if write else "reads"


# P9: the conduit.

SECOND_TRAP = "a second trap"
NEVER_TRAPS = "never traps"
NO_END = "did not finish within the limit"


def wrong_conduit(conduit_text: str) -> str:
    return f"wrong conduit, expected `{conduit_text}`"


# P10: after the call.


def reads_clobbered(register: str) -> str:
    return f"reads {register}, which the call may change and is not a declared result"


# --- what a violation shows as expected and as found, where both evaluators show the same ----

ONE_TRAP, NO_TRAP = "one trap", "none"  # P9, never traps
EXACTLY_ONE = "exactly one"  # P9, a second trap
BOUNDED_RUN, UNBOUNDED = "a bounded run", "no end"  # P9, no end within the limit
SP_ALIGNMENT = "a multiple of 16"  # P7 (AAPCS64: SP is 16-byte aligned at every SP-based access)
A_SHARED_SLOT = "a shared slot"  # P8, a write outside them
UNREAD, READ = "not read before written", "read"  # P10
UNREADABLE_RECORD = "unreadable"  # P6, no frame record at x29


def access_of(size: int, write: bool) -> str:
    return f"{size}-byte {'write' if write else 'read'}"


def readable_context(size: int) -> str:
    return f"ctx+0..{size}"
