"""Checks that relate parts of a spec to each other.

Each problem carries the field path it is about, so the loader can point at the exact
line and column. A Spec that passes these checks is safe to lower.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from vtlgen import layout, registers
from vtlgen.registers import Kind, RegisterNameError
from vtlgen.rules import RULES
from vtlgen.schema import MAX_CONTEXT, MAX_ELEMENTS, ElementType, RegisterClass, Spec, VlField

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str


def check(spec: Spec) -> list[Problem]:
    return [
        *_check_sources(spec),
        *_check_context(spec),
        *_check_vl_macro_names(spec),
        *_check_registers(spec),
        *_check_system_registers(spec),
        *_check_conventions(spec),
        *_check_waivers(spec),
    ]


def _refs(spec: Spec, refs: list[str], path: Path) -> Iterator[Problem]:
    for index, ref in enumerate(refs):
        if ref not in spec.sources:
            yield Problem(
                (*path, index),
                f"unknown source {ref!r}; expected one of: {', '.join(sorted(spec.sources))}",
            )


def _check_sources(spec: Spec) -> Iterator[Problem]:
    yield from _refs(spec, spec.context.sources, ("context", "sources"))
    for index, decision in enumerate(spec.decisions):
        yield from _refs(spec, [decision.follows], ("decisions", index, "follows"))
        yield from _refs(spec, decision.against, ("decisions", index, "against"))
    for key, entry in spec.registers.items():
        yield from _refs(spec, entry.sources, ("registers", key, "sources"))
    for key, sysreg in spec.system_registers.items():
        yield from _refs(spec, sysreg.sources, ("system_registers", key, "sources"))
    for index, convention in enumerate(spec.conventions):
        yield from _refs(spec, convention.sources, ("conventions", index, "sources"))
        for arg_index, argument in enumerate(convention.arguments):
            path = ("conventions", index, "arguments", arg_index, "sources")
            yield from _refs(spec, argument.sources, path)


def _check_context(spec: Spec) -> Iterator[Problem]:
    context = spec.context
    elements = sum(f.count for f in context.fields if f.count > 1)
    if elements > MAX_ELEMENTS:
        yield Problem(("context", "fields"), f"{elements} array elements in all; at most {MAX_ELEMENTS}")
    if context.size > MAX_CONTEXT:
        yield Problem(("context", "fields"), f"the context is {context.size} bytes; at most {MAX_CONTEXT}")
    seen: dict[str, int] = {}
    for index, field in enumerate(context.fields):
        path: Path = ("context", "fields", index)
        if field.name in seen:
            yield Problem((*path, "name"), f"field {field.name!r} is already defined")
        seen[field.name] = index
        # Natural layout: every element is aligned to its own size (AAPCS64 "Composite
        # Types"), so the C compiler would place it exactly here.
        natural = min(field.element_size, context.align)
        if field.offset % natural:
            yield Problem(
                (*path, "offset"),
                f"offset {field.offset} is misaligned for {field.type.value}; expected a multiple of {natural}",
            )
    yield from _check_macro_names(spec)
    ordered = sorted(enumerate(context.fields), key=lambda pair: pair[1].offset)
    for (_, before), (index, after) in itertools.pairwise(ordered):
        if after.offset < before.end:
            yield Problem(
                ("context", "fields", index, "offset"),
                f"field {after.name!r} at {after.offset} overlaps {before.name!r} "
                f"({before.offset}..{before.end}); expected an offset of at least {before.end}",
            )


def _check_macro_names(spec: Spec) -> Iterator[Problem]:
    """Every field macro (and the header's own) must be one name: `x1` beside `x[31]`, or
    a field called `size`, would define one macro twice in the headers and asm-offsets."""
    prefix = spec.context.c_name.upper()
    owners = {suffix: "the header itself" for suffix in layout.OWN_MACROS}
    for index, field in enumerate(spec.context.fields):
        for suffix in layout.macro_suffixes(field):
            owner = owners.setdefault(suffix, f"field {field.name!r}")
            if owner != f"field {field.name!r}":
                yield Problem(
                    ("context", "fields", index, "name"),
                    f"field {field.name!r} needs the macro {prefix}_{suffix}, which {owner} defines; "
                    "expected a field name that gives macros of its own",
                )
                break


def _expected_type(name: str) -> ElementType | None:
    kind = registers.BY_NAME[name].kind
    if kind in (Kind.GPR, Kind.SP, Kind.FP_CONTROL, Kind.FLAGS):
        return ElementType.U64
    if kind is Kind.VECTOR:
        return ElementType.U128
    return None  # SVE/SME state would need a `bytes` slot of the right size


# Which VL-scaled field type holds each piece of SVE/SME state, and which bytes of an
# element it takes: Q is the first 16 bytes of a Z register and the bits above 127 the
# rest (Arm ARM, "SVE registers"), so q and z_upper share a zreg element, one part each.
_VL_HOME = {Kind.VECTOR: ("zreg", "low"), "z_upper": ("zreg", "upper"), Kind.SVE: ("preg", "all"), "za": ("za", "all")}


def _vl_home(name: str) -> tuple[str, str] | None:
    if name in _VL_HOME:
        return _VL_HOME[name]
    return _VL_HOME.get(registers.BY_NAME[name].kind)


def _check_vl_slot(
    key: str, names: list[str], field: VlField, first: int, path: Path, slot_owner: dict[tuple[str, int, str], str]
) -> Iterator[Problem]:
    if first + len(names) > field.count:
        yield Problem(
            (*path, "slot"),
            f"{key} needs {field.name}[{first}..{first + len(names) - 1}], outside the extended "
            f"context: {field.name} has {field.count} element(s)",
        )
        return
    home = _vl_home(names[0])
    if home is None or home[0] != field.type.value:
        want = f"a {home[0]}" if home else "a fixed"
        yield Problem((*path, "slot"), f"{names[0]} needs {want} slot, but {field.name} holds {field.type.value}")
        return
    for offset, name in enumerate(names):
        index = first + offset
        parts = ("low", "upper") if home[1] == "all" else (home[1],)
        taken = [
            slot_owner[(field.name, index, part)] for part in (*parts, "all") if (field.name, index, part) in slot_owner
        ]
        if taken or (home[1] == "all" and any((field.name, index, p) in slot_owner for p in ("low", "upper"))):
            yield Problem(
                (*path, "slot"),
                f"{name} and {taken[0] if taken else 'another register'} both map to {field.name}[{index}]",
            )
        slot_owner[(field.name, index, home[1])] = name


def _check_registers(spec: Spec) -> Iterator[Problem]:
    fields = {field.name: field for field in spec.context.fields}
    scaled = {f.name: f for f in spec.context.vl_scaled.fields} if spec.context.vl_scaled else {}
    owner_of: dict[str, str] = {}
    slot_owner: dict[tuple[str, int, str], str] = {}
    for key, entry in spec.registers.items():
        path: Path = ("registers", key)
        try:
            names = registers.expand(key)
        except RegisterNameError as error:
            yield Problem(path, str(error))
            continue
        for name in names:
            if name in owner_of:
                yield Problem(path, f"{name} is mapped twice (also under {owner_of[name]!r})")
            owner_of[name] = key
        shared = entry.class_ is RegisterClass.SHARED
        if shared and entry.slot is None:
            yield Problem(path, "a shared register needs a context `slot`, e.g. `x[0]`")
            continue
        if not shared and entry.slot is not None:
            yield Problem((*path, "slot"), f"only shared registers have a slot, not {entry.class_.value}")
            continue
        if entry.saved_by is not None and entry.class_ not in (
            RegisterClass.CLOBBERED,
            RegisterClass.UNSPECIFIED,
        ):
            yield Problem((*path, "saved_by"), "`saved_by` applies only to clobbered state")
        parts = entry.slot_parts()
        if parts is None:
            continue
        field_name, first = parts
        field = fields.get(field_name)
        if field is None and field_name in scaled:
            yield from _check_vl_slot(key, names, scaled[field_name], first, path, slot_owner)
            continue
        if field is None:
            expected = ", ".join([*fields, *scaled])
            yield Problem((*path, "slot"), f"no context field {field_name!r}; expected one of: {expected}")
            continue
        if first + len(names) > field.count:
            yield Problem(
                (*path, "slot"),
                f"{key} needs {field_name}[{first}..{first + len(names) - 1}], outside the "
                f"struct: {field_name} has {field.count} element(s)",
            )
            continue
        want = _expected_type(names[0])
        if want is not None and field.type is not want:
            yield Problem(
                (*path, "slot"),
                f"{names[0]} needs a {want.value} slot, but {field_name} holds {field.type.value}",
            )
        for offset, name in enumerate(names):
            slot = (field_name, first + offset, "all")
            if slot in slot_owner:
                yield Problem(
                    (*path, "slot"),
                    f"{name} and {slot_owner[slot]} both map to {field_name}[{slot[1]}]",
                )
            slot_owner[slot] = name
    missing = [r.name for r in registers.ARCHITECTURAL if r.name not in owner_of]
    if missing:
        yield Problem(
            ("registers",),
            f"no class for {_compress(missing)}; every architectural register needs one of "
            "shared, private, clobbered, unspecified",
        )


def _compress(names: list[str]) -> str:
    """`x0, x1, x2, q5` -> `x0-x2, q5` for readable messages."""
    runs: list[list[str]] = []
    for name in names:
        if runs and _follows(runs[-1][-1], name):
            runs[-1].append(name)
        else:
            runs.append([name])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _follows(before: str, after: str) -> bool:
    b, a = registers.BY_NAME[before], registers.BY_NAME[after]
    return b.index is not None and a.index == b.index + 1 and b.name[0] == a.name[0]


def _check_system_registers(spec: Spec) -> Iterator[Problem]:
    for key in spec.system_registers:
        if not registers.is_sysreg_name(key):
            yield Problem(
                ("system_registers", key),
                f"{key!r} is not a system register name; expected e.g. PMBPTR_EL1",
            )


def _gpr(name: str) -> bool:
    return name in registers.BY_NAME and registers.BY_NAME[name].kind is Kind.GPR


def _check_register_list(names: list[str], path: Path, what: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, group in enumerate(names):
        try:
            expanded = registers.expand(group)
        except RegisterNameError as error:
            yield Problem((*path, index), str(error))
            continue
        for name in expanded:
            if name in seen:
                yield Problem((*path, index), f"{name} is listed twice in {what}")
            seen.add(name)


def _check_conventions(spec: Spec) -> Iterator[Problem]:
    ids: set[str] = set()
    symbols: set[str] = set()
    for index, convention in enumerate(spec.conventions):
        path: Path = ("conventions", index)
        if convention.id in ids:
            yield Problem((*path, "id"), f"convention id {convention.id!r} is used twice")
        if convention.symbol in symbols:
            yield Problem((*path, "symbol"), f"symbol {convention.symbol!r} is used twice")
        ids.add(convention.id)
        symbols.add(convention.symbol)
        fid = convention.function_id
        if fid is not None and fid.value is not None and fid.value != fid.encoded:
            yield Problem(
                (*path, "function_id", "value"),
                f"0x{fid.value:08x} does not match the fields, which encode 0x{fid.encoded:08x}",
            )
        used: dict[str, int] = {}
        kinds = [a.value for a in convention.arguments if isinstance(a.value, str)]
        for arg_index, argument in enumerate(convention.arguments):
            arg_path: Path = (*path, "arguments", arg_index, "register")
            if not _gpr(argument.reg):
                yield Problem(arg_path, f"{argument.reg!r} is not a register x0-x30")
            elif argument.reg in used:
                yield Problem(arg_path, f"{argument.reg} already carries argument {used[argument.reg]}")
            used[argument.reg] = arg_index
        if "function-id" in kinds and fid is None:
            yield Problem((*path, "arguments"), "a `function-id` argument needs `function_id`")
        if fid is not None and "function-id" not in kinds:
            yield Problem((*path, "arguments"), "`function_id` is set but no argument carries it")
        for kind in ("function-id", "context"):
            if kinds.count(kind) > 1:
                yield Problem((*path, "arguments"), f"`{kind}` is passed twice")
        if convention.transport == "memory" and "context" not in kinds:
            yield Problem(
                (*path, "arguments"),
                "memory transport needs a `context` argument: the hypervisor must find the context",
            )
        if convention.transport == "registers" and convention.arguments:
            yield Problem(
                (*path, "arguments"),
                "register transport carries VTL0's registers; it has no room for arguments",
            )
        yield from _check_register_list(convention.results, (*path, "results"), "results")
        yield from _check_register_list(convention.preserved, (*path, "preserved"), "preserved")


def _check_waivers(spec: Spec) -> Iterator[Problem]:
    ids = {c.id for c in spec.conventions}
    for index, waiver in enumerate(spec.waivers):
        if waiver.rule not in RULES:
            yield Problem(
                ("waivers", index, "rule"),
                f"unknown lint rule {waiver.rule!r}; `vtlgen lint --format json` names the rules",
            )
        if waiver.convention is not None and waiver.convention not in ids:
            yield Problem(
                ("waivers", index, "convention"),
                f"unknown convention {waiver.convention!r}; expected one of: {', '.join(sorted(ids))}",
            )


def _check_vl_macro_names(spec: Spec) -> Iterator[Problem]:
    """With a VL-scaled part the headers define more macros, each of one owner: their own
    <C_NAME>_VL_OFFSET, _SIZE_VL(vq) and _MAX_VQ (vtlgen/vl_layout.py), and per VL field
    <FIELD>_OFFSET(vq, n) and <FIELD>_SIZE(vq), with <FIELD> itself kept for the field (the
    Plan's VlElement.macro). So a fixed field `z_offset` beside the VL field `z`, a field
    `size_vl`, `max_vq` or `vl_offset`, or a VL field `vl` (VL_OFFSET) would define one macro
    twice. Collisions among the fixed fields alone are `_check_macro_names`' to report."""
    scaled = spec.context.vl_scaled
    if scaled is None:
        return
    prefix = spec.context.c_name.upper()
    # suffix -> (who defines it, the path of its field or () for the header, VL-scaled or not)
    owners: dict[str, tuple[str, Path, bool]] = dict.fromkeys(layout.OWN_MACROS, ("the header itself", (), False))
    owners |= dict.fromkeys(layout.VL_OWN_MACROS, ("the header itself", (), True))
    claims: list[tuple[Path, str, bool, list[str]]] = [
        (("context", "fields", index, "name"), f"field {field.name!r}", False, layout.macro_suffixes(field))
        for index, field in enumerate(spec.context.fields)
    ]
    claims += [
        (("context", "vl_scaled", "fields", index, "name"), f"VL-scaled field {field.name!r}", True,
         [field.name.upper(), *layout.vl_macro_suffixes(field)])
        for index, field in enumerate(scaled.fields)
    ]  # fmt: skip
    for path, claimant, scaled_claim, suffixes in claims:
        for suffix in suffixes:
            owner, owner_path, scaled_owner = owners.setdefault(suffix, (claimant, path, scaled_claim))
            if owner_path == path:
                continue
            if scaled_claim or scaled_owner:  # fixed against fixed: _check_macro_names
                yield Problem(
                    path,
                    f"{claimant} needs the macro {prefix}_{suffix}, which {owner} defines; "
                    "expected a field name that gives macros of its own",
                )
            break
