"""Edits that break the real spec, each with the path and words its located error must name:
the loader's tests (tests/spec/test_loader.py) and the CLI's (tests/test_cli.py) use the same cases."""

from __future__ import annotations

# (name, old text, new text, field path, words the message must contain)
CASES = [
    ("unknown key", "  align: 16\n", "  align: 16\n  colour: red\n", "context.colour", "unknown key"),
    (
        "overlapping fields",
        "{name: rsvd, type: u64, offset: 248}",
        "{name: rsvd, type: u64, offset: 240}",
        "context.fields[1].offset",
        "overlaps",
    ),
    (
        "misaligned offset",
        "{name: q, type: u128, count: 32, offset: 256}",
        "{name: q, type: u128, count: 32, offset: 264}",
        "context.fields[2].offset",
        "multiple of 16",
    ),
    (
        "field macro taken by another field",
        "{name: rsvd, type: u64, offset: 248}",
        "{name: x1, type: u64, offset: 248}",
        "context.fields[1].name",
        "MSHV_VTL_CPU_CONTEXT_X1, which field 'x'",
    ),
    (
        "field macro taken by the header",
        "{name: rsvd, type: u64, offset: 248}",
        "{name: existing, type: u64, offset: 248}",
        "context.fields[1].name",
        "MSHV_VTL_CPU_CONTEXT_EXISTING, which the header itself",
    ),
    ("slot outside the struct", "slot: x[19]", "slot: x[29]", "registers.x19-x28.slot", "outside the struct"),
    ("slot in no field", "slot: x[19]", "slot: y[19]", "registers.x19-x28.slot", "no context field"),
    ("slot of the wrong type", "slot: x[19]", "slot: q[19]", "registers.x19-x28.slot", "u64"),
    ("register mapped twice", "  x18:\n", "  x17-x18:\n", "registers.x17-x18", "mapped twice"),
    ("unknown register", "  x18:\n", "  w18:\n", "registers.w18", "is not a register name"),
    (
        "register without class",
        "  zt0:\n    class: private\n    sources: [aapcs64-sme, tlfs-vsm]\n",
        "",
        "registers",
        "no class for zt0",
    ),
    ("unknown class", "  zt0:\n    class: private\n", "  zt0:\n    class: banked\n", "registers.zt0.class", "shared"),
    (
        "shared without slot",
        "  q0-q31:\n    class: shared\n    slot: z[0]\n",
        "  q0-q31:\n    class: shared\n",
        "registers.q0-q31",
        "slot",
    ),
    ("function ID mismatch", "value: 0x46000001", "value: 0x46000002", "conventions[1].function_id.value", "encode"),
    ("function number too big", "number: 1\n", "number: 70000\n", "conventions[1].function_id.number", "65535"),
    ("unknown owner", "owner: vendor-hyp", "owner: hyp", "conventions[1].function_id.owner", "vendor-hyp"),
    ("boolean immediate", "imm16: 3}", "imm16: true}", "conventions[0].conduit.imm16", "integer"),
    ("missing key", "abi_version: 2.0.0\n", "", "abi_version", "missing"),
    ("bad version", "abi_version: 2.0.0", "abi_version: one", "abi_version", "pattern"),
    ("unknown source", "sources: [hvdef]}", "sources: [nowhere]}", "conventions[1].arguments[1].sources[0]", "unknown"),
    (
        "argument in no register",
        "{register: x2, value: context",
        "{register: w2, value: context",
        "conventions[1].arguments[2].register",
        "x0-x30",
    ),
    ("duplicate convention", "  - id: smccc\n", "  - id: hvc3\n", "conventions[1].id", "used twice"),
    (
        "pass-through outside the C argument registers",
        "{register: x2, value: context, sources: [smccc]}",
        "{register: x2, value: context, sources: [smccc]}\n      - {register: x8, value: pass-through, name: A}",
        "conventions[1].arguments[3].register",
        "x1-x7",
    ),
    (
        "pass-through without a name",
        "{register: x2, value: context, sources: [smccc]}",
        "{register: x2, value: context, sources: [smccc]}\n      - {register: x3, value: pass-through}",
        "conventions[1].arguments[3].name",
        "C parameter",
    ),
]
