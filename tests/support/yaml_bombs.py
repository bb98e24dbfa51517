"""Small YAML inputs that would exhaust a naive loader: alias fan-out, deep nesting, huge
scalars, control bytes. Each comes with the words its one located error must contain; the
attack tests (tests/security/test_yaml_exhaustion.py) and `nox -s bench` both use them."""

from __future__ import annotations


def billion_laughs(levels: int = 9, fan: int = 9) -> str:
    text = 'a0: &a0 ["lol"]\n'
    for level in range(1, levels):
        text += f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan) + "]\n"
    return text


def merge_bomb() -> str:
    return "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n"


def flow_nesting(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def block_nesting(depth: int) -> str:
    return "a:\n" + "".join("  " * level + "- \n" for level in range(1, depth))


def mapping_nesting(depth: int) -> str:
    return "".join("  " * level + f"k{level}:\n" for level in range(depth)) + "  " * depth + "v: 1\n"


BOMBS = {
    "billion laughs": (billion_laughs(), "aliases"),
    "one alias": ("id: &i hyperv\nother: *i\n", "aliases"),
    "merge key": (merge_bomb(), "aliases"),
    "flow nesting 100k": (flow_nesting(100_000), "nested deeper"),
    "flow nesting 70": (flow_nesting(70), "nested deeper"),
    "mixed flow nesting": ("a: " + "[{a: " * 5000 + "1" + "}]" * 5000 + "\n", "nested deeper"),
    "block nesting 400": (block_nesting(400), "nested deeper"),
    "mapping nesting 100": (mapping_nesting(100), "nested deeper"),
    "huge integer": ("id: x\ncount: " + "9" * 100_000 + "\n", "digits"),
    "NUL byte": ("id: x\nti\x00tle: y\n", "character \\x00"),
    "escape byte": ("id: x\ntitle: \x1b[2J\n", "character \\x1b"),
}
