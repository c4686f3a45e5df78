"""TPE against random search on a real space (an MLP on MNIST-1D: learning rate, widths,
dropout, batch size), through ``archopt tune``.

Per seed: TPE's best validation accuracy after N trials against random search's after N and
after 2N trials. Target: TPE at N reaches random search's best at 2N (median over seeds).

    nice -n 10 .venv/bin/python benchmarks/tune/samplers_mnist1d.py [--seeds 3] [--n 8]
        [--first-seed 0] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from common import MNIST1D, machine, spec_with, spread, study


def curve(rows: list[dict]) -> list[float]:
    """Best-so-far validation accuracy by trial number (failed or pruned trials: -inf)."""
    out, best = [], float("-inf")
    for r in sorted(rows, key=lambda r: int(r["number"])):
        if r["state"] == "COMPLETE":
            best = max(best, float(r["val_accuracy"]))
        out.append(best)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed+1, ...")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    print(machine())
    root = Path(tempfile.mkdtemp(prefix="bench-samplers-"))
    tpe_n, rnd_n, rnd_2n = [], [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        tpe = spec_with(MNIST1D, sampler={"name": "tpe", "seed": seed,
                                          "n_startup_trials": max(2, args.n // 2)},
                        trials=args.n)
        rnd = spec_with(MNIST1D, sampler={"name": "random", "seed": seed}, trials=2 * args.n)
        t = curve(study(tpe, root / f"tpe-{seed}", workers=args.workers)[1])
        r = curve(study(rnd, root / f"random-{seed}", workers=args.workers)[1])
        tpe_n.append(100 * t[args.n - 1])
        rnd_n.append(100 * r[args.n - 1])
        rnd_2n.append(100 * r[2 * args.n - 1])
        print(f"seed {seed}: tpe@{args.n} {tpe_n[-1]:.2f}, random@{args.n} {rnd_n[-1]:.2f}, "
              f"random@{2 * args.n} {rnd_2n[-1]:.2f}", flush=True)
    wins = sum(a >= b for a, b in zip(tpe_n, rnd_2n))
    print(f"MNIST-1D MLP space, {MNIST1D['train']['epochs']} epochs per trial, {args.seeds} "
          f"seeds, {args.workers} workers; TPE n_startup_trials {max(2, args.n // 2)}")
    print("| sampler | trials | best val acc (%), median (range) |")
    print("|---|---:|---:|")
    print(f"| tpe | {args.n} | {spread(tpe_n)} |")
    print(f"| random | {args.n} | {spread(rnd_n)} |")
    print(f"| random | {2 * args.n} | {spread(rnd_2n)} |")
    print(f"TPE at {args.n} >= random at {2 * args.n}: {wins} of {args.seeds} seeds; median "
          f"difference {statistics.median(a - b for a, b in zip(tpe_n, rnd_2n)):+.2f} pts")
    print(machine())


if __name__ == "__main__":
    main()
