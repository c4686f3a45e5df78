"""2 workers against 1 on the same study (the MNIST-1D space, the random sampler with one seed,
so the same trials), interleaved: 1, 2, 1, 2, ... Reported: each study's wall time and the
ratio 2 workers / 1 worker per pair (target <= 0.6 on 2 cores), with the load average, which
on a shared machine decides most of it.

    nice -n 10 .venv/bin/python benchmarks/tune/workers.py [--pairs 2] [--trials 12]
        [--epochs 15]

``--epochs`` sets each trial's length (the MLP trains about 0.07 s an epoch on an idle core):
a study's fixed costs (its set-up, each worker's imports) weigh less as trials grow.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import MNIST1D, machine, spec_with, spread, study


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--trials", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=15, help="epochs per trial")
    args = ap.parse_args()
    print(machine())
    root = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    spec = spec_with(MNIST1D, sampler={"name": "random", "seed": 0}, trials=args.trials)
    spec["train"]["epochs"] = args.epochs
    walls: dict[int, list[float]] = {1: [], 2: []}
    for i in range(args.pairs):
        for w in (1, 2):
            t = time.perf_counter()
            study(spec, root / f"w{w}-{i}", workers=w)
            walls[w].append(time.perf_counter() - t)
            print(f"pair {i}: {w} worker(s) {walls[w][-1]:.1f} s ({machine()})", flush=True)
    ratios = [b / a for a, b in zip(walls[1], walls[2])]
    print(f"{args.trials} trials of {args.epochs} epochs in the MNIST-1D MLP space, "
          f"{args.pairs} interleaved pairs")
    print("| workers | study wall (s), median (range) |")
    print("|---:|---:|")
    for w, xs in walls.items():
        print(f"| {w} | {spread(xs)} |")
    print(f"ratio 2 workers / 1 worker, median (range): {spread(ratios)}")
    print(machine())


if __name__ == "__main__":
    main()
