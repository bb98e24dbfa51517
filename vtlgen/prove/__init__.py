"""The proof: the stub lifted to p-code by SLEIGH, explored symbolically with z3, and checked
against the properties for every input, with counterexamples that replay as trials."""

__all__ = [
    "counterexample",
    "explorer",
    "hypervisor",
    "lifter",
    "obligations",
    "pcode",
    "replay",
    "run",
    "state",
    "world",
]
