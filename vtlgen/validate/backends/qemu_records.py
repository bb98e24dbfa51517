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
from collections.abc import Iterator, Mapping, Sequence
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
        self._names = tuple(f.name for f in self.fields)
        # Per field: its name, how it travels, its count (bytes for a byte array, entries for
        # an array of structs, 0 for one struct) and its struct.
        self._plan: tuple[tuple[str, int, int, Record | None], ...] = tuple(
            (f.name, _STRUCT, f.count if f.dims else 0, f.type) if isinstance(f.type, Record)
            else (f.name, _BYTES, f.size, None) if f.type is U8 and f.dims
            else (f.name, _ARRAY, f.count, None) if f.dims
            else (f.name, _ONE, 1, None)
            for f in self.fields
        )  # fmt: skip
        self._flat = all(kind == _ONE for _, kind, _, _ in self._plan)
        self._simple = all(kind in (_ONE, _BYTES) for _, kind, _, _ in self._plan)
        self._byte_fields = tuple((name, count) for name, kind, count, _ in self._plan if kind == _BYTES)
        self._arrays: dict[int, struct.Struct] = {}  # packers of n entries at once

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
        if len(values) != len(self.fields):
            raise self._mismatch(values)
        try:
            if self._flat:  # the entries of an array: the fast way, as there are many
                return self._struct.pack(*[values[name] for name in self._names])
            items: list[object] = []
            for name, kind, count, record in self._plan:
                value = values[name]
                if kind == _STRUCT:
                    assert record is not None
                    items.append(self._pack_records(name, count, record, value))
                elif kind == _BYTES:
                    if not isinstance(value, bytes) or len(value) > count:
                        raise ValueError(f"{self.name}.{name}: at most {count} bytes")
                    items.append(value)  # struct pads a short `s` item with zeros
                elif kind == _ARRAY:
                    assert isinstance(value, Sequence)
                    items.extend(value)
                else:
                    items.append(value)
        except KeyError:
            raise self._mismatch(values) from None
        return self._struct.pack(*items)

    def _mismatch(self, values: Mapping[str, object]) -> ValueError:
        missing = [name for name in self._names if name not in values]
        unknown = sorted(set(values) - set(self._names))
        return ValueError(f"struct {self.name}: missing {missing}, unknown {unknown}")

    def _pack_records(self, name: str, count: int, record: Record, value: object) -> bytes:
        """One struct (count 0) or an array of at most `count`, from mappings of their fields."""
        entries = list(value) if isinstance(value, Sequence) else [value]
        if len(entries) > max(count, 1):
            raise ValueError(f"{self.name}.{name}: at most {count} entries")
        if record._simple:  # many entries, one call: the trial loop packs hundreds per trial
            packed = record._pack_many(entries)
            if packed is not None:
                return packed
        mappings = [entry for entry in entries if isinstance(entry, Mapping)]
        if len(mappings) != len(entries):
            raise ValueError(f"{self.name}.{name}: each entry is a mapping of struct {record.name}'s fields")
        return b"".join([record.pack(entry) for entry in mappings])

    def _pack_many(self, entries: list[Any]) -> bytes | None:
        """Entries of a struct of ints and byte arrays packed at once; None when one is not
        exactly such a mapping (then `pack`, entry by entry, says what is wrong)."""
        names = self._names
        try:
            items = [entry[name] for entry in entries for name in names]
        except (KeyError, TypeError):
            return None
        if not all(len(entry) == len(names) for entry in entries):
            return None
        for name, size in self._byte_fields:
            if not all(isinstance(entry[name], bytes) and len(entry[name]) <= size for entry in entries):
                return None
        many = self._arrays.get(len(entries))
        if many is None:
            many = self._arrays[len(entries)] = struct.Struct("<" + self._struct.format[1:] * len(entries))
        return many.pack(*items)

    def rows(self, raw: bytes) -> Iterator[tuple[Any, ...]]:
        """Consecutive records in `raw` as flat tuples: each field's items in order, arrays
        of scalars flattened, byte arrays as bytes (the fast way for many small records)."""
        return self._struct.iter_unpack(raw)

    def unpack(self, raw: bytes) -> dict[str, Any]:
        """Each field by name, as `pack` takes it (arrays of structs: all their entries);
        values of several types, as `struct.unpack`'s."""
        items = self._struct.unpack(raw)
        if self._flat:
            return dict(zip(self._names, items, strict=True))
        values: dict[str, Any] = {}
        position = 0
        for name, kind, count, record in self._plan:
            if kind == _ARRAY:
                values[name] = items[position : position + count]
                position += count
                continue
            value = items[position]
            position += 1
            if kind == _STRUCT:
                assert record is not None
                size = record.size
                entries = [record.unpack(value[k : k + size]) for k in range(0, len(value), size)]
                value = entries if count else entries[0]
            values[name] = value
        return values


_ONE, _ARRAY, _BYTES, _STRUCT = range(4)  # how a field travels: one int, ints, bytes, struct(s)


def _round_up(value: int, align: int) -> int:
    return -(-value // align) * align


def enum(names: Mapping[str, int]) -> str:
    """A C enum of named values that Python states: one home for both sides."""
    return "enum { " + ", ".join(f"{name} = {value}" for name, value in names.items()) + " };\n"
