"""The spec stage: what a spec says (schema, loader), whether it is sound (checks, lint), what its
register classes mean (context layout, hypervisor model, class meanings), and how two revisions differ."""

__all__ = [
    "checks",
    "class_meaning",
    "context_layout",
    "diff",
    "discover",
    "hypervisor_model",
    "lint",
    "loader",
    "rules",
    "schema",
]
