"""Containment of untrusted input: the sandbox, safe output paths, and quoting of prose into
every language vtlgen writes."""

__all__ = [
    "quoting",
    "safepath",
    "sandbox",
]
