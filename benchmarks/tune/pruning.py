"""Pruning: ASHA (``successive_halving``) and Hyperband against no pruning, on the same
candidates: the random sampler with one seed proposes the same trials whatever the pruner, so
the studies differ only in what was stopped early.

Per seed: the best validation accuracy and the training epochs actually run (the compute), for
each pruner; the target is the unpruned best within 0.3 points at <= 0.5x its epochs.

    nice -n 10 .venv/bin/python benchmarks/tune/pruning.py [--seeds 3] [--trials 16]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from common import MNIST1D, best, epochs, machine, spec_with, spread, study

PRUNERS = {
    "none": {"name": "none"},
    "successive_halving": {"name": "successive_halving", "min_resource": 2,
                           "reduction_factor": 3},
    "hyperband": {"name": "hyperband", "min_resource": 2, "max_resource": 15,
                  "reduction_factor": 3},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(machine())
    root = Path(tempfile.mkdtemp(prefix="bench-pruning-"))
    res: dict[str, list[tuple[float, int]]] = {p: [] for p in PRUNERS}
    for seed in range(args.seeds):
        for name, pruner in PRUNERS.items():
            spec = spec_with(MNIST1D, sampler={"name": "random", "seed": seed}, pruner=pruner,
                             trials=args.trials)
            _, rows = study(spec, root / f"{name}-{seed}", workers=args.workers)
            res[name].append((best(rows), epochs(rows)))
            print(f"seed {seed} {name}: best val {best(rows):.4f}, {epochs(rows)} epochs",
                  flush=True)
    base = res["none"]
    print(f"MNIST-1D MLP space, random sampler, {args.trials} trials x "
          f"{MNIST1D['train']['epochs']} epochs, {args.seeds} seeds, {args.workers} workers")
    print("| pruner | best val acc, median (range) | best - unpruned (pts), median (range) "
          "| epochs, median | epochs / unpruned, median (range) |")
    print("|---|---:|---:|---:|---:|")
    for name, rs in res.items():
        d = [100 * (b - b0) for (b, _), (b0, _) in zip(rs, base)]
        r = [e / e0 for (_, e), (_, e0) in zip(rs, base)]
        print(f"| {name} | {spread([100 * b for b, _ in rs])} | {spread(d)} | "
              f"{statistics.median(e for _, e in rs):g} | {spread(r)} |")
    print(machine())


if __name__ == "__main__":
    main()
