"""`python -m vtlgen` and the `vtlgen` command: the CLI, started so that `--version` is instant.

`vtlgen --version` answers before typer, pydantic and the toolchain bindings load (about half a
second at low load, most of it in the spec schema); every other command imports the CLI, which
imports what its commands need. `tests/bench/bench_startup.py` measures it against `python -c pass`.
"""

from __future__ import annotations

import sys

from vtlgen import __version__


def version_line() -> str:
    return f"vtlgen {__version__}"


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(version_line())
        return
    from vtlgen.cli import main as run_cli

    run_cli()


if __name__ == "__main__":
    main()
