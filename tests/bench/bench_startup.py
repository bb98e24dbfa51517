"""`nox -s bench`: how long `vtlgen --version` and `vtlgen --help` take to start, beside `python -c pass`.

Figures, not a test. Each round runs the three commands back to back (so a busy machine slows
all three alike); the median of each is printed with its ratio to `python -c pass`.
Target: `--version` within 8x `python -c pass`. Exits 1 when it is missed.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

ROUNDS = 15
TARGET_RATIO = 8.0
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "vtlgen --version": [sys.executable, "-m", "vtlgen", "--version"],
    "vtlgen --help": [sys.executable, "-m", "vtlgen", "--help"],
}


def main() -> int:
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(ROUNDS):
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["python -c pass"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<18} median {median * 1000:7.1f} ms  ({median / base:4.1f}x python -c pass)")
    ratio = statistics.median(times["vtlgen --version"]) / base
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    print(f"target: vtlgen --version within {TARGET_RATIO:.0f}x python -c pass: {ratio:.1f}x: {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
