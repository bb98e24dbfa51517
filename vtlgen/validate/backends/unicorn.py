"""The unicorn backend: one trial of one stub, observed at every instruction.

It records the frame state after every instruction that may change it (P3, P6), every
load and store (P7, P8), the executed trace (P10, blame) and the registers and context
at the trap and at the end; `vtlgen.validate.contract` decides. Nothing is printed; unicorn
constants appear only in this module.

Unicorn 2.1 runs the stub at EL1. Without SCR_EL3.HCE, `hvc` arrives in UC_HOOK_INTR as
exception 1 (UDEF) with PC at the `hvc`; `smc` arrives as exception 13 (EXCP_SMC) with PC
already past it. ESR is not written, so the trapping word is read here. `brk` arrives
as 7 and anything else as its own number: each is an observation, never a crash.

SVE and SME (a backend made with a vector length): unicorn's CPU has neither, so each SVE or
SME word vtlgen encodes (`vtlgen.isa.sve.decode`) raises UDEF, with PC at it, like `hvc`; the
hook runs it on a `VectorMachine` (backends/vector_machine.py), records its accesses like
any other instruction's, and resumes after it. Qn is the low 16 bytes of Zn: unicorn holds
Q, the machine the rest; Q is read into the machine before an instruction that reads Z and
written back after one that writes Z, and an AdvSIMD or FP write of Vn (the decoded
`writes`) zeroes the bits of Zn above 127, as the Arm ARM has it. Without a vector length
nothing of this runs: the hooks are the plain ones, and an SVE word is an exception.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import ClassVar

from unicorn import (
    UC_ARCH_ARM64,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_MEM_WRITE,
    UC_MODE_ARM,
    UC_PROT_READ,
    UC_PROT_WRITE,
)
from unicorn import arm64_const as regs
from unicorn.unicorn_py3.arch.types import uc_hook_h as _uc_hook_h
from unicorn.unicorn_py3.unicorn import HOOK_CODE_CFUNC as _HOOK_CODE
from unicorn.unicorn_py3.unicorn import HOOK_INTR_CFUNC as _HOOK_INTR
from unicorn.unicorn_py3.unicorn import Uc, UcError
from unicorn.unicorn_py3.unicorn import uclib as _uclib

from vtlgen.isa import sve
from vtlgen.isa.assembler import Assembly
from vtlgen.isa.disassembler import Access as DecodedAccess
from vtlgen.isa.disassembler import Decoded, decode
from vtlgen.isa.stubsource import CODE_REGION
from vtlgen.plan import Plan
from vtlgen.validate.backends.base import Access, End, FrameStep, Observable, StubCode, Trap, TrialObservation
from vtlgen.validate.backends.vector_machine import FPSR_AFTER_SM_CHANGE, VectorMachine, VectorTrap, z_read
from vtlgen.validate.backends.vector_machine import SP as VECTOR_SP
from vtlgen.validate.contract import CALLER_SAVED_VIEW
from vtlgen.validate.trial import (
    CALLER_LR,
    CONTEXT_WINDOW,
    GRAND_LR,
    MASK64,
    SCRIBBLE,
    STACK_SCRUB,
    STACK_WINDOW,
    VECTORS,
    WINDOW_SIZE,
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
_FPSR = regs.UC_ARM64_REG_FPSR
_X_IDS = [_GPR_IDS[f"x{n}"] for n in range(31)] + [_SP]  # by number, 31 = SP (the SVE forms' Xn|SP)
_Q_BY_NUMBER = [_Q_IDS[q] for q in VECTORS]

_UDEF = 1  # hvc at EL1 without SCR_EL3.HCE: PC at the hvc
_EXCP_SMC = 13  # smc: PC after the smc
_PC_AFTER = {2, 11, _EXCP_SMC}  # svc, hvc (with HCE), smc: taken with PC past the instruction
_HVC_SMC_MASK = 0xFFE0001F
ALL_REGISTERS = [*(f"x{n}" for n in range(31)), "sp", *(f"q{n}" for n in range(32)), "nzcv"]


def is_conduit(word: int) -> bool:
    """`hvc #imm` or `smc #imm`: 0xD4000002 | imm16 << 5, smc ending in 3 (Arm ARM C6.2)."""
    return (word & _HVC_SMC_MASK) in (0xD4000002, 0xD4000003)


class _Bank:
    """Batch access to a fixed list of registers through one C call each way.

    The Python binding converts register by register (a few microseconds each); a trial
    writes about 130 registers, so this talks to `uc_reg_*_batch` directly with
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


class _Direct:
    """Single registers and memory through unicorn's C API with preallocated buffers: the
    binding's reg_read, reg_write and mem_read cost several Python frames each, and each SVE
    instruction the machine runs needs a few of them."""

    def __init__(self, uc: Uc):
        self.handle = uc._uch
        self.register = ctypes.create_string_buffer(16)
        self.memory = ctypes.create_string_buffer(512)  # the longest access: a Z register, at most 256 bytes

    def read(self, reg: int, size: int = 8) -> int:
        if _uclib.uc_reg_read(self.handle, reg, self.register) != 0:
            raise UcError(_uclib.uc_errno(self.handle))
        return int.from_bytes(self.register.raw[:size], "little")

    def write(self, reg: int, value: int, size: int = 8) -> None:
        ctypes.memmove(self.register, value.to_bytes(size, "little"), size)
        if _uclib.uc_reg_write(self.handle, reg, self.register) != 0:
            raise UcError(_uclib.uc_errno(self.handle))

    def load(self, address: int, size: int) -> bytes | None:
        """`size` bytes at `address`, or None where nothing is mapped."""
        if _uclib.uc_mem_read(self.handle, address, self.memory, size) != 0:
            return None
        return self.memory.raw[:size]


class _Run:
    """What one trial has observed so far."""

    def __init__(self, x29: int):
        self.trace: list[int] = []
        self.steps: list[FrameStep] = []
        self.accesses: list[Access] = []
        self.traps: list[Trap] = []
        self.end: End | None = None
        self.current = 0
        self.previous: int | None = None
        self.x29 = x29
        self.record_dirty = False
        self.known: dict[str, int] = {}  # register values read and not since written
        self.switch_pending = None


class Harness:
    """One unicorn instance for one stub, reused across trials."""

    def __init__(
        self,
        plan: Plan,
        assembly: Assembly,
        checks: bool = True,
        factory: TrialFactory | None = None,
        vector_length: int = 0,
        streaming: bool = False,
    ):
        """`factory`: where trials come from; drawn from their seeds unless given (a replay).
        `vector_length` (bytes; 0: no SVE) and `streaming`: as `TrialFactory`'s."""
        assert len(assembly.code) <= CODE_SIZE, "stubsource.vet bounds the instruction count"
        self.plan = plan
        self.assembly = assembly
        self.checks = checks
        self.factory = factory or TrialFactory(plan, vector_length, streaming)
        self.vector_length = self.factory.vector_length
        # The context bytes the model's memory moves reach: VL-scaled slots lie past the fixed part.
        vector_trials = self.factory.vector
        self.move_size = max(plan.model.readable_size, vector_trials.context_size if vector_trials else 0)
        self.decoded: tuple[Decoded, ...] = decode(assembly.code)
        # The SVE/SME instruction at each offset that the machine runs, if any (with a vector length only).
        self.sve: tuple[sve.SveInstruction | None, ...] = (
            _sve_words(assembly.code) if self.vector_length else (None,) * len(self.decoded)
        )
        self.machine: VectorMachine | None = None
        self.end = CODE + len(assembly.code)
        # Hand-written stubs may loop; a correct one needs no more than a few times the bound.
        self.limit = 4 * plan.budget.lower_bound + 256
        watched = {*plan.model.kept, "x29", "x30", "sp"}
        self.effects = [(tuple(d.writes), bool(d.writes & watched)) for d in self.decoded]
        # Vn written by each instruction (AdvSIMD/FP): the bits of Zn above 127 become zero.
        self.q_writes: list[tuple[int, ...]] = []
        if self.vector_length:
            self.q_writes = [
                () if insn is not None else tuple(int(name[1:]) for name in d.writes if name[0] == "q")
                for d, insn in zip(self.decoded, self.sve, strict=True)
            ]
        # Loads and stores with a statically known address form are checked from their base
        # register in the code hook, much cheaper than a hook per access; any other memory
        # instruction (dc zva, exclusives, unknown ones) switches to per-access memory hooks.
        # The machine reports the accesses of the SVE/SME forms it runs itself.
        self.static_memory = all(
            d.access is not None for d, insn in zip(self.decoded, self.sve, strict=True) if d.memory and insn is None
        )
        self.uc = self._machine()
        self.all_bank = _Bank(self.uc, ALL_REGISTERS)
        self.switch_bank = _Bank(self.uc, self.factory.switched)
        self.exit_bank = _Bank(self.uc, list(CALLER_SAVED_VIEW))
        self.frame_bank = _Bank(self.uc, [*plan.model.kept, "x29", "x30", "sp"])
        self.q_bank = _Bank(self.uc, list(VECTORS))
        self.direct = _Direct(self.uc)
        # Mapped ranges and their permissions, for the machine's loads and stores.
        self.regions = [(begin, end, perms) for begin, end, perms in self.uc.mem_regions()]
        # Per static access: its form, the registers to read, whether SP is the base, and
        # how far a pre-indexed push moves SP before the access (`[sp, #-16]!`).
        self.static_accesses: list[tuple[DecodedAccess, _Bank, frozenset[str], bool, int] | None] = []
        for d in self.decoded:
            if d.access is None or not self.static_memory:
                self.static_accesses.append(None)
                continue
            names = [d.access.base] + ([d.access.index] if d.access.index else []) + ["sp"]
            sp_based = d.base == "sp"
            push = d.displacement if sp_based and d.pre_index else 0
            self.static_accesses.append((d.access, _Bank(self.uc, names), frozenset(names), sp_based, push))
        self.run_state: _Run | None = None
        self.hook_error: BaseException | None = None

    # --- setup -------------------------------------------------------------------------

    def _machine(self) -> Uc:
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        # Only the stub's own page is executable: a return or branch anywhere else faults
        # on the fetch, and is observed as control leaving the stub.
        uc.mem_map(CODE, CODE_SIZE)
        uc.mem_map(RETURN_ADDRESS, 0x1000, UC_PROT_READ)
        uc.mem_map(CONTEXT_WINDOW, WINDOW_SIZE, UC_PROT_READ | UC_PROT_WRITE)
        uc.mem_map(STACK_WINDOW, WINDOW_SIZE, UC_PROT_READ | UC_PROT_WRITE)
        uc.mem_write(CODE, self.assembly.code)
        uc.reg_write(_CPACR, 3 << 20)  # FPEN: let EL1 use the SIMD registers
        if self.vector_length:
            self._add_vector_trap_hook(uc)  # one call per SVE/SME instruction: skip the binding's frames
        else:
            uc.hook_add(UC_HOOK_INTR, self._on_trap)
        if self.checks:
            self._add_code_hook(uc)
            if not self.static_memory:
                uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._on_memory)
        uc.hook_add(UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_FETCH_PROT, self._on_unmapped)
        return uc

    def _add_code_hook(self, uc: Uc) -> None:
        """The per-instruction hook, registered with unicorn's C API directly.

        The binding wraps every callback in two Python frames; at one call per instruction
        that is a tenth of a validated trial, so this hook skips them. Like the binding, it
        stops the emulation on an exception and `run` re-raises it.
        """

        def raw(_handle: int, address: int, size: int, _key: int) -> None:
            try:
                self._on_instruction(address)
            except BaseException as error:  # re-raised by run(), never swallowed
                self.hook_error = error
                uc.emu_stop()

        def raw_vector(_handle: int, address: int, size: int, _key: int) -> None:
            try:
                self._on_vector_instruction(address)
            except BaseException as error:
                self.hook_error = error
                uc.emu_stop()

        # Keep a reference: unicorn holds only the pointer.
        self._raw_code_hook = _HOOK_CODE(raw_vector if self.vector_length else raw)
        handle = _uc_hook_h()
        status = _uclib.uc_hook_add(
            uc._uch, ctypes.byref(handle), UC_HOOK_CODE, self._raw_code_hook, None,
            ctypes.c_uint64(CODE), ctypes.c_uint64(self.end - 1),
        )  # fmt: skip
        if status != 0:
            raise UcError(status)

    def _add_vector_trap_hook(self, uc: Uc) -> None:
        """`_on_trap` registered with unicorn's C API directly, as the code hook is."""

        def raw(_handle: int, intno: int, _key: int) -> None:
            try:
                self._on_trap(uc, intno, None)
            except BaseException as error:  # re-raised by run(), never swallowed
                self.hook_error = error
                uc.emu_stop()

        self._raw_trap_hook = _HOOK_INTR(raw)
        handle = _uc_hook_h()
        status = _uclib.uc_hook_add(
            uc._uch,
            ctypes.byref(handle),
            UC_HOOK_INTR,
            self._raw_trap_hook,
            None,
            ctypes.c_uint64(1),
            ctypes.c_uint64(0),
        )
        if status != 0:
            raise UcError(status)

    # --- running -------------------------------------------------------------------------

    def run(self, seed: int) -> TrialObservation:
        state = self.factory.initial(seed, RETURN_ADDRESS)
        addresses = state.addresses
        switch = self.factory.switch(state)
        run = self.run_state = _Run(addresses.caller_record)
        self.switch = switch
        uc = self.uc
        uc.mem_write(addresses.region_start, state.region)
        uc.mem_write(addresses.entry_sp - STACK_SCRUB, bytes(STACK_SCRUB))
        uc.mem_write(
            addresses.caller_record, addresses.grand_record.to_bytes(8, "little") + CALLER_LR.to_bytes(8, "little")
        )
        uc.mem_write(addresses.grand_record, bytes(8) + GRAND_LR.to_bytes(8, "little"))
        for offset, word in state.stack.items():  # a given trial's stack words (a replay)
            if STACK_WINDOW <= addresses.entry_sp + offset <= STACK_WINDOW + WINDOW_SIZE - 8:
                uc.mem_write(addresses.entry_sp + offset, (word & MASK64).to_bytes(8, "little"))
        self.all_bank.write([state.entry[n] for n in ALL_REGISTERS])
        self.machine = _vector_machine(state) if self.vector_length else None
        self.state = state
        self.hook_error = None
        try:
            uc.emu_start(CODE, RETURN_ADDRESS, count=self.limit)
        except UcError:
            if run.end is None:  # a fault no hook explained
                run.end = End("fault", run.current, pc=uc.reg_read(_PC), address=uc.reg_read(_PC))
        if self.hook_error is not None:
            raise self.hook_error
        if run.end is None:
            run.end = self._finish(run)
        return TrialObservation(
            seed=seed,
            state=state,
            switch=switch,
            return_address=RETURN_ADDRESS,
            code_range=(CODE, CODE + CODE_SIZE),
            traps=run.traps,
            end=run.end,
            steps=run.steps,
            accesses=run.accesses,
            trace=run.trace,
        )

    def _finish(self, run: _Run) -> End:
        uc = self.uc
        last = run.trace[-1] if run.trace else None
        pc = uc.reg_read(_PC)
        if pc != RETURN_ADDRESS:
            if not self.checks or len(run.trace) >= self.limit:
                return End("limit", last, pc=pc)
            return End("left", last, pc=pc)
        if not self.checks:
            return End("returned", last, pc=pc)  # a bare run observes nothing
        if run.previous is not None:
            self._step_after(run.previous)
        addresses = self.state.addresses
        region = bytes(uc.mem_read(addresses.region_start, addresses.region_size))
        registers = self.exit_bank.read_map()
        machine = self.machine
        if machine is None:
            return End("returned", last, pc=pc, registers=registers, region=region)
        if run.previous is not None:
            for n in self.q_writes[run.previous >> 2]:
                machine.q_written(n)
        self._sync_q()
        registers["svcr"] = machine.svcr
        return End("returned", last, pc=pc, registers=registers, region=region, vector=machine.snapshot())

    # --- hooks -------------------------------------------------------------------------

    def _step_after(self, offset: int) -> None:
        run = self.run_state
        assert run is not None
        run.record_dirty = False
        values = self.frame_bank.read_map()
        fp = run.x29 = values["x29"]
        readable = STACK_WINDOW <= fp <= STACK_WINDOW + WINDOW_SIZE - 16
        record = bytes(self.uc.mem_read(fp, 16)) if readable else b""
        run.steps.append(FrameStep(offset, values, record))

    def _on_instruction(self, address: int) -> None:
        run = self.run_state
        assert run is not None
        offset = address - CODE
        run.trace.append(offset)
        previous = run.previous
        known = run.known
        if previous is not None:
            writes, frame_writer = self.effects[previous >> 2]
            if known:
                for name in writes:
                    known.pop(name, None)
            if frame_writer or run.record_dirty:
                self._step_after(previous)
        run.previous = run.current = offset
        memory = self.static_accesses[offset >> 2]
        if memory is None:
            return
        access, bank, names, sp_based, push = memory
        # Registers not written since they were last read are still known: a run of loads
        # off one base register costs one read.
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
        sp, size = values[-1], access.size
        # Inlined `_record`: this runs for every load and store of every trial.
        run.accesses.append(Access(offset, target, size, access.write, sp, sp + push, sp_based))
        if access.write and target < run.x29 + 16 and target + size > run.x29:
            run.record_dirty = True

    def _on_vector_instruction(self, address: int) -> None:
        """`_on_instruction` with the SVE rule for the instruction before: its writes of Vn
        zero the bits of Zn above 127."""
        run = self.run_state
        machine = self.machine
        assert run is not None and machine is not None
        if run.previous is not None:
            for n in self.q_writes[run.previous >> 2]:
                machine.q_written(n)
        self._on_instruction(address)

    def _record(self, offset: int, address: int, size: int, write: bool, sp: int, decoded: Decoded) -> None:
        run = self.run_state
        assert run is not None
        sp_based = decoded.base == "sp"
        # A pre-indexed push moves SP before its access: `[sp, #-16]!` stores at the new SP.
        low = sp + decoded.displacement if sp_based and decoded.pre_index else sp
        run.accesses.append(Access(offset, address, size, write, sp, low, sp_based))
        if write and address < run.x29 + 16 and address + size > run.x29:
            run.record_dirty = True

    def _on_memory(self, uc: Uc, access: int, address: int, size: int, value: int, _: object) -> bool:
        """Per-access observation, for stubs with memory forms not decoded statically."""
        run = self.run_state
        assert run is not None
        self._record(
            run.current, address, size, access == UC_MEM_WRITE, uc.reg_read(_SP), self.decoded[run.current >> 2]
        )
        return True

    def _on_unmapped(self, uc: Uc, access: int, address: int, size: int, value: int, _: object) -> bool:
        run = self.run_state
        assert run is not None
        pc = uc.reg_read(_PC)
        if address == pc and not (CODE <= pc < self.end):
            run.end = End("left", run.current, pc=pc)
        else:
            run.end = End("fault", run.current, pc=pc, address=address)
        return False

    def _on_trap(self, uc: Uc, intno: int, _: object) -> None:
        run = self.run_state
        assert run is not None
        pc = self.direct.read(_PC)
        if intno == _UDEF and self.machine is not None and CODE <= pc < self.end:
            insn = self.sve[(pc - CODE) >> 2]
            if insn is not None:  # an SVE/SME word of the stub's own code (never a conduit)
                self._run_vector(insn, pc)
                return
        at = pc - 4 if intno in _PC_AFTER else pc
        if not CODE <= at < self.end:
            # Executing past the stub's end: it never returned to the entry x30.
            run.end = End("left", run.current, pc=pc)
            uc.emu_stop()
            return
        word = int.from_bytes(bytes(uc.mem_read(at, 4)), "little")
        offset = at - CODE
        if intno not in (_UDEF, _EXCP_SMC) or not is_conduit(word):
            run.traps.append(Trap(offset, "exception", word, {}, b"", len(run.trace) - 1))
            run.end = End("exception", offset, pc=pc)
            uc.emu_stop()
            return
        state = self.state
        addresses = state.addresses
        if self.checks:
            # Frame state just before the model's move, so that nothing an instruction did
            # before the trap is taken for the hypervisor's doing.
            self._step_after(offset)
        if self.checks and not run.traps:
            registers = self.all_bank.read_map()
            region = bytes(uc.mem_read(addresses.region_start, addresses.region_size))
        else:
            registers, region = {}, b""
        vector: dict[str, bytes] = {}
        machine = self.machine
        if machine is not None and self.checks and not run.traps:
            self._sync_q()
            vector = machine.snapshot()
            registers["svcr"] = machine.svcr
        run.traps.append(Trap(offset, "conduit", word, registers, region, len(run.trace) - 1, vector))
        switch = self.switch
        self.switch_bank.write([value for _, value in switch.registers])
        if machine is not None:
            for name, data in switch.vector:
                self._vector_move(machine, name, data)
        if switch.memory:
            context = bytearray(uc.mem_read(addresses.context, self.move_size))
            for start, data in switch.memory:
                context[start : start + len(data)] = data
            uc.mem_write(addresses.context, bytes(context))
        sp = uc.reg_read(_SP)
        low = max(sp - SCRIBBLE, STACK_WINDOW)
        if low < sp <= STACK_WINDOW + WINDOW_SIZE:
            uc.mem_write(low, switch.scribble[: sp - low])
        run.known.clear()  # the hypervisor may have changed anything
        if self.checks:
            run.steps.append(FrameStep(offset, self.frame_bank.read_map(), b"", after_switch=True))
        uc.reg_write(_PC, at + 4)

    # --- SVE and SME ----------------------------------------------------------------------

    def _sync_q(self) -> None:
        """Unicorn's Q registers into the low 16 bytes of the machine's Z registers."""
        machine = self.machine
        assert machine is not None
        for n, value in enumerate(self.q_bank.read()):
            machine.set_q(n, value.to_bytes(16, "little"))

    def _read_x(self, n: int) -> int:
        return self.direct.read(_X_IDS[n])

    def _write_x(self, n: int, value: int) -> None:
        self.direct.write(_X_IDS[n], value)

    def _mapped(self, address: int, size: int, permission: int) -> bool:
        end = address + size - 1
        return any(begin <= address and end <= last and perms & permission for begin, last, perms in self.regions)

    def _load(self, address: int, size: int) -> bytes:
        data = self.direct.load(address, size)  # every mapped page is readable
        if data is None:
            raise _VectorFault(address)
        return data

    def _store(self, address: int, data: bytes) -> None:
        if not self._mapped(address, len(data), UC_PROT_WRITE):
            raise _VectorFault(address)
        self.uc.mem_write(address, data)

    def _run_vector(self, insn: sve.SveInstruction, at: int) -> None:
        """One SVE/SME instruction on the machine, in place of unicorn's UDEF."""
        run, machine, uc, direct = self.run_state, self.machine, self.uc, self.direct
        assert run is not None and machine is not None
        offset = at - CODE
        source = z_read(insn)
        if source is not None:
            machine.set_q(source, direct.read(_Q_BY_NUMBER[source], 16).to_bytes(16, "little"))
        try:
            effects = machine.execute(insn, self._read_x, self._write_x, self._load, self._store)
        except VectorTrap:
            # What the CPU would take at it (an SME trap, or undefined): an exception observed there.
            word = int.from_bytes(self.assembly.code[offset : offset + 4], "little")
            run.traps.append(Trap(offset, "exception", word, {}, b"", len(run.trace) - 1))
            run.end = End("exception", offset, pc=at)
            uc.emu_stop()
            return
        except _VectorFault as fault:
            run.end = End("fault", offset, pc=at, address=fault.address)
            uc.emu_stop()
            return
        for n in effects.z_written:
            direct.write(_Q_BY_NUMBER[n], int.from_bytes(machine.z[n][:16], "little"), 16)
        if effects.sm_changed:
            direct.write(_FPSR, FPSR_AFTER_SM_CHANGE)  # ResetSVEState
        if self.checks and effects.accesses:
            sp = direct.read(_SP)
            for access in effects.accesses:
                run.accesses.append(
                    Access(offset, access.address, access.size, access.write, sp, sp, access.base == VECTOR_SP)
                )
                if access.write and access.address < run.x29 + 16 and access.address + access.size > run.x29:
                    run.record_dirty = True
        direct.write(_PC, at + 4)

    def _vector_move(self, machine: VectorMachine, name: str, data: bytes) -> None:
        """The model's move of one piece of SVE/SME state (base.py: a "zN" of VL bytes is all
        of Zn, VL - 16 bytes only its bits above 127; "za" only while PSTATE.ZA is 1)."""
        if name == "za":
            if machine.za_enabled:
                machine.load({name: data})
            return
        if name[0] != "z":
            machine.load({name: _fit(data, machine.predicate_length)})
            return
        n = int(name[1:])
        if len(data) == self.vector_length:
            machine.z[n] = _fit(data, machine.length)
            self.direct.write(_Q_BY_NUMBER[n], int.from_bytes(machine.z[n][:16], "little"), 16)
        else:
            machine.z[n] = machine.z[n][:16] + _fit(data, machine.length - 16)


class _VectorFault(Exception):
    """An SVE/SME load or store touched memory that is not mapped with its permission."""

    def __init__(self, address: int):
        super().__init__(f"fault at 0x{address:x}")
        self.address = address


def _sve_words(code: bytes) -> tuple[sve.SveInstruction | None, ...]:
    return tuple(sve.decode(int.from_bytes(code[i : i + 4], "little")) for i in range(0, len(code), 4))


def _fit(data: bytes, size: int) -> bytes:
    """`data` at `size` bytes: cut, or zero-extended (values drawn at VL, used at SVL)."""
    return data[:size] + bytes(max(0, size - len(data)))


def _vector_machine(state: InitialState) -> VectorMachine:
    """The machine in the state the trial calls the stub in (`state.vector`, at the effective length)."""
    machine = VectorMachine(state.vector_length, state.streaming_length)
    machine.set_streaming(state.streaming, za="za" in state.vector)
    sizes = {"za": state.streaming_length**2, "ffr": machine.predicate_length}
    machine.load(
        {
            name: _fit(data, sizes.get(name, machine.length if name[0] == "z" else machine.predicate_length))
            for name, data in state.vector.items()
        }
    )
    return machine


class UnicornBackend:
    """Every instruction observed: the reference backend. SVE/SME state through
    `VectorMachine` when made with a vector length (bytes; 0: none)."""

    name: ClassVar[str] = "unicorn"
    observes: ClassVar[frozenset[Observable]] = frozenset(
        {Observable.STEPS, Observable.ACCESSES, Observable.TRACE, Observable.VECTOR}
    )
    limits: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init__(self, vector_length: int = 0, streaming: bool = False, factory: TrialFactory | None = None):
        self.vector_length, self.streaming, self.factory = vector_length, streaming, factory

    def observe(self, plan: Plan, code: StubCode, trials: Sequence[int]) -> Iterator[TrialObservation]:
        harness = Harness(
            plan, code.assembly, factory=self.factory, vector_length=self.vector_length, streaming=self.streaming
        )
        for seed in trials:
            yield harness.run(seed)
