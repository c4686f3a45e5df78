"""In-memory Loader vs torch DataLoader(TensorDataset), feeding a small MLP on MNIST-1D-sized data.

    .venv/bin/python benchmarks/bench_loader.py [--repeats 7] [--write]

One epoch = 4000 examples x 40 features, batch 100, an MLP 40-100-100-10 trained with Adam; the
same work with each loader, interleaved, several repeats, the median reported. Also times the
second load of mnist1d (a cache hit). ``--write`` puts the table in benchmarks/RESULTS.md
(replacing this script's section only).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import cpu_model  # benchmarks/machine.py (scripts run from benchmarks/)
from torch import nn

from archopt.data import Loader, load_data
from archopt.data.dataset import Split

SECTION = "## Data loader (benchmarks/bench_loader.py)"


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                         nn.Linear(100, 10))


def train_epoch(batches) -> float:
    """Seconds for one epoch of training over ``batches`` (an iterable of (x, y, ...))."""
    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    t0 = time.perf_counter()
    for batch in batches:
        x, y = batch[0], batch[1]
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=21)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: less noise)")
    ap.add_argument("--write", action="store_true", help="write the section in RESULTS.md")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    x = torch.randn(4000, 40)
    y = torch.randint(0, 10, (4000,))
    split = Split(x, y)
    ours, theirs = [], []
    for epoch in range(args.repeats + 1):  # the first round warms up and is not counted
        loader = Loader(split, 100, shuffle=True, seed=0)
        loader.set_epoch(epoch)
        a = train_epoch(loader)
        dl = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=100,
                                         shuffle=True,
                                         generator=torch.Generator().manual_seed(epoch))
        b = train_epoch(dl)
        if epoch:
            ours.append(a)
            theirs.append(b)

    with tempfile.TemporaryDirectory() as cache:
        spec = {"name": "mnist1d", "cache_dir": cache}
        t0 = time.perf_counter()
        load_data(spec, seed=0)
        first = time.perf_counter() - t0
        hits = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            load_data(spec, seed=0)
            hits.append(time.perf_counter() - t0)

    m_ours, m_theirs, m_hit = (statistics.median(v) for v in (ours, theirs, hits))
    nproc = os.cpu_count()
    with contextlib.suppress(OSError, ValueError):
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout)
    lines = [
        SECTION, "",
        f"Command: `.venv/bin/python benchmarks/bench_loader.py --repeats {args.repeats} "
        f"--threads {args.threads}`  ",
        f"Machine: nproc {nproc}, {cpu_model()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; Python {sys.version.split()[0]}  ",
        "Work: one epoch, 4000 x 40 inputs, batch 100 (40 steps), MLP 40-100-100-10, Adam; "
        f"median of {args.repeats} repeats (after one warm-up).", "",
        "| measure | median (s) | min (s) | max (s) |", "|---|---:|---:|---:|",
        f"| epoch, archopt `Loader` | {m_ours:.4f} | {min(ours):.4f} | {max(ours):.4f} |",
        f"| epoch, `DataLoader(TensorDataset)` | {m_theirs:.4f} | {min(theirs):.4f} | "
        f"{max(theirs):.4f} |",
        f"| mnist1d load, first (generate + cache) | {first:.3f} | | |",
        f"| mnist1d load, cache hit | {m_hit:.4f} | {min(hits):.4f} | {max(hits):.4f} |", "",
        f"Speed-up of `Loader` over `DataLoader`: **{m_theirs / m_ours:.2f}x** (target >= 1.3x). "
        f"Cache-hit load: **{m_hit:.3f} s** (target < 0.5 s).", "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        path = Path(__file__).with_name("RESULTS.md")
        old = path.read_text() if path.exists() else "# Benchmark results\n\n"
        if SECTION in old:
            start = old.index(SECTION)
            end = old.find("\n## ", start + len(SECTION))
            old = old[:start] + text + ("\n" + old[end + 1:] if end != -1 else "")
        else:
            old = old.rstrip("\n") + "\n\n" + text
        from archopt.spec.load import write_atomic

        write_atomic(path, old)


if __name__ == "__main__":
    main()
