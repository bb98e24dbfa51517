"""Spec -> Plan: the only place that reasons about the ABI.

For each convention it decides which registers the stub moves, in what order, where
VTL2's own state is kept, what the hypervisor model does at the trap, and the lower
bound on the instruction count. Emitters and the validator only read the Plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vtlgen.isa import registers
from vtlgen.isa.registers import Kind
from vtlgen.lower import a64, reach, vector_transfers
from vtlgen.plan import (
    ArgumentValue,
    Block,
    Budget,
    BudgetTerm,
    ClassRow,
    Constant,
    Frame,
    FrameSlot,
    HypervisorModel,
    Instruction,
    Plan,
    Slot,
)
from vtlgen.spec.context_layout import VL_OFFSET_SUFFIX, context_layout, register_classes, shared_slots
from vtlgen.spec.hypervisor_model import (
    declared_preserved,
    hypervisor_model,
    preserved_registers,
)
from vtlgen.spec.schema import Convention, RegisterClass, Spec

__all__ = ["LoweringError", "declared_preserved", "lower", "lower_convention", "preserved_registers"]


# Why each block exists, printed above it in the stubs.
# Each family's words for its own call, never another's (Linux arch/arm64/xen/hypercall.S;
# arch/arm64/include/asm/virt.h; the SMCCC wording is the VTL return's, kept byte for byte).
_WHY_ARGUMENTS = {
    "smccc": "SMCCC: function ID in w0, hypercall arguments in x1-x17 (smccc).",
    "xen": "Xen: the hypercall number in x16, its arguments in x0-x4.",
    "kvm-hyp-stub": "KVM hyp stub: the stub call number in x0, its arguments after it.",
}
_TRAP_COMMENT = {
    "smccc": "to VTL0; back on the next VTL0 exit",
    "xen": "to Xen; back when the hypercall returns",
    "kvm-hyp-stub": "to the EL2 stub; back when the call returns",
}
_WHY = {
    "entry": "The frame record comes first and goes last, so x29 is a valid frame pointer at "
    "every instruction (arm64-review point 2; linux-stacktrace).",
    "leaf exit": "A leaf: no frame record, so x29 stays the caller's frame pointer (linux-stacktrace); "
    "the trap preserves x30, the return address.",
    "save": "x19-x28 and d8-d15 are callee-saved (aapcs64) but the switch replaces them.",
    "load": "Register transport: at the trap every shared register holds VTL0's value "
    "(tlfs-vsm); LDP pairs adjacent slots.",
}


class LoweringError(ValueError):
    """A spec the stub generator cannot realise; the message says why, `path` says where."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()):
        super().__init__(message)
        self.path = path


def lower(spec: Spec, spec_file: str) -> list[Plan]:
    context = spec.context
    if context.max_size is not None and context.size > context.max_size:
        # The header's static_assert would fail; say so here, where the spec can be fixed.
        message = f"the context is {context.size} bytes, over its maximum of {context.max_size}"
        raise LoweringError(message, ("context", "max_size"))
    classes = register_classes(spec)  # once: every convention's model reads the same classes
    return [lower_convention(spec, convention, spec_file, classes) for convention in spec.conventions]


@dataclass(frozen=True)
class _Walk:
    """Which base register moves which window, in order, and where each base starts."""

    steps: list[reach.Step]
    start: dict[str, int]

    @property
    def cost(self) -> int:
        return reach.walk_cost(self.steps, self.start)


@dataclass(frozen=True)
class _Shape:
    """The decisions for one convention's stub; the blocks and the budget follow from them."""

    register_slots: list[Slot]  # shared registers the stub moves itself (register transport)
    saved_gprs: list[str]  # VTL2's callee-saved registers the switch replaces
    saved_d: list[str]
    carrier: str | None  # holds ctx (+ bias) across the trap; None: ctx is spilled to the frame
    store_base: str  # the register the stores go through after the trap
    loads: _Walk  # before the trap
    stores: _Walk  # after the trap
    needs_stash: bool  # spilled ctx and no free register after the switch: park one VTL0 value
    scratch_pool: list[str]  # registers whose value after the switch is unknown anyway
    arguments: list[ArgumentValue]

    @property
    def spill(self) -> bool:
        return bool(self.register_slots) and self.carrier is None


CONTEXT_REGISTER = "x0"  # `void f(struct ctx *ctx)`: AAPCS64 passes ctx in x0


def _carrier(model: HypervisorModel) -> str | None:
    """A register that keeps ctx across the trap, so it needs no spill and reload.

    ctx arrives in x0; if the switch keeps x0, x0 carries it. Otherwise a private register
    the stub may write: x30, whose entry value waits in the frame record (the unwinder
    reads the record, not x30: linux-stacktrace) and which the hypervisor keeps per VTL
    (tlfs-vsm), or a private caller-saved register (aapcs64 lets a callee change x0-x17).
    x18 and x29 never: the kernel needs them valid (arm64-review, point 2).
    """
    kept = set(model.preserved)
    candidates = (CONTEXT_REGISTER, registers.LINK_REGISTER, *registers.CALLER_SAVED_GPRS)
    return next((r for r in candidates if r in kept and r != registers.PLATFORM_REGISTER), None)


def _shape(model: HypervisorModel, arguments: list[ArgumentValue]) -> _Shape:
    register_slots = list(model.register_slots)
    changed = {s.register for s in register_slots} | set(model.randomized)
    if model.vector is not None:  # a whole Z loaded from the extended context replaces its Q too
        changed |= {s.q for s in model.vector.register_slots if s.q}
    # VTL2's callee-saved state that the switch replaces must be kept by the stub
    # (AAPCS64: x19-x28 and the low 64 bits of v8-v15 are callee-saved).
    saved_gprs = [r for r in registers.CALLEE_SAVED_GPRS if r in changed]
    saved_d = [f"d{registers.number(q)}" for q in registers.CALLEE_SAVED_D_AS_Q if q in changed]
    # Never x18: Linux keeps the shadow call stack there (aapcs64 platform register).
    scratch_pool = [
        r for r in model.randomized if registers.BY_NAME[r].kind is Kind.GPR and r != registers.PLATFORM_REGISTER
    ]
    carrier = _carrier(model) if register_slots else None
    gpr_moved = any(registers.BY_NAME[s.register].kind is Kind.GPR for s in register_slots)
    needs_stash = bool(register_slots) and carrier is None and gpr_moved and not scratch_pool
    # With ctx spilled, it comes back into a register the switch left unknown, else into x0 (parked).
    store_base = carrier or (scratch_pool[0] if scratch_pool else CONTEXT_REGISTER)
    # GPR and vector slots never share a run (their sizes differ), so one list pairs both.
    moves = reach.transfers(register_slots)
    loads, stores = _walks(moves, carrier, store_base)
    return _Shape(
        register_slots=register_slots,
        saved_gprs=saved_gprs,
        saved_d=saved_d,
        carrier=carrier,
        store_base=store_base,
        loads=loads,
        stores=stores,
        needs_stash=needs_stash,
        scratch_pool=scratch_pool,
        arguments=arguments,
    )


def _walks(moves: list[a64.Transfer], carrier: str | None, store_base: str) -> tuple[_Walk, _Walk]:
    """The loads' and the stores' walks over the base windows (see reach.py).

    Before the trap x0 still holds ctx, so a window at bias 0 goes through x0 for free while
    the carrier covers the others; after the trap only the carrier knows ctx, so it walks
    every window, back from where the loads left it. A spilled ctx is biased before it is
    spilled, so the reload lands on the first window.
    """
    if not moves:
        return _Walk([], {}), _Walk([], {})
    if carrier is None or carrier == CONTEXT_REGISTER:
        found = reach.windows(moves)
        if carrier is None:  # x0 is the base and a shared register: its own transfer goes last
            order = reach.visiting_order(found, CONTEXT_REGISTER)
            loads = _Walk([(CONTEXT_REGISTER, w) for w in order], {CONTEXT_REGISTER: order[0].bias})
            return loads, _Walk([(store_base, w) for w in order], {store_base: order[0].bias})
        loads = _Walk([(carrier, w) for w in found], {carrier: 0})
        return loads, _Walk([(carrier, w) for w in reversed(found)], {carrier: found[-1].bias})
    found = reach.windows(moves, zero_is_free=True)
    carried = found[1:] if len(found) > 1 and found[0].bias == 0 else found
    steps = [(carrier, w) for w in carried]
    if carried is not found:
        zero = reach.visiting_order([found[0]], CONTEXT_REGISTER)[0]
        loads_x0 = any(CONTEXT_REGISTER in t.registers for t in zero.transfers)
        # x0 is overwritten when its own slot is loaded: its window goes last if it holds that slot.
        steps = [*steps, (CONTEXT_REGISTER, zero)] if loads_x0 else [(CONTEXT_REGISTER, zero), *steps]
    loads = _Walk(steps, {CONTEXT_REGISTER: 0, carrier: carried[0].bias})
    return loads, _Walk([(carrier, w) for w in reversed(found)], {carrier: carried[-1].bias})


def lower_convention(
    spec: Spec, convention: Convention, spec_file: str, classes: Mapping[str, RegisterClass] | None = None
) -> Plan:
    """One convention's Plan; `classes` is register_classes(spec), when the caller has it."""
    classes = register_classes(spec) if classes is None else classes
    slots = shared_slots(spec)
    if any(s.register == "sp" for s in slots):
        raise LoweringError("sp cannot be shared: the stub runs on its own stack", ("registers", "sp"))
    prefix = f"{spec.id}_{convention.id}".upper()
    arguments = _arguments(convention, prefix)
    model = hypervisor_model(spec, convention, classes, slots, arguments)
    try:
        shape = _shape(model, arguments)
    except a64.OutOfRange as error:
        raise LoweringError(str(error), ("context", "fields")) from None
    frame = _frame(shape.saved_gprs, shape.saved_d, shape.spill, shape.needs_stash)
    if not convention.stub.frame_record:
        _check_leaf(spec.conventions.index(convention), shape, frame, model)
        frame = Frame(0, 0, ())
    try:
        vector = _vector_blocks(spec, model, shape)
    except vector_transfers.Unreachable as error:
        raise LoweringError(str(error), ("context", "vl_scaled")) from None
    blocks = _blocks(convention, shape, frame, vector)
    return Plan(
        spec_id=spec.id,
        spec_title=spec.title,
        spec_file=spec_file,
        abi_version=spec.abi_version,
        convention_id=convention.id,
        convention_title=convention.title,
        symbol=convention.symbol,
        transport=convention.transport,
        bti=convention.stub.bti,
        linux_section=convention.stub.linux_section,
        macro_prefix=prefix,
        context=context_layout(spec),
        classes=_class_rows(spec),
        register_classes=tuple((r.name, classes[r.name].value) for r in registers.ARCHITECTURAL),
        slots=tuple(slots),
        system_registers=tuple((n, r.class_.value, r.writable) for n, r in spec.system_registers.items()),
        not_modelled=_not_modelled(spec),
        vector_groups=tuple(
            k for k in spec.registers if set(registers.expand(k)) & {*registers.VL_SCALED_STATE, "svcr.sm", "svcr.za"}
        ),
        constants=tuple(_constants(convention, prefix, arguments)),
        frame=frame,
        blocks=blocks,
        model=model,
        budget=_budget(convention, shape, model),
    )


def _vector_blocks(spec: Spec, model: HypervisorModel, shape: _Shape) -> tuple[Block, Block] | None:
    """Register transport of VL-scaled state: a load block before the GPRs' (x0 still holds
    ctx, and the base register is a shared GPR that is loaded after it) and a store block
    after theirs (through the register the stores end on, ctx + its bias)."""
    vector = model.vector
    if vector is None or not vector.register_slots or spec.context.vl_scaled is None:
        return None
    taken = {CONTEXT_REGISTER, shape.carrier, shape.store_base, registers.PLATFORM_REGISTER}
    shared = [s.register for s in shape.register_slots if registers.BY_NAME[s.register].kind is Kind.GPR]
    candidates = [r for r in (*shared, *shape.scratch_pool) if r not in taken]
    if not candidates:
        raise vector_transfers.Unreachable("no register the switch replaces is free to address the extended context")
    base, offset = candidates[0], spec.context.vl_scaled.offset
    macro = f"{spec.context.c_name.upper()}_{VL_OFFSET_SUFFIX}"
    steps = shape.stores.steps
    bias = steps[-1][1].bias if steps else shape.stores.start.get(shape.store_base, 0)
    return (
        vector_transfers.load_block(vector, base, CONTEXT_REGISTER, offset, macro),
        vector_transfers.store_block(vector, base, shape.store_base, bias, offset, macro),
    )


def _blocks(
    convention: Convention, shape: _Shape, frame: Frame, vector: tuple[Block, Block] | None
) -> tuple[Block, ...]:
    """The stub, block by block; each block says why it is there."""
    offsets = {slot.what: slot.offset for slot in frame.slots}
    saved = a64.pairs(shape.saved_gprs) + a64.pairs(shape.saved_d)
    # `bti c` is not part of the blocks: the standalone template writes it as `hint #34`,
    # and the Linux flavour gets it from SYM_FUNC_START (linux-linkage).
    leaf = not frame.slots
    blocks = []
    if not leaf:
        record = f"x29, x30, [sp, #-{frame.size}]!"
        push = a64.instruction("stp", record, "push the frame record and allocate the frame")
        link = a64.instruction("mov", "x29, sp", "x29 -> {caller x29, return address}")
        blocks.append(Block("entry", _WHY["entry"], (push, link)))
    saves = [
        a64.load_store("st", list(p), "sp", offsets[f"save {p[0]}"], None, f"VTL2's {', '.join(p)}") for p in saved
    ]
    if saves:
        blocks.append(Block("save VTL2 state", _WHY["save"], tuple(saves)))
    if vector is not None:
        blocks.append(vector[0])
    if shape.register_slots:
        carry = _carry(shape, offsets)
        if carry is not None:
            blocks.append(carry)
        loads = _walk("ld", shape.loads, {})
        blocks.append(Block("load VTL0 state", _WHY["load"], tuple(loads)))
    if shape.arguments:
        why = _WHY_ARGUMENTS[convention.family]
        blocks.append(Block("arguments", why, tuple(_argument_instructions(shape.arguments, CONTEXT_REGISTER))))
    conduit = convention.conduit
    trap = a64.instruction(conduit.instruction, f"#{conduit.imm16}", _TRAP_COMMENT[convention.family])
    blocks.append(Block("switch", "Exactly one trap, with the convention's conduit.", (trap,)))
    if shape.register_slots:
        stores = _stores(shape, offsets)
        blocks.append(
            Block("store VTL0 state", "VTL0's registers go back to the context for VTL2 to inspect.", tuple(stores))
        )
    if vector is not None:
        blocks.append(vector[1])
    restores = [
        a64.load_store("ld", list(p), "sp", offsets[f"save {p[0]}"], None, f"VTL2's {', '.join(p)}") for p in saved
    ]
    if restores:
        blocks.append(Block("restore VTL2 state", "AAPCS64 callee-saved registers as at entry.", tuple(restores)))
    if leaf:
        blocks.append(Block("exit", _WHY["leaf exit"], (a64.instruction("ret", ""),)))
        return tuple(blocks)
    exit_ = (
        a64.instruction("ldp", f"x29, x30, [sp], #{frame.size}", "pop the frame record and the frame"),
        a64.instruction("ret", ""),
    )
    blocks.append(Block("exit", "Pop the frame record last, then return to the entry x30.", exit_))
    return tuple(blocks)


def _check_leaf(index: int, shape: _Shape, frame: Frame, model: HypervisorModel) -> None:
    """A leaf (no frame record) keeps x29 the caller's frame pointer throughout, which the
    unwinder accepts (linux-stacktrace), and returns through x30 itself: so the stub may
    keep nothing in a frame, and the trap must give x30 back."""
    path = ("conventions", index, "stub", "frame_record")
    needs = [slot.what for slot in frame.slots[1:]]
    if shape.carrier == registers.LINK_REGISTER:
        needs.append("x30 to carry ctx across the trap")
    if needs:
        raise LoweringError(f"a leaf stub has no frame, but this one needs one: {', '.join(needs)}", path)
    if registers.LINK_REGISTER not in model.preserved:
        raise LoweringError("a leaf stub returns through x30, which this convention lets the trap change", path)


def _frame(saved_gprs: list[str], saved_d: list[str], spill: bool, needs_stash: bool) -> Frame:
    slots: list[FrameSlot] = [FrameSlot("frame record", 0)]
    offset = 16
    for pair in a64.pairs(saved_gprs) + a64.pairs(saved_d):
        slots.append(FrameSlot(f"save {pair[0]}", offset))
        offset += 8 * len(pair)
    if spill:
        slots.append(FrameSlot("context pointer", offset))
        offset += 8
    if needs_stash:
        slots.append(FrameSlot("stash", offset))
        offset += 8
    size = -(-offset // 16) * 16  # AAPCS64: SP stays 16-byte aligned
    return Frame(size, 0, tuple(slots))


def _why_carry(shape: _Shape, bias: int) -> str:
    biased = f" It holds ctx + {bias}, so LDP/STP reach the slots (Arm ARM C6.2 LDP)." if bias else ""
    if shape.carrier == registers.LINK_REGISTER:
        return (
            "x30 is private per VTL (tlfs-vsm): the hypervisor keeps VTL2's x30 across the switch, and the "
            "entry x30 waits in the frame record, which is what the unwinder reads (linux-stacktrace)." + biased
        )
    if shape.carrier is not None:
        return f"{shape.carrier} is private (the switch keeps it) and caller-saved (aapcs64)." + biased
    return "No register survives the switch: ctx waits in the frame." + biased


def _carry(shape: _Shape, offsets: dict[str, int]) -> Block | None:
    """Put ctx (+ the first window's bias) where it survives the switch."""
    if shape.carrier == CONTEXT_REGISTER:
        return None  # the switch keeps x0: the loads' walk biases it if needed
    base = shape.carrier or CONTEXT_REGISTER
    bias = shape.loads.start[base]
    out = a64.adjust(base, CONTEXT_REGISTER, bias, f"{base} = ctx + {bias}" if bias else "ctx, kept across the switch")
    if shape.carrier is None:
        out.append(a64.load_store("st", [base], "sp", offsets["context pointer"], None, "keep ctx across the switch"))
    return Block("keep ctx", _why_carry(shape, bias), tuple(out))


def _walk(op: str, walk: _Walk, substitute: dict[str, str]) -> list[Instruction]:
    """Every transfer of every window, moving each base from one window's bias to the next."""
    position = dict(walk.start)
    out: list[Instruction] = []
    for base, window in walk.steps:
        if position[base] != window.bias:
            out += a64.adjust(base, base, window.bias - position[base], f"{base} = ctx + {window.bias}")
            position[base] = window.bias
        out += [a64.context_transfer(op, t, base, substitute, window.bias) for t in window.transfers]
    return out


def _stores(shape: _Shape, offsets: dict[str, int]) -> list[Instruction]:
    """Store VTL0's registers back through a register that holds ctx."""
    base = shape.store_base
    if shape.carrier is not None:
        return _walk("st", shape.stores, {})
    reload = a64.load_store("ld", [base], "sp", offsets["context pointer"], None, "ctx back from the frame")
    if not shape.needs_stash:
        return [reload, *_walk("st", shape.stores, {})]
    # Every writable GPR holds a VTL0 value: park one in the frame, reuse its register
    # for ctx, and bring the parked value back through a register already stored.
    park = a64.load_store("st", [base], "sp", offsets["stash"], None, f"park VTL0's {base}")
    *before, (_, last_window) = shape.stores.steps
    last = [t for t in last_window.transfers if base in t.registers]
    rest = [t for t in last_window.transfers if base not in t.registers]
    steps = [*before, (base, reach.Window(last_window.bias, tuple(rest)))]
    out = [park, reload, *_walk("st", _Walk(steps, shape.stores.start), {})]
    if last:
        taken = last[0].registers
        stored = [s.register for _, w in steps for t in w.transfers for s in t.slots]
        spare = next(r for r in stored if r not in taken and registers.BY_NAME[r].kind is Kind.GPR)
        out.append(a64.load_store("ld", [spare], "sp", offsets["stash"], None, f"VTL0's {base}, parked"))
        out.append(a64.context_transfer("st", last[0], base, {base: spare}, last_window.bias))
    return out


def _arguments(convention: Convention, prefix: str) -> list[ArgumentValue]:
    out = []
    for argument in convention.arguments:
        if argument.value == "context":
            out.append(ArgumentValue(argument.reg, None, argument.name or "CONTEXT", "the context's address", 64))
        elif argument.value == "function-id":
            assert convention.function_id is not None  # spec/checks.py
            out.append(
                ArgumentValue(
                    argument.reg, convention.function_id.encoded, f"{prefix}_FUNCTION_ID", "SMCCC function ID", 32
                )
            )  # w0 (smccc)
        elif argument.value == "pass-through":
            assert argument.name is not None  # spec/checks.py
            # The comment is the C parameter's name (Plan.c_parameters).
            out.append(ArgumentValue(argument.reg, None, argument.name, argument.name.lower(), 64, from_caller=True))
        else:
            assert isinstance(argument.value, int)
            name = f"{prefix}_{argument.name}" if argument.name else f"{prefix}_ARG_{argument.reg.upper()}"
            out.append(ArgumentValue(argument.reg, argument.value, name, argument.name or "", 64))
    return out


def _argument_instructions(arguments: list[ArgumentValue], context_register: str) -> list[Instruction]:
    """Move ctx first (it lives in x0, which the function ID overwrites), then constants."""
    out: list[Instruction] = []
    for argument in arguments:
        if argument.is_context and argument.register != context_register:
            out.append(a64.instruction("mov", f"{argument.register}, {context_register}", "the context's address"))
    for argument in arguments:
        if argument.value is None:  # the context, or a C argument already in its register
            continue
        moves = a64.materialize(argument.register, argument.value, argument.width, macro=argument.name)
        label = f"{argument.name} = 0x{argument.value:x}"
        out += [Instruction(m.mnemonic, m.literal, m.symbolic, label if i == 0 else "") for i, m in enumerate(moves)]
    return out


def _half(count: int) -> int:
    """One LDP/STP moves at most two registers."""
    return -(-count // 2)


def _budget(convention: Convention, shape: _Shape, model: HypervisorModel) -> Budget:
    """Each term is a count no correct stub can go below; see README "Instruction budget"."""
    terms = []
    if convention.stub.bti:
        terms.append(BudgetTerm("bti c landing pad", 1))
    if convention.stub.frame_record:
        terms.append(BudgetTerm("frame record push, mov x29, pop, ret", 4))
    else:
        terms.append(BudgetTerm("ret (a leaf: no frame record)", 1))
    if shape.saved_gprs or shape.saved_d:
        count = 2 * (_half(len(shape.saved_gprs)) + _half(len(shape.saved_d)))
        terms.append(BudgetTerm("save and restore callee-saved registers the switch replaces (pairs)", count))
    if shape.register_slots:
        terms += _transport_terms(shape)
    if model.vector is not None and model.vector.register_slots:
        what = "load and store Z, P and FFR (`mul vl`; FFR through P0; the base: add, addvl)"
        terms.append(BudgetTerm(what, 2 * vector_transfers.cost(model.vector)))
    moves = 0
    for argument in shape.arguments:
        if argument.from_caller:
            continue  # already in its register
        if argument.value is None:
            moves += 0 if argument.register == CONTEXT_REGISTER else 1
        else:
            moves += a64.materialize_cost(argument.value, argument.width)
    if moves:
        terms.append(BudgetTerm("materialize the arguments (MOVZ/MOVK chunks, register moves)", moves))
    terms.append(BudgetTerm("the trap", 1))
    return Budget(tuple(terms))


def _transport_terms(shape: _Shape) -> list[BudgetTerm]:
    """Register transport: carry ctx over the trap, reach every slot, move every register."""
    terms = []
    if shape.carrier is not None and shape.carrier != CONTEXT_REGISTER:
        first = a64.adjust_cost(shape.loads.start[shape.carrier]) or 1  # a mov, or an add that biases too
        what = f"carry ctx across the trap in private {shape.carrier} (mov, or add for a biased base)"
        terms.append(BudgetTerm(what, first))
    elif shape.carrier is None:
        bias = a64.adjust_cost(shape.loads.start[CONTEXT_REGISTER]) or 0
        terms.append(BudgetTerm("no private register survives the trap: spill and reload ctx", 2 + bias))
        if shape.needs_stash:
            what = "no free register for ctx after the trap: park one VTL0 value and reload it"
            terms.append(BudgetTerm(what, 2))
    moved = sum(len(w.transfers) for _, w in shape.loads.steps)
    terms.append(BudgetTerm("load shared registers before the trap (pairs along each run of adjacent slots)", moved))
    terms.append(BudgetTerm("store shared registers after the trap (pairs along each run of adjacent slots)", moved))
    rebase = shape.loads.cost + shape.stores.cost
    if rebase:
        what = "move a base between LDP/STP windows (add/sub; x0 is a free base at ctx + 0 before the trap)"
        terms.append(BudgetTerm(what, rebase))
    return terms


def _constants(convention: Convention, prefix: str, arguments: Iterable[ArgumentValue]) -> list[Constant]:
    out = [
        Constant(f"{prefix}_CONDUIT_IMM", convention.conduit.imm16, f"{convention.conduit.instruction} immediate"),
        Constant(f"{prefix}_CONDUIT_INSN", convention.conduit.encoding, f"encoding of `{convention.conduit.text}`"),
    ]
    for argument in arguments:
        if argument.value is not None:
            out.append(
                Constant(argument.name, argument.value, f"{argument.comment or 'argument'} in {argument.register}")
            )
    return out


def _not_modelled(spec: Spec) -> tuple[str, ...]:
    """Classified state no validation backend runs: ZT0 (SME2; qemu 7.2 has none), FPCR/FPSR,
    and system registers. Lint checks their classes; every other group is validated."""
    covered = {*registers.MODELLED, *registers.VL_SCALED_STATE, "svcr.sm", "svcr.za"}
    groups = [key for key in spec.registers if not set(registers.expand(key)) <= covered]
    return (*groups, *spec.system_registers)


def _class_rows(spec: Spec) -> tuple[ClassRow, ...]:
    rows = [
        ClassRow(key, entry.class_.value, entry.slot or "", entry.note or "") for key, entry in spec.registers.items()
    ]
    rows += [
        ClassRow(
            key,
            sysreg.class_.value,
            "",
            ("writable" if sysreg.writable else "read-only") + (f"; {sysreg.note}" if sysreg.note else ""),
        )
        for key, sysreg in spec.system_registers.items()
    ]
    return tuple(rows)
