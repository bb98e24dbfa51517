"""The qemu-system backend: the stub at EL1 under a test hypervisor at EL2.

vtlgen links the stub into a small freestanding image (qemu_system_image.c and
qemu_system_entry.S beside this module, compiled with the cross gcc and cached by content
like the qemu-user harness object) and boots it in `qemu-system-aarch64 -M
virt,virtualization=on -cpu max`. The image runs each trial as the stub really runs:
called through `blr` from EL1 with the MMU on, the stub's page guarded for BTI,
SCTLR_EL1.SA and PSTATE.PAN set, the stack and the context's pages the only memory EL1 may
write; the conduit is a real exception to EL2, where the hypervisor checks ESR_EL2 (EC
0x16, the immediate in ISS), records the registers and the frame record, plays the model's
move from `vtlgen.validate.trial`, scribbles below SP_EL1 and ERETs. Trials go in through
QEMU's generic loader and come back over semihosting, in the qemu-user records
(`vtlgen.validate.backends.qemu_harness`: one layout for both).

Observed here and nowhere else: the trap itself (ESR_EL2, ELR_EL2, ERET), SP alignment
faults, BTI landing pads, stores outside the writable pages as permission faults at the
faulting PC. Not observed: each instruction (P6 between the trap and the end, P10) and
each access that does not fault.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from vtlgen.guard import sandbox
from vtlgen.isa.registers import FRAME_REGISTERS
from vtlgen.plan import Plan
from vtlgen.validate.backends import qemu_harness
from vtlgen.validate.backends.base import (
    Access,
    BackendError,
    End,
    FrameStep,
    Observable,
    StubCode,
    Trap,
    TrialObservation,
)
from vtlgen.validate.backends.qemu_harness import (
    COMPILER,
    STATUSES,
    TOOL_SECONDS,
    TRIAL_MICROSECONDS,
    HarnessError,
    HarnessShape,
    run_tool,
    source,
)
from vtlgen.validate.backends.qemu_records import U8, U32, U64, Field, Record
from vtlgen.validate.backends.qemu_user import GNU_AS_ARCH, Built, _pack, observation, wrap_stub
from vtlgen.validate.trial import InitialState, Switch, TrialFactory
from vtlgen.validate.vector_trial import streaming_length

__all__ = ["LIMITS", "TOOLS", "QemuSystemBackend", "SystemToolMissing", "build_image"]

EMULATOR = "qemu-system-aarch64"
TOOLS = {
    "aarch64-linux-gnu-as": "binutils-aarch64-linux-gnu",
    COMPILER: "gcc-aarch64-linux-gnu",
    "aarch64-linux-gnu-nm": "binutils-aarch64-linux-gnu",
    "aarch64-linux-gnu-objcopy": "binutils-aarch64-linux-gnu",
    EMULATOR: "qemu-system-arm",
    "bwrap": sandbox.BWRAP_PACKAGE,
}
LIMITS = {
    "P7": "SP alignment at the trap (QEMU does not check SCTLR_EL1.SA); below-SP use shows through the "
    "scribbles (at the trap, and at an interrupt after one instruction of the stub)",
    "P3": "after every instruction in one trial in four (else at the trap and the end), except from a "
    "load-exclusive to the next trap or the return",
    "P6": "after every instruction in one trial in four (else at the trap and the end), except from a "
    "load-exclusive to the next trap or the return",
    "P8": "stores outside the context's pages fault; within them seen by their effect; reads are not seen",
    "P10": "not observed: register reads after the call are not visible",
}
SOURCES = ("qemu_system_image.c", "qemu_system_entry.S")
HEADER = "qemu_system.h"
OBJECTS = ("qemu_system_image.o", "qemu_system_entry.o")
# The EL2 code never touches the FP/SIMD registers, which hold the guest's state; no libc.
COMPILE_FLAGS = ("-ffreestanding", "-nostdlib", "-fno-builtin", "-fno-tree-loop-distribute-patterns",
                 "-mgeneral-regs-only", "-mstrict-align", "-O2", "-Wall", "-march=armv8.5-a")  # fmt: skip
CACHE_FORMAT = b"vtlgen qemu-system image objects 1\n"
BATCH = 256
BOOT_SECONDS = 20.0  # booting and the first trial, on a loaded machine
TRIAL_SECONDS = 0.05  # a correct stub takes microseconds; one that never ends meets EL2's timer
# (TRIAL_MICROSECONDS, as for qemu-user), and the run stops there.

# Physical and architectural facts of the image (Arm ARM D8 "VMSAv8-64 translation" for the
# descriptors; QEMU's virt board puts RAM at 1 GiB).
RAM_BASE = 0x4000_0000
IMAGE_BASE = 0x4020_0000  # above the device tree QEMU places at the start of RAM
CONTEXT_PHYSICAL = 0x4400_0000  # each window: a 2 MiB-aligned block of RAM
STACK_PHYSICAL = 0x4440_0000
INPUT_ADDRESS = 0x4800_0000  # the trial count (8 bytes), then struct trial_in records
MEMORY = "1G"
# The virt board's GICv2 (QEMU hw/arm/virt.c: VIRT_GIC_DIST, VIRT_GIC_CPU) and the EL2
# physical timer's interrupt, PPI 10 (the arch-timer binding: INTID 16 + 10).
GIC_DISTRIBUTOR = 0x0800_0000
GIC_CPU = 0x0801_0000
HYP_TIMER_INTID = 26
RETURN_IMMEDIATE = 0xF0E0  # the caller's `hvc` after the stub returns
FAULT_IMMEDIATE = 0xF0E1  # EL1's vectors: `hvc` to hand an exception to EL2
OUTPUT_NAME = "trials.out"
# Exception classes in ESR_ELx (Arm ARM D17 "ESR_EL1", EC field).
EXCEPTION_CLASSES = {
    "EC_HVC": 0x16,
    "EC_BRANCH_TARGET": 0x0D,
    "EC_INSTRUCTION_ABORT_SAME": 0x21,
    "EC_PC_ALIGNMENT": 0x22,
    "EC_DATA_ABORT_SAME": 0x25,
    "EC_SP_ALIGNMENT": 0x26,
    "EC_SOFTWARE_STEP": 0x32,  # from a lower EL
}
MAX_STEPS = 4096  # steps recorded per trial; a longer stub's later steps go unseen
STEP_EVERY = 4  # one trial in four of each run is single-stepped: the rest run at full speed
# The frame after one instruction (software step): the registers FrameTracker reads.
STEP = Record("step", [Field("pc", U64), Field("x", U64, (31,)), Field("sp", U64), Field("record", U8, (16,)),
                       Field("record_valid", U32), Field("after_switch", U32)])  # fmt: skip
_DESC_VALID_PAGE, _AF, _INNER_SHAREABLE = 0b11, 1 << 10, 0b11 << 8
_AP_READ_ONLY, _PXN, _UXN = 0b10 << 6, 1 << 53, 1 << 54
_NORMAL = 0 << 2  # MAIR attribute index 0
_PAGE = _DESC_VALID_PAGE | _AF | _INNER_SHAREABLE | _NORMAL
SYSTEM_REGISTERS = {
    "DESC_TABLE": 0b11,
    "DESC_GUARDED": 1 << 50,  # GP: BTI is enforced on the page (FEAT_BTI)
    "EL2_BLOCK": 0b01 | _AF | _INNER_SHAREABLE | _NORMAL,
    "EL1_CODE": _PAGE | _AP_READ_ONLY | _UXN,
    "EL1_READ_ONLY": _PAGE | _AP_READ_ONLY | _PXN | _UXN,
    "EL1_READ_WRITE": _PAGE | _PXN | _UXN,
    "EL2_DEVICE_BLOCK": 0b01 | _AF | (1 << 2),  # attribute 1: the GIC's registers
    "MAIR_VALUE": 0x00FF,  # attribute 0: normal memory, write-back; attribute 1: Device-nGnRnE
    # T0SZ 25 (39-bit VA, lookups start at level 1), write-back walks, inner shareable, 4 KB, 40-bit PA.
    "TCR_EL2_VALUE": (1 << 31) | (1 << 23) | (0b010 << 16) | (0b11 << 12) | (0b01 << 10) | (0b01 << 8) | 25,
    "TCR_EL1_VALUE": (0b010 << 32) | (1 << 23) | (0b11 << 12) | (0b01 << 10) | (0b01 << 8) | 25,
    # M, C, I and the RES1 bits of the non-VHE EL2 regime.
    "SCTLR_EL2_VALUE": 0x30C5_0830 | (1 << 0) | (1 << 2) | (1 << 12),
    # M, SA, C, I, SPAN (PAN stays as set), BT1 (PACIxSP no landing pad for BTYPE 3), RES1 bits.
    "SCTLR_EL1_VALUE": (1 << 36) | 0x30D0_0800 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 12) | (1 << 23),
    "CPACR_EL1_VALUE": 0x0333_0000,  # SMEN, FPEN, ZEN all 0b11: SME, FP/SIMD and SVE not trapped
    "CPTR_EL2_VALUE": 0x22FF,  # RES1 bits; TFP, TZ and TSM clear
    # RW: EL1 is AArch64; TSC: a stub's `smc` traps to EL2 (EC 0x17) rather than reaching the
    # firmware QEMU emulates (PSCI); API, APK: PAC not trapped.
    # IMO: physical interrupts go to EL2 (the trial's deadline).
    "HCR_EL2_VALUE": (1 << 31) | (1 << 19) | (1 << 4) | (1 << 41) | (1 << 40),
    "SPSR_EL1H": (1 << 22) | (0xF << 6) | 0b0101,  # PAN, DAIF masked, EL1 with SP_EL1
    "SPSR_SS": 1 << 21,  # software step: run one instruction, then a step exception
    "MDSCR_SS": 1 << 0,
    # LDXR, LDAXR, LDXP, LDAXP of any size (Arm ARM C4 "Load/store exclusive": o2 0, L 1, o1 0).
    "LOAD_EXCLUSIVE_MASK": 0x3FC0_0000,
    "LOAD_EXCLUSIVE": 0x0840_0000,
    "MDCR_TDE": 1 << 8,  # debug exceptions from EL1 go to EL2
}


class SystemToolMissing(BackendError):
    def __init__(self, tool: str):
        super().__init__(f"{tool} not found; install the Debian package {TOOLS[tool]}")
        self.tool, self.package = tool, TOOLS[tool]


MINIMUM_VECTOR_LENGTH = 16  # bytes: ZCR_EL2.LEN 0 (Arm ARM "ZCR_EL2"); SMCR_EL2.LEN 0 likewise


def extended_size(plan: Plan) -> int:
    """Bytes of the context at the vector length the image runs at (the extended context's
    VL-scaled slots, which the stub stores whatever the trial): writable at EL1, not judged."""
    return plan.context.size_at(MINIMUM_VECTOR_LENGTH, streaming_length(MINIMUM_VECTOR_LENGTH))


def header(shape: HarnessShape, extended: int) -> str:
    """qemu_system.h: the qemu-user records (qemu_harness.h), then the image's constants."""
    values: dict[str, int] = {
        "EXTENDED_SIZE": extended,
        "RAM_BASE": RAM_BASE,
        "CONTEXT_PHYSICAL": CONTEXT_PHYSICAL,
        "STACK_PHYSICAL": STACK_PHYSICAL,
        "INPUT_ADDRESS": INPUT_ADDRESS,
        "GIC_DISTRIBUTOR": GIC_DISTRIBUTOR,
        "GIC_CPU": GIC_CPU,
        "HYP_TIMER_INTID": HYP_TIMER_INTID,
        "RETURN_IMMEDIATE": RETURN_IMMEDIATE,
        "FAULT_IMMEDIATE": FAULT_IMMEDIATE,
        "CPU_FRAME": qemu_harness.CPU.size,
        "EL2_STACK": 1 << 16,
        "MAX_STEPS": MAX_STEPS,
        "STEP_EVERY": STEP_EVERY,
        **EXCEPTION_CLASSES,
        **SYSTEM_REGISTERS,
    }
    lines = [
        "/* Generated by vtlgen (vtlgen/validate/backends/qemu_system.py); do not edit. */",
        "#ifndef VTLGEN_QEMU_SYSTEM_H",
        "#define VTLGEN_QEMU_SYSTEM_H",
        *(f"#define {name} 0x{value:x}" for name, value in values.items()),
        f'#define OUTPUT_NAME "{OUTPUT_NAME}"',
        "#ifndef __ASSEMBLER__",
        '#include "qemu_harness.h"',
        STEP.declaration(),
        STEP.checks(),
        "#else",
        *(
            f"#define {qemu_harness.CPU.offset_macro(f.name)} {qemu_harness.CPU.offsets[f.name]}"
            for f in qemu_harness.CPU.fields
        ),
        "#endif",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def linker_script() -> str:
    """The image's layout: EL2's code and data, then EL1's pages (the caller and its vectors;
    the stub on pages of its own, which the tables guard)."""
    return f"""ENTRY(_start)
SECTIONS
{{
	. = 0x{IMAGE_BASE:x};
	.text : {{ *(.text.boot) qemu_system_*.o(.text .text.*) }}
	.rodata : {{ *(.rodata .rodata.*) }}
	.data : {{ *(.data .data.*) }}
	.bss : {{ *(.bss .bss.* COMMON) }}
	. = ALIGN(4096);
	.el1 : {{ *(.el1) }}
	. = ALIGN(4096);
	vtlgen_stub_page = .;
	.stub : {{ stub.o(.text .text.*) }}
	. = ALIGN(4096);
	vtlgen_el1_end = .;
	/DISCARD/ : {{ *(.comment) *(.note*) *(.eh_frame*) }}
}}
"""


def _prepare(folder: Path, shape: HarnessShape, extended: int) -> None:
    for name in SOURCES:
        (folder / name).write_text(source(name))
    (folder / qemu_harness.HEADER).write_text(shape.header())
    (folder / HEADER).write_text(header(shape, extended))


def _compile(folder: Path) -> None:
    for name, object_name in zip(SOURCES, OBJECTS, strict=True):
        run_tool([COMPILER, *COMPILE_FLAGS, "-c", "-o", object_name, name], folder, writable=True, timeout=TOOL_SECONDS)


def cache_key(shape: HarnessShape, extended: int) -> str:
    """The hash of everything that shapes the objects' bytes, as for the qemu-user harness."""
    digest = hashlib.sha256(CACHE_FORMAT)
    parts = (" ".join(COMPILE_FLAGS).encode(), qemu_harness._identity(COMPILER),
             qemu_harness._identity(qemu_harness.ASSEMBLER), *(source(name).encode() for name in SOURCES),
             shape.header().encode(), header(shape, extended).encode())  # fmt: skip
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()


def image_objects(folder: Path, shape: HarnessShape, extended: int) -> bool:
    """The image's objects in `folder`: from the cache (the qemu-user harness's, by content
    hash) or compiled and then kept. Returns whether they came from the cache. The entry is
    the objects joined, each preceded by its length."""
    _prepare(folder, shape, extended)
    cache = qemu_harness._cache_folder()
    entry = cache / f"system-{cache_key(shape, extended)}.o" if cache else None
    body = qemu_harness._read_entry(entry) if entry else None
    if body is not None:
        pieces, at = [], 0
        while at + 8 <= len(body):
            size = int.from_bytes(body[at : at + 8], "little")
            pieces.append(body[at + 8 : at + 8 + size])
            at += 8 + size
        if len(pieces) == len(OBJECTS) and at == len(body):
            for name, piece in zip(OBJECTS, pieces, strict=True):
                (folder / name).write_bytes(piece)
            return True
    _compile(folder)
    if entry is not None:
        joined = b"".join(len(data).to_bytes(8, "little") + data
                          for data in ((folder / name).read_bytes() for name in OBJECTS))  # fmt: skip
        qemu_harness._write_entry(entry, joined)
    return False


# `hlt #0xf000`, the AArch64 semihosting trap (Arm "Semihosting for AArch32 and AArch64").
SEMIHOSTING_CALL = 0xD45E_0000


def refuse_semihosting(code: bytes) -> None:
    """The image reports over semihosting, which QEMU serves at EL1 as at EL2: a stub that
    made the call could write results of its own. EL1 executes nothing but the stub's page
    and the image's caller (its data pages are execute-never, its code read-only), so a
    stub without the word anywhere in its section (code or literal pool) cannot make it."""
    for at in range(0, len(code) - 3, 4):
        if int.from_bytes(code[at : at + 4], "little") == SEMIHOSTING_CALL:
            raise HarnessError(f"the stub holds `hlt #0xf000` (the semihosting call) at +0x{at:x}: not run")


@dataclass(frozen=True)
class Image:
    path: Path
    return_point: int
    stub_start: int
    stub_end: int


def build_image(plan: Plan, canonical_stub: str, folder: Path, shape: HarnessShape) -> Image:
    """Assemble the vetted stub text, link it into the image, and read where its parts are."""
    for tool in TOOLS:
        if shutil.which(tool) is None:
            raise SystemToolMissing(tool)
    if plan.model.conduit_text.split()[0] != "hvc":
        raise BackendError(
            f"qemu-system runs hvc conduits only; this convention traps with `{plan.model.conduit_text}`"
        )
    (folder / "stub.S").write_text(wrap_stub(canonical_stub))
    run_tool(["aarch64-linux-gnu-as", *GNU_AS_ARCH, "-o", "stub.o", "stub.S"], folder, writable=True,
             timeout=TOOL_SECONDS)  # fmt: skip
    undefined = run_tool(["aarch64-linux-gnu-nm", "-u", "stub.o"], folder, writable=False, timeout=TOOL_SECONDS)
    if undefined.strip():
        names = ", ".join(line.split()[-1] for line in undefined.decode(errors="replace").splitlines() if line.split())
        raise HarnessError(f"the stub refers to symbols it does not define: {names}")
    run_tool(["aarch64-linux-gnu-objcopy", "-O", "binary", "-j", ".text", "stub.o", "stub.bin"], folder,
             writable=True, timeout=TOOL_SECONDS)  # fmt: skip
    refuse_semihosting((folder / "stub.bin").read_bytes())
    image_objects(folder, shape, extended_size(plan))
    (folder / "image.ld").write_text(linker_script())
    run_tool([COMPILER, "-nostdlib", "-static", "-Wl,--build-id=none", "-T", "image.ld", "-o", "image.elf",
              *OBJECTS, "stub.o"], folder, writable=True, timeout=TOOL_SECONDS)  # fmt: skip
    symbols: dict[str, int] = {}
    listing = run_tool(["aarch64-linux-gnu-nm", "image.elf"], folder, writable=False, timeout=TOOL_SECONDS)
    for line in listing.decode(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = int(parts[0], 16)
    try:
        return Image(folder / "image.elf", symbols["vtlgen_return_point"], symbols["vtlgen_stub_entry"],
                     symbols["vtlgen_stub_end"])  # fmt: skip
    except KeyError as missing:
        raise HarnessError(f"the image has no symbol {missing}") from None


def emulator_command(count: int) -> list[str]:
    return [
        EMULATOR, "-M", "virt,virtualization=on,gic-version=2", "-cpu", "max", "-m", MEMORY,
        "-nographic", "-monitor", "none", "-serial", "none",
        "-semihosting-config", "enable=on,target=native", "-kernel", "image.elf",
        "-device", f"loader,addr=0x{INPUT_ADDRESS:x},data={count},data-len=8",
        "-device", f"loader,file=trials.in,addr=0x{INPUT_ADDRESS + 8:x},force-raw=on",
    ]  # fmt: skip


_DONE, _FAULT, _EXCEPTION, _ALIGNMENT, _LANDING, _TIMEOUT = (
    STATUSES[name] for name in ("DONE", "FAULT", "EXCEPTION", "ALIGNMENT", "LANDING", "TIMEOUT")
)


class QemuSystemBackend:
    """The stub at EL1 under a test hypervisor at EL2; observed at the trap, at the end, and
    at any fault the architecture raises (alignment, BTI, permission, undefined)."""

    name: ClassVar[str] = "qemu-system"
    observes: ClassVar[frozenset[Observable]] = frozenset({Observable.WINDOW, Observable.STEPS})
    limits: ClassVar[Mapping[str, str]] = LIMITS

    def __init__(self, vector_length: int = 0, streaming: bool = False, factory: TrialFactory | None = None):
        if vector_length or streaming:
            raise BackendError("qemu-system runs trials without SVE state for now")
        self.factory = factory

    def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]:
        factory = self.factory or TrialFactory(plan)
        shape = HarnessShape(factory.region_size, None)
        records_out = shape.trial_out
        with tempfile.TemporaryDirectory(prefix="vtlgen-qemu-system-") as name:
            folder = Path(name)
            image = build_image(plan, code.assembly.canonical, folder, shape)
            for start in range(0, len(trials), BATCH):
                seeds = trials[start : start + BATCH]
                states, switches = [], []
                for seed in seeds:
                    states.append(factory.initial(seed, image.return_point))
                    switches.append(factory.switch(states[-1]))
                (folder / "trials.in").write_bytes(
                    b"".join(_pack(shape, s, w) for s, w in zip(states, switches, strict=True))
                )
                (folder / OUTPUT_NAME).unlink(missing_ok=True)
                deadline = BOOT_SECONDS + len(seeds) * TRIAL_SECONDS + TRIAL_MICROSECONDS / 1e6
                result = sandbox.run_contained(emulator_command(len(seeds)), scratch=folder, writable=True,
                                               seconds=deadline)  # fmt: skip
                output = (folder / OUTPUT_NAME).read_bytes() if (folder / OUTPUT_NAME).exists() else b""
                records = list(_records(records_out, output))
                count = len(records)
                stopped = bool(records) and records[-1][0]["status"] == _TIMEOUT
                if not result.timed_out and (result.returncode != 0 or (count != len(seeds) and not stopped)):
                    shown = result.stderr.decode(errors="replace").strip()[:300]
                    raise HarnessError(f"the test image stopped (status {result.returncode}) after {count} of "
                                       f"{len(seeds)} trials: {shown}")  # fmt: skip
                for k, (fields, trial_steps) in enumerate(records):
                    seen = self._observation(plan, image, states[k], switches[k], fields)
                    yield _with_steps(plan, image, seen, trial_steps)
                if count < len(seeds):
                    if result.timed_out:  # not even EL2's timer ended it: the whole run's deadline did
                        yield self._unended(image, states[count], switches[count])
                    return  # the image stops at a stub that does not end: one trial shows it

    @staticmethod
    def _unended(image: Image, state: InitialState, switch: Switch) -> TrialObservation:
        return TrialObservation(state.seed, state, switch, image.return_point, (image.stub_start, image.stub_end),
                                [], End("limit", None))  # fmt: skip

    def _observation(
        self, plan: Plan, image: Image, state: InitialState, switch: Switch, out: Mapping[str, Any]
    ) -> TrialObservation:
        status = out["status"]
        built = Built(image.path, image.return_point, image.stub_start, image.stub_end)
        if status in (_DONE, _FAULT, _EXCEPTION, _TIMEOUT):
            return _sp_at_trap(observation(plan, built, state, switch, out, None))
        # Faults only EL1 raises; the trap before them, if any, reads as for qemu-user.
        seen = observation(plan, built, state, switch, {**out, "status": _DONE}, None)
        pc = out["fault_pc"]
        at = pc - image.stub_start if image.stub_start <= pc < image.stub_end else None
        if status == _ALIGNMENT:
            end = End("alignment", at, pc=pc, address=out["fault_address"], registers={"sp": out["after"]["sp"]})
        else:  # LANDING
            seen.traps.append(Trap(at, "exception", out["fault_word"], {}, b"", cause=BTI_CAUSE))
            end = End("exception", at, pc=pc)
        seen.end = end
        seen.steps = seen.steps[:1] if out["traps"] else []  # the frame at the trap; there is no return
        return _sp_at_trap(seen)


def _records(trial_out: Record, output: bytes) -> Iterator[tuple[dict[str, Any], bytes]]:
    """Each whole trial in the image's output: its trial_out, a step count (8 bytes) and that
    many steps (returned raw). A trial cut short (the run's deadline) is not yielded."""
    at, size = 0, trial_out.size
    while at + size + 8 <= len(output):
        fields = trial_out.unpack(output[at : at + size])
        count = int.from_bytes(output[at + size : at + size + 8], "little")
        start, end = at + size + 8, at + size + 8 + count * STEP.size
        if count > MAX_STEPS or end > len(output):
            return
        yield fields, output[start:end]
        at = end


# Where each register FrameTracker reads sits in a row of STEP (pc, x0-x30, sp, record, valid, after).
_STEP_ITEM = {f"x{n}": 1 + n for n in range(31)} | {"sp": 32}
_RECORD, _RECORD_VALID, _AFTER_SWITCH = 33, 34, 35


def _with_steps(plan: Plan, image: Image, seen: TrialObservation, steps: bytes) -> TrialObservation:
    """The frame after every instruction the stub ran, the trap's frame before the model's
    move beside the one after it, and the frame after the return (qemu-user's end step)."""
    items = [(name, _STEP_ITEM[name]) for name in (*plan.model.kept, *FRAME_REGISTERS)]
    trap_steps = [step for step in seen.steps if step.offset is not None]
    end_steps = [step for step in seen.steps if step.offset is None]
    frames: list[FrameStep] = []
    start = image.stub_start
    for row in STEP.rows(steps):
        after_switch = bool(row[_AFTER_SWITCH])
        if after_switch:
            frames += trap_steps[:1]  # the frame at the trap, before the move
            trap_steps = []
        record = row[_RECORD] if row[_RECORD_VALID] else b""
        frames.append(FrameStep(row[0] - start, {name: row[i] for name, i in items}, record, after_switch))
    seen.steps = frames + end_steps
    return seen


def _sp_at_trap(seen: TrialObservation) -> TrialObservation:
    """The hypervisor sees SP_EL1 at the trap: a misaligned SP there is an SP-based state P7
    forbids (AAPCS64 "The Stack": SP mod 16 = 0 at any SP-based access, and the hypervisor's
    own code may use that stack). QEMU does not implement SCTLR_EL1.SA's check, so this is
    where a misaligned SP shows under QEMU; on a CPU that checks it, the ALIGNMENT status does."""
    conduits = [t for t in seen.traps if t.kind == "conduit" and "sp" in t.registers]
    if conduits and conduits[0].registers["sp"] % 16:
        sp = conduits[0].registers["sp"]
        seen.accesses.append(Access(conduits[0].offset or 0, sp, 0, False, sp, sp, True))
    return seen


BTI_CAUSE = "a branch target exception: no BTI landing pad where an indirect branch arrived on a guarded page"
