"""What each register class means for each VTL, and who keeps the caller's copy.

The four classes have one meaning across vtlgen (schema.RegisterClass); this is that
meaning in words, for the Documentation page and the HTML report, so the two say the same.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Meaning:
    vtl0: str  # what the lower VTL sees
    vtl2: str  # what the higher VTL, the caller of the stub, sees
    kept_by: str  # who keeps a copy across the switch


_MEANINGS = {
    "shared": Meaning(
        vtl0="its value travels through its context slot, in and out",
        vtl2="replaced during the switch; the stub keeps AAPCS64 callee-saved ones",
        kept_by="the context (VTL0's value); the stub's frame (VTL2's callee-saved)",
    ),
    "private": Meaning(
        vtl0="its own copy, never loaded from the context",
        vtl2="its own copy, unchanged by the switch",
        kept_by="the hypervisor",
    ),
    "callee-saved": Meaning(
        vtl0="not carried; the trap's callee gives the caller's value back",
        vtl2="unchanged by the call; the stub may save, use and restore it (AAPCS64)",
        kept_by="the trap's callee, and the stub's frame while the stub uses it",
    ),
    "clobbered": Meaning(
        vtl0="not carried; it may see any value",
        vtl2="UNKNOWN after the switch",
        kept_by="",  # the spec's saved_by
    ),
    "unspecified": Meaning(
        vtl0="not documented",
        vtl2="not documented; treated as clobbered",
        kept_by="nobody: the ABI does not say (a lint error)",
    ),
}


def meaning(class_: str, saved_by: str | None = None) -> Meaning:
    base = _MEANINGS[class_]
    if class_ == "clobbered":
        kept = f"the {saved_by}" if saved_by else "nobody (a lint error)"
        return Meaning(base.vtl0, base.vtl2, kept)
    return base


def ranges(names: list[str] | tuple[str, ...]) -> str:
    """`x0, x1, x2, x5` -> `x0-x2, x5`: runs of one register file, in the given order."""
    parts: list[str] = []
    run: list[tuple[str, int]] = []

    def flush() -> None:
        if run:
            first, last = run[0], run[-1]
            parts.append(f"{first[0]}{first[1]}" if len(run) == 1 else f"{first[0]}{first[1]}-{last[0]}{last[1]}")
            run.clear()

    for name in names:
        prefix, digits = name.rstrip("0123456789"), name[len(name.rstrip("0123456789")) :]
        if not digits or prefix not in ("x", "q", "d", "p", "w", "z"):
            flush()
            parts.append(name)
            continue
        number = int(digits)
        if run and run[-1][0] == prefix and run[-1][1] + 1 == number:
            run.append((prefix, number))
        else:
            flush()
            run.append((prefix, number))
    flush()
    return ", ".join(parts)
