"""Every path of a stub, from its entry to its return, with the obligations checked on the way.

The p-code of each instruction runs on a symbolic state. A conditional branch whose
condition is not fixed forks the path (each side keeps its condition); a loop that does
not end within the instruction bound, an indirect branch that may go anywhere but the
entry x30, or a p-code operation outside the allow-list leaves a gap: UNPROVEN.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3
from pypcode import OpCode, PcodeOp, Varnode

from vtlgen import properties as say
from vtlgen.isa import sve
from vtlgen.isa.registers import FRAME_REGISTERS
from vtlgen.plan import Plan
from vtlgen.prove import hypervisor, pcode, sve_semantics
from vtlgen.prove import world as w
from vtlgen.prove.lifter import Lifted, lift, relative_target
from vtlgen.prove.obligations import Failure, Gap, ProofObligations, bytes_of
from vtlgen.prove.state import CONTAINERS, State, Unproven

MAX_PATHS = 64
DC_ZVA_BLOCK = 2048  # DCZID_EL0.BS is at most 9: 4 << 9 bytes (Arm ARM, DCZID_EL0)
_BRANCHES = (OpCode.BRANCH, OpCode.CALL)
_INDIRECT = (OpCode.BRANCHIND, OpCode.CALLIND, OpCode.RETURN)
_NO_EFFECT = {"Hint_Prefetch", "ClearExclusiveLocal"}  # prefetch hints and CLREX change no state we model
# User operations that take an exception: the path ends there, as a fault (P9).
_FAULTS = {
    "SoftwareBreakpoint": "brk",
    "HaltBreakPoint": "hlt",
    "CallSupervisor": "svc",
    "UndefinedInstructionException": "undefined instruction",
}


@dataclass(frozen=True)
class Exploration:
    failures: tuple[Failure, ...]
    gaps: tuple[Gap, ...]
    paths: int
    longest: int  # instructions on the longest path


class _Stop(Exception):
    """This path ends here (return, fault or a violation that ends it)."""


class Explorer:
    def __init__(self, plan: Plan, code: bytes, code_base: int, reference: w.Addresses, vector_length: int = 0):
        self.plan = plan
        self.code = code
        self.base = code_base
        self.lifted: tuple[Lifted, ...] = lift(code, code_base)
        self.vector = {i.offset: found for i in self.lifted if (found := sve.decode(i.word)) is not None}
        self.world = w.World(plan, code_base, len(code), reference, vector_length)
        self.obligations = ProofObligations(plan, self.world)
        self.limit = 4 * plan.budget.lower_bound + 256  # the trials' bound on a round trip
        model = plan.model
        poison = [r for r in model.randomized if r not in model.results]
        self.poison = set().union(*(bytes_of(r) for r in poison)) if poison else set()
        watched = [w.register_base(r)[0] for r in (*plan.model.kept, *FRAME_REGISTERS)]
        self.watched = frozenset(watched)  # a write to one of these re-checks P3 and P6
        self.paths = 0
        self.longest = 0

    def run(self) -> Exploration:
        work = [State(self.world.entry_registers(), {}, [], 0, vector=self.world.vector_entry_registers())]
        while work:
            if self.paths >= MAX_PATHS:
                self.obligations.gap(None, f"more than {MAX_PATHS} paths")
                break
            state = work.pop()
            try:
                self._walk(state, work)
            except _Stop:
                pass
            except Unproven as gap:
                self.obligations.gap(state.pc, str(gap))
            self.paths += 1
            self.longest = max(self.longest, state.steps)
        return Exploration(
            tuple(self.obligations.failures.values()), tuple(self.obligations.gaps.values()), self.paths, self.longest
        )

    # --- instructions ---------------------------------------------------------------------------

    def _walk(self, state: State, work: list[State]) -> None:
        while True:
            if state.op == 0:
                self._begin(state)
                insn = self.vector.get(state.pc)
                if insn is not None:  # SVE/SME: vtlgen's decoder and semantics, not SLEIGH's
                    if not sve_semantics.execute(state, self.world, self.obligations, insn):
                        raise _Stop
                    self._finish(state, state.pc + 4)
                    continue
            lifted = self.lifted[state.pc // 4]
            target = self._execute(state, lifted, work)
            self._finish(state, target)

    def _begin(self, state: State) -> None:
        if state.steps >= self.limit:
            # Past the trials' bound on a feasible path: P9, as in a trial, unless the path
            # keeps going only because a store-exclusive failed every time (the trials' never fails).
            if any(str(v).startswith(f"{w.HYPERVISOR}monitor.") for c in state.path for v in w.symbols(c)):
                raise Unproven(f"a loop did not end within {self.limit} instructions")
            self.obligations.fail(state, "P9", say.NO_END, state.pc, "", say.BOUNDED_RUN, say.UNBOUNDED)
            raise _Stop
        if not 0 <= state.pc < len(self.lifted) * 4:
            self.obligations.fail(state, "P5", say.LEAVES_STUB, state.pc, "pc", self.world.lr, f"code+{state.pc:#x}")
            raise _Stop
        lifted = self.lifted[state.pc // 4]
        if lifted.error and state.pc not in self.vector:
            raise Unproven(lifted.error)
        state.steps += 1
        state.unique, state.sp_source = {}, {}
        state.v_written = set()
        state.start_sp = state.registers[w.SP]
        state.registers[w.PC] = z3.BitVecVal(self.base + state.pc, 64)

    def _finish(self, state: State, target: int) -> None:
        """After an instruction: the frame rules (P3, P6), then the next instruction."""
        if state.v_written:  # an AdvSIMD/FP instruction (SLEIGH lifts no SVE here) wrote these V registers
            for base in sorted(state.v_written):
                state.zero_upper((base - w.z_base(0)) // w.Z_CONTAINER, self.world.vector_length, self.world)
            state.v_written = set()
        if state.frame_dirty:
            state.frame_dirty = False
            self.obligations.frame(state, state.pc)
        state.pc, state.op = target, 0

    def _execute(self, state: State, lifted: Lifted, work: list[State]) -> int:
        """Run the rest of one instruction's ops; the offset of the next instruction."""
        ops = lifted.ops
        while state.op < len(ops):
            op = ops[state.op]
            state.op += 1
            if op.opcode == OpCode.CBRANCH:
                condition = self._read(state, op.inputs[1]) != 0
                taken = self._fork(state, condition, work, op)
                if taken is not None:
                    return taken
                continue
            if op.opcode == OpCode.BRANCH and op.inputs[0].space.name == "const":  # within the instruction
                state.op = state.op - 1 + relative_target(op.inputs[0])
                continue
            if op.opcode in _BRANCHES:
                return self._direct(state, op.inputs[0])
            if op.opcode in _INDIRECT:
                return self._indirect(state, self._read(state, op.inputs[0]))
            self._operate(state, op, lifted)
        return state.pc + 4

    def _fork(self, state: State, condition: z3.BoolRef, work: list[State], op: PcodeOp) -> int | None:
        """A conditional branch: None to fall through, or the next instruction when taken."""
        simple = z3.simplify(condition)
        taken = not z3.is_false(simple) and (z3.is_true(simple) or self.obligations.feasible(state.path, condition))
        stays = not z3.is_true(simple) and (
            z3.is_false(simple) or self.obligations.feasible(state.path, z3.Not(condition))
        )
        if taken and stays:
            twin = state.fork()
            twin.path.append(condition)
            state.path.append(z3.Not(condition))
            if op.inputs[0].space.name == "const":  # a p-code relative branch inside the instruction
                twin.op = state.op - 1 + relative_target(op.inputs[0])
            else:
                self._finish(twin, self._direct(twin, op.inputs[0]))
            work.append(twin)
            return None
        if not taken:
            return None
        if op.inputs[0].space.name == "const":
            state.op = state.op - 1 + relative_target(op.inputs[0])
            return None
        return self._direct(state, op.inputs[0])

    def _direct(self, state: State, target: Varnode) -> int:
        if target.space.name == "const":
            raise Unproven("a p-code call inside an instruction")
        return int(target.offset) - self.base

    def _indirect(self, state: State, target: z3.BitVecRef) -> int:
        simple = z3.simplify(target)
        if z3.is_bv_value(simple):
            return int(simple.as_long()) - self.base  # into the stub, or out of it (P5 at the next step)
        world, judge = self.world, self.obligations
        if judge.equal(state, target, world.lr):
            judge.exit(state, state.pc)
            raise _Stop
        inside = z3.ULT(target - self.base, len(self.code))
        if judge.fail(
            state, "P5", say.LEAVES_STUB, state.pc, "pc", world.lr, target, z3.And(target != world.lr, z3.Not(inside))
        ):
            raise _Stop
        raise Unproven("an indirect branch that may land inside the stub")

    # --- data ---------------------------------------------------------------------------------

    def _read(self, state: State, varnode: Varnode) -> z3.BitVecRef:
        space, offset, size = varnode.space.name, varnode.offset, varnode.size
        if space == "const":
            return z3.BitVecVal(offset, 8 * size)
        if space == "unique":
            value = state.unique.get((offset, size))
            if value is None:
                raise Unproven(f"reads p-code temporary {offset:#x} before writing it")
            return value
        if space == "register":
            if state.poisoned:
                touched = set(w.FLAGS.values()) if offset == w.NZCV else set(range(offset, offset + size))
                for base in sorted({CONTAINERS[b][0] for b in state.poisoned & touched}):
                    self.obligations.poisoned_read(state, state.pc, base)
            try:
                return state.read_register(offset, size, self.world)
            except KeyError:
                raise Unproven(f"reads {varnode.getRegisterName()}, a register the proof does not model") from None
        raise Unproven(f"reads the {space} space")

    def _write(self, state: State, varnode: Varnode | None, value: z3.BitVecRef, sp: z3.BitVecRef | None) -> None:
        if varnode is None:
            raise Unproven("a p-code operation without an output")
        space, offset, size = varnode.space.name, varnode.offset, varnode.size
        if space == "unique":
            state.unique[(offset, size)] = value
            if sp is not None:
                state.sp_source[(offset, size)] = sp
            return
        if space != "register":
            raise Unproven(f"writes the {space} space")
        try:
            base = state.container(offset, size)[0]
        except KeyError:
            if offset == w.NZCV:
                state.write_register(offset, size, value)
                return
            raise Unproven(f"writes {varnode.getRegisterName()}, a register the proof does not model") from None
        state.write_register(offset, size, value)
        if self.world.vector_length and w.z_base(0) <= base <= w.z_base(31):
            state.v_written.add(base)
        if state.poisoned:
            state.poisoned.difference_update(range(offset, offset + size))
        if base in self.watched:
            state.frame_dirty = True

    def _sp_source(self, state: State, op: PcodeOp) -> z3.BitVecRef | None:
        """The SP value an address was computed from, if any (AAPCS64 alignment applies to it)."""
        for varnode in op.inputs:
            if varnode.space.name == "register" and varnode.offset == w.SP:
                return state.registers[w.SP]
            if varnode.space.name == "unique" and (varnode.offset, varnode.size) in state.sp_source:
                return state.sp_source[(varnode.offset, varnode.size)]
        return None

    def _operate(self, state: State, op: PcodeOp, lifted: Lifted) -> None:
        code = op.opcode
        if code == OpCode.LOAD:
            self._load(state, op)
        elif code == OpCode.STORE:
            address = self._read(state, op.inputs[1])
            value = self._read(state, op.inputs[2])
            self._store(state, address, value, self._sp_source(state, op))
        elif code == OpCode.CALLOTHER:
            self._callother(state, op, lifted)
        elif code in pcode.BINARY:
            a, b = self._read(state, op.inputs[0]), self._read(state, op.inputs[1])
            try:
                value = pcode.BINARY[code](a, b)
            except KeyError:
                raise Unproven(f"{_name(code)} on {a.size()}-bit values") from None
            self._write(state, op.output, value, self._sp_source(state, op))
        elif code in pcode.UNARY:
            a = self._read(state, op.inputs[0])
            try:
                value = pcode.UNARY[code](a, 8 * _size(op))
            except KeyError:
                raise Unproven(f"{_name(code)} on a {a.size()}-bit value") from None
            self._write(state, op.output, value, self._sp_source(state, op))
        elif code == OpCode.SUBPIECE:
            value = pcode.subpiece(self._read(state, op.inputs[0]), op.inputs[1].offset, 8 * _size(op))
            self._write(state, op.output, value, None)
        else:
            raise Unproven(f"p-code {_name(code)} is not on the allow-list")

    def _load(self, state: State, op: PcodeOp) -> None:
        address = self._read(state, op.inputs[1])
        size = _size(op)
        located = self.obligations.access(state, state.pc, address, size, False, self._sp_source(state, op))
        if located is None:  # an access anywhere: the memory model ends here, as a trial faults (P8)
            raise _Stop
        self._write(state, op.output, state.load(located[0], located[1], size, self.world), None)

    def _store(self, state: State, address: z3.BitVecRef, value: z3.BitVecRef, sp: z3.BitVecRef | None) -> None:
        located = self.obligations.access(state, state.pc, address, value.size() // 8, True, sp)
        if located is None:
            raise _Stop
        state.store(located[0], located[1], value)
        if located[0] == "stack":
            state.frame_dirty = True

    def _callother(self, state: State, op: PcodeOp, lifted: Lifted) -> None:
        name = op.inputs[0].getUserDefinedOpName()
        if name in ("CallHyperVisor", "CallSecureMonitor"):
            self._trap(state, lifted)
        elif name == "DC_ZVA":  # zeroes the aligned block holding the address, up to 2 KiB
            address = self._read(state, op.inputs[1]) & ~(DC_ZVA_BLOCK - 1)
            self._store(state, address, z3.BitVecVal(0, 8 * DC_ZVA_BLOCK), None)
        elif name == "ExclusiveMonitorPass":  # the store-exclusive may fail or succeed
            self._write(state, op.output, z3.ZeroExt(7, self.world.fresh(f"{w.HYPERVISOR}monitor.", 1)), None)
        elif name == "ExclusiveMonitorsStatus":  # reached only when it passed: status 0
            self._write(state, op.output, z3.BitVecVal(0, 8 * _size(op)), None)
        elif name in _FAULTS:
            message = f"raises an exception that is not the conduit ({_FAULTS[name]})"
            self.obligations.fail(state, "P9", message, state.pc, "", "one trap, the conduit", _FAULTS[name])
            raise _Stop
        elif name not in _NO_EFFECT:
            raise Unproven(f"the p-code operation {name} is not modelled")

    # --- the trap -------------------------------------------------------------------------------

    def _trap(self, state: State, lifted: Lifted) -> None:
        """The conduit (P9), the entry contract (P1, P2), then the hypervisor's move."""
        judge, model = self.obligations, self.plan.model
        state.traps += 1
        state.trap_at = state.pc
        if state.traps > 1:
            judge.fail(state, "P9", say.SECOND_TRAP, state.pc, "", say.EXACTLY_ONE, str(state.traps))
        if lifted.word != model.conduit_encoding:
            message = say.wrong_conduit(model.conduit_text)
            judge.fail(state, "P9", message, state.pc, "", f"0x{model.conduit_encoding:08x}", f"0x{lifted.word:08x}")
        if state.traps == 1:
            judge.entry(state, state.pc)
        sp = self.obligations.offset_from(state.registers[w.SP], self.world.sp)
        hypervisor.move(self.plan.model, state, sp)
        vector = self.plan.model.vector
        if vector is not None and self.world.vector_length:
            shared = tuple(slot.register for slot in vector.register_slots)
            sve_semantics.vector_move(state, self.world, shared, vector.randomized)
            for slot in vector.memory_slots:  # memory transport: the hypervisor writes VTL0's new value
                new = z3.BitVec(f"{w.VTL0}new.{slot.register}", 8 * slot.size(self.world.vector_length))
                state.store("ctx", slot.offset(self.world.vector_length), new)
                state.expected[slot.register] = new
            for slot in vector.register_slots:
                state.expected[slot.register] = state.vector_register(slot.register, self.world)
        state.poisoned = set(self.poison)
        state.frame_dirty = True


def _size(op: PcodeOp) -> int:
    if op.output is None:
        raise Unproven("a p-code operation without an output")
    return int(op.output.size)


def _name(code: OpCode) -> str:
    return str(getattr(code, "name", code))


def explore(plan: Plan, code: bytes, code_base: int, reference: w.Addresses) -> Exploration:
    return Explorer(plan, code, code_base, reference).run()
