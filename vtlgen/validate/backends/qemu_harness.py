"""The qemu-user harness program: its records, its generated header, and its cached object.

The harness is plain C beside this module (qemu_harness.c, with the SVE/SME part in
qemu_harness_vector.c). What depends on the plan and the vector length reaches it through
one generated header, `qemu_harness.h`: constants (`#define`), the enums both sides share,
and the record structs with a static assertion on every field's offset
(`vtlgen.validate.backends.qemu_records`), so C and Python cannot disagree on a layout
without the compiler saying so.

The object compiled from it depends only on the compiler, the flags and the header, not on
the stub: it is built once and kept under the cache folder ($VTLGEN_CACHE, else
$XDG_CACHE_HOME/vtlgen, else ~/.cache/vtlgen), named by a hash of everything that shapes
its bytes: the sources and the generated header, the flags, the system headers as the
compiler reads them with every macro it predefines (`__VERSION__` among them), and the
identity of the compiler driver and assembler on disk. Each validation links the stub to it afresh. Every
compilation, link and run stays in the sandbox (vtlgen/guard/sandbox.py): the cache only
stores bytes and copies them into a scratch folder; nothing from it runs on the host. An
entry that does not match its own digest (cut short, damaged) is rebuilt, never used.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from vtlgen.guard import sandbox
from vtlgen.guard.quoting import one_line
from vtlgen.isa import encoding
from vtlgen.validate import trial
from vtlgen.validate.backends.base import BackendError
from vtlgen.validate.backends.qemu_records import I64, U8, U32, U64, Field, Record, enum
from vtlgen.validate.backends.qemu_vector import SVCR_BITS, VECTOR_ENTRY, VECTOR_FLAGS, VECTOR_KINDS, VectorShape

SOURCES = ("qemu_harness.c", "qemu_harness_vector.c")
HEADER = "qemu_harness.h"
OBJECT = "qemu_harness.o"
COMPILER = "aarch64-linux-gnu-gcc"
ASSEMBLER = "aarch64-linux-gnu-as"  # what the compiler runs on its output
COMPILE_FLAGS = ("-std=gnu11", "-O1", "-Wall")
TOOL_SECONDS = 120.0  # assembling, compiling, linking

MAX_SWITCH = 128
ALTSTACK = 1 << 16  # the signal handler's stack, before room for vector records
TRIAL_MICROSECONDS = 250_000  # a correct stub takes microseconds even under qemu
# The conduits with any immediate: `word & CONDUIT_MASK` is hvc #0 or smc #0 (vtlgen.isa.encoding).
CONDUIT_WORDS = {f"CONDUIT_{kind.upper()}": encoding.exception_word(kind, 0) for kind in encoding.CONDUITS}
MOVE_KINDS = {"KIND_X": 0, "KIND_Q": 1, "KIND_NZCV": 2}  # switch_entry.kind
# trial_out.status; ALIGNMENT (an SP alignment fault) and LANDING (a BTI fault) only at EL1 (qemu_system.py)
STATUSES = {"DONE": 0, "FAULT": 1, "TIMEOUT": 2, "EXCEPTION": 3, "ALIGNMENT": 4, "LANDING": 5}

CACHE_ENVIRONMENT = "VTLGEN_CACHE"
CACHE_FORMAT = b"vtlgen qemu harness object 1\n"  # the start of every cache entry
MAX_OBJECT = 64 << 20  # bytes: far above the harness object's size; a bigger entry is damaged

CPU = Record("cpu", [Field("x", U64, (31,)), Field("sp", U64), Field("q", U64, (32, 2))])
SWITCH_ENTRY = Record("switch_entry", [Field("kind", U32), Field("index", U32), Field("lo", U64), Field("hi", U64)])
MEMORY_ENTRY = Record("memory_entry", [Field("offset", U32), Field("size", U32), Field("bytes", U8, (16,))])


class HarnessError(BackendError):
    """The harness could not be built or did not run."""


def run_tool(argv: list[str], folder: Path, *, writable: bool, timeout: float, input: bytes | None = None) -> bytes:
    """Every subprocess of this backend: contained (sandbox.run_contained: it sees only /usr
    and `folder`), with a time limit; returns its stdout."""
    stdin = None
    if input is not None:
        stdin = folder / "trials.in"
        stdin.write_bytes(input)
    result = sandbox.run_contained(argv, scratch=folder, writable=writable, seconds=timeout, stdin=stdin)
    if result.timed_out:
        raise HarnessError(f"{' '.join(argv[:2])} did not finish within {timeout:.0f} s")
    if result.returncode != 0:
        # Its stderr may be a stub's own writes: one printable line, bounded.
        shown = one_line(result.stderr.decode(errors="replace").strip(), limit=500)
        raise HarnessError(f"{' '.join(argv[:2])} failed: {shown}")
    return result.stdout


@dataclass(frozen=True)
class HarnessShape:
    """The harness's records for one context region and vector shape."""

    region: int
    vector: VectorShape | None

    @property
    def max_memory(self) -> int:
        """Memory move entries a record holds: 16-byte pieces of VL-scaled slots, with a vector length."""
        return MAX_SWITCH if self.vector is None else MAX_SWITCH + self.region // 16

    @cached_property
    def trial_in(self) -> Record:
        return Record("trial_in", [
            Field("x", U64, (30,)), Field("q", U64, (32, 2)),
            *(Field(name, U64) for name in ("context", "entry_sp", "caller_record", "grand_record")),
            Field("region", U8, (self.region,)), Field("scribble", U8, (trial.SCRIBBLE,)),
            Field("n_switch", U32), Field("n_memory", U32),
            Field("sw", SWITCH_ENTRY, (MAX_SWITCH,)), Field("mem", MEMORY_ENTRY, (self.max_memory,)),
            *(self.vector.input_fields() if self.vector else ()),
        ])  # fmt: skip

    @cached_property
    def trial_out(self) -> Record:
        return Record("trial_out", [
            Field("status", U32), Field("traps", U32), Field("fault_pc", U64), Field("fault_address", U64),
            Field("fault_word", U32), Field("window_changed", U32), Field("window_offset", I64),
            Field("trap_pc", U64), Field("second_pc", U64), Field("trap_word", U32), Field("second_word", U32),
            Field("trap_record_valid", U32), Field("after_record_valid", U32),
            Field("trap_cpu", CPU), Field("trap_record", U8, (16,)), Field("trap_region", U8, (self.region,)),
            Field("after", CPU), Field("after_record", U8, (16,)), Field("region", U8, (self.region,)),
            *(self.vector.output_fields() if self.vector else ()),
        ])  # fmt: skip

    def records(self) -> tuple[Record, ...]:
        """Every struct of the header, each after the structs it holds."""
        entries = (SWITCH_ENTRY, MEMORY_ENTRY, *((VECTOR_ENTRY,) if self.vector else ()))
        return (CPU, *entries, self.trial_in, self.trial_out)

    def defines(self) -> dict[str, str]:
        hexadecimal = {
            "CONTEXT_WINDOW": trial.CONTEXT_WINDOW,
            "STACK_WINDOW": trial.STACK_WINDOW,
            "WINDOW_SIZE": trial.WINDOW_SIZE,
            "STACK_SCRUB": trial.STACK_SCRUB,
            "CALLER_LR": trial.CALLER_LR,
            "GRAND_LR": trial.GRAND_LR,
        }
        sizes = {
            "REGION": self.region,
            "GUARD": trial.GUARD,
            "SCRIBBLE": trial.SCRIBBLE,
            "MAX_SWITCH": MAX_SWITCH,
            "MAX_MEMORY": self.max_memory,
            # The signal frame goes on this stack: with SVE and ZA it holds the vector state too.
            "ALTSTACK": ALTSTACK + (self.vector.frame if self.vector else 0),
            "TRIAL_MICROSECONDS": TRIAL_MICROSECONDS,
            **(self.vector.defines() if self.vector else {}),
        }
        words = {"CONDUIT_MASK": encoding.EXCEPTION_MASK, **CONDUIT_WORDS}
        return {
            "HARNESS_VECTOR": "1" if self.vector else "0",
            **{name: f"0x{value:x}UL" for name, value in hexadecimal.items()},
            **{name: str(value) for name, value in sizes.items()},
            **{name: f"0x{value:X}U" for name, value in words.items()},
        }

    def header(self) -> str:
        """qemu_harness.h for this shape."""
        parts = [
            "/* Generated by vtlgen (vtlgen/validate/backends/qemu_harness.py) for one plan and vector\n"
            " * shape; do not edit. The record layouts are vtlgen's, checked here field by field. */\n"
            "#ifndef VTLGEN_QEMU_HARNESS_H\n#define VTLGEN_QEMU_HARNESS_H\n#include <stddef.h>\n#include <stdint.h>\n",
            "".join(f"#define {name} {value}\n" for name, value in self.defines().items()),
            enum(MOVE_KINDS),
            enum(STATUSES),
        ]
        if self.vector:
            parts += [enum(VECTOR_FLAGS), enum(SVCR_BITS), enum(VECTOR_KINDS)]
        for record in self.records():
            parts += [record.declaration(), record.checks()]
        parts.append("#endif\n")
        return "\n".join(parts)


def source(name: str) -> str:
    """One of the harness's C files, as shipped beside this module."""
    return resources.files("vtlgen.validate.backends").joinpath(name).read_text(encoding="utf-8")


def prepare(folder: Path, shape: HarnessShape) -> None:
    """Write the C sources and the generated header into the scratch folder the compiler sees."""
    for name in SOURCES:
        (folder / name).write_text(source(name))
    (folder / HEADER).write_text(shape.header())


def cache_root() -> Path:
    """vtlgen's cache folder: $VTLGEN_CACHE, else the XDG base directory's (XDG Base
    Directory Specification: $XDG_CACHE_HOME, default ~/.cache)."""
    if os.environ.get(CACHE_ENVIRONMENT):
        return Path(os.environ[CACHE_ENVIRONMENT])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vtlgen"


def _cache_folder() -> Path | None:
    """Where harness objects are kept, or None when it is not ours alone: a folder another
    user could write to could hand us an object we did not build (an entry's digest shows
    damage, not intent)."""
    folder = cache_root() / "qemu-harness"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
        return None
    return folder


def _identity(tool: str) -> bytes:
    """Which program `tool` is on disk: its resolved path, size and modification time."""
    found = shutil.which(tool)
    if found is None:
        return f"{tool}: missing".encode()
    path = Path(found).resolve()
    info = path.stat()
    return f"{path} {info.st_size} {info.st_mtime_ns}".encode()


@functools.cache
def toolchain_fingerprint() -> bytes:
    """What the compiler adds to the harness sources: every system header they include, as
    the preprocessor reads it, and every macro it predefines (`__VERSION__` among them).
    The same for every shape, so computed once per process, in the sandbox."""
    includes = {line for name in SOURCES for line in source(name).splitlines() if line.startswith("#include <")}
    with tempfile.TemporaryDirectory(prefix="vtlgen-toolchain-") as folder:
        (Path(folder) / "probe.c").write_text("".join(f"{line}\n" for line in sorted(includes)))
        return run_tool([COMPILER, *COMPILE_FLAGS, "-E", "-dD", "-P", "probe.c"], Path(folder), writable=False,
                        timeout=TOOL_SECONDS)  # fmt: skip


def cache_key(shape: HarnessShape) -> str:
    """The hash of everything that shapes the object's bytes."""
    digest = hashlib.sha256(CACHE_FORMAT)
    parts = (" ".join(COMPILE_FLAGS).encode(), _identity(COMPILER), _identity(ASSEMBLER), toolchain_fingerprint(),
             *(source(name).encode() for name in SOURCES), shape.header().encode())  # fmt: skip
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()


def _read_entry(path: Path) -> bytes | None:
    """The object in a cache entry, or None when there is none or it is damaged."""
    try:
        with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NOFOLLOW)) as handle:
            data = handle.read(len(CACHE_FORMAT) + 32 + MAX_OBJECT + 1)
    except OSError:
        return None
    start = len(CACHE_FORMAT)
    head, digest, body = data[:start], data[start : start + 32], data[start + 32 :]
    if head != CACHE_FORMAT or len(body) > MAX_OBJECT or hashlib.sha256(body).digest() != digest:
        return None
    return body


def _write_entry(path: Path, body: bytes) -> None:
    """Atomically: a reader sees the old entry, no entry, or the whole new one. A cache
    that cannot be written (a full disk) only costs the next validation a compilation."""
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".entry-")
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(CACHE_FORMAT + hashlib.sha256(body).digest() + body)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)


def compile_object(folder: Path) -> None:
    """Compile the prepared sources to `folder/OBJECT`, in the sandbox."""
    run_tool([COMPILER, *COMPILE_FLAGS, "-c", "-o", OBJECT, SOURCES[0]], folder, writable=True, timeout=TOOL_SECONDS)


def harness_object(folder: Path, shape: HarnessShape) -> bool:
    """Put the harness object for `shape` at `folder/OBJECT`: from the cache when it holds
    it, else compiled and then kept. Returns whether it came from the cache."""
    prepare(folder, shape)
    cache = _cache_folder()
    if cache is None:
        compile_object(folder)
        return False
    entry = cache / f"{cache_key(shape)}.o"
    body = _read_entry(entry)
    if body is not None:
        (folder / OBJECT).write_bytes(body)
        return True
    compile_object(folder)
    _write_entry(entry, (folder / OBJECT).read_bytes())
    return False
