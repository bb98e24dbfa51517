"""Validation by trials: the random trial states, the backends that observe a trial, and the
contract that judges observations against the properties (vtlgen.properties)."""

__all__ = [
    "backends",
    "contract",
    "finding",
    "results",
    "run",
    "trial",
    "vector_contract",
    "vector_trial",
]
