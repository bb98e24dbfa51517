"""The CLI in-process, and exact edits of the spec's text for the tests that break it on purpose."""

from __future__ import annotations

from typer.testing import CliRunner, Result


def edited(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence, so a test never silently edits nothing."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def invoke(*arguments: str) -> Result:
    """Run the CLI in-process; whatever it is given, it must never end in a traceback."""
    from vtlgen.cli import app

    result = CliRunner().invoke(app, list(arguments))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result
