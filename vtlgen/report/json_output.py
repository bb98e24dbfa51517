"""The JSON documents vtlgen prints, each named by format and version, each with a JSON Schema.

Every document a command prints with `--format json` starts with `format` (which document),
`format_version` (its version: raised whenever a key changes meaning or type) and
`vtlgen_version` (the tool that wrote it), so a CI job can refuse a document it does not
understand instead of misreading it. `SCHEMAS` holds one JSON Schema (draft 2020-12) per
format; the tests validate every document the commands print against it.

Format versions: 1 was the unnamed output before 0.x; 2 names itself, and a proof's entries
read null where a trial's read a seed and a count (a proof has neither).
"""

from __future__ import annotations

from collections.abc import Mapping

from vtlgen import __version__

FORMAT_VERSION = 2
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# The documents: validate and prove share one shape (a list of convention reports).
REPORTS = "vtlgen-reports"
LINT = "vtlgen-lint"
DIFF = "vtlgen-diff"
ERROR = "vtlgen-error"


def document(kind: str, body: Mapping[str, object]) -> dict[str, object]:
    return {"format": kind, "format_version": FORMAT_VERSION, "vtlgen_version": __version__, **body}


def error_document(problems: list[dict[str, object]]) -> dict[str, object]:
    """Bad input (exit 2) as JSON: each problem with its file, line, column and field path when known."""
    return document(ERROR, {"ok": False, "errors": problems})


_NULLABLE_INT = {"type": ["integer", "null"]}
_STRINGS = {"type": "array", "items": {"type": "string"}}


def _envelope(kind: str, properties: dict[str, object], required: list[str]) -> dict[str, object]:
    return {
        "$schema": DRAFT,
        "$id": f"https://github.com/vtlgen/vtlgen/schemas/{kind}-{FORMAT_VERSION}.json",
        "type": "object",
        "required": ["format", "format_version", "vtlgen_version", *required],
        "properties": {
            "format": {"const": kind},
            "format_version": {"const": FORMAT_VERSION},
            "vtlgen_version": {"type": "string", "minLength": 1},
            **properties,
        },
        "additionalProperties": False,
    }


_VIOLATION = {
    "type": "object",
    "required": ["property", "message", "offset", "disassembly", "source_line", "source_file", "register",
                 "expected", "actual", "seed", "trials"],
    "properties": {
        "property": {"type": "string", "pattern": "^P([1-9]|10)$"},
        "message": {"type": "string"},
        "offset": _NULLABLE_INT,
        "disassembly": {"type": "string"},
        "source_line": _NULLABLE_INT,
        "source_file": {"type": "string"},
        "register": {"type": "string"},
        "expected": {"type": "string"},
        "actual": {"type": "string"},
        # null for a proof's or a replay's counterexample: no random seed made it
        "seed": {"type": ["integer", "null"], "minimum": 0},
        "trials": {"type": ["integer", "null"], "minimum": 1},
    },
    "additionalProperties": False,
}  # fmt: skip

_REPORT = {
    "type": "object",
    "required": ["spec_id", "convention_id", "stub", "backend", "trials", "ok", "violations", "properties_checked"],
    "properties": {
        "spec_id": {"type": "string"},
        "convention_id": {"type": "string"},
        "stub": {"type": "string"},
        "backend": {"type": "string"},
        "trials": {"type": ["integer", "null"], "minimum": 1},  # null for a proof
        "ok": {"type": "boolean"},
        "instructions_per_round_trip": {"type": "integer", "minimum": 0},
        "lower_bound": {"type": "integer", "minimum": 0},
        "properties_checked": _STRINGS,
        "properties_unobservable": _STRINGS,
        "not_modelled": _STRINGS,
        "violations": {"type": "array", "items": _VIOLATION},
        "occurrences": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
        "vector_lengths": {"type": "array", "items": {"type": "integer", "minimum": 16}},
        "vector_state": {"type": "string"},
        "preconditions": _STRINGS,
        "notes": _STRINGS,
        # a proof's report only
        "verdict": {"enum": ["PROVED", "VIOLATED", "UNPROVEN"]},
        "paths": {"type": "integer", "minimum": 0},
        "unproven": _STRINGS,
        "choices": _STRINGS,
    },
    "additionalProperties": False,
}

_FINDING = {
    "type": "object",
    "required": ["file", "line", "column", "path", "rule", "severity", "convention", "message", "waived", "source"],
    "properties": {
        "file": {"type": "string"},
        "line": {"type": "integer", "minimum": 1},
        "column": {"type": "integer", "minimum": 1},
        "path": {"type": "string"},
        "rule": {"type": "string"},
        "severity": {"enum": ["error", "warning"]},
        "convention": {"type": ["string", "null"]},
        "message": {"type": "string"},
        "waived": {"type": ["string", "null"]},
        "source": {"type": "string"},
    },
    "additionalProperties": False,
}

_CHANGE = {"type": "object", "required": ["kind", "what", "old", "new", "why"]}

_ERROR = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "file": {"type": ["string", "null"]},
        "line": {"type": ["integer", "null"], "minimum": 1},
        "column": {"type": ["integer", "null"], "minimum": 1},
        "path": {"type": "string"},
        "message": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}

SCHEMAS: dict[str, dict[str, object]] = {
    REPORTS: _envelope(
        REPORTS, {"ok": {"type": "boolean"}, "reports": {"type": "array", "items": _REPORT}}, ["ok", "reports"]
    ),
    LINT: _envelope(
        LINT, {"ok": {"type": "boolean"}, "findings": {"type": "array", "items": _FINDING}}, ["ok", "findings"]
    ),
    DIFF: _envelope(
        DIFF,
        {
            "old": {"type": "string"},
            "new": {"type": "string"},
            "required_bump": {"enum": ["none", "patch", "minor", "major"]},
            "actual_bump": {"type": "string"},
            "ok": {"type": "boolean"},
            "changes": {"type": "array", "items": _CHANGE},
        },
        ["old", "new", "required_bump", "actual_bump", "ok", "changes"],
    ),
    ERROR: _envelope(
        ERROR,
        {"ok": {"const": False}, "errors": {"type": "array", "minItems": 1, "items": _ERROR}},
        ["ok", "errors"],
    ),
}
