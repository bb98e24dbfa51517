"""Lint findings and validation violations as SARIF 2.1.0, the format GitHub code scanning ingests.

Every rule is described in the driver's metadata: a lint rule from `vtlgen.spec.rules`, a
property P1-P10 from `vtlgen.properties`. A lint result points at the spec file, line and
column, and a waived finding carries an in-source suppression with the waiver's reason; a
violation points at the stub's file and line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from vtlgen import __version__, properties
from vtlgen.spec.lint import LintFinding
from vtlgen.spec.loader import LoadedSpec
from vtlgen.spec.rules import RULES
from vtlgen.validate.results import ConventionReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/vtlgen/vtlgen#vtlgen-lint"
# SARIF 2.1.0 section 3.4.4: a relative URI with a uriBaseId that the consumer resolves; GitHub
# code scanning resolves SRCROOT to the checkout, so a result points at the file in the PR.
SRCROOT = "SRCROOT"
INPUT_RULE = "vtlgen-bad-input"


def repository_root(start: Path | None = None) -> Path:
    """The checkout the paths are relative to: $GITHUB_WORKSPACE in GitHub Actions, else the
    nearest folder above the working directory holding `.git`, else the working directory."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        return Path(os.path.abspath(workspace))
    here = Path(os.path.abspath(start or Path.cwd()))
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def artifact(path: str | Path, root: Path | None = None) -> dict[str, object]:
    """An artifactLocation: the path relative to the repository root, never absolute, never
    climbing out with `..`. A file outside the checkout (a temporary stub) is named by its
    file name alone: SARIF consumers cannot open it anyway, and the run must not leak the
    machine's folders."""
    base = root or repository_root()
    absolute = Path(os.path.abspath(path))  # a relative path is the working directory's, as the user typed it
    try:
        relative = PurePosixPath(absolute.relative_to(base).as_posix())
    except ValueError:
        return {"uri": PurePosixPath(absolute.name).as_posix() or "unknown"}
    return {"uri": relative.as_posix(), "uriBaseId": SRCROOT}


def _rule(rule_id: str) -> dict[str, object]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": f"{rule.reason} Source: {rule.source}."},
        "help": {
            "text": f"{rule.reason}\nSource: {rule.source}",
            "markdown": f"{rule.reason}\n\n*Source:* {rule.source}",
        },
        "defaultConfiguration": {"level": rule.severity},
        "properties": {"tags": ["abi", "arm64", "security" if "steering" in rule.id else "correctness"]},
    }


def report(results: list[tuple[LoadedSpec, list[LintFinding]]]) -> dict[str, object]:
    rule_ids = list(RULES)
    sarif_results = []
    for loaded, findings in results:
        where = artifact(loaded.path)
        for finding in findings:
            line, column = loaded.locate(finding.path)
            message = finding.message if finding.convention is None else f"{finding.convention}: {finding.message}"
            result: dict[str, object] = {
                "ruleId": finding.rule,
                "ruleIndex": rule_ids.index(finding.rule),
                "level": finding.severity,
                "message": {"text": message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": where,
                            "region": {"startLine": line, "startColumn": column},
                        }
                    }
                ],
                "partialFingerprints": {
                    "vtlgen/v1": f"{finding.rule}:{finding.convention or '-'}:{'.'.join(map(str, finding.path))}"
                },
            }
            if finding.waived:
                result["suppressions"] = [{"kind": "inSource", "justification": finding.waived}]
            sarif_results.append(result)
    return _log([_rule(rule_id) for rule_id in rule_ids], sarif_results)


def _log(
    rules: list[dict[str, object]], results: list[dict[str, object]], successful: bool = True
) -> dict[str, object]:
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "vtlgen",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "invocations": [{"executionSuccessful": successful}],
        "results": results,
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


_INPUT_RULE: dict[str, object] = {
    "id": INPUT_RULE,
    "name": "BadInput",
    "shortDescription": {"text": "The input could not be read: a spec, a stub or a file named on the command line."},
    "fullDescription": {
        "text": "vtlgen stopped before checking anything (exit 2): the message names what is wrong and what is "
        "expected."
    },
    "defaultConfiguration": {"level": "error"},
    "properties": {"tags": ["input"]},
}


def input_errors(problems: Sequence[dict[str, object]]) -> dict[str, object]:
    """Bad input (exit 2) as a log: each problem a result, located when its file is known,
    so a code-scanning upload shows why the spec broke instead of failing on an empty file."""
    results: list[dict[str, object]] = []
    for problem in problems:
        result: dict[str, object] = {
            "ruleId": INPUT_RULE,
            "ruleIndex": 0,
            "level": "error",
            "message": {"text": str(problem["message"])},
        }
        if problem.get("file"):
            region = {"startLine": problem.get("line") or 1, "startColumn": problem.get("column") or 1}
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": artifact(str(problem["file"])), "region": region}}
            ]
        results.append(result)
    return _log([_INPUT_RULE], results, successful=False)


def _property_rule(prop: properties.Property) -> dict[str, object]:
    return {
        "id": prop.id,
        "name": "".join(part.capitalize() for part in prop.name.split()),
        "shortDescription": {"text": prop.statement},
        "fullDescription": {"text": f"{prop.id} {prop.statement}"},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["abi", "arm64", "register-preservation"]},
    }


def violations(reports: Sequence[ConventionReport]) -> dict[str, object]:
    """Every violation of every report (trials, proof, replay) as a result of its property's rule."""
    ids = list(properties.PROPERTIES)
    results: list[dict[str, object]] = []
    for report in reports:
        for v in report.violations:
            region: dict[str, object] = {"startLine": v.source_line} if v.source_line else {}
            location: dict[str, object] = {"artifactLocation": artifact(v.source_file)}
            if region:
                location["region"] = region
            where = f"+0x{v.offset:x}" if v.offset is not None else "end"
            values = f" {v.register}: expected {v.expected}, got {v.actual}" if v.register else ""
            results.append(
                {
                    "ruleId": v.property,
                    "ruleIndex": ids.index(v.property),
                    "level": "error",
                    "message": {
                        "text": f"{report.convention_id} [{report.backend}]: {v.message} at {where} "
                        f"`{v.disassembly}`{values}"
                    },
                    "locations": [{"physicalLocation": location}],
                    "partialFingerprints": {
                        "vtlgen/v1": f"{v.property}:{report.spec_id}/{report.convention_id}:{where}:{v.register or '-'}"
                    },
                }
            )
    return _log([_property_rule(properties.PROPERTIES[pid]) for pid in ids], results)
