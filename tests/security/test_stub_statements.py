"""Class 1: a stub's text must not make an assembler read host files or change the code's length.

Every statement is vetted after any label, on both backends: only labels and A64
instructions reach keystone, and the same vetted text reaches GNU as on the qemu path.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import invoke
from tests.support.host_secret import assert_no_secret
from vtlgen.isa.assembler import AssemblyError, assemble
from vtlgen.isa.stubsource import StubSyntaxError, a64_mnemonics, vet

# Ways to put a directive where a line-start check would not see it.
PLACEMENTS = [
    "{d}",
    "  {d}",
    "\t{d}",
    "f: {d}",
    '"d": {d}',
    "a: b: {d}",
    "1: {d}",
    ".Lx: {d}",
    "/* c */ {d}",
    "nop\n{d}",
]
DIRECTIVES = [
    '.incbin ".git/config"',
    '.incbin "README.md", 0, 8',
    '.INCBIN "/etc/passwd"',
    '.include "/etc/passwd"',
    ".balign 4096",
    ".p2align 12",
    ".skip 64",
    ".space 64",
    ".fill 16, 4, 0",
    ".zero 8",
    ".byte 1",
    ".word 0xd503201f",
    ".quad 1",
    ".inst 0xd503201f",
    '.ascii "x"',
    ".set n, 4",
    ".equ n, 4",
    "n = 4",
    "n == 4",
    ".macro m",
    ".rept 1000000",
    ".irp r, x0",
    ".if 1",
    ".org 0x100",
    ".section .data",
    ".pushsection .text",
    ".altmacro",
]


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("directive", DIRECTIVES)
def test_no_directive_reaches_an_assembler(placement: str, directive: str) -> None:
    text = "hint #34\n" + placement.format(d=directive) + "\nret\n"
    with pytest.raises(AssemblyError) as caught:
        assemble(text, "evil.S")
    message = str(caught.value)
    assert re.match(r"^evil\.S:\d+:1: ", message), message
    assert "\n" not in message


def test_an_incbin_after_a_quoted_label_is_refused_end_to_end(checkout: Path) -> None:
    stub = checkout / "evil.S"
    stub.write_text('\thint #34\n"d": .incbin ".git/config"\n\tldp x0, x1, [x0]\n\tret\n')
    result = invoke("validate", "--convention", "hvc3", "--stub", str(stub))
    assert result.exit_code == 2
    assert re.search(r"evil\.S:2:1: ", result.output), result.output
    assert_no_secret(result.output)


@pytest.mark.parametrize("mnemonic", ["frob", "incbin", "include", "bytes", "hvc3", "x"])
def test_only_a64_mnemonics_are_instructions(mnemonic: str) -> None:
    with pytest.raises(StubSyntaxError, match="not an A64 instruction"):
        vet(f"{mnemonic} x0\n", "s.S")


@pytest.mark.parametrize("operands", ['x0, ="x"', "x0, =sym", "x0, [x1] @ c", "x0, \\x", "x0, 'a'"])
def test_operands_hold_no_quotes_pools_or_escapes(operands: str) -> None:
    with pytest.raises(StubSyntaxError):
        vet(f"ldr {operands}\n", "s.S")


def test_ignored_directives_change_nothing() -> None:
    plain = assemble("hint #34\nldp x0, x1, [x0]\nret\n", "a.S").code
    decorated = assemble(
        "\t.text\n\t.balign 4\n\t.global f\n\t.type f, %function\nf:\n\t.cfi_startproc\n\thint #34\n"
        "\tldp x0, x1, [x0]\n\tret\n\t.cfi_endproc\n\t.size f, . - f\n",
        "b.S",
    ).code
    assert plain == decorated


def test_numeric_local_labels_resolve_in_both_directions() -> None:
    result = assemble("1:\tcbz x0, 1f\n\tb 1b\n1:\tb 1b\n\tb 1f\n1:\tret\n", "l.S")
    words = [int.from_bytes(result.code[i : i + 4], "little") for i in range(0, len(result.code), 4)]
    # cbz x0, +8 ; b -4 ; b -0 (the second `1:` is itself) ; b +4 ; ret
    assert words == [0xB4000040, 0x17FFFFFF, 0x14000000, 0x14000001, 0xD65F03C0]


@pytest.mark.parametrize("text", ["b 1f\n", "b 1b\n", "1: b 2b\n"])
def test_a_numeric_reference_with_no_label_is_located(text: str) -> None:
    with pytest.raises(StubSyntaxError, match="refers to no"):
        vet(text, "s.S")


_CANONICAL_LINE = re.compile(r"^(?:[A-Za-z_.][A-Za-z0-9_.]*:|([a-z][a-z0-9]*(?:\.[a-z]{2})?)(?: [^\"'=@\\;]*)?)$")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .:\"'=#;\\/*\n\t01lrfincudeqwbx[],{}@%-")), max_size=60))
def test_whatever_is_accepted_is_only_labels_and_instructions(text: str) -> None:
    try:
        vetted = vet(text, "fuzz.S")
    except StubSyntaxError as error:
        assert str(error).startswith("fuzz.S:") and "\n" not in str(error)
        return
    for line in vetted.canonical.splitlines():
        match = _CANONICAL_LINE.match(line)
        assert match, line
        mnemonic = match.group(1)
        assert mnemonic is None or mnemonic in a64_mnemonics() or mnemonic.split(".")[0] in ("b", "bc")


# Texts keystone and GNU as would read as two different programs.
DIVERGENT = [
    "movz x1, #0x11 + (1 < 2)",
    "movz x1, #(1 << 4)",
    "movz x1, #(6 | 1)",
    "movz x1, #(1 == 1)",
    "movz x1, #(2 <> 1)",
    "movz x1, #~0 & 0xff",
    "movz x1, #(8 >> 1)",
    "movz x1, #(7 % 4)",
    "b.eq 0x8",
    "b 8",
    "cbz x0, 0x10",
    "adrp x0, 0x1000",
    "adr x0, 4",
    "ldr x0, 0x10",
]


@pytest.mark.parametrize("statement", DIVERGENT)
def test_operands_the_assemblers_read_differently_are_refused(statement: str) -> None:
    with pytest.raises(StubSyntaxError, match=r"^s\.S:2:1: "):
        vet(f"nop\n{statement}\nret\n", "s.S")


@pytest.mark.qemu
def test_gnu_as_and_keystone_must_agree_on_the_qemu_path(tmp_path: Path) -> None:
    """The second wall: should a text pass vetting yet assemble differently, qemu-user refuses it."""
    from tests.support import SPEC, require_tool
    from vtlgen.lower.convention import lower
    from vtlgen.spec.loader import load
    from vtlgen.validate.backends import qemu_user

    for tool, package in qemu_user.TOOLS.items():
        require_tool(tool, package)
    plan = next(p for p in lower(load(SPEC).spec, "spec/hyperv_vtl.yaml") if p.convention_id == "smccc")
    code = assemble("movz x1, #0x12\nret\n", "a.S").code
    folder = Path(tempfile.mkdtemp(prefix="vtlgen-test-"))
    try:
        with pytest.raises(qemu_user.HarnessError, match=r"differently at \+0x0"):
            qemu_user.build(plan, "movz x1, #0x10\nret\n", folder, code)  # as if keystone had read 0x12
    finally:
        shutil.rmtree(folder, ignore_errors=True)
