"""What test modules share: paths, tool requirements, the in-process CLI, and helpers
(the stub corpus, mutants, kernel builds). Fixtures stay in the conftest.py files."""

from tests.support.cli import edited, invoke
from tests.support.paths import DATA, FIRST, ROOT, SHIM, SPEC
from tests.support.requirements import IN_CI, require, require_file, require_tool

__all__ = [
    "DATA",
    "FIRST",
    "IN_CI",
    "ROOT",
    "SHIM",
    "SPEC",
    "edited",
    "invoke",
    "require",
    "require_file",
    "require_tool",
]
