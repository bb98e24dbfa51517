"""The qemu-user backend: the stub, assembled by GNU as, runs on a real CPU model.

vtlgen links the stub into a small C harness (qemu_harness.c beside this module, its
object compiled once per plan shape and cached: `vtlgen.validate.backends.qemu_harness`)
statically and runs it under `qemu-aarch64 -cpu cortex-a72` (no SVE
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
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from vtlgen.guard import sandbox
from vtlgen.isa.registers import FRAME_REGISTERS
from vtlgen.plan import Plan
from vtlgen.validate.backends.base import BackendError, End, FrameStep, Observable, StubCode, Trap, TrialObservation
from vtlgen.validate.backends.qemu_harness import (
    COMPILER,
    MAX_SWITCH,
    MOVE_KINDS,
    OBJECT,
    STATUSES,
    TOOL_SECONDS,
    TRIAL_MICROSECONDS,
    HarnessError,
    HarnessShape,
    harness_object,
    run_tool,
)
from vtlgen.validate.backends.qemu_vector import VectorShape, chunked
from vtlgen.validate.trial import MASK64, InitialState, Switch, TrialFactory
from vtlgen.validate.vector_trial import streaming_length

__all__ = ["LIMITS", "TOOLS", "Built", "HarnessError", "QemuUserBackend", "ToolMissing", "build", "wrap_stub"]

# Debian packages that provide each tool.
TOOLS = {
    "aarch64-linux-gnu-as": "binutils-aarch64-linux-gnu",
    COMPILER: "gcc-aarch64-linux-gnu",
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
BATCH = 256  # trials per harness run: bounded memory for any --trials
BATCH_BYTES = 8 << 20  # and at most this much input or output per run (vector records are large)
CPU = "cortex-a72"  # without a vector length: no SVE record in the signal frame
_DONE, _FAULT, _TIMEOUT, _EXCEPTION = (STATUSES[name] for name in ("DONE", "FAULT", "TIMEOUT", "EXCEPTION"))


class ToolMissing(BackendError):
    def __init__(self, tool: str):
        super().__init__(f"{tool} not found; install the Debian package {TOOLS[tool]}")
        self.tool, self.package = tool, TOOLS[tool]


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


GNU_AS_ARCH = ("-march=armv9-a+sve+sme",)  # a superset of GNU as's default armv8-a


def shape_for(plan: Plan, vector: VectorShape | None = None) -> HarnessShape:
    return HarnessShape(TrialFactory(plan, vector.vl if vector else 0).region_size, vector)


def build(
    plan: Plan, canonical_stub: str, folder: Path, code: bytes | None = None, vector: VectorShape | None = None
) -> Built:
    """Link the vetted stub text (stubsource.vet; never the author's own) into the harness.

    With `code` (keystone's bytes for the same text), GNU as must produce the same bytes:
    otherwise the two backends would judge two different programs. With `vector`, the
    harness loads and observes SVE/SME state at that length. The harness object comes from
    the cache when the same compiler and flags built it for the same header before."""
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise ToolMissing(tool)
    (folder / "stub.S").write_text(wrap_stub(canonical_stub))
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
    shape = shape_for(plan, vector)
    harness_object(folder, shape)
    run_tool([COMPILER, "-static", "-o", "harness", OBJECT, "stub.o"], folder, writable=True, timeout=TOOL_SECONDS)
    executable = folder / "harness"
    printed = run_tool(["qemu-aarch64", "-cpu", vector.cpu if vector else CPU, "./harness", "--addresses"], folder,
                       writable=False, timeout=TOOL_SECONDS)  # fmt: skip
    return_point, start, end, size_in, size_out = (int(word) for word in printed.split())
    # The header's static assertions hold every offset; the sizes again, as the program reports them.
    if (size_in, size_out) != (shape.trial_in.size, shape.trial_out.size):
        raise HarnessError(
            f"record sizes differ: C {size_in}/{size_out}, Python {shape.trial_in.size}/{shape.trial_out.size}"
        )
    return Built(executable, return_point, start, end)


def _move(name: str, value: int) -> dict[str, int]:
    """One register move as a switch_entry."""
    kind = MOVE_KINDS["KIND_NZCV"] if name == "nzcv" else MOVE_KINDS["KIND_X" if name[0] == "x" else "KIND_Q"]
    return {"kind": kind, "index": 0 if name == "nzcv" else int(name[1:]), "lo": value & MASK64, "hi": value >> 64}


def _pack(shape: HarnessShape, state: InitialState, switch: Switch) -> bytes:
    vector = shape.vector
    memory = chunked(switch.memory) if vector else list(switch.memory)
    if len(switch.registers) > MAX_SWITCH or len(memory) > shape.max_memory:
        raise HarnessError("the model changes more registers or slots than the harness holds")
    entry, addresses = state.entry, state.addresses
    return shape.trial_in.pack({
        "x": [entry[f"x{n}"] for n in range(30)],
        "q": [half for n in range(32) for half in (entry[f"q{n}"] & MASK64, entry[f"q{n}"] >> 64)],
        "context": addresses.context,
        "entry_sp": addresses.entry_sp,
        "caller_record": addresses.caller_record,
        "grand_record": addresses.grand_record,
        "region": state.region,
        "scribble": switch.scribble,
        "n_switch": len(switch.registers),
        "n_memory": len(memory),
        "sw": [_move(name, value) for name, value in switch.registers],
        "mem": [{"offset": offset, "size": len(data), "bytes": data} for offset, data in memory],
        **(vector.pack(state, switch) if vector else {}),
    })  # fmt: skip


def _cpu(cpu: Mapping[str, Any]) -> dict[str, int]:
    """struct cpu as register names -> values."""
    x, q = cpu["x"], cpu["q"]
    registers: dict[str, int] = {f"x{n}": x[n] for n in range(31)}
    registers["sp"] = cpu["sp"]
    for n in range(32):
        registers[f"q{n}"] = q[2 * n] | (q[2 * n + 1] << 64)
    return registers


class QemuUserBackend:
    """A real CPU model; observed at the trap and at the end of each trial.

    With `vector_length` (bytes), under `-cpu max` with SVE at that length and SME at the
    trials' streaming length (FEAT_SME_FA64 off), loading and observing Z, P, FFR and ZA;
    `streaming` calls the stub in streaming mode. With `factory` (a replayed trial,
    `vtlgen.validate.trial.GivenTrial`), every trial comes from it."""

    name: ClassVar[str] = "qemu-user"
    # VECTOR even without a vector length: the validator asks an unconfigured backend
    # whether to run trials at the plan's vector lengths, then makes one per length.
    observes: ClassVar[frozenset[Observable]] = frozenset({Observable.WINDOW, Observable.VECTOR})
    limits: ClassVar[Mapping[str, str]] = LIMITS

    def __init__(self, vector_length: int = 0, streaming: bool = False, factory: TrialFactory | None = None):
        if streaming and not vector_length:
            raise BackendError("a streaming trial needs a vector length")
        self.vector_length = vector_length
        self.streaming = streaming
        self.factory = factory
        self.vector = VectorShape(vector_length, streaming_length(vector_length)) if vector_length else None

    def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]:
        """The harness is built once for the plan, the stub and the vector length, then runs
        the trials in batches."""
        factory = self.factory or TrialFactory(plan, self.vector_length, self.streaming)
        vector = self.vector
        shape = HarnessShape(factory.region_size, vector)
        records_in, records_out = shape.trial_in, shape.trial_out
        batch = max(1, min(BATCH, BATCH_BYTES // max(records_in.size, records_out.size)))
        cpu = vector.cpu if vector else CPU
        with tempfile.TemporaryDirectory(prefix="vtlgen-qemu-") as folder:
            built = build(plan, code.assembly.canonical, Path(folder), code.assembly.code, vector)
            for start in range(0, len(trials), batch):
                seeds = trials[start : start + batch]
                # Each trial's move right after its state, as every backend draws them: the
                # factory may carry state from `initial` to `switch` (vector_trial's FFR runs).
                states, switches = [], []
                for seed in seeds:
                    states.append(factory.initial(seed, built.return_point))
                    switches.append(factory.switch(states[-1]))
                payload = b"".join(_pack(shape, s, w) for s, w in zip(states, switches, strict=True))
                seconds = 30.0 + len(seeds) * TRIAL_MICROSECONDS / 1e6
                output = run_tool(
                    ["qemu-aarch64", "-cpu", cpu, "./harness"], Path(folder), writable=False,
                    timeout=seconds, input=payload,
                )  # fmt: skip
                size = records_out.size
                count = len(output) // size
                if count == 0 or len(output) % size:
                    raise HarnessError(f"the harness wrote {len(output)} bytes for {len(seeds)} trials")
                for k in range(count):
                    fields = records_out.unpack(output[k * size : (k + 1) * size])
                    yield self._observation(plan, built, states[k], switches[k], fields)
                if count < len(seeds):
                    return  # the harness stopped at a stub that does not end

    def _observation(
        self, plan: Plan, built: Built, state: InitialState, switch: Switch, out: Mapping[str, Any]
    ) -> TrialObservation:
        return observation(plan, built, state, switch, out, self.vector)


def observation(
    plan: Plan, built: Built, state: InitialState, switch: Switch, out: Mapping[str, Any], vector: VectorShape | None
) -> TrialObservation:
    """What one trial_out record says, as the backend interface says it (qemu-system's too)."""
    trap_cpu, after = _cpu(out["trap_cpu"]), _cpu(out["after"])
    traps, status = out["traps"], out["status"]
    fault_pc, fault_word = out["fault_pc"], out["fault_word"]
    trap_vector: dict[str, bytes] = {}
    end_vector: dict[str, bytes] = {}
    if vector:
        trap_svcr, end_svcr = out["trap_svcr"], out["end_svcr"]
        trap_vector = vector.unpack(trap_svcr, out["trap_vl"], out["trap_z"], out["trap_p"], out["trap_za"],
                                    stride=vector.vmax)  # fmt: skip
        end_vl = vector.end_length(end_svcr)
        end_vector = vector.unpack(end_svcr, end_vl, out["end_z"], out["end_p"], out["end_za"], stride=end_vl)
        trap_cpu["svcr"], after["svcr"] = trap_svcr, end_svcr

    def offset_of(pc: int) -> int | None:
        return pc - built.stub_start if built.stub_start <= pc < built.stub_end else None

    frame_names = [*plan.model.kept, *FRAME_REGISTERS]
    observed_traps, steps = [], []
    if traps >= 1:
        trap_pc = out["trap_pc"]
        registers = trap_cpu | {"nzcv": 0}
        trap = Trap(offset_of(trap_pc), "conduit", out["trap_word"], registers, out["trap_region"],
                    vector=trap_vector)  # fmt: skip
        observed_traps.append(trap)
        record = out["trap_record"] if out["trap_record_valid"] else b""
        steps.append(FrameStep(offset_of(trap_pc), {n: trap_cpu[n] for n in frame_names}, record))
    if traps >= 2:
        observed_traps.append(Trap(offset_of(out["second_pc"]), "conduit", out["second_word"], {}, b""))
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
        if out["fault_address"] == fault_pc:
            end = End("left", None, pc=fault_pc)
        else:
            end = End("fault", offset_of(fault_pc), pc=fault_pc, address=out["fault_address"])
    else:
        record = out["after_record"] if out["after_record_valid"] else b""
        steps.append(FrameStep(None, {n: after[n] for n in frame_names}, record))
        window_change = out["window_offset"] if out["window_changed"] else None
        end = End("returned", None, pc=built.return_point, registers=after, region=out["region"],
                  window_change=window_change, vector=end_vector)  # fmt: skip
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
