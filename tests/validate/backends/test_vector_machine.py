"""The SVE/SME machine the unicorn backend runs those instructions on.

Two kinds of test: hand-derived expectations that an off-by-one breaks (offsets scaled by
VL 48, predicates of VL / 8 bytes, ZA row indexing, the Q/Z upper-bit rule, the streaming
mode and ZA checks), and programs of every form run both here and under
`qemu-aarch64 -cpu max` at several vector lengths, whose whole final state must agree.
"""

from __future__ import annotations

import random
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from tests.support import SPEC, require
from vtlgen.generate import render
from vtlgen.isa.assembler import assemble
from vtlgen.isa.sve import SveInstruction as I
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.spec.loader import load
from vtlgen.validate.backends.base import Observable, StubCode
from vtlgen.validate.backends.qemu_user import TOOLS as QEMU_TOOLS
from vtlgen.validate.backends.qemu_user import QemuUserBackend
from vtlgen.validate.backends.unicorn import Harness, UnicornBackend
from vtlgen.validate.backends.vector_machine import (
    FPSR_AFTER_SM_CHANGE,
    MASK64,
    SP,
    IllegalInStreamingMode,
    MemoryAccess,
    UndefinedInstruction,
    VectorMachine,
    VectorTrap,
    ZaDisabled,
    z_read,
)
from vtlgen.validate.contract import TrialJudge
from vtlgen.validate.results import StubSource
from vtlgen.validate.trial import GUARD, InitialState, Switch, TrialFactory

BASE = 0x5_5000_1000


class Memory:
    """A flat memory at BASE for the machine's callbacks, and the registers by number."""

    def __init__(self, size: int = 8192, seed: int = 0, base: int = BASE):
        self.base = base
        self.data = bytearray(random.Random(seed).randbytes(size))
        self.x = [0] * 32  # 31: SP

    def load(self, address: int, size: int) -> bytes:
        start = address - self.base
        assert start >= 0 and start + size <= len(self.data), hex(address)
        return bytes(self.data[start : start + size])

    def store(self, address: int, data: bytes) -> None:
        start = address - self.base
        assert start >= 0 and start + len(data) <= len(self.data), hex(address)
        self.data[start : start + len(data)] = data

    def read_x(self, n: int) -> int:
        return self.x[n]

    def write_x(self, n: int, value: int) -> None:
        self.x[n] = value

    def at(self, offset: int, size: int) -> bytes:
        return bytes(self.data[offset : offset + size])

    def run(self, machine: VectorMachine, *program: I) -> list[MemoryAccess]:
        accesses: list[MemoryAccess] = []
        for insn in program:
            accesses += machine.execute(insn, self.read_x, self.write_x, self.load, self.store).accesses
        return accesses


# --- hand-derived expectations ---------------------------------------------------------


def test_vector_offsets_scale_by_vl_48() -> None:
    memory, machine = Memory(), VectorMachine(48)
    memory.x[1] = BASE + 1024
    accesses = memory.run(machine, I("ldr_z", t=3, n=1, imm=-2), I("str_z", t=3, n=1, imm=5))
    assert accesses == [MemoryAccess(BASE + 1024 - 96, 48, False, 1), MemoryAccess(BASE + 1024 + 240, 48, True, 1)]
    assert machine.z[3] == memory.at(1024 - 96, 48) == memory.at(1024 + 240, 48)


def test_predicates_are_vl_over_8_bytes_and_scale_by_it() -> None:
    memory, machine = Memory(), VectorMachine(48)
    memory.x[2] = BASE + 2048
    accesses = memory.run(machine, I("ldr_p", t=15, n=2, imm=3), I("str_p", t=15, n=2, imm=-4))
    assert accesses == [MemoryAccess(BASE + 2048 + 18, 6, False, 2), MemoryAccess(BASE + 2048 - 24, 6, True, 2)]
    assert machine.p[15] == memory.at(2048 + 18, 6) == memory.at(2048 - 24, 6)
    assert len(machine.ffr) == 6


def test_sp_is_register_31_for_bases_and_addvl() -> None:
    memory, machine = Memory(), VectorMachine(48)
    memory.x[SP] = BASE + 4096
    effects = machine.execute(I("addvl", t=SP, n=SP, imm=-3), memory.read_x, memory.write_x, memory.load, memory.store)
    assert memory.x[SP] == BASE + 4096 - 144 and effects.x_written == (SP,)
    assert memory.run(machine, I("str_z", t=0, n=SP, imm=1)) == [MemoryAccess(BASE + 4096 - 96, 48, True, SP)]


def test_addpl_and_rdvl() -> None:
    memory, machine = Memory(), VectorMachine(48)
    memory.x[6] = 1000
    memory.run(machine, I("addpl", t=5, n=6, imm=7), I("rdvl", t=7, imm=-1), I("rdvl", t=8, imm=31))
    assert memory.x[5] == 1000 + 42
    assert memory.x[7] == MASK64 + 1 - 48 and memory.x[8] == 31 * 48
    effects = machine.execute(I("rdvl", t=31, imm=1), memory.read_x, memory.write_x, memory.load, memory.store)
    assert effects.x_written == ()  # Xd 31 is XZR for RDVL


@pytest.mark.parametrize(("size", "byte"), [("b", 0xFF), ("h", 0x55), ("s", 0x11), ("d", 0x01)])
def test_ptrue_all_sets_the_lowest_bit_of_each_element(size: str, byte: int) -> None:
    memory, machine = Memory(), VectorMachine(48)
    memory.run(machine, I("ptrue", t=4, size=size))
    assert machine.p[4] == bytes([byte]) * 6


def test_ffr_moves() -> None:
    memory, machine = Memory(), VectorMachine(32)
    memory.x[1] = BASE
    memory.run(machine, I("ldr_p", t=2, n=1), I("wrffr", t=2), I("rdffr", t=9))
    assert machine.ffr == machine.p[9] == memory.at(0, 4)
    memory.run(machine, I("setffr"), I("rdffr", t=10))
    assert machine.p[10] == b"\xff" * 4


def test_writes_to_v_zero_the_upper_bits_of_z() -> None:
    machine = VectorMachine(64)
    machine.load({"z5": bytes(range(64))})
    machine.set_q(5, b"\xaa" * 16)
    assert machine.z[5] == b"\xaa" * 16 + bytes(range(16, 64))  # Q alone: the upper bits stay
    machine.q_written(5)
    assert machine.z[5] == b"\xaa" * 16 + bytes(48)
    assert z_read(I("str_z", t=5)) == 5 and z_read(I("ldr_z", t=5)) is None


def test_ldr_z_names_the_register_the_emulator_must_be_given() -> None:
    memory, machine = Memory(), VectorMachine(16)
    memory.x[1] = BASE
    effects = machine.execute(I("ldr_z", t=7, n=1), memory.read_x, memory.write_x, memory.load, memory.store)
    assert effects.z_written == (7,)


def test_za_row_is_wv_plus_offset_modulo_svl_bytes() -> None:
    memory, machine = Memory(), VectorMachine(16, 32)
    memory.x[1] = BASE + 512
    memory.x[12] = 0xFFFF_FFFF_0000_001E  # only W12 counts: row (30 + 5) mod 32 = 3
    machine.load({"za": bytes(32 * 32)})
    accesses = memory.run(machine, I("ldr_za", t=12, n=1, imm=5))
    assert accesses == [MemoryAccess(BASE + 512 + 160, 32, False, 1)]
    assert machine.za[3 * 32 : 4 * 32] == memory.at(512 + 160, 32)
    assert machine.za[: 3 * 32] == bytes(96) and machine.za[4 * 32 :] == bytes(28 * 32)
    memory.x[13] = 3
    assert memory.run(machine, I("str_za", t=13, n=1, imm=0)) == [MemoryAccess(BASE + 512, 32, True, 1)]
    assert memory.at(512, 32) == memory.at(512 + 160, 32)


def test_smstart_sm_zeroes_sve_state_and_switches_to_svl() -> None:
    memory, machine = Memory(), VectorMachine(48, 64)
    memory.x[1] = BASE
    memory.run(machine, I("ldr_z", t=1, n=1), I("ldr_p", t=1, n=1), I("setffr"))
    effects = machine.execute(I("smstart", t=1), memory.read_x, memory.write_x, memory.load, memory.store)
    assert effects.sm_changed and effects.z_written == tuple(range(32))
    assert machine.sm and not machine.za_enabled and machine.svcr == 1
    assert machine.z == [bytes(64)] * 32 and machine.p == [bytes(8)] * 16 and machine.ffr == bytes(8)
    assert FPSR_AFTER_SM_CHANGE == 0x0800009F
    memory.run(machine, I("ldr_z", t=2, n=1, imm=1))
    again = machine.execute(I("smstart", t=1), memory.read_x, memory.write_x, memory.load, memory.store)
    assert not again.sm_changed and machine.z[2] == memory.at(64, 64)  # SM already 1: nothing reset
    memory.run(machine, I("smstop", t=1))
    assert not machine.sm and machine.z == [bytes(48)] * 32


def test_za_is_zero_when_enabled_and_discarded_when_disabled() -> None:
    memory, machine = Memory(), VectorMachine(16, 16)
    memory.x[1], memory.x[12] = BASE, 0
    with pytest.raises(ZaDisabled):
        memory.run(machine, I("ldr_za", t=12, n=1))
    memory.run(machine, I("smstart", t=2))
    assert machine.svcr == 2 and machine.snapshot()["za"] == bytes(256)
    memory.run(machine, I("ldr_za", t=12, n=1))
    assert machine.za[:16] == memory.at(0, 16)
    memory.run(machine, I("zero_za"))
    assert machine.za == bytes(256)
    memory.run(machine, I("ldr_za", t=12, n=1), I("smstop", t=2))
    assert "za" not in machine.snapshot()
    memory.run(machine, I("smstart", t=0))
    assert machine.za == bytes(256) and machine.svcr == 3


def test_ffr_is_illegal_in_streaming_mode_without_fa64() -> None:
    memory, machine = Memory(), VectorMachine(32, 32)
    memory.run(machine, I("ptrue", t=3, size="b"), I("smstart", t=1), I("ptrue", t=3, size="b"))
    before = machine.snapshot()
    for insn in (I("rdffr", t=1), I("wrffr", t=3), I("setffr")):
        with pytest.raises(IllegalInStreamingMode):
            memory.run(machine, insn)
    assert machine.snapshot() == before  # nothing changed
    legal = VectorMachine(32, 32, fa64=True)
    memory.run(legal, I("smstart", t=1), I("setffr"), I("rdffr", t=1))
    assert legal.p[1] == b"\xff" * 4
    assert issubclass(IllegalInStreamingMode, VectorTrap)


def test_sme_forms_without_sme_are_undefined() -> None:
    memory, machine = Memory(), VectorMachine(32)
    with pytest.raises(UndefinedInstruction):
        memory.run(machine, I("smstart", t=0))


def test_load_checks_every_size() -> None:
    machine = VectorMachine(32, 64)
    with pytest.raises(ValueError, match="z1: 16 bytes"):
        machine.load({"z1": bytes(16)})
    machine.set_streaming(True)
    machine.load({"z1": bytes(64), "p2": bytes(8), "za": bytes(64 * 64)})
    assert machine.svcr == 3
    with pytest.raises(ValueError):
        VectorMachine(40)
    with pytest.raises(ValueError):
        VectorMachine(48, 48)  # SVL is a power of two


# --- the same programs under qemu-aarch64 -cpu max -------------------------------------

BUFFER = 8192
DUMP = 31 * 8 + 32 * 256 + 17 * 32 + 256 * 256  # x0-x30, Z, P, FFR, ZA at the largest lengths


@dataclass
class Program:
    """Straight-line code of vtlgen's forms, written twice: GNU-as text and instructions.
    `setup`: register -> ("buf", offset) for an address in the buffer, or ("imm", value)."""

    name: str
    steps: list[tuple[str, I]]
    setup: dict[int, tuple[str, int]] = field(default_factory=dict)


def _transfers(vl: int, svl: int) -> Program:
    return Program(
        "transfers",
        [
            ("ldr z0, [x1]", I("ldr_z", t=0, n=1)),
            ("ldr z1, [x1, #-3, mul vl]", I("ldr_z", t=1, n=1, imm=-3)),
            ("ldr z31, [x1, #2, mul vl]", I("ldr_z", t=31, n=1, imm=2)),
            ("str z1, [x2, #1, mul vl]", I("str_z", t=1, n=2, imm=1)),
            ("str z31, [x2, #-1, mul vl]", I("str_z", t=31, n=2, imm=-1)),
            ("ldr p0, [x1, #5, mul vl]", I("ldr_p", t=0, n=1, imm=5)),
            ("ldr p15, [x1, #-7, mul vl]", I("ldr_p", t=15, n=1, imm=-7)),
            ("str p15, [x2, #-4, mul vl]", I("str_p", t=15, n=2, imm=-4)),
            ("str p0, [x3, #9, mul vl]", I("str_p", t=0, n=3, imm=9)),
            ("addvl x4, x1, #-5", I("addvl", t=4, n=1, imm=-5)),
            ("addpl x5, x1, #7", I("addpl", t=5, n=1, imm=7)),
            ("addvl x3, x3, #20", I("addvl", t=3, n=3, imm=20)),
            ("rdvl x6, #3", I("rdvl", t=6, imm=3)),
            ("rdvl x7, #-2", I("rdvl", t=7, imm=-2)),
            ("ptrue p3.h", I("ptrue", t=3, size="h")),
            ("ptrue p4.s", I("ptrue", t=4, size="s")),
            ("ptrue p5.d", I("ptrue", t=5, size="d")),
            ("ptrue p6.b", I("ptrue", t=6, size="b")),
            ("wrffr p6.b", I("wrffr", t=6)),
            ("rdffr p8.b", I("rdffr", t=8)),
            ("wrffr p7.b", I("wrffr", t=7)),
            ("rdffr p9.b", I("rdffr", t=9)),
            ("setffr", I("setffr")),
            ("rdffr p10.b", I("rdffr", t=10)),
            ("str z0, [x3]", I("str_z", t=0, n=3)),
        ],
        {1: ("buf", 4096), 2: ("buf", 6144), 3: ("buf", 64)},
    )


def _streaming(vl: int, svl: int) -> Program:
    return Program(
        "streaming",
        [
            ("ldr z0, [x1]", I("ldr_z", t=0, n=1)),
            ("ldr p2, [x1, #1, mul vl]", I("ldr_p", t=2, n=1, imm=1)),
            ("smstart sm", I("smstart", t=1)),
            ("ldr z2, [x1, #1, mul vl]", I("ldr_z", t=2, n=1, imm=1)),
            ("ldr p1, [x1, #3, mul vl]", I("ldr_p", t=1, n=1, imm=3)),
            ("str p1, [x2, #-1, mul vl]", I("str_p", t=1, n=2, imm=-1)),
            ("smstart za", I("smstart", t=2)),
            ("ldr za[w12, 5], [x1, #5, mul vl]", I("ldr_za", t=12, n=1, imm=5)),
            ("ldr za[w13, 0], [x2]", I("ldr_za", t=13, n=2)),
            ("ldr za[w14, 15], [x1, #15, mul vl]", I("ldr_za", t=14, n=1, imm=15)),
            ("str za[w12, 5], [x2, #5, mul vl]", I("str_za", t=12, n=2, imm=5)),
            ("str za[w15, 2], [x3, #2, mul vl]", I("str_za", t=15, n=3, imm=2)),
            ("rdvl x4, #1", I("rdvl", t=4, imm=1)),
            ("addvl x5, x1, #-1", I("addvl", t=5, n=1, imm=-1)),
            ("addpl x6, x1, #3", I("addpl", t=6, n=1, imm=3)),
            ("smstop sm", I("smstop", t=1)),
            ("ldr z3, [x1, #2, mul vl]", I("ldr_z", t=3, n=1, imm=2)),
        ],
        {1: ("buf", 3072), 2: ("buf", 5120), 3: ("buf", 64), 12: ("imm", svl - 3), 13: ("imm", 1), 14: ("imm", 0x7F)}
        | {15: ("imm", 2 * svl + 1)},
    )


def _za_lifetime(vl: int, svl: int) -> Program:
    return Program(
        "za-lifetime",
        [
            ("smstart", I("smstart", t=0)),
            ("ldr z4, [x1]", I("ldr_z", t=4, n=1)),
            ("ldr za[w12, 0], [x1]", I("ldr_za", t=12, n=1)),
            ("ldr za[w12, 1], [x1, #1, mul vl]", I("ldr_za", t=12, n=1, imm=1)),
            ("zero {za}", I("zero_za")),
            ("ldr za[w12, 3], [x1, #3, mul vl]", I("ldr_za", t=12, n=1, imm=3)),
            ("smstop za", I("smstop", t=2)),
            ("smstart za", I("smstart", t=2)),
            ("ldr za[w12, 2], [x1, #2, mul vl]", I("ldr_za", t=12, n=1, imm=2)),
            ("smstart sm", I("smstart", t=1)),  # already streaming: Z stays
            ("str z4, [x2]", I("str_z", t=4, n=2)),
        ],
        {1: ("buf", 1024), 2: ("buf", 4096), 12: ("imm", 7)},
    )


PROGRAMS: list[Callable[[int, int], Program]] = [_transfers, _streaming, _za_lifetime]
LENGTHS = [(16, 16), (48, 32), (64, 64), (256, 256), (48, 128)]  # (VL, SVL) in bytes


def _setup_lines(setup: dict[int, tuple[str, int]]) -> list[str]:
    lines = []
    for register, (kind, value) in setup.items():
        if kind == "buf":
            lines += [f"adr x{register}, buf", f"mov x16, #{value}", f"add x{register}, x{register}, x16"]
        else:
            lines.append(f"mov x{register}, #{value}")
    return lines


def _dump_lines(machine: VectorMachine) -> list[str]:
    """Store x0-x26, then Z, P, FFR (outside streaming mode) and ZA (when on) at x28."""
    lines = [f"stp x{n}, x{n + 1}, [x28, #{8 * n}]" for n in range(0, 26, 2)] + ["str x26, [x28, #208]"]
    lines.append(f"add x27, x28, #{31 * 8}")
    lines += [f"str z{n}, [x27, #{n}, mul vl]" for n in range(32)] + ["addvl x27, x27, #16", "addvl x27, x27, #16"]
    lines += [f"str p{n}, [x27, #{n}, mul vl]" for n in range(16)] + ["addpl x27, x27, #16"]
    if not machine.sm:
        lines += ["rdffr p0.b", "str p0, [x27]", "addpl x27, x27, #1"]
    if machine.za_enabled:
        lines += ["mov w12, #0", "1:", "str za[w12, 0], [x27]", f"add x27, x27, #{machine.svl}"]
        lines += ["add w12, w12, #1", f"cmp w12, #{machine.svl}", "b.ne 1b"]
    return lines


def _simulate(program: Program, vl: int, svl: int, base: int, buffer: bytes) -> tuple[VectorMachine, Memory]:
    memory = Memory(len(buffer), base=base)
    memory.data[:] = buffer
    for register, (kind, value) in program.setup.items():
        memory.x[register] = base + value if kind == "buf" else value
    machine = VectorMachine(vl, svl, fa64=True)  # -cpu max has FEAT_SME_FA64
    memory.run(machine, *(insn for _, insn in program.steps))
    return machine, memory


def _qemu(tmp_path: Path, text: str, cpu: str, buffer: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    (tmp_path / "buf.bin").write_bytes(buffer or bytes(BUFFER))
    (tmp_path / "t.s").write_text(text)
    subprocess.run(["aarch64-linux-gnu-as", "-march=armv9-a+sve+sme", "t.s", "-o", "t.o"], cwd=tmp_path, check=True)
    subprocess.run(["aarch64-linux-gnu-ld", "-static", "t.o", "-o", "t"], cwd=tmp_path, check=True)
    return subprocess.run(["qemu-aarch64", "-cpu", cpu, "./t"], cwd=tmp_path, capture_output=True, timeout=60)


def _source(body: list[str]) -> str:
    lines = [".text", ".global _start", "_start:", "adr x28, dump", *body]
    lines += ["mov x0, #1", "adr x1, dump", f"ldr x2, ={DUMP + BUFFER}", "mov x8, #64", "svc #0"]
    lines += ["mov x0, #0", "mov x8, #93", "svc #0", ".data", ".balign 16", f"dump: .fill {DUMP}, 1, 0", "buf:"]
    return "\n".join([*lines, '.incbin "buf.bin"', ""])


def _cpu(vl: int, svl: int, fa64: bool = True) -> str:
    return f"max,sve-default-vector-length={vl},sme-default-vector-length={svl}" + ("" if fa64 else ",sme_fa64=off")


def _need_qemu() -> None:
    require(tools={"qemu-aarch64": "qemu-user", "aarch64-linux-gnu-as": "binutils-aarch64-linux-gnu"})
    require(tools={"aarch64-linux-gnu-ld": "binutils-aarch64-linux-gnu"})


@pytest.mark.qemu
@pytest.mark.parametrize("make", PROGRAMS, ids=lambda make: make.__name__.strip("_"))
@pytest.mark.parametrize(("vl", "svl"), LENGTHS, ids=lambda n: str(n))
def test_final_state_agrees_with_qemu(tmp_path: Path, make: Callable[[int, int], Program], vl: int, svl: int) -> None:
    _need_qemu()
    program = make(vl, svl)
    buffer = random.Random(f"{program.name}-{vl}-{svl}").randbytes(BUFFER)
    final, _ = _simulate(program, vl, svl, BASE, buffer)  # the final mode decides the dump
    body = ["adr x9, buf", "str x9, [x28, #216]", *_setup_lines(program.setup)]  # x27 slot: the buffer's address
    body += [text for text, _ in program.steps] + _dump_lines(final)
    result = _qemu(tmp_path, _source(body), _cpu(vl, svl), buffer)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = result.stdout
    assert len(out) == DUMP + BUFFER
    base = int.from_bytes(out[216:224], "little")
    machine, memory = _simulate(program, vl, svl, base, buffer)
    for register, value in enumerate(memory.x[:27]):
        if register in program.setup or any(insn.t == register for _, insn in program.steps if "vl" in insn.form):
            assert int.from_bytes(out[8 * register : 8 * register + 8], "little") == value, f"x{register}"
    length, position = machine.length, 31 * 8
    for n in range(32):
        assert out[position + n * length : position + (n + 1) * length] == machine.z[n], f"z{n}"
    position += 32 * length
    plength = length // 8
    for n in range(16):
        assert out[position + n * plength : position + (n + 1) * plength] == machine.p[n], f"p{n}"
    position += 16 * plength
    if not machine.sm:
        assert out[position : position + plength] == machine.ffr, "ffr"
        position += plength
    if machine.za_enabled:
        for row in range(svl):
            chunk = out[position + row * svl : position + (row + 1) * svl]
            assert chunk == machine.za[row * svl : (row + 1) * svl], f"za row {row}"
    assert out[DUMP:] == bytes(memory.data), "memory"


@pytest.mark.qemu
@pytest.mark.parametrize(
    ("steps", "trap"),
    [
        (["smstart sm", "rdffr p0.b"], IllegalInStreamingMode),
        (["smstart sm", "setffr"], IllegalInStreamingMode),
        (["smstart sm", "wrffr p0.b"], IllegalInStreamingMode),
        (["mov w12, #0", "adr x1, buf", "ldr za[w12, 0], [x1]"], ZaDisabled),
        (["zero {za}"], ZaDisabled),
    ],
    ids=["rdffr", "setffr", "wrffr", "ldr-za", "zero-za"],
)
def test_traps_agree_with_qemu(tmp_path: Path, steps: list[str], trap: type[VectorTrap]) -> None:
    """What the machine refuses, qemu without FEAT_SME_FA64 refuses too: SIGILL."""
    _need_qemu()
    result = _qemu(tmp_path, _source(steps), _cpu(32, 32, fa64=False))
    assert result.returncode in (-4, 132), (result.returncode, result.stderr)  # SIGILL
    allowed = [s for s in steps if not s.startswith(("rdffr", "setffr", "wrffr", "ldr za", "zero"))]
    ok = _qemu(tmp_path, _source(allowed), _cpu(32, 32, fa64=False))
    assert ok.returncode == 0  # the steps before the refused one are fine
    machine, memory = VectorMachine(32, 32), Memory()
    memory.x[12], memory.x[1] = 0, BASE
    forms = {"smstart sm": I("smstart", t=1), "rdffr p0.b": I("rdffr"), "setffr": I("setffr"), "wrffr p0.b": I("wrffr")}
    forms |= {"ldr za[w12, 0], [x1]": I("ldr_za", t=12, n=1), "zero {za}": I("zero_za")}
    with pytest.raises(trap):
        memory.run(machine, *(forms[s] for s in steps if s in forms))


# --- in the unicorn backend ------------------------------------------------------------

UNICORN_LENGTHS = [16, 48, 64, 256]


def _plans() -> dict[str, Plan]:
    return {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}


PLANS = _plans()


def _hvc3() -> str:
    return render.standalone_asm(PLANS["hvc3"], "hyperv_vtl.yaml")


def _judged(plan: Plan, text: str, vl: int, seeds: range) -> list[str]:
    harness = Harness(plan, assemble(text), vector_length=vl)
    judge = TrialJudge(plan, StubSource(harness.assembly, "stub.S"), UnicornBackend.observes)
    return [v.describe() for seed in seeds for v in judge.trial(harness.run(seed))]


@pytest.mark.parametrize("vl", UNICORN_LENGTHS)
def test_the_generated_hvc3_stub_moves_all_sve_state(vl: int) -> None:
    harness = Harness(PLANS["hvc3"], assemble(_hvc3()), vector_length=vl)
    observation = harness.run(7)
    state, (trap,), end = observation.state, observation.traps, observation.end
    assert end.kind == "returned" and trap.kind == "conduit"
    svl = state.streaming_length
    sizes = {f"z{n}": vl for n in range(32)} | {f"p{n}": vl // 8 for n in range(16)} | {"ffr": vl // 8, "za": svl * svl}
    assert {name: len(value) for name, value in trap.vector.items()} == sizes
    assert {name: len(value) for name, value in end.vector.items()} == sizes
    assert trap.registers["svcr"] == end.registers["svcr"] == 2  # ZA live at entry, not streaming
    # At the trap every Z holds VTL0's value from the extended context, Q included.
    element = PLANS["hvc3"].context.vl_elements[0]
    z3 = state.region[GUARD + element.offset(vl, 3) :][:vl]
    assert trap.vector["z3"] == z3 and trap.registers["q3"] == int.from_bytes(z3[:16], "little")
    vector_accesses = [a for a in observation.accesses if harness.sve[a.offset >> 2] is not None]
    assert len(vector_accesses) == 2 * 49  # Z, P and FFR loaded and stored
    assert {a.size for a in vector_accesses} == {vl, vl // 8}
    assert _judged(PLANS["hvc3"], _hvc3(), vl, range(20)) == []


def test_a_missing_vector_store_is_caught() -> None:
    text = _hvc3()
    stores = re.findall(r"^\s*str\s+z5, \[x1[^\n]*$", text, flags=re.M)
    assert len(stores) == 1
    broken = text.replace(stores[0], "\tnop")
    found = _judged(PLANS["hvc3"], broken, 48, range(4))
    assert found and all("P4" in line and "z[5]" in line for line in found), found


SMCCC_FRAME = "stp x29, x30, [sp, #-16]!\nmov x29, sp\n"
SMCCC_TAIL = "mov x2, x0\nhvc #0\nldp x29, x30, [sp], #16\nret\n"


def test_sve_accesses_and_sp_moves_are_observed() -> None:
    text = SMCCC_FRAME + "addvl sp, sp, #-2\nstr z0, [sp, #1, mul vl]\nstr p1, [sp]\naddvl sp, sp, #2\n" + SMCCC_TAIL
    observation = Harness(PLANS["smccc"], assemble(text), vector_length=48).run(3)
    sp = observation.state.addresses.entry_sp - 16
    vector = [
        (a.offset, a.address, a.size, a.write, a.sp, a.sp_based) for a in observation.accesses if a.offset in (12, 16)
    ]
    assert vector == [(12, sp - 96 + 48, 48, True, sp - 96, True), (16, sp - 96, 6, True, sp - 96, True)]
    assert [s.registers["sp"] for s in observation.steps if s.offset in (8, 20)] == [sp - 96, sp]  # P6/P7 see SP move
    assert observation.trace[:6] == [0, 4, 8, 12, 16, 20]


def test_writes_to_v_zero_z_above_bit_127_in_the_backend() -> None:
    text = SMCCC_FRAME + "fmov d3, x1\nldr z5, [x0]\nmovi v6.16b, #0\n" + SMCCC_TAIL
    observation = Harness(PLANS["smccc"], assemble(text), vector_length=64).run(5)
    state, trap = observation.state, observation.traps[0]
    assert trap.vector["z3"] == state.entry["x1"].to_bytes(8, "little") + bytes(56)
    assert trap.vector["z6"] == bytes(64)
    assert trap.vector["z4"] == state.vector["z4"]  # not written: all of it kept
    context = state.region[GUARD : GUARD + 64]
    assert trap.vector["z5"] == context and trap.registers["q5"] == int.from_bytes(context[:16], "little")


def test_str_z_stores_the_q_unicorn_holds() -> None:
    text = SMCCC_FRAME + "mov x10, #0x5a5a\naddvl sp, sp, #-1\nfmov d3, x10\nstr z3, [sp]\nldr z9, [sp]\n"
    observation = Harness(PLANS["smccc"], assemble(text + "addvl sp, sp, #1\n" + SMCCC_TAIL), vector_length=48).run(1)
    assert observation.traps[0].vector["z9"] == (0x5A5A).to_bytes(8, "little") + bytes(40)


def test_streaming_rdffr_is_an_exception_observation() -> None:
    text = SMCCC_FRAME + "rdffr p0.b\n" + SMCCC_TAIL
    observation = Harness(PLANS["smccc"], assemble(text), vector_length=32, streaming=True).run(0)
    assert [(t.offset, t.kind) for t in observation.traps] == [(8, "exception")]
    assert observation.end.kind == "exception" and observation.end.offset == 8
    normal = Harness(PLANS["smccc"], assemble(text), vector_length=32).run(0)
    assert normal.end.kind == "returned" and normal.traps[0].vector["p0"] == normal.state.vector["ffr"]


def test_without_a_vector_length_an_sve_word_is_an_exception() -> None:
    observation = Harness(PLANS["smccc"], assemble(SMCCC_FRAME + "rdvl x9, #1\n" + SMCCC_TAIL)).run(0)
    assert observation.end.kind == "exception" and observation.traps[0].offset == 8


def test_a_vector_load_outside_memory_is_a_fault() -> None:
    text = SMCCC_FRAME + "mov x9, #0x1000\nldr z0, [x9]\n" + SMCCC_TAIL
    observation = Harness(PLANS["smccc"], assemble(text), vector_length=16).run(0)
    assert (observation.end.kind, observation.end.offset, observation.end.address) == ("fault", 12, 0x1000)


def test_smstart_in_the_backend_zeroes_q_and_sets_svcr() -> None:
    text = SMCCC_FRAME + "smstart sm\nrdvl x9, #1\nmov w12, #1\nldr za[w12, 0], [x0]\n" + SMCCC_TAIL
    observation = Harness(PLANS["smccc"], assemble(text), vector_length=48).run(2)
    state, trap = observation.state, observation.traps[0]
    svl = state.streaming_length
    assert trap.registers["svcr"] == 3  # ZA live at entry, now streaming
    assert all(trap.registers[f"q{n}"] == 0 for n in range(32))  # Z reset, unicorn's Q with it
    assert trap.vector["z7"] == bytes(svl) and trap.registers["x9"] == svl  # the streaming length
    za = trap.vector["za"]
    assert za[svl : 2 * svl] == state.region[GUARD : GUARD + svl]  # row 1 from the context
    assert za[:svl] == state.vector["za"][:svl] and za[2 * svl :] == state.vector["za"][2 * svl :]


class _MovesZa(TrialFactory):
    """The plan's trials, with a model move of ZA and of z2's bits above 127 at the trap."""

    def switch(self, state: InitialState) -> Switch:
        move = super().switch(state)
        za = bytes(range(256)) * (state.streaming_length**2 // 256)
        upper = b"\x5a" * (state.vector_length - 16)
        return replace(move, vector=(*move.vector, ("za", za), ("z2", upper)))


def test_the_model_moves_za_and_z_upper_bits_at_the_trap() -> None:
    factory = _MovesZa(PLANS["smccc"], 64)
    observation = Harness(PLANS["smccc"], assemble(SMCCC_FRAME + SMCCC_TAIL), factory=factory).run(4)
    end, svl = observation.end, observation.state.streaming_length
    assert end.kind == "returned" and end.registers["svcr"] == 2
    assert end.vector["za"] == bytes(range(256)) * (svl * svl // 256)
    assert end.vector["z2"][16:] == b"\x5a" * 48
    assert observation.traps[0].vector["za"] == observation.state.vector["za"]  # before the move


def test_an_error_inside_the_vector_hook_is_raised_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    harness = Harness(PLANS["smccc"], assemble(SMCCC_FRAME + "rdvl x9, #1\n" + SMCCC_TAIL), vector_length=16)

    def broken(*_: object) -> None:
        raise RuntimeError("bug in the machine")

    monkeypatch.setattr(harness, "_run_vector", broken)
    with pytest.raises(RuntimeError, match="bug in the machine"):
        harness.run(0)


@pytest.mark.parametrize("conv", ["hvc3", "smccc"])
def test_a_seed_makes_the_same_move_whether_trials_are_drawn_one_by_one_or_in_a_batch(conv: str) -> None:
    """Unicorn draws each trial's state and then its move; qemu-user draws a batch of states
    first. Both must get the same moves (found by the cross-check below: FFR differed)."""
    one, batch = TrialFactory(PLANS[conv], 48), TrialFactory(PLANS[conv], 48)
    interleaved = [one.switch(one.initial(seed, 0x40000)) for seed in range(6)]
    states = [batch.initial(seed, 0x40000) for seed in range(6)]
    assert [batch.switch(state) for state in states] == interleaved


# --- unicorn's model against qemu-user on the same trials ------------------------------

CROSS_STUBS = {
    "hvc3": None,  # the generated stub
    "smccc": SMCCC_FRAME
    + "fmov d3, x1\nmovi v6.16b, #0\nldr z5, [x0]\nptrue p2.s\nsetffr\nrdffr p9.b\nrdvl x9, #1\n"
    + "addvl sp, sp, #-1\nstr z4, [sp]\nldr z7, [sp]\naddvl sp, sp, #1\n"
    + SMCCC_TAIL,
}


@pytest.mark.qemu
@pytest.mark.parametrize("vl", UNICORN_LENGTHS)
@pytest.mark.parametrize("conv", list(CROSS_STUBS))
def test_unicorn_and_qemu_user_agree_on_vector_state(conv: str, vl: int) -> None:
    """The same trials on both backends: the SVE/SME state at the trap and after the
    return, and the context, are byte for byte the same."""
    require(tools=dict(QEMU_TOOLS))
    qemu = QemuUserBackend(vector_length=vl)
    if Observable.VECTOR not in qemu.observes:
        pytest.skip("this qemu-user backend has no SVE/SME mode (branch h/qemu-sve)")
    text = CROSS_STUBS[conv] or _hvc3()
    plan = PLANS[conv]
    code = StubCode(text, f"{conv}.S", assemble(text))
    seeds = range(11, 14)
    for ours, real in zip(
        UnicornBackend(vector_length=vl).observe(plan, code, seeds), qemu.observe(plan, code, seeds), strict=True
    ):
        assert ours.end.kind == real.end.kind == "returned", (ours.end, real.end)
        assert ours.traps[0].vector == real.traps[0].vector
        assert ours.end.vector == real.end.vector
        assert ours.end.region == real.end.region
