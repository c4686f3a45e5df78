"""Training step time with one thread against all cores, and what the thread probe picks.

    .venv/bin/python benchmarks/bench_threads.py [--steps 20] [--repeats 3] [--write]

For each model: ``--steps`` real training steps (``loop.supervised_step``: forward, loss,
backward, optimizer) with 1 thread and with every core, interleaved ``--repeats`` times, median
wall and CPU time per step; then what ``archopt.train.threads.choose`` picks for that model
(the probe archopt runs before training) and how long the probe took. ``--write`` puts the table
in benchmarks/RESULTS.md (replacing this script's section only).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from machine import cpu_model  # benchmarks/machine.py (scripts run from benchmarks/)

import archopt
from archopt.train import loop, threads
from archopt.train.fit import build_trainer, prepare

SECTION = "## Threads, measured not assumed (benchmarks/bench_threads.py)"
ROOT = Path(__file__).resolve().parent.parent
MODELS = {
    "example RNN (examples/models/rnn.yaml)": ("examples/models/rnn.yaml", []),
    "example MLP (examples/models/mlp.yaml)": ("examples/models/mlp.yaml", []),
    "MNIST-1D paper CNN": ("examples/mnist1d/paper_cnn.yaml", []),
    "wide MLP, digits, batch 512": ("examples/models/mlp.yaml",
                                    ["model.hidden=[2048,2048]", "data.batch_size=512"]),
}


def trainer_for(path: str, overrides: list[str]):
    spec = archopt.load_spec(ROOT / path, overrides + ["train.threads=1"])
    p = prepare(spec)
    return p, build_trainer(spec, p, None)


def time_steps(t, batches, n_threads: int) -> tuple[float, float]:
    """(wall, cpu) seconds per step over ``batches``."""
    torch.set_num_threads(n_threads)
    loop.supervised_step(t, batches[0])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for b in batches:
        loop.supervised_step(t, b)
    n = len(batches)
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def measure(name: str, path: str, overrides: list[str], steps: int, repeats: int,
            cores: int) -> list:
    p, t = trainer_for(path, overrides)
    t.train_loader.set_epoch(0)
    batches = []
    while len(batches) < steps:
        batches += list(t.train_loader)
    batches = batches[:steps]
    runs: dict[int, list[tuple[float, float]]] = {1: [], cores: []}
    for _ in range(repeats):
        for k in (1, cores):
            runs[k].append(time_steps(t, batches, k))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in runs.items()}
    spread = {k: (min(w for w, _ in v), max(w for w, _ in v)) for k, v in runs.items()}
    os.environ.pop("OMP_NUM_THREADS", None)
    start = time.perf_counter()
    choice = threads.choose(None, 1, torch.device("cpu"), lambda: threads.probe_step(
        p.model, p.parts.task, p.parts.loss_fn, batches[0]))
    probe_s = time.perf_counter() - start
    params = sum(q.numel() for q in p.model.parameters())
    return [name, f"{params:,}", f"{med[1][0] * 1e3:.3g} ({spread[1][0] * 1e3:.3g}-"
            f"{spread[1][1] * 1e3:.3g})", f"{med[cores][0] * 1e3:.3g} ({spread[cores][0] * 1e3:.3g}"
            f"-{spread[cores][1] * 1e3:.3g})", f"{med[1][1] * 1e3:.3g} / {med[cores][1] * 1e3:.3g}",
            f"{med[cores][0] / med[1][0]:.2f}", str(choice.threads), f"{probe_s * 1e3:.0f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    cores = threads.cores(1)
    load = os.getloadavg()[0]
    rows = [measure(name, path, ov, args.steps, args.repeats, cores)
            for name, (path, ov) in MODELS.items()]
    head = ["model", "params", "ms/step, 1 thread (range)", f"ms/step, {cores} threads (range)",
            f"CPU ms/step 1 / {cores}", f"{cores} threads / 1", "probe picks", "probe ms"]
    lines = [SECTION, "",
             f"Command: `.venv/bin/python benchmarks/bench_threads.py --steps {args.steps} "
             f"--repeats {args.repeats}`  ",
             f"Machine: {cpu_model()}, {cores} cores; torch {torch.__version__}; Python "
             f"{platform.python_version()}; load average {load:.1f} at the start (the machine "
             "was shared with other jobs: wall times are noisy, compare within a row).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        path = ROOT / "benchmarks" / "RESULTS.md"
        old = path.read_text()
        if SECTION in old:
            start = old.index(SECTION)
            nxt = old.find("\n## ", start + 1)
            old = old[:start] + old[nxt + 1:] if nxt >= 0 else old[:start]
        path.write_text(old.rstrip("\n") + "\n\n" + text)


if __name__ == "__main__":
    sys.exit(main())
