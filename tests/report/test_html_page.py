"""The HTML report: self-contained, escaped, and checked in a real browser (Debian `chromium`)."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support import IN_CI, ROOT, SPEC, require_tool
from tests.support.stubs import named
from vtlgen.cli import app
from vtlgen.isa.assembler import assemble
from vtlgen.isa.disassembler import decode
from vtlgen.lower.convention import lower
from vtlgen.plan import Plan
from vtlgen.report import html_page
from vtlgen.spec.loader import load
from vtlgen.validate.run import validate

ARTIFACTS = ROOT / ".ci" / "artifacts"
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {plan.convention_id: plan for plan in lower(load(SPEC).spec, SPEC.as_posix())}


def run_of(plan: Plan, text: str, name: str, hand_written: bool, trials: int = 10) -> html_page.StubRun:
    report = validate(plan, text, name, trials=trials)
    command = html_page.reproduce_command(plan, name if hand_written else None, "unicorn")
    return html_page.StubRun(plan, text, name, report.as_dict(), command)


def generated(convention: str) -> tuple[str, str]:
    path = ROOT / "generated" / "hyperv_vtl" / convention / f"hyperv_vtl_{convention}.S"
    return path.read_text(), path.relative_to(ROOT).as_posix()


@pytest.fixture(scope="module")
def runs(plans: dict[str, Plan]) -> list[html_page.StubRun]:
    """Both generated stubs (they pass) and a broken hand-written one (P1 fails), named by a stranger."""
    broken = named("hvc3_p1_wrong_offset")
    return [
        run_of(plans["hvc3"], *generated("hvc3"), hand_written=False),
        run_of(plans["smccc"], *generated("smccc"), hand_written=False),
        run_of(plans["hvc3"], broken.text, f"stubs/{HOSTILE}.S", hand_written=True),
    ]


class Elements(HTMLParser):
    """Every element's tag and attributes, in document order, and the page's text."""

    def __init__(self, html: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, cls: str | None = None) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and (cls is None or cls in a.get("class", "").split())]

    def by_id(self) -> dict[str, tuple[str, dict[str, str]]]:
        return {a["id"]: (t, a) for t, a in self.elements if "id" in a}


def offsets_of(run: html_page.StubRun) -> list[int]:
    return [d.offset for d in decode(assemble(run.stub_text, run.stub_file).code)]


def check_dom(dom: Elements, runs: list[html_page.StubRun]) -> None:
    """What a reviewer relies on, whoever parsed the page."""
    ids = dom.by_id()
    svg = dom.find("svg", "context")
    assert len(svg) == 1 and len(dom.find("rect")) >= 31 + 1 + 32 + 1  # x[], rsvd, q[], the unused tail
    assert {a.get("class") for a in dom.find("rect")} == {"shared", "private", "reserved", "unused"}
    for index, run in enumerate(runs):
        rows = {a["id"] for a in dom.find("tr", "insn") if a["id"].startswith(f"run{index}-")}
        assert rows == {f"run{index}-i{offset}" for offset in offsets_of(run)}, index  # one row per instruction
        violated = {a["id"] for a in dom.find("tr", "violated") if a["id"].startswith(f"run{index}-")}
        expected = {f"run{index}-i{v['offset']}" for v in run.report["violations"] if v["offset"] is not None}
        assert violated == expected, index  # marked exactly where a property broke
        for number, violation in enumerate(run.report["violations"]):
            tag, attrs = ids[f"run{index}-v{number}"]
            assert tag == "li" and attrs["data-property"] == violation["property"]
    # the broken stub: P1 broke at its wrong load, which is highlighted and linked both ways
    failing = [v for v in runs[2].report["violations"] if v["property"] == "P1"]
    assert failing and all(f"run2-i{v['offset']}" in {a["id"] for a in dom.find("tr", "violated")} for v in failing)
    links = {a["href"] for a in dom.find("a")}
    assert {f"#run2-i{v['offset']}" for v in failing} <= links and "#run2-v0" in links
    assert not dom.find("script") and not dom.find("img")  # the stranger's file name stayed text
    assert HOSTILE + ".S" in "".join(dom.text)


def test_page_is_self_contained_escaped_and_deterministic(runs: list[html_page.StubRun]) -> None:
    page = html_page.page(runs)
    assert page == html_page.page(runs)
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(https?:|//|data:)|<link|@import|url\(""", page, re.I)
    dom = Elements(page)
    check_dom(dom, runs)
    statuses = {a["data-property"]: a for a in dom.find("tr") if "data-property" in a}
    assert len(statuses) == 10
    assert "--seed" in page and "--stub" in page and "--trials 1" in page


def test_roles_and_slots_reach_the_page(runs: list[html_page.StubRun]) -> None:
    dom = Elements(html_page.page(runs))
    generated_roles = {a["data-role"] for a in dom.find("tr", "insn") if a["id"].startswith("run0-")}
    assert generated_roles == {"frame", "save", "load", "trap", "store", "restore"}
    hand_roles = {a["data-role"] for a in dom.find("tr", "insn") if a["id"].startswith("run2-")}
    assert hand_roles == {"unknown", "trap"}
    assert "read x[4] (x4), x[5] (x5)" in "".join(dom.text)


def test_properties_judged_at_an_instruction_are_marked(runs: list[html_page.StubRun]) -> None:
    views = [html_page.run_view(index, run) for index, run in enumerate(runs)]
    trap = next(item for item in views[1].rows if item.row.role == "trap")
    assert trap.judged == (("P1", "held"), ("P2", "held"), ("P9", "held")) and not trap.marks
    push = views[1].rows[1]  # stp x29, x30, [sp, #-16]!
    assert push.judged == (("P7", "held"), ("P8", "held"))
    # Where P1 broke, it is a violation mark, not a "held" one; P2 and P9 still held there.
    broken_trap = next(item for item in views[2].rows if item.row.role == "trap")
    assert ("P1", "held") not in broken_trap.judged and ("P9", "held") in broken_trap.judged
    # A backend that watches P8 only at the trap and the end marks no instruction with it.
    partial = {**runs[1].report, "properties_unobservable": ["P8: observed at the trap and at the end only"]}
    view = html_page.run_view(0, dataclasses.replace(runs[1], report=partial))
    assert view.rows[1].judged == (("P7", "held"),)
    assert "limit: P8: observed at the trap" in next(p.detail for p in view.properties if p.id == "P8")


def test_hostile_spec_text_is_escaped(plans: dict[str, Plan], runs: list[html_page.StubRun]) -> None:
    evil_plan = dataclasses.replace(plans["smccc"], spec_title=HOSTILE)
    run = html_page.StubRun(evil_plan, runs[1].stub_text, runs[1].stub_file, runs[1].report, runs[1].reproduce)
    page = html_page.page([run])
    assert HOSTILE not in page and "&lt;script&gt;document.title=" in page


def browser(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    chromium = require_tool("chromium", "chromium")
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def artifacts_dir(tmp_path: Path) -> Path:
    """CI keeps what the browser saw (.ci/run uploads .ci/artifacts/); elsewhere, pytest's tmp."""
    folder = ARTIFACTS if IN_CI else tmp_path / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.browser
def test_report_in_a_real_browser(tmp_path: Path, runs: list[html_page.StubRun]) -> None:
    folder = artifacts_dir(tmp_path)
    report = folder / "validate-report.html"
    html_page.write(report, runs)
    started = time.monotonic()
    result = browser("--dump-dom", report.as_uri(), profile=tmp_path / "profile")
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    dom = Elements(result.stdout)
    check_dom(dom, runs)  # after the browser parsed it, ran nothing, and built its DOM
    assert "<title>vtlgen validation report</title>" in result.stdout  # no script renamed the page
    shot = folder / "validate-report.png"
    shot.unlink(missing_ok=True)
    result = browser("--window-size=1280,5600", f"--screenshot={shot}", report.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", result.stderr[-2000:]
    print(f"report {report} ({report.stat().st_size} bytes, DOM in {seconds:.1f} s); screenshot {shot}")


def test_validate_html_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    stub = named("hvc3_p1_wrong_offset").write(tmp_path)
    out = tmp_path / "reports" / "broken.html"
    result = runner.invoke(
        app, ["validate", "--convention", "hvc3", "--stub", str(stub), "--trials", "5", "--format", "json",
              "--html", str(out)]
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout.lstrip().startswith("{") and f"HTML report: {out.as_posix()}" in result.stderr
    dom = Elements(out.read_text())
    assert dom.find("tr", "violated") and f"--stub {stub.as_posix()}" in "".join(dom.text)
    ok = runner.invoke(app, ["validate", "--trials", "5", "--html", str(tmp_path / "ok.html")])
    assert ok.exit_code == 0 and not Elements((tmp_path / "ok.html").read_text()).find("tr", "violated")
    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = runner.invoke(app, ["validate", "--trials", "1", "--html", str(blocked / "x.html")])
    assert bad.exit_code == 2 and "cannot write" in bad.output and "Traceback" not in bad.output


@pytest.mark.browser
def test_the_page_shows_the_proof_and_the_process_verdict(tmp_path: Path) -> None:
    """As a person does: validate with --html, then open the page in chromium. A stub the proof
    PROVED reads "proved" for every property; a replayed counterexample that exits 1 reads
    "violations found", with the violation listed, never "every property held"."""
    from tests.support import FIRST, invoke

    def opened(page: Path) -> str:
        result = browser("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    good = tmp_path / "good.html"
    done = invoke("validate", str(FIRST), "--convention", "hvc3", "--trials", "5", "--html", str(good))
    assert done.exit_code == 0 and "PROVED" in done.stdout
    dom = opened(good)
    statuses = re.findall(r'<td class="status status-([a-z-]+)">', dom)
    assert statuses == ["proved"] * 10, statuses
    assert 'id="verdict">every property held' in dom

    stub = named("hvc3_p1_wrong_offset").write(tmp_path)
    found = tmp_path / "cex"
    proved = invoke("prove", str(FIRST), "--convention", "hvc3", "--stub", str(stub), "--counterexamples", str(found))
    assert proved.exit_code == 1
    replay = sorted(found.glob("*.json"))[0]
    bad = tmp_path / "replay.html"
    replayed = invoke(
        "validate", str(FIRST), "--convention", "hvc3", "--stub", str(stub), "--replay", str(replay), "--html", str(bad)
    )
    assert replayed.exit_code == 1
    dom = opened(bad)
    assert 'id="verdict">violations found' in dom and "every property held" not in dom
    statuses = re.findall(r'<td class="status status-([a-z-]+)">', dom)
    assert "violated" in statuses and "proved" not in statuses, statuses
