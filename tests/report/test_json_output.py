"""Every JSON document the commands print names its format, its version and vtlgen's, and keeps
to its JSON Schema (`vtlgen.report.json_output.SCHEMAS`); bad input is a JSON error document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from tests.support import FIRST, SPEC, edited, invoke
from tests.support.stubs import named
from vtlgen import __version__
from vtlgen.report import json_output


def checked(stdout: str, kind: str) -> dict[str, Any]:
    document = json.loads(stdout)
    jsonschema.Draft202012Validator.check_schema(json_output.SCHEMAS[kind])
    jsonschema.validate(document, json_output.SCHEMAS[kind], cls=jsonschema.Draft202012Validator)
    assert document["format"] == kind and document["vtlgen_version"] == __version__
    assert document["format_version"] == json_output.FORMAT_VERSION
    assert isinstance(document, dict)
    return document


def test_validate_json_with_a_violation(tmp_path: Path) -> None:
    stub = named("hvc3_p1_wrong_offset").write(tmp_path)
    args = ["validate", str(FIRST), "--convention", "hvc3", "--stub", str(stub), "--trials", "3", "--format", "json"]
    result = invoke(*args)
    assert result.exit_code == 1
    document = checked(result.stdout, json_output.REPORTS)
    by_backend = {r["backend"]: r for r in document["reports"]}
    # the trials: each violation names the first seed and how many trials showed it
    trials = by_backend["unicorn"]
    assert trials["trials"] == 3 and trials["violations"]
    assert all(v["seed"] >= 0 and 1 <= v["trials"] <= 3 for v in trials["violations"])
    # the proof composed with them: no seed, no count
    (proof,) = (r for r in document["reports"] if "verdict" in r)
    assert proof["trials"] is None and all(v["seed"] is None for v in proof["violations"])


def test_prove_json_uses_null_where_a_proof_has_no_seed_and_no_trials(tmp_path: Path) -> None:
    stub = named("hvc3_p1_wrong_offset").write(tmp_path)
    result = invoke("prove", str(FIRST), "--convention", "hvc3", "--stub", str(stub), "--format", "json")
    assert result.exit_code == 1
    document = checked(result.stdout, json_output.REPORTS)
    (report,) = document["reports"]
    assert report["verdict"] == "VIOLATED" and report["trials"] is None
    assert report["violations"] and all(v["seed"] is None and v["trials"] is None for v in report["violations"])


def test_lint_and_diff_json() -> None:
    lint = invoke("lint", str(SPEC), "--format", "json")
    assert lint.exit_code == 0
    checked(lint.stdout, json_output.LINT)
    diff = invoke("diff", str(FIRST), str(SPEC), "--format", "json")
    assert diff.exit_code in (0, 1)
    assert checked(diff.stdout, json_output.DIFF)["changes"]


@pytest.mark.parametrize("command", ["lint", "validate", "prove", "diff"])
def test_bad_input_is_a_json_error_document(tmp_path: Path, command: str) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(edited(SPEC.read_text(), "abi_version: 2.0.0", "abi_version: one"))
    args = [str(SPEC), str(broken)] if command == "diff" else [str(broken)]
    result = invoke(command, *args, "--format", "json")
    assert result.exit_code == 2
    document = checked(result.stdout, json_output.ERROR)
    (error,) = document["errors"]
    assert error["path"] == "abi_version" and error["line"] >= 1 and "pattern" in error["message"]


def test_the_schemas_refuse_what_they_should() -> None:
    """A schema that accepts anything checks nothing: an unnamed document and a proof entry
    with the old sentinels are refused."""
    schema = json_output.SCHEMAS[json_output.REPORTS]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"ok": True, "reports": []}, schema)
    old = json_output.document(json_output.REPORTS, {"ok": True, "reports": []})
    jsonschema.validate(old, schema)
    entry = {"spec_id": "s", "convention_id": "c", "stub": "x.S", "backend": "proof", "trials": 0, "ok": True,
             "violations": [], "properties_checked": []}  # fmt: skip
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**old, "reports": [entry]}, schema)
