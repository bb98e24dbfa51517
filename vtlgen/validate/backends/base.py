"""The interface between the validator and a backend: what one trial observed.

A backend runs the stub and OBSERVES; it judges nothing. `vtlgen.validate.contract.TrialJudge`
turns each `TrialObservation` into violations, so a property means the same on every
backend, and a new backend (another emulator, a board) is one module that implements
`Backend` and touches no verdict. (The proof is no backend: it observes no trial. It is a
checker beside the trials, `vtlgen.validate.results.Checker`, and `vtlgen.verify` composes both.)

    class Backend(Protocol):
        name: ClassVar[str]
        observes: ClassVar[frozenset[Observable]]
        limits: ClassVar[Mapping[str, str]]
        def __init__(self, vector_length: int = 0, streaming: bool = False,
                     factory: TrialFactory | None = None) -> None: ...
        def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]: ...

The capabilities are class attributes, so a caller reads what a backend sees without
building one (`BackendClass`).

`trials` are seeds. For each seed the backend builds the trial with
`vtlgen.validate.trial.TrialFactory(plan)` (`initial(seed, return_address)`, then `switch(state)` at
the trap) so that a seed means the same inputs everywhere, or with the `factory` it was
made with (a `vtlgen.validate.trial.GivenTrial`: a replayed counterexample), runs the stub from that state
as `void f(ctx)` (x0 = `state.addresses.context`, SP = `state.addresses.entry_sp`,
x29 = `state.addresses.caller_record`, x30 = the return address), plays the model's move
at the trap (`Switch.registers`, `Switch.memory` at the context, `Switch.scribble` just
below the SP of the trap), and yields one observation. Observations hold plain values
only: ints, bytes, strings, tuples and dicts of register name -> int (names as in
`vtlgen.isa.registers`: x0-x30, sp, q0-q31, nzcv). Offsets are bytes from the stub's first
instruction; addresses are absolute.

SVE and SME: a backend that observes `Observable.VECTOR` is made with a vector length
(`vector_length`, bytes; 0 for none) and `streaming` (call the stub with PSTATE.SM = 1, a
precondition trial), builds its trials with `TrialFactory(plan, vector_length, streaming)`,
loads `state.vector` before the call, applies `switch.vector` at the trap (after
`switch.registers`; a "zN" move of VL bytes sets all of Zn, one of VL - 16 bytes only its
bits above 127; "za" only while PSTATE.ZA is 1) and fills
`Trap.vector` and `End.vector` (names z0-z31, p0-p15, ffr, za; little-endian bytes).

What a backend cannot see it leaves empty and says so: `observes` lists the kinds of
observation it makes (see `Observable`); `limits` maps a property id to why it is only
partly checked. A backend that meets a stub it cannot run raises `BackendError` (the CLI
exits 2); a stub that misbehaves is never an error, it is an observation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, NamedTuple, Protocol

from vtlgen.isa.assembler import Assembly
from vtlgen.plan import Plan
from vtlgen.validate.trial import InitialState, Switch, TrialFactory


class BackendError(RuntimeError):
    """The backend could not run the stub at all (a missing tool, a harness that broke)."""


class Observable(str, Enum):
    """Kinds of observation a backend may make, beyond the trap and the end."""

    STEPS = "steps"  # FrameStep after every instruction that may change frame state (P3, P6)
    ACCESSES = "accesses"  # every memory access (P7, P8 at any address)
    TRACE = "trace"  # the offset of every executed instruction (P10, blame, instruction count)
    WINDOW = "window"  # writes anywhere in the context's window, not only near the context (P8)
    VECTOR = "vector"  # SVE/SME state (Z, P, FFR, ZA) at the trap and the end, at a vector length


@dataclass(frozen=True)
class StubCode:
    """The stub under validation: its GNU-as text, its file name, and its machine code."""

    text: str
    file: str
    assembly: Assembly


@dataclass(frozen=True)
class FrameStep:
    """Frame state right after the instruction at `offset` (or at entry, offset None).

    registers: x29, x30, sp and `plan.model.kept` as they are now.
    record: the 16 bytes at x29 when x29 points into the stack window, else b"".
    """

    offset: int | None
    registers: Mapping[str, int]
    record: bytes
    after_switch: bool = False  # right after the model's move at the trap: the hypervisor's doing, a new baseline


class Access(NamedTuple):
    """One memory access: `low` is the lowest address SP allows for it (SP, or the new SP
    of a pre-indexed `[sp, #-n]!`); `sp_based` says whether SP is the base register.
    (A tuple: a trial of a long stub makes hundreds.)"""

    offset: int
    address: int
    size: int
    write: bool
    sp: int
    low: int
    sp_based: bool


@dataclass(frozen=True)
class Trap:
    """The stub raised an exception at `offset` (None: outside the stub).

    kind: "conduit" for hvc/smc, else "exception" (brk, udf, ...).
    word: the instruction word that trapped.
    registers: every modelled register at the trap (before the model's move).
    region: the context region at the trap (`Addresses.region_start`, region_size bytes).
    """

    offset: int | None
    kind: str
    word: int
    registers: Mapping[str, int]
    region: bytes
    trace_index: int = -1  # len(trace) when the trap was taken; -1 without a trace
    vector: Mapping[str, bytes] = field(default_factory=dict)  # SVE/SME state at the trap, as `InitialState.vector`
    cause: str = ""  # what the architecture said the exception was, when the backend knows (qemu-system)


@dataclass(frozen=True)
class End:
    """How the trial ended.

    kind: "returned" (to the entry x30), "left" (control went elsewhere: `pc`),
    "fault" (a memory fault at `address`), "exception" (a trap that is not the conduit,
    see the last Trap), "alignment" (an SP alignment fault at `address`, with the SP in
    `registers`), "limit" (no end within the instruction or time limit).
    registers, region: as at the end ("returned" only; else empty).
    vector: the SVE/SME state at the end, when the trial has a vector length ("returned" only).
    window_change: for backends that observe WINDOW, the offset from the context of the
    first changed byte in the context window outside the region, else None.
    """

    kind: str
    offset: int | None
    pc: int = 0
    address: int = 0
    registers: Mapping[str, int] = field(default_factory=dict)
    region: bytes = b""
    window_change: int | None = None
    vector: Mapping[str, bytes] = field(default_factory=dict)  # SVE/SME state at the return, as `InitialState.vector`


@dataclass
class TrialObservation:
    seed: int
    state: InitialState
    switch: Switch
    return_address: int
    code_range: tuple[int, int]  # where the stub's code is: VTL2 addresses
    traps: list[Trap]
    end: End
    steps: list[FrameStep] = field(default_factory=list)
    accesses: list[Access] = field(default_factory=list)
    trace: list[int] = field(default_factory=list)


class Backend(Protocol):
    name: ClassVar[str]  # what `--backend` calls it and the report shows
    observes: ClassVar[frozenset[Observable]]  # the kinds of observation this backend fills in
    # Property id -> why this backend checks it only in part ("not observed: ..." when not at all).
    limits: ClassVar[Mapping[str, str]]

    def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]:
        """One observation per seed in `trials`, in order, yielded as each trial ends."""
        ...


class BackendClass(Protocol):
    """A backend before it is made: its capabilities, and how it is made (at a vector length,
    in streaming mode, from given trials)."""

    name: str
    observes: frozenset[Observable]
    limits: Mapping[str, str]

    def __call__(
        self, vector_length: int = 0, streaming: bool = False, factory: TrialFactory | None = None
    ) -> Backend: ...
