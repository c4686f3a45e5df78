"""Regenerate every gallery table and PNG: run each study in turn (finished runs are reused;
pass --fresh to retrain everything), then print the tables that go into benchmarks/GALLERY.md.

    .venv/bin/python benchmarks/gallery/run_all.py [--fresh] [--only gan,optimizers]

Runs go to benchmarks/out/gallery/ (gitignored), PNGs to docs/gallery/.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUDIES = ["mnist1d_paper", "mnist1d_best", "digits_tabular", "autoencoders", "gan",
           "optimizers", "regularization"]


def main() -> int:
    only = STUDIES
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1].split(",")
    flags = ["--fresh"] if "--fresh" in sys.argv else []
    failed = []
    for name in only:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        script = str(HERE / f"{name}.py")
        rc = subprocess.call([sys.executable, script, *flags], cwd=HERE.parents[1])
        print(f"== {name}: exit {rc}, {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
