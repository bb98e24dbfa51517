"""The unicorn harness and the hypervisor model: one trial of one stub, as a list of violations.

A trial calls the stub as a C function (x0 = the context) with every register holding a
random, distinct, tagged value, x29 pointing at a valid frame-record chain and x30 holding
a sentinel return address. At the conduit trap the hypervisor model, derived from the
Plan, checks the entry contract and then changes everything the ABI lets it change.
Nothing is printed; unicorn constants appear only in this module.

Unicorn facts (ABI.md "Tool facts"): it runs at EL1, where `hvc` arrives in
UC_HOOK_INTR as intno 1 (UDEF) with PC at the `hvc`, and ESR is not written, so the
trapping instruction is decoded here. It has no SVE/SME, so those classes are checked
by lint only.
"""

from __future__ import annotations

import ctypes
import random
import struct
from dataclasses import dataclass, field

from unicorn import (
    UC_ARCH_ARM64,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_MEM_WRITE,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_ARM,
)
from unicorn import arm64_const as regs
from unicorn.unicorn_py3.unicorn import Uc, UcError
from unicorn.unicorn_py3.unicorn import uclib as _uclib

from vtlgen import registers
from vtlgen.assembler import Assembly
from vtlgen.disassembler import Access, Decoded, decode
from vtlgen.plan import Plan
from vtlgen.report import Violation

# Address map of a trial. Each region is its own mapping; anything else faults.
CODE = 0x0001_0000
CODE_SIZE = 0x0001_0000
RETURN_ADDRESS = 0x0004_0000  # a mapped page the stub must return to (x30 at entry)
CONTEXT_PAGE = 0x5000_0000
CONTEXT = CONTEXT_PAGE + 0x400  # guard bytes on both sides, inside the same page
STACK = 0x7000_0000
STACK_SIZE = 0x0001_0000
ENTRY_SP = STACK + STACK_SIZE - 0x100  # above it: the caller's frames
CALLER_RECORD = ENTRY_SP + 0x40  # the caller's frame record {grand-caller fp, caller lr}
GRAND_RECORD = ENTRY_SP + 0x80
CALLER_LR = 0x0004_0800  # return addresses inside the caller (never executed)
GRAND_LR = 0x0004_0900

# Value tags in the top byte say where a value came from (ARCHITECTURE.md: "random,
# distinct, tagged values"): a value with a VTL2 tag at the trap is a leak.
TAG_VTL2 = 0xA2
TAG_VTL2_VECTOR = 0xA3
TAG_VTL0 = 0x70
TAG_VTL0_NEW = 0x71
TAG_CLOBBER = 0xC1
MASK64 = (1 << 64) - 1

STATUS_SUCCESS = 0  # HV_STATUS_SUCCESS, returned in x0 by SMCCC calls
_STACK_SCRUB = 0x2000  # the stub's frame lives in the top of the stack; scrub it per trial
_LOW48 = (1 << 48) - 1

_GPR_IDS = {f"x{n}": getattr(regs, f"UC_ARM64_REG_X{n}") for n in range(29)}
_GPR_IDS |= {"x29": regs.UC_ARM64_REG_X29, "x30": regs.UC_ARM64_REG_X30, "sp": regs.UC_ARM64_REG_SP}
_Q_IDS = {f"q{n}": getattr(regs, f"UC_ARM64_REG_Q{n}") for n in range(32)}
_REG_IDS = _GPR_IDS | _Q_IDS | {"nzcv": regs.UC_ARM64_REG_NZCV}
_PC = regs.UC_ARM64_REG_PC
_SP = regs.UC_ARM64_REG_SP
_X29 = regs.UC_ARM64_REG_X29
_CPACR = regs.UC_ARM64_REG_CPACR_EL1

_UDEF = 1  # hvc/smc at EL1 without SCR_EL3.HCE
_HVC_SMC_MASK = 0xFFE0001F


def is_conduit(word: int) -> bool:
    """`hvc #imm` or `smc #imm` (ABI.md "Conduits": 0xD4000002 | imm16 << 5; smc ends in 3)."""
    return (word & _HVC_SMC_MASK) in (0xD4000002, 0xD4000003)


def _fmt(value: int | None) -> str:
    return "-" if value is None else f"0x{value:x}"


class _Bank:
    """Batch access to a fixed list of registers through one C call each way.

    The Python binding converts register by register (a few microseconds each); a trial
    writes about 130 registers, so the validator talks to `uc_reg_*_batch` directly with
    preallocated buffers of 16 bytes per register (enough for a Q register).
    """

    def __init__(self, uc: Uc, names: list[str]):
        self.uc = uc
        self.names = names
        count = len(names)
        self.count = ctypes.c_int(count)
        self.ids = (ctypes.c_int * count)(*(_REG_IDS[n] for n in names))
        self.buffer = ctypes.create_string_buffer(16 * count)
        base = ctypes.addressof(self.buffer)
        self.pointers = (ctypes.c_void_p * count)(*(base + 16 * i for i in range(count)))
        self.wide = [n.startswith("q") for n in names]
        # Q registers as two little-endian halves; everything else as the low 8 bytes.
        self.layout = struct.Struct("<" + "".join("QQ" if w else "Q8x" for w in self.wide))

    def write(self, values: list[int]) -> None:
        ctypes.memmove(self.buffer, b"".join(v.to_bytes(16, "little") for v in values), 16 * len(values))
        if _uclib.uc_reg_write_batch(self.uc._uch, self.ids, self.pointers, self.count) != 0:
            raise UcError(_uclib.uc_errno(self.uc._uch))

    def read(self) -> list[int]:
        if _uclib.uc_reg_read_batch(self.uc._uch, self.ids, self.pointers, self.count) != 0:
            raise UcError(_uclib.uc_errno(self.uc._uch))
        flat = self.layout.unpack(self.buffer.raw)
        if not any(self.wide):
            return list(flat)
        out, position = [], 0
        for wide in self.wide:
            if wide:
                out.append(flat[position] | (flat[position + 1] << 64))
                position += 2
            else:
                out.append(flat[position])
                position += 1
        return out


@dataclass
class _Trial:
    seed: int
    rng: random.Random
    entry: dict[str, int]
    context: bytes  # the context region as VTL0 left it (guards included)
    vtl2_values: set[int]
    count: int = 0
    traps: int = 0
    current: int = 0  # offset of the instruction being executed
    previous: int | None = None
    after_trap: bool = False
    x29: int = 0
    record_dirty: bool = False
    poisoned: set[str] = field(default_factory=set)
    known: dict[str, int] = field(default_factory=dict)  # register values read and not since written
    expected_slots: dict[str, int] = field(default_factory=dict)
    writes: list[tuple[int, int, int]] = field(default_factory=list)  # (ctx offset, size, instruction)
    flagged_bytes: set[int] = field(default_factory=set)
    trace: list[int] = field(default_factory=list)
    violations: dict[tuple[str, int | None, str], Violation] = field(default_factory=dict)
    fatal: bool = False


@dataclass(frozen=True)
class TrialResult:
    seed: int
    instructions: int
    traps: int
    violations: tuple[Violation, ...]


class Harness:
    """One unicorn instance for one stub, reused across trials."""

    def __init__(self, plan: Plan, assembly: Assembly, source_file: str, checks: bool = True):
        if len(assembly.code) > CODE_SIZE:
            raise ValueError("stub too large")
        self.plan = plan
        self.assembly = assembly
        self.source_file = source_file
        self.checks = checks
        self.decoded: tuple[Decoded, ...] = decode(assembly.code)
        self.end = CODE + len(assembly.code)
        # Hand-written stubs may loop; a correct one needs no more than a few times the bound.
        self.limit = 4 * plan.budget.lower_bound + 256
        model = plan.model
        self.register_slots = model.register_slots
        self.memory_slots = model.memory_slots
        self.private_gprs = [
            name
            for name, cls in plan.register_classes
            if cls == "private" and name in _GPR_IDS and name not in ("sp", registers.FRAME_POINTER)
        ]
        self.randomized = [r for r in model.randomized if r in _REG_IDS]
        self.poison = {r for r in model.randomized if r not in model.results}
        # Context bytes the stub may write: the shared slots (ARCHITECTURE.md P8).
        self.writable = {s.offset + i for s in plan.slots for i in range(s.size)}
        mask = bytearray(0x800)
        for byte in self.writable:
            mask[0x400 + byte] = 1
        self.write_mask = bytes(mask)
        self.context_size = plan.context.size
        # Instructions after which the frame and private-register state may have changed.
        watched = {*self.private_gprs, registers.FRAME_POINTER, "sp"}
        self.state_writers = [bool(d.writes & watched) for d in self.decoded]
        # Loads and stores with a statically known address form are checked in the code
        # hook from their base register, which is much cheaper than a hook per access;
        # any other memory instruction switches this stub to per-access memory hooks.
        self.static_memory = all(d.access is not None for d in self.decoded if d.memory)
        self.uc = self._machine()
        self.entry_names = [
            *(f"x{n}" for n in range(31)), "sp", *(f"q{n}" for n in range(32)), "nzcv",
        ]  # fmt: skip
        self.entry_bank = _Bank(self.uc, self.entry_names)
        self.slot_bank = _Bank(self.uc, [s.register for s in self.register_slots])
        switched = [s.register for s in self.register_slots] + self.randomized
        if model.status_register:
            switched.append(model.status_register)
        self.switch_bank = _Bank(self.uc, switched)
        self.caller_names = [
            *registers.CALLEE_SAVED_GPRS,
            registers.FRAME_POINTER,
            "sp",
            *registers.CALLEE_SAVED_D_AS_Q,
        ]
        self.caller_bank = _Bank(self.uc, self.caller_names)
        self.state_bank = _Bank(self.uc, [*self.private_gprs, registers.FRAME_POINTER, "sp"])
        self.argument_bank = _Bank(self.uc, [a.register for a in model.arguments])
        # Per instruction: what it writes and whether the frame state must be rechecked
        # after it; for statically decoded loads/stores, the registers that form the address.
        self.effects = [(tuple(d.writes), writer) for d, writer in zip(self.decoded, self.state_writers, strict=True)]
        self.static_accesses: list[tuple[Access, _Bank, frozenset[str]] | None] = []
        for d in self.decoded:
            if d.access is None or not self.static_memory:
                self.static_accesses.append(None)
                continue
            names = [d.access.base] + ([d.access.index] if d.access.index else []) + ["sp"]
            self.static_accesses.append((d.access, _Bank(self.uc, names), frozenset(names)))
        self._gpr_entry_names = [f"x{n}" for n in range(29)]
        self._entry_tags = [(TAG_VTL2 << 56) | (n << 48) for n in range(29)] + [
            (TAG_VTL2_VECTOR << 56) | ((n if half == 0 else 0x80 | n) << 48) for n in range(32) for half in (0, 1)
        ]
        self._entry_unpack = struct.Struct(f"<{len(self._entry_tags)}Q").unpack
        # Shared slots as 8-byte words of the 0x800-byte context region (guards included).
        self._slot_chunks = sorted({(0x400 + s.offset) // 8 + i for s in plan.slots for i in range(s.size // 8)})
        self._chunk_unpack = struct.Struct(f"<{len(self._slot_chunks)}Q").unpack
        self.trial: _Trial | None = None

    # --- setup -------------------------------------------------------------------------

    def _machine(self) -> Uc:
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        uc.mem_map(CODE, CODE_SIZE)
        uc.mem_map(RETURN_ADDRESS, 0x1000)
        uc.mem_map(CONTEXT_PAGE, 0x1000)
        uc.mem_map(STACK, STACK_SIZE)
        uc.mem_write(CODE, self.assembly.code)
        uc.reg_write(_CPACR, 3 << 20)  # FPEN: let EL1 use the SIMD registers
        uc.hook_add(UC_HOOK_INTR, self._on_trap)
        if self.checks:
            uc.hook_add(UC_HOOK_CODE, self._on_instruction, begin=CODE, end=self.end - 1)
            uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
            if not self.static_memory:
                uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._on_memory)
        return uc

    @staticmethod
    def _value(rng: random.Random, tag: int, index: int) -> int:
        return (tag << 56) | ((index & 0xFF) << 48) | rng.getrandbits(48)

    @staticmethod
    def _vector(rng: random.Random, tag: int, index: int) -> int:
        high = (tag << 56) | ((index & 0xFF) << 48) | rng.getrandbits(48)
        return (high << 64) | (tag << 56) | (((0x80 | index) & 0xFF) << 48) | rng.getrandbits(48)

    def _slot_random(self, rng: random.Random, tag: int, size: int, index: int) -> int:
        return self._vector(rng, tag, index) if size == 16 else self._value(rng, tag, index)

    def _start(self, seed: int) -> _Trial:
        rng = random.Random(seed)
        # Entry values: x0-x28 and both halves of q0-q31, tagged by origin and index.
        randoms = self._entry_unpack(rng.randbytes(8 * len(self._entry_tags)))
        tagged = [tag | (r & _LOW48) for tag, r in zip(self._entry_tags, randoms, strict=True)]
        entry = dict(zip(self._gpr_entry_names, tagged[:29], strict=True))
        entry["x0"] = CONTEXT  # void f(struct ctx *ctx)
        entry["x29"] = CALLER_RECORD
        entry["x30"] = RETURN_ADDRESS
        entry["sp"] = ENTRY_SP
        halves = tagged[29:]
        for n in range(32):
            entry[f"q{n}"] = (halves[2 * n] << 64) | halves[2 * n + 1]
        entry["nzcv"] = rng.getrandbits(4) << 28
        vtl2_values = set(tagged[1:29]) | set(halves)
        # The context region: random bytes, with VTL0's tagged values in the shared slots.
        region = bytearray(rng.randbytes(0x800))
        words = memoryview(region).cast("Q")
        for chunk, r in zip(
            self._slot_chunks, self._chunk_unpack(rng.randbytes(8 * len(self._slot_chunks))), strict=True
        ):
            words[chunk] = (TAG_VTL0 << 56) | ((chunk & 0xFF) << 48) | (r & _LOW48)
        words.release()
        trial = _Trial(seed, rng, entry, bytes(region), vtl2_values)
        uc = self.uc
        uc.mem_write(CONTEXT_PAGE, trial.context)
        uc.mem_write(ENTRY_SP - _STACK_SCRUB, bytes(_STACK_SCRUB))
        uc.mem_write(CALLER_RECORD, GRAND_RECORD.to_bytes(8, "little") + CALLER_LR.to_bytes(8, "little"))
        uc.mem_write(GRAND_RECORD, bytes(8) + GRAND_LR.to_bytes(8, "little"))
        self.entry_bank.write([entry[n] for n in self.entry_names])
        trial.x29 = CALLER_RECORD
        return trial

    # --- running -------------------------------------------------------------------------

    def run(self, seed: int) -> TrialResult:
        trial = self.trial = self._start(seed)
        try:
            self.uc.emu_start(CODE, RETURN_ADDRESS, count=self.limit)
        except UcError as error:
            if not trial.fatal:
                self._violate("P8", f"the stub faulted: {error}", trial.current, "", "", "")
            trial.fatal = True
        if self.checks:
            self._finish(trial)
        return TrialResult(seed, trial.count, trial.traps, tuple(trial.violations.values()))

    def _violate(self, prop: str, message: str, offset: int | None, register: str, expected: str, actual: str) -> None:
        trial = self.trial
        assert trial is not None
        key = (prop, offset, register)
        if key in trial.violations:
            return
        if offset is not None and 0 <= offset < len(self.assembly.code):
            text = self.decoded[offset // 4].text
            line: int | None = self.assembly.line_of(offset)
        else:
            text, line = "(after the return)", None
        trial.violations[key] = Violation(
            prop, message, offset, text, line, self.source_file, register, expected, actual, trial.seed
        )

    def _is_vtl2(self, value: int, trial: _Trial) -> bool:
        if value in trial.vtl2_values:
            return True
        in_stack = STACK <= value < STACK + STACK_SIZE
        return in_stack or CODE <= value < CODE + CODE_SIZE or value in (RETURN_ADDRESS, CONTEXT)

    def _is_vtl2_any(self, value: int, size: int, trial: _Trial) -> bool:
        halves = [value & MASK64, value >> 64] if size == 16 else [value]
        return any(self._is_vtl2(h, trial) for h in halves)

    # --- hooks -------------------------------------------------------------------------

    def _on_instruction(self, uc: Uc, address: int, size: int, _: object) -> None:
        trial = self.trial
        assert trial is not None
        offset = address - CODE
        trial.count += 1
        trial.trace.append(offset)
        previous = trial.previous
        known = trial.known
        if previous is not None:
            writes, state_writer = self.effects[previous >> 2]
            if known:
                for name in writes:
                    known.pop(name, None)
            if state_writer or trial.record_dirty:
                self._check_state(previous)
        trial.previous = trial.current = offset
        if trial.poisoned:
            self._check_poison(offset)
        memory = self.static_accesses[offset >> 2]
        if memory is None:
            return
        access, bank, names = memory
        # Registers not written since they were last read are still known: a run of
        # loads off one base register costs one read (capstone says what each writes).
        if names <= known.keys():
            values = [known[name] for name in bank.names]
        else:
            values = bank.read()
            known.update(zip(bank.names, values, strict=True))
        if access.post_index:
            target = values[0]
        elif access.index:
            target = (values[0] + access.displacement + (values[1] << access.shift)) & MASK64
        else:
            target = (values[0] + access.displacement) & MASK64
        self._check_access(offset, target, access.size, access.write, values[-1], self.decoded[offset >> 2])

    def _check_poison(self, offset: int) -> None:
        """P10: after an SMCCC call, reading a register the call may change is relying on it."""
        trial = self.trial
        assert trial is not None
        decoded = self.decoded[offset >> 2]
        for name in sorted(decoded.reads & trial.poisoned):
            self._violate(
                "P10", f"reads {name}, which the call may change and is not a declared result",
                offset, name, "not read before written", "read",
            )  # fmt: skip
        trial.poisoned -= decoded.writes

    def _check_state(self, offset: int) -> None:
        """After `offset` ran: private registers untouched (P3), x29 valid (P6)."""
        trial = self.trial
        assert trial is not None
        trial.record_dirty = False
        values = self.state_bank.read()
        for name, value in zip(self.private_gprs, values, strict=False):
            if value != trial.entry[name]:
                self._violate(
                    "P3", f"writes the private register {name}", offset, name, _fmt(trial.entry[name]), _fmt(value)
                )
        fp, sp = values[-2], values[-1]
        trial.x29 = fp
        if fp == trial.entry["x29"]:
            return
        if not (STACK <= fp < ENTRY_SP):
            self._violate(
                "P3",
                "writes x29 with a value that is not a frame pointer",
                offset,
                "x29",
                "a frame record in the stub's frame",
                _fmt(fp),
            )
            return
        record = bytes(self.uc.mem_read(fp, 16))
        saved_fp, saved_lr = int.from_bytes(record[:8], "little"), int.from_bytes(record[8:], "little")
        if fp % 16 or fp < sp or (saved_fp, saved_lr) != (trial.entry["x29"], trial.entry["x30"]):
            self._violate(
                "P6",
                "x29 does not point at a frame record {caller x29, return address} at or above SP",
                offset,
                "x29",
                f"[{_fmt(fp)}] = {{{_fmt(trial.entry['x29'])}, {_fmt(trial.entry['x30'])}}}",
                f"{{{_fmt(saved_fp)}, {_fmt(saved_lr)}}} (sp {_fmt(sp)})",
            )

    def _on_memory(self, uc: Uc, access: int, address: int, size: int, value: int, _: object) -> bool:
        """Per-access checks, used only for stubs with memory forms not decoded statically."""
        trial = self.trial
        assert trial is not None
        decoded = self.decoded[trial.current // 4]
        self._check_access(trial.current, address, size, access == UC_MEM_WRITE, uc.reg_read(_SP), decoded)
        return True

    def _check_access(self, offset: int, address: int, size: int, write: bool, sp: int, decoded: Decoded) -> None:
        """P7 for the stack, P8 for everything else (ARCHITECTURE.md)."""
        trial = self.trial
        assert trial is not None
        verb = "writes" if write else "reads"
        if STACK <= address < STACK + STACK_SIZE:
            if decoded.base == "sp" and sp % 16:
                self._violate(
                    "P7", "accesses memory through a misaligned SP", offset, "sp", "a multiple of 16", _fmt(sp)
                )
            # A pre-indexed push moves SP before its access: `[sp, #-16]!` stores at the new SP.
            low = sp + decoded.displacement if decoded.base == "sp" and decoded.pre_index else sp
            if address < low:
                self._violate(
                    "P7", f"{verb} below SP", offset, f"[{_fmt(address)}]", f">= sp {_fmt(low)}", _fmt(address)
                )
            elif address + size > ENTRY_SP:
                self._violate(
                    "P7",
                    f"{verb} above the caller's SP",
                    offset,
                    f"[{_fmt(address)}]",
                    f"< {_fmt(ENTRY_SP)}",
                    _fmt(address),
                )
            if write and address < trial.x29 + 16 and address + size > trial.x29:
                trial.record_dirty = True
            return
        relative = address - CONTEXT
        where = f"ctx{relative:+#x}"
        if CONTEXT_PAGE <= address < CONTEXT_PAGE + 0x1000:
            if write:
                trial.writes.append((relative, size, offset))
                if 0 in self.write_mask[relative + 0x400 : relative + 0x400 + size]:
                    trial.flagged_bytes.update(range(relative, relative + size))
                    self._violate(
                        "P8",
                        f"writes {where}, outside the shared slots",
                        offset,
                        where,
                        "a shared slot",
                        f"{size}-byte write",
                    )
            elif relative < 0 or relative + size > self.context_size:
                self._violate(
                    "P8",
                    f"reads {where}, outside the context",
                    offset,
                    where,
                    f"ctx+0..{self.context_size}",
                    f"{size}-byte read",
                )
            return
        self._violate(
            "P8",
            f"{verb} {_fmt(address)}, outside the context and the frame",
            offset,
            f"[{_fmt(address)}]",
            "context or frame",
            f"{size}-byte access",
        )

    def _on_unmapped(self, uc: Uc, access: int, address: int, size: int, value: int, _: object) -> bool:
        trial = self.trial
        assert trial is not None
        pc = uc.reg_read(_PC)
        if address == pc and not (CODE <= pc < self.end):
            # A fetch outside the stub: it branched or returned somewhere else.
            self._violate(
                "P5",
                "control leaves the stub without returning to the entry x30",
                trial.current,
                "pc",
                _fmt(RETURN_ADDRESS),
                _fmt(address),
            )
        else:
            verb = "writes" if access == UC_MEM_WRITE_UNMAPPED else "reads"
            self._violate(
                "P8",
                f"{verb} {_fmt(address)}, outside the context and the frame",
                trial.current,
                f"[{_fmt(address)}]",
                "context or frame",
                f"{size}-byte access",
            )
        trial.fatal = True
        return False

    def _on_trap(self, uc: Uc, intno: int, _: object) -> None:
        trial = self.trial
        assert trial is not None
        pc = uc.reg_read(_PC)
        offset = pc - CODE
        word = int.from_bytes(bytes(uc.mem_read(pc, 4)), "little") if CODE <= pc < self.end else 0
        if intno != _UDEF or not is_conduit(word):
            self._violate("P9", f"unexpected exception {intno} (not a conduit)", offset, "", "", f"0x{word:08x}")
            trial.fatal = True
            uc.emu_stop()
            return
        trial.traps += 1
        model = self.plan.model
        if trial.traps > 1:
            self._violate("P9", "a second trap", offset, "", "exactly one", str(trial.traps))
        if word != model.conduit_encoding:
            self._violate(
                "P9",
                f"wrong conduit, expected `{model.conduit_text}`",
                offset,
                "",
                f"0x{model.conduit_encoding:08x}",
                f"0x{word:08x}",
            )
        if self.checks and trial.traps == 1:
            self._check_entry(offset)
        self._switch(trial)
        uc.reg_write(_PC, pc + 4)

    # --- the hypervisor model -------------------------------------------------------------

    def _slot_value(self, offset: int, size: int, region: bytes | None = None) -> int:
        if region is None:
            return int.from_bytes(bytes(self.uc.mem_read(CONTEXT + offset, size)), "little")
        return int.from_bytes(region[0x400 + offset : 0x400 + offset + size], "little")

    def _check_entry(self, offset: int) -> None:
        """P1 and P2 at the trap."""
        trial = self.trial
        assert trial is not None
        for slot, got in zip(self.register_slots, self.slot_bank.read() if self.register_slots else [], strict=True):
            want = self._slot_value(slot.offset, slot.size, trial.context)
            if got == want:
                continue
            # Blame the instruction that last set the register, else the trap itself.
            writer = self._last_writer(trial, slot.register)
            at = offset if writer is None else writer
            if self._is_vtl2_any(got, slot.size, trial):
                self._violate(
                    "P2",
                    f"VTL0 would see a VTL2 value in {slot.register} at the trap",
                    at,
                    slot.register,
                    _fmt(want),
                    _fmt(got),
                )
            else:
                self._violate(
                    "P1",
                    f"{slot.register} does not hold VTL0's value from ctx->{slot.field}[{slot.index}] at the trap",
                    at,
                    slot.register,
                    _fmt(want),
                    _fmt(got),
                )
        region = bytes(self.uc.mem_read(CONTEXT_PAGE, 0x800)) if self.memory_slots else b""
        for slot in self.memory_slots:
            want = self._slot_value(slot.offset, slot.size, trial.context)
            got = self._slot_value(slot.offset, slot.size, region)
            if got == want:
                continue
            prop = "P2" if self._is_vtl2_any(got, slot.size, trial) else "P1"
            self._violate(
                prop,
                f"ctx->{slot.field}[{slot.index}] changed before the trap",
                offset,
                f"ctx->{slot.field}[{slot.index}]",
                _fmt(want),
                _fmt(got),
            )
        arguments = self.plan.model.arguments
        for argument, got in zip(arguments, self.argument_bank.read() if arguments else [], strict=True):
            want = CONTEXT if argument.value is None else argument.value
            if argument.width == 32:
                got &= 0xFFFF_FFFF
            if got != want:
                writer = self._last_writer(trial, argument.register)
                at = offset if writer is None else writer
                self._violate(
                    "P1",
                    f"{argument.register} does not hold {argument.name} at the trap",
                    at,
                    argument.register,
                    _fmt(want),
                    _fmt(got),
                )

    def _switch(self, trial: _Trial) -> None:
        """VTL0 runs: everything the ABI lets change, changes."""
        rng = trial.rng
        values: list[int] = []
        for slot in self.register_slots:
            new = self._slot_random(rng, TAG_VTL0_NEW, slot.size, slot.index)
            values.append(new)
            trial.expected_slots[slot.register] = new
        if self.memory_slots:
            context = bytearray(self.uc.mem_read(CONTEXT, self.context_size))
            for slot in self.memory_slots:
                new = self._slot_random(rng, TAG_VTL0_NEW, slot.size, slot.index)
                context[slot.offset : slot.offset + slot.size] = new.to_bytes(slot.size, "little")
                trial.expected_slots[slot.register] = new
            self.uc.mem_write(CONTEXT, bytes(context))
        for name in self.randomized:
            if name == "nzcv":
                values.append(rng.getrandbits(4) << 28)
            elif name.startswith("q"):
                values.append(self._vector(rng, TAG_CLOBBER, registers.number(name)))
            else:
                values.append(self._value(rng, TAG_CLOBBER, registers.number(name)))
        if self.plan.model.status_register:
            values.append(STATUS_SUCCESS)
        if values:
            self.switch_bank.write(values)
        trial.poisoned = set(self.poison)
        trial.known.clear()  # the hypervisor may have changed anything
        trial.after_trap = True

    # --- after the return ---------------------------------------------------------------

    def _last_writer(self, trial: _Trial, name: str) -> int | None:
        for offset in reversed(trial.trace):
            if name in self.decoded[offset // 4].writes:
                return offset
        return None

    def _trap_offset(self, trial: _Trial) -> int | None:
        for offset in reversed(trial.trace):
            if is_conduit(int.from_bytes(self.assembly.code[offset : offset + 4], "little")):
                return offset
        return trial.trace[-1] if trial.trace else None

    def _context_writer(self, trial: _Trial, relative: int, default: int | None) -> int | None:
        for start, size, offset in reversed(trial.writes):
            if start <= relative < start + size:
                return offset
        return default

    def _finish(self, trial: _Trial) -> None:
        if trial.fatal:
            return
        uc = self.uc
        last = trial.trace[-1] if trial.trace else None
        pc = uc.reg_read(_PC)
        if pc != RETURN_ADDRESS:
            if trial.count >= self.limit:
                self._violate("P9", f"did not finish within {self.limit} instructions", last, "", "", "")
            else:
                self._violate("P5", "did not return to the entry x30", last, "pc", _fmt(RETURN_ADDRESS), _fmt(pc))
            return
        if trial.previous is not None:
            self._check_state(trial.previous)
        if trial.traps == 0:
            self._violate("P9", "never traps", last, "", "one trap", "none")
            return
        trap = self._trap_offset(trial)
        # P5: the AAPCS64 caller contract.
        for name, got in zip(self.caller_names, self.caller_bank.read(), strict=True):
            if name.startswith("q"):  # only the low 64 bits of v8-v15 are callee-saved
                got, want, shown = got & MASK64, trial.entry[name] & MASK64, f"d{registers.number(name)}"
            else:
                want, shown = trial.entry[name], name
            if got != want:
                writer = self._last_writer(trial, name)
                self._violate(
                    "P5",
                    f"{shown} is not as at entry",
                    trap if writer is None else writer,
                    shown,
                    _fmt(want),
                    _fmt(got),
                )
        # P4: what VTL0 left is in the context; nothing else changed.
        region = bytes(uc.mem_read(CONTEXT_PAGE, 0x800))
        expected = bytearray(trial.context)
        for slot in self.plan.slots:
            want_value = trial.expected_slots.get(slot.register)
            if want_value is None:
                want_value = self._slot_value(slot.offset, slot.size, trial.context)
            got = self._slot_value(slot.offset, slot.size, region)
            start = 0x400 + slot.offset
            expected[start : start + slot.size] = region[start : start + slot.size]
            if got != want_value:
                writer = self._context_writer(trial, slot.offset, trap)
                self._violate(
                    "P4",
                    f"ctx->{slot.field}[{slot.index}] does not hold VTL0's {slot.register}",
                    writer,
                    f"ctx->{slot.field}[{slot.index}]",
                    _fmt(want_value),
                    _fmt(got),
                )
        if bytes(expected) == region:
            return
        for index in range(0x800):
            relative = index - 0x400
            if region[index] != expected[index] and relative not in trial.flagged_bytes:
                writer = self._context_writer(trial, relative, trap)
                self._violate(
                    "P4",
                    f"changes ctx{relative:+#x}, which is not a shared slot",
                    writer,
                    f"ctx{relative:+#x}",
                    f"0x{trial.context[index]:02x}",
                    f"0x{region[index]:02x}",
                )
                break
