"""The hypervisor model's facts, computed once per convention from the Spec.

Lowering puts them on the Plan (`Plan.model`); lint asks the same predicates of a Spec.
The contract and every validation backend read them from the Plan and derive nothing.
"""

from __future__ import annotations

from vtlgen import registers
from vtlgen.layout import register_classes
from vtlgen.plan import ArgumentValue, ByteRange, HypervisorModel, Slot
from vtlgen.schema import Convention, RegisterClass, Spec

# Registers the validator models: GPRs, SP, the 128-bit vector registers and NZCV.
# SVE/SME state is classified by the spec but no backend runs it (unicorn and the
# qemu-user harness have no SVE/SME).
MODELED = (*(f"x{n}" for n in range(31)), "sp", *(f"q{n}" for n in range(32)), "nzcv")


def is_smccc(convention: Convention) -> bool:
    """An SMCCC call: `hvc #0`/`smc #0`, or a convention that names a function ID
    (Arm DEN0028 "SMC and HVC calling convention": the immediate is 0, the ID in w0)."""
    return convention.conduit.imm16 == 0 or convention.function_id is not None


def declared_preserved(convention: Convention) -> set[str]:
    """Registers the convention says the hypervisor preserves (e.g. SMCCC's x18-x30)."""
    return {name for group in convention.preserved for name in registers.expand(group)}


def preserved_registers(spec: Spec, convention: Convention) -> set[str]:
    """Registers whose caller value survives the switch: private ones, and those the
    convention declares preserved. Everything else is exchanged or may change."""
    classes = register_classes(spec)
    private = {name for name, cls in classes.items() if cls is RegisterClass.PRIVATE}
    return private | declared_preserved(convention)


def kept_registers(spec: Spec, convention: Convention) -> tuple[str, ...]:
    """GPRs the stub must never write: x18 (the platform register; Linux keeps the shadow
    call stack there, AAPCS64 "General-purpose registers") and every other private GPR
    except x29 and x30, which may hold a frame record's address and scratch while the
    record is live (Linux arch/arm64/kernel/stacktrace.c reads the record, not x30), and
    except the registers the convention itself makes the stub or the call write (its
    arguments, and the SMCCC status in x0)."""
    classes = register_classes(spec)
    special = {registers.FRAME_POINTER, registers.LINK_REGISTER, "sp"}
    written = {argument.reg for argument in convention.arguments}
    if convention.function_id is not None:
        written.add("x0")
    private = {n for n, c in classes.items() if c is RegisterClass.PRIVATE and n.startswith("x")}
    kept = (private - special - written) | {registers.PLATFORM_REGISTER}
    return tuple(n for n in MODELED if n in kept)


def hypervisor_model(
    spec: Spec, convention: Convention, slots: list[Slot], arguments: list[ArgumentValue]
) -> HypervisorModel:
    """What the hypervisor does at the trap: exchange, preserve or randomize."""
    preserved = preserved_registers(spec, convention) & set(MODELED)
    if convention.transport == "registers":
        # The hypervisor exchanges the register bank; registers the convention says it
        # preserves are not moved by the stub.
        register_slots = [s for s in slots if s.register not in declared_preserved(convention)]
        memory_slots: list[Slot] = []
    else:
        register_slots, memory_slots = [], list(slots)
    exchanged = {s.register for s in register_slots}
    randomized = tuple(n for n in MODELED if n not in preserved and n not in exchanged)
    results = tuple(n for g in convention.results for n in registers.expand(g))
    context = spec.context
    return HypervisorModel(
        is_smccc=is_smccc(convention),
        conduit_encoding=convention.conduit.encoding,
        conduit_text=convention.conduit.text,
        function_id=None if convention.function_id is None else convention.function_id.encoded,
        arguments=tuple(arguments),
        register_slots=tuple(register_slots),
        memory_slots=tuple(memory_slots),
        preserved=tuple(n for n in MODELED if n in preserved),
        randomized=randomized,
        results=results,
        status_register="x0" if convention.function_id is not None else None,
        kept=kept_registers(spec, convention),
        # SMCCC (DEN0028 "Register use"): only declared results carry meaning after the
        # call; everything else the model randomizes is unknown to the stub.
        poisoned=tuple(n for n in randomized if n not in results),
        writable=tuple(ByteRange(s.offset, s.size, f"ctx->{s.field}[{s.index}]") for s in slots),
        readable_size=context.size,
        region_size=max(context.size, context.max_size or 0),
    )
