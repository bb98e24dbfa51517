"""Text from a spec (titles, notes, file names) made inert in each language vtlgen writes.

Spec prose and file names come from strangers. Copied raw, `*/` ends a C or assembly
comment, a newline ends a Python comment, and `\"\"\"` ends a docstring: what follows
becomes code in a kernel build or in an imported module. Every template prints such text
through exactly one of these filters, which keep it on one line, in printable ASCII, and
unable to close the construct it sits in. The schema rejects control characters in prose
as well, so the filters are the second wall, not the only one.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

MAX_SHOWN = 160  # characters of one prose item in a generated comment
MAX_WRAPPED = 4000  # characters of one prose item wrapped over several comment lines


class Quoted(str):
    """Text a filter below has made safe for the place it is printed."""


class UnquotedText(ValueError):
    """A template printed text that could break out of its construct without a filter."""


def one_line(text: str, limit: int = MAX_SHOWN) -> str:
    """Printable ASCII on one line: other characters become Python-style escapes (`\\n`, `\\u2028`)."""
    shown = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def printable_line(line: str) -> str:
    """One line of a file shown to a person: tabs and the final newline kept, every other
    control character escaped."""
    body, newline = (line[:-1], "\n") if line.endswith("\n") else (line, "")
    shown = "".join(c if c == "\t" or " " <= c <= "~" or (c > "\x9f" and c.isprintable()) else
                    c.encode("unicode_escape").decode("ascii") for c in body)  # fmt: skip
    return shown + newline


def c_comment(text: str) -> str:
    """Inside `/* ... */` (C, and assembly for GNU as, llvm-mc and keystone): no `*/`, no `/*`."""
    return Quoted(_inert_in_c_comment(one_line(text)))


def _inert_in_c_comment(text: str) -> str:
    return text.replace("*/", "* /").replace("/*", "/ *")


def c_comment_lines(text: str, width: int = 76) -> list[str]:
    """Inside `/* ... */` over several lines, each at most `width` columns: c_comment's text,
    cut at spaces (a longer word is cut too, so a kernel line stays within checkpatch's 100
    columns). The template prints its own ` * ` before each line, so no cut can join `*`
    and `/`."""
    shown = _inert_in_c_comment(one_line(text, limit=MAX_WRAPPED))
    lines = textwrap.wrap(shown, width, break_long_words=True, break_on_hyphens=False)
    return [Quoted(_inert_in_c_comment(line)) for line in lines]


def py_comment(text: str) -> str:
    """After `#`: one line is all a comment needs to stay a comment."""
    return Quoted(one_line(text))


def make_comment(text: str) -> str:
    """After `#` in a Makefile: one line, and no backslash, which would continue the comment."""
    return Quoted(one_line(text).replace("\\", "%5C"))


def py_docstring(text: str) -> str:
    """Inside a triple-quoted docstring: no quote or backslash can end or bend it."""
    return Quoted(one_line(text).replace("\\", "\\\\").replace('"', '\\"'))


FILTERS: dict[str, Callable[..., object]] = {
    "c_comment": c_comment,
    "c_comment_lines": c_comment_lines,
    "py_comment": py_comment,
    "make_comment": make_comment,
    "py_docstring": py_docstring,
}


_BREAKOUTS = ("*/", "/*", '"', "'", "\\")


def finalize(value: object) -> object:
    """Jinja's last step for every `{{ }}`: unfiltered text must be plainly inert, or rendering fails.

    Identifiers, numbers and operands pass; anything with a line break, a control
    character, a quote, a backslash or a comment delimiter must have gone through a filter
    above (or jinja's own `tojson`), so a template that forgets one fails loudly instead of
    writing a stranger's text raw.
    """
    if not isinstance(value, str) or isinstance(value, Quoted) or hasattr(value, "__html__"):
        return value
    if one_line(value, limit=len(value) + 1) != value or any(mark in value for mark in _BREAKOUTS):
        raise UnquotedText(f"unfiltered text in a template: {one_line(value)!r}")
    return value
