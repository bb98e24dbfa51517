"""Developer sessions: `nox -s tests lint typecheck` is what CI runs."""

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

LINT_TOOLS = ["ruff==0.17.6"]
TYPE_TOOLS = ["mypy==2.4.1"]


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, integration tests included (what CI runs)."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def quick(session: nox.Session) -> None:
    """The developer's inner loop: the unmarked tests, no qemu, kernel tree, toolchains, browser,
    sphinx or wheel build, and no slow sweeps (markers in pyproject.toml)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", "-m", "not integration and not slow", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install(*LINT_TOOLS)
    session.run("ruff", "check", "vtlgen", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "vtlgen", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install(*TYPE_TOOLS, ".")
    session.run("mypy")


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate generated/ from spec/."""
    session.install(".")
    session.run("vtlgen", "generate")


@nox.session
def check(session: nox.Session) -> None:
    """Fail when generated/ is stale."""
    session.install(".")
    session.run("vtlgen", "check")


@nox.session
def validate(session: nox.Session) -> None:
    """Validate the generated stubs of every spec."""
    session.install(".")
    session.run("vtlgen", "validate")


@nox.session
def bench(session: nox.Session) -> None:
    """Start-up, validator throughput, proof time, the HTML report's size and render time, against targets."""
    session.install(".")
    session.run("python", "tests/bench/bench_validator.py")
    session.run("python", "tests/bench/bench_prove.py")
    session.run("python", "tests/bench/bench_html_report.py")
    session.run("python", "tests/bench/bench_security.py")
    session.run("python", "tests/bench/bench_qemu_system.py")
    session.run("python", "tests/bench/bench_startup.py")
