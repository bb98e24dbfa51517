"""Generation: Plan to files. Rendering through one jinja environment, the kernel flavour,
the VL-scaled offset macros, the ABI page, and the atomic sync of the output folder."""

__all__ = [
    "abidoc",
    "arch_extension",
    "artifacts",
    "context_map",
    "entry_state",
    "linux",
    "render",
    "rst",
    "sync",
    "vl_macros",
]
