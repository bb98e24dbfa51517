"""The `vtlgen` command starts without loading the CLI for `--version`, and its --help lists
every command's summary whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from vtlgen import __version__
from vtlgen.cli import app

LOADED = """
import json, sys
sys.argv = ["vtlgen"] + sys.argv[1:]
from vtlgen.__main__ import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded(*arguments: str) -> tuple[str, list[str]]:
    done = subprocess.run([sys.executable, "-c", LOADED, *arguments], capture_output=True, text=True, check=True)
    first, _, last = done.stdout.rstrip("\n").rpartition("\n")
    return first, json.loads(last)


def test_version_loads_neither_typer_nor_pydantic_nor_the_cli() -> None:
    printed, loaded = modules_loaded("--version")
    assert printed == f"vtlgen {__version__}"
    heavy = [m for m in loaded if m.split(".")[0] in ("typer", "click", "pydantic", "rich", "keystone", "unicorn")]
    assert heavy == [] and "vtlgen.cli" not in loaded


def test_version_reads_the_same_through_the_cli() -> None:
    from typer.testing import CliRunner

    assert CliRunner().invoke(app, ["--version"]).output.strip() == modules_loaded("--version")[0]


def test_other_arguments_reach_the_cli() -> None:
    _, loaded = modules_loaded("schema")
    assert "vtlgen.cli" in loaded


def test_help_lists_each_command_whole() -> None:
    environment = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-m", "vtlgen", "--help"], capture_output=True, text=True, env=environment, check=True
    )
    listing = done.stdout.split("Commands:", 1)[1]
    assert "..." not in listing
    for info in app.registered_commands:
        assert info.callback is not None and info.callback.__doc__
        summary = " ".join(info.callback.__doc__.strip().split("\n\n", 1)[0].split())
        assert " ".join(summary.split()) in " ".join(listing.split()), summary
