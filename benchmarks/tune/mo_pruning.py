"""Several objectives with pruning (archopt's cost-peer rule, ``archopt.tune.pruning``):
validation accuracy (max) and parameters (min), ASHA among cost peers against no pruning, on
the same candidates (the random sampler with one seed proposes the same trials whatever the
pruner).

Per seed: the hypervolume of the Pareto front of the COMPLETE trials (error = 1 - accuracy and
parameters / reference, both minimized; reference point (1, 1.1 x the largest candidate's
parameters)), and the training epochs run. Target: the unpruned hypervolume within 2% at
<= 0.6x its epochs.

    nice -n 10 .venv/bin/python benchmarks/tune/mo_pruning.py [--seeds 3] [--trials 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from common import MNIST1D, epochs, machine, spec_with, spread, study

PRUNERS = {"none": {"name": "none"},
           "successive_halving": {"name": "successive_halving", "min_resource": 2,
                                  "reduction_factor": 3}}


def hypervolume(points: list[tuple[float, float]], ref: tuple[float, float]) -> float:
    """2-D hypervolume (both coordinates minimized) dominated by ``points`` up to ``ref``."""
    front = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    hv, best_y = 0.0, ref[1]
    for x, y in front:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return hv


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(machine())
    root = Path(tempfile.mkdtemp(prefix="bench-mo-"))
    res: dict[str, list[tuple[float, int]]] = {p: [] for p in PRUNERS}
    for seed in range(args.seeds):
        runs = {}
        for name, pruner in PRUNERS.items():
            spec = spec_with(MNIST1D, sampler={"name": "random", "seed": seed}, pruner=pruner,
                             trials=args.trials,
                             objectives={"val_accuracy": "max", "params": "min"})
            runs[name] = study(spec, root / f"{name}-{seed}", workers=args.workers)[1]
        ref_params = 1.1 * max(float(r["cost_params"]) for rows in runs.values() for r in rows)
        for name, rows in runs.items():
            pts = [(1 - float(r["val_accuracy"]), float(r["cost_params"]) / ref_params)
                   for r in rows if r["state"] == "COMPLETE"]
            res[name].append((hypervolume(pts, (1.0, 1.0)), epochs(rows)))
            print(f"seed {seed} {name}: hypervolume {res[name][-1][0]:.4f}, "
                  f"{epochs(rows)} epochs", flush=True)
    base = res["none"]
    print(f"MNIST-1D MLP space, objectives val_accuracy max + params min, random sampler, "
          f"{args.trials} trials x {MNIST1D['train']['epochs']} epochs, {args.seeds} seeds")
    print("| pruner | hypervolume, median (range) | hypervolume / unpruned, median (range) "
          "| epochs, median | epochs / unpruned, median (range) |")
    print("|---|---:|---:|---:|---:|")
    for name, rs in res.items():
        h = [a / b for (a, _), (b, _) in zip(rs, base)]
        r = [e / e0 for (_, e), (_, e0) in zip(rs, base)]
        print(f"| {name} | {spread([a for a, _ in rs])} | {spread(h)} | "
              f"{statistics.median(e for _, e in rs):g} | {spread(r)} |")
    print(machine())


if __name__ == "__main__":
    main()
