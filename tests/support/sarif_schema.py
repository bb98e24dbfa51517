"""The parts of SARIF 2.1.0 that vtlgen writes, as a JSON Schema, written from the OASIS
standard (SARIF v2.1.0, OASIS Standard, 27 March 2020, sections 3.13-3.30): which members
each object must have, their types and their enumerations. The official schema is not
vendored (its licence is not a plain open-source one) and tests run without a network, so this
states the same constraints for the objects vtlgen emits; `additionalProperties: false` makes a
misspelled member fail, as it does against the official schema."""

from __future__ import annotations

_MESSAGE = {
    "type": "object",
    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],  # 3.11.1: text or id
    "properties": {"text": {"type": "string"}, "markdown": {"type": "string"}, "id": {"type": "string"}},
    "additionalProperties": False,
}
_PROPERTY_BAG = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}}
_ARTIFACT_LOCATION = {
    "type": "object",
    "properties": {"uri": {"type": "string", "format": "uri-reference"}, "uriBaseId": {"type": "string"}},
    "additionalProperties": False,
}
_REGION = {
    "type": "object",
    "properties": {"startLine": {"type": "integer", "minimum": 1}, "startColumn": {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}
_LOCATION = {
    "type": "object",
    "properties": {
        "physicalLocation": {
            "type": "object",
            "anyOf": [{"required": ["artifactLocation"]}, {"required": ["address"]}],  # 3.29.2
            "properties": {"artifactLocation": _ARTIFACT_LOCATION, "region": _REGION},
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}
_LEVEL = {"enum": ["none", "note", "warning", "error"]}  # 3.27.10
_RESULT = {
    "type": "object",
    "required": ["message"],  # 3.27.11
    "properties": {
        "ruleId": {"type": "string"},
        "ruleIndex": {"type": "integer", "minimum": -1},
        "level": _LEVEL,
        "message": _MESSAGE,
        "locations": {"type": "array", "items": _LOCATION},
        "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}},
        "suppressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind"],  # 3.35.2
                "properties": {"kind": {"enum": ["inSource", "external"]}, "justification": {"type": "string"}},
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}
_RULE = {
    "type": "object",
    "required": ["id"],  # 3.49.3
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "shortDescription": _MESSAGE,
        "fullDescription": _MESSAGE,
        "help": _MESSAGE,
        "defaultConfiguration": {
            "type": "object",
            "properties": {"level": _LEVEL},
            "additionalProperties": False,
        },
        "properties": _PROPERTY_BAG,
    },
    "additionalProperties": False,
}
SARIF_2_1_0 = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["version", "runs"],  # 3.13.2, 3.13.4
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool"],  # 3.14.6
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],  # 3.18.2
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],  # 3.19.8
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "informationUri": {"type": "string", "format": "uri"},
                                    "rules": {"type": "array", "items": _RULE},
                                },
                                "additionalProperties": False,
                            }
                        },
                        "additionalProperties": False,
                    },
                    "invocations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["executionSuccessful"],  # 3.20.14
                            "properties": {"executionSuccessful": {"type": "boolean"}},
                            "additionalProperties": False,
                        },
                    },
                    "results": {"type": "array", "items": _RESULT},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}
