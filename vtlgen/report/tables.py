"""Human-readable tables of a spec (for `vtlgen show`), built with rich."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from vtlgen.generate import vl_macros
from vtlgen.plan import Plan
from vtlgen.spec.schema import Spec


def add_row(table: Table, *cells: str | Text) -> None:
    """Cells are plain text: spec prose such as `[/bold]` is shown, never parsed as rich markup."""
    table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in cells))


def register_table(plan: Plan) -> Table:
    table = Table(title=f"{plan.spec_id}: register classes", title_justify="left")
    for column in ("registers", "class", "context slot", "note"):
        table.add_column(column)
    for row in plan.classes:
        add_row(table, row.registers, row.class_, row.slot, row.note)
    return table


def context_table(plan: Plan) -> Table:
    layout = plan.context
    title = f"struct {layout.c_name}: {layout.size} bytes (max {layout.max_size or '-'}, align {layout.align})"
    table = Table(title=title, title_justify="left")
    for column in ("field", "type", "count", "offset", "end", "macro"):
        table.add_column(column, justify="right" if column in ("count", "offset", "end") else "left")
    for element in layout.elements:
        add_row(
            table,
            element.name,
            element.c_type,
            str(element.count),
            str(element.offset),
            str(element.offset + element.size),
            element.macro,
        )
    return table


def vl_table(plan: Plan) -> Table | None:
    """The VL-scaled extended context: offsets as formulas in vq = VL / 16, and the bytes
    each field takes at the largest vq."""
    view = vl_macros.view(plan.context)
    if view is None:
        return None
    title = (
        f"extended context, vq = VL / 16 in 1..{view.max_vq}: from {view.base}, "
        f"{view.size_formula} bytes in all ({view.size_vl.head})"
    )
    table = Table(title=title, title_justify="left")
    for column in ("field", "kind", "count", "element size", "offset of element n", f"bytes at vq {view.max_vq}"):
        table.add_column(column, justify="right" if column == "count" else "left")
    table.add_column("macro")
    for field in view.fields:
        add_row(
            table,
            field.name,
            field.kind,
            str(field.count),
            field.size_formula,
            field.offset_formula,
            field.bytes_at(view.max_vq),
            field.offset.name,
        )
    return table


def convention_table(plans: list[Plan]) -> Table:
    table = Table(title="conventions", title_justify="left")
    for column in ("id", "symbol", "conduit", "function ID", "transport", "budget"):
        table.add_column(column)
    for plan in plans:
        fid = plan.model.function_id
        add_row(
            table,
            plan.convention_id,
            plan.symbol,
            f"{plan.model.conduit_text} (0x{plan.model.conduit_encoding:08x})",
            f"0x{fid:08x}" if fid is not None else "-",
            plan.transport,
            f">= {plan.budget.lower_bound} insns",
        )
    return table


def decisions_table(spec: Spec) -> Table:
    """Where the sources disagree, which one the spec follows (its `decisions`)."""
    table = Table(title=f"{spec.id}: decisions", title_justify="left")
    for column in ("topic", "follows", "against", "why"):
        table.add_column(column)
    for decision in spec.decisions:
        add_row(table, decision.topic, decision.follows, ", ".join(decision.against), decision.reason)
    return table


def budget_table(plan: Plan) -> Table:
    table = Table(title=f"{plan.convention_id}: instruction budget (lower bound per round trip)", title_justify="left")
    table.add_column("term")
    table.add_column("instructions", justify="right")
    for term in plan.budget.terms:
        add_row(table, term.what, str(term.count))
    add_row(table, Text("lower bound", style="bold"), Text(str(plan.budget.lower_bound), style="bold"))
    return table


def spec_overview(spec: Spec, plans: list[Plan]) -> Group:
    first = plans[0]
    budgets = [budget_table(plan) for plan in plans]
    extended = vl_table(first)
    contexts = [context_table(first), *([extended] if extended is not None else [])]
    return Group(register_table(first), *contexts, convention_table(plans), decisions_table(spec), *budgets)
