"""Checks that relate parts of a spec to each other.

Each problem carries the field path it is about, so the loader can point at the exact
line and column. A Spec that passes these checks is safe to lower.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from vtlgen.isa import registers
from vtlgen.isa.registers import Kind, RegisterNameError
from vtlgen.spec import context_layout
from vtlgen.spec.rules import RULES
from vtlgen.spec.schema import (
    MAX_CONTEXT,
    MAX_ELEMENTS,
    Argument,
    Context,
    ContextField,
    ElementType,
    RegisterClass,
    Spec,
    VlField,
    VlKind,
    VlScaled,
)

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
        *_check_entry_requirements(spec),
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
    if spec.context.vl_scaled is not None:
        yield from _refs(spec, spec.context.vl_scaled.sources, ("context", "vl_scaled", "sources"))
    for index, requirement in enumerate(spec.entry_requirements):
        yield from _refs(spec, requirement.sources, ("entry_requirements", index, "sources"))
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
    if context.vl_scaled is not None:
        yield from _check_vl_scaled(spec, context, context.vl_scaled)


# The extended context (`vl_scaled`) ------------------------------------------------------
#
# Its fields are packed one after another from a fixed offset, each sized by the vector
# length VL, as Linux lays out struct sve_context: Z0-Z31, then P0-P15, then FFR
# (arch/arm64/include/uapi/asm/sigcontext.h, SVE_SIG_*_OFFSET(vq)).

# Linux starts the register block on a quadword (SVE_SIG_REGS_OFFSET is rounded up to
# SVE_VQ_BYTES = 16), so every Z register starts 16-aligned at every VL.
VL_ALIGN = 16
# Elements a field of each type can have: Z0-Z31; P0-P15 and FFR; one ZA array.
VL_COUNT_LIMIT = {VlKind.ZREG: 32, VlKind.PREG: 17, VlKind.ZA: 1}
_VL_COUNT_WHAT = {VlKind.ZREG: "Z0-Z31", VlKind.PREG: "P0-P15 and FFR", VlKind.ZA: "one ZA array"}


def _vl_fields(spec: Spec) -> dict[str, VlField]:
    scaled = spec.context.vl_scaled
    return {} if scaled is None else {field.name: field for field in scaled.fields}


def _check_vl_scaled(spec: Spec, context: Context, scaled: VlScaled) -> Iterator[Problem]:
    path: Path = ("context", "vl_scaled")
    yield from _check_vl_start(context, scaled, path)
    yield from _check_vl_names(context, scaled, path)
    yield from _check_vl_counts(scaled, path)
    yield from _check_za_last(scaled, path)
    end = max(element.end(scaled.max_vl, scaled.max_vl) for element in context_layout.vl_elements(spec))
    if end > MAX_CONTEXT:
        yield Problem(
            (*path, "fields"),
            f"at the largest vector length ({scaled.max_vl} bytes, SVL too for ZA) the context ends at "
            f"{end} bytes; at most {MAX_CONTEXT}",
        )


def _check_vl_start(context: Context, scaled: VlScaled, path: Path) -> Iterator[Problem]:
    """After the fixed part: the C struct (sizeof) and the space reserved for it (max_size)."""
    fixed_end = max(context.size, context.max_size or 0)
    what = "max_size, the fixed reservation" if fixed_end == context.max_size else "the end of the fixed fields"
    if scaled.offset < fixed_end:
        yield Problem(
            (*path, "offset"),
            f"offset {scaled.offset} is inside the fixed part, which ends at {fixed_end} ({what}); "
            f"expected an offset of at least {fixed_end}",
        )
    if scaled.offset % VL_ALIGN:
        yield Problem((*path, "offset"), f"offset {scaled.offset} is not aligned; expected a multiple of {VL_ALIGN}")


def _check_vl_names(context: Context, scaled: VlScaled, path: Path) -> Iterator[Problem]:
    """A slot `name[n]` must name one field: VL field names are unique and not fixed field names."""
    fixed = {field.name for field in context.fields}
    seen: set[str] = set()
    for index, field in enumerate(scaled.fields):
        if field.name in fixed:
            yield Problem(
                (*path, "fields", index, "name"),
                f"{field.name!r} is already a fixed context field; expected a name of its own",
            )
        elif field.name in seen:
            yield Problem((*path, "fields", index, "name"), f"VL field {field.name!r} is already defined")
        seen.add(field.name)


def _check_vl_counts(scaled: VlScaled, path: Path) -> Iterator[Problem]:
    for index, field in enumerate(scaled.fields):
        limit = VL_COUNT_LIMIT[field.type]
        if field.count > limit:
            yield Problem(
                (*path, "fields", index, "count"),
                f"{field.count} {field.type.value} elements; at most {limit} ({_VL_COUNT_WHAT[field.type]})",
            )


def _check_za_last(scaled: VlScaled, path: Path) -> Iterator[Problem]:
    """ZA is SVL x SVL bytes, quadratic where the other fields are linear in vq; a field after it
    would have no `base + bytes_per_vq * vq` offset (context_layout.vl_elements packs them so)."""
    za_fields = [index for index, field in enumerate(scaled.fields) if field.type is VlKind.ZA]
    for index in za_fields[1:]:
        yield Problem((*path, "fields", index, "type"), "a second za field; expected at most one: ZA is one array")
    if za_fields and za_fields[0] != len(scaled.fields) - 1:
        name = scaled.fields[za_fields[0]].name
        yield Problem(
            (*path, "fields", za_fields[0], "type"),
            f"za field {name!r} is followed by other fields; expected it last: its size is SVL x SVL",
        )


def _check_macro_names(spec: Spec) -> Iterator[Problem]:
    """Every field macro (and the header's own) must be one name: `x1` beside `x[31]`, or
    a field called `size`, would define one macro twice in the headers and asm-offsets."""
    prefix = spec.context.c_name.upper()
    owners = {suffix: "the header itself" for suffix in context_layout.OWN_MACROS}
    for index, field in enumerate(spec.context.fields):
        for suffix in context_layout.macro_suffixes(field):
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


# The bytes of a VL-scaled element that each register takes. Qn is the low 128 bits of Zn
# and the bits above 127 are the rest (Arm ARM, "SVE registers"), so Qn and Zn's upper bits
# share the element z[n], one part each, as in Linux's SVE_SIG_ZREG_OFFSET(vq, n)
# (arch/arm64/include/uapi/asm/sigcontext.h). P registers, FFR, ZA and every fixed slot are
# taken whole.
LOW, UPPER = ("low",), ("upper",)
WHOLE = (*LOW, *UPPER)
Z_REGISTERS = 32  # Z0-Z31: `z_upper` stands for the upper bits of all of them

# Claims on context elements: (field, index, part) -> the register that takes it.
Claims = dict[tuple[str, int, str], str]


def vl_home(name: str) -> tuple[VlKind, tuple[str, ...]] | None:
    """The VL field type that holds `name`, and the part of an element it takes."""
    if name == "z_upper":
        return VlKind.ZREG, UPPER
    if name == "za":
        return VlKind.ZA, WHOLE
    kind = registers.BY_NAME[name].kind
    if kind is Kind.VECTOR:
        return VlKind.ZREG, LOW
    if kind is Kind.SVE:  # p0-p15 and ffr
        return VlKind.PREG, WHOLE
    return None  # fixed-size state: it has no VL-scaled home


def _element_labels(names: list[str]) -> list[str]:
    """One label per context element a register group takes: `z_upper` takes one per Z register."""
    if names == ["z_upper"]:
        return [f"Z{n} bits above 127" for n in range(Z_REGISTERS)]
    return names


@dataclass(frozen=True)
class _Target:
    """What the field a slot names offers a register group."""

    count: int  # elements in the field
    labels: list[str]  # one per element the group takes
    parts: tuple[str, ...]  # the part of each element it takes
    wrong_type: str | None  # why the field cannot hold the group, if it cannot
    where: str  # for messages: the struct or the extended context


def _target(spec: Spec, names: list[str], field_name: str) -> _Target | None:
    for field in spec.context.fields:
        if field.name == field_name:
            return _Target(field.count, names, WHOLE, _fixed_type_problem(names[0], field), "the struct")
    vl_field = _vl_fields(spec).get(field_name)
    if vl_field is None:
        return None
    home = vl_home(names[0])
    wrong_type = _vl_type_problem(names[0], vl_field)
    return _Target(
        vl_field.count, _element_labels(names), home[1] if home else WHOLE, wrong_type, "the extended context"
    )


def _fixed_type_problem(name: str, field: ContextField) -> str | None:
    want = _expected_type(name)
    if want is None or field.type is want:
        return None
    return f"{name} needs a {want.value} slot, but {field.name} holds {field.type.value}"


def _vl_type_problem(name: str, field: VlField) -> str | None:
    """Z in a zreg field, P and FFR in a preg field, ZA in a za field; nothing else is VL-scaled."""
    home = vl_home(name)
    if home is not None and home[0] is field.type:
        return None
    want = f"a {home[0].value}" if home else "a fixed"
    return f"{name} needs {want} slot, but {field.name} holds {field.type.value}"


def _check_slot(
    spec: Spec, key: str, names: list[str], slot: tuple[str, int], path: Path, claims: Claims
) -> Iterator[Problem]:
    """The slot names a field of the right type, with room for the group, and nobody else's bytes."""
    field_name, first = slot
    target = _target(spec, names, field_name)
    if target is None:
        expected = ", ".join([*(f.name for f in spec.context.fields), *_vl_fields(spec)])
        yield Problem((*path, "slot"), f"no context field {field_name!r}; expected one of: {expected}")
        return
    if target.wrong_type is not None:
        yield Problem((*path, "slot"), target.wrong_type)
        return
    last = first + len(target.labels) - 1
    if last >= target.count:
        yield Problem(
            (*path, "slot"),
            f"{key} needs {field_name}[{first}..{last}], outside {target.where}: "
            f"{field_name} has {target.count} element(s)",
        )
        return
    for index, label in enumerate(target.labels, start=first):
        taken = [claims[(field_name, index, part)] for part in target.parts if (field_name, index, part) in claims]
        if taken:
            yield Problem((*path, "slot"), f"{label} and {taken[0]} both map to {field_name}[{index}]")
        for part in target.parts:
            claims.setdefault((field_name, index, part), label)


def _check_registers(spec: Spec) -> Iterator[Problem]:
    owner_of: dict[str, str] = {}
    claims: Claims = {}
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
        unmovable = [name for name in names if not registers.moved_by_loads(name)]
        if shared and unmovable:
            yield Problem(
                (*path, "class"),
                f"{registers.compress(unmovable)} cannot be shared through a context slot: the stubs move "
                "shared state with loads and stores, and no load or store takes it (it needs mrs/msr); "
                "expected private or clobbered",
            )
            continue
        if entry.saved_by is not None and entry.class_ not in (
            RegisterClass.CLOBBERED,
            RegisterClass.UNSPECIFIED,
        ):
            yield Problem((*path, "saved_by"), "`saved_by` applies only to clobbered state")
        if entry.class_ is RegisterClass.CALLEE_SAVED:
            outside = [n for n in names if n not in registers.CALLEE_SAVED_GPRS]
            if outside:
                yield Problem(
                    (*path, "class"),
                    f"{registers.compress(outside)} is not AAPCS64 callee-saved: expected x19-x28 for `callee-saved`",
                )
        parts = entry.slot_parts()
        if parts is None:
            continue
        yield from _check_slot(spec, key, names, parts, path, claims)
    missing = [r.name for r in registers.ARCHITECTURAL if r.name not in owner_of]
    if missing:
        yield Problem(
            ("registers",),
            f"no class for {registers.compress(missing)}; every architectural register needs one of "
            "shared, private, clobbered, unspecified",
        )
    yield from _check_one_home_per_z(spec)


def _z_homes(spec: Spec) -> tuple[dict[int, tuple[str, int, str]], tuple[str, int, str] | None]:
    """Shared Q registers in zreg fields (n -> field, index, key), and z_upper's zreg slot (field, first, key)."""
    zreg = {name for name, field in _vl_fields(spec).items() if field.type is VlKind.ZREG}
    q_homes: dict[int, tuple[str, int, str]] = {}
    upper = None
    for key, entry in spec.registers.items():
        slot = entry.slot_parts()
        if entry.class_ is not RegisterClass.SHARED or slot is None or slot[0] not in zreg:
            continue
        field, first = slot
        names = registers.expand(key)  # checked before this runs
        if names == ["z_upper"]:
            upper = (field, first, key)
        for offset, name in enumerate(names):
            if registers.BY_NAME[name].kind is Kind.VECTOR:
                q_homes[registers.number(name)] = (field, first + offset, key)
    return q_homes, upper


def _check_one_home_per_z(spec: Spec) -> Iterator[Problem]:
    """Qn is the low 128 bits of Zn, and the stub loads and stores a whole Z at once (`ldr zN,
    [xM, #n, mul vl]`, Arm ARM "LDR (vector)"), so a Z register has one home: Q in a zreg
    field needs z_upper in the same element, and z_upper in a zreg field needs every Q there."""
    try:
        q_homes, upper = _z_homes(spec)
    except RegisterNameError:
        return  # reported with its register entry
    if upper is None:
        for key in dict.fromkeys(home[2] for home in q_homes.values()):
            field = next(home[0] for home in q_homes.values() if home[2] == key)
            yield Problem(
                ("registers", key, "slot"),
                f"{key} is in the zreg field {field!r}, but z_upper is not shared there; expected z_upper "
                f"shared in {field} at the same indices: one home per Z register, the stub loads a whole Z",
            )
        return
    field, first, upper_key = upper
    misplaced = [n for n in range(Z_REGISTERS) if q_homes.get(n, ("", -1, ""))[:2] != (field, first + n)]
    elsewhere = [n for n in misplaced if n not in q_homes]
    if elsewhere:
        names = registers.compress([f"q{n}" for n in elsewhere])
        yield Problem(
            ("registers", upper_key, "slot"),
            f"z_upper is in {field}[{first}..{first + Z_REGISTERS - 1}], but {names} are not: expected q0-q31 "
            f"shared with slot `{field}[{first}]`: one home per Z register, the stub loads a whole Z",
        )
    by_key: dict[str, list[int]] = {}
    for n in misplaced:
        if n in q_homes:
            by_key.setdefault(q_homes[n][2], []).append(n)
    for key, numbers in by_key.items():
        q_field, index = q_homes[numbers[0]][:2]
        names = registers.compress([f"q{n}" for n in numbers])
        yield Problem(
            ("registers", key, "slot"),
            f"{names} start at {q_field}[{index}], but z_upper puts Z{numbers[0]}'s upper bits in "
            f"{field}[{first + numbers[0]}]; expected both in one element: one home per Z register",
        )


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
            if argument.value == "pass-through":
                yield from _pass_through_problems(argument, (*path, "arguments", arg_index))
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


def _check_entry_requirements(spec: Spec) -> Iterator[Problem]:
    seen: dict[str, int] = {}
    for index, requirement in enumerate(spec.entry_requirements):
        if requirement.state in seen:
            yield Problem(
                ("entry_requirements", index, "state"),
                f"{requirement.state} already has a requirement (entry_requirements[{seen[requirement.state]}]); "
                "expected one per state",
            )
        seen.setdefault(requirement.state, index)


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
    <C_NAME>_VL_OFFSET, _SIZE_VL(vq) and _MAX_VQ (vtlgen/generate/vl_macros.py), and per VL field
    <FIELD>_OFFSET(vq, n) and <FIELD>_SIZE(vq), with <FIELD> itself kept for the field (the
    Plan's VlElement.macro). So a fixed field `z_offset` beside the VL field `z`, a field
    `size_vl`, `max_vq` or `vl_offset`, or a VL field `vl` (VL_OFFSET) would define one macro
    twice. Collisions among the fixed fields alone are `_check_macro_names`' to report."""
    scaled = spec.context.vl_scaled
    if scaled is None:
        return
    prefix = spec.context.c_name.upper()
    # suffix -> (who defines it, the path of its field or () for the header, VL-scaled or not)
    owners: dict[str, tuple[str, Path, bool]] = dict.fromkeys(
        context_layout.OWN_MACROS, ("the header itself", (), False)
    )
    owners |= dict.fromkeys(context_layout.VL_OWN_MACROS, ("the header itself", (), True))
    claims: list[tuple[Path, str, bool, list[str]]] = [
        (("context", "fields", index, "name"), f"field {field.name!r}", False, context_layout.macro_suffixes(field))
        for index, field in enumerate(spec.context.fields)
    ]
    claims += [
        (("context", "vl_scaled", "fields", index, "name"), f"VL-scaled field {field.name!r}", True,
         [field.name.upper(), *context_layout.vl_macro_suffixes(field)])
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


# AAPCS64 "Parameter passing": the first eight integer or pointer arguments go in x0-x7;
# x0 carries the context pointer, so a passed-through C argument is one of x1-x7.
C_ARGUMENT_REGISTERS = tuple(f"x{n}" for n in range(1, 8))


def _pass_through_problems(argument: Argument, path: Path) -> Iterator[Problem]:
    if argument.reg not in C_ARGUMENT_REGISTERS:
        yield Problem(
            (*path, "register"),
            f"a pass-through argument is a C argument of the stub: expected one of x1-x7 (x0 holds ctx), "
            f"got {argument.reg}",
        )
    if argument.name is None:
        yield Problem((*path, "name"), "a pass-through argument needs a `name`: it names the C parameter")
