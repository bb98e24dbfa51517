"""Containment for work on a stranger's input: time, memory and the host's files.

Two ways in, one policy:
- `call_limited` runs a Python function in a forked child with a CPU-time and an
  address-space limit and a wall-clock deadline. Keystone runs this way: it is C code
  inside our process, can loop forever on some input, and cannot be interrupted from
  Python.
- `run_contained` runs a program (GNU as, gcc, qemu-aarch64) inside bubblewrap: new user,
  PID, network, IPC and UTS namespaces; no capabilities; a read-only view of /usr and
  nothing else of the host (no /proc, no /sys, no /etc); an empty environment; a small
  private /tmp; limits on CPU time, address space, file size and process count; and a
  deadline. When vtlgen runs as root, the program runs as `nobody` (65534): inside a
  user namespace root keeps root's rights over host files such as
  /proc/sys/kernel/core_pattern, and the kernel exempts root from the process limit.
  A stub run under qemu-user executes natively, and its system calls reach this kernel:
  qemu-user refuses in-guest seccomp, so the namespace is the wall. The program's output
  goes to files in the scratch folder, capped by the file-size limit, so a chatty
  program cannot fill memory either.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

BWRAP_PACKAGE = "bubblewrap"
DEFAULT_MEMORY = 1 << 30  # bytes of address space a limited call may add
OUTPUT_LIMIT = 256 << 20  # bytes any contained program may write to one file
CONTAINED_MEMORY = 4 << 30  # address space of one contained process (gcc and qemu-user need far less)
CONTAINED_PROCESSES = 64  # gcc runs a handful; a stub needs none
PRIVATE_TMP = 64 << 20  # bytes of the sandbox's own /tmp
NOBODY = 65534  # the unprivileged uid and gid a root caller's programs run as


class LimitExceeded(RuntimeError):
    """The work ran past its time or memory limit, or died; the message says which."""


class SandboxUnavailable(RuntimeError):
    def __init__(self, reason: str):
        super().__init__(reason)


def _address_space() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        pages = int(handle.read().split()[0])
    return pages * resource.getpagesize()


def call_limited(function: Callable[..., T], *args: object, seconds: float, memory: int = DEFAULT_MEMORY) -> T:
    """`function(*args)` in a forked child, within `seconds` of wall and CPU time and `memory` bytes more.

    The result travels back pickled; an exception in the child comes back as LimitExceeded
    with its text, so `function` should return its errors as values.
    """
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's lines are not seen by coverage
        os.close(reader)
        status = 0
        try:
            limit = _address_space() + memory
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            cpu = int(seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
            payload = pickle.dumps(("ok", function(*args)))
        except BaseException as error:  # everything must reach the parent, as text
            payload = pickle.dumps(("error", f"{type(error).__name__}: {error}"))
            status = 1
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
        os._exit(status)
    os.close(writer)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LimitExceeded(f"did not finish within {seconds:g} s")
            ready, _, _ = select.select([reader], [], [], remaining)
            if ready:
                chunk = os.read(reader, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(reader)
        _reap(pid)
    if not chunks:
        raise LimitExceeded("died without an answer (memory or CPU limit)")
    kind, value = pickle.loads(b"".join(chunks))  # our own child's bytes, never a stranger's
    if kind != "ok":
        raise LimitExceeded(str(value))
    return value  # type: ignore[no-any-return]


def _reap(pid: int) -> None:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool


def bwrap() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(f"bwrap not found; install the Debian package {BWRAP_PACKAGE}")
    return path


def _host_view() -> list[str]:
    """/usr read-only, and the merged-/usr links (/bin, /lib, ...) as the host has them."""
    arguments = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            arguments += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            arguments += ["--ro-bind", str(path), f"/{name}"]
    return arguments


def _limits(cpu_seconds: int) -> Callable[[], None]:
    def apply() -> None:  # pragma: no cover - runs in the child before exec
        for limit, value in (
            (resource.RLIMIT_CPU, cpu_seconds),
            (resource.RLIMIT_FSIZE, OUTPUT_LIMIT),
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_AS, CONTAINED_MEMORY),
            (resource.RLIMIT_NPROC, CONTAINED_PROCESSES),
        ):
            resource.setrlimit(limit, (value, value))
        os.setsid()  # its own process group, so a deadline kills every process it made
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

    return apply


def _hand_over(scratch: Path) -> None:
    """As root, give the scratch folder to `nobody`, who runs the contained programs."""
    if os.geteuid() != 0:
        return
    for top, dirs, names in os.walk(scratch):
        for name in [*dirs, *names]:
            os.lchown(Path(top) / name, NOBODY, NOBODY)
    os.chown(scratch, NOBODY, NOBODY)


def run_contained(
    argv: Sequence[str],
    *,
    scratch: Path,
    writable: bool,
    seconds: float,
    stdin: Path | None = None,
) -> Completed:
    """Run `argv` in a bubblewrap sandbox that sees only /usr and `scratch` (read-only unless `writable`).

    Paths in `argv` must lie in `scratch` or /usr. Standard input comes from the file
    `stdin`; standard output and error go to files in `scratch`, capped at OUTPUT_LIMIT.
    """
    scratch = scratch.resolve()
    command = [
        bwrap(),
        "--unshare-all",  # no network, a new PID/IPC/UTS/user namespace
        "--cap-drop", "ALL",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin",
        "--setenv", "LC_ALL", "C",
        *_host_view(),
        "--dev", "/dev",
        "--size", str(PRIVATE_TMP), "--tmpfs", "/tmp",
        "--bind" if writable else "--ro-bind", str(scratch), str(scratch),
        "--chdir", str(scratch),
        "--",
        *argv,
    ]  # fmt: skip
    _hand_over(scratch)
    out_path, err_path = scratch / ".vtlgen-stdout", scratch / ".vtlgen-stderr"
    timed_out = False
    with (
        open(out_path, "wb") as out,
        open(err_path, "wb") as err,
        open(stdin if stdin else os.devnull, "rb") as source,
    ):
        process = subprocess.Popen(
            command, stdin=source, stdout=out, stderr=err, preexec_fn=_limits(int(seconds) + 1), close_fds=True
        )
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stdout, stderr = out_path.read_bytes(), err_path.read_bytes()
    out_path.unlink()
    err_path.unlink()
    return Completed(process.returncode, stdout, stderr, timed_out)
