"""Start-up: how long a training process takes to reach its first optimizer step.

    .venv/bin/python benchmarks/bench_startup.py [--repeats 7] [--before SRC] [--write]

Each repeat launches a fresh Python process that imports archopt and calls ``archopt.fit`` on
a one-step spec (the MNIST-1D paper CNN, data from the cache, ``max_steps: 1``) with a callback
that records the wall time and the process CPU time at the end of the first step; the process
then finishes (final metrics, files) and its whole wall time is recorded too. ``--before SRC``
runs another copy of archopt's ``src/`` (e.g. ``git archive OLD src | tar -x -C /tmp/old``) in
the same way, interleaved with this one, so both see the same machine load. Medians.
``--write`` puts the table in benchmarks/RESULTS.md (replacing this script's section only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_model  # benchmarks/machine.py (scripts run from benchmarks/)

SECTION = "## Start-up: time to the first step (benchmarks/bench_startup.py)"
ROOT = Path(__file__).resolve().parent.parent
CHILD = r"""
import json, os, sys, time
t0 = time.time()
import archopt
from archopt.train import Callback

class FirstStep(Callback):
    key = "first_step"
    seen = None
    def on_batch_end(self, trainer):
        if self.seen is None:
            self.seen = {"first_step_wall": time.time(), "first_step_cpu": time.process_time()}

spec = archopt.load_spec({"name": "startup", "seed": 0, "device": "cpu",
    "data": {"name": "mnist1d", "val_split": 0.0, "batch_size": 100, "normalize": False},
    "model": {"name": "mnist1d_cnn"},
    "train": {"max_steps": 1, "metrics": ["accuracy"], "threads": 1}})
cb = FirstStep()
archopt.fit(spec, out=sys.argv[1], quiet=True, callbacks=[cb])
print(json.dumps({**cb.seen, "end_wall": time.time(), "end_cpu": time.process_time(),
                  "sklearn": "sklearn" in sys.modules,
                  "dynamo": "torch._dynamo" in sys.modules}))
"""


def run_once(src: Path, out: Path) -> dict:
    """One fresh process; seconds from launch to the first step and to the end."""
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1")
    start = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out)], env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"first_step_s": r["first_step_wall"] - start, "first_step_cpu_s": r["first_step_cpu"],
            "whole_s": r["end_wall"] - start, "whole_cpu_s": r["end_cpu"],
            "sklearn": r["sklearn"], "dynamo": r["dynamo"]}


def summarize(runs: list[dict]) -> dict:
    keys = ("first_step_s", "first_step_cpu_s", "whole_s", "whole_cpu_s")
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    out.update({f"{k}_min": min(r[k] for r in runs) for k in keys})
    out.update({f"{k}_max": max(r[k] for r in runs) for k in keys})
    out["sklearn"], out["dynamo"] = runs[-1]["sklearn"], runs[-1]["dynamo"]
    return out


def table(results: dict[str, dict], repeats: int, args: argparse.Namespace) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [SECTION, "",
             f"Command: `.venv/bin/python benchmarks/bench_startup.py --repeats {repeats}"
             + (" --before SRC" if args.before else "") + "`  ",
             f"Machine: nproc {os.cpu_count()}, {cpu_model()}; Python {platform.python_version()}"
             f"; load average {args.load_start:.1f} at the start, {load:.1f} at the end  ",
             "Work: a fresh process imports archopt and runs `archopt.fit` on the MNIST-1D "
             "paper CNN with `max_steps: 1` (data from the cache, 1 thread). Interleaved "
             f"repeats, median [min-max] of {repeats}. CPU = the process's CPU time.",
             "",
             "| code | first step, wall (s) | first step, CPU (s) | whole process, wall (s) "
             "| whole, CPU (s) | imports scikit-learn | imports torch._dynamo |",
             "|---|---:|---:|---:|---:|---|---|"]
    for name, r in results.items():
        cells = [f"{r[k]:.2f} [{r[k + '_min']:.2f}-{r[k + '_max']:.2f}]"
                 for k in ("first_step_s", "first_step_cpu_s", "whole_s", "whole_cpu_s")]
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | {'yes' if r['sklearn'] else 'no'} | {'yes' if r['dynamo'] else 'no'} |")
    return "\n".join(lines) + "\n"


def write_section(text: str, notes: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    doc = path.read_text()
    body = text + ("\n" + notes + "\n" if notes else "")
    if SECTION in doc:
        start = doc.index(SECTION)
        nxt = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + body + (doc[nxt + 1:] if nxt != -1 else "")
    else:
        doc = doc.rstrip() + "\n\n" + body
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--before", metavar="SRC", help="another archopt src/ to compare")
    ap.add_argument("--before-name", default="before")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--notes", default="", help="a paragraph written under the table")
    args = ap.parse_args()
    args.load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    variants = {"archopt (this tree)": ROOT / "src"}
    if args.before:
        variants = {args.before_name: Path(args.before), **variants}
    runs: dict[str, list[dict]] = {k: [] for k in variants}
    with tempfile.TemporaryDirectory() as tmp:
        run_once(ROOT / "src", Path(tmp) / "warm")  # the mnist1d cache, the file cache
        for i in range(args.repeats):
            for name, src in variants.items():
                r = run_once(src, Path(tmp) / f"{i}-{len(runs[name])}-{abs(hash(name))}")
                runs[name].append(r)
                print(f"{name}: first step {r['first_step_s']:.2f} s "
                      f"(cpu {r['first_step_cpu_s']:.2f}), whole {r['whole_s']:.2f} s",
                      flush=True)
    text = table({k: summarize(v) for k, v in runs.items()}, args.repeats, args)
    print(text)
    if args.write:
        write_section(text, args.notes)


if __name__ == "__main__":
    main()
