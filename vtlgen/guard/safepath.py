"""Reading and writing paths a stranger may have shaped, without following them out.

A pull request controls the files vtlgen reads (specs, stubs) and the tree it writes
into. A symbolic link there can point at /etc/passwd, /proc/self/environ or a folder
outside the checkout; a FIFO blocks a reader forever; a huge file fills memory. So:
- a file vtlgen reads is opened without following a final link (O_NOFOLLOW), must be a
  regular file, and is read only up to a stated size;
- no path vtlgen reads or writes may pass through a symbolic link that leads out of the
  working tree (the current folder).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from vtlgen.guard.quoting import one_line


class UnsafePath(OSError):
    """A path vtlgen will not read or write; the message names it and says why."""


def shown(path: Path | str) -> str:
    """A path, safe to print on one line (it may hold newlines or terminal escapes)."""
    return one_line(Path(path).as_posix(), limit=400)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def escaping_link(path: Path) -> Path | None:
    """The first symbolic link on `path` whose target lies outside the working tree, if any."""
    root = Path.cwd().resolve()
    absolute = Path(os.path.abspath(path))
    current = Path(absolute.anchor)
    for part in absolute.parts[1:]:
        current = current / part
        if current.is_symlink() and not _inside(current.resolve(), root):
            return current
    return None


def check_no_escaping_link(path: Path, what: str) -> None:
    link = escaping_link(path)
    if link is not None:
        raise UnsafePath(
            f"{shown(path)}: {what} passes through the symbolic link {shown(link)}, which leads out of the "
            "working tree; vtlgen does not follow it (use the real path)"
        )


def read_text(path: Path, limit: int, what: str) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes, or UnsafePath/OSError/UnicodeDecodeError."""
    check_no_escaping_link(path, what)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafePath(f"{shown(path)}: {what} is a symbolic link; vtlgen reads no links") from None
        raise
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(f"{shown(path)}: {what} is not a regular file")
        if info.st_nlink > 1:  # a hard link's data may be a file outside the tree (a token, a key)
            raise UnsafePath(f"{shown(path)}: {what} is a hard link; vtlgen reads no links")
        if info.st_size > limit:
            raise UnsafePath(f"{shown(path)}: {what} is {info.st_size} bytes; at most {limit} are read")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnsafePath(f"{shown(path)}: {what} grew past {limit} bytes while being read")
    return data.decode("utf-8")
