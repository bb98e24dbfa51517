"""The README's CLI reference names every option each command takes, and its table of contents
links only to headings that exist."""

from __future__ import annotations

import re

import typer.main

from tests.support import ROOT
from vtlgen.cli import app

README = (ROOT / "README.md").read_text()


def anchor(heading: str) -> str:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_cli_table_names_every_option() -> None:
    table = README[README.index("## CLI reference") : README.index("## What is generated")]
    group = typer.main.get_command(app)
    missing = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        (row,) = [line for line in table.splitlines() if line.startswith(f"| `vtlgen {name}")]
        for parameter in command.params:
            for option in parameter.opts:
                if option.startswith("--") and option != "--help" and option not in row:
                    missing.append(f"{name} {option}")
    assert missing == []


def test_the_contents_link_to_headings() -> None:
    headings = {anchor(line.lstrip("#")) for line in README.splitlines() if line.startswith("## ")}
    headings |= {anchor(line.lstrip("#")) for line in README.splitlines() if line.startswith("### ")}
    contents = README[README.index("**Contents.**") : README.index("## What")]
    links = re.findall(r"\]\(#([^)]+)\)", contents)
    assert links and [link for link in links if link not in headings] == []
