"""Per-trial overhead of the tuning engine: the time a trial spends outside its training
epochs (sampling, the spec validated and sent to a worker, costs, data from the cache, the
model built, checkpoints and metrics written, the result told to the study).

A study of tiny trials (digits, an 8-unit MLP, 2 epochs) so that training is a small part of
each; one worker. Reported per trial, from trials.csv: ``overhead_s`` = trial wall time minus
the trainer's own ``train_time_s``, and ``overhead_cpu_s`` = the worker's CPU seconds outside
epochs (robust to a loaded machine). The worker's first trial (its imports) is shown apart,
and the study's own process's CPU per trial (sampling, telling, trials.csv and best.yaml
rewritten after each trial; its one-time set-up included).

    nice -n 10 .venv/bin/python benchmarks/tune/overhead.py [--trials 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import machine, spread, study

SPEC = {"name": "bench-overhead", "seed": 0, "data": {"name": "digits", "batch_size": 64},
        "model": {"name": "mlp", "hidden": [8]}, "train": {"epochs": 2, "threads": 1},
        "tune": {"space": {"train.optimizer.lr": {"float": [0.001, 0.1], "log": True}},
                 "objectives": {"val_accuracy": "max"}, "sampler": {"name": "random"}}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    args = ap.parse_args()
    print(machine())
    out = Path(tempfile.mkdtemp(prefix="bench-overhead-")) / "study"
    cpu0 = time.process_time()
    result, rows = study(SPEC, out, trials=args.trials, workers=1)
    parent_cpu = time.process_time() - cpu0  # the study's own process (ask, tell, outputs)
    rows = sorted(rows, key=lambda r: int(r["number"]))
    first, rest = rows[0], rows[1:]
    wall = [float(r["overhead_s"]) for r in rest]
    cpu = [float(r["overhead_cpu_s"]) for r in rest]
    train = [float(r["wall_s"]) - float(r["overhead_s"]) for r in rest]
    print(f"{args.trials} trials, 1 worker, study wall {result['wall_s']} s")
    print("| per trial (median (min-max), trials 2..N) | seconds |")
    print("|---|---:|")
    print(f"| overhead, wall (trial wall - train_time_s) | {spread(wall)} |")
    print(f"| overhead, CPU of the worker outside epochs | {spread(cpu)} |")
    print(f"| training epochs, wall | {spread(train)} |")
    print(f"| first trial of the worker: overhead wall / CPU | {float(first['overhead_s']):.3g}"
          f" / {float(first['overhead_cpu_s']):.3g} |")
    print(f"| the study's own process: CPU per trial, its set-up included "
          f"| {parent_cpu / args.trials:.3g} |")
    print(machine())


if __name__ == "__main__":
    main()
