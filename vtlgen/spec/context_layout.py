"""What a spec says about the context and the register file, in the Plan's terms:
each register's class, the C layout of the context, and the slot of each shared register."""

from __future__ import annotations

from vtlgen.isa import registers
from vtlgen.plan import BYTES_PER_VQ, ContextElement, ContextLayout, ElementMacro, Member, Slot, VlElement
from vtlgen.spec.schema import ContextField, RegisterClass, Spec, VlField

# Macros the generated files define beside the field macros: the size and the limit, the
# guard that defines the struct once, and the kernel header's existing-definition switch.
SIZE_SUFFIX = "SIZE"
MAX_SIZE_SUFFIX = "MAX_SIZE"
DEFINED_SUFFIX = "DEFINED"
EXISTING_SUFFIX = "EXISTING"
OWN_MACROS = (SIZE_SUFFIX, MAX_SIZE_SUFFIX, DEFINED_SUFFIX, EXISTING_SUFFIX)
# With a VL-scaled part, the headers also define its fixed start, the total size at a vector
# length and the largest vq (vtlgen/generate/vl_macros.py), and two function-like macros per VL field.
VL_OFFSET_SUFFIX = "VL_OFFSET"
SIZE_VL_SUFFIX = "SIZE_VL"
MAX_VQ_SUFFIX = "MAX_VQ"
VL_OWN_MACROS = (VL_OFFSET_SUFFIX, SIZE_VL_SUFFIX, MAX_VQ_SUFFIX)
# The two function-like macros of each VL-scaled field: <FIELD>_OFFSET(vq, n) and <FIELD>_SIZE(vq).
VL_FIELD_OFFSET_SUFFIX = "OFFSET"
VL_FIELD_SIZE_SUFFIX = SIZE_SUFFIX


def macro_suffixes(field: ContextField) -> list[str]:
    """<C_NAME>_<suffix> for the field's offset, then one per array element."""
    base = field.name.upper()
    return [base, *(f"{base}{i}" for i in range(field.count) if field.count > 1)]


def vl_macro_suffixes(field: VlField) -> list[str]:
    """<C_NAME>_<suffix> of a VL-scaled field: function-like `_OFFSET(vq, n)` and `_SIZE(vq)`
    (plan.VlElement), after Linux's SVE_SIG_ZREG_OFFSET(vq, n) and SVE_SIG_ZREG_SIZE(vq)."""
    base = field.name.upper()
    return [f"{base}_{VL_FIELD_OFFSET_SUFFIX}", f"{base}_{VL_FIELD_SIZE_SUFFIX}"]


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
            macro=f"{prefix}_{macro_suffixes(f)[0]}",
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
        ElementMacro(f"{prefix}_{suffix}", f"{f.name}[{i}]", f.offset + i * f.element_size)
        for f in fields
        for i, suffix in enumerate(macro_suffixes(f)[1:])
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
        vl_elements(spec),
        context.vl_scaled.max_vl if context.vl_scaled else 0,
    )


def vl_elements(spec: Spec) -> tuple[VlElement, ...]:
    """The VL-scaled fields, packed in order from their fixed start (Linux's sve_context
    order: Z, then P, then FFR; arch/arm64/include/uapi/asm/sigcontext.h)."""
    scaled = spec.context.vl_scaled
    if scaled is None:
        return ()
    prefix = spec.context.c_name.upper()
    out, before = [], 0
    for field in scaled.fields:
        kind = field.type.value
        out.append(VlElement(field.name, kind, field.count, f"{prefix}_{field.name.upper()}", scaled.offset, before))
        before += BYTES_PER_VQ.get(kind, 0) * field.count
    return tuple(out)


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
        field = fields.get(field_name)
        if field is None:
            continue  # a VL-scaled home: its offset depends on the vector length (model.vector_slots)
        for offset, name in enumerate(registers.expand(key)):
            index = first + offset
            macro = f"{prefix}_{field_name.upper()}" + (str(index) if field.count > 1 else "")
            slots.append(
                Slot(name, field_name, index, field.offset + index * field.element_size, field.element_size, macro)
            )
    return sorted(slots, key=lambda s: s.offset)
