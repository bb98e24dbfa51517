"""The qemu harness object is compiled once per compiler, flags and generated header, and kept
in the cache: a second validation compiles nothing, and a damaged entry is rebuilt, not used."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import ROOT, SPEC, require_tool
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.validate.backends import qemu_harness
from vtlgen.validate.backends.qemu_user import TOOLS, shape_for
from vtlgen.validate.backends.qemu_vector import VectorShape
from vtlgen.validate.run import validate

PLANS = {p.convention_id: p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml")}
STUB = ROOT / "generated/hyperv_vtl/smccc/hyperv_vtl_smccc.S"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(qemu_harness.CACHE_ENVIRONMENT, str(tmp_path / "cache"))
    return tmp_path / "cache" / "qemu-harness"


@pytest.fixture
def compilations(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every compiler run that makes an object (`-c`), as the backend starts it."""
    started: list[list[str]] = []
    run_tool = qemu_harness.run_tool

    def counting(argv: list[str], folder: Path, *, writable: bool, timeout: float, input: bytes | None = None) -> bytes:
        if "-c" in argv:
            started.append(argv)
        return run_tool(argv, folder, writable=writable, timeout=timeout, input=input)

    monkeypatch.setattr(qemu_harness, "run_tool", counting)
    return started


def _tools() -> None:
    for tool, package in TOOLS.items():
        require_tool(tool, package)


def _validate(vector_lengths: tuple[int, ...] = (48,)) -> None:
    report = validate(PLANS["smccc"], STUB.read_text(), STUB.name, trials=4, backend="qemu-user",
                      vector_lengths=vector_lengths)  # fmt: skip
    assert report.ok, [v.describe() for v in report.violations]


@pytest.mark.qemu
def test_a_second_validation_with_the_same_flags_compiles_nothing(cache: Path, compilations: list[list[str]]) -> None:
    _tools()
    _validate()
    first = len(compilations)
    assert first >= 1 and all(argv[0] == qemu_harness.COMPILER for argv in compilations)
    assert len(list(cache.glob("*.o"))) == first  # one entry per header: scalar or at a vector length
    _validate()
    assert len(compilations) == first, "the second validation compiled the harness again"
    _validate(vector_lengths=(64,))  # another vector length: another header, one more object
    assert len(compilations) == first + 1
    assert not list(cache.glob(".entry-*")), "a temporary file of an atomic write was left behind"


@pytest.mark.qemu
@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty"])
def test_a_damaged_entry_is_rebuilt_not_used(cache: Path, compilations: list[list[str]], damage: str) -> None:
    _tools()
    _validate(vector_lengths=(16,))
    entries = sorted(cache.glob("*.o"))
    assert entries
    for entry in entries:
        data = entry.read_bytes()
        if damage == "truncated":
            entry.write_bytes(data[: len(data) // 2])
        elif damage == "flipped":
            entry.write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
        else:
            entry.write_bytes(b"")
    before = len(compilations)
    _validate(vector_lengths=(16,))
    assert len(compilations) == before + len(entries)
    assert all(qemu_harness._read_entry(entry) is not None for entry in entries)  # whole again


@pytest.mark.qemu
def test_a_cache_folder_others_may_write_is_not_used(cache: Path, compilations: list[list[str]]) -> None:
    _tools()
    cache.mkdir(parents=True)
    cache.chmod(0o777)
    _validate(vector_lengths=(16,))
    first = len(compilations)
    _validate(vector_lengths=(16,))
    assert first >= 1 and len(compilations) == 2 * first  # nothing kept, nothing read
    assert not list(cache.iterdir())


def test_the_key_covers_the_header_the_flags_and_the_toolchain(monkeypatch: pytest.MonkeyPatch) -> None:
    _tools()
    scalar, vector = shape_for(PLANS["smccc"]), shape_for(PLANS["smccc"], VectorShape(48, 64))
    wider = qemu_harness.HarnessShape(scalar.region + 16, None)
    assert len({qemu_harness.cache_key(shape) for shape in (scalar, vector, wider)}) == 3
    # What the object depends on, not which plan asked: conventions with one region share it.
    assert scalar.region == shape_for(PLANS["hvc3"]).region
    assert qemu_harness.cache_key(scalar) == qemu_harness.cache_key(shape_for(PLANS["hvc3"]))
    key = qemu_harness.cache_key(scalar)
    monkeypatch.setattr(qemu_harness, "COMPILE_FLAGS", (*qemu_harness.COMPILE_FLAGS, "-DEXTRA"))
    assert qemu_harness.cache_key(scalar) != key
    monkeypatch.undo()
    monkeypatch.setattr(qemu_harness, "toolchain_fingerprint", lambda: b"another libc")
    assert qemu_harness.cache_key(scalar) != key
    monkeypatch.undo()
    monkeypatch.setattr(qemu_harness, "_identity", lambda tool: f"{tool} rebuilt".encode())
    assert qemu_harness.cache_key(scalar) != key


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VTLGEN_CACHE", str(tmp_path / "mine"))
    assert qemu_harness.cache_root() == tmp_path / "mine"
    monkeypatch.delenv("VTLGEN_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert qemu_harness.cache_root() == tmp_path / "xdg" / "vtlgen"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert qemu_harness.cache_root() == tmp_path / "home" / ".cache" / "vtlgen"
