"""The qemu-user backend: the stub, assembled by GNU as, runs on a real CPU model.

vtlgen renders a small C harness (templates/qemu_harness.c.j2), links the stub into it,
cross-compiles it statically and runs it under `qemu-aarch64 -cpu cortex-a72` (no SVE
record in the signal frame; ABI.md "Tool facts"). The conduit traps as SIGILL and the
handler applies the model's move, computed here from the spec by `trial.py`. What the
harness records at the trap and after the return is judged by `contract.py`, as for
unicorn, so a property means the same on both backends.

Observable here: P1, P2, P4, P5, P9; P3 and P6 at the trap and after the return; P8 for
the context and its guard bytes. Not observable: P6 at every instruction, P7 (SP
alignment, accesses around SP) and P10 (register reads after the call).
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vtlgen import __version__, contract, render, sandbox, trial
from vtlgen.assembler import assemble
from vtlgen.contract import Finding, fmt
from vtlgen.plan import Plan
from vtlgen.report import PROPERTIES, Collector, ConventionReport, StubSource
from vtlgen.trial import CONTEXT, MASK64, REGION, InitialState, Switch, TrialFactory

# Debian packages that provide each tool.
TOOLS = {
    "aarch64-linux-gnu-as": "binutils-aarch64-linux-gnu",
    "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
    "qemu-aarch64": "qemu-user",
    "bwrap": sandbox.BWRAP_PACKAGE,  # the stub runs natively: only inside a sandbox (sandbox.py)
}
BUILD_SECONDS = 120.0  # GNU as and gcc on our own harness: seconds, even on a loaded machine
RUN_SECONDS_BASE = 20.0  # qemu-user start-up, plus
RUN_SECONDS_PER_TRIAL = 0.05  # a generous bound per trial (the harness's own timer stops a looping stub)
UNOBSERVABLE = {
    "P7": "SP alignment and accesses around SP are not visible to a signal handler",
    "P10": "register reads after the call are not visible",
}
PARTIAL = {
    "P3": "checked at the trap and after the return, not at every instruction",
    "P6": "checked at the trap, not at every instruction",
    "P8": "checked on the context and its guard bytes, not on every access",
}
MAX_SWITCH = 128

_CPU = "31Q Q 64Q"
_IN = struct.Struct(f"<29Q 64Q {REGION}s I I {MAX_SWITCH * 24}s {MAX_SWITCH * 24}s")
_TRAP = f"Q I I {_CPU} 16s {REGION}s"
_OUT = struct.Struct(f"<I I Q Q {_TRAP} {_TRAP} {_CPU} 16s {REGION}s")
_SWITCH = struct.Struct("<I I Q Q")
_MEMORY = struct.Struct("<I I 16s")
_KINDS = {"x": 0, "q": 1, "nzcv": 2}
_DONE, _FAULT, _TIMEOUT, _NOT_A_CONDUIT = range(4)


class ToolMissing(RuntimeError):
    def __init__(self, tool: str):
        super().__init__(f"{tool} not found; install the Debian package {TOOLS[tool]}")
        self.tool, self.package = tool, TOOLS[tool]


class HarnessError(RuntimeError):
    """The harness could not be built or did not run."""


def harness_source() -> str:
    names = ("context_page", "region", "guard", "stack", "stack_size", "entry_sp", "caller_record",
             "grand_record", "caller_lr", "grand_lr", "stack_scrub")  # fmt: skip
    addresses = {name: getattr(trial, name.upper()) for name in names}  # one address map (trial.py)
    return render.render("qemu_harness.c.j2", addresses=addresses, version=__version__)


def wrap_stub(text: str) -> str:
    """Name the stub's first instruction and its end, so the harness can call and bound it."""
    head = "\t.text\n\t.balign 4\n\t.global vtlgen_stub_entry\nvtlgen_stub_entry:\n"
    # Falling off the end hits a permanently undefined instruction, not whatever comes next.
    return head + text + "\n\t.global vtlgen_stub_end\nvtlgen_stub_end:\n\tudf #0\n"


@dataclass(frozen=True)
class Built:
    executable: Path
    return_point: int
    stub_start: int
    stub_end: int


def _run(command: list[str], folder: Path, *, writable: bool, seconds: float, stdin: Path | None = None) -> bytes:
    """Every program this backend starts runs contained (sandbox.run_contained), under a deadline."""
    result = sandbox.run_contained(command, scratch=folder, writable=writable, seconds=seconds, stdin=stdin)
    if result.timed_out:
        raise HarnessError(f"{command[0]} did not finish within {seconds:g} s")
    if result.returncode != 0:
        raise HarnessError(f"{' '.join(command[:2])} failed: {result.stderr.decode(errors='replace').strip()[:2000]}")
    return result.stdout


def build(canonical_stub: str, folder: Path) -> Built:
    """Link the vetted stub text (never the author's own) into the harness, inside the sandbox."""
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise ToolMissing(tool)
    (folder / "stub.S").write_text(wrap_stub(canonical_stub))
    (folder / "harness.c").write_text(harness_source())
    _run(["aarch64-linux-gnu-as", "-o", "stub.o", "stub.S"], folder, writable=True, seconds=BUILD_SECONDS)
    _run(["aarch64-linux-gnu-gcc", "-std=gnu11", "-O1", "-Wall", "-static", "-o", "harness", "harness.c", "stub.o"],
         folder, writable=True, seconds=BUILD_SECONDS)  # fmt: skip
    printed = _run(["qemu-aarch64", "-cpu", "cortex-a72", "./harness", "--addresses"], folder, writable=False,
                   seconds=BUILD_SECONDS).split()  # fmt: skip
    return_point, start, end, size_in, size_out = (int(word) for word in printed)
    if (size_in, size_out) != (_IN.size, _OUT.size):
        raise HarnessError(f"record sizes differ: C {size_in}/{size_out}, Python {_IN.size}/{_OUT.size}")
    return Built(folder / "harness", return_point, start, end)


def _pack(state: InitialState, switch: Switch) -> bytes:
    if len(switch.registers) > MAX_SWITCH or len(switch.memory) > MAX_SWITCH:
        raise HarnessError("the model changes more registers or slots than the harness holds")
    entry = state.entry
    q = [half for n in range(32) for half in (entry[f"q{n}"] & MASK64, entry[f"q{n}"] >> 64)]
    moves = b"".join(
        _SWITCH.pack(_KINDS["nzcv"] if name == "nzcv" else _KINDS[name[0]], 0 if name == "nzcv" else int(name[1:]),
                     value & MASK64, value >> 64)
        for name, value in switch.registers
    )  # fmt: skip
    memory = b"".join(_MEMORY.pack(offset, len(data), data) for offset, data in switch.memory)
    return _IN.pack(
        *(entry[f"x{n}"] for n in range(29)), *q, state.region, len(switch.registers), len(switch.memory),
        moves.ljust(MAX_SWITCH * 24, b"\0"), memory.ljust(MAX_SWITCH * 24, b"\0"),
    )  # fmt: skip


def _cpu(values: tuple[int, ...]) -> dict[str, int]:
    registers = {f"x{n}": values[n] for n in range(31)}
    registers["sp"] = values[31]
    for n in range(32):
        registers[f"q{n}"] = values[32 + 2 * n] | (values[33 + 2 * n] << 64)
    return registers


@dataclass(frozen=True)
class _Trap:
    pc: int
    word: int
    record_valid: bool
    cpu: dict[str, int]
    record: bytes
    region: bytes


def _unpack(raw: bytes) -> tuple[int, int, int, int, list[_Trap], dict[str, int], bytes, bytes]:
    fields = _OUT.unpack(raw)
    status, traps, fault_pc, fault_address = fields[:4]
    position, trap_list = 4, []
    cpu_size = 31 + 1 + 64
    for _ in range(2):
        pc, word, valid = fields[position : position + 3]
        cpu = _cpu(fields[position + 3 : position + 3 + cpu_size])
        record, region = fields[position + 3 + cpu_size], fields[position + 4 + cpu_size]
        trap_list.append(_Trap(pc, word, bool(valid), cpu, record, region))
        position += 5 + cpu_size
    after = _cpu(fields[position : position + cpu_size])
    record, region = fields[position + cpu_size], fields[position + cpu_size + 1]
    return status, traps, fault_pc, fault_address, trap_list, after, record, region


def _constant(record: bytes) -> Callable[[int], bytes]:
    """The frame record the harness copied at the trap, whatever address is asked for."""
    return lambda _address: record


def validate(plan: Plan, stub_text: str, stub_file: str, trials: int, seed: int) -> ConventionReport:
    source = StubSource(assemble(stub_text, stub_file), stub_file)  # vetted; unicorn's rules and source lines
    factory = TrialFactory(plan)
    collector = Collector()
    with tempfile.TemporaryDirectory(prefix="vtlgen-qemu-") as name:
        folder = Path(name)
        built = build(source.assembly.canonical, folder)
        states = [factory.initial(seed + k, built.return_point) for k in range(trials)]
        switches = [factory.switch(state) for state in states]
        payload = struct.pack("<I", trials) + b"".join(_pack(s, w) for s, w in zip(states, switches, strict=True))
        (folder / "trials.in").write_bytes(payload)
        seconds = RUN_SECONDS_BASE + RUN_SECONDS_PER_TRIAL * trials
        output = _run(["qemu-aarch64", "-cpu", "cortex-a72", "./harness"], folder, writable=False, seconds=seconds,
                      stdin=folder / "trials.in")  # fmt: skip
    if len(output) != _OUT.size * trials:
        raise HarnessError(f"the harness wrote {len(output)} bytes for {trials} trials")

    def offset_of(pc: int) -> int | None:
        return pc - built.stub_start if built.stub_start <= pc < built.stub_end else None

    def note(prop: str, message: str, pc_offset: int | None, location: str, expected: str, actual: str, k: int) -> None:
        collector.add(source.violation(prop, message, pc_offset, location, expected, actual, seed + k))

    def findings(items: list[Finding], pc_offset: int | None, k: int) -> None:
        for f in items:
            note(f.property, f.message, pc_offset, f.location, f.expected, f.actual, k)

    for k, (state, switch) in enumerate(zip(states, switches, strict=True)):
        status, traps, fault_pc, fault_address, trap_list, after, after_record, region = _unpack(
            output[k * _OUT.size : (k + 1) * _OUT.size]
        )
        vtl2 = contract.Vtl2Values(state, [(built.stub_start, built.stub_end)], [built.return_point, CONTEXT])
        for trap in trap_list[: min(traps, 2)]:
            at = offset_of(trap.pc)
            if trap.word != plan.model.conduit_encoding:
                message = f"wrong conduit, expected `{plan.model.conduit_text}`"
                note("P9", message, at, "", f"0x{plan.model.conduit_encoding:08x}", f"0x{trap.word:08x}", k)
        if traps > 1:
            note("P9", "a second trap", offset_of(trap_list[1].pc), "", "exactly one", str(traps), k)
        if traps >= 1:
            first = trap_list[0]
            at = offset_of(first.pc)
            findings(contract.entry(plan, state, first.cpu, first.region, vtl2), at, k)
            record = first.record if first.record_valid else bytes(16)
            findings(contract.frame(plan, state, first.cpu, _constant(record)), at, k)
        if status == _NOT_A_CONDUIT:
            if offset_of(fault_pc) is None:
                message = "control leaves the stub without returning to the entry x30"
                note("P5", message, None, "pc", fmt(built.return_point), fmt(fault_pc), k)
            else:
                note("P9", "unexpected undefined instruction (not a conduit)", offset_of(fault_pc), "", "", "", k)
            continue
        if status == _TIMEOUT:
            note("P9", "did not finish within the time limit", offset_of(fault_pc), "", "", "", k)
            continue
        if status == _FAULT:
            if fault_address == fault_pc:
                message = "control leaves the stub without returning to the entry x30"
                note("P5", message, None, "pc", fmt(built.return_point), fmt(fault_pc), k)
            else:
                message = f"accesses {fmt(fault_address)}, outside the context and the frame"
                note("P8", message, offset_of(fault_pc), f"[{fmt(fault_address)}]", "context or frame", "fault", k)
            continue
        if traps == 0:
            note("P9", "never traps", None, "", "one trap", "none", k)
            continue
        findings(contract.frame(plan, state, after, _constant(after_record)), None, k)
        findings(contract.exit(plan, state, after, region, switch.expected_slots, set()), None, k)
    return ConventionReport(
        spec_id=plan.spec_id,
        convention_id=plan.convention_id,
        stub=stub_file,
        backend="qemu-user",
        trials=trials,
        instructions_per_round_trip=0,  # not measured: qemu-user counts nothing for us
        lower_bound=plan.budget.lower_bound,
        properties_checked=[p for p in PROPERTIES if p not in UNOBSERVABLE],
        properties_unobservable=[f"{p}: {why}" for p, why in {**UNOBSERVABLE, **PARTIAL}.items()],
        not_modelled=list(plan.not_modelled),
        violations=collector.violations(),
        occurrences=collector.occurrences(),
    )
