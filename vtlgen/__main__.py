"""`python -m vtlgen` runs the CLI."""

from vtlgen.cli import main

main()
