"""Class 3: a stub run natively under qemu-user must not reach the host.

qemu-user passes a guest's system calls to this kernel, and refuses in-guest seccomp, so
vtlgen runs every program of that backend in a bubblewrap sandbox. These tests attack the
sandbox directly, and through a stub that makes system calls of its own.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from tests.conftest import SPEC, require_tool
from tests.security.conftest import SECRET, assert_no_secret, invoke
from vtlgen import sandbox
from vtlgen.backends import qemu_user
from vtlgen.loader import load
from vtlgen.lowering import lower


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    require_tool("bwrap", sandbox.BWRAP_PACKAGE)
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


def contained(scratch: Path, *argv: str, writable: bool = False) -> sandbox.Completed:
    return sandbox.run_contained(list(argv), scratch=scratch, writable=writable, seconds=30)


def test_the_sandbox_sees_no_host_file_and_no_environment(
    scratch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VTLGEN_TEST_TOKEN", SECRET)
    host_file = tmp_path / "host.txt"
    host_file.write_text(SECRET)
    for argv in (["cat", "/etc/passwd"], ["cat", str(host_file)], ["ls", "/root"], ["ls", "/work"]):
        result = contained(scratch, *argv)
        assert result.returncode != 0, argv
        assert_no_secret(result.stdout.decode(errors="replace"))
    environment = contained(scratch, "cat", "/proc/self/environ").stdout.decode()
    assert SECRET not in environment and "VTLGEN_TEST_TOKEN" not in environment
    names = {item.split("=", 1)[0] for item in environment.strip("\0").split("\0")}
    assert names <= {"PATH", "LC_ALL", "PWD"}  # bwrap sets PWD to the scratch folder


def test_the_sandbox_cannot_write_the_host(scratch: Path, tmp_path: Path) -> None:
    name = f"pwned-{uuid.uuid4().hex}"
    read_only = [scratch / name, Path("/usr") / name]
    for target in read_only:
        assert contained(scratch, "touch", str(target)).returncode != 0, target
    # /tmp inside is a private tmpfs: writing there succeeds, and nothing reaches the host's.
    hidden = [tmp_path / name, Path("/tmp") / name]
    for target in hidden:
        contained(scratch, "touch", str(target))
    assert not any(target.exists() for target in read_only + hidden)


def test_the_sandbox_has_no_network(scratch: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('connected')"
        result = contained(scratch, "python3", "-c", probe)
    assert result.returncode != 0 and b"connected" not in result.stdout


def test_a_program_past_its_deadline_is_killed_with_its_children(scratch: Path) -> None:
    result = sandbox.run_contained(["sh", "-c", "sleep 100 & sleep 100"], scratch=scratch, writable=False, seconds=1)
    assert result.timed_out


def _openat_stub(path: str) -> str:
    """A stub that builds `path` on its stack and creates it with openat(AT_FDCWD, path, O_CREAT|O_WRONLY)."""
    data = path.encode() + b"\0"
    data += b"\0" * (-len(data) % 8)
    frame = (len(data) + 15) // 16 * 16
    lines = [f"\tsub sp, sp, #{frame}"]
    for offset in range(0, len(data), 8):
        word = int.from_bytes(data[offset : offset + 8], "little")
        lines.append(f"\tmovz x1, #{word & 0xFFFF}")
        lines += [f"\tmovk x1, #{(word >> s) & 0xFFFF}, lsl #{s}" for s in (16, 32, 48)]
        lines.append(f"\tstr x1, [sp, #{offset}]")
    lines += ["\tmovn x0, #99", "\tmov x1, sp", "\tmov x2, #0x41", "\tmov x3, #0x1a4", "\tmov x8, #56", "\tsvc #0"]
    lines += [f"\tadd sp, sp, #{frame}", "\tret"]
    return "\n".join(lines) + "\n"


def test_a_stub_that_makes_system_calls_leaves_no_trace_on_the_host(checkout: Path) -> None:
    for tool, package in (("qemu-aarch64", "qemu-user"), ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
                          ("bwrap", sandbox.BWRAP_PACKAGE)):  # fmt: skip
        require_tool(tool, package)
    targets = [checkout / "pwned", Path("/tmp") / f"vtlgen-pwned-{uuid.uuid4().hex}"]
    for target in targets:
        stub = checkout / "syscall.S"
        stub.write_text(_openat_stub(str(target)))
        result = invoke("validate", "--convention", "smccc", "--stub", str(stub), "--backend", "qemu-user",
                        "--trials", "2")  # fmt: skip
        assert result.exit_code == 1, result.output  # a verdict (it never traps), not a crash
        assert "P9" in result.output
        assert not target.exists()
        assert_no_secret(result.output)


@pytest.mark.parametrize(
    "stub",
    ["\tbl system\n\tret\n", "\tadrp x1, vtlgen_after\n\tret\n", "\tb vtlgen_return_point\n"],
    ids=["libc", "the harness's records", "the harness's code"],
)
def test_a_stub_that_borrows_the_harness_symbols_is_refused(stub: str, checkout: Path) -> None:
    for tool, package in (("qemu-aarch64", "qemu-user"), ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
                          ("bwrap", sandbox.BWRAP_PACKAGE)):  # fmt: skip
        require_tool(tool, package)
    (checkout / "borrow.S").write_text(stub)
    result = invoke("validate", "--convention", "smccc", "--stub", "borrow.S", "--backend", "qemu-user",
                    "--trials", "1")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.output.startswith("borrow.S:1:1: ")  # keystone refuses the unknown symbol first


def test_gnu_as_output_with_an_undefined_symbol_is_never_linked(tmp_path: Path) -> None:
    """The second wall: should a symbol pass vetting, the harness is not linked against it."""
    for tool, package in qemu_user.TOOLS.items():
        require_tool(tool, package)
    plan = next(p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml") if p.convention_id == "smccc")
    with pytest.raises(qemu_user.HarnessError, match="does not define: system"):
        qemu_user.build(plan, "bl system\nret\n", tmp_path)
    assert not (tmp_path / "harness").exists()
