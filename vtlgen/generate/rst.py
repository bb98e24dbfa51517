"""reStructuredText escaping: spec text printed into a page stays text.

Spec prose comes from whoever wrote the spec. Printed raw into reStructuredText, a title
such as `.. raw:: html` would become a directive and `|x|` a substitution. `text()`
makes any string one inert line of inline text (docutils "Escaping Mechanism": a
backslash makes the next character literal), escaping only what could start markup so
that the page still reads as plain text in an email.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata

# Characters that open inline markup wherever they stand: emphasis, literals,
# interpreted text and roles, substitutions, and the escape character itself.
_ALWAYS = re.compile(r"([\\*`|])")
# `name_` and `name__` are references, `[1]_` a footnote reference; `_` inside a word
# (PMBSR_EL1) is plain text.
_REFERENCE_END = re.compile(r"_(?![A-Za-z0-9])")
# A paragraph ending in `::` announces a literal block; `::` anywhere may end a line.
_DOUBLE_COLON = re.compile(r":(?=:)")
# docutils links a standalone `scheme:rest` for any registered scheme, `javascript:`
# included; only http(s) may become links.
_SCHEME = re.compile(r"(?<![A-Za-z0-9+.\-])(?!https?:)([A-Za-z][A-Za-z0-9+.\-]*):(?=[^\s:\\])")
# "1. ", "a) ", "(i) ", "#. " at the start of a paragraph begin an enumerated list.
_ENUMERATOR = re.compile(r"^(\(?)([0-9]+|[A-Za-z]|[ivxlcdmIVXLCDM]+|#)([.)])(\s|$)")
# Characters that cannot start a block construct (after the enumerator check above).
_SAFE_FIRST = "\\[(\"'),;"
_WHITESPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# No backquote, no whitespace but plain spaces (docutils splits lines as str.splitlines()
# does, at U+2028 too), none at either end: safe inside ``...``.
_TOKEN = re.compile(r"[^`\s\x00-\x1f\x7f](?:(?:[^`\s\x00-\x1f\x7f]| )*[^`\s\x00-\x1f\x7f])?")


def text(value: object) -> str:
    """One line of inert inline text, whatever `value` holds."""
    line = _CONTROL.sub("", _WHITESPACE.sub(" ", str(value))).strip()
    line = _ALWAYS.sub(r"\\\1", line)
    line = _REFERENCE_END.sub(r"\\_", line)
    line = _DOUBLE_COLON.sub(r":\\", line)
    line = _SCHEME.sub(r"\1\\:", line)
    return _guard_start(line)


def _guard_start(line: str) -> str:
    """A line that starts with punctuation may start a block (`..` directive or comment,
    `-`/`+` bullet, `:field:`, `>>>`, a table border or a transition), and `1.` a list;
    with its first mark escaped it is a paragraph line instead."""
    match = _ENUMERATOR.match(line)
    if match:
        line = f"{match.group(1)}{match.group(2)}\\{match.group(3)}{line[match.end(3) :]}"
    if line and not line[0].isalnum() and line[0] not in _SAFE_FIRST:
        line = "\\" + line
    if len(set(line)) == 1 and not line[0].isalnum():
        # A line of one repeated mark (even escaped backslashes) reads as a section
        # underline; an escaped space, which reST drops, breaks the repetition.
        line = "\\ " + line
    return line


def paragraph(value: object, indent: str = "", lead: int = 0, width: int = 78) -> Markup:
    """`value` as escaped text wrapped for an email. The first line continues `lead` columns
    of the template's own text; the others get `indent` (the body indent of a bullet or a
    field) and are guarded like a first line."""
    lines = textwrap.wrap(
        text(value),
        width,
        initial_indent=" " * lead,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [""]
    rest = [indent + _guard_start(line[len(indent) :]) for line in lines[1:]]
    return Markup("\n".join([lines[0][lead:], *rest]))


class Markup(str):
    """reStructuredText built here from escaped parts; printed as it is."""


def finalize(value: object) -> str:
    """jinja2's `finalize`: every `{{ value }}` of an rst template is escaped unless it is Markup,
    as autoescape does for HTML."""
    return value if isinstance(value, Markup) else text(value)


def literal(value: object) -> Markup:
    """``value`` as an inline literal when nothing in it can end the literal early;
    otherwise escaped text (inside an inline literal, nothing can be escaped)."""
    token = str(value)
    return Markup(f"``{token}``" if _TOKEN.fullmatch(token) else text(token))


def prose(value: object) -> Markup:
    """Prose that marks code with single backquotes (`hvc #3`, as lint messages and waiver
    reasons do): each balanced `span` an inline literal, the rest escaped text, so the page
    shows code as code instead of literal backquotes. Unbalanced backquotes stay escaped text."""
    parts = str(value).split("`")
    if len(parts) % 2 == 0:
        return Markup(text(value))
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(str(literal(part)))
        elif part:
            escaped = text(part) if part.strip() else " "
            # text() strips the spaces that separate a span from its neighbours; put them back
            out.append((" " if part[:1].isspace() and index else "") + escaped + (" " if part[-1:].isspace() else ""))
    return Markup("".join(out).strip())


def width(line: str) -> int:
    """Columns the line takes, as docutils counts them for heading underlines
    (East Asian wide and full-width characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def heading(title: object, adornment: str, overline: bool = False) -> Markup:
    """A section title with the kernel's adornments (Documentation/doc-guide/sphinx.rst:
    `=` over and under the document title, then `=`, `-` and `~` underlines)."""
    line = text(title)
    rule = adornment * max(width(line), 1)
    return Markup(f"{rule}\n{line}\n{rule}" if overline else f"{line}\n{rule}")
