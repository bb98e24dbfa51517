"""`vtlgen doc`: the ABI of one spec as a kernel Documentation/ page (reStructuredText).

The page is what a patch would add under Documentation/virt/hyperv/: every register
group and system register with its class and sources, the context layout, each
convention, the decisions where sources disagree, the waived lint findings, and what
vtlgen checks. It is built from the Plans (the ABI facts, decided in lowering) and the
Spec's prose; lint supplies the waivers. Everything from the spec is escaped on output
(`rst.finalize`), so a spec cannot inject markup into the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from vtlgen import __version__
from vtlgen.generate import context_map, entry_state, render, rst, vl_macros
from vtlgen.isa import registers
from vtlgen.isa.encoding import decode_function_id
from vtlgen.plan import Plan
from vtlgen.properties import statements
from vtlgen.spec.class_meaning import meaning, ranges
from vtlgen.spec.lint import lint
from vtlgen.spec.rules import RULES
from vtlgen.spec.schema import OWNERS, TRUSTED_APP_OWNERS, TRUSTED_OS_OWNERS, Convention, RegisterEntry, Spec

TEMPLATE = "rst/abi.rst.j2"

# Convention.transport, in words (schema.Convention).
_TRANSPORT = {
    "registers": "the stub loads VTL0's shared registers from the context before the trap "
    "and stores them back after it (a register bank)",
    "memory": "the hypervisor reads and writes VTL0's shared state in the context; only the "
    "arguments travel in registers",
}


# The page's values are escaped for reStructuredText unless built as rst.Markup.
RST = render.Dialect(finalize=rst.finalize, filters=(("paragraph", rst.paragraph), ("prose", rst.prose)))


def file_name(spec_id: str) -> str:
    """The page's path inside the output folder."""
    return f"{spec_id}/{spec_id}.rst"


@dataclass(frozen=True)
class BitField:
    bits: str
    field: str
    value: str
    meaning: str


def _owner(number: int) -> str:
    names = {value: name for name, value in OWNERS.items()}
    if number in names:
        return names[number]
    if number in TRUSTED_APP_OWNERS:
        return "trusted application"
    if number in TRUSTED_OS_OWNERS:
        return "trusted OS"
    return "reserved"


def function_id_fields(value: int) -> list[BitField]:
    """An SMCCC function ID, bit field by bit field (Arm DEN0028, "Function Identifiers")."""
    f = decode_function_id(value)
    return [
        BitField("31", "call type", str(int(f.fast)), "fast" if f.fast else "yielding"),
        BitField("30", "calling convention", str(int(f.smc64)), "SMC64" if f.smc64 else "SMC32"),
        BitField("29:24", "owning entity", str(f.owner), _owner(f.owner)),
        BitField("23:17", "must be zero", f"0x{f.reserved:x}", "zero" if f.reserved == 0 else "NOT ZERO"),
        BitField("16", "SVE live-state hint (v1.3)", str(int(f.sve_hint)), "set" if f.sve_hint else "clear"),
        BitField("15:0", "function number", f"0x{f.number:x}", str(f.number)),
    ]


def _sources(refs: list[str]) -> str:
    return ", ".join(f"[{ref}]" for ref in refs)


@dataclass(frozen=True)
class RegisterRow:
    name: str
    class_: str
    slot: str
    vtl0: str
    vtl2: str
    kept_by: str
    sources: str
    note: str


def _slots(key: str, entry: RegisterEntry) -> str:
    """`x[0..17]` for the group x0-x17 whose first slot is x[0]."""
    parts = entry.slot_parts()
    if parts is None:
        return ""
    count = len(registers.expand(key))
    field, first = parts
    return entry.slot or "" if count == 1 else f"{field}[{first}..{first + count - 1}]"


def register_rows(spec: Spec) -> list[RegisterRow]:
    rows = []
    for key, entry in spec.registers.items():
        m = meaning(entry.class_.value, entry.saved_by)
        rows.append(
            RegisterRow(
                key, entry.class_.value, _slots(key, entry), m.vtl0, m.vtl2, m.kept_by, _sources(entry.sources),
                entry.note or "",
            )
        )  # fmt: skip
    for key, sysreg in spec.system_registers.items():
        m = meaning(sysreg.class_.value)
        access = "writable" if sysreg.writable else "read-only"
        if sysreg.steers_memory_writes:
            access += "; steers hardware memory writes"
        note = f"{access}; {sysreg.note}" if sysreg.note else access
        rows.append(
            RegisterRow(key, sysreg.class_.value, "", m.vtl0, m.vtl2, m.kept_by, _sources(sysreg.sources), note)
        )
    return rows


def _moved(plan: Plan) -> tuple[list[str], list[str]]:
    """Shared state moved in the registers and in the context, SVE/SME state included."""
    model, vector = plan.model, plan.model.vector
    in_registers = [s.register for s in model.register_slots]
    in_memory = [s.register for s in model.memory_slots]
    if vector is not None:
        in_registers += [s.register for s in vector.register_slots]
        in_memory += [s.register for s in vector.memory_slots]
    return in_registers, in_memory


def entry_requirements(plan: Plan) -> list[str]:
    """What holds at the trap, from the Plan's hypervisor model (properties P1, P2, P6, P7)."""
    model = plan.model
    in_registers, in_memory = _moved(plan)
    out = []
    if in_registers:
        out.append(f"Every shared register holds VTL0's value from its context slot: {ranges(in_registers)}.")
    if in_memory:
        out.append(f"The context's shared slots hold VTL0's values for the hypervisor to read: {ranges(in_memory)}.")
    for argument in model.arguments:
        width = "w" if argument.width == 32 else "x"
        if argument.from_caller:
            value = f"the caller's {argument.comment}, passed through unchanged"
        else:
            value = "the context's address" if argument.value is None else f"0x{argument.value:x} ({argument.name})"
        out.append(f"{width}{argument.register[1:]} = {value}.")
    out.append(
        "No register VTL0 can see holds a VTL2 value: no callee-saved value, return address, "
        "frame pointer or stack address."
    )
    out.append(
        "x29 is the caller's frame pointer or points at the stub's frame record, so the "
        "unwinder reaches the caller at every instruction; SP is 16-byte aligned."
    )
    return out


@dataclass(frozen=True)
class ConventionView:
    plan: Plan
    convention: Convention
    heading: rst.Markup
    symbol: rst.Markup
    prototype: rst.Markup
    conduit: rst.Markup
    transport: str
    function_id: list[BitField]
    entry: list[str]
    exit: list[str]
    preserved: str
    may_change: str
    results: str
    frame: str


def convention_view(spec: Spec, plan: Plan) -> ConventionView:
    convention = spec.convention(plan.convention_id)
    model = plan.model
    title = f"{plan.convention_id}: {plan.convention_title}" if plan.convention_title else plan.convention_id
    return ConventionView(
        plan=plan,
        convention=convention,
        heading=rst.heading(title, "-"),
        symbol=rst.literal(plan.symbol),
        prototype=rst.literal(f"{plan.prototype()};"),
        conduit=rst.literal(f"{model.conduit_text}"),
        transport=f"{plan.transport}: {_TRANSPORT[plan.transport]}",
        function_id=[] if model.function_id is None else function_id_fields(model.function_id),
        entry=entry_requirements(plan),
        exit=exit_guarantees(plan),
        preserved=ranges([*model.preserved, *(model.vector.kept if model.vector else ())]),
        may_change=ranges([*model.randomized, *(model.vector.randomized if model.vector else ())]),
        results=ranges(model.results),
        frame=", ".join(f"{slot.what} at SP+{slot.offset}" for slot in plan.frame.slots)
        or "none; a leaf stub pushes no frame record",
    )


def exit_guarantees(plan: Plan) -> list[str]:
    """What holds when VTL0 exits back to VTL2 (properties P4, P5, P10)."""
    model = plan.model
    in_registers, in_memory = _moved(plan)
    out = []
    if in_registers:
        out.append(
            f"The hypervisor returns VTL0's exit values in the shared registers "
            f"({ranges(in_registers)}); the stub stores them back to their slots."
        )
    if in_memory:
        out.append("The hypervisor has written VTL0's exit values into the context's shared slots.")
    if model.status_register:
        out.append(f"{model.status_register} holds the call's status; no other result is relied upon.")
    out.append("No other byte of the context changes.")
    out.append("The caller gets back x19-x28, x29, SP and d8-d15 as they were (AAPCS64).")
    return out


def page(spec: Spec, spec_name: str, plans: list[Plan]) -> str:
    """The Documentation/ page of one spec."""
    first = plans[0]
    findings = lint(spec)
    waived = [f for f in findings if f.waived]
    return (
        render.environment(RST)
        .get_template(TEMPLATE)
        .render(
            spec=spec,
            spec_name=spec_name,
            version=__version__,
            title=rst.heading(spec.title, "=", overline=True),
            heading=rst.heading,
            literal=rst.literal,
            conventions=[convention_view(spec, plan) for plan in plans],
            context=first.context,
            vl=vl_macros.view(first.context),
            requirements=[(entry_state.condition(r.state, r.value), r) for r in spec.entry_requirements],
            regions=context_map.runs(first),
            registers=register_rows(spec),
            sources=_sources,
            ranges=ranges,
            waived=waived,
            rules=RULES,
            unwaived=len(findings) - len(waived),
            properties=statements(),
            not_modelled=first.not_modelled,
        )
    )
