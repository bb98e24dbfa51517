"""`nox -s bench`: the HTML report's size and how long it takes to build and to render.

Figures, not a test: the report of both generated stubs and one broken stub (200 trials each),
its size in bytes, the time to build it in Python, and the time headless chromium takes to load
it and dump its DOM, less the same for an empty page (the browser's own start-up).
Targets: under 512 KiB, and under 2 s of rendering beyond start-up. Exits 1 when one is missed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vtlgen.lower.convention import lower
from vtlgen.report import html_page
from vtlgen.spec.loader import load
from vtlgen.validate.run import validate

ROOT = Path(__file__).resolve().parents[2]
TARGET_BYTES = 512 * 1024
TARGET_RENDER_S = 2.0
ROUNDS = 3


def runs() -> list[html_page.StubRun]:
    spec = ROOT / "spec" / "hyperv_vtl.yaml"
    plans = {p.convention_id: p for p in lower(load(spec).spec, spec.as_posix())}
    out = []
    for convention, plan in plans.items():
        path = ROOT / "generated" / "hyperv_vtl" / convention / f"hyperv_vtl_{convention}.S"
        text = path.read_text()
        report = validate(plan, text, path.name).as_dict()
        out.append(html_page.StubRun(plan, text, path.name, report, "vtlgen validate"))
    broken = (ROOT / "tests" / "data" / "stubs" / "hvc3_ok_variant.S").read_text()
    broken = broken.replace("\tldp    x4, x5, [x1, #32]\n", "\tldp    x4, x5, [x1, #40]\n")
    report = validate(plans["hvc3"], broken, "broken.S").as_dict()
    out.append(html_page.StubRun(plans["hvc3"], broken, "broken.S", report, "vtlgen validate"))
    return out


def load_time(chromium: str, page: Path, profile: Path) -> float:
    """Best of a few loads: start the browser, render the page, dump its DOM."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}", "--dump-dom",
             page.as_uri()],
            capture_output=True, check=True, timeout=180,
        )  # fmt: skip
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    stub_runs = runs()
    start = time.perf_counter()
    text = html_page.page(stub_runs)
    build = time.perf_counter() - start
    size = len(text.encode())
    print(f"report: {size} bytes for {len(stub_runs)} stubs, built in {build * 1000:.0f} ms")
    failed = size > TARGET_BYTES
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found (Debian package chromium): render time not measured")
    else:
        with tempfile.TemporaryDirectory() as folder:
            report, blank = Path(folder) / "report.html", Path(folder) / "blank.html"
            report.write_text(text)
            blank.write_text("<!DOCTYPE html><title>blank</title>")
            base = load_time(chromium, blank, Path(folder) / "profile")
            full = load_time(chromium, report, Path(folder) / "profile")
        print(f"chromium: {full:.2f} s to load and dump the report, {base:.2f} s for an empty page: "
              f"{full - base:.2f} s of rendering")  # fmt: skip
        failed = failed or full - base > TARGET_RENDER_S
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
