"""The tuned MNIST-1D CNN, trained again on fresh seeds and read on the test split once.

`archopt tune examples/tune/mnist1d_cnn.yaml --out STUDY` chooses a spec on the validation
split (trials of seed 42); this script trains `STUDY/best.yaml` again with `archopt train`
for each seed (`--set seed=S`: the seed moves the initial weights, the batch order, dropout and
which 10% of the training examples are held out for validation; the test split is MNIST-1D's
own 1000 sequences), two runs at a time, and prints one row per run and the mean:
parameters, the headline checkpoint's validation and test accuracy, and the training time in
wall and CPU seconds (the CPU of that run's process, which a loaded machine does not inflate).
`--spec` trains any other spec the same way (e.g. the gallery's hand-made CNN, for a side by
side over the same seeds).

    .venv/bin/python benchmarks/tune/mnist1d_cnn_retrain.py STUDY [--seeds 0,1,2] [--jobs 2]
    .venv/bin/python benchmarks/tune/mnist1d_cnn_retrain.py --spec examples/gallery/mnist1d_cnn.yaml
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def params_of(run_dir: Path) -> int:
    import archopt
    from archopt.data import load_data
    from archopt.models import build_model

    spec = archopt.load_spec(str(run_dir / "spec.yaml"))
    model = build_model(spec.model, load_data(spec.data, spec.seed).shape, seed=spec.seed)
    return sum(p.numel() for p in model.parameters())


def train_all(spec: Path, seeds: list[int], out: Path, jobs: int) -> dict[int, dict]:
    """`archopt train SPEC --set seed=S --out OUT/seed-S` for every seed, ``jobs`` at a time;
    each run's metrics.json plus its wall and CPU seconds (a run already done is read back)."""
    exe = str(Path(sys.executable).parent / "archopt")
    todo, running, done = list(seeds), {}, {}
    while todo or running:
        while todo and len(running) < jobs:
            seed = todo.pop(0)
            run_dir = out / f"seed-{seed}"
            if (run_dir / "metrics.json").is_file():
                done[seed] = {"wall_s": None, "cpu_s": None}
                continue
            cmd = [exe, "train", str(spec), "--set", f"seed={seed}", "--out", str(run_dir),
                   "--quiet"]
            print("$", " ".join(cmd), flush=True)
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
            running[proc.pid] = (seed, time.perf_counter())
        if not running:
            continue
        pid, status, usage = os.wait4(-1, 0)
        seed, t0 = running.pop(pid)
        if status != 0:
            sys.exit(f"archopt train failed for seed {seed} (status {status})")
        done[seed] = {"wall_s": time.perf_counter() - t0,
                      "cpu_s": usage.ru_utime + usage.ru_stime}
    for seed, row in done.items():
        run_dir = out / f"seed-{seed}"
        row.update(json.loads((run_dir / "metrics.json").read_text()), run_dir=run_dir)
    return done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("study", nargs="?", help="a study directory (trains its best.yaml)")
    ap.add_argument("--spec", help="train this spec instead of a study's best.yaml")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "tune" / "cnn_retrain"))
    args = ap.parse_args()
    if not args.study and not args.spec:
        ap.error("give a study directory or --spec")
    spec = Path(args.spec) if args.spec else Path(args.study) / "best.yaml"
    out = Path(args.out) / (f"spec-{spec.stem}" if args.spec else f"study-{Path(args.study).name}")
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"{spec}; load average at the start {os.getloadavg()[0]:.1f}", flush=True)
    rows = train_all(spec, seeds, out, args.jobs)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    params = params_of(rows[seeds[0]]["run_dir"])
    print("| seed | params | val acc | test acc | train s (wall) | CPU s |")
    print("|---:|---:|---:|---:|---:|---:|")
    for seed in seeds:
        r = rows[seed]
        cpu = f"{r['cpu_s']:.0f}" if r["cpu_s"] is not None else ""
        print(f"| {seed} | {params:,} | {100 * r['val']['accuracy']:.1f}% | "
              f"{100 * r['test']['accuracy']:.1f}% | {r['train_time_s']:.0f} | {cpu} |")
    test = [100 * rows[s]["test"]["accuracy"] for s in seeds]
    val = [100 * rows[s]["val"]["accuracy"] for s in seeds]
    sd = statistics.stdev(test) if len(test) > 1 else 0.0
    print(f"| mean | | {statistics.mean(val):.1f}% | {statistics.mean(test):.1f}% "
          f"(sd {sd:.1f}, {min(test):.1f}-{max(test):.1f}) | | |")


if __name__ == "__main__":
    main()
