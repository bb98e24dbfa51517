"""The vtlgen command line: a thin typer app over the library.

Exit codes: 0 ok, 1 findings or violations, 2 bad input or usage.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console
from rich.text import Text

from vtlgen import __version__, verify
from vtlgen.generate import artifacts, render, sync
from vtlgen.guard import safepath
from vtlgen.guard.quoting import one_line
from vtlgen.isa import stubsource
from vtlgen.isa.assembler import AssemblyError
from vtlgen.isa.vector_length import is_architectural
from vtlgen.lower import convention
from vtlgen.plan import Plan
from vtlgen.prove.budget import DEFAULT_PROOF_BUDGET_S
from vtlgen.report import html_page, json_output, sarif, tables
from vtlgen.spec import diff as abi_diff
from vtlgen.spec import discover
from vtlgen.spec.lint import LintFinding, counts
from vtlgen.spec.lint import lint as lint_spec
from vtlgen.spec.loader import LoadedSpec, Located, SpecError, format_path, load, load_all
from vtlgen.spec.rules import RULES
from vtlgen.spec.schema import Spec
from vtlgen.validate.backends.base import BackendError
from vtlgen.validate.backends.qemu_system import SystemToolMissing
from vtlgen.validate.backends.qemu_user import ToolMissing
from vtlgen.validate.results import ConventionReport
from vtlgen.validate.run import DEFAULT_TRIALS

EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2

app = typer.Typer(
    help="Generate and validate arm64 hypervisor world-switch stubs from one spec.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, as click prints it: readable in CI logs, and no `<bool>` type shown for flags.
    rich_markup_mode=None,
)

SpecArgs = Annotated[
    Optional[list[Path]],
    typer.Argument(help="Spec files (YAML or JSON). Default: every spec/*.yaml.", show_default=False),
]


# The --format of the running command. Bad input under json or sarif is still a document on
# stdout (a CI job redirects it to a file it uploads), beside the message on stderr.
_document_format = "text"
_LOCATED = re.compile(r"(?P<file>.+?):(?P<line>\d+):(?P<column>\d+): (?P<message>.+)")


def _documents_on_error(output: Enum) -> None:
    global _document_format
    _document_format = str(output.value)


def _problem(line: str) -> dict[str, object]:
    """One message line as a problem: `file:line:col: [field.path: ]message` is split."""
    located = _LOCATED.fullmatch(line)
    if located is None:
        return {"message": line.removeprefix("error: ")}
    problem: dict[str, object] = {
        "file": located["file"], "line": int(located["line"]), "column": int(located["column"]),
        "message": located["message"],
    }  # fmt: skip
    return problem


def fail(message: str, code: int = EXIT_BAD_INPUT, located: Sequence[Located] = ()) -> NoReturn:
    # Messages quote strangers' text (tool output, file names): each line is made printable,
    # so nothing reaches a terminal or a CI log as an escape sequence or a forged line.
    lines = [one_line(line, limit=4000) for line in message.split("\n")]
    if code == EXIT_BAD_INPUT and _document_format in ("json", "sarif"):
        problems = [asdict(p) for p in located] if located else [_problem(line) for line in lines if line]
        document = sarif.input_errors(problems) if _document_format == "sarif" else json_output.error_document(problems)
        typer.echo(json.dumps(document, indent=2))
    typer.echo("\n".join(lines), err=True)
    raise typer.Exit(code)


def load_specs(paths: list[Path] | None) -> list[LoadedSpec]:
    resolved = discover.resolve(paths)
    if not resolved:
        fail(f"error: no spec given and no {discover.DEFAULT_DIR}/*.yaml here")
    try:
        return load_all(resolved)
    except SpecError as error:
        fail("\n".join(str(problem) for problem in error.problems), located=error.problems)


def lowering_failure(loaded: LoadedSpec, error: convention.LoweringError) -> NoReturn:
    line, column = loaded.locate(error.path)
    path = format_path(error.path)
    fail(f"{safepath.shown(loaded.path)}:{line}:{column}: {path + ': ' if path else ''}{error}")


def load_one(path: Path) -> LoadedSpec:
    """One spec on its own (two revisions of a spec share their id)."""
    try:
        return load(path)
    except SpecError as error:
        fail("\n".join(str(problem) for problem in error.problems), located=error.problems)


def plans_for(loaded: LoadedSpec) -> list[Plan]:
    try:
        return convention.lower(loaded.spec, loaded.path.as_posix())
    except convention.LoweringError as error:
        lowering_failure(loaded, error)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vtlgen {__version__}")  # as vtlgen.__main__ prints it, before this module loads
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """vtlgen: world-switch stubs, headers and bindings from one calling-convention spec."""
    global _document_format
    _document_format = "text"  # each command sets its own (the app may run many times in one process)


@app.command()
def show(spec: SpecArgs = None) -> None:
    """Print the register classes, the context layout and the conventions of each spec."""
    console = Console(width=120, highlight=False, soft_wrap=False)
    for loaded in load_specs(spec):
        heading = Text(loaded.spec.title, style="bold")  # a title is text, never rich markup
        heading.append(f" ({safepath.shown(loaded.path)}, ABI {loaded.spec.abi_version})")
        console.print(heading)
        console.print(tables.spec_overview(loaded.spec, plans_for(loaded)))


@app.command()
def schema() -> None:
    """Print the JSON Schema of the spec format, for editors."""
    # pydantic writes JSON Schema draft 2020-12; naming it lets editors pick the right validator.
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **Spec.model_json_schema(by_alias=True)}
    typer.echo(json.dumps(document, indent=2, sort_keys=True))


OutOption = Annotated[Path, typer.Option("--out", help="The output folder.")]
DEFAULT_OUT = Path("generated")


def build_files(loaded: LoadedSpec) -> list[artifacts.ConventionArtifacts]:
    try:
        return artifacts.build(loaded)
    except convention.LoweringError as error:
        lowering_failure(loaded, error)
    except AssemblyError as error:  # a template bug or an unencodable spec: never write
        fail(f"internal error: the generated stub does not assemble: {error}", code=EXIT_BAD_INPUT)


def _regenerate_command(paths: list[Path] | None, out: Path) -> str:
    words = ["vtlgen", "generate", *(safepath.shown(p) for p in paths or [])]
    if out != DEFAULT_OUT:
        words += ["--out", safepath.shown(out)]
    return " ".join(words)


def _output_failure(error: OSError) -> NoReturn:
    """Problems with the output folder: each line names a path; nothing was written."""
    if isinstance(error, sync.OutputProblem):
        fail("\n".join(f"error: {problem}" for problem in error.problems))
    if isinstance(error, safepath.UnsafePath):
        fail(f"error: {error}")
    where = safepath.shown(error.filename) if error.filename else "the output folder"
    fail(f"error: cannot write {where}: {error.strerror or error}; the old tree is left as it was")


def _echo_findings(loaded: LoadedSpec, findings: list[LintFinding]) -> None:
    for f in findings:
        line, column = loaded.locate(f.path)
        scope = f"{f.convention}: " if f.convention else ""
        waived = f" (waived: {f.waived})" if f.waived else ""
        typer.echo(f"{safepath.shown(loaded.path)}:{line}:{column}: {f.severity}[{f.rule}] {scope}{f.message}{waived}")
        typer.echo(f"    why: {RULES[f.rule].reason} ({RULES[f.rule].source})")


def _refuse_lint_errors(loaded_specs: list[LoadedSpec]) -> None:
    """A stub for a spec that breaks the review rules would ship what vtlgen itself forbids."""
    refused = False
    for loaded in loaded_specs:
        findings = [f for f in lint_spec(loaded.spec, loaded.tree) if f.severity == "error" and not f.waived]
        if findings:
            _echo_findings(loaded, findings)
            refused = True
    if refused:
        typer.echo("refusing to generate: fix the spec, waive the findings in it, or pass --allow-lint-errors")
        raise typer.Exit(EXIT_FINDINGS)


AllowLintErrors = Annotated[
    bool,
    typer.Option(
        "--allow-lint-errors",
        help="Generate even when lint reports unwaived errors (test fixtures such as the posted convention).",
    ),
]


@app.command()
def generate(spec: SpecArgs = None, out: OutOption = DEFAULT_OUT, allow_lint_errors: AllowLintErrors = False) -> None:
    """Write stubs, headers and bindings to OUT/<spec>/<convention>/, and the ABI page to OUT/<spec>/.

    Exit 1, writing nothing, when a spec has unwaived lint errors (see `vtlgen lint`).
    """
    loaded_specs = load_specs(spec)
    # Render everything before writing anything: a bad spec leaves OUT untouched.
    rendered = [(loaded, build_files(loaded)) for loaded in loaded_specs]
    if not allow_lint_errors:
        _refuse_lint_errors(loaded_specs)
    total = sync.Changes()
    try:
        planned = [(loaded.spec.id, artifacts.merged(loaded, built)) for loaded, built in rendered]
        changes = [sync.plan_changes(out, spec_id, files) for spec_id, files in planned]
        for (spec_id, files), change in zip(planned, changes, strict=True):
            if change.any:
                sync.apply(out, spec_id, files)
            total.merge(change)
    except OSError as error:
        _output_failure(error)
    for _, built in rendered:
        for item in built:
            plan = item.plan
            typer.echo(
                f"{plan.spec_id}/{plan.convention_id}: {item.instruction_count} instructions per round trip, "
                f"lower bound {plan.budget.lower_bound}"
            )
    for line in total.summary():
        typer.echo(line)
    if not total.any:
        typer.echo(f"{safepath.shown(out)}: up to date")


@app.command()
def doc(spec: SpecArgs = None, out: OutOption = DEFAULT_OUT) -> None:
    """Write each spec's ABI as a kernel Documentation/ page, OUT/<spec>/<spec>.rst (as `generate` does)."""
    pages = {}
    for loaded in load_specs(spec):  # every page rendered before any is written
        pages.update(artifacts.documentation(loaded, build_files(loaded)))
    try:
        changes = sync.update_files(out, pages)
    except OSError as error:
        _output_failure(error)
    for line in changes.summary():
        typer.echo(line)
    if not changes.any:
        typer.echo(f"{safepath.shown(out)}: up to date")


@app.command()
def check(spec: SpecArgs = None, out: OutOption = DEFAULT_OUT) -> None:
    """Exit 1, with a diff and the fixing command, when OUT differs from what the specs generate."""
    total = sync.Changes()
    try:
        for loaded in load_specs(spec):
            files = artifacts.merged(loaded, build_files(loaded))
            total.merge(sync.plan_changes(out, loaded.spec.id, files))
    except OSError as error:
        _output_failure(error)
    if not total.any:
        typer.echo(f"{safepath.shown(out)}: up to date")
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


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"


class Backend(str, Enum):
    unicorn = "unicorn"
    qemu_user = "qemu-user"
    qemu_system = "qemu-system"


def _selected_plans(loaded: LoadedSpec, convention: str | None) -> list[Plan]:
    plans = plans_for(loaded)
    if convention is None:
        return plans
    chosen = [p for p in plans if p.convention_id == convention]
    if not chosen:
        known = ", ".join(p.convention_id for p in plans)
        fail(f"error: {safepath.shown(loaded.path)} has no convention {convention!r}; expected one of: {known}")
    return chosen


def _stub_source(loaded: LoadedSpec, plan: Plan, stub: Path | None, out: Path) -> tuple[str, str]:
    """The hand-written stub, or what `generate` would write now, rendered in memory (never
    a file on disk that may be stale); named by the path `generate` writes it to."""
    if stub is None:
        path = out / plan.spec_id / plan.convention_id / render.file_names(plan)["standalone"]
        return render.standalone_asm(plan, loaded.path.name), safepath.shown(path)
    try:
        return safepath.read_text(stub, stubsource.MAX_TEXT, "the stub"), safepath.shown(stub)
    except safepath.UnsafePath as error:
        fail(f"{safepath.shown(stub)}:1:1: {str(error).split(': ', 1)[-1]}")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{safepath.shown(stub)}:1:1: cannot read the stub: {getattr(error, 'strerror', None) or error}")


ConventionOption = Annotated[Optional[str], typer.Option(help="Only this convention.")]
StubOption = Annotated[
    Optional[Path], typer.Option(help="A hand-written stub (plain GNU as; entry = first instruction).")
]
StubOutOption = Annotated[Path, typer.Option("--out", help="Where `generate` writes; names the generated stubs.")]


def _one_stub(loaded_specs: list[LoadedSpec], stub: Path | None, convention: str | None) -> None:
    if stub is not None and (
        len(loaded_specs) != 1 or (convention is None and len(loaded_specs[0].spec.conventions) > 1)
    ):
        fail("error: --stub needs one spec and, when it has several conventions, --convention")


def _print_reports(reports: list[ConventionReport], output: ReportFormat) -> None:
    ok = all(report.ok for report in reports)
    if output is ReportFormat.json:
        body = {"ok": ok, "reports": [r.as_dict() for r in reports]}
        typer.echo(json.dumps(json_output.document(json_output.REPORTS, body), indent=2, sort_keys=True))
    elif output is ReportFormat.sarif:
        typer.echo(json.dumps(sarif.violations(reports), indent=2))
    else:
        for report in reports:
            typer.echo(report.summary())
            for violation in report.violations:
                typer.echo("  " + violation.describe().replace("\n", "\n  "))
    if not ok:
        raise typer.Exit(EXIT_FINDINGS)


MAX_REPLAY_BYTES = 1 << 20
ProofBudgetOption = Annotated[
    float,
    typer.Option(min=0.001, max=3600, help="Wall-clock seconds the proof may take per stub; past it, UNPROVEN."),
]


def _at_least(minimum: int, option: str, what: str) -> Callable[[int], int]:
    """A bound on a number option, said as what is wrong and what is expected (click's own
    range check words it as the library's: "Input should be greater than or equal to 1")."""

    def check(value: int) -> int:
        if value < minimum:
            raise typer.BadParameter(
                f"{value} is not {what}; expected a whole number, {minimum} or more", param_hint=f"--{option}"
            )
        return value

    return check


def _verify(plan: Plan, text: str, name: str, options: verify.Options, replay: Path | None) -> verify.StubVerdict:
    if replay is None:
        return verify.verify(plan, text, name, options)
    from vtlgen.prove.replay import ReplayError  # z3 loads only for a replay or a proof
    from vtlgen.prove.replay import load as load_replay

    try:
        concrete = load_replay(safepath.read_text(replay, MAX_REPLAY_BYTES, "the replay file"))
        return verify.verify(plan, text, name, options, concrete)
    except safepath.UnsafePath as error:
        fail(f"{safepath.shown(replay)}:1:1: {str(error).split(': ', 1)[-1]}")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"{safepath.shown(replay)}:1:1: cannot read the replay file: {getattr(error, 'strerror', None) or error}")
    except ReplayError as error:
        fail(f"{safepath.shown(replay)}:{error.line}:{error.col}: replay: {error}")


@app.command()
def validate(
    spec: SpecArgs = None,
    convention: ConventionOption = None,
    stub: StubOption = None,
    trials: Annotated[
        int, typer.Option(callback=_at_least(1, "trials", "a trial count"), help="Random trials per convention.")
    ] = DEFAULT_TRIALS,
    seed: Annotated[
        int, typer.Option(callback=_at_least(0, "seed", "a seed"), help="Seed of the first trial; trial k uses seed+k.")
    ] = 0,
    output: Annotated[ReportFormat, typer.Option("--format", help="text, json or sarif.")] = ReportFormat.text,
    backend: Annotated[Backend, typer.Option(help="Where the stub runs.")] = Backend.unicorn,
    vector_length: Annotated[
        Optional[list[int]],
        typer.Option(
            "--vector-length",
            help="SVE vector length in bytes (a multiple of 16; repeat for several); default 16, 48, 64 and 256.",
        ),
    ] = None,
    with_proof: Annotated[
        bool, typer.Option("--proof/--no-proof", help="Also prove P1-P10 for all inputs (see `vtlgen prove`).")
    ] = True,
    replay: Annotated[
        Optional[Path], typer.Option(help="Run one unicorn trial from a counterexample file of `vtlgen prove`.")
    ] = None,
    proof_budget: ProofBudgetOption = DEFAULT_PROOF_BUDGET_S,
    out: StubOutOption = DEFAULT_OUT,
    html: Annotated[
        Optional[Path], typer.Option("--html", help="Also write a self-contained HTML report to this file.")
    ] = None,
) -> None:
    """Run stubs against the register-preservation spec (properties P1-P10).

    Without --stub, the stubs checked are the ones `generate` would write now, rendered in
    memory from the spec, not the files on disk."""
    _documents_on_error(output)
    loaded_specs = load_specs(spec)
    _one_stub(loaded_specs, stub, convention)
    for length in vector_length or ():
        if not is_architectural(length):
            fail(f"error: --vector-length {length}: expected a multiple of 16 bytes in 16..256")
    # The CLI's validate runs the precondition trials too: its report says what a caller that
    # breaks an entry requirement gets (library callers ask for them, see `verify.Options`).
    options = verify.Options(trials, seed, backend.value, vector_length, with_proof, True, proof_budget)
    verdicts: list[verify.StubVerdict] = []
    for loaded in loaded_specs:
        for plan in _selected_plans(loaded, convention):
            text, name = _stub_source(loaded, plan, stub, out)
            try:
                verdicts.append(_verify(plan, text, name, options, replay))
            except AssemblyError as error:
                fail(str(error))
            except ToolMissing as error:
                fail(f"error: --backend qemu-user needs {error}")
            except SystemToolMissing as error:
                fail(f"error: --backend qemu-system needs {error}")
            except BackendError as error:
                fail(f"{name}:1:1: {error}")
    if html is not None:
        stub_shown, out_shown = stub.as_posix() if stub else None, None if out == DEFAULT_OUT else out.as_posix()
        try:
            verify.write_html(
                html, verdicts, lambda plan: html_page.reproduce_command(plan, stub_shown, backend.value, out_shown)
            )
        except OSError as error:
            fail(f"error: cannot write {safepath.shown(html)}: {error.strerror or error}")
        typer.echo(f"HTML report: {safepath.shown(html)}", err=True)  # stderr: --format json stays one document
    _print_reports([report for verdict in verdicts for report in verdict.reports], output)


@app.command()
def prove(
    spec: SpecArgs = None,
    convention: ConventionOption = None,
    stub: StubOption = None,
    output: Annotated[ReportFormat, typer.Option("--format", help="text, json or sarif.")] = ReportFormat.text,
    counterexamples: Annotated[
        Optional[Path], typer.Option(help="Write each violation's counterexample here, for `validate --replay`.")
    ] = None,
    out: StubOutOption = DEFAULT_OUT,
    proof_budget: ProofBudgetOption = DEFAULT_PROOF_BUDGET_S,
) -> None:
    """Prove P1-P10 for every input: symbolic execution of the stub's machine code (SLEIGH p-code, z3).

    Exit 0 when every convention is PROVED; 1 on a violation or where the proof is UNPROVEN.
    Without --stub, the stubs proved are the ones `generate` would write now."""
    _documents_on_error(output)
    from vtlgen.prove import run as proof

    loaded_specs = load_specs(spec)
    _one_stub(loaded_specs, stub, convention)
    results = []
    for loaded in loaded_specs:
        for plan in _selected_plans(loaded, convention):
            text, name = _stub_source(loaded, plan, stub, out)
            try:
                results.append((plan, proof.prove(plan, text, name, proof_budget)))
            except AssemblyError as error:
                fail(str(error))
    if counterexamples is not None:
        files = {
            counterexamples / proof.counterexample_name(plan, index, violation): proof.replay_file(concrete, violation)
            for plan, result in results
            for index, (violation, concrete) in enumerate(result.counterexamples)
        }
        try:
            for path, text in files.items():
                sync.write_atomically(path, text)  # never through a link, never through a folder out of the tree
        except OSError as error:
            fail(f"error: cannot write {safepath.shown(counterexamples)}: {error.strerror or error}")
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
    _documents_on_error(output)
    results = [(loaded, lint_spec(loaded.spec, loaded.tree)) for loaded in load_specs(spec)]
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
        typer.echo(json.dumps(json_output.document(json_output.LINT, {"ok": failing == 0, "findings": rows}), indent=2))
    else:
        for loaded, findings in results:
            _echo_findings(loaded, findings)
            waived_count = sum(1 for f in findings if f.waived)
            counted = f"{len(findings) - waived_count} finding(s), {waived_count} waived"
            typer.echo(f"{safepath.shown(loaded.path)}: {counted}")
    if failing:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The spec as it was.", show_default=False)],
    new: Annotated[Path, typer.Argument(help="The spec as it is now.", show_default=False)],
    output: Annotated[OutputFormat, typer.Option("--format", help="text or json.")] = OutputFormat.text,
) -> None:
    """List ABI changes between two spec revisions; exit 1 when NEW's version bump is too small."""
    _documents_on_error(output)
    before, after = load_one(old), load_one(new)
    changes = abi_diff.diff(before.spec, after.spec)
    required = abi_diff.required_bump(changes)
    actual = abi_diff.actual_bump(before.spec.abi_version, after.spec.abi_version)
    ok = abi_diff.bump_ok(required, actual)
    bump = "no version change" if actual == "none" else f"{actual} bump"
    verdict = (
        f"ABI {before.spec.abi_version} -> {after.spec.abi_version}: {bump}; "
        f"the changes need {'no' if required == 'none' else 'a ' + required} bump: {'ok' if ok else 'NOT OK'}"
    )
    if output is OutputFormat.json:
        payload = {
            "old": before.spec.abi_version, "new": after.spec.abi_version, "required_bump": required,
            "actual_bump": actual, "ok": ok, "changes": [c.as_dict() for c in changes],
        }  # fmt: skip
        typer.echo(json.dumps(json_output.document(json_output.DIFF, payload), indent=2))
    else:
        for change in changes:
            typer.echo(f"{change.kind:<10} {change.what}: {change.old} -> {change.new} ({change.why})")
        if not changes:
            typer.echo("no ABI changes")
        typer.echo(verdict)
    if not ok:
        raise typer.Exit(EXIT_FINDINGS)


def _full_short_help() -> None:
    """click cuts each command's summary in --help to the terminal's width ("Print the register
    classes, the context layout and the..."); a short_help is printed whole, wrapped."""
    for info in app.registered_commands:
        if info.short_help is None and info.callback is not None and info.callback.__doc__:
            first = info.callback.__doc__.strip().split("\n\n", 1)[0]
            info.short_help = " ".join(first.split())


_full_short_help()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
