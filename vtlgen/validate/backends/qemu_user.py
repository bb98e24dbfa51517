"""The qemu-user backend: the stub, assembled by GNU as, runs on a real CPU model.

vtlgen renders a small C harness (templates/qemu_harness.c.j2), links the stub into it,
cross-compiles it statically and runs it under `qemu-aarch64 -cpu cortex-a72` (no SVE
record in the signal frame), or, made with a vector length, under `-cpu max` with SVE and
SME at that length (`vtlgen.validate.backends.qemu_vector`). The conduit traps as SIGILL and the
handler applies the model's move, which `vtlgen.validate.trial` computed; trials stream through
the harness in bounded batches, so memory stays flat however many are asked for. What the
harness records at the trap and after the return is judged by `vtlgen.validate.contract`, as for
unicorn.

Observed here: the registers, the frame record and the context at the trap and after
the return, faults, exceptions (`brk`, `udf`), a time limit per trial, and writes
anywhere in the context's window; at a vector length also Z, P, FFR, ZA and SVCR. Not
observed: each instruction (P6 between the trap and the end, P10) and each access (P7: SP
alignment, reads around SP; the model's scribble below SP at the trap shows a stub that
keeps data there through its effects).
"""

from __future__ import annotations

import shutil
import struct
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from vtlgen import __version__
from vtlgen.generate import render
from vtlgen.guard import sandbox
from vtlgen.guard.quoting import one_line
from vtlgen.isa import encoding
from vtlgen.isa.registers import FRAME_REGISTERS
from vtlgen.plan import Plan
from vtlgen.validate import trial
from vtlgen.validate.backends.base import BackendError, End, FrameStep, Observable, StubCode, Trap, TrialObservation
from vtlgen.validate.backends.qemu_vector import VectorShape, chunked
from vtlgen.validate.trial import MASK64, InitialState, Switch, TrialFactory
from vtlgen.validate.vector_trial import streaming_length

# Debian packages that provide each tool.
TOOLS = {
    "aarch64-linux-gnu-as": "binutils-aarch64-linux-gnu",
    "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
    "qemu-aarch64": "qemu-user",
    "aarch64-linux-gnu-nm": "binutils-aarch64-linux-gnu",
    "aarch64-linux-gnu-objcopy": "binutils-aarch64-linux-gnu",
    "bwrap": sandbox.BWRAP_PACKAGE,  # the stub runs natively: only inside a sandbox (vtlgen/guard/sandbox.py)
}
LIMITS = {
    "P3": "checked at the trap and after the return, not at every instruction",
    "P6": "checked at the trap and after the return, not at every instruction",
    "P7": "not observed: a signal handler sees no SP alignment or access; below-SP use shows through the scribble",
    "P8": "writes seen anywhere in the context's window, faults elsewhere; reads outside the context are not seen",
    "P10": "not observed: register reads after the call are not visible",
}
MAX_SWITCH = 128
BATCH = 256  # trials per harness run: bounded memory for any --trials
BATCH_BYTES = 8 << 20  # and at most this much input or output per run (vector records are large)
ALTSTACK = 1 << 16  # the signal handler's stack, before room for vector records
CPU = "cortex-a72"  # without a vector length: no SVE record in the signal frame
TRIAL_MICROSECONDS = 250_000  # a correct stub takes microseconds even under qemu
TOOL_SECONDS = 120.0  # assembling, compiling, linking
_CPU_REGS = 31 + 1 + 64
_KINDS = {"x": 0, "q": 1, "nzcv": 2}
_DONE, _FAULT, _TIMEOUT, _EXCEPTION = range(4)
_SWITCH = struct.Struct("<I I Q Q")
_MEMORY = struct.Struct("<I I 16s")


class ToolMissing(BackendError):
    def __init__(self, tool: str):
        super().__init__(f"{tool} not found; install the Debian package {TOOLS[tool]}")
        self.tool, self.package = tool, TOOLS[tool]


class HarnessError(BackendError):
    """The harness could not be built or did not run."""


def run_tool(argv: list[str], folder: Path, *, writable: bool, timeout: float, input: bytes | None = None) -> bytes:
    """Every subprocess of this backend: contained (sandbox.run_contained: it sees only /usr
    and `folder`), with a time limit; returns its stdout."""
    stdin = None
    if input is not None:
        stdin = folder / "trials.in"
        stdin.write_bytes(input)
    result = sandbox.run_contained(argv, scratch=folder, writable=writable, seconds=timeout, stdin=stdin)
    if result.timed_out:
        raise HarnessError(f"{' '.join(argv[:2])} did not finish within {timeout:.0f} s")
    if result.returncode != 0:
        # Its stderr may be a stub's own writes: one printable line, bounded.
        shown = one_line(result.stderr.decode(errors="replace").strip(), limit=500)
        raise HarnessError(f"{' '.join(argv[:2])} failed: {shown}")
    return result.stdout


@dataclass(frozen=True)
class _Pair:
    first: int
    second: int
    offset: int


def _cpu_layout() -> dict[str, object]:
    """Offsets in the harness's `struct cpu` {x[31], sp, q[32][2]}, for the template to print."""
    x_numbers = [*range(0, 16), *range(18, 30)]
    return {
        "x_pairs": [_Pair(n, n + 1, 8 * n) for n in x_numbers[::2]],
        "q_pairs": [_Pair(n, n + 1, 8 * 32 + 16 * n) for n in range(0, 32, 2)],
        "x16": 8 * 16,
        "x17": 8 * 17,
        "x30": 8 * 30,
        "sp": 8 * 31,
    }


def _max_memory(region: int, vector: VectorShape | None) -> int:
    """Memory move entries a record holds: 16-byte pieces of VL-scaled slots, with a vector length."""
    return MAX_SWITCH if vector is None else MAX_SWITCH + region // 16


def harness_source(plan: Plan, vector: VectorShape | None = None) -> str:
    factory = TrialFactory(plan, vector.vl if vector else 0)
    constants = {
        "context_window": trial.CONTEXT_WINDOW,
        "stack_window": trial.STACK_WINDOW,
        "window_size": trial.WINDOW_SIZE,
        "region": factory.region_size,
        "guard": trial.GUARD,
        "scribble": trial.SCRIBBLE,
        "stack_scrub": trial.STACK_SCRUB,
        "caller_lr": trial.CALLER_LR,
        "grand_lr": trial.GRAND_LR,
        "max_switch": MAX_SWITCH,
        "max_memory": _max_memory(factory.region_size, vector),
        # The signal frame goes on this stack: with SVE and ZA it holds the vector state too.
        "altstack": ALTSTACK + (vector.frame if vector else 0),
        "trial_microseconds": TRIAL_MICROSECONDS,
        "conduit_mask": encoding.EXCEPTION_MASK,
        "conduit_patterns": encoding.conduit_patterns(),
    }
    return render.render(
        "qemu_harness.c.j2",
        constants=constants,
        cpu=_cpu_layout(),
        vector=vector.template() if vector else None,
        version=__version__,
    )


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


class _Records:
    """The binary records the harness reads and writes, sized for one plan."""

    def __init__(self, region: int, vector: VectorShape | None = None):
        cpu = f"{_CPU_REGS}Q"
        self.max_memory = _max_memory(region, vector)
        moves = f"{MAX_SWITCH * 24}s {self.max_memory * 24}s"
        self.input = struct.Struct(
            f"<30Q 64Q 4Q {region}s {trial.SCRIBBLE}s I I {moves} {vector.input_format() if vector else ''}"
        )
        self.output = struct.Struct(
            f"<I I Q Q I I q Q Q I I I I {cpu} 16s {region}s {cpu} 16s {region}s "
            f"{vector.output_format() if vector else ''}"
        )


GNU_AS_ARCH = ("-march=armv9-a+sve+sme",)  # a superset of GNU as's default armv8-a


def build(
    plan: Plan, canonical_stub: str, folder: Path, code: bytes | None = None, vector: VectorShape | None = None
) -> Built:
    """Link the vetted stub text (stubsource.vet; never the author's own) into the harness.

    With `code` (keystone's bytes for the same text), GNU as must produce the same bytes:
    otherwise the two backends would judge two different programs. With `vector`, the
    harness loads and observes SVE/SME state at that length."""
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise ToolMissing(tool)
    (folder / "stub.S").write_text(wrap_stub(canonical_stub))
    (folder / "harness.c").write_text(harness_source(plan, vector))
    # The SVE/SME forms vtlgen encodes itself (vtlgen/isa/sve.py) need the architecture named;
    # the byte comparison below still holds GNU as to keystone's and vtlgen's words.
    as_command = ["aarch64-linux-gnu-as", *GNU_AS_ARCH, "-o", "stub.o", "stub.S"]
    run_tool(as_command, folder, writable=True, timeout=TOOL_SECONDS)
    # A stub that names a symbol it does not define reaches into the harness (its records,
    # libc): refused, so that what runs is the stub and nothing it borrows.
    undefined = run_tool(["aarch64-linux-gnu-nm", "-u", "stub.o"], folder, writable=False, timeout=TOOL_SECONDS)
    if undefined.strip():
        names = ", ".join(line.split()[-1] for line in undefined.decode(errors="replace").splitlines() if line.split())
        raise HarnessError(f"the stub refers to symbols it does not define: {names}")
    if code is not None:
        run_tool(["aarch64-linux-gnu-objcopy", "-O", "binary", "-j", ".text", "stub.o", "stub.bin"], folder,
                 writable=True, timeout=TOOL_SECONDS)  # fmt: skip
        gnu = (folder / "stub.bin").read_bytes()[: len(code)]
        if gnu != code:
            at = next(i for i in range(0, len(code), 4) if gnu[i : i + 4] != code[i : i + 4])
            raise HarnessError(
                f"GNU as and keystone assemble the stub differently at +0x{at:x} "
                f"({gnu[at : at + 4].hex()} against {code[at : at + 4].hex()})"
            )
    run_tool(["aarch64-linux-gnu-gcc", "-std=gnu11", "-O1", "-Wall", "-static", "-o", "harness", "harness.c",
              "stub.o"], folder, writable=True, timeout=TOOL_SECONDS)  # fmt: skip
    executable = folder / "harness"
    printed = run_tool(["qemu-aarch64", "-cpu", vector.cpu if vector else CPU, "./harness", "--addresses"], folder,
                       writable=False, timeout=TOOL_SECONDS)  # fmt: skip
    return_point, start, end, size_in, size_out = (int(word) for word in printed.split())
    records = _Records(TrialFactory(plan, vector.vl if vector else 0).region_size, vector)
    if (size_in, size_out) != (records.input.size, records.output.size):
        raise HarnessError(
            f"record sizes differ: C {size_in}/{size_out}, Python {records.input.size}/{records.output.size}"
        )
    return Built(executable, return_point, start, end)


def _pack(records: _Records, state: InitialState, switch: Switch, vector: VectorShape | None = None) -> bytes:
    memory = chunked(switch.memory) if vector else list(switch.memory)
    if len(switch.registers) > MAX_SWITCH or len(memory) > records.max_memory:
        raise HarnessError("the model changes more registers or slots than the harness holds")
    entry, addresses = state.entry, state.addresses
    q = [half for n in range(32) for half in (entry[f"q{n}"] & MASK64, entry[f"q{n}"] >> 64)]
    moves = b"".join(
        _SWITCH.pack(_KINDS["nzcv"] if name == "nzcv" else _KINDS[name[0]], 0 if name == "nzcv" else int(name[1:]),
                     value & MASK64, value >> 64)
        for name, value in switch.registers
    )  # fmt: skip
    packed = b"".join(_MEMORY.pack(offset, len(data), data) for offset, data in memory)
    return records.input.pack(
        *(entry[f"x{n}"] for n in range(30)), *q,
        addresses.context, addresses.entry_sp, addresses.caller_record, addresses.grand_record,
        state.region, switch.scribble, len(switch.registers), len(memory),
        moves.ljust(MAX_SWITCH * 24, b"\0"), packed.ljust(records.max_memory * 24, b"\0"),
        *(vector.pack(state, switch) if vector else ()),
    )  # fmt: skip


def _cpu(values: Sequence[int]) -> dict[str, int]:
    registers = {f"x{n}": values[n] for n in range(31)}
    registers["sp"] = values[31]
    for n in range(32):
        registers[f"q{n}"] = values[32 + 2 * n] | (values[33 + 2 * n] << 64)
    return registers


class QemuUserBackend:
    """A real CPU model; observed at the trap and at the end of each trial.

    With `vector_length` (bytes), under `-cpu max` with SVE at that length and SME at the
    trials' streaming length (FEAT_SME_FA64 off), loading and observing Z, P, FFR and ZA;
    `streaming` calls the stub in streaming mode."""

    name = "qemu-user"
    # VECTOR even without a vector length: the validator asks an unconfigured backend
    # whether to run trials at the plan's vector lengths, then makes one per length.
    observes = frozenset({Observable.WINDOW, Observable.VECTOR})
    limits = LIMITS

    def __init__(self, vector_length: int = 0, streaming: bool = False):
        if streaming and not vector_length:
            raise BackendError("a streaming trial needs a vector length")
        self.vector_length = vector_length
        self.streaming = streaming
        self.vector = VectorShape(vector_length, streaming_length(vector_length)) if vector_length else None

    def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]:
        factory = TrialFactory(plan, self.vector_length, self.streaming)
        yield from self.observe_with(factory, code.assembly.canonical, code.assembly.code, trials)

    def observe_with(
        self, factory: TrialFactory, canonical: str, code: bytes | None, trials: Sequence[int]
    ) -> Iterator[TrialObservation]:
        """`observe` with the trials `factory` makes: the harness is built once for the
        plan, the stub and the vector length, then runs the trials in batches."""
        plan, vector = factory.plan, self.vector
        records = _Records(factory.region_size, vector)
        batch = max(1, min(BATCH, BATCH_BYTES // max(records.input.size, records.output.size)))
        cpu = vector.cpu if vector else CPU
        with tempfile.TemporaryDirectory(prefix="vtlgen-qemu-") as folder:
            built = build(plan, canonical, Path(folder), code, vector)
            for start in range(0, len(trials), batch):
                seeds = trials[start : start + batch]
                # Each trial's move right after its state, as every backend draws them: the
                # factory may carry state from `initial` to `switch` (vector_trial's FFR runs).
                states, switches = [], []
                for seed in seeds:
                    states.append(factory.initial(seed, built.return_point))
                    switches.append(factory.switch(states[-1]))
                payload = b"".join(_pack(records, s, w, vector) for s, w in zip(states, switches, strict=True))
                seconds = 30.0 + len(seeds) * TRIAL_MICROSECONDS / 1e6
                output = run_tool(
                    ["qemu-aarch64", "-cpu", cpu, "./harness"], Path(folder), writable=False,
                    timeout=seconds, input=payload,
                )  # fmt: skip
                count = len(output) // records.output.size
                if count == 0 or len(output) % records.output.size:
                    raise HarnessError(f"the harness wrote {len(output)} bytes for {len(seeds)} trials")
                for k in range(count):
                    raw = output[k * records.output.size : (k + 1) * records.output.size]
                    yield self._observation(plan, built, records, states[k], switches[k], raw)
                if count < len(seeds):
                    return  # the harness stopped at a stub that does not end

    def _observation(
        self, plan: Plan, built: Built, records: _Records, state: InitialState, switch: Switch, raw: bytes
    ) -> TrialObservation:
        fields = records.output.unpack(raw)
        (status, traps, fault_pc, fault_address, fault_word, window_changed, window_offset,
         trap_pc, second_pc, trap_word, second_word, trap_record_valid, after_record_valid) = fields[:13]  # fmt: skip
        position = 13
        trap_cpu = _cpu(fields[position : position + _CPU_REGS])
        trap_record, trap_region = fields[position + _CPU_REGS], fields[position + _CPU_REGS + 1]
        position += _CPU_REGS + 2
        after = _cpu(fields[position : position + _CPU_REGS])
        after_record, region = fields[position + _CPU_REGS], fields[position + _CPU_REGS + 1]
        position += _CPU_REGS + 2
        trap_vector: dict[str, bytes] = {}
        end_vector: dict[str, bytes] = {}
        if self.vector:
            vector = self.vector
            trap_svcr, trap_vl, end_svcr, _ = fields[position : position + 4]
            trap_areas, end_areas = fields[position + 4 : position + 7], fields[position + 7 : position + 10]
            trap_vector = vector.unpack(trap_svcr, trap_vl, *trap_areas, stride=vector.vmax)
            end_vl = vector.end_length(end_svcr)
            end_vector = vector.unpack(end_svcr, end_vl, *end_areas, stride=end_vl)
            trap_cpu["svcr"], after["svcr"] = trap_svcr, end_svcr

        def offset_of(pc: int) -> int | None:
            return pc - built.stub_start if built.stub_start <= pc < built.stub_end else None

        frame_names = [*plan.model.kept, *FRAME_REGISTERS]
        observed_traps, steps = [], []
        if traps >= 1:
            registers = trap_cpu | {"nzcv": 0}
            trap = Trap(offset_of(trap_pc), "conduit", trap_word, registers, trap_region, vector=trap_vector)
            observed_traps.append(trap)
            record = trap_record if trap_record_valid else b""
            steps.append(FrameStep(offset_of(trap_pc), {n: trap_cpu[n] for n in frame_names}, record))
        if traps >= 2:
            observed_traps.append(Trap(offset_of(second_pc), "conduit", second_word, {}, b""))
        if status == _EXCEPTION:
            at = offset_of(fault_pc)
            if at is None or (at >= built.stub_end - built.stub_start - 4 and fault_word == 0):
                end = End("left", at, pc=fault_pc)  # fell off the stub's end or went elsewhere
            else:
                observed_traps.append(Trap(at, "exception", fault_word, {}, b""))
                end = End("exception", at, pc=fault_pc)
        elif status == _TIMEOUT:
            end = End("limit", offset_of(fault_pc), pc=fault_pc)
        elif status == _FAULT:
            if fault_address == fault_pc:
                end = End("left", None, pc=fault_pc)
            else:
                end = End("fault", offset_of(fault_pc), pc=fault_pc, address=fault_address)
        else:
            record = after_record if after_record_valid else b""
            steps.append(FrameStep(None, {n: after[n] for n in frame_names}, record))
            end = End("returned", None, pc=built.return_point, registers=after, region=region,
                      window_change=window_offset if window_changed else None, vector=end_vector)  # fmt: skip
        return TrialObservation(
            seed=state.seed,
            state=state,
            switch=switch,
            return_address=built.return_point,
            code_range=(built.stub_start, built.stub_end),
            traps=observed_traps,
            end=end,
            steps=steps,
        )
