"""Lowering: Spec to Plan. The only stage that reasons about the ABI to choose instructions
(carriers, pairing windows, the instruction budget)."""

__all__ = [
    "a64",
    "convention",
    "reach",
    "vector_transfers",
]
