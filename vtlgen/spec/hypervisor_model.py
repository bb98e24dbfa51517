"""The hypervisor model's facts, computed once per convention from the Spec.

Lowering puts them on the Plan (`Plan.model`); lint asks the same predicates of a Spec.
The contract and every validation backend read them from the Plan and derive nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from vtlgen.isa import registers
from vtlgen.plan import ArgumentValue, ByteRange, HypervisorModel, Requirement, Slot, VectorModel, VectorSlot
from vtlgen.spec.context_layout import vl_elements
from vtlgen.spec.schema import Convention, RegisterClass, Spec


def is_smccc(convention: Convention) -> bool:
    """An SMCCC call: `hvc #0`/`smc #0`, or a convention that names a function ID
    (Arm DEN0028 "SMC and HVC calling convention": the immediate is 0, the ID in w0)."""
    return convention.conduit.imm16 == 0 or convention.function_id is not None


def declared_preserved(convention: Convention) -> set[str]:
    """Registers the convention says the hypervisor preserves (e.g. SMCCC's x18-x30)."""
    return {name for group in convention.preserved for name in registers.expand(group)}


def preserved_registers(classes: Mapping[str, RegisterClass], convention: Convention) -> set[str]:
    """Registers whose caller value survives the switch: private ones, and those the
    convention declares preserved. Everything else is exchanged or may change. `classes` is
    context_layout.register_classes(spec), computed once by the caller."""
    kept = {name for name, cls in classes.items() if cls in (RegisterClass.PRIVATE, RegisterClass.CALLEE_SAVED)}
    return kept | declared_preserved(convention)


def kept_registers(classes: Mapping[str, RegisterClass], convention: Convention) -> tuple[str, ...]:
    """GPRs the stub must never write (P3): the one home of that rule, read by the contract,
    every backend and the proof through `HypervisorModel.kept`.

    Every private GPR, x18 included when the spec makes it private (the platform register;
    Linux keeps the shadow call stack there, AAPCS64 "General-purpose registers"), except
    x29 and x30, which may hold a frame record's address and scratch while the record is
    live (Linux arch/arm64/kernel/stacktrace.c reads the record, not x30), and except the
    registers the convention itself makes the stub or the call write (its arguments, and
    the SMCCC status in x0). A spec that makes x18 clobbered (the KVM hyp-stub, asm/virt.h)
    lets it change: then it is not kept, and lint warns (`platform-register-clobbered`)."""
    special = set(registers.FRAME_REGISTERS)
    written = {argument.reg for argument in convention.arguments}
    if convention.function_id is not None:
        written.add("x0")
    private = {n for n, c in classes.items() if c is RegisterClass.PRIVATE and n.startswith("x")}
    kept = private - special - written
    return tuple(n for n in registers.MODELLED if n in kept)


# The vector model runs registers.VL_SCALED_STATE, under both backends (qemu-user -cpu max;
# unicorn with vtlgen's model of the SVE forms it encodes). ZT0 (SME2) is not in it: qemu 7.2
# has no SME2.
# Vector lengths validation runs at (bytes): the smallest, its double, one that is not a power of two
# (Arm ARM: any multiple of 128 bits up to 2048 may be implemented), common ones (64, 128), the largest.
VECTOR_LENGTHS = (16, 32, 48, 64, 128, 256)


def vector_slots(spec: Spec) -> list[VectorSlot]:
    """Shared SVE/SME state with a VL-scaled home. A Z register whose Q and upper bits are
    both homed in a zreg element travels whole, as `zN` (one `ldr zN` moves both)."""
    elements = {e.name: e for e in vl_elements(spec)}
    homes: dict[str, tuple[str, int]] = {}
    for key, entry in spec.registers.items():
        parts = entry.slot_parts()
        if entry.class_ is not RegisterClass.SHARED or parts is None or parts[0] not in elements:
            continue
        for offset, name in enumerate(registers.expand(key)):
            homes[name] = (parts[0], parts[1] + offset)
    out = []
    if "z_upper" in homes:
        field, _ = homes.pop("z_upper")
        for n in range(32):
            home = homes.pop(f"q{n}", None)
            if home is not None and home[0] == field:
                out.append(VectorSlot(f"z{n}", elements[field], home[1]))
    for name, (field, index) in homes.items():
        if not name.startswith("q"):
            out.append(VectorSlot(name, elements[field], index))
    return sorted(out, key=lambda s: (s.element.before, s.element.name, s.index))


def vector_model(
    spec: Spec,
    convention: Convention,
    classes: Mapping[str, RegisterClass],
    preserved: set[str],
    register_slots: list[Slot],
) -> VectorModel:
    """The hypervisor's move on SVE/SME state, from the classes, as for the GPRs and Q;
    `preserved` is preserved_registers(classes, convention)."""
    slots = vector_slots(spec)
    homed = {"z_upper" if s.q else s.register for s in slots}
    in_registers = convention.transport == "registers"
    randomized, kept = [], []
    for name in registers.VL_SCALED_STATE:
        if name in preserved:
            kept.append(name)
        elif classes[name] in (RegisterClass.CLOBBERED, RegisterClass.UNSPECIFIED) or name not in homed:
            randomized.append(name)  # shared without a home is a lint error; the model assumes the worst
    exchanged_q = {s.register for s in register_slots if s.register.startswith("q")}
    whole = {s.register for s in slots if s.q}
    return VectorModel(
        register_slots=tuple(slots) if in_registers else (),
        memory_slots=() if in_registers else tuple(slots),
        randomized=tuple(randomized),
        kept=tuple(kept),
        # AAPCS64 (SME): a private-ZA function returns ZA and PSTATE.ZA as it found them.
        stub_keeps=("za",) if classes["za"] is RegisterClass.PRIVATE else (),
        visible_upper=tuple(f"z{q[1:]}" for q in sorted(exchanged_q, key=registers.number) if f"z{q[1:]}" not in whole),
        vector_lengths=VECTOR_LENGTHS,
        requirements=tuple(Requirement(r.state, r.value, " ".join(r.reason.split())) for r in spec.entry_requirements),
    )


def hypervisor_model(
    spec: Spec,
    convention: Convention,
    classes: Mapping[str, RegisterClass],
    slots: list[Slot],
    arguments: list[ArgumentValue],
) -> HypervisorModel:
    """What the hypervisor does at the trap: exchange, preserve or randomize. `classes` is
    context_layout.register_classes(spec), which the lowering computes once."""
    preserved_anywhere = preserved_registers(classes, convention)
    preserved = preserved_anywhere & set(registers.MODELLED)
    if convention.transport == "registers":
        # The hypervisor exchanges the register bank; registers the convention says it
        # preserves are not moved by the stub.
        register_slots = [s for s in slots if s.register not in declared_preserved(convention)]
        memory_slots: list[Slot] = []
    else:
        register_slots, memory_slots = [], list(slots)
    vector = vector_model(spec, convention, classes, preserved_anywhere, register_slots)
    # Q registers homed in a Z slot are exchanged by the vector model, whole with their Z.
    exchanged = {s.register for s in register_slots} | {s.q for s in vector.slots if s.q}
    randomized = tuple(n for n in registers.MODELLED if n not in preserved and n not in exchanged)
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
        preserved=tuple(n for n in registers.MODELLED if n in preserved),
        randomized=randomized,
        results=results,
        status_register="x0" if convention.function_id is not None else None,
        kept=kept_registers(classes, convention),
        # SMCCC (DEN0028 "Register use"): only declared results carry meaning after the
        # call; everything else the model randomizes is unknown to the stub.
        poisoned=tuple(n for n in randomized if n not in results),
        writable=tuple(ByteRange(s.offset, s.size, f"ctx->{s.field}[{s.index}]") for s in slots),
        readable_size=context.size,
        region_size=max(context.size, context.max_size or 0),
        vector=vector,
    )
