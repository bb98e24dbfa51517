"""SARIF that survives bad input, as a CI job uses it: `vtlgen lint|validate|prove --format
sarif > x.sarif` on a spec a pull request broke still writes a log that names the problem
(exit 2 kept), every path relative to the repository root, and the log keeps to SARIF 2.1.0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import pytest

from tests.support import ROOT, SPEC, edited, invoke
from tests.support.malformed_specs import CASES
from tests.support.sarif_schema import SARIF_2_1_0
from vtlgen.report import sarif

# A broken spec of each kind the loader reports: YAML syntax, a schema error, a cross-part check.
BROKEN = {
    "yaml indent": ("  x18:\n", "  x18:\n   oops: [\n"),
    **{name: (old, new) for name, old, new, _, _ in CASES[::6]},
}


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout (a folder with .git) with the spec in spec/, run from a subfolder of it."""
    (tmp_path / ".git").mkdir()
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    (tmp_path / "ci").mkdir()
    monkeypatch.chdir(tmp_path / "ci")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    return tmp_path


def relative_uris(log: dict[str, object]) -> list[dict[str, str]]:
    found = []
    for run in log["runs"]:  # type: ignore[attr-defined]
        for result in run["results"]:
            for location in result.get("locations", []):
                found.append(location["physicalLocation"]["artifactLocation"])
    for where in found:
        uri = where["uri"]
        assert not uri.startswith("/") and ".." not in uri.split("/") and ":" not in uri, uri
    return found


@pytest.mark.parametrize("command", ["lint", "validate", "prove"])
@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_spec_is_a_sarif_result_with_exit_2(repository: Path, command: str, case: str) -> None:
    old, new = BROKEN[case]
    spec = repository / "spec" / SPEC.name
    spec.write_text(edited(spec.read_text(), old, new))
    result = invoke(command, "../spec/" + SPEC.name, "--format", "sarif")
    assert result.exit_code == 2
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_2_1_0)
    (run,) = log["runs"]
    assert run["invocations"] == [{"executionSuccessful": False}]
    assert run["results"] and {r["ruleId"] for r in run["results"]} == {sarif.INPUT_RULE}
    where = relative_uris(log)
    assert where and all(w == {"uri": f"spec/{SPEC.name}", "uriBaseId": sarif.SRCROOT} for w in where)
    # the log names the same line as the message on stderr
    first = run["results"][0]
    line = first["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert f"{SPEC.name}:{line}:" in result.stderr and first["message"]["text"] in result.stderr


def test_a_missing_spec_is_a_result_too(repository: Path) -> None:
    result = invoke("lint", "nowhere.yaml", "--format", "sarif")
    assert result.exit_code == 2
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_2_1_0)
    assert log["runs"][0]["results"][0]["message"]["text"]
    relative_uris(log)


def test_lint_findings_point_into_the_repository(repository: Path) -> None:
    posted = repository / "spec" / "posted.yaml"
    shutil.copy(ROOT / "tests/data/hyperv_vtl_posted.yaml", posted)
    result = invoke("lint", str(posted), "--format", "sarif")  # an absolute path in, a relative one out
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_2_1_0)
    assert {w["uri"] for w in relative_uris(log)} == {"spec/posted.yaml"}


def test_a_file_outside_the_checkout_is_named_without_its_folders(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    assert sarif.artifact(root / "spec" / "a.yaml", root) == {"uri": "spec/a.yaml", "uriBaseId": sarif.SRCROOT}
    assert sarif.artifact(tmp_path / "elsewhere" / "stub.S", root) == {"uri": "stub.S"}


def test_the_checkout_is_found_above_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    assert sarif.repository_root(tmp_path / "a" / "b") == tmp_path
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path / "a"))
    assert sarif.repository_root(tmp_path / "a" / "b") == tmp_path / "a"


def test_a_bad_stub_is_located_in_sarif(repository: Path) -> None:
    stub = repository / "stub.S"
    stub.write_text("    mov w0, #0x46000001\n    ret\n")
    spec = str(ROOT / "tests/data/hyperv_vtl_1.0.0.yaml")
    result = invoke("validate", spec, "--convention", "hvc3", "--stub", "../stub.S", "--format", "sarif")
    assert result.exit_code == 2
    log = json.loads(result.stdout)
    jsonschema.validate(log, SARIF_2_1_0)
    assert relative_uris(log) == [{"uri": "stub.S", "uriBaseId": sarif.SRCROOT}]
