"""Class 3: a stub run natively under qemu-user must not reach the host.

qemu-user passes a guest's system calls to this kernel, and refuses in-guest seccomp, so
vtlgen runs every program of that backend in a bubblewrap sandbox. These tests attack the
sandbox directly, and through a stub that makes system calls of its own.
"""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import SPEC, invoke, require_tool
from tests.support.host_secret import SECRET, assert_no_secret
from vtlgen.guard import sandbox
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.validate.backends import qemu_user


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A scratch folder the sandbox can enter (pytest's tmp_path is private to root), checked to
    work, so that no test below passes because the sandbox failed to start."""
    require_tool("bwrap", sandbox.BWRAP_PACKAGE)
    with tempfile.TemporaryDirectory(prefix="vtlgen-test-") as name:
        folder = Path(name)
        started = sandbox.run_contained(["true"], scratch=folder, writable=False, seconds=30)
        assert started.returncode == 0, started.stderr
        yield folder


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
    environment = contained(scratch, "env").stdout.decode()
    assert SECRET not in environment and "VTLGEN_TEST_TOKEN" not in environment
    names = {line.split("=", 1)[0] for line in environment.splitlines()}
    assert names <= {"PATH", "LC_ALL", "PWD"}  # bwrap sets PWD to the scratch folder


@pytest.mark.parametrize(
    "path", ["/proc/sys/kernel/core_pattern", "/proc/cmdline", "/proc/self/mountinfo", "/sys/kernel", "/etc/passwd"]
)
def test_the_sandbox_has_no_host_proc_sys_or_etc(scratch: Path, path: str) -> None:
    """/proc/sys/kernel/core_pattern, writable by root, would run a command on the next core dump."""
    assert contained(scratch, "ls", path).returncode != 0
    assert contained(scratch, "sh", "-c", f"echo x > {path}").returncode != 0


def test_the_sandbox_runs_unprivileged(scratch: Path) -> None:
    identity = contained(scratch, "id", "-u").stdout.decode().strip()
    assert os.geteuid() != 0 or identity == str(sandbox.NOBODY)
    # No process can raise a capability: the bounding set is empty.
    status = contained(scratch, "sh", "-c", "grep CapBnd /proc/self/status || echo none").stdout.decode()
    assert "0000000000000000" in status or "none" in status


def test_the_sandbox_bounds_processes_and_memory(scratch: Path) -> None:
    many = contained(scratch, "sh", "-c", f"for i in $(seq {2 * sandbox.CONTAINED_PROCESSES}); do sleep 5 & done; wait")
    assert (many.returncode != 0 and b"fork" in many.stderr.lower() + many.stdout.lower()) or many.returncode != 0
    hog = contained(scratch, "python3", "-c", f"b = bytearray({sandbox.CONTAINED_MEMORY + (1 << 30)})")
    assert hog.returncode != 0 and b"MemoryError" in hog.stderr


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


@pytest.mark.qemu
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


@pytest.mark.qemu
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


@pytest.mark.qemu
def test_gnu_as_output_with_an_undefined_symbol_is_never_linked(scratch: Path) -> None:
    """The second wall: should a symbol pass vetting, the harness is not linked against it."""
    for tool, package in qemu_user.TOOLS.items():
        require_tool(tool, package)
    plan = next(p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml") if p.convention_id == "smccc")
    with pytest.raises(qemu_user.HarnessError, match="does not define: system"):
        qemu_user.build(plan, "bl system\nret\n", scratch)
    assert (scratch / "stub.o").exists() and not (scratch / "harness").exists()
