"""A validation report to look at: one self-contained HTML file.

Built from what any checker reports (a validation report's `as_dict()`, a proof's the same
way) and the Plan, so `validate --html` and a later `prove --html` share it. The page has
no scripts and loads nothing: the context is drawn to scale as inline SVG, the register
classes are a matrix per VTL, and every stub instruction is a row with its role, the
context slots it touches and a mark where a property broke, linked both ways with the
violation and the command that reproduces it.

Spec text and stub files come from strangers: the template autoescapes everything.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vtlgen import __version__
from vtlgen.generate import context_map, render, sync
from vtlgen.isa.assembler import Assembly, assemble
from vtlgen.plan import Plan
from vtlgen.properties import statements
from vtlgen.report import listing
from vtlgen.spec.class_meaning import meaning

TEMPLATE = "html/report.html.j2"

# The context drawing: bytes per row and pixels per byte, so one 8-byte slot is 48 px wide.
ROW_BYTES = 128
BYTE_PX = 6
ROW_PX = 30
AXIS_PX = 48  # room for the row's offset at the left


# Every value is text, whoever wrote it: HTML-escaped on output.
HTML = render.Dialect(autoescape=True)


@dataclass(frozen=True)
class StubRun:
    """One convention's stub and what a checker said about it."""

    plan: Plan
    stub_text: str
    stub_file: str
    # ConventionReport.as_dict(), or a prover's report in the same shape. Keys read (all optional
    # but `violations`): backend, trials, ok, instructions_per_round_trip, lower_bound,
    # properties_checked, properties_unobservable ("P8: why"), proved (property ids), occurrences,
    # not_modelled, vector_lengths, and violations[{property, message, offset, disassembly,
    # source_file, source_line, register, expected, actual, seed}].
    report: Mapping[str, Any]
    reproduce: str  # the command that ran it; the page adds --seed S --trials 1
    assembly: Assembly | None = None  # the stub as the checkers assembled it; assembled here when not given


@dataclass(frozen=True)
class Box:
    """One rectangle of the context drawing, in pixels."""

    x: int
    y: int
    width: int
    kind: str
    label: str  # printed inside when it fits
    title: str  # the tooltip: slot, register, offsets


def drawing(plan: Plan) -> list[Box]:
    """The context to scale: each element, padding run and unused run as boxes, split at row ends."""
    boxes = []
    for region in context_map.elements(plan):
        name = region.registers[0] if region.registers else (region.slots or region.kind)
        title = f"{region.slots or region.kind}: bytes {region.offset}..{region.end - 1}, {region.kind}"
        if region.registers:
            title = f"{region.slots} ({region.registers[0]}): bytes {region.offset}..{region.end - 1}, {region.kind}"
        start = region.offset
        while start < region.end:
            row_end = (start // ROW_BYTES + 1) * ROW_BYTES
            end = min(region.end, row_end)
            width = (end - start) * BYTE_PX
            label = name if width >= BYTE_PX * 4 and len(name) * 6 <= width else ""
            boxes.append(Box(AXIS_PX + (start % ROW_BYTES) * BYTE_PX, (start // ROW_BYTES) * ROW_PX, width, region.kind,
                             label, title))  # fmt: skip
            start = end
    return boxes


@dataclass(frozen=True)
class Mark:
    property: str
    anchor: str  # the violation's id


@dataclass(frozen=True)
class ListingRow:
    row: listing.Row
    anchor: str
    marks: tuple[Mark, ...]  # properties violated here
    judged: tuple[tuple[str, str], ...]  # (property, status) of those judged at this instruction


# Where the properties are judged (README "Validation"): at the trap, after the return, and
# at each memory access (P7 only for SP-based ones). P3 and P6 hold at every instruction,
# which the page says once rather than on every row.
_AT_TRAP = ("P1", "P2", "P9")
_AT_RETURN = ("P4", "P5")


def _judged_at(row: listing.Row) -> tuple[str, ...]:
    if row.role == "trap":
        return _AT_TRAP
    if row.disassembly == "ret":
        return _AT_RETURN
    if any(place.startswith("stack") for place in row.touches):
        return ("P7", "P8")
    return ("P8",) if row.touches else ()


@dataclass(frozen=True)
class ViolationView:
    data: Mapping[str, Any]
    anchor: str
    instruction: str | None  # the instruction row's id; None after the return
    reproduce: str


@dataclass(frozen=True)
class PropertyView:
    id: str
    text: str
    status: str  # violated, held, proved, not observed
    detail: str
    limited: bool = False  # the backend observes it only in part (e.g. qemu-user: at the trap and the end)


@dataclass
class RunView:
    anchor: str
    run: StubRun
    rows: list[ListingRow] = field(default_factory=list)
    violations: list[ViolationView] = field(default_factory=list)
    properties: list[PropertyView] = field(default_factory=list)
    roles_known: bool = True

    @property
    def report(self) -> Mapping[str, Any]:
        return self.run.report


def _properties(report: Mapping[str, Any]) -> list[PropertyView]:
    broken = {str(v["property"]) for v in report.get("violations", [])}
    proved = set(report.get("proved", []))
    limits = {str(text).split(":", 1)[0]: str(text) for text in report.get("properties_unobservable", [])}
    checked = set(report.get("properties_checked", []))
    occurrences = report.get("occurrences", {})
    out = []
    for pid, text in statements().items():
        if pid in broken:
            status, detail = "violated", f"broken in {occurrences.get(pid, '?')} observation(s)"
        elif pid in proved:
            status, detail = "proved", "for all inputs"
        elif pid in checked:
            status, detail = "held", f"in {report.get('trials', '?')} trial(s)"
        else:
            status, detail = "not observed", ""
        if pid in limits:
            detail = f"{detail}; limit: {limits[pid]}" if detail else limits[pid]
        out.append(PropertyView(pid, text, status, detail, pid in limits))
    return out


def run_view(index: int, run: StubRun) -> RunView:
    anchor = f"run{index}"
    assembly = run.assembly or assemble(run.stub_text, run.stub_file)
    rows = listing.annotate(run.plan, assembly)
    violations = []
    marks: dict[int, list[Mark]] = {}
    offsets = {row.offset for row in rows}
    for number, data in enumerate(run.report.get("violations", [])):
        offset = data.get("offset")
        instruction = f"{anchor}-i{offset}" if offset in offsets else None
        violation_anchor = f"{anchor}-v{number}"
        if instruction is not None:
            marks.setdefault(offset, []).append(Mark(str(data["property"]), violation_anchor))
        seed = data.get("seed")
        command = (
            f"{run.reproduce} --seed {int(seed)} --trials 1"
            if seed is not None
            else "vtlgen prove --counterexamples DIR (with the same spec, --convention and --stub), then "
            "vtlgen validate --replay DIR/FILE.json"
        )
        violations.append(ViolationView(data, violation_anchor, instruction, command))
    properties = _properties(run.report)
    # Marked per instruction only where the backend watched every instruction.
    status = {prop.id: "" if prop.limited else prop.status for prop in properties}
    listing_rows = [
        ListingRow(
            row,
            f"{anchor}-i{row.offset}",
            tuple(marks.get(row.offset, ())),
            tuple((pid, status[pid]) for pid in _judged_at(row) if status[pid] in ("held", "proved")),
        )
        for row in rows
    ]
    return RunView(
        anchor,
        run,
        listing_rows,
        violations,
        properties,
        roles_known=any(row.block for row in rows),  # blocks are known only for the generated stub
    )


@dataclass(frozen=True)
class ClassCell:
    registers: str
    class_: str
    slot: str
    vtl0: str
    vtl2: str
    kept_by: str
    note: str


def class_matrix(plan: Plan) -> list[ClassCell]:
    return [ClassCell(row.registers, row.class_, row.slot, *_meaning_of(row.class_), row.note) for row in plan.classes]


def _meaning_of(class_: str) -> tuple[str, str, str]:
    m = meaning(class_, "caller")
    return m.vtl0, m.vtl2, m.kept_by


def reproduce_command(plan: Plan, stub: str | None, backend: str, out: str | None = None) -> str:
    """The `vtlgen validate` command that runs one convention again (quoted for a shell)."""
    words = ["vtlgen", "validate", plan.spec_file, "--convention", plan.convention_id]
    if stub is not None:
        words += ["--stub", stub]
    if out is not None:
        words += ["--out", out]
    return " ".join(shlex.quote(word) for word in [*words, "--backend", backend])


def page(runs: Sequence[StubRun], title: str = "vtlgen validation report", ok: bool | None = None) -> str:
    """`ok` is the process's verdict when the caller has one (`vtlgen.verify`): the page says
    what the exit code says, even for a run (a replay) whose trials it does not list."""
    views = [run_view(index, run) for index, run in enumerate(runs)]
    specs: dict[str, Plan] = {}
    for run in runs:
        specs.setdefault(run.plan.spec_id, run.plan)
    limit_rows = {spec_id: -(-(plan.context.max_size or plan.context.size) // ROW_BYTES) for spec_id, plan in
                  specs.items()}  # fmt: skip
    return (
        render.environment(HTML)
        .get_template(TEMPLATE)
        .render(
            title=title,
            version=__version__,
            runs=views,
            specs=specs,
            drawings={spec_id: drawing(plan) for spec_id, plan in specs.items()},
            drawing_rows=limit_rows,
            matrices={spec_id: class_matrix(plan) for spec_id, plan in specs.items()},
            kinds=context_map.KINDS,
            row_bytes=ROW_BYTES,
            byte_px=BYTE_PX,
            row_px=ROW_PX,
            axis_px=AXIS_PX,
            ok=ok if ok is not None else all(view.report.get("ok", not view.violations) for view in views),
        )
    )


def write(path: Path, runs: Sequence[StubRun], title: str = "vtlgen validation report", ok: bool | None = None) -> None:
    """Render, then replace `path` whole: a browser or CI upload never sees half a page."""
    sync.write_atomically(path, page(runs, title, ok))
