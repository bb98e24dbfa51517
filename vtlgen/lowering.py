"""Spec -> Plan: the only place that reasons about the ABI.

For each convention it decides which registers the stub moves, in what order, where
VTL2's own state is kept, what the hypervisor model does at the trap, and the lower
bound on the instruction count. Emitters and the validator only read the Plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vtlgen import registers
from vtlgen.plan import (
    ArgumentValue,
    Block,
    Budget,
    BudgetTerm,
    ClassRow,
    Constant,
    ContextElement,
    ContextLayout,
    ElementMacro,
    Frame,
    FrameSlot,
    HypervisorModel,
    Instruction,
    Member,
    Plan,
    Slot,
)
from vtlgen.registers import Kind
from vtlgen.schema import Convention, RegisterClass, Spec

# Registers the validator models in unicorn: GPRs, SP, the 128-bit vector registers
# and NZCV. SVE/SME state is classified by the spec but has no emulator (ABI.md
# "Tool facts": unicorn has no SVE/SME).
MODELED = (*(f"x{n}" for n in range(31)), "sp", *(f"q{n}" for n in range(32)), "nzcv")

# LDP/STP take a signed 7-bit immediate scaled by the access size; LDR/STR an unsigned
# 12-bit one (Arm ARM, C6.2 "LDP", "LDR (immediate)").
_PAIR_LIMIT = 63
_SINGLE_LIMIT = 4095


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


def register_classes(spec: Spec) -> dict[str, RegisterClass]:
    """Every architectural register name to its class (the spec is already checked)."""
    classes: dict[str, RegisterClass] = {}
    for key, entry in spec.registers.items():
        for name in registers.expand(key):
            classes[name] = entry.class_
    return classes


_C_TYPES = {
    "u64": ("VTLGEN_U64", "ctypes.c_uint64"),
    "u128": ("VTLGEN_U128", "U128"),
    "bytes": ("unsigned char", "ctypes.c_uint8"),
}


def context_layout(spec: Spec) -> ContextLayout:
    context = spec.context
    prefix = context.c_name.upper()
    fields = sorted(context.fields, key=lambda f: f.offset)
    elements = tuple(
        ContextElement(
            name=f.name,
            c_type=f.type.value,
            count=f.count,
            offset=f.offset,
            size=f.size,
            element_size=f.element_size,
            macro=f"{prefix}_{f.name.upper()}",
        )
        for f in fields
    )
    members: list[Member] = []
    position = 0
    for f in fields:
        if f.offset > position:  # make the C compiler's padding explicit and named
            gap = f.offset - position
            members.append(Member(f"__pad{position}", "unsigned char", "ctypes.c_uint8", gap, position, gap, True))
        c_type, ctypes_type = _C_TYPES[f.type.value]
        members.append(Member(f.name, c_type, ctypes_type, f.count, f.offset, f.size, False))
        position = f.end
    if context.size > position:
        gap = context.size - position
        members.append(Member(f"__pad{position}", "unsigned char", "ctypes.c_uint8", gap, position, gap, True))
    element_macros = tuple(
        ElementMacro(f"{prefix}_{f.name.upper()}{i}", f"{f.name}[{i}]", f.offset + i * f.element_size)
        for f in fields
        if f.count > 1
        for i in range(f.count)
    )
    python_class = "".join(part.capitalize() for part in context.c_name.split("_"))
    return ContextLayout(
        context.c_name,
        prefix,
        python_class,
        context.size,
        context.max_size,
        context.align,
        elements,
        tuple(members),
        element_macros,
    )


def shared_slots(spec: Spec) -> list[Slot]:
    """Each shared register's slot, in context order."""
    fields = {f.name: f for f in spec.context.fields}
    prefix = spec.context.c_name.upper()
    slots = []
    for key, entry in spec.registers.items():
        parts = entry.slot_parts()
        if entry.class_ is not RegisterClass.SHARED or parts is None:
            continue
        field_name, first = parts
        field = fields[field_name]
        for offset, name in enumerate(registers.expand(key)):
            index = first + offset
            macro = f"{prefix}_{field_name.upper()}" + (str(index) if field.count > 1 else "")
            slots.append(
                Slot(name, field_name, index, field.offset + index * field.element_size, field.element_size, macro)
            )
    return sorted(slots, key=lambda s: s.offset)


@dataclass(frozen=True)
class _Transfer:
    """One load or store: one or two registers at one context offset."""

    slots: tuple[Slot, ...]


def _pair_up(slots: Sequence[Slot]) -> list[_Transfer]:
    """Pair registers of adjacent slots so one LDP/STP moves two (ARCHITECTURE: paired)."""
    transfers: list[_Transfer] = []
    index = 0
    while index < len(slots):
        first = slots[index]
        if index + 1 < len(slots):
            second = slots[index + 1]
            adjacent = second.offset == first.offset + first.size and second.size == first.size
            if adjacent and first.offset // first.size <= _PAIR_LIMIT:
                transfers.append(_Transfer((first, second)))
                index += 2
                continue
        if first.offset // first.size > _SINGLE_LIMIT:
            raise LoweringError(f"{first.register}'s slot at {first.offset} is out of LDR/STR range")
        transfers.append(_Transfer((first,)))
        index += 1
    return transfers


def _ldst(op: str, names: Sequence[str], base: str, offset: int, macro: str | None, comment: str) -> Instruction:
    """`op` is "ld" or "st": one register gives LDR/STR, two give LDP/STP."""
    mnemonic = op + ("p" if len(names) == 2 else "r")
    regs = ", ".join(names)
    literal = f"{regs}, [{base}, #{offset}]" if offset else f"{regs}, [{base}]"
    symbolic = f"{regs}, [{base}, #{macro}]" if macro else literal
    return Instruction(mnemonic, literal, symbolic, comment)


def _context_transfer(op: str, transfer: _Transfer, base: str, substitute: dict[str, str]) -> Instruction:
    names = [substitute.get(s.register, s.register) for s in transfer.slots]
    first = transfer.slots[0]
    where = f"ctx->{first.field}[{first.index}" + (
        f"..{transfer.slots[-1].index}]" if len(transfer.slots) == 2 else "]"
    )
    what = ", ".join(s.register for s in transfer.slots)
    verb = "VTL0's {} from {}" if op == "ld" else "VTL0's {} to {}"
    return _ldst(op, names, base, first.offset, first.macro, verb.format(what, where))


def _save_pairs(names: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(names[i : i + 2]) for i in range(0, len(names), 2)]


def _materialize(register: str, value: int, width: int) -> list[Instruction]:
    """MOVZ/MOVK for a constant: one instruction per non-zero 16-bit chunk (at least one)."""
    name = register if width == 64 else "w" + register[1:]
    chunks = [(shift, (value >> shift) & 0xFFFF) for shift in range(0, width, 16)]
    nonzero = [(s, c) for s, c in chunks if c] or [(0, 0)]
    out = []
    for position, (shift, chunk) in enumerate(nonzero):
        op = "movz" if position == 0 else "movk"
        shift_text = f", lsl #{shift}" if shift else ""
        text = f"{name}, #0x{chunk:x}{shift_text}"
        out.append(Instruction(op, text, text, ""))
    return out


def materialize_cost(value: int, width: int) -> int:
    return len(_materialize("x0", value, width))


def declared_preserved(convention: Convention) -> set[str]:
    """Registers the convention says the hypervisor preserves (e.g. SMCCC's x18-x30)."""
    return {name for group in convention.preserved for name in registers.expand(group)}


def preserved_registers(spec: Spec, convention: Convention) -> set[str]:
    """Registers whose caller value survives the switch: private ones, and those the
    convention declares preserved. Everything else is exchanged or may change."""
    classes = register_classes(spec)
    private = {name for name, cls in classes.items() if cls is RegisterClass.PRIVATE}
    return private | declared_preserved(convention)


def lower_convention(spec: Spec, convention: Convention, spec_file: str) -> Plan:
    classes = register_classes(spec)
    context = context_layout(spec)
    slots = shared_slots(spec)
    if any(s.register == "sp" for s in slots):
        raise LoweringError("sp cannot be shared: the stub runs on its own stack", ("registers", "sp"))
    preserved_extra = declared_preserved(convention)
    preserved = preserved_registers(spec, convention) & set(MODELED)

    if convention.transport == "registers":
        register_slots = [s for s in slots if s.register not in preserved_extra]
        memory_slots: list[Slot] = []
    else:
        register_slots, memory_slots = [], list(slots)
    exchanged = {s.register for s in register_slots}
    randomized = [n for n in MODELED if n not in preserved and n not in exchanged]
    changed = exchanged | set(randomized)

    prefix = f"{spec.id}_{convention.id}".upper()
    arguments = _arguments(convention, prefix)
    fid = convention.function_id
    model = HypervisorModel(
        conduit_encoding=convention.conduit.encoding,
        conduit_text=convention.conduit.text,
        arguments=tuple(arguments),
        register_slots=tuple(register_slots),
        memory_slots=tuple(memory_slots),
        preserved=tuple(n for n in MODELED if n in preserved),
        randomized=tuple(randomized),
        results=tuple(n for g in convention.results for n in registers.expand(g)),
        status_register="x0" if fid is not None else None,
    )

    # VTL2's callee-saved state that the switch replaces must be kept by the stub
    # (AAPCS64: x19-x28 and the low 64 bits of v8-v15 are callee-saved).
    saved_gprs = [r for r in registers.CALLEE_SAVED_GPRS if r in changed]
    saved_d = [f"d{registers.number(q)}" for q in registers.CALLEE_SAVED_D_AS_Q if q in changed]
    context_register = "x0"  # `void f(struct ctx *ctx)`: AAPCS64 passes ctx in x0
    stores_after = bool(register_slots)
    keep_context = stores_after and context_register in changed
    gpr_slots = [s for s in register_slots if registers.BY_NAME[s.register].kind is Kind.GPR]
    vec_slots = [s for s in register_slots if registers.BY_NAME[s.register].kind is Kind.VECTOR]
    scratch_pool = [
        r
        for r in randomized
        if registers.BY_NAME.get(r) and registers.BY_NAME[r].kind is Kind.GPR and r != registers.PLATFORM_REGISTER
    ]
    needs_stash = stores_after and bool(gpr_slots) and not scratch_pool

    frame = _frame(saved_gprs, saved_d, keep_context, needs_stash)
    offsets = {slot.what: slot.offset for slot in frame.slots}

    blocks: list[Block] = []
    # `bti c` is not part of the blocks: the standalone template writes it as `hint #34`,
    # and the Linux flavour gets it from SYM_FUNC_START (linux-linkage).
    entry = []
    entry.append(
        Instruction(
            "stp",
            f"x29, x30, [sp, #-{frame.size}]!",
            f"x29, x30, [sp, #-{frame.size}]!",
            "push the frame record and allocate the frame",
        )
    )
    entry.append(Instruction("mov", "x29, sp", "x29, sp", "x29 -> {caller x29, return address}"))
    blocks.append(
        Block(
            "entry",
            _WHY["entry"],
            tuple(entry),
        )
    )

    saves = [
        _ldst("st", list(p), "sp", offsets[f"save {p[0]}"], None, f"VTL2's {', '.join(p)}")
        for p in _save_pairs(saved_gprs) + _save_pairs(saved_d)
    ]
    if keep_context:
        saves.append(
            _ldst("st", [context_register], "sp", offsets["context pointer"], None, "keep ctx across the switch")
        )
    if saves:
        blocks.append(
            Block(
                "save VTL2 state",
                _WHY["save"],
                tuple(saves),
            )
        )

    if register_slots:
        loads = [_context_transfer("ld", t, context_register, {}) for t in _pair_up(vec_slots)]
        gpr_transfers = _pair_up(gpr_slots)
        ordered = [t for t in gpr_transfers if context_register not in _regs(t)] + [
            t for t in gpr_transfers if context_register in _regs(t)
        ]
        loads += [_context_transfer("ld", t, context_register, {}) for t in ordered]
        blocks.append(
            Block(
                "load VTL0 state",
                _WHY["load"],
                tuple(loads),
            )
        )

    if arguments:
        blocks.append(
            Block(
                "arguments",
                "SMCCC: function ID in w0, hypercall arguments in x1-x17 (smccc).",
                tuple(_argument_instructions(arguments, context_register)),
            )
        )

    blocks.append(
        Block(
            "switch",
            "Exactly one trap, with the convention's conduit.",
            (
                Instruction(
                    convention.conduit.instruction,
                    f"#{convention.conduit.imm16}",
                    f"#{convention.conduit.imm16}",
                    "to VTL0; back on the next VTL0 exit",
                ),
            ),
        )
    )

    if register_slots:
        blocks.append(
            Block(
                "store VTL0 state",
                "VTL0's registers go back to the context for VTL2 to inspect.",
                tuple(_stores(gpr_slots, vec_slots, offsets, context_register, scratch_pool)),
            )
        )

    restores = [
        _ldst("ld", list(p), "sp", offsets[f"save {p[0]}"], None, f"VTL2's {', '.join(p)}")
        for p in _save_pairs(saved_gprs) + _save_pairs(saved_d)
    ]
    if restores:
        blocks.append(Block("restore VTL2 state", "AAPCS64 callee-saved registers as at entry.", tuple(restores)))
    blocks.append(
        Block(
            "exit",
            "Pop the frame record last, then return to the entry x30.",
            (
                Instruction(
                    "ldp",
                    f"x29, x30, [sp], #{frame.size}",
                    f"x29, x30, [sp], #{frame.size}",
                    "pop the frame record and the frame",
                ),
                Instruction("ret", "", "", ""),
            ),
        )
    )

    budget = _budget(
        convention, gpr_slots, vec_slots, saved_gprs, saved_d, keep_context, needs_stash, arguments, context_register
    )
    constants = _constants(convention, prefix, arguments)
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
        context=context,
        classes=_class_rows(spec),
        register_classes=tuple((r.name, classes[r.name].value) for r in registers.ARCHITECTURAL),
        slots=tuple(slots),
        system_registers=tuple((n, r.class_.value, r.writable) for n, r in spec.system_registers.items()),
        not_modelled=_not_modelled(spec),
        constants=tuple(constants),
        frame=frame,
        blocks=tuple(blocks),
        model=model,
        budget=budget,
    )


def _regs(transfer: _Transfer) -> set[str]:
    return {s.register for s in transfer.slots}


def _frame(saved_gprs: list[str], saved_d: list[str], keep_context: bool, needs_stash: bool) -> Frame:
    slots: list[FrameSlot] = [FrameSlot("frame record", 0)]
    offset = 16
    for pair in _save_pairs(saved_gprs) + _save_pairs(saved_d):
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
    gpr_transfers = _pair_up(gpr_slots)
    if scratch_pool:
        base = scratch_pool[0]
        out.append(_ldst("ld", [base], "sp", offsets["context pointer"], None, "ctx back from the frame"))
        out += [_context_transfer("st", t, base, {}) for t in _pair_up(vec_slots) + gpr_transfers]
        return out
    # Every writable GPR holds a VTL0 value: park one in the frame, reuse its register
    # for ctx, and bring the parked value back through a register already stored.
    base = context_register
    out.append(_ldst("st", [base], "sp", offsets["stash"], None, f"park VTL0's {base}"))
    out.append(_ldst("ld", [base], "sp", offsets["context pointer"], None, "ctx back from the frame"))
    last = [t for t in gpr_transfers if base in _regs(t)]
    rest = [t for t in gpr_transfers if base not in _regs(t)]
    out += [_context_transfer("st", t, base, {}) for t in _pair_up(vec_slots) + rest]
    if last:
        taken = _regs(last[0])
        carrier = next(s.register for t in rest for s in t.slots if s.register not in taken)
        out.append(_ldst("ld", [carrier], "sp", offsets["stash"], None, f"VTL0's {base}, parked"))
        out.append(_context_transfer("st", last[0], base, {base: carrier}))
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
            out.append(
                Instruction(
                    "mov",
                    f"{argument.register}, {context_register}",
                    f"{argument.register}, {context_register}",
                    "the context's address",
                )
            )
    for argument in arguments:
        if argument.value is None:
            continue
        moves = _materialize(argument.register, argument.value, argument.width)
        label = f"{argument.name} = 0x{argument.value:x}"
        out += [Instruction(m.mnemonic, m.literal, m.symbolic, label if i == 0 else "") for i, m in enumerate(moves)]
    return out


def _half(count: int) -> int:
    """One LDP/STP moves at most two registers."""
    return -(-count // 2)


def _budget(
    convention: Convention,
    gpr_slots: list[Slot],
    vec_slots: list[Slot],
    saved_gprs: list[str],
    saved_d: list[str],
    keep_context: bool,
    needs_stash: bool,
    arguments: list[ArgumentValue],
    context_register: str,
) -> Budget:
    """Each term is a count no correct stub can go below; see README "Instruction budget"."""
    terms = []
    if convention.stub.bti:
        terms.append(BudgetTerm("bti c landing pad", 1))
    terms.append(BudgetTerm("frame record push, mov x29, pop, ret", 4))
    if saved_gprs or saved_d:
        terms.append(
            BudgetTerm(
                "save and restore callee-saved registers the switch replaces (pairs)",
                2 * (_half(len(saved_gprs)) + _half(len(saved_d))),
            )
        )
    if keep_context:
        terms.append(BudgetTerm("spill and reload the context pointer", 2))
    if gpr_slots or vec_slots:
        terms.append(
            BudgetTerm("load shared registers before the trap (pairs)", _half(len(gpr_slots)) + _half(len(vec_slots)))
        )
        terms.append(
            BudgetTerm("store shared registers after the trap (pairs)", _half(len(gpr_slots)) + _half(len(vec_slots)))
        )
    if needs_stash:
        terms.append(BudgetTerm("no free register for ctx after the trap: park one VTL0 value and reload it", 2))
    moves = 0
    for argument in arguments:
        if argument.value is None:
            moves += 0 if argument.register == context_register else 1
        else:
            moves += materialize_cost(argument.value, argument.width)
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
    """Classified state that keystone and unicorn cannot touch (ABI.md "Tool facts": no
    SVE/SME), and system registers: lint checks their classes, no emulation does."""
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
