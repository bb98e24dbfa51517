"""The ABI as a kernel Documentation/ page: its content, Sphinx -W, and hostile spec text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docutils.core
import docutils.nodes
import pytest

from tests.support import SPEC
from vtlgen.generate import abidoc
from vtlgen.lower.convention import lower
from vtlgen.spec.loader import load
from vtlgen.spec.schema import Spec


def page_of(spec: Spec) -> str:
    return abidoc.page(spec, "hyperv_vtl.yaml", lower(spec, "spec/hyperv_vtl.yaml"))


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load(SPEC).spec


@pytest.fixture(scope="module")
def page(spec: Spec) -> str:
    return page_of(spec)


def sphinx_build(tmp_path: Path, text: str, builder: str) -> Path:
    """Build `text` as a one-page Sphinx project with warnings as errors; return the output folder."""
    source, out = tmp_path / "src", tmp_path / builder
    source.mkdir(exist_ok=True)
    (source / "conf.py").write_text('project = "vtlgen"\n')
    (source / "index.rst").write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder, str(source), str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_kernel_conventions(page: str) -> None:
    lines = page.splitlines()
    assert lines[0] == ".. SPDX-License-Identifier: GPL-2.0-only OR MIT"
    # The document title has `=` over and under (Documentation/doc-guide/sphinx.rst).
    title = lines.index("Hyper-V VTL return on arm64 (VTL2 -> VTL0 -> VTL2)")
    assert lines[title - 1] == lines[title + 1] == "=" * len(lines[title])
    assert ".. list-table::" in page
    # Readable in an email: prose is wrapped; only table cells, addresses and code run long.
    long_lines = [line for line in lines if len(line) > 80 and not line.startswith("     - ")]
    assert all("https://" in line or line.endswith("``") for line in long_lines), long_lines


def test_every_register_group_and_system_register_with_its_class_and_sources(spec: Spec, page: str) -> None:
    for name, entry in [*spec.registers.items(), *spec.system_registers.items()]:
        row = page.split(f"   * - ``{name}``\n", 1)[1].split("   * -", 1)[0]
        assert f"     - {entry.class_.value}\n" in row, name
        for source in entry.sources:
            assert f"[{source}]" in row, (name, source)
    assert "     - ``x[0..17]``\n" in page  # a group's slots, not only its first


def test_context_layout_and_size_limit(page: str) -> None:
    layout = page.split("Context layout", 1)[1].split("Conventions\n", 1)[0]
    for offset, size, slots, kind in [
        (0, 144, "``x[0..17]``", "shared"),
        (144, 8, "``x[18]``", "private"),
        (232, 16, "``x[29..30]``", "private"),
        (248, 8, "``rsvd``", "reserved"),
        # 2.0.0: Q0-Q31 travel in the low 16 bytes of z[n]; q[] stays for layout, unused
        (256, 512, "``q[0..31]``", "reserved"),
        (768, 256, "beyond the struct", "unused"),
    ]:
        assert f"   * - {offset}\n     - {size}\n     - {slots}\n" in layout
        assert f"     - {kind}\n" in layout.split(f"   * - {offset}\n", 1)[1].split("   * -", 1)[0]
    assert "is 768 bytes" in page and "Its size limit is 1024 bytes" in page


def test_the_vl_scaled_extended_context_as_linux_lays_out_its_sve_frame(page: str) -> None:
    # sigcontext.h: Z at 16 * vq * n, P at vq * (512 + 2 * n), FFR at vq * 544, from 1024
    # (spec/hyperv_vtl.yaml); the whole context is 1024 + vq * (32 * 16 + 17 * 2) bytes.
    scaled = page.split("The VL-scaled extended context\n", 1)[1].split("Entry requirements\n", 1)[0]
    per_vq = 32 * 16 + 17 * 2
    prose = " ".join(scaled.split())
    assert "from offset 1024, after the struct and its size limit" in prose
    assert f"``1024 + vq * {per_vq}`` bytes: {1024 + per_vq} at vq = 1, {1024 + 16 * per_vq} at vq = 16" in prose
    for name, size, offset, first, last in [
        ("z", "16 * vq", "1024 + vq * 16 * n", 1024, 1024 + 32 * 16),
        ("p", "2 * vq", "1024 + vq * (512 + 2 * n)", 1024 + 512, 1024 + 512 + 16 * 2),
        ("ffr", "2 * vq", "1024 + vq * 544", 1024 + 544, 1024 + 546),
    ]:
        row = scaled.split(f"   * - ``{name}``\n", 1)[1].split("   * -", 1)[0]
        assert f"     - ``{size}``\n     - ``{offset}``\n     - {first}-{last - 1}\n" in row, name
        assert f"     - {1024 + 16 * (first - 1024)}-{1024 + 16 * (last - 1024) - 1}\n" in row, name


def test_conventions_conduit_function_id_arguments_and_preservation(page: str) -> None:
    smccc = page.split("smccc: SMCCC v1.2 VTL return", 1)[1].split("Decisions where", 1)[0]
    assert ":Conduit: ``hvc #0``, encoded 0xd4000002" in smccc
    for row in (
        "   * - 31\n     - call type\n     - 0\n     - yielding",
        "   * - 30\n     - calling convention\n     - 1\n     - SMC64",
        "   * - 29:24\n     - owning entity\n     - 6\n     - vendor-hyp",
        "   * - 23:17\n     - must be zero\n     - 0x0\n     - zero",
        "   * - 15:0\n     - function number\n     - 0x1\n     - 1",
    ):
        assert row in smccc
    assert "- w0 = 0x46000001 (HYPERV_VTL_SMCCC_FUNCTION_ID)." in smccc
    assert "- x2 = the context's address." in smccc
    # The fixed-layout part; the SVE state the spec also preserves: test_..._vector_state below
    assert "The hypervisor must preserve: x18-x30, sp, q0-q31" in smccc
    assert "The hypervisor may change: x0-x17, nzcv." in smccc
    hvc3 = page.split("hvc3: register-bank VTL return", 1)[1].split("smccc: SMCCC", 1)[0]
    assert ":Conduit: ``hvc #3``, encoded 0xd4000062" in hvc3 and "Function ID" not in hvc3
    prose = " ".join(hvc3.split())  # wrapped for email
    # 2.0.0: no Q in q[] any more; Z, P and FFR: test_..._vector_state below
    assert "holds VTL0's value from its context slot: x0-x17, x19-x28" in prose and "q0-q31" not in prose
    assert "The hypervisor must preserve: x18, x29-x30, sp, za." in prose
    assert "returns VTL0's exit values in the shared registers (x0-x17, x19-x28" in prose
    assert "x0 holds the call's status" in " ".join(smccc.split()) and "status" not in prose


def test_decisions_waivers_and_what_vtlgen_checks(spec: Spec, page: str) -> None:
    for decision in spec.decisions:
        assert f"\n{decision.topic}\n{'-' * len(decision.topic)}\n" in page
        assert f"Follows [{decision.follows}]" in page
    waived = page.split("Waived lint findings", 1)[1].split("What vtlgen checks", 1)[0]
    assert "``conduit-not-smccc``" in waived and "hvc3 reproduces the convention as posted" in waived
    checks = page.split("What vtlgen checks", 1)[1]
    assert "   * - P10\n" in checks
    prose = " ".join(checks.split())
    assert "vtlgen 0.1.0" in prose and "0 unwaived finding(s)" in prose
    # 2.0.0's Z, P, FFR and ZA run on the vector machine at every VL; ZT0 (SME2), FPCR/FPSR and
    # the system registers are not emulated
    lint_only = ", ".join(["zt0", "fpcr", "fpsr", *spec.system_registers])
    assert f"Not emulated, so checked by lint only: {lint_only}." in prose


def test_conventions_name_the_vector_state(page: str) -> None:
    hvc3 = " ".join(page.split("hvc3: register-bank VTL return", 1)[1].split("smccc: SMCCC", 1)[0].split())
    smccc = " ".join(page.split("smccc: SMCCC v1.2 VTL return", 1)[1].split("Decisions where", 1)[0].split())
    # hvc3 loads and stores all of Z, P and FFR (spec: q0-q31, z_upper, p0-p15, ffr shared)
    assert "from its context slot: x0-x17, x19-x28, z0-z31, p0-p15, ffr." in hvc3
    assert "the shared registers (x0-x17, x19-x28, z0-z31, p0-p15, ffr)" in hvc3
    # smccc: the spec's `preserved: [x18-x30, sp, q0-q31, z_upper, p0-p15, ffr]`
    assert "The hypervisor must preserve: x18-x30, sp, q0-q31, z_upper, p0-p15, ffr, za." in smccc
    assert "for the hypervisor to read: x0-x17, x19-x28, z0-z31, p0-p15, ffr." in smccc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0x46000001, ["yielding", "SMC64", "vendor-hyp", "zero", "clear", "1"]),
        (0xB2FE0042, ["fast", "SMC32", "trusted OS", "NOT ZERO", "clear", "66"]),
        (0xF0010000, ["fast", "SMC64", "trusted application", "zero", "set", "0"]),
    ],
)
def test_function_id_bit_fields(value: int, expected: list[str]) -> None:
    assert [field.meaning for field in abidoc.function_id_fields(value)] == expected


@pytest.mark.sphinx
def test_page_builds_with_sphinx_warnings_as_errors(tmp_path: Path, page: str) -> None:
    text = sphinx_build(tmp_path, page, "text") / "index.txt"
    rendered = text.read_text()
    assert "Hyper-V VTL return on arm64" in rendered and "| PMBPTR_EL1" in rendered.replace('"', "")
    html = (sphinx_build(tmp_path, page, "html") / "index.html").read_text()
    assert "<table" in html and "0x46000001" in html


EVIL = ".. raw:: html\n\n   <script>alert('title')</script>\n\n*bold* |sub| `x`_ :raw:`<b>` javascript:alert(1)::"


@pytest.mark.sphinx
def test_hostile_spec_text_stays_text(tmp_path: Path, spec: Spec) -> None:
    evil_decision = spec.decisions[0].model_copy(update={"topic": EVIL, "reason": EVIL})
    evil_source = spec.sources["tlfs-vsm"].model_copy(update={"title": EVIL, "url": "javascript:alert(2)"})
    evil_register = spec.registers["x18"].model_copy(update={"note": EVIL})
    assert spec.context.vl_scaled is not None and spec.entry_requirements
    evil_scaled = spec.context.vl_scaled.model_copy(update={"note": EVIL})
    evil_requirement = spec.entry_requirements[0].model_copy(update={"reason": EVIL})
    evil = spec.model_copy(
        update={
            "title": EVIL,
            # a topic may repeat a heading of the page or another topic: still one page, no warning
            "decisions": [evil_decision, evil_decision, spec.decisions[1].model_copy(update={"topic": "Sources"})],
            "sources": {**spec.sources, "tlfs-vsm": evil_source},
            "registers": {**spec.registers, "x18": evil_register},
            "conventions": [spec.conventions[0].model_copy(update={"note": EVIL}), *spec.conventions[1:]],
            "context": spec.context.model_copy(update={"vl_scaled": evil_scaled}),
            "entry_requirements": [evil_requirement],
        }
    )
    page = page_of(evil)
    tree = docutils.core.publish_doctree(page, settings_overrides={"report_level": 5})
    assert not list(tree.findall(docutils.nodes.raw))
    assert not [m for m in tree.findall(docutils.nodes.system_message) if m["level"] >= 2]  # as sphinx -W
    assert not list(tree.findall(docutils.nodes.emphasis)) and not list(
        tree.findall(docutils.nodes.substitution_reference)
    )
    assert not [r for r in tree.findall(docutils.nodes.reference) if "javascript" in r.get("refuri", "")]
    flat = " ".join(EVIL.split())
    # the title, the decision topic and reason, the source, the x18 note, the convention note,
    # the extended context's note and the entry requirement's reason
    assert " ".join(tree.astext().split()).count(flat) >= 8
    html = (sphinx_build(tmp_path, page, "html") / "index.html").read_text()
    assert "<script>alert(" not in html and "&lt;script&gt;alert(" in html
    assert 'href="javascript' not in html
