"""The unicorn backend: one trial of one stub, observed at every instruction.

A trial calls the stub as a C function (x0 = the context) from the state `trial.py`
builds; at the conduit trap the hypervisor model checks the entry contract and makes
its move; the verdicts come from `contract.py`. This backend observes everything: the
frame and private registers after every instruction (P3, P6), every load and store
(P7, P8) and every register read after an SMCCC call (P10). Nothing is printed;
unicorn constants appear only in this module.

Unicorn facts (ABI.md "Tool facts"): it runs at EL1, where `hvc` arrives in
UC_HOOK_INTR as intno 1 (UDEF) with PC at the `hvc`, and ESR is not written, so the
trapping instruction is decoded here. It has no SVE/SME, so those classes are checked
by lint only.
"""

from __future__ import annotations

import ctypes
import struct
from dataclasses import dataclass, field

from unicorn import (
    UC_ARCH_ARM64,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_MEM_WRITE,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_ARM,
    UC_PROT_READ,
    UC_PROT_WRITE,
)
from unicorn import arm64_const as regs
from unicorn.unicorn_py3.arch.types import uc_hook_h as _uc_hook_h
from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC as _HOOK_CODE
from unicorn.unicorn_py3.unicorn import Uc, UcError
from unicorn.unicorn_py3.unicorn import uclib as _uclib

from vtlgen import contract
from vtlgen.assembler import Assembly
from vtlgen.contract import Finding, fmt
from vtlgen.disassembler import Access, Decoded
from vtlgen.plan import Plan
from vtlgen.report import StubSource, Violation
from vtlgen.stubsource import CODE_REGION
from vtlgen.trial import (
    CALLER_LR,
    CALLER_RECORD,
    CONTEXT,
    CONTEXT_PAGE,
    ENTRY_SP,
    GRAND_LR,
    GRAND_RECORD,
    GUARD,
    MASK64,
    REGION,
    STACK,
    STACK_SCRUB,
    STACK_SIZE,
    InitialState,
    TrialFactory,
)

CODE = 0x0001_0000
CODE_SIZE = CODE_REGION  # the assembler refuses a longer stub, located (stubsource.py)
RETURN_ADDRESS = 0x0004_0000  # a mapped page the stub must return to (x30 at entry)

_GPR_IDS = {f"x{n}": getattr(regs, f"UC_ARM64_REG_X{n}") for n in range(29)}
_GPR_IDS |= {"x29": regs.UC_ARM64_REG_X29, "x30": regs.UC_ARM64_REG_X30, "sp": regs.UC_ARM64_REG_SP}
_Q_IDS = {f"q{n}": getattr(regs, f"UC_ARM64_REG_Q{n}") for n in range(32)}
_REG_IDS = _GPR_IDS | _Q_IDS | {"nzcv": regs.UC_ARM64_REG_NZCV}
_PC = regs.UC_ARM64_REG_PC
_SP = regs.UC_ARM64_REG_SP
_CPACR = regs.UC_ARM64_REG_CPACR_EL1

_UDEF = 1  # hvc/smc at EL1 without SCR_EL3.HCE
_HVC_SMC_MASK = 0xFFE0001F


def is_conduit(word: int) -> bool:
    """`hvc #imm` or `smc #imm` (ABI.md "Conduits": 0xD4000002 | imm16 << 5; smc ends in 3)."""
    return (word & _HVC_SMC_MASK) in (0xD4000002, 0xD4000003)


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
        self.buffer = ctypes.create_string_buffer(16 * max(count, 1))
        base = ctypes.addressof(self.buffer)
        self.pointers = (ctypes.c_void_p * count)(*(base + 16 * i for i in range(count)))
        self.wide = [n.startswith("q") for n in names]
        # Q registers as two little-endian halves; everything else as the low 8 bytes.
        self.layout = struct.Struct("<" + "".join("QQ" if w else "Q8x" for w in self.wide))

    def write(self, values: list[int]) -> None:
        if not values:
            return
        ctypes.memmove(self.buffer, b"".join(v.to_bytes(16, "little") for v in values), 16 * len(values))
        if _uclib.uc_reg_write_batch(self.uc._uch, self.ids, self.pointers, self.count) != 0:
            raise UcError(_uclib.uc_errno(self.uc._uch))

    def read(self) -> list[int]:
        if not self.names:
            return []
        if _uclib.uc_reg_read_batch(self.uc._uch, self.ids, self.pointers, self.count) != 0:
            raise UcError(_uclib.uc_errno(self.uc._uch))
        flat = self.layout.unpack(self.buffer.raw[: self.layout.size])
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

    def read_map(self) -> dict[str, int]:
        return dict(zip(self.names, self.read(), strict=True))


@dataclass
class _Trial:
    state: InitialState
    vtl2: contract.Vtl2Values
    traps: int = 0
    current: int = 0  # offset of the instruction being executed
    previous: int | None = None
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
        assert len(assembly.code) <= CODE_SIZE, "stubsource.vet bounds the instruction count"
        self.plan = plan
        self.assembly = assembly
        self.source_file = source_file
        self.checks = checks
        self.factory = TrialFactory(plan)
        self.source = StubSource(assembly, source_file)
        self.decoded: tuple[Decoded, ...] = self.source.decoded
        self.end = CODE + len(assembly.code)
        # Hand-written stubs may loop; a correct one needs no more than a few times the bound.
        self.limit = 4 * plan.budget.lower_bound + 256
        model = plan.model
        self.poison = {r for r in model.randomized if r not in model.results}
        # Context bytes the stub may write: the shared slots (ARCHITECTURE.md P8).
        mask = bytearray(REGION)
        for slot in plan.slots:
            mask[GUARD + slot.offset : GUARD + slot.offset + slot.size] = b"\x01" * slot.size
        self.write_mask = bytes(mask)
        self.context_size = plan.context.size
        # Instructions after which the frame and private-register state may have changed.
        private = contract.private_registers(plan)
        watched = {*private, "x29", "sp"}
        self.effects = [(tuple(d.writes), bool(d.writes & watched)) for d in self.decoded]
        # Loads and stores with a statically known address form are checked in the code
        # hook from their base register, which is much cheaper than a hook per access;
        # any other memory instruction switches this stub to per-access memory hooks.
        self.static_memory = all(d.access is not None for d in self.decoded if d.memory)
        self.uc = self._machine()
        self.entry_names = [*(f"x{n}" for n in range(31)), "sp", *(f"q{n}" for n in range(32)), "nzcv"]
        self.entry_bank = _Bank(self.uc, self.entry_names)
        self.trap_bank = _Bank(
            self.uc, sorted({s.register for s in model.register_slots} | {a.register for a in model.arguments})
        )
        self.switch_bank = _Bank(self.uc, self.factory.switched)
        self.exit_bank = _Bank(self.uc, list(contract.CALLER_SAVED_VIEW))
        self.frame_bank = _Bank(self.uc, [*private, "x29", "sp"])
        self.static_accesses: list[tuple[Access, _Bank, frozenset[str]] | None] = []
        for d in self.decoded:
            if d.access is None or not self.static_memory:
                self.static_accesses.append(None)
                continue
            names = [d.access.base] + ([d.access.index] if d.access.index else []) + ["sp"]
            self.static_accesses.append((d.access, _Bank(self.uc, names), frozenset(names)))
        self.trial: _Trial | None = None
        self.hook_error: BaseException | None = None

    # --- setup -------------------------------------------------------------------------

    def _machine(self) -> Uc:
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        # Only the stub's own page is executable: a return or branch anywhere else faults
        # on the fetch, and is reported as control leaving the stub (P5).
        uc.mem_map(CODE, CODE_SIZE)
        uc.mem_map(RETURN_ADDRESS, 0x1000, UC_PROT_READ)
        uc.mem_map(CONTEXT_PAGE, 0x1000, UC_PROT_READ | UC_PROT_WRITE)
        uc.mem_map(STACK, STACK_SIZE, UC_PROT_READ | UC_PROT_WRITE)
        uc.mem_write(CODE, self.assembly.code)
        uc.reg_write(_CPACR, 3 << 20)  # FPEN: let EL1 use the SIMD registers
        uc.hook_add(UC_HOOK_INTR, self._on_trap)
        if self.checks:
            self._add_code_hook(uc)
            uc.hook_add(UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_FETCH_PROT, self._on_unmapped)
            if not self.static_memory:
                uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._on_memory)
        return uc

    def _add_code_hook(self, uc: Uc) -> None:
        """The per-instruction hook, registered with unicorn's C API directly.

        The binding wraps every callback in two Python frames; at one call per instruction
        that is a tenth of a validated trial, so this hook skips them. Like the binding, it
        stops the emulation on an exception and `run` re-raises it.
        """

        def raw(_handle: int, address: int, size: int, _key: int) -> None:
            try:
                self._on_instruction(uc, address, size, None)
            except BaseException as error:  # re-raised by run(), never swallowed
                self.hook_error = error
                uc.emu_stop()

        self._raw_code_hook = _HOOK_CODE(raw)  # keep a reference: unicorn holds only the pointer
        handle = _uc_hook_h()
        status = _uclib.uc_hook_add(
            uc._uch, ctypes.byref(handle), UC_HOOK_CODE, self._raw_code_hook, None,
            ctypes.c_uint64(CODE), ctypes.c_uint64(self.end - 1),
        )  # fmt: skip
        if status != 0:
            raise UcError(status)

    def _start(self, seed: int) -> _Trial:
        state = self.factory.initial(seed, RETURN_ADDRESS)
        vtl2 = contract.Vtl2Values(state, [(CODE, CODE + CODE_SIZE)], [RETURN_ADDRESS, CONTEXT])
        trial = _Trial(state, vtl2, x29=CALLER_RECORD)
        uc = self.uc
        uc.mem_write(CONTEXT_PAGE, state.region)
        uc.mem_write(ENTRY_SP - STACK_SCRUB, bytes(STACK_SCRUB))
        uc.mem_write(CALLER_RECORD, GRAND_RECORD.to_bytes(8, "little") + CALLER_LR.to_bytes(8, "little"))
        uc.mem_write(GRAND_RECORD, bytes(8) + GRAND_LR.to_bytes(8, "little"))
        self.entry_bank.write([state.entry[n] for n in self.entry_names])
        return trial

    # --- running -------------------------------------------------------------------------

    def run(self, seed: int) -> TrialResult:
        trial = self.trial = self._start(seed)
        self.hook_error = None
        try:
            self.uc.emu_start(CODE, RETURN_ADDRESS, count=self.limit)
        except UcError as error:
            if not trial.fatal:
                self._violate("P8", f"the stub faulted: {error}", trial.current, "", "", "")
            trial.fatal = True
        if self.hook_error is not None:
            raise self.hook_error
        if self.checks:
            self._finish(trial)
        return TrialResult(seed, len(trial.trace), trial.traps, tuple(trial.violations.values()))

    def _violate(self, prop: str, message: str, offset: int | None, location: str, expected: str, actual: str) -> None:
        trial = self.trial
        assert trial is not None
        key = (prop, offset, location)
        if key not in trial.violations:
            violation = self.source.violation(prop, message, offset, location, expected, actual, trial.state.seed)
            trial.violations[key] = violation

    def _report(self, findings: list[Finding], default: int | None) -> None:
        """Blame each finding on the instruction that last wrote what it names."""
        trial = self.trial
        assert trial is not None
        for finding in findings:
            offset = default
            if finding.blame_register is not None:
                offset = self._last_writer(trial, finding.blame_register, default)
            elif finding.blame_context is not None:
                offset = self._context_writer(trial, finding.blame_context, default)
            self._violate(finding.property, finding.message, offset, finding.location, finding.expected, finding.actual)

    # --- hooks -------------------------------------------------------------------------

    def _on_instruction(self, uc: Uc, address: int, size: int, _: object) -> None:
        trial = self.trial
        assert trial is not None
        offset = address - CODE
        trial.trace.append(offset)
        previous = trial.previous
        known = trial.known
        if previous is not None:
            writes, state_writer = self.effects[previous >> 2]
            if known:
                for name in writes:
                    known.pop(name, None)
            if state_writer or trial.record_dirty:
                self._check_frame(previous)
        trial.previous = trial.current = offset
        poisoned = trial.poisoned
        if poisoned:
            decoded = self.decoded[offset >> 2]
            if not (poisoned.isdisjoint(decoded.reads) and poisoned.isdisjoint(decoded.writes)):
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
            message = f"reads {name}, which the call may change and is not a declared result"
            self._violate("P10", message, offset, name, "not read before written", "read")
        trial.poisoned -= decoded.writes

    def _check_frame(self, offset: int) -> None:
        """After `offset` ran: private registers untouched (P3), x29 valid (P6)."""
        trial = self.trial
        assert trial is not None
        trial.record_dirty = False
        values = self.frame_bank.read_map()
        trial.x29 = values["x29"]
        findings = contract.frame(self.plan, trial.state, values, lambda at: bytes(self.uc.mem_read(at, 16)))
        self._report(findings, offset)

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
                    "P7", "accesses memory through a misaligned SP", offset, "sp", "a multiple of 16", fmt(sp)
                )
            # A pre-indexed push moves SP before its access: `[sp, #-16]!` stores at the new SP.
            low = sp + decoded.displacement if decoded.base == "sp" and decoded.pre_index else sp
            where = f"[{fmt(address)}]"
            if address < low:
                self._violate("P7", f"{verb} below SP", offset, where, f">= sp {fmt(low)}", fmt(address))
            elif address + size > ENTRY_SP:
                self._violate("P7", f"{verb} above the caller's SP", offset, where, f"< {fmt(ENTRY_SP)}", fmt(address))
            if write and address < trial.x29 + 16 and address + size > trial.x29:
                trial.record_dirty = True
            return
        relative = address - CONTEXT
        where = f"ctx{relative:+#x}"
        if CONTEXT_PAGE <= address < CONTEXT_PAGE + 0x1000:
            if write:
                trial.writes.append((relative, size, offset))
                if 0 in self.write_mask[GUARD + relative : GUARD + relative + size]:
                    trial.flagged_bytes.update(range(relative, relative + size))
                    message = f"writes {where}, outside the shared slots"
                    self._violate("P8", message, offset, where, "a shared slot", f"{size}-byte write")
            elif relative < 0 or relative + size > self.context_size:
                message = f"reads {where}, outside the context"
                self._violate("P8", message, offset, where, f"ctx+0..{self.context_size}", f"{size}-byte read")
            return
        message = f"{verb} {fmt(address)}, outside the context and the frame"
        self._violate("P8", message, offset, f"[{fmt(address)}]", "context or frame", f"{size}-byte access")

    def _on_unmapped(self, uc: Uc, access: int, address: int, size: int, value: int, _: object) -> bool:
        trial = self.trial
        assert trial is not None
        pc = uc.reg_read(_PC)
        if address == pc and not (CODE <= pc < self.end):
            # A fetch outside the stub: it branched or returned somewhere else.
            message = "control leaves the stub without returning to the entry x30"
            self._violate("P5", message, trial.current, "pc", fmt(RETURN_ADDRESS), fmt(address))
        else:
            verb = "writes" if access == UC_MEM_WRITE_UNMAPPED else "reads"
            message = f"{verb} {fmt(address)}, outside the context and the frame"
            self._violate("P8", message, trial.current, f"[{fmt(address)}]", "context or frame", f"{size}-byte access")
        trial.fatal = True
        return False

    def _on_trap(self, uc: Uc, intno: int, _: object) -> None:
        trial = self.trial
        assert trial is not None
        pc = uc.reg_read(_PC)
        offset = pc - CODE
        if not CODE <= pc < self.end:
            # Executing past the stub's end: it never returned to the entry x30.
            message = "control leaves the stub without returning to the entry x30"
            self._violate("P5", message, trial.current, "pc", fmt(RETURN_ADDRESS), fmt(pc))
            trial.fatal = True
            uc.emu_stop()
            return
        word = int.from_bytes(bytes(uc.mem_read(pc, 4)), "little")
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
            message = f"wrong conduit, expected `{model.conduit_text}`"
            self._violate("P9", message, offset, "", f"0x{model.conduit_encoding:08x}", f"0x{word:08x}")
        if self.checks and trial.traps == 1:
            region = bytes(uc.mem_read(CONTEXT_PAGE, REGION)) if model.memory_slots else trial.state.region
            self._report(contract.entry(self.plan, trial.state, self.trap_bank.read_map(), region, trial.vtl2), offset)
        switch = self.factory.switch(trial.state)
        self.switch_bank.write([value for _, value in switch.registers])
        if switch.memory:
            context = bytearray(uc.mem_read(CONTEXT, self.context_size))
            for start, data in switch.memory:
                context[start : start + len(data)] = data
            uc.mem_write(CONTEXT, bytes(context))
        trial.expected_slots = switch.expected_slots
        trial.poisoned = set(self.poison)
        trial.known.clear()  # the hypervisor may have changed anything
        uc.reg_write(_PC, pc + 4)

    # --- after the return ---------------------------------------------------------------

    def _last_writer(self, trial: _Trial, name: str, default: int | None) -> int | None:
        for offset in reversed(trial.trace):
            if name in self.decoded[offset // 4].writes:
                return offset
        return default

    def _context_writer(self, trial: _Trial, relative: int, default: int | None) -> int | None:
        for start, size, offset in reversed(trial.writes):
            if start <= relative < start + size:
                return offset
        return default

    def _trap_offset(self, trial: _Trial) -> int | None:
        for offset in reversed(trial.trace):
            if is_conduit(int.from_bytes(self.assembly.code[offset : offset + 4], "little")):
                return offset
        return trial.trace[-1] if trial.trace else None

    def _finish(self, trial: _Trial) -> None:
        if trial.fatal:
            return
        uc = self.uc
        last = trial.trace[-1] if trial.trace else None
        pc = uc.reg_read(_PC)
        if pc != RETURN_ADDRESS:
            if len(trial.trace) >= self.limit:
                self._violate("P9", f"did not finish within {self.limit} instructions", last, "", "", "")
            else:
                self._violate("P5", "did not return to the entry x30", last, "pc", fmt(RETURN_ADDRESS), fmt(pc))
            return
        if trial.previous is not None:
            self._check_frame(trial.previous)
        if trial.traps == 0:
            self._violate("P9", "never traps", last, "", "one trap", "none")
            return
        region = bytes(uc.mem_read(CONTEXT_PAGE, REGION))
        findings = contract.exit(
            self.plan, trial.state, self.exit_bank.read_map(), region, trial.expected_slots, trial.flagged_bytes
        )
        self._report(findings, self._trap_offset(trial))
