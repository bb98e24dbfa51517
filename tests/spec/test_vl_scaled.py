"""The extended context (`vl_scaled`): each rule of its shape, broken on purpose, gives one
located line through the CLI (exit 2, `file:line:col: path: message`, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import edited, invoke
from vtlgen.spec.loader import SpecError, load_text
from vtlgen.spec.schema import MAX_CONTEXT

EXIT_BAD_INPUT = 2

Z_FIELD = "      - {name: z, type: zreg, count: 32}\n"
FFR_FIELD = "      - {name: ffr, type: preg}\n"
VL_START = "    offset: 1024\n    max_vl: 256\n"
Q_SHARED = "  q0-q31:\n    class: shared\n    slot: z[0]\n"
Z_UPPER_SHARED = "  z_upper:\n    class: shared\n    slot: z[0]\n"
SVCR_SM_REQUIREMENT = "entry_requirements:\n  - state: svcr.sm\n"

# (id, edits, field path, words of the message, text on the line the problem points at)
CASES = [
    (
        "start inside the fixed reservation",
        [(VL_START, "    offset: 1008\n    max_vl: 256\n")],
        "context.vl_scaled.offset",
        "ends at 1024 (max_size, the fixed reservation); expected an offset of at least 1024",
        "    offset: 1008",
    ),
    (
        "start inside the fixed fields",
        [("  max_size: 1024\n", ""), (VL_START, "    offset: 752\n    max_vl: 256\n")],
        "context.vl_scaled.offset",
        "ends at 768 (the end of the fixed fields)",
        "    offset: 752",
    ),
    (
        "start not 16-aligned",
        [(VL_START, "    offset: 1032\n    max_vl: 256\n")],
        "context.vl_scaled.offset",
        "expected a multiple of 16",
        "    offset: 1032",
    ),
    (
        "VL field named like a fixed field",
        [(FFR_FIELD, FFR_FIELD + "      - {name: q, type: preg}\n")],
        "context.vl_scaled.fields[3].name",
        "'q' is already a fixed context field",
        "{name: q, type: preg}",
    ),
    (
        "VL field named twice",
        [(FFR_FIELD, FFR_FIELD + "      - {name: p, type: preg}\n")],
        "context.vl_scaled.fields[3].name",
        "VL field 'p' is already defined",
        "{name: p, type: preg}",
    ),
    (
        "za before other fields",
        [(Z_FIELD, "      - {name: za, type: za}\n" + Z_FIELD)],
        "context.vl_scaled.fields[0].type",
        "expected it last",
        "{name: za, type: za}",
    ),
    (
        "two za fields",
        [(FFR_FIELD, FFR_FIELD + "      - {name: za, type: za}\n      - {name: zb, type: za}\n")],
        "context.vl_scaled.fields[4].type",
        "expected at most one",
        "{name: zb, type: za}",
    ),
    (
        "za field with two arrays",
        [(FFR_FIELD, FFR_FIELD + "      - {name: za, type: za, count: 2}\n")],
        "context.vl_scaled.fields[3].count",
        "at most 1 (one ZA array)",
        "{name: za, type: za, count: 2}",
    ),
    (
        "more than 32 Z registers",
        [(Z_FIELD, "      - {name: z, type: zreg, count: 33}\n")],
        "context.vl_scaled.fields[0].count",
        "less than or equal to 32",
        "count: 33",
    ),
    (
        "more than 17 predicates",
        [("{name: p, type: preg, count: 16}", "{name: p, type: preg, count: 18}")],
        "context.vl_scaled.fields[1].count",
        "at most 17 (P0-P15 and FFR)",
        "count: 18",
    ),
    (
        "Q in a zreg field without z_upper",
        [(Z_UPPER_SHARED, "  z_upper:\n    class: clobbered\n    saved_by: caller\n")],
        "registers.q0-q31.slot",
        "z_upper is not shared there; expected z_upper shared in z at the same indices",
        "    slot: z[0]",
    ),
    (
        "z_upper in a zreg field without Q",
        [(Q_SHARED, "  q0-q31:\n    class: shared\n    slot: q[0]\n")],
        "registers.z_upper.slot",
        "but q0-q31 are not: expected q0-q31 shared with slot `z[0]`",
        "    slot: z[0]",
    ),
    (
        "Q and z_upper in different elements",
        [
            (
                Q_SHARED,
                "  q0-q15:\n    class: shared\n    slot: z[16]\n    sources: [tlfs-vsm]\n"
                "  q16-q31:\n    class: shared\n    slot: z[0]\n",
            )
        ],
        "registers.q0-q15.slot",
        "q0-q15 start at z[16], but z_upper puts Z0's upper bits in z[0]",
        "    slot: z[16]",
    ),
    (
        "z_upper in a preg field",
        [(Z_UPPER_SHARED, "  z_upper:\n    class: shared\n    slot: p[0]\n")],
        "registers.z_upper.slot",
        "z_upper needs a zreg slot, but p holds preg",
        "    slot: p[0]",
    ),
    (
        "two registers in one VL element",
        [("    slot: ffr\n", "    slot: p[15]\n")],
        "registers.ffr.slot",
        "ffr and p15 both map to p[15]",
        "    slot: p[15]",
    ),
    (
        "predicates outside their field",
        [("    slot: p[0]\n", "    slot: p[1]\n")],
        "registers.p0-p15.slot",
        "p0-p15 needs p[1..16], outside the extended context: p has 16 element(s)",
        "    slot: p[1]",
    ),
    (
        "too large at the largest vector length",
        [(VL_START, "    offset: 1040384\n    max_vl: 256\n")],
        "context.vl_scaled.fields",
        f"the context ends at 1049120 bytes; at most {MAX_CONTEXT}",
        "    fields:",
    ),
    (
        "entry requirement stated twice",
        [
            (
                SVCR_SM_REQUIREMENT,
                SVCR_SM_REQUIREMENT + "    value: 1\n    reason: stated twice on purpose\n  - state: svcr.sm\n",
            )
        ],
        "entry_requirements[1].state",
        "svcr.sm already has a requirement (entry_requirements[0])",
        "  - state: svcr.sm\n    value: 0",  # the second one
    ),
    (
        "unknown source of the extended context",
        [("    sources: [linux-sigcontext, arm-arm]\n", "    sources: [linux-sigcontext, nowhere]\n")],
        "context.vl_scaled.sources[1]",
        "unknown source 'nowhere'",
        "[linux-sigcontext, nowhere]",
    ),
    (
        "VL field macro taken by the header",
        [(FFR_FIELD, FFR_FIELD + "      - {name: max, type: preg}\n")],
        "context.vl_scaled.fields[3].name",
        "needs the macro MSHV_VTL_CPU_CONTEXT_MAX_SIZE, which the header itself defines",
        "{name: max, type: preg}",
    ),
    (
        "VL field macro taken by a fixed field",
        [("{name: rsvd, type: u64, offset: 248}", "{name: z_size, type: u64, offset: 248}")],
        "context.vl_scaled.fields[0].name",
        "needs the macro MSHV_VTL_CPU_CONTEXT_Z_SIZE, which field 'z_size' defines",
        Z_FIELD.strip(),
    ),
    # What the schema refuses in `vl_scaled`, with the values it expects.
    (
        "unknown VL type",
        [(Z_FIELD, "      - {name: z, type: zregs, count: 32}\n")],
        "context.vl_scaled.fields[0].type",
        "expected 'zreg', 'preg' or 'za'",
        "type: zregs",
    ),
    (
        "vector length not a multiple of 16",
        [(VL_START, "    offset: 1024\n    max_vl: 40\n")],
        "context.vl_scaled.max_vl",
        "multiple of 16",
        "    max_vl: 40",
    ),
    (
        "vector length above 2048 bits",
        [(VL_START, "    offset: 1024\n    max_vl: 512\n")],
        "context.vl_scaled.max_vl",
        "less than or equal to 256",
        "    max_vl: 512",
    ),
    (
        "negative start",
        [(VL_START, "    offset: -16\n    max_vl: 256\n")],
        "context.vl_scaled.offset",
        "greater than or equal to 0",
        "    offset: -16",
    ),
    (
        "unknown key in a VL field",
        [(Z_FIELD, "      - {name: z, type: zreg, count: 32, offset: 0}\n")],
        "context.vl_scaled.fields[0].offset",
        "unknown key 'offset'",
        "count: 32, offset: 0}",
    ),
]


def _apply(text: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        text = edited(text, old, new)
    return text


def _line_of(text: str, fragment: str) -> int:
    """The line the first `fragment` starts on."""
    return text[: text.index(fragment)].count("\n") + 1


@pytest.mark.parametrize(("name", "edits", "path", "words", "at"), CASES, ids=[c[0] for c in CASES])
def test_broken_extended_context_is_located(
    spec_text: str, tmp_path: Path, name: str, edits: list[tuple[str, str]], path: str, words: str, at: str
) -> None:
    text = _apply(spec_text, edits)
    with pytest.raises(SpecError) as caught:
        load_text(text, "spec/x.yaml")
    matching = [p for p in caught.value.problems if p.path == path and words in p.message]
    assert matching, [str(p) for p in caught.value.problems]
    assert matching[0].line == _line_of(text, at), str(matching[0])
    # Through the CLI: exit 2, one line per problem, `file:line:col: path: message`, no traceback.
    spec_file = tmp_path / "x.yaml"
    spec_file.write_text(text)
    result = invoke("lint", str(spec_file))
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    located = f"{spec_file}:{matching[0].line}:{matching[0].column}: {path}: "
    assert any(line.startswith(located) and words in line for line in result.output.splitlines()), result.output


def test_valid_splits_of_the_z_registers_load(spec_text: str) -> None:
    """Q may come in groups, as long as each Qn shares element z[n] with Zn's upper bits."""
    split = edited(
        spec_text,
        Q_SHARED,
        "  q0-q15:\n    class: shared\n    slot: z[0]\n    sources: [tlfs-vsm]\n  q16-q31:\n    class: shared\n"
        "    slot: z[16]\n",
    )
    assert load_text(split, "spec/x.yaml").spec.registers["q16-q31"].slot == "z[16]"


def test_za_last_loads(spec_text: str) -> None:
    text = edited(spec_text, FFR_FIELD, FFR_FIELD + "      - {name: za, type: za}\n")
    text = edited(text, "  za:\n    class: private\n", "  za:\n    class: shared\n    slot: za\n")
    assert load_text(text, "spec/x.yaml").spec.registers["za"].slot == "za"


def test_largest_context_that_fits_loads(spec_text: str) -> None:
    # z: 32 x 256, p: 16 x 32, ffr: 32 bytes at VL = 256: 8736 bytes after the start.
    start = MAX_CONTEXT - 8736
    text = edited(spec_text, VL_START, f"    offset: {start}\n    max_vl: 256\n")
    assert load_text(text, "spec/x.yaml").spec.context.vl_scaled is not None
