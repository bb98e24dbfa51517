"""vtlgen.isa.sve against the real assemblers: every form, every register, every immediate bound.

Each cross-check batches all statements into ONE GNU as or llvm-mc run. Outside CI a missing
tool skips with the Debian package to install; with CI=true it fails (tests/support/requirements.py).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import ROOT, SPEC, invoke, require_tool
from vtlgen.isa import sve
from vtlgen.isa.assembler import AssemblyError, assemble
from vtlgen.isa.disassembler import decode as decode_code
from vtlgen.isa.stubsource import StubSyntaxError, vet
from vtlgen.isa.sve import SveInstruction, decode, disassemble, encode, word_of

BINUTILS = "binutils-aarch64-linux-gnu"
GNU_AS = ["-march=armv9-a+sve+sme"]
LLVM_MC = ["-triple=aarch64", "-mattr=+sve,+sme"]
GPRS = range(32)  # 31 is SP (bases, addvl/addpl) or XZR (rdvl)


def corpus() -> list[SveInstruction]:
    """Every form; together the instructions take every register and every immediate each allows."""
    out: list[SveInstruction] = []
    for form, registers in (("ldr_z", 32), ("str_z", 32), ("ldr_p", 16), ("str_p", 16)):
        out += [SveInstruction(form, i % registers, (i * 7 + 3) % 32, i - 256) for i in range(512)]
    for form in ("rdffr", "wrffr"):
        out += [SveInstruction(form, t) for t in range(16)]
    for form in ("addvl", "addpl"):
        out += [SveInstruction(form, i % 32, (i * 5 + 1) % 32, i % 64 - 32) for i in range(128)]
    out += [SveInstruction("rdvl", i % 32, 0, i % 64 - 32) for i in range(128)]
    out += [SveInstruction("ptrue", t, size=size) for t in range(16) for size in sve.ELEMENT_SIZES]
    out += [SveInstruction(form, t) for form in ("smstart", "smstop") for t in range(3)]
    out += [SveInstruction("setffr"), SveInstruction("zero_za")]
    for form in ("ldr_za", "str_za"):
        out += [
            SveInstruction(form, 12 + v, n, imm)
            for v in range(4)
            for imm in range(16)
            for n in ((imm * 8 + v * 2) % 31, 31)
        ]
    return out


def spellings(insn: SveInstruction) -> list[str]:
    """Ways an author may write `insn` that both GNU as and llvm-mc accept."""
    text = disassemble(insn)
    out = [text, text.upper(), text.replace(", ", " , ").replace("[", "[ ")]
    if "mul vl" in text:
        out += [text.replace("mul vl", "MUL VL"), text.replace("#", ""), re.sub(r"mul vl", "mul  vl", text)]
    elif text.endswith("]") and insn.form in ("ldr_z", "str_z", "ldr_p", "str_p", "ldr_za", "str_za"):
        out.append(text[:-1] + ", #0, mul vl]")
    if insn.form in ("ldr_za", "str_za"):
        out.append(text.replace(f"w{insn.t}, {insn.imm}]", f"w{insn.t}, #{insn.imm}]"))
    if insn.form == "ptrue":
        out.append(f"{text}, all")
    if insn.form in ("addvl", "addpl", "rdvl") and insn.imm > 0:
        out.append(text.replace(f"#{insn.imm}", f"#0x{insn.imm:x}"))
    return out


STATEMENTS = [(insn, spelled) for insn in corpus() for spelled in spellings(insn)]


def _gnu_as_words(statements: list[str], tmp_path: Path, name: str = "sve") -> list[int]:
    assembler = require_tool("aarch64-linux-gnu-as", BINUTILS)
    objcopy = require_tool("aarch64-linux-gnu-objcopy", BINUTILS)
    source, obj, raw = tmp_path / f"{name}.s", tmp_path / f"{name}.o", tmp_path / f"{name}.bin"
    source.write_text("".join(f"\t{s}\n" for s in statements))
    done = subprocess.run([assembler, *GNU_AS, "-o", str(obj), str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[:2000]
    subprocess.run([objcopy, "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
    data = raw.read_bytes()
    return [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4)]


def _llvm_mc_words(statements: list[str], tmp_path: Path) -> list[int]:
    mc = require_tool("llvm-mc", "llvm")
    source = tmp_path / "sve.s"
    source.write_text("".join(f"\t{s}\n" for s in statements))
    shown = subprocess.run([mc, *LLVM_MC, "-show-encoding", str(source)], check=True, capture_output=True, text=True)
    encodings = re.findall(r"encoding: \[([^\]]*)\]", shown.stdout)
    return [int.from_bytes(bytes(int(b, 16) for b in e.split(",")), "little") for e in encodings]


def _first_difference(ours: list[int], theirs: list[int], statements: list[str]) -> str:
    assert len(ours) == len(theirs), f"{len(theirs)} words for {len(ours)} statements"
    for mine, other, text in zip(ours, theirs, statements, strict=True):
        if mine != other:
            return f"`{text}`: vtlgen {mine:#010x}, assembler {other:#010x}"
    return ""


def test_the_corpus_covers_every_form_register_and_immediate_bound() -> None:
    instructions = corpus()
    assert {i.form for i in instructions} == set(sve.FORMS)
    for form, registers, low, high in (("ldr_z", 32, -256, 255), ("str_p", 16, -256, 255), ("addvl", 32, -32, 31)):
        mine = [i for i in instructions if i.form == form]
        assert {i.t for i in mine} == set(range(registers)) and {i.imm for i in mine} == set(range(low, high + 1))
        assert {i.n for i in mine} == set(GPRS)
    assert {(i.t, i.imm) for i in instructions if i.form == "ldr_za"} == {
        (v, k) for v in range(12, 16) for k in range(16)
    }


@pytest.mark.toolchain
def test_every_form_assembles_as_gnu_as_does(tmp_path: Path) -> None:
    statements = [text for _, text in STATEMENTS]
    ours = [encode(text) for text in statements]
    assert all(word is not None for word in ours)
    difference = _first_difference([w for w in ours if w is not None], _gnu_as_words(statements, tmp_path), statements)
    assert not difference, difference


@pytest.mark.toolchain
def test_every_form_assembles_as_llvm_mc_does(tmp_path: Path) -> None:
    statements = [text for _, text in STATEMENTS]
    ours = [encode(text) for text in statements]
    difference = _first_difference([w for w in ours if w is not None], _llvm_mc_words(statements, tmp_path), statements)
    assert not difference, difference


def test_encode_decode_and_disassemble_round_trip() -> None:
    for insn, text in STATEMENTS:
        word = encode(text)
        assert word == word_of(insn), text
        assert decode(word) == insn, text
        assert encode(disassemble(insn)) == word, text


_FORM_WORDS = st.builds(
    lambda fixed, bits: fixed[0] | (bits & ~fixed[1] & 0xFFFF_FFFF),
    st.sampled_from(list(sve._FIXED.values())),
    st.integers(min_value=0, max_value=0xFFFF_FFFF),
)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.integers(min_value=0, max_value=0xFFFF_FFFF), _FORM_WORDS))
def test_decode_accepts_only_words_it_would_encode_back(word: int) -> None:
    insn = decode(word)
    if insn is not None:
        assert word_of(insn) == word and encode(disassemble(insn)) == word


def _near_words(count: int, seed: int) -> list[int]:
    """Words of each form with random operand bits, and the same with one fixed bit flipped."""
    rng = random.Random(seed)
    out = []
    for value, mask in sve._FIXED.values():
        for _ in range(count):
            word = value | (rng.getrandbits(32) & ~mask & 0xFFFF_FFFF)
            out += [word, word ^ (1 << rng.choice([b for b in range(32) if mask >> b & 1]))]
    return out


@pytest.mark.toolchain
def test_decode_agrees_with_gnu_objdump(tmp_path: Path) -> None:
    """In both directions: objdump prints one of these forms for a word exactly when vtlgen decodes it."""
    objdump = require_tool("aarch64-linux-gnu-objdump", BINUTILS)
    words = _near_words(40, seed=7)
    _gnu_as_words([f".inst {w:#010x}" for w in words], tmp_path, "near")  # assembles near.o
    listing = subprocess.run([objdump, "-d", str(tmp_path / "near.o")], check=True, capture_output=True, text=True)
    lines = re.findall(r"^\s+[0-9a-f]+:\s+([0-9a-f]{8})\s+(.*)$", listing.stdout, re.M)
    assert len(lines) == len(words)
    for printed_word, printed in lines:
        word, text = int(printed_word, 16), " ".join(printed.split("//")[0].split())
        try:
            read_back = encode(text)
        except ValueError:
            read_back = None
        ours = decode(word)
        assert (read_back == word) == (ours is not None), f"{word:#010x}: objdump `{text}`, vtlgen {ours}"
        if ours is not None:
            assert disassemble(ours) == text


REFUSED = [
    ("ldr z0, [x0, #256, mul vl]", "out of range -256..255"),
    ("str z0, [x0, #-257, mul vl]", "out of range -256..255"),
    ("ldr p0, [sp, #300, mul vl]", "out of range -256..255"),
    ("ldr z32, [x0]", "z0-z31"),
    ("ldr z300, [x0]", "z0-z31"),
    ("str p01, [x0]", "p0-p15"),
    ("ldr p16, [x0]", "p0-p15"),
    ("ldr z0.d, [x0]", "z0-z31"),
    ("ldr z0, [xzr]", "x0-x30 or sp"),
    ("ldr z0, [x31]", "x0-x30 or sp"),
    ("ldr z0, [w0]", "x0-x30 or sp"),
    ("ldr z0, [x0, #1]", "mul vl"),
    ("ldr z0, [x0, x1]", "mul vl"),
    ("ldr z0, [x0, #1, mul vl]!", "mul vl"),
    ("ldr z0, [x0, #two, mul vl]", "must be a number"),
    ("ldr z0", "takes"),
    ("rdffr p16.b", "p0.b-p15.b"),
    ("rdffr p0.h", "p0.b-p15.b"),
    ("rdffr p0.b, p1/z", "unpredicated"),
    ("wrffr p0", "p0.b-p15.b"),
    ("setffr p0.b", "no operands"),
    ("addvl x0, x1, #32", "out of range -32..31"),
    ("addpl sp, sp, #-33", "out of range -32..31"),
    ("addvl xzr, x0, #1", "x0-x30 or sp"),
    ("addvl x0, xzr, #1", "x0-x30 or sp"),
    ("addvl w0, w1, #1", "x0-x30 or sp"),
    ("rdvl sp, #1", "x0-x30 or xzr"),
    ("rdvl x0, #32", "out of range -32..31"),
    ("ptrue p16.b", "p0-p15"),
    ("ptrue p0.q", "p0-p15"),
    ("ptrue p0.b, vl1", "pattern ALL only"),
    ("smstart sm, za", "nothing, `sm` or `za`"),
    ("smstop zt0", "nothing, `sm` or `za`"),
    ("zero {za0.d}", "only `zero {za}`"),
    ("ldr za[w11, 0], [x0]", "w12-w15"),
    ("ldr za[w16, 0], [x0]", "w12-w15"),
    ("ldr za[w12, 16], [x0, #16, mul vl]", "out of range 0..15"),
    ("ldr za[w12, 1], [x0]", "must equal the slice offset"),
    ("str za[w12, 1], [x0, #2, mul vl]", "must equal the slice offset"),
    ("ldr za[x12, 0], [x0]", "za\\[w12-w15, imm\\]"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_bad_operands_of_a_known_form_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        encode(text)
    with pytest.raises(StubSyntaxError, match=rf"^s\.S:2:1: .*{reason}"):
        vet(f"nop\n{text}\nret\n", "s.S")


@pytest.mark.parametrize("text", ["ldr z0, " + "," * 500_000, "zero " + "{" * 500_000, "ldr za[" + " ," * 300_000])
def test_a_huge_statement_is_refused_quickly(text: str) -> None:
    started = time.monotonic()
    with pytest.raises(StubSyntaxError, match="too long"):
        vet(text, "s.S")
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    "text", ["ldr x0, [x1]", "str q0, [sp, #16]", "ldr w1, [x2, #4]", "ld1d {z0.d}, p0/z, [x0]", "ldr zt0, [x0]", "nop"]
)
def test_other_instructions_are_not_these_forms(text: str) -> None:
    assert encode(text) is None


@pytest.mark.parametrize(
    "insn",
    [
        SveInstruction("ldr_z", 32),
        SveInstruction("ldr_p", 0, 0, 256),
        SveInstruction("ldr_za", 11),
        SveInstruction("rdffr", 0, 1),
        SveInstruction("ptrue", 0, size="q"),
        SveInstruction("ldr_z", size="b"),
        SveInstruction("smstart", 3),
        SveInstruction("frob"),
    ],
)
def test_an_instruction_out_of_range_is_neither_encoded_nor_printed(insn: SveInstruction) -> None:
    with pytest.raises(ValueError):
        word_of(insn)
    with pytest.raises(ValueError):
        disassemble(insn)


# A stub mixing SVE/SME and ordinary lines, with labels and branches across SVE lines.
MIXED = """\
\t.arch armv9-a+sve
\t.arch_extension sme
\t.global f
f:\tstp x29, x30, [sp, #-16]!
\tmov x29, sp
\tcbz x0, 2f
\taddvl sp, sp, #-2
1:\tstr z0, [sp]
\tSTR Z31, [SP, #1, MUL VL]
\tldr p3, [x0, #-256, mul vl]
\tsubs x1, x1, #1
\tb.ne 1b
\tptrue p0.s
\trdvl x2, #-32
\tsmstart za
\tldr za[w13, #15], [x0, #15, mul vl]
\tzero {za}
\tsmstop
\taddvl sp, sp, #2
2:\tldp x29, x30, [sp], #16
\tret
"""


@pytest.mark.toolchain
def test_a_mixed_stub_assembles_as_gnu_as_assembles_it(tmp_path: Path) -> None:
    assembly = assemble(MIXED, "mixed.S")
    gnu = _gnu_as_words(MIXED.splitlines(), tmp_path, "mixed")
    canonical = _gnu_as_words(assembly.canonical.splitlines(), tmp_path, "canonical")
    ours = [int.from_bytes(assembly.code[i : i + 4], "little") for i in range(0, len(assembly.code), 4)]
    assert ours == gnu == canonical
    assert assembly.source_lines[3] == 7 and assembly.text_of(12) == "addvl sp, sp, #-2"


@pytest.mark.qemu
@pytest.mark.toolchain
def test_the_qemu_path_assembles_sve_stubs_with_gnu_as_to_the_same_bytes(request: pytest.FixtureRequest) -> None:
    """qemu_user.build runs GNU as on the canonical text and compares its bytes with vtlgen's."""
    from vtlgen.lower.convention import lower
    from vtlgen.spec.loader import load
    from vtlgen.validate.backends import qemu_user

    for tool, package in qemu_user.TOOLS.items():
        require_tool(tool, package)
    plan = next(p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml") if p.convention_id == "smccc")
    assembly = assemble(MIXED, "mixed.S")
    folders = [Path(tempfile.mkdtemp(prefix="vtlgen-test-")) for _ in range(2)]  # as the qemu tests do
    request.addfinalizer(lambda: [shutil.rmtree(f, ignore_errors=True) for f in folders])
    built = qemu_user.build(plan, assembly.canonical, folders[0], assembly.code)
    assert built.stub_end - built.stub_start == len(assembly.code)
    patched = bytearray(assembly.code)
    patched[16:20] = word_of(SveInstruction("str_z", 1, 31)).to_bytes(4, "little")  # str z1, [sp]
    with pytest.raises(qemu_user.HarnessError, match=r"differently at \+0x10"):
        qemu_user.build(plan, assembly.canonical, folders[1], bytes(patched))


@pytest.mark.parametrize(
    ("line", "statement"),
    [
        (3, "ld1d {z0.d}, p0/z, [x0]"),
        (3, "ldr zt0, [x0]"),
        (3, "cntd x0"),
        (3, "whilelo p0.s, x0, x1"),
        (3, "mov z0.d, #0"),
        (3, "msr svcr, x0"),
    ],
)
def test_an_sve_instruction_vtlgen_does_not_encode_is_located(line: int, statement: str) -> None:
    with pytest.raises(AssemblyError) as caught:
        assemble(f"nop\nnop\n{statement}\nret\n", "s.S")
    message = str(caught.value)
    assert message.startswith(f"s.S:{line}:1: ") and "vtlgen encodes only these SVE/SME forms: ldr/str zT" in message


def test_an_unsupported_sve_stub_exits_2_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    monkeypatch.chdir(tmp_path)
    stub = tmp_path / "vector.S"
    stub.write_text("\tptrue p0.d\n\tld1d {z0.d}, p0/z, [x0]\n\tret\n")
    result = invoke("validate", "spec/hyperv_vtl.yaml", "--convention", "smccc", "--stub", str(stub))
    assert result.exit_code == 2
    assert "vector.S:2:1: " in result.output and "vtlgen encodes only these SVE/SME forms" in result.output


@pytest.mark.parametrize(
    "directive",
    [".arch armv9-a", ".arch armv8.2-a+sve", ".ARCH armv9.4-a+sve2+sme", ".arch_extension sve", ".arch_extension SME"],
)
def test_arch_directives_are_dropped(directive: str) -> None:
    vetted = vet(f"{directive}\nptrue p0.b\nret\n", "s.S")
    assert vetted.canonical == "ptrue p0.b\nret\n"


@pytest.mark.parametrize(
    "directive",
    [".arch_extension crypto", '.arch "armv9-a"', ".arch armv9-a+sve;", ".arch x86-64", ".arch armv9-a, 1"],
)
def test_other_arch_directives_are_refused(directive: str) -> None:
    with pytest.raises(StubSyntaxError, match=r"^s\.S:1:1: "):
        vet(f"{directive}\nret\n", "s.S")


# Facts from each form's Arm ARM page: registers read and written, and VL-scaled memory.
FACTS = [
    ("ldr z3, [x9, #-2, mul vl]", {"x9"}, {"q3", "z_upper"}, ("x9", False, -2, "vl")),
    ("str z31, [sp, #255, mul vl]", {"sp", "q31", "z_upper"}, set(), ("sp", True, 255, "vl")),
    ("ldr p15, [x30]", {"x30"}, {"p15"}, ("x30", False, 0, "pl")),
    ("str p1, [x2, #-256, mul vl]", {"x2", "p1"}, set(), ("x2", True, -256, "pl")),
    ("ldr za[w13, 4], [x0, #4, mul vl]", {"x0", "x13"}, {"za"}, ("x0", False, 4, "svl")),
    ("str za[w15, 0], [sp]", {"sp", "x15", "za"}, set(), ("sp", True, 0, "svl")),
    ("rdffr p2.b", {"ffr"}, {"p2"}, None),
    ("wrffr p3.b", {"p3"}, {"ffr"}, None),
    ("setffr", set(), {"ffr"}, None),
    ("addvl sp, sp, #-3", {"sp"}, {"sp"}, None),
    ("addpl x1, x2, #7", {"x2"}, {"x1"}, None),
    ("rdvl x4, #1", set(), {"x4"}, None),
    ("rdvl xzr, #1", set(), set(), None),
    ("ptrue p7.d", set(), {"p7"}, None),
    ("zero {za}", set(), {"za"}, None),
    ("smstart za", {"svcr.za"}, {"svcr.za", "za", "zt0"}, None),
]


@pytest.mark.parametrize(("text", "reads", "writes", "memory"), FACTS)
def test_disassembler_facts_are_exact(
    text: str, reads: set[str], writes: set[str], memory: tuple[str, bool, int, str] | None
) -> None:
    (decoded,) = decode_code(assemble(text + "\n").code)
    assert decoded.exact and decoded.text == text
    assert (decoded.reads, decoded.writes) == (reads, writes)
    assert decoded.access is None  # the displacement and size scale with VL: no static address
    assert decoded.memory == (memory is not None)
    if memory is not None:
        scaled = decoded.vector_access
        assert scaled is not None and (scaled.base, scaled.write, scaled.multiple, scaled.unit) == memory
        assert decoded.base == memory[0]


def test_changing_streaming_mode_resets_every_vector_register() -> None:
    (start, stop_sm) = decode_code(assemble("smstart\nsmstop sm\n").code)
    for decoded in (start, stop_sm):
        assert {f"q{n}" for n in range(32)} | {f"p{n}" for n in range(16)} | {
            "ffr",
            "z_upper",
            "fpsr",
        } <= decoded.writes
        assert "svcr.sm" in decoded.reads and not decoded.memory
    assert "za" in start.writes and "za" not in stop_sm.writes


@pytest.mark.toolchain
def test_the_generated_stubs_with_sve_lines_ship_gnu_as_bytes(tmp_path: Path) -> None:
    """End to end: the standalone stub `generate` writes, its bindings' MACHINE_CODE, and GNU as agree."""
    from vtlgen.generate import artifacts, render
    from vtlgen.spec.loader import load

    built = artifacts.build(load(SPEC))
    with_sve = [item for item in built if any(d.vector_access for d in decode_code(item.code))]
    assert with_sve, "the spec's stubs move SVE state (hyperv_vtl 2.0.0)"
    for item in with_sve:
        names = render.file_names(item.plan)
        files = {Path(path).name: text for path, text in item.files.items()}
        namespace: dict[str, object] = {}
        exec(compile(files[names["bindings"]], "bindings.py", "exec"), namespace)  # the module users import
        gnu = _gnu_as_words(files[names["standalone"]].splitlines(), tmp_path, item.plan.convention_id)
        assert namespace["MACHINE_CODE"] == item.code
        assert [int.from_bytes(item.code[i : i + 4], "little") for i in range(0, len(item.code), 4)] == gnu


def test_the_listing_marks_vector_stores_as_writes_at_vl_scaled_addresses() -> None:
    from vtlgen.lower.convention import lower
    from vtlgen.report.listing import annotate
    from vtlgen.spec.loader import load

    plan = next(p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml") if p.convention_id == "smccc")
    rows = annotate(plan, assemble("str z1, [x0, #-2, mul vl]\nldr p2, [sp]\naddvl sp, sp, #-1\nstr x1, [sp]\nret\n"))
    store, load_p, _, scalar, _ = rows
    assert (store.access, store.touches) == ("write", ("memory at x0 - 2 × VL (scales with the vector length)",))
    assert (load_p.access, load_p.touches) == ("read", ("memory at sp + 0 × PL (scales with the vector length)",))
    assert scalar.touches == ("memory (not followed)",)  # SP moved by a VL multiple: no longer known


@pytest.mark.parametrize(
    ("text", "lengths", "placement"),
    [
        ("ldr z3, [x9, #-2, mul vl]", (32, 64), (-64, 32)),
        ("str p1, [x2, #5, mul vl]", (32, 64), (20, 4)),
        ("ldr p0, [x2, #-256, mul vl]", (256, 16), (-8192, 32)),
        ("str za[w12, 7], [x0, #7, mul vl]", (16, 64), (448, 64)),
    ],
)
def test_a_vector_access_is_placed_at_a_vector_length(
    text: str, lengths: tuple[int, int], placement: tuple[int, int]
) -> None:
    (decoded,) = decode_code(assemble(text + "\n").code)
    assert decoded.vector_access is not None and decoded.vector_access.placement(*lengths) == placement
