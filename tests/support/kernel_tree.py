"""A real arm64 kernel tree for tests: Debian's linux-source-6.12, extracted once and
prepared once per toolchain, both kept in a cache outside the repository.

The cache lives in $VTLGEN_KERNEL_CACHE, else $XDG_CACHE_HOME/vtlgen/kernel (~/.cache/...),
in a folder named after the package version, so a new Debian upload gets a fresh tree.
One extracted source serves every toolchain: each toolchain gets its own output tree
(`make O=...`), because a tree is configured for one compiler (CONFIG_CC_IS_CLANG,
CONFIG_CC_VERSION_TEXT, and options such as ARM64_BTI_KERNEL that depend on it), and
Kbuild must build modules with the compiler that configured the tree.
A stamp file, written last, marks a finished step; a lock serialises concurrent runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import require, require_tool

PACKAGE = "linux-source-6.12"
TARBALL = Path("/usr/src") / f"{PACKAGE}.tar.xz"
EXTRACT_TOOLS = {"tar": "tar", "xz": "xz-utils"}
# What modules_prepare needs besides a compiler (Documentation/process/changes.rst), and
# sparse for C=1 (Documentation/dev-tools/sparse.rst).
BUILD_TOOLS = {"make": "make", "perl": "perl", "flex": "flex", "bison": "bison", "bc": "bc", "sparse": "sparse"}
BUILD_HEADERS = {Path("/usr/include/openssl/opensslv.h"): "libssl-dev", Path("/usr/include/gelf.h"): "libelf-dev"}
# Asked of every toolchain; arch/arm64/Kconfig drops ARM64_BTI_KERNEL under GCC
# (`depends on !CC_IS_GCC`, GCC bug 106671), which is what the GCC build covers.
CONFIG = ("ARM64_BTI_KERNEL", "WERROR")
# There is no vmlinux, so modpost learns the exports the caller uses from Module.symvers
# (Documentation/kbuild/modules.rst, "Symbols and External Modules").
KERNEL_EXPORTS = ("kernel_neon_begin", "kernel_neon_end")


@dataclass(frozen=True)
class Toolchain:
    name: str
    make_vars: tuple[str, ...]
    compiler: str
    tools: tuple[tuple[str, str], ...]  # (executable, Debian package)
    bti: bool  # whether the kernel can enable ARM64_BTI_KERNEL with it


CLANG = Toolchain(
    "clang",
    ("LLVM=1",),
    "clang",
    (("clang", "clang"), ("ld.lld", "lld"), ("llvm-ar", "llvm"), ("llvm-nm", "llvm"), ("llvm-objcopy", "llvm")),
    bti=True,
)
GCC = Toolchain(
    "gcc",
    ("CROSS_COMPILE=aarch64-linux-gnu-",),
    "aarch64-linux-gnu-gcc",
    (("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"), ("aarch64-linux-gnu-ld", "binutils-aarch64-linux-gnu")),
    bti=False,
)
TOOLCHAINS = {t.name: t for t in (CLANG, GCC)}


def cache_root() -> Path:
    explicit = os.environ.get("VTLGEN_KERNEL_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vtlgen" / "kernel"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _package_version() -> str:
    dpkg = require_tool("dpkg-query", "dpkg")
    return subprocess.run([dpkg, "-W", "-f=${Version}", PACKAGE], check=True, capture_output=True, text=True).stdout


def source_tree() -> Path:
    """The extracted source, once per package version."""
    require(tools=EXTRACT_TOOLS, files={TARBALL: PACKAGE})
    folder = cache_root() / f"{PACKAGE}_{_package_version()}"
    source, stamp = folder / "src", folder / "src.done"
    with _locked(folder):
        if not stamp.exists():
            partial = folder / "src.partial"
            shutil.rmtree(source, ignore_errors=True)
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            subprocess.run(["tar", "-xf", str(TARBALL), "-C", str(partial), "--strip-components=1"], check=True)
            partial.rename(source)
            stamp.touch()
    return source


def make(source: Path, out: Path, toolchain: Toolchain, *args: str) -> list[str]:
    return ["make", "-C", str(source), f"O={out}", "ARCH=arm64", *toolchain.make_vars, *args]


def _jobs() -> str:
    return f"-j{len(os.sched_getaffinity(0))}"


def prepared_tree(source: Path, toolchain: Toolchain) -> Path:
    """defconfig + CONFIG, then modules_prepare, once per compiler version."""
    require(tools=BUILD_TOOLS | dict(toolchain.tools), files=BUILD_HEADERS)
    version = subprocess.run([toolchain.compiler, "--version"], check=True, capture_output=True, text=True).stdout
    key = hashlib.sha256(repr((version, CONFIG, KERNEL_EXPORTS)).encode()).hexdigest()[:12]
    out = source.parent / f"build-{toolchain.name}-{key}"
    stamp = source.parent / f"{out.name}.done"
    with _locked(source.parent):
        if not stamp.exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            subprocess.run(make(source, out, toolchain, "-s", "defconfig"), check=True)
            options = [arg for option in CONFIG for arg in ("--enable", option)]
            subprocess.run([str(source / "scripts/config"), "--file", str(out / ".config"), *options], check=True)
            subprocess.run(make(source, out, toolchain, "-s", "olddefconfig"), check=True)
            subprocess.run(make(source, out, toolchain, "-s", _jobs(), "modules_prepare"), check=True)
            (out / "Module.symvers").write_text(
                "".join(f"0x00000000\t{name}\tvmlinux\tEXPORT_SYMBOL_GPL\t\n" for name in KERNEL_EXPORTS)
            )
            stamp.touch()
    return out


def config(out: Path) -> dict[str, str]:
    lines = (out / ".config").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.startswith("CONFIG_"))


def build_module(source: Path, out: Path, toolchain: Toolchain, folder: Path) -> subprocess.CompletedProcess[str]:
    """An external module with every check on: W=1 (extra warnings), C=1 (sparse)."""
    command = make(source, out, toolchain, f"M={folder}", "W=1", "C=1", _jobs())
    return subprocess.run(command, capture_output=True, text=True)
