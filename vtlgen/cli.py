"""The vtlgen command line: a thin typer app over the library.

Exit codes: 0 ok, 1 findings or violations, 2 bad input or usage.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

from vtlgen import __version__, abidiff, artifacts, lowering, qemu_backend, render, sarif, specs, sync, tables
from vtlgen.assembler import AssemblyError
from vtlgen.lint import counts
from vtlgen.lint import lint as lint_spec
from vtlgen.loader import LoadedSpec, SpecError, format_path, load, load_all
from vtlgen.plan import Plan
from vtlgen.report import ConventionReport
from vtlgen.rules import RULES
from vtlgen.schema import Spec
from vtlgen.validator import DEFAULT_TRIALS
from vtlgen.validator import validate as run_validation

EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    help="Generate and validate arm64 hypervisor world-switch stubs from one spec.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

SpecArgs = Annotated[
    Optional[list[Path]],
    typer.Argument(help="Spec files (YAML or JSON). Default: every spec/*.yaml.", show_default=False),
]


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def load_specs(paths: list[Path] | None) -> list[LoadedSpec]:
    resolved = specs.resolve(paths)
    if not resolved:
        fail(f"error: no spec given and no {specs.DEFAULT_DIR}/*.yaml here")
    try:
        return load_all(resolved)
    except SpecError as error:
        fail("\n".join(str(problem) for problem in error.problems))


def lowering_failure(loaded: LoadedSpec, error: lowering.LoweringError) -> NoReturn:
    line, column = loaded.locate(error.path)
    path = format_path(error.path)
    fail(f"{loaded.path}:{line}:{column}: {path + ': ' if path else ''}{error}")


def load_one(path: Path) -> LoadedSpec:
    """One spec on its own (two revisions of a spec share their id)."""
    try:
        return load(path)
    except SpecError as error:
        fail("\n".join(str(problem) for problem in error.problems))


def plans_for(loaded: LoadedSpec) -> list[Plan]:
    try:
        return lowering.lower(loaded.spec, loaded.path.as_posix())
    except lowering.LoweringError as error:
        lowering_failure(loaded, error)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vtlgen {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """vtlgen: world-switch stubs, headers and bindings from one calling-convention spec."""


@app.command()
def show(spec: SpecArgs = None) -> None:
    """Print the register classes, the context layout and the conventions of each spec."""
    console = Console(width=120, highlight=False, soft_wrap=False)
    for loaded in load_specs(spec):
        console.print(f"[bold]{loaded.spec.title}[/bold] ({loaded.path}, ABI {loaded.spec.abi_version})")
        console.print(tables.spec_overview(loaded.spec, plans_for(loaded)))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors."""
    typer.echo(json.dumps(Spec.model_json_schema(by_alias=True), indent=2, sort_keys=True))


OutOption = Annotated[Path, typer.Option("--out", help="The output folder.")]
DEFAULT_OUT = Path("generated")


def build_files(loaded: LoadedSpec) -> list[artifacts.ConventionArtifacts]:
    try:
        return artifacts.build(loaded)
    except lowering.LoweringError as error:
        lowering_failure(loaded, error)
    except AssemblyError as error:  # a template bug or an unencodable spec: never write
        fail(f"internal error: the generated stub does not assemble: {error}", code=EXIT_BAD_INPUT)


def _regenerate_command(paths: list[Path] | None, out: Path) -> str:
    words = ["vtlgen", "generate", *(p.as_posix() for p in paths or [])]
    if out != DEFAULT_OUT:
        words += ["--out", out.as_posix()]
    return " ".join(words)


@app.command()
def generate(spec: SpecArgs = None, out: OutOption = DEFAULT_OUT) -> None:
    """Write stubs, headers and bindings for every convention to OUT/<spec>/<convention>/."""
    loaded_specs = load_specs(spec)
    # Render everything before writing anything: a bad spec leaves OUT untouched.
    rendered = [(loaded, build_files(loaded)) for loaded in loaded_specs]
    total = sync.Changes()
    for loaded, built in rendered:
        files = artifacts.merged(built)
        changes = sync.plan_changes(out, loaded.spec.id, files)
        if changes.any:
            try:
                sync.apply(out, loaded.spec.id, files)
            except OSError as error:  # the old tree is left as it was
                fail(f"error: cannot write {out.as_posix()}/{loaded.spec.id}: {error.strerror or error}")
        total.merge(changes)
        for item in built:
            plan = item.plan
            typer.echo(
                f"{plan.spec_id}/{plan.convention_id}: {item.instruction_count} instructions per round trip, "
                f"lower bound {plan.budget.lower_bound}"
            )
    for line in total.summary():
        typer.echo(line)
    if not total.any:
        typer.echo(f"{out.as_posix()}: up to date")


@app.command()
def check(spec: SpecArgs = None, out: OutOption = DEFAULT_OUT) -> None:
    """Exit 1, with a diff and the fixing command, when OUT differs from what the specs generate."""
    total = sync.Changes()
    for loaded in load_specs(spec):
        files = artifacts.merged(build_files(loaded))
        total.merge(sync.plan_changes(out, loaded.spec.id, files))
    if not total.any:
        typer.echo(f"{out.as_posix()}: up to date")
        return
    for diff in total.diffs:
        typer.echo(diff, nl=False)
    typer.echo("stale generated files:")
    for line in total.summary():
        typer.echo(f"  {line}")
    typer.echo(f"fix with: {_regenerate_command(spec, out)}")
    raise typer.Exit(EXIT_FINDINGS)


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


class Backend(str, Enum):
    unicorn = "unicorn"
    qemu_user = "qemu-user"


def _selected_plans(loaded: LoadedSpec, convention: str | None) -> list[Plan]:
    plans = plans_for(loaded)
    if convention is None:
        return plans
    chosen = [p for p in plans if p.convention_id == convention]
    if not chosen:
        known = ", ".join(p.convention_id for p in plans)
        fail(f"error: {loaded.path} has no convention {convention!r}; expected one of: {known}")
    return chosen


def _stub_source(plan: Plan, stub: Path | None, out: Path) -> tuple[str, str]:
    path = stub or out / plan.spec_id / plan.convention_id / render.file_names(plan)["standalone"]
    try:
        return path.read_text(encoding="utf-8"), path.as_posix()
    except (OSError, UnicodeDecodeError) as error:
        hint = "" if stub else "; run `vtlgen generate` first"
        fail(f"{path.as_posix()}:1:1: cannot read the stub: {getattr(error, 'strerror', None) or error}{hint}")


ConventionOption = Annotated[Optional[str], typer.Option(help="Only this convention.")]
StubOption = Annotated[
    Optional[Path], typer.Option(help="A hand-written stub (plain GNU as; entry = first instruction).")
]


def _one_stub(loaded_specs: list[LoadedSpec], stub: Path | None, convention: str | None) -> None:
    if stub is not None and (
        len(loaded_specs) != 1 or (convention is None and len(loaded_specs[0].spec.conventions) > 1)
    ):
        fail("error: --stub needs one spec and, when it has several conventions, --convention")


def _print_reports(reports: list[ConventionReport], output: OutputFormat) -> None:
    ok = all(report.ok for report in reports)
    if output is OutputFormat.json:
        typer.echo(json.dumps({"ok": ok, "reports": [r.as_dict() for r in reports]}, indent=2, sort_keys=True))
    else:
        for report in reports:
            typer.echo(report.summary())
            for violation in report.violations:
                typer.echo("  " + violation.describe().replace("\n", "\n  "))
    if not ok:
        raise typer.Exit(EXIT_FINDINGS)


def _replay(plan: Plan, text: str, name: str, path: Path) -> ConventionReport:
    from vtlgen import prove as proof
    from vtlgen.symbolic.replay import ReplayError
    from vtlgen.symbolic.replay import load as load_replay

    try:
        concrete = load_replay(path.read_text(encoding="utf-8"))
        return proof.replay_report(plan, text, name, concrete)
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{path.as_posix()}:1:1: cannot read the replay file: {getattr(error, 'strerror', None) or error}")
    except ReplayError as error:
        fail(f"{path.as_posix()}:1:1: replay: {error}")


@app.command()
def validate(
    spec: SpecArgs = None,
    convention: ConventionOption = None,
    stub: StubOption = None,
    trials: Annotated[int, typer.Option(min=1, help="Random trials per convention.")] = DEFAULT_TRIALS,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the first trial; trial k uses seed+k.")] = 0,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
    backend: Annotated[Backend, typer.Option(help="Where the stub runs.")] = Backend.unicorn,
    with_proof: Annotated[
        bool, typer.Option("--proof/--no-proof", help="Also prove P1-P10 for all inputs (see `vtlgen prove`).")
    ] = True,
    replay: Annotated[
        Optional[Path], typer.Option(help="Run one unicorn trial from a counterexample file of `vtlgen prove`.")
    ] = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Run stubs against the register-preservation spec (properties P1-P10)."""
    from vtlgen import prove as proof  # z3 and SLEIGH load only when a proof runs

    loaded_specs = load_specs(spec)
    _one_stub(loaded_specs, stub, convention)
    reports: list[ConventionReport] = []
    for loaded in loaded_specs:
        for plan in _selected_plans(loaded, convention):
            text, name = _stub_source(plan, stub, out)
            try:
                if replay is not None:
                    reports.append(_replay(plan, text, name, replay))
                    continue
                reports.append(run_validation(plan, text, name, trials=trials, seed=seed, backend=backend.value))
                if with_proof:
                    reports.append(proof.prove(plan, text, name).report)
            except AssemblyError as error:
                fail(str(error))
            except qemu_backend.ToolMissing as error:
                fail(f"error: --backend qemu-user needs {error}")
            except qemu_backend.HarnessError as error:
                fail(f"{name}:1:1: {error}")
    _print_reports(reports, output)


@app.command()
def prove(
    spec: SpecArgs = None,
    convention: ConventionOption = None,
    stub: StubOption = None,
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
    counterexamples: Annotated[
        Optional[Path], typer.Option(help="Write each violation's counterexample here, for `validate --replay`.")
    ] = None,
    out: OutOption = DEFAULT_OUT,
) -> None:
    """Prove P1-P10 for every input: symbolic execution of the stub's machine code (SLEIGH p-code, z3).

    Exit 0 when every convention is PROVED; 1 on a violation or where the proof is UNPROVEN.
    """
    from vtlgen import prove as proof

    loaded_specs = load_specs(spec)
    _one_stub(loaded_specs, stub, convention)
    results = []
    for loaded in loaded_specs:
        for plan in _selected_plans(loaded, convention):
            text, name = _stub_source(plan, stub, out)
            try:
                results.append((plan, proof.prove(plan, text, name)))
            except AssemblyError as error:
                fail(str(error))
    if counterexamples is not None:
        files = {
            counterexamples / proof.counterexample_name(plan, index, violation): proof.replay_file(concrete, violation)
            for plan, result in results
            for index, (violation, concrete) in enumerate(result.counterexamples)
        }
        try:
            counterexamples.mkdir(parents=True, exist_ok=True)
            for path, text in files.items():
                path.write_text(text, encoding="utf-8")
        except OSError as error:
            fail(f"error: cannot write {counterexamples.as_posix()}: {error.strerror or error}")
    _print_reports([result.report for _, result in results], output)


class LintFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class FailOn(str, Enum):
    warning = "warning"
    error = "error"


@app.command()
def lint(
    spec: SpecArgs = None,
    output: Annotated[LintFormat, typer.Option("--format", help="text, json or sarif (GitHub code scanning).")] = (
        LintFormat.text
    ),
    fail_on: Annotated[FailOn, typer.Option(help="Lowest unwaived severity that fails.")] = FailOn.error,
) -> None:
    """Check specs against the arm64 maintainers' review rules."""
    results = [(loaded, lint_spec(loaded.spec)) for loaded in load_specs(spec)]
    failing = sum(counts(findings, fail_on.value)[0] for _, findings in results)
    if output is LintFormat.sarif:
        typer.echo(json.dumps(sarif.report(results), indent=2))
    elif output is LintFormat.json:
        rows = []
        for loaded, findings in results:
            for f in findings:
                line, column = loaded.locate(f.path)
                rows.append({
                    "file": loaded.path.as_posix(), "line": line, "column": column, "path": format_path(f.path),
                    "rule": f.rule, "severity": f.severity, "convention": f.convention, "message": f.message,
                    "waived": f.waived, "source": RULES[f.rule].source,
                })  # fmt: skip
        typer.echo(json.dumps({"ok": failing == 0, "findings": rows}, indent=2))
    else:
        for loaded, findings in results:
            for f in findings:
                line, column = loaded.locate(f.path)
                scope = f"{f.convention}: " if f.convention else ""
                waived = f" (waived: {f.waived})" if f.waived else ""
                typer.echo(
                    f"{loaded.path.as_posix()}:{line}:{column}: {f.severity}[{f.rule}] {scope}{f.message}{waived}"
                )
                typer.echo(f"    why: {RULES[f.rule].reason} ({RULES[f.rule].source})")
            waived_count = sum(1 for f in findings if f.waived)
            typer.echo(f"{loaded.path.as_posix()}: {len(findings) - waived_count} finding(s), {waived_count} waived")
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The spec as it was.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The spec as it is now.", show_default=False)],
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
) -> None:
    """List ABI changes between two spec revisions; exit 1 when NEW's version bump is too small."""
    before, after = load_one(old), load_one(new)
    changes = abidiff.diff(before.spec, after.spec)
    required = abidiff.required_bump(changes)
    actual = abidiff.actual_bump(before.spec.abi_version, after.spec.abi_version)
    ok = abidiff.bump_ok(required, actual)
    verdict = (
        f"ABI {before.spec.abi_version} -> {after.spec.abi_version}: {actual} bump; "
        f"the changes need {'no' if required == 'none' else 'a ' + required} bump: {'ok' if ok else 'NOT OK'}"
    )
    if output is OutputFormat.json:
        payload = {
            "old": before.spec.abi_version, "new": after.spec.abi_version, "required_bump": required,
            "actual_bump": actual, "ok": ok, "changes": [c.as_dict() for c in changes],
        }  # fmt: skip
        typer.echo(json.dumps(payload, indent=2))
    else:
        for change in changes:
            typer.echo(f"{change.kind:<10} {change.what}: {change.old} -> {change.new} ({change.why})")
        if not changes:
            typer.echo("no ABI changes")
        typer.echo(verdict)
    if not ok:
        raise typer.Exit(EXIT_FINDINGS)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
