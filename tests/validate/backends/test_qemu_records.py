"""The harness's records are described once: the Python image follows C's layout rules, and the
compiler confirms every field's offset from the generated header."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support import SPEC, require_tool
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.validate.backends.qemu_harness import COMPILER, HEADER, HarnessError, HarnessShape, run_tool
from vtlgen.validate.backends.qemu_records import I64, U8, U32, U64, Field, Record
from vtlgen.validate.backends.qemu_user import TOOLS, shape_for
from vtlgen.validate.backends.qemu_vector import VectorShape

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}
PAIR = Record("pair", [Field("tag", U8), Field("value", U64)])


def test_offsets_follow_the_c_alignment_rules() -> None:
    """Each member at the next multiple of its alignment, the struct as aligned as its most
    aligned member and padded to a multiple of it (AAPCS64 "Composite types")."""
    assert PAIR.offsets == {"tag": 0, "value": 8} and PAIR.size == 16 and PAIR.align == 8
    outer = Record("outer", [Field("flag", U32), Field("pairs", PAIR, (2,)), Field("bytes", U8, (3,)),
                             Field("delta", I64), Field("last", U8)])  # fmt: skip
    assert outer.offsets == {"flag": 0, "pairs": 8, "bytes": 40, "delta": 48, "last": 56}
    assert outer.size == 64
    packed = Record("packed", [Field("a", U32), Field("b", U32), Field("c", U8, (8,))])
    assert packed.offsets == {"a": 0, "b": 4, "c": 8} and packed.size == 16 and packed.align == 4


def test_records_pack_and_unpack_by_field_name() -> None:
    outer = Record("outer", [Field("n", U32), Field("pairs", PAIR, (3,)), Field("grid", U64, (2, 2)),
                             Field("name", U8, (5,)), Field("delta", I64)])  # fmt: skip
    values = {"n": 2, "pairs": [{"tag": 7, "value": 1 << 63}], "grid": [1, 2, 3, 4], "name": b"ab", "delta": -5}
    raw = outer.pack(values)
    assert len(raw) == outer.size
    assert raw[outer.offsets["delta"] : outer.offsets["delta"] + 8] == (-5).to_bytes(8, "little", signed=True)
    back = outer.unpack(raw)
    assert back["n"] == 2 and back["grid"] == (1, 2, 3, 4) and back["delta"] == -5
    assert back["name"] == b"ab\0\0\0"  # short byte arrays are zero-filled, as missing entries are
    assert back["pairs"] == [{"tag": 7, "value": 1 << 63}, {"tag": 0, "value": 0}, {"tag": 0, "value": 0}]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tag": 1}, "missing"),
        ({"tag": 1, "value": 2, "extra": 3}, "unknown"),
    ],
)
def test_a_record_needs_exactly_its_fields(values: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PAIR.pack(values)


def test_a_record_refuses_what_does_not_fit() -> None:
    holder = Record("holder", [Field("pairs", PAIR, (1,)), Field("name", U8, (2,))])
    with pytest.raises(ValueError, match="at most 1 entries"):
        holder.pack({"pairs": [{"tag": 0, "value": 0}] * 2, "name": b""})
    with pytest.raises(ValueError, match="at most 2 bytes"):
        holder.pack({"pairs": [], "name": b"abc"})
    with pytest.raises(ValueError, match="mapping"):
        holder.pack({"pairs": [7], "name": b""})
    with pytest.raises(ValueError, match="repeats"):
        Record("twice", [Field("a", U32), Field("a", U32)])


def test_arrays_of_entries_pack_as_their_entries_one_by_one() -> None:
    """Entries of ints and bytes go in one call (the trial loop packs hundreds), with the same
    bytes and the same refusals as entry by entry."""
    entry = Record("entry", [Field("offset", U32), Field("size", U32), Field("bytes", U8, (4,))])
    holder = Record("holder", [Field("n", U32), Field("entries", entry, (3,))])
    entries = [{"offset": 1, "size": 2, "bytes": b"ab"}, {"offset": 3, "size": 4, "bytes": b"wxyz"}]
    raw = holder.pack({"n": 2, "entries": entries})
    assert holder.offsets["entries"] == 4 and entry.size == 12 and holder.size == 40
    assert raw[4:28] == b"".join(entry.pack(e) for e in entries) and raw[28:] == bytes(12)
    assert holder.unpack(raw)["entries"][:2] == [{**e, "bytes": e["bytes"].ljust(4, b"\0")} for e in entries]
    with pytest.raises(ValueError, match="at most 4 bytes"):
        holder.pack({"n": 1, "entries": [{"offset": 0, "size": 7, "bytes": b"toolong"}]})
    with pytest.raises(ValueError, match=r"missing \['size'\]"):
        holder.pack({"n": 1, "entries": [{"offset": 0, "bytes": b""}]})
    with pytest.raises(ValueError, match="unknown"):
        holder.pack({"n": 1, "entries": [{"offset": 0, "size": 0, "bytes": b"", "more": 1}]})


def _shapes() -> list[HarnessShape]:
    return [shape_for(PLANS["hvc3"]), shape_for(PLANS["smccc"], VectorShape(48, 64))]


@pytest.mark.parametrize("shape", _shapes(), ids=["scalar", "vector"])
def test_the_header_asserts_every_field_once(shape: HarnessShape) -> None:
    header = shape.header()
    for record in shape.records():
        for field in record.fields:
            check = f"_Static_assert(offsetof({record.c_type}, {field.name}) == {record.offset_macro(field.name)}"
            assert header.count(check) == 1, check
            assert f"#define {record.offset_macro(field.name)} {record.offsets[field.name]}\n" in header
        assert f"_Static_assert(sizeof({record.c_type}) == {record.size}," in header


def _compile_header(folder: Path, header: str) -> None:
    (folder / HEADER).write_text(header)
    (folder / "check.c").write_text(f'#include "{HEADER}"\n')  # the header stands alone
    run_tool([COMPILER, "-std=gnu11", "-fsyntax-only", "check.c"], folder, writable=False, timeout=60)


@pytest.mark.toolchain
@pytest.mark.parametrize("shape", _shapes(), ids=["scalar", "vector"])
def test_the_compiler_confirms_each_offset_and_catches_a_wrong_one(shape: HarnessShape) -> None:
    """The header compiles as vtlgen lays the records out; a field 4 bytes off (here a struct
    member, and the last field) stops the build, by name."""
    for tool in ("bwrap", COMPILER):
        require_tool(tool, TOOLS[tool])
    header = shape.header()
    # A folder the sandbox's `nobody` can reach when the tests run as root (not under pytest's tmp_path).
    folder = Path(tempfile.mkdtemp(prefix="vtlgen-test-"))
    try:
        _check_offsets(folder, shape, header)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_offsets(folder: Path, shape: HarnessShape, header: str) -> None:
    _compile_header(folder, header)
    out = shape.trial_out
    for field in (out.fields[-1].name, "trap_cpu"):
        macro = out.offset_macro(field)
        line = f"#define {macro} {out.offsets[field]}\n"
        wrong = header.replace(line, f"#define {macro} {out.offsets[field] + 4}\n")
        assert wrong != header
        with pytest.raises(HarnessError, match=rf"static assertion failed.*trial_out\.{field}"):
            _compile_header(folder, wrong)
