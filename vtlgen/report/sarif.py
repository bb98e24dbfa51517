"""Lint findings as SARIF 2.1.0, the format GitHub code scanning ingests.

Every rule is described in the driver's metadata; every result points at the spec file,
line and column; waived findings carry an in-source suppression with the waiver's reason.
"""

from __future__ import annotations

from vtlgen import __version__
from vtlgen.spec.lint import LintFinding
from vtlgen.spec.loader import LoadedSpec
from vtlgen.spec.rules import RULES

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
                        "rules": [_rule(rule_id) for rule_id in rule_ids],
                    }
                },
                "results": sarif_results,
            }
        ],
    }
