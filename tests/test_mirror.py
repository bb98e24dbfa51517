"""The tests mirror the package: vtlgen/<package>/<module>.py is tested in
tests/<package>/test_<module>.py, or is listed below with where it is tested instead. Every
test folder is a package (module names repeat across packages), and no test module imports
another: what they share lives in tests/support/."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

# Modules without a test module of their own, each with where its behaviour is checked. Write
# the test module and drop the line; the check below fails on a line whose test now exists.
UNTESTED = {
    "plan": "the IR's data classes; every test of lower/, generate/ and validate/ builds Plans",
    "generate/arch_extension": "the stubs' `.arch_extension` lines, in tests/generate/test_vl_macros.py",
    "generate/entry_state": "the entry requirements in every header, in tests/generate/test_vl_macros.py",
    "guard/quoting": "attacked through every output in tests/security/test_prose_injection.py",
    "guard/safepath": "attacked through the CLI in tests/security/test_paths.py",
    "guard/sandbox": "tests/security/test_native_containment.py and test_assembler_limits.py",
    "isa/stubsource": "the vetting rules, in tests/security/test_stub_statements.py and tests/isa/test_sve.py",
    "lower/vector_transfers": "the Z/P/FFR transfers, in tests/lower/test_convention.py and the vector trials",
    "prove/counterexample": "solved and replayed for every violated mutant in tests/prove/test_run.py",
    "prove/explorer": "every path of the generated and corpus stubs, in tests/prove/test_run.py",
    "prove/hypervisor": "the model's move in the proof, in tests/prove/test_run.py",
    "prove/lifter": "units in tests/prove/test_pcode.py",
    "prove/obligations": "P1-P10 proved or violated per stub in tests/prove/test_run.py",
    "prove/replay": "every counterexample replayed in tests/prove/test_run.py",
    "prove/state": "units in tests/prove/test_pcode.py",
    "prove/world": "units in tests/prove/test_pcode.py",
    "report/tables": "`vtlgen show` in tests/test_cli.py",
    "spec/context_layout": "the Plan's layout in tests/lower/test_convention.py and tests/spec/test_vl_scaled.py",
    "spec/discover": "which specs a command reads, in tests/test_cli.py",
    "spec/rules": "each rule broken on purpose in tests/spec/test_lint.py",
    "validate/backends/unicorn_capi": "the C-API banks under every trial, in tests/validate/backends/test_unicorn.py",
    "validate/backends/unicorn_harness": "both watch modes compared, in tests/validate/backends/test_unicorn_watch.py",
    "validate/backends/unicorn_vector": "the vector bridge at each VL, in tests/validate/backends/test_unicorn.py",
    "validate/backends/base": "the interface's types, used by every backend's tests in tests/validate/backends/",
    "validate/finding": "the contract's findings in tests/validate/test_contract.py",
    "validate/results": "the reports read in tests/validate/test_run.py and tests/validate/test_contract.py",
}

NOT_TESTS = {"data", "shim", "bench", "__pycache__"}  # fixtures, header shims, scripts `nox -s bench` runs


def modules(package: Path) -> set[str]:
    """Each module of the package as its path below it without `.py`: `spec/diff`."""
    return {p.relative_to(package).with_suffix("").as_posix() for p in package.rglob("*.py") if p.name != "__init__.py"}


def expected_test_module(module: str) -> str:
    folder, _, name = module.rpartition("/")
    return f"{folder}/test_{name}.py" if folder else f"test_{name}.py"


def unmatched(package: Path, tests: Path, untested: dict[str, str]) -> list[str]:
    """Modules with neither a test module nor a line in `untested`, and lines that are stale."""
    problems = []
    for module in sorted(modules(package)):
        has_test = (tests / expected_test_module(module)).exists()
        if not has_test and module not in untested:
            problems.append(f"{module}: no {expected_test_module(module)} and no line in UNTESTED")
        if has_test and module in untested:
            problems.append(f"{module}: {expected_test_module(module)} exists; drop its UNTESTED line")
    problems += [
        f"{module}: listed in UNTESTED but no such module" for module in untested if module not in modules(package)
    ]
    return problems


def folders_without_init(tests: Path) -> list[str]:
    folders = {p.parent for p in tests.rglob("*.py") if not NOT_TESTS & set(p.relative_to(tests).parts)}
    return sorted(f.relative_to(tests).as_posix() or "." for f in folders if not (f / "__init__.py").exists())


def imports_of_test_modules(tests: Path) -> list[str]:
    """`from tests.x.test_y import ...` or `from tests.x.conftest import ...` anywhere under tests/."""
    found = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                last = name.rsplit(".", 1)[-1]
                if name.startswith("tests.") and (last.startswith("test_") or last == "conftest"):
                    found.append(f"{path.relative_to(tests)}: {name}")
    return found


def test_every_module_has_a_test_module_or_says_where_it_is_tested() -> None:
    assert unmatched(ROOT / "vtlgen", ROOT / "tests", UNTESTED) == []


def test_the_mirror_check_names_a_new_module_and_a_stale_line(tmp_path: Path) -> None:
    package, tests = tmp_path / "pkg", tmp_path / "tests"
    for path in (package / "spec" / "diff.py", package / "spec" / "lint.py", tests / "spec" / "test_lint.py"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    assert unmatched(package, tests, {"spec/lint": "why", "gone": "why"}) == [
        "spec/diff: no spec/test_diff.py and no line in UNTESTED",
        "spec/lint: spec/test_lint.py exists; drop its UNTESTED line",
        "gone: listed in UNTESTED but no such module",
    ]
    assert unmatched(package, tests, {"spec/diff": "why"}) == []


def test_every_test_folder_is_a_package() -> None:
    assert folders_without_init(ROOT / "tests") == []


def test_a_test_folder_without_init_is_named(tmp_path: Path) -> None:
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "test_diff.py").touch()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "fixture.py").touch()
    assert folders_without_init(tmp_path) == ["spec"]


def test_no_test_module_imports_another() -> None:
    assert imports_of_test_modules(ROOT / "tests") == []


def test_an_import_of_a_test_module_is_named(tmp_path: Path) -> None:
    (tmp_path / "test_cli.py").write_text("from tests.spec.test_loader import CASES\nimport tests.security.conftest\n")
    (tmp_path / "test_ok.py").write_text(
        "from tests.support.malformed_specs import CASES\nfrom tests.support import ROOT\n"
    )
    assert imports_of_test_modules(tmp_path) == [
        "test_cli.py: tests.spec.test_loader",
        "test_cli.py: tests.security.conftest",
    ]
