"""How fast `archopt --help` and `archopt train --help` answer (target: under 0.5 s).

Run: .venv/bin/python benchmarks/bench_cli.py
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

ARCHOPT = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "archopt")


def time_command(args: list[str], repeats: int = 15) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run([ARCHOPT, *args], capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print("| command | median of 15 (s) | target (s) |\n|---|---|---|")
    for args in (["--help"], ["train", "--help"], ["profile", "--help"], ["data", "--help"]):
        print(f"| `archopt {' '.join(args)}` | {time_command(args):.3f} | 0.5 |")


if __name__ == "__main__":
    main()
