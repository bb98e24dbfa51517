"""Spec -> Plan: the only place that reasons about the ABI.

For each convention it decides which registers the stub moves, in what order, where
VTL2's own state is kept, what the hypervisor model does at the trap, and the lower
bound on the instruction count. Emitters and the validator only read the Plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from vtlgen import a64, registers
from vtlgen.layout import context_layout, register_classes, shared_slots
from vtlgen.model import MODELED, declared_preserved, hypervisor_model, preserved_registers
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
from vtlgen.registers import Kind
from vtlgen.schema import Convention, Spec

__all__ = ["LoweringError", "declared_preserved", "lower", "lower_convention", "preserved_registers"]


# Why each block exists, printed above it in the stubs.
_WHY = {
    "entry": "The frame record comes first and goes last, so x29 is a valid frame pointer at "
    "every instruction (arm64-review point 2; linux-stacktrace).",
    "save": "x19-x28 and d8-d15 are callee-saved (aapcs64) but the switch replaces them; ctx must outlive the switch.",
    "load": "Register transport: at the trap every shared register holds VTL0's value "
    "(tlfs-vsm); the register holding ctx is loaded last.",
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
    return [lower_convention(spec, convention, spec_file) for convention in spec.conventions]


@dataclass(frozen=True)
class _Shape:
    """The decisions for one convention's stub; the blocks and the budget follow from them."""

    register_slots: list[Slot]  # shared registers the stub moves itself (register transport)
    gpr_slots: list[Slot]
    vec_slots: list[Slot]
    saved_gprs: list[str]  # VTL2's callee-saved registers the switch replaces
    saved_d: list[str]
    keep_context: bool  # the ctx pointer must be spilled across the switch
    needs_stash: bool  # no free register after the switch: park one VTL0 value
    scratch_pool: list[str]  # registers whose value after the switch is unknown anyway
    arguments: list[ArgumentValue]


CONTEXT_REGISTER = "x0"  # `void f(struct ctx *ctx)`: AAPCS64 passes ctx in x0


def _shape(model: HypervisorModel, arguments: list[ArgumentValue]) -> _Shape:
    register_slots = list(model.register_slots)
    changed = {s.register for s in register_slots} | set(model.randomized)
    # VTL2's callee-saved state that the switch replaces must be kept by the stub
    # (AAPCS64: x19-x28 and the low 64 bits of v8-v15 are callee-saved).
    saved_gprs = [r for r in registers.CALLEE_SAVED_GPRS if r in changed]
    saved_d = [f"d{registers.number(q)}" for q in registers.CALLEE_SAVED_D_AS_Q if q in changed]
    gpr_slots = [s for s in register_slots if registers.BY_NAME[s.register].kind is Kind.GPR]
    vec_slots = [s for s in register_slots if registers.BY_NAME[s.register].kind is Kind.VECTOR]
    # Never x18: Linux keeps the shadow call stack there (aapcs64 platform register).
    scratch_pool = [
        r for r in model.randomized if registers.BY_NAME[r].kind is Kind.GPR and r != registers.PLATFORM_REGISTER
    ]
    stores_after = bool(register_slots)
    return _Shape(
        register_slots=register_slots,
        gpr_slots=gpr_slots,
        vec_slots=vec_slots,
        saved_gprs=saved_gprs,
        saved_d=saved_d,
        keep_context=stores_after and CONTEXT_REGISTER in changed,
        needs_stash=stores_after and bool(gpr_slots) and not scratch_pool,
        scratch_pool=scratch_pool,
        arguments=arguments,
    )


def lower_convention(spec: Spec, convention: Convention, spec_file: str) -> Plan:
    classes = register_classes(spec)
    slots = shared_slots(spec)
    if any(s.register == "sp" for s in slots):
        raise LoweringError("sp cannot be shared: the stub runs on its own stack", ("registers", "sp"))
    prefix = f"{spec.id}_{convention.id}".upper()
    arguments = _arguments(convention, prefix)
    model = hypervisor_model(spec, convention, slots, arguments)
    shape = _shape(model, arguments)
    frame = _frame(shape.saved_gprs, shape.saved_d, shape.keep_context, shape.needs_stash)
    try:
        blocks = _blocks(convention, shape, frame)
    except a64.OutOfRange as error:
        raise LoweringError(str(error), ("context", "fields")) from None
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
        constants=tuple(_constants(convention, prefix, arguments)),
        frame=frame,
        blocks=blocks,
        model=model,
        budget=_budget(convention, shape),
    )


def _blocks(convention: Convention, shape: _Shape, frame: Frame) -> tuple[Block, ...]:
    """The stub, block by block; each block says why it is there."""
    offsets = {slot.what: slot.offset for slot in frame.slots}
    saved = a64.pairs(shape.saved_gprs) + a64.pairs(shape.saved_d)
    # `bti c` is not part of the blocks: the standalone template writes it as `hint #34`,
    # and the Linux flavour gets it from SYM_FUNC_START (linux-linkage).
    blocks = [
        Block(
            "entry",
            _WHY["entry"],
            (
                a64.instruction(
                    "stp", f"x29, x30, [sp, #-{frame.size}]!", "push the frame record and allocate the frame"
                ),
                a64.instruction("mov", "x29, sp", "x29 -> {caller x29, return address}"),
            ),
        )
    ]
    saves = [
        a64.load_store("st", list(p), "sp", offsets[f"save {p[0]}"], None, f"VTL2's {', '.join(p)}") for p in saved
    ]
    if shape.keep_context:
        where = offsets["context pointer"]
        saves.append(a64.load_store("st", [CONTEXT_REGISTER], "sp", where, None, "keep ctx across the switch"))
    if saves:
        blocks.append(Block("save VTL2 state", _WHY["save"], tuple(saves)))
    if shape.register_slots:
        gpr_transfers = a64.pair_up(shape.gpr_slots)
        # The register holding ctx is the base of every load, so it is loaded last.
        ordered = [t for t in gpr_transfers if CONTEXT_REGISTER not in t.registers] + [
            t for t in gpr_transfers if CONTEXT_REGISTER in t.registers
        ]
        loads = [a64.context_transfer("ld", t, CONTEXT_REGISTER, {}) for t in a64.pair_up(shape.vec_slots) + ordered]
        blocks.append(Block("load VTL0 state", _WHY["load"], tuple(loads)))
    if shape.arguments:
        why = "SMCCC: function ID in w0, hypercall arguments in x1-x17 (smccc)."
        blocks.append(Block("arguments", why, tuple(_argument_instructions(shape.arguments, CONTEXT_REGISTER))))
    conduit = convention.conduit
    trap = a64.instruction(conduit.instruction, f"#{conduit.imm16}", "to VTL0; back on the next VTL0 exit")
    blocks.append(Block("switch", "Exactly one trap, with the convention's conduit.", (trap,)))
    if shape.register_slots:
        stores = _stores(shape.gpr_slots, shape.vec_slots, offsets, CONTEXT_REGISTER, shape.scratch_pool)
        blocks.append(
            Block("store VTL0 state", "VTL0's registers go back to the context for VTL2 to inspect.", tuple(stores))
        )
    restores = [
        a64.load_store("ld", list(p), "sp", offsets[f"save {p[0]}"], None, f"VTL2's {', '.join(p)}") for p in saved
    ]
    if restores:
        blocks.append(Block("restore VTL2 state", "AAPCS64 callee-saved registers as at entry.", tuple(restores)))
    exit_ = (
        a64.instruction("ldp", f"x29, x30, [sp], #{frame.size}", "pop the frame record and the frame"),
        a64.instruction("ret", ""),
    )
    blocks.append(Block("exit", "Pop the frame record last, then return to the entry x30.", exit_))
    return tuple(blocks)


def _frame(saved_gprs: list[str], saved_d: list[str], keep_context: bool, needs_stash: bool) -> Frame:
    slots: list[FrameSlot] = [FrameSlot("frame record", 0)]
    offset = 16
    for pair in a64.pairs(saved_gprs) + a64.pairs(saved_d):
        slots.append(FrameSlot(f"save {pair[0]}", offset))
        offset += 8 * len(pair)
    if keep_context:
        slots.append(FrameSlot("context pointer", offset))
        offset += 8
    if needs_stash:
        slots.append(FrameSlot("stash", offset))
        offset += 8
    size = -(-offset // 16) * 16  # AAPCS64: SP stays 16-byte aligned
    return Frame(size, 0, tuple(slots))


def _stores(
    gpr_slots: list[Slot],
    vec_slots: list[Slot],
    offsets: dict[str, int],
    context_register: str,
    scratch_pool: list[str],
) -> list[Instruction]:
    """Store VTL0's registers back; the context pointer needs a register of its own."""
    out: list[Instruction] = []
    gpr_transfers = a64.pair_up(gpr_slots)
    if "context pointer" not in offsets:
        # The switch keeps the register holding ctx (it is private or preserved), so ctx
        # is still there: store through it directly.
        return [a64.context_transfer("st", t, context_register, {}) for t in a64.pair_up(vec_slots) + gpr_transfers]
    if scratch_pool:
        base = scratch_pool[0]
        out.append(a64.load_store("ld", [base], "sp", offsets["context pointer"], None, "ctx back from the frame"))
        out += [a64.context_transfer("st", t, base, {}) for t in a64.pair_up(vec_slots) + gpr_transfers]
        return out
    # Every writable GPR holds a VTL0 value: park one in the frame, reuse its register
    # for ctx, and bring the parked value back through a register already stored.
    base = context_register
    out.append(a64.load_store("st", [base], "sp", offsets["stash"], None, f"park VTL0's {base}"))
    out.append(a64.load_store("ld", [base], "sp", offsets["context pointer"], None, "ctx back from the frame"))
    last = [t for t in gpr_transfers if base in t.registers]
    rest = [t for t in gpr_transfers if base not in t.registers]
    out += [a64.context_transfer("st", t, base, {}) for t in a64.pair_up(vec_slots) + rest]
    if last:
        taken = last[0].registers
        carrier = next(s.register for t in rest for s in t.slots if s.register not in taken)
        out.append(a64.load_store("ld", [carrier], "sp", offsets["stash"], None, f"VTL0's {base}, parked"))
        out.append(a64.context_transfer("st", last[0], base, {base: carrier}))
    return out


def _arguments(convention: Convention, prefix: str) -> list[ArgumentValue]:
    out = []
    for argument in convention.arguments:
        if argument.value == "context":
            out.append(ArgumentValue(argument.reg, None, argument.name or "CONTEXT", "the context's address", 64))
        elif argument.value == "function-id":
            assert convention.function_id is not None  # semantics.py
            out.append(
                ArgumentValue(
                    argument.reg, convention.function_id.encoded, f"{prefix}_FUNCTION_ID", "SMCCC function ID", 32
                )
            )  # w0 (smccc)
        else:
            assert isinstance(argument.value, int)
            name = f"{prefix}_{argument.name}" if argument.name else f"{prefix}_ARG_{argument.reg.upper()}"
            out.append(ArgumentValue(argument.reg, argument.value, name, argument.name or "", 64))
    return out


def _argument_instructions(arguments: list[ArgumentValue], context_register: str) -> list[Instruction]:
    """Move ctx first (it lives in x0, which the function ID overwrites), then constants."""
    out: list[Instruction] = []
    for argument in arguments:
        if argument.value is None and argument.register != context_register:
            out.append(a64.instruction("mov", f"{argument.register}, {context_register}", "the context's address"))
    for argument in arguments:
        if argument.value is None:
            continue
        moves = a64.materialize(argument.register, argument.value, argument.width, macro=argument.name)
        label = f"{argument.name} = 0x{argument.value:x}"
        out += [Instruction(m.mnemonic, m.literal, m.symbolic, label if i == 0 else "") for i, m in enumerate(moves)]
    return out


def _half(count: int) -> int:
    """One LDP/STP moves at most two registers."""
    return -(-count // 2)


def _budget(convention: Convention, shape: _Shape) -> Budget:
    """Each term is a count no correct stub can go below; see README "Instruction budget"."""
    terms = []
    if convention.stub.bti:
        terms.append(BudgetTerm("bti c landing pad", 1))
    terms.append(BudgetTerm("frame record push, mov x29, pop, ret", 4))
    if shape.saved_gprs or shape.saved_d:
        count = 2 * (_half(len(shape.saved_gprs)) + _half(len(shape.saved_d)))
        terms.append(BudgetTerm("save and restore callee-saved registers the switch replaces (pairs)", count))
    if shape.keep_context:
        terms.append(BudgetTerm("spill and reload the context pointer", 2))
    if shape.gpr_slots or shape.vec_slots:
        moved = _half(len(shape.gpr_slots)) + _half(len(shape.vec_slots))
        terms.append(BudgetTerm("load shared registers before the trap (pairs)", moved))
        terms.append(BudgetTerm("store shared registers after the trap (pairs)", moved))
    if shape.needs_stash:
        terms.append(BudgetTerm("no free register for ctx after the trap: park one VTL0 value and reload it", 2))
    moves = 0
    for argument in shape.arguments:
        if argument.value is None:
            moves += 0 if argument.register == CONTEXT_REGISTER else 1
        else:
            moves += a64.materialize_cost(argument.value, argument.width)
    if moves:
        terms.append(BudgetTerm("materialize the arguments (MOVZ/MOVK chunks, register moves)", moves))
    terms.append(BudgetTerm("the trap", 1))
    return Budget(tuple(terms))


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
    """Classified state that keystone and unicorn cannot touch (keystone 0.9.2 and
    unicorn 2.1 have no SVE/SME), and system registers: lint checks their classes, no emulation does."""
    groups = [key for key in spec.registers if not set(registers.expand(key)) <= set(MODELED)]
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
