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

from vtlgen import registers
from vtlgen.layout import register_classes
from vtlgen.schema import ContextField, Convention, RegisterClass, Spec

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
    changes += _registers(old, new)
    changes += _system_registers(old, new)
    changes += _conventions(old, new)
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


def _class_change(before: RegisterClass, after: RegisterClass) -> tuple[Kind, str]:
    if before is RegisterClass.UNSPECIFIED:
        return "compatible", "specified where the ABI said nothing (it was treated as clobbered)"
    if before is RegisterClass.CLOBBERED and after is RegisterClass.PRIVATE:
        return "compatible", "a new guarantee: the caller's value now survives"
    return "breaking", "callers and the stub rely on the old class"


def _compress(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    first, last = registers.BY_NAME[names[0]], registers.BY_NAME[names[-1]]
    if first.index is not None and last.index is not None and last.index - first.index == len(names) - 1:
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)


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
        Change(kind, f"{_compress(names)} class", old_value, new_value, why)
        for (kind, old_value, new_value, why), names in classes.items()
    ]
    for names in moves.values():
        before_text = _slot_range([old_slots.get(n) for n in names])
        after_text = _slot_range([new_slots.get(n) for n in names])
        out.append(Change("breaking", f"{_compress(names)} slot", before_text, after_text, "the context slot moves"))
    return out


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
    lost = [Change("breaking", f"{label} {r}", "yes", "no", why_removed) for r in sorted(before - after)]
    gained = [Change("compatible", f"{label} {r}", "no", "yes", "a new guarantee") for r in sorted(after - before)]
    return lost + gained


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
