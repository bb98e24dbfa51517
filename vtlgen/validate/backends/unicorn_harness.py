"""One trial of one stub on unicorn: the registers and context set, the run, what it observed.

It records the frame state after every instruction that may change it (P3, P6), every
load and store (P7, P8), the executed trace (P10, blame) and the registers and context
at the trap and at the end; `vtlgen.validate.contract` decides. Nothing is printed.

Unicorn 2.1 runs the stub at EL1. Without SCR_EL3.HCE, `hvc` arrives in UC_HOOK_INTR as
exception 1 (UDEF) with PC at the `hvc`; `smc` arrives as exception 13 (EXCP_SMC) with PC
already past it. ESR is not written, so the trapping word is read here. `brk` arrives
as 7 and anything else as its own number: each is an observation, never a crash.

Two ways of looking, with the same observations: by default the harness looks only where
`WatchPlan` says it must (block starts, after frame writers, at loads and stores whose
registers it cannot follow) and computes the rest; a trial that way cannot decide (it does
not return, or it stores into the live frame record mid-segment) runs again in the
reference mode, which looks at every instruction. SVE and SME words run on a
`VectorMachine` through `VectorBridge` (unicorn_vector.py) when the harness has a vector
length; without one an SVE word is an exception.
"""

from __future__ import annotations

from unicorn import (
    UC_ARCH_ARM64,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_MEM_WRITE,
    UC_MODE_ARM,
    UC_PROT_READ,
    UC_PROT_WRITE,
)
from unicorn.unicorn_py3.unicorn import Uc, UcError

from vtlgen.isa import registers, sve
from vtlgen.isa.assembler import Assembly
from vtlgen.isa.disassembler import Decoded, DecodedAccess, decode
from vtlgen.isa.encoding import is_conduit
from vtlgen.isa.stubsource import CODE_REGION
from vtlgen.plan import Plan
from vtlgen.validate.backends.base import Access, End, FrameStep, Trap, TrialObservation
from vtlgen.validate.backends.unicorn_capi import CPACR, PC, SP, Direct, Hooks, RegisterBank
from vtlgen.validate.backends.unicorn_vector import VectorBridge
from vtlgen.validate.backends.unicorn_watch import Segment, WatchPlan
from vtlgen.validate.trial import (
    CALLER_LR,
    CONTEXT_WINDOW,
    GRAND_LR,
    MASK64,
    SCRIBBLE,
    STACK_SCRUB,
    STACK_WINDOW,
    WINDOW_SIZE,
    InitialState,
    Switch,
    TrialFactory,
)

CODE = 0x0001_0000
CODE_SIZE = CODE_REGION  # the assembler refuses a longer stub, located (stubsource.py)
RETURN_ADDRESS = 0x0004_0000  # a mapped page the stub must return to (x30 at entry)

_UDEF = 1  # hvc at EL1 without SCR_EL3.HCE: PC at the hvc
_EXCP_SMC = 13  # smc: PC after the smc
_PC_AFTER = {2, 11, _EXCP_SMC}  # svc, hvc (with HCE), smc: taken with PC past the instruction
ALL_REGISTERS = list(registers.MODELLED)
_NO_SEGMENT = Segment((), ())


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
        # Watching (not every instruction): the first executed instruction not yet in the
        # trace, where the current block ends, the registers read at `pending`, whether the
        # frame step for `previous` has been taken, and whether this run cannot be decided.
        self.pending: int | None = None
        self.block_end = 0
        self.segment = _NO_SEGMENT
        self.values: dict[str, int] = {}
        self.settled = True
        self.undecided = False


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
        reference: bool = False,
    ):
        """`factory`: where trials come from; drawn from their seeds unless given (a replay).
        `vector_length` (bytes; 0: no SVE) and `streaming`: as `TrialFactory`'s.
        `reference`: look at every instruction (the mode a watched trial falls back to)."""
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
        self.end = CODE + len(assembly.code)
        # Hand-written stubs may loop; a correct one needs no more than a few times the bound.
        self.limit = 4 * plan.budget.lower_bound + 256
        frame = [*plan.model.kept, *registers.FRAME_REGISTERS]
        watched = set(frame)
        self.effects = [(tuple(d.writes), bool(d.writes & watched)) for d in self.decoded]
        self.uc = self._map()
        self.direct = Direct(self.uc)
        self.hooks = Hooks(self.uc)
        self.vector = (
            VectorBridge(self.uc, self.direct, assembly.code, self.decoded, self.vector_length)
            if self.vector_length
            else None
        )
        self.sve = self.vector.words if self.vector else (None,) * len(self.decoded)
        # Loads and stores with a statically known address form are checked from their base
        # register, much cheaper than a hook per access; any other memory instruction (dc zva,
        # exclusives, unknown ones) switches to per-access memory hooks and the reference mode.
        # The machine reports the accesses of the SVE/SME forms it runs itself.
        self.static_memory = all(
            d.access is not None for d, insn in zip(self.decoded, self.sve, strict=True) if d.memory and insn is None
        )
        self.watching = checks and self.static_memory and not reference
        self.watch = WatchPlan(self.decoded, [insn is not None for insn in self.sve], watched)
        self.all_bank = RegisterBank(self.uc, ALL_REGISTERS)
        self.switch_bank = RegisterBank(self.uc, self.factory.switched)
        self.exit_bank = RegisterBank(self.uc, registers.CALLER_SAVED_VIEW)
        self.frame_bank = RegisterBank(self.uc, frame)
        self._banks: dict[tuple[str, ...], RegisterBank] = {}
        # Per static access (reference mode): its form, the registers to read, whether SP is
        # the base, and how far a pre-indexed push moves SP before the access (`[sp, #-16]!`).
        self.static_accesses: list[tuple[DecodedAccess, RegisterBank, frozenset[str], bool, int] | None] = []
        for d in self.decoded:
            if d.access is None or not self.static_memory:
                self.static_accesses.append(None)
                continue
            names = [d.access.base] + ([d.access.index] if d.access.index else []) + ["sp"]
            sp_based = d.base == "sp"
            push = d.displacement if sp_based and d.pre_index else 0
            self.static_accesses.append((d.access, RegisterBank(self.uc, names), frozenset(names), sp_based, push))
        self._add_hooks()
        self.run_state: _Run | None = None
        self._reference: Harness | None = None

    # --- setup -------------------------------------------------------------------------

    def _map(self) -> Uc:
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        # Only the stub's own page is executable: a return or branch anywhere else faults
        # on the fetch, and is observed as control leaving the stub.
        uc.mem_map(CODE, CODE_SIZE)
        uc.mem_map(RETURN_ADDRESS, 0x1000, UC_PROT_READ)
        uc.mem_map(CONTEXT_WINDOW, WINDOW_SIZE, UC_PROT_READ | UC_PROT_WRITE)
        uc.mem_map(STACK_WINDOW, WINDOW_SIZE, UC_PROT_READ | UC_PROT_WRITE)
        uc.mem_write(CODE, self.assembly.code)
        uc.reg_write(CPACR, 3 << 20)  # FPEN: let EL1 use the SIMD registers
        return uc

    def _add_hooks(self) -> None:
        hooks, last = self.hooks, self.end - 1
        hooks.interrupt(self._on_trap)
        if self.watching:
            hooks.block(self._on_block, CODE, last)
            for index in self.watch.looks:
                hooks.code(self._on_look, CODE + 4 * index, CODE + 4 * index)
        elif self.checks:
            hooks.code(self._on_vector_instruction if self.vector else self._on_instruction, CODE, last)
            if not self.static_memory:
                self.uc.hook_add(UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._on_memory)
        self.uc.hook_add(UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_FETCH_PROT, self._on_unmapped)

    # --- running -------------------------------------------------------------------------

    def run(self, seed: int) -> TrialObservation:
        state = self.factory.initial(seed, RETURN_ADDRESS)
        return self.run_trial(seed, state, self.factory.switch(state))

    def run_trial(self, seed: int, state: InitialState, switch: Switch) -> TrialObservation:
        """The trial `seed` from `state`, with `switch` at the trap."""
        observation, run = self._run(seed, state, switch)
        if self.watching and (run.undecided or observation.end.kind != "returned"):
            if self._reference is None:
                self._reference = Harness(self.plan, self.assembly, factory=self.factory, reference=True)
            return self._reference.run_trial(seed, state, switch)
        return observation

    def _run(self, seed: int, state: InitialState, switch: Switch) -> tuple[TrialObservation, _Run]:
        addresses = state.addresses
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
        if self.vector is not None:
            self.vector.start(state)
        self.state = state
        try:
            uc.emu_start(CODE, RETURN_ADDRESS, count=self.limit)
        except UcError:
            if run.end is None:  # a fault no hook explained
                pc = self.direct.read(PC)
                run.end = End("fault", run.current, pc=pc, address=pc)
        self.hooks.reraise()
        if run.end is None:
            run.end = self._finish(run)
        observation = TrialObservation(
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
        return observation, run

    def _finish(self, run: _Run) -> End:
        uc = self.uc
        if self.watching:
            self._flush(run.block_end)
        last = run.trace[-1] if run.trace else None
        pc = self.direct.read(PC)
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
        vector = self.vector
        if vector is None:
            return End("returned", last, pc=pc, registers=registers, region=region)
        if run.previous is not None and not self.watching:  # watching: `_flush` applied it
            vector.q_written(run.previous)
        snapshot = vector.snapshot()
        registers["svcr"] = vector.machine.svcr
        return End("returned", last, pc=pc, registers=registers, region=region, vector=snapshot)

    # --- frame steps ---------------------------------------------------------------------

    def _step_after(self, offset: int) -> None:
        run = self.run_state
        assert run is not None
        run.record_dirty = False
        values = self.frame_bank.read_map()
        fp = run.x29 = values["x29"]
        readable = STACK_WINDOW <= fp <= STACK_WINDOW + WINDOW_SIZE - 16
        record = (self.direct.load(fp, 16) or b"") if readable else b""
        run.steps.append(FrameStep(offset, values, record))

    # --- watching: looks where `WatchPlan` says ------------------------------------------

    def _on_block(self, address: int, size: int) -> None:
        run = self.run_state
        assert run is not None
        self._flush(run.block_end)  # the rest of the block before: it ran to its end
        offset = address - CODE
        run.block_end = offset + size
        self._arrive(offset)

    def _on_look(self, address: int) -> None:
        run = self.run_state
        assert run is not None
        offset = address - CODE
        if run.pending != offset:  # not already looked at as a block's start
            self._flush(offset)
            self._arrive(offset)

    def _settle(self) -> None:
        """What the reference mode does for the instruction before, at the next one: the
        frame step after a frame writer or a store into the live frame record."""
        run = self.run_state
        assert run is not None
        if run.settled:
            return
        run.settled = True
        previous = run.previous
        if previous is not None and (self.effects[previous >> 2][1] or run.record_dirty):
            self._step_after(previous)

    def _arrive(self, offset: int) -> None:
        """About to run the instruction at `offset`: settle the one before, read the registers
        the segment from here needs."""
        run = self.run_state
        assert run is not None
        self._settle()
        run.pending = offset
        segment = run.segment = self.watch.segment(offset >> 2)
        bank = self._banks.get(segment.names)
        if bank is None:
            bank = self._banks[segment.names] = RegisterBank(self.uc, segment.names)
        run.values = dict(zip(segment.names, bank.read(), strict=True))

    def _flush(self, end: int) -> None:
        """The instructions from `pending` up to `end` ran: their trace and their accesses,
        from the registers read at `pending`."""
        run = self.run_state
        assert run is not None
        start = run.pending
        if start is None or end <= start:
            return
        run.pending = None
        run.trace.extend(range(start, end, 4))
        last = end - 4
        values, x29, append = run.values, run.x29, run.accesses.append
        segment_sp = values.get("sp", 0)
        new = tuple.__new__  # `Access(...)` without its Python-level __new__: one per access
        for at, write, size, base, constant, index, delta, shift, sp_delta, push, sp_based in run.segment.accesses:
            if at >= end:
                break
            target = values[base] + constant
            if index is not None:
                target += (values[index] + delta) << shift
            target &= MASK64
            sp = (segment_sp + sp_delta) & MASK64
            append(new(Access, (at, target, size, write, sp, sp + push, sp_based)))
            if write and target < x29 + 16 and target + size > x29:
                if at == last:
                    run.record_dirty = True  # stepped at the look that follows, as the reference does
                else:
                    run.undecided = True  # the step belongs between two instructions nothing looked at
        if self.vector is not None:
            for at in range(start, end, 4):
                self.vector.q_written(at)
        run.previous = run.current = last
        run.settled = False

    # --- reference: a look at every instruction ------------------------------------------

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
        assert run is not None and self.vector is not None
        if run.previous is not None:
            self.vector.q_written(run.previous)
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
            run.current, address, size, access == UC_MEM_WRITE, self.direct.read(SP), self.decoded[run.current >> 2]
        )
        return True

    # --- both: faults and traps ----------------------------------------------------------

    def _on_unmapped(self, uc: Uc, access: int, address: int, size: int, value: int, _: object) -> bool:
        run = self.run_state
        assert run is not None
        pc = self.direct.read(PC)
        if address == pc and not (CODE <= pc < self.end):
            run.end = End("left", run.current, pc=pc)
        else:
            run.end = End("fault", run.current, pc=pc, address=address)
        return False

    def _reach_trap(self, at: int) -> None:
        """Watching: the instructions before the trapping one into the trace, then that one,
        as the reference mode's look at it would have put them."""
        run = self.run_state
        assert run is not None
        offset = at - CODE
        self._flush(offset)
        self._settle()
        run.trace.append(offset)
        run.previous = run.current = offset
        run.settled = False
        run.pending = None

    def _on_trap(self, intno: int) -> None:
        run, uc, vector = self.run_state, self.uc, self.vector
        assert run is not None
        pc = self.direct.read(PC)
        at = pc - 4 if intno in _PC_AFTER else pc
        if self.watching:
            if CODE <= at < self.end:
                self._reach_trap(at)
            else:
                run.undecided = True
        if intno == _UDEF and vector is not None and CODE <= pc < self.end:
            insn = self.sve[(pc - CODE) >> 2]
            if insn is not None:  # an SVE/SME word of the stub's own code (never a conduit)
                self._run_vector(insn, pc)
                return
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
        snapshot: dict[str, bytes] = {}
        if vector is not None and self.checks and not run.traps:
            snapshot = vector.snapshot()
            registers["svcr"] = vector.machine.svcr
        run.traps.append(Trap(offset, "conduit", word, registers, region, len(run.trace) - 1, snapshot))
        switch = self.switch
        self.switch_bank.write([value for _, value in switch.registers])
        if vector is not None:
            for name, data in switch.vector:
                vector.move(name, data)
        if switch.memory:
            context = bytearray(uc.mem_read(addresses.context, self.move_size))
            for start, data in switch.memory:
                context[start : start + len(data)] = data
            uc.mem_write(addresses.context, bytes(context))
        sp = self.direct.read(SP)
        low = max(sp - SCRIBBLE, STACK_WINDOW)
        if low < sp <= STACK_WINDOW + WINDOW_SIZE:
            uc.mem_write(low, switch.scribble[: sp - low])
        run.known.clear()  # the hypervisor may have changed anything
        if self.checks:
            run.steps.append(FrameStep(offset, self.frame_bank.read_map(), b"", after_switch=True))
        self.direct.write(PC, at + 4)

    def _run_vector(self, insn: sve.SveInstruction, at: int) -> None:
        """One SVE/SME instruction on the machine, in place of unicorn's UDEF."""
        run, vector = self.run_state, self.vector
        assert run is not None and vector is not None
        offset = at - CODE
        outcome = vector.run(insn, at, offset, len(run.trace) - 1)
        if isinstance(outcome, Trap):
            run.traps.append(outcome)
            run.end = End("exception", offset, pc=at)
            self.uc.emu_stop()
            return
        if isinstance(outcome, End):
            run.end = outcome
            self.uc.emu_stop()
            return
        if self.checks:
            for access in outcome:
                run.accesses.append(access)
                if access.write and access.address < run.x29 + 16 and access.address + access.size > run.x29:
                    run.record_dirty = True
        self.direct.write(PC, at + 4)
