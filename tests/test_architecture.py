"""The package layout is the architecture: stages import only stages below them, and no module
imports itself back through a circle."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vtlgen"

# Floors, lowest first. A module may import its own stage and any stage on a lower floor.
# generate and validate share a floor and must not import each other: both read the Plan,
# and validation must judge a stub without the code that wrote it.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"plan", "properties", "guard"}),
    frozenset({"isa"}),
    frozenset({"spec"}),
    frozenset({"lower"}),
    frozenset({"generate", "validate"}),
    frozenset({"prove"}),
    frozenset({"report"}),
    frozenset({"verify"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
ROOT_MODULES_AT_MOST = 6


def stage_of(module: str) -> str:
    """`vtlgen.validate.backends.unicorn` -> `validate`; `vtlgen` itself is the version only."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor_of(stage: str) -> int:
    if stage == "__init__":
        return -1  # vtlgen/__init__.py holds the version and nothing else
    for index, floor in enumerate(FLOORS):
        if stage in floor:
            return index
    raise AssertionError(f"stage {stage!r} is on no floor: add it to FLOORS")


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> Iterator[str]:
    """Every vtlgen module the file imports, at any depth (lazy imports in functions count)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.split(".")[0] == "vtlgen")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "vtlgen":
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                known = (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
                ).exists()
                yield candidate if known else node.module


@functools.cache
def graph() -> dict[str, frozenset[str]]:
    return {
        module_name(path): frozenset(imports_of(path)) - {module_name(path)} for path in sorted(PACKAGE.rglob("*.py"))
    }


def test_the_root_holds_few_modules() -> None:
    root = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(root) <= ROOT_MODULES_AT_MOST, root


def test_every_package_states_its_public_names() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if init.parent == PACKAGE:
            continue
        tree = ast.parse(init.read_text())
        names = [
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        ]
        assert "__all__" in names, f"{init} has no __all__"
        assert ast.get_docstring(tree), f"{init} does not say what the stage is"


def arrows_up(edges: dict[str, frozenset[str]]) -> list[str]:
    """Every import of a module on a higher floor, or of another stage on the same floor."""
    found = []
    for module in sorted(edges):
        mine = floor_of(stage_of(module))
        for imported in sorted(edges[module]):
            theirs = floor_of(stage_of(imported))
            if stage_of(imported) != stage_of(module) and theirs >= mine:
                found.append(f"{module} ({stage_of(module)}, floor {mine}) imports {imported} (floor {theirs})")
    return found


def circles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """One circle per strongly connected knot, found by depth-first search."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    return found


def test_imports_go_down_the_floors() -> None:
    assert arrows_up(graph()) == []


def test_no_module_imports_itself_back() -> None:
    assert circles(graph()) == []


def test_the_rules_have_teeth() -> None:
    """The same checks on a made-up graph: an ISA module importing lowering, validation importing
    generation, and a circle inside one stage are each found."""
    edges = {
        "vtlgen.isa.disassembler": frozenset({"vtlgen.lower.a64"}),
        "vtlgen.lower.a64": frozenset({"vtlgen.plan"}),
        "vtlgen.validate.backends.qemu_user": frozenset({"vtlgen.generate.render"}),
        "vtlgen.generate.render": frozenset({"vtlgen.plan"}),
        "vtlgen.spec.lint": frozenset({"vtlgen.spec.rules"}),
        "vtlgen.spec.rules": frozenset({"vtlgen.spec.lint"}),
        "vtlgen.plan": frozenset(),
    }
    assert [line.split()[0] for line in arrows_up(edges)] == [
        "vtlgen.isa.disassembler",
        "vtlgen.validate.backends.qemu_user",
    ]
    assert circles(edges) == [["vtlgen.spec.lint", "vtlgen.spec.rules", "vtlgen.spec.lint"]]


def test_one_jinja_environment_factory() -> None:
    """Templates are rendered through `generate.render.environment` only, so that strictness
    and whitespace cannot differ between targets."""
    makers = sorted(module_name(path) for path in PACKAGE.rglob("*.py") if "jinja2.Environment(" in path.read_text())
    assert makers == ["vtlgen.generate.render"]


def test_templates_sit_in_one_folder_per_target() -> None:
    templates = PACKAGE.parent / "templates"
    assert not list(templates.glob("*.j2")), "a template outside its target's folder"
    assert {path.parent.name for path in templates.rglob("*.j2")} == {"asm", "c", "python", "kbuild", "rst", "html"}
