"""`vtlgen diff`: every ABI-relevant change between two revisions of a spec.

A change is *breaking* when code built against the old ABI can misbehave against the new one
(a moved offset, a weaker register class, another conduit or symbol); *compatible* when it
only adds (a field in unused space, a new convention, a guarantee where there was none).
Sources, notes and waivers are not ABI and are ignored. The required version bump follows
semantic versioning: breaking needs a major bump, compatible at least a minor one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from vtlgen.isa import registers
from vtlgen.spec.context_layout import register_classes, vl_elements
from vtlgen.spec.schema import ContextField, Convention, RegisterClass, Spec, VlField, VlScaled

Kind = Literal["breaking", "compatible"]
Bump = Literal["major", "minor", "patch", "none", "downgrade"]
_RANK = {"none": 0, "patch": 1, "minor": 2, "major": 3, "downgrade": -1}


@dataclass(frozen=True)
class Change:
    kind: Kind
    what: str
    old: str
    new: str
    why: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def diff(old: Spec, new: Spec) -> list[Change]:
    changes: list[Change] = []
    if old.id != new.id:
        changes.append(Change("breaking", "spec id", old.id, new.id, "folders and symbol prefixes are named after it"))
    changes += _context(old, new)
    changes += _extended_context(old, new)
    changes += _registers(old, new)
    changes += _system_registers(old, new)
    changes += _conventions(old, new)
    changes += _entry_requirements(old, new)
    return changes


def _context(old: Spec, new: Spec) -> list[Change]:
    a, b = old.context, new.context
    out = []
    for name in ("c_name", "align"):
        if getattr(a, name) != getattr(b, name):
            out.append(
                Change(
                    "breaking", f"context.{name}", str(getattr(a, name)), str(getattr(b, name)), "the C type changes"
                )
            )
    if a.size != b.size:
        out.append(
            Change(
                "breaking", "context size", str(a.size), str(b.size), "sizeof() changes for every user of the struct"
            )
        )
    if a.max_size != b.max_size:
        shrinks = b.max_size is not None and (a.max_size is None or b.max_size < a.max_size)
        kind: Kind = "breaking" if shrinks else "compatible"
        why = "less room than before" if shrinks else "more room, or no limit to check"
        out.append(Change(kind, "context.max_size", _show(a.max_size), _show(b.max_size), why))
    old_fields = {f.name: f for f in a.fields}
    new_fields = {f.name: f for f in b.fields}
    for name, field in old_fields.items():
        if name not in new_fields:
            out.append(Change("breaking", f"context.{name}", _field_text(field), "-", "field removed"))
            continue
        other = new_fields[name]
        for attribute in ("offset", "type", "count"):
            before, after = getattr(field, attribute), getattr(other, attribute)
            if before != after:
                shown = (before.value, after.value) if attribute == "type" else (before, after)
                out.append(
                    Change(
                        "breaking", f"context.{name}.{attribute}", str(shown[0]), str(shown[1]), "the layout changes"
                    )
                )
    for name, field in new_fields.items():
        if name not in old_fields:
            out.append(Change("compatible", f"context.{name}", "-", _field_text(field), "field added"))
    return out


def _field_text(field: ContextField) -> str:
    return f"{field.type.value}[{field.count}] @{field.offset}"


# The extended context (`vl_scaled`) -----------------------------------------------------
#
# Its fields are packed in order from a fixed start, each sized by the vector length, so a
# field's offset is `start + bytes_per_vq * vq` (Linux's SVE_SIG_*_OFFSET(vq) in
# arch/arm64/include/uapi/asm/sigcontext.h): anything that changes a field before it moves it.
# Growing the extended context is breaking as soon as the switch reads or writes there: no
# reservation bounds it (max_size covers the fixed part), so a caller that allocates the old
# size would give the hypervisor or the stub too little memory at its vector length.


def _vl_text(scaled: VlScaled) -> str:
    fields = ", ".join(f"{f.name}: {f.type.value}[{f.count}]" for f in scaled.fields)
    return f"{fields} @{scaled.offset}, max_vl {scaled.max_vl}"


def _growth(new: Spec, fields: set[str], what: str, value_text: tuple[str, str]) -> Change:
    """An added extended context or VL field: breaking when a shared register lives there."""
    homes = {field for field, _ in _slots(new).values()}
    scaled = new.context.vl_scaled.fields if new.context.vl_scaled else []
    used = [f.name for f in scaled if f.name in fields and f.name in homes]
    if used:
        why = (
            f"the switch now reads and writes VTL0's state in {', '.join(used)}, past the old end and at a "
            "size that depends on the vector length: callers must provide that memory"
        )
        return Change("breaking", what, *value_text, why)
    return Change("compatible", what, *value_text, "room that nothing reads or writes yet")


def _extended_context(old: Spec, new: Spec) -> list[Change]:
    a, b = old.context.vl_scaled, new.context.vl_scaled
    if a is None:
        return [] if b is None else [_growth(new, {f.name for f in b.fields}, "context.vl_scaled", ("-", _vl_text(b)))]
    if b is None:
        return [Change("breaking", "context.vl_scaled", _vl_text(a), "-", "the extended context is gone")]
    out = []
    if a.offset != b.offset:
        out.append(Change("breaking", "context.vl_scaled.offset", str(a.offset), str(b.offset), "every VL field moves"))
    if a.max_vl != b.max_vl:
        why = (
            "callers size the extended context for the largest vector length"
            if b.max_vl > a.max_vl
            else f"vector lengths above {b.max_vl} bytes are no longer covered"
        )
        out.append(Change("breaking", "context.vl_scaled.max_vl", str(a.max_vl), str(b.max_vl), why))
    return out + _vl_fields(old, new, a, b)


def _vl_fields(old: Spec, new: Spec, a: VlScaled, b: VlScaled) -> list[Change]:
    """VL fields removed, added, retyped, resized, reordered, or moved by a change before them."""
    before = {f.name: f for f in a.fields}
    after = {f.name: f for f in b.fields}
    out = [
        Change("breaking", f"context.vl_scaled.{name}", _vl_field_text(field), "-", "field removed")
        for name, field in before.items()
        if name not in after
    ]
    for name, field in before.items():
        if name in after:
            out += _vl_field_changes(field, after[name])
    for name, field in after.items():
        if name not in before:
            out.append(_growth(new, {name}, f"context.vl_scaled.{name}", ("-", _vl_field_text(field))))
    old_order = [f.name for f in a.fields if f.name in after]
    new_order = [f.name for f in b.fields if f.name in before]
    if old_order != new_order:
        why = "the fields are packed in order: reordering moves their offsets"
        out.append(Change("breaking", "context.vl_scaled order", ", ".join(old_order), ", ".join(new_order), why))
    out += _vl_moves(old, new)
    return out


def _vl_field_changes(field: VlField, other: VlField) -> list[Change]:
    out = []
    if field.type is not other.type:
        what = f"context.vl_scaled.{field.name}.type"
        out.append(Change("breaking", what, field.type.value, other.type.value, "the layout changes"))
    if field.count != other.count:
        what = f"context.vl_scaled.{field.name}.count"
        out.append(Change("breaking", what, str(field.count), str(other.count), "the layout changes"))
    return out


def _vl_field_text(field: VlField) -> str:
    return f"{field.type.value}[{field.count}]"


def _vl_moves(old: Spec, new: Spec) -> list[Change]:
    """Fields of the same name that an earlier field's change moved (a new start is reported once)."""
    before = {e.name: e for e in vl_elements(old)}
    out = []
    for element in vl_elements(new):
        was = before.get(element.name)
        if was is None or was.before == element.before:
            continue
        out.append(
            Change(
                "breaking",
                f"context.vl_scaled.{element.name} offset",
                f"{was.base} + {was.before}*vq",
                f"{element.base} + {element.before}*vq",
                "the field moves",
            )
        )
    return out


def _class_change(before: RegisterClass, after: RegisterClass) -> tuple[Kind, str]:
    if before is RegisterClass.UNSPECIFIED:
        return "compatible", "specified where the ABI said nothing (it was treated as clobbered)"
    if before is RegisterClass.CLOBBERED and after in (RegisterClass.PRIVATE, RegisterClass.CALLEE_SAVED):
        return "compatible", "a new guarantee: the caller's value now survives"
    if after is RegisterClass.SHARED:
        return "breaking", "VTL0's value now travels through the context: callers must put it there and read it back"
    if before is RegisterClass.SHARED:
        return "breaking", "VTL0's value no longer travels through the context"
    return "breaking", "callers and the stub rely on the old class"


def _registers(old: Spec, new: Spec) -> list[Change]:
    """Per register, grouped into runs that changed the same way (`x0-x17 class`)."""
    before, after = register_classes(old), register_classes(new)
    old_slots, new_slots = _slots(old), _slots(new)
    classes: dict[tuple[Kind, str, str, str], list[str]] = {}
    moves: dict[tuple[str | None, str | None, int], list[str]] = {}
    for register in registers.ARCHITECTURAL:
        name = register.name
        if before[name] is not after[name]:
            kind, why = _class_change(before[name], after[name])
            classes.setdefault((kind, before[name].value, after[name].value, why), []).append(name)
        elif old_slots.get(name) != new_slots.get(name):
            was, now = old_slots.get(name), new_slots.get(name)
            shift = now[1] - was[1] if was and now else 0
            moves.setdefault((was[0] if was else None, now[0] if now else None, shift), []).append(name)
    out = [
        Change(kind, f"{registers.compress(names)} class", old_value, new_value, why)
        for (kind, old_value, new_value, why), names in classes.items()
    ]
    for names in moves.values():
        before_text = _slot_range([old_slots.get(n) for n in names])
        after_text = _slot_range([new_slots.get(n) for n in names])
        why = "the context slot moves" + _between_parts(old, new, old_slots.get(names[0]), new_slots.get(names[0]))
        out.append(Change("breaking", f"{registers.compress(names)} slot", before_text, after_text, why))
    return out


def _between_parts(old: Spec, new: Spec, was: tuple[str, int] | None, now: tuple[str, int] | None) -> str:
    """`, from the fixed struct to the extended context` when a slot changes parts."""
    if was is None or now is None:
        return ""
    was_vl, now_vl = _in_extended_context(old, was[0]), _in_extended_context(new, now[0])
    part = {False: "the fixed struct", True: "the extended context"}
    return "" if was_vl == now_vl else f", from {part[was_vl]} to {part[now_vl]}"


def _in_extended_context(spec: Spec, field: str) -> bool:
    scaled = spec.context.vl_scaled
    return scaled is not None and any(f.name == field for f in scaled.fields)


def _slot_range(slots: list[tuple[str, int] | None]) -> str:
    present = [s for s in slots if s is not None]
    if not present:
        return "-"
    first, last = present[0], present[-1]
    return f"{first[0]}[{first[1]}]" if first == last else f"{first[0]}[{first[1]}..{last[1]}]"


def _slots(spec: Spec) -> dict[str, tuple[str, int]]:
    out = {}
    for key, entry in spec.registers.items():
        parts = entry.slot_parts()
        if parts is None:
            continue
        field, first = parts
        for offset, name in enumerate(registers.expand(key)):
            out[name] = (field, first + offset)
    return out


def _system_registers(old: Spec, new: Spec) -> list[Change]:
    out = []
    for name, sysreg in old.system_registers.items():
        other = new.system_registers.get(name)
        if other is None:
            out.append(Change("breaking", f"{name}", sysreg.class_.value, "-", "no longer classified"))
        elif other.class_ is not sysreg.class_:
            kind, why = _class_change(sysreg.class_, other.class_)
            out.append(Change(kind, f"{name} class", sysreg.class_.value, other.class_.value, why))
        elif other.writable != sysreg.writable:
            out.append(
                Change("breaking", f"{name} writable", str(sysreg.writable), str(other.writable), "access changes")
            )
    for name, sysreg in new.system_registers.items():
        if name not in old.system_registers:
            out.append(Change("compatible", f"{name}", "-", sysreg.class_.value, "newly classified"))
    return out


def _convention_facts(convention: Convention) -> dict[str, str]:
    fid = convention.function_id
    return {
        "symbol": convention.symbol,
        "conduit": convention.conduit.text,
        "function ID": "-" if fid is None else f"0x{fid.encoded:08x}",
        "transport": convention.transport,
        "arguments": ", ".join(f"{a.reg}={a.value}" for a in convention.arguments) or "-",
    }


def _conventions(old: Spec, new: Spec) -> list[Change]:
    out = []
    old_by_id = {c.id: c for c in old.conventions}
    new_by_id = {c.id: c for c in new.conventions}
    for cid, convention in old_by_id.items():
        if cid not in new_by_id:
            out.append(Change("breaking", f"convention {cid}", convention.symbol, "-", "convention removed"))
            continue
        other = new_by_id[cid]
        before, after = _convention_facts(convention), _convention_facts(other)
        for aspect, value in before.items():
            if value != after[aspect]:
                out.append(
                    Change("breaking", f"{cid} {aspect}", value, after[aspect], "callers are built against the old one")
                )
        out += _register_set(f"{cid} result", convention.results, other.results, "callers may read it")
        out += _register_set(f"{cid} preserves", convention.preserved, other.preserved, "stubs rely on it surviving")
    for cid, convention in new_by_id.items():
        if cid not in old_by_id:
            out.append(Change("compatible", f"convention {cid}", "-", convention.symbol, "convention added"))
    return out


def _register_set(label: str, old_groups: list[str], new_groups: list[str], why_removed: str) -> list[Change]:
    """Results or preserved registers: losing one breaks callers, gaining one is a new promise."""
    before = {r for g in old_groups for r in registers.expand(g)}
    after = {r for g in new_groups for r in registers.expand(g)}
    lost = _in_register_order(before - after)
    gained = _in_register_order(after - before)
    out = [Change("breaking", f"{label} {registers.compress(lost)}", "yes", "no", why_removed)] if lost else []
    if gained:
        out.append(Change("compatible", f"{label} {registers.compress(gained)}", "no", "yes", "a new guarantee"))
    return out


def _in_register_order(names: set[str]) -> list[str]:
    return [r.name for r in registers.ARCHITECTURAL if r.name in names]


def _entry_requirements(old: Spec, new: Spec) -> list[Change]:
    """State the caller must be in at the call: a new requirement is one more thing to meet."""
    before = {r.state: r.value for r in old.entry_requirements}
    after = {r.state: r.value for r in new.entry_requirements}
    out = []
    for state, value in after.items():
        if before.get(state) != value:
            why = "callers must now meet it" if state not in before else "callers met the old one"
            out.append(Change("breaking", f"entry requirement {state}", _show(before.get(state)), str(value), why))
    for state, value in before.items():
        if state not in after:
            out.append(
                Change("compatible", f"entry requirement {state}", str(value), "-", "callers need no longer meet it")
            )
    return out


def _version(text: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in text.split("."))
    return major, minor, patch


def required_bump(changes: list[Change]) -> Bump:
    if any(c.kind == "breaking" for c in changes):
        return "major"
    return "minor" if changes else "none"


def actual_bump(old: str, new: str) -> Bump:
    a, b = _version(old), _version(new)
    if b < a:
        return "downgrade"
    if b[0] > a[0]:
        return "major"
    if b[1] > a[1]:
        return "minor"
    return "patch" if b[2] > a[2] else "none"


def bump_ok(required: Bump, actual: Bump) -> bool:
    return actual != "downgrade" and _RANK[actual] >= _RANK[required]
