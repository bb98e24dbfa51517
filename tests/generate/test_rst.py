"""reStructuredText escaping: whatever a spec says stays text on the page."""

from __future__ import annotations

import docutils.core
import docutils.nodes
import docutils.utils
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vtlgen.generate import rst

HOSTILE = [
    ".. raw:: html\n\n   <script>alert(1)</script>",
    "*emphasis* **strong** `interpreted` ``literal`` |substitution| target_ anonymous__",
    ":raw:`<b>bold</b>` and :math:`x`",
    "1. an enumerated list",
    "(a) another",
    "- a bullet",
    "+-----+\n| a table |\n+-----+",
    "-----",
    "====",
    ">>> print('doctest')",
    "| a line block",
    ":field: list",
    "ends with a literal block::",
    ".. _target: http://example.com",
    "javascript:alert(1) and data:text/html,<script>x</script> and vbscript://x",
    ".. |sub| replace:: injected",
    "[1]_ footnote and [CIT]_ citation",
    "a\\ backslash \\",
    "line\u2028separator and\x85next line and\x0bvertical tab",
]


def _web_link(node: docutils.nodes.Node) -> bool:
    """A standalone http(s) address becomes a link, which is harmless; no other scheme may."""
    return isinstance(node, docutils.nodes.reference) and node.get("refuri", "").startswith(("http://", "https://"))


def paragraph_text(source: str) -> tuple[str, list[docutils.nodes.Node]]:
    """Parse `source` as a document; return its text and every node that is not plain prose."""
    settings = {"report_level": 5, "halt_level": 5}
    tree = docutils.core.publish_doctree(source, settings_overrides=settings)
    plain = (docutils.nodes.document, docutils.nodes.paragraph, docutils.nodes.Text)
    others = [node for node in tree.findall() if not isinstance(node, plain) and not _web_link(node)]
    return tree.astext(), others


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_stays_one_paragraph_of_the_same_words(value: str) -> None:
    escaped = rst.text(value)
    assert "\n" not in escaped
    text, others = paragraph_text(escaped)
    assert others == [], (escaped, others)
    assert text == " ".join(value.split()), escaped


def test_unescaped_text_would_have_been_markup() -> None:
    """The check above can fail: the same strings, unescaped, parse as markup."""
    for value in (HOSTILE[0], HOSTILE[1], HOSTILE[3], HOSTILE[5]):
        _, others = paragraph_text(value)
        assert others, value


@given(st.text(max_size=60))
def test_any_text_is_inert(value: str) -> None:
    escaped = rst.text(value)
    _, others = paragraph_text(escaped)
    assert others == []


def test_plain_prose_reads_as_it_is() -> None:
    value = "PMBSR_EL1 is private (TLFS, 'On ARM64 platforms'); x0-x17 are shared."
    assert rst.text(value) == value


def test_literal_only_for_tokens() -> None:
    assert rst.literal("hvc #3") == "``hvc #3``"
    assert rst.literal("void f(struct c *ctx);") == "``void f(struct c *ctx);``"
    assert rst.literal("a``b") == "a\\`\\`b"  # not a token: escaped text instead
    assert rst.literal("a\u2028.. raw:: html") == "a .. raw:\\: html"


def test_heading_underline_covers_wide_characters() -> None:
    title = rst.heading("VTL 切り替え", "=")
    line, rule = title.split("\n")
    assert len(rule) == rst.width(line) == len("VTL ") + 2 * 4 > len(line)
    assert rst.heading("T", "=", overline=True) == "=\nT\n="


def test_finalize_escapes_all_but_markup() -> None:
    assert rst.finalize("*x*") == "\\*x\\*"
    assert rst.finalize(rst.Markup("*x*")) == "*x*"
    assert rst.finalize(12) == "12"


WRAPPED = [
    "Injected heading " + "\\" * 32 + " " + "X" * 70,
    "Title " + "=" * 40 + " more",
    "a " + "-" * 50 + " b",
    "x " + "~" * 78,
    "*" * 90,
]


@pytest.mark.parametrize("value", WRAPPED)
def test_a_wrapped_line_of_one_repeated_mark_is_no_heading(value: str) -> None:
    """Wrapping can leave a line of one repeated mark, which docutils reads as an underline."""
    for width in (20, 40, 78):
        _, others = paragraph_text(str(rst.paragraph(value, width=width)))
        assert others == [], (width, others)


@given(st.lists(st.sampled_from(["word", "\\\\\\\\", "====", "----", "~~~~", "^^^^", "X" * 12]), max_size=30))
def test_any_wrapped_prose_is_inert(words: list[str]) -> None:
    _, others = paragraph_text(str(rst.paragraph(" ".join(words), width=24)))
    assert others == []


def test_prose_shows_backquoted_code_as_literals() -> None:
    """Lint messages and waiver reasons mark code with `...`: the page shows it as code, never
    as literal backquotes, and a stray backquote stays escaped text."""
    from docutils.core import publish_doctree

    from vtlgen.generate.rst import prose

    shown = prose("`hvc #3` is not an SMCCC call; use `hvc #0` with a function ID in w0")
    assert shown == "``hvc #3`` is not an SMCCC call; use ``hvc #0`` with a function ID in w0"
    literals = [node.astext() for node in publish_doctree(shown).findall() if node.tagname == "literal"]
    assert literals == ["hvc #3", "hvc #0"]
    assert prose("a stray ` backquote") == "a stray \\` backquote"
