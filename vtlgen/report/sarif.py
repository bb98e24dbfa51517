"""Lint findings and validation violations as SARIF 2.1.0, the format GitHub code scanning ingests.

Every rule is described in the driver's metadata: a lint rule from `vtlgen.spec.rules`, a
property P1-P10 from `vtlgen.properties`. A lint result points at the spec file, line and
column, and a waived finding carries an in-source suppression with the waiver's reason; a
violation points at the stub's file and line.
"""

from __future__ import annotations

from collections.abc import Sequence

from vtlgen import __version__, properties
from vtlgen.spec.lint import LintFinding
from vtlgen.spec.loader import LoadedSpec
from vtlgen.spec.rules import RULES
from vtlgen.validate.results import ConventionReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/vtlgen/vtlgen#vtlgen-lint"


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
        uri = loaded.path.as_posix()
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
                            "artifactLocation": {"uri": uri},
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


def _log(rules: list[dict[str, object]], results: list[dict[str, object]]) -> dict[str, object]:
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vtlgen",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


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
            location: dict[str, object] = {"artifactLocation": {"uri": v.source_file}}
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
