"""Binary records between vtlgen and the qemu-user harness, each described once.

A record is a table of fields (name, C type, array dimensions). From that one table come
the C `struct` declaration the harness compiles (written into its generated header), a
`_Static_assert` on the offset of every field and on the size, and the Python packing and
unpacking by field name. Offsets follow the C rules for the AArch64 Linux ABI (AAPCS64
"Composite types": a member sits at the next multiple of its alignment; a struct is as
aligned as its most aligned member and its size is a multiple of that), so the Python side
inserts the same padding the compiler does, and the compiler checks that it did.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scalar:
    """A C integer type: its name, size (= alignment, AAPCS64 "Fundamental data types") and
    the `struct` module's code for it."""

    c_name: str
    size: int
    code: str

    @property
    def align(self) -> int:
        return self.size


U8 = Scalar("uint8_t", 1, "B")
U32 = Scalar("uint32_t", 4, "I")
U64 = Scalar("uint64_t", 8, "Q")
I64 = Scalar("int64_t", 8, "q")


@dataclass(frozen=True)
class Field:
    """One member: `type name[dims...]`. A uint8_t array travels as bytes; an array of a
    wider scalar as a flat sequence of ints (row-major); a struct as a mapping of its
    fields, an array of structs as a sequence of such mappings (missing ones are zero)."""

    name: str
    type: Scalar | Record
    dims: tuple[int, ...] = ()

    @property
    def count(self) -> int:
        return math.prod(self.dims)

    @property
    def size(self) -> int:
        return self.type.size * self.count


class Record:
    """A C struct with the layout of `fields`, and its Python image."""

    def __init__(self, name: str, fields: Sequence[Field]):
        self.name = name
        self.fields = tuple(fields)
        if len({f.name for f in self.fields}) != len(self.fields):
            raise ValueError(f"struct {name}: a field name repeats")
        self.align: int = max(f.type.align for f in self.fields)
        offsets: dict[str, int] = {}
        formats, offset = ["<"], 0
        for f in self.fields:
            start = _round_up(offset, f.type.align)
            if start > offset:
                formats.append(f"{start - offset}x")
            offsets[f.name] = start
            if isinstance(f.type, Record) or (f.type is U8 and f.dims):
                formats.append(f"{f.size}s")  # bytes; a struct's are packed by its own Record
            else:
                formats.append(f"{f.count}{f.type.code}")
            offset = start + f.size
        self.size = _round_up(offset, self.align)
        if self.size > offset:
            formats.append(f"{self.size - offset}x")
        self.offsets: Mapping[str, int] = offsets
        self._struct = struct.Struct(" ".join(formats))
        assert self._struct.size == self.size

    @property
    def c_type(self) -> str:
        return f"struct {self.name}"

    def declaration(self) -> str:
        members = "".join(f"\t{f.type.c_name if isinstance(f.type, Scalar) else f.type.c_type} {f.name}"
                          f"{''.join(f'[{d}]' for d in f.dims)};\n" for f in self.fields)  # fmt: skip
        return f"{self.c_type} {{\n{members}}};\n"

    def offset_macro(self, field: str) -> str:
        return f"{self.name.upper()}_OFFSET_{field.upper()}"

    def checks(self) -> str:
        """The layout as macros (the trampoline's assembly reads them) and the compiler's
        confirmation of each offset and of the size."""
        lines = [f"#define {self.offset_macro(f.name)} {self.offsets[f.name]}" for f in self.fields]
        lines += [
            f'_Static_assert(offsetof({self.c_type}, {f.name}) == {self.offset_macro(f.name)}, "{self.name}.{f.name}");'
            for f in self.fields
        ]
        lines.append(f'_Static_assert(sizeof({self.c_type}) == {self.size}, "sizeof {self.c_type}");')
        return "\n".join(lines) + "\n"

    def pack(self, values: Mapping[str, object]) -> bytes:
        """The record with each field from `values[name]` (every field must be given)."""
        missing = [f.name for f in self.fields if f.name not in values]
        if missing or len(values) != len(self.fields):
            unknown = sorted(set(values) - {f.name for f in self.fields})
            raise ValueError(f"struct {self.name}: missing {missing}, unknown {unknown}")
        items: list[object] = []
        for f in self.fields:
            value = values[f.name]
            if isinstance(f.type, Record):
                items.append(self._pack_records(f, f.type, value))
            elif f.type is U8 and f.dims:
                if not isinstance(value, bytes) or len(value) > f.size:
                    raise ValueError(f"{self.name}.{f.name}: at most {f.size} bytes")
                items.append(value)  # struct pads a short `s` item with zeros
            elif f.dims:
                assert isinstance(value, Sequence)
                items.extend(value)
            else:
                items.append(value)
        return self._struct.pack(*items)

    def _pack_records(self, f: Field, record: Record, value: object) -> bytes:
        entries = list(value) if isinstance(value, Sequence) else [value]
        if len(entries) > f.count:
            raise ValueError(f"{self.name}.{f.name}: at most {f.count} entries")
        packed = []
        for entry in entries:
            if not isinstance(entry, Mapping):
                raise ValueError(f"{self.name}.{f.name}: each entry is a mapping of struct {record.name}'s fields")
            packed.append(record.pack(entry))
        return b"".join(packed)

    def unpack(self, raw: bytes) -> dict[str, Any]:
        """Each field by name, as `pack` takes it (arrays of structs: all `count` entries);
        values of several types, as `struct.unpack`'s."""
        items = self._struct.unpack(raw)
        values: dict[str, Any] = {}
        position = 0
        for f in self.fields:
            if isinstance(f.type, Record) or (f.type is U8 and f.dims):
                value = items[position]
                position += 1
                if isinstance(f.type, Record):
                    record = f.type
                    entries = [record.unpack(value[k : k + record.size]) for k in range(0, len(value), record.size)]
                    value = entries if f.dims else entries[0]
                values[f.name] = value
            elif f.dims:
                values[f.name] = items[position : position + f.count]
                position += f.count
            else:
                values[f.name] = items[position]
                position += 1
        return values


def _round_up(value: int, align: int) -> int:
    return -(-value // align) * align


def enum(names: Mapping[str, int]) -> str:
    """A C enum of named values that Python states: one home for both sides."""
    return "enum { " + ", ".join(f"{name} = {value}" for name, value in names.items()) + " };\n"
