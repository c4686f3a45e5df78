"""Zero-cost proxies on MNIST-1D: Spearman rank correlation with trained accuracy.

Draws ``--candidates`` CNNs at random from a small architecture space (1 to 4 conv stages of
{8, 16, 32, 64} channels, kernel {3, 5, 7}, stride {1, 2}, max or no pooling; the archopt
``cnn`` family), scores each untrained model with synflow and NASWOT (one batch of 64 training
inputs) and with its parameter count (the naive baseline a proxy must beat), then trains each
briefly (Adam 1e-2, batch 100, ``--steps`` steps, 1 thread) and reads its validation accuracy.
Reports Spearman's rho (and Kendall's tau) of each score against that accuracy, and the
accuracy of the top-k candidates each score would have picked.

Finished candidates are appended to ``--out`` (JSON lines); a killed run resumes there.
``--shard K/N`` splits the candidates among N processes.

    .venv/bin/python benchmarks/search/proxies_mnist1d.py --candidates 24 --steps 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import torch
from optuna.distributions import CategoricalDistribution as Choice
from scipy.stats import kendalltau, spearmanr

from archopt.data import load_data
from archopt.models import build_model
from archopt.search.proxies import naswot, synflow
from archopt.search.space import Stages, suggest_space
from archopt.spec import load_spec
from archopt.train import fit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import cpu_model  # noqa: E402

SPACE = {
    "conv": Stages({"channels": [8, 16, 32, 64]}, 1, 4),
    "kernel_sizes": Choice([3, 5, 7]),
    "strides": Choice([1, 2]),
    "pool": Choice(["max", "none"]),
}


def candidates(n: int, seed: int) -> list[dict]:
    """``n`` distinct model sections drawn by Optuna's random sampler from SPACE."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    seen, out = set(), []
    while len(out) < n:
        trial = study.ask()
        section = {"name": "cnn", **suggest_space(trial, SPACE)}
        study.tell(trial, 0.0)
        key = json.dumps(section, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(section)
    return out


def spec_for(section: dict, steps: int) -> dict:
    return {
        "name": "proxy-candidate", "seed": 0,
        "data": {"name": "mnist1d", "val_split": 0.1, "batch_size": 100},
        "model": section,
        "train": {"max_steps": steps, "optimizer": {"name": "adam", "lr": 0.01},
                  "metrics": ["accuracy"], "threads": 1},
    }


def run(args: argparse.Namespace) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)
    out = Path(args.out)
    done = {json.loads(line)["key"] for line in out.read_text().splitlines()} \
        if out.exists() else set()
    data = load_data({"name": "mnist1d", "val_split": 0.1}, seed=0)
    batch = data.train.x[:64]
    shard, shards = (int(v) for v in args.shard.split("/"))
    for i, section in enumerate(candidates(args.candidates, args.seed)):
        key = json.dumps(section, sort_keys=True)
        if key in done or i % shards != shard:
            continue
        model = build_model(section, data.shape, seed=0)
        t0 = time.process_time()
        scores = {"synflow": synflow(model, batch), "naswot": naswot(model, batch)}
        proxy_cpu = time.process_time() - t0
        params = sum(p.numel() for p in model.parameters())
        t0, c0 = time.perf_counter(), time.process_time()
        with tempfile.TemporaryDirectory() as tmp:
            metrics = fit(load_spec(spec_for(section, args.steps)), out=Path(tmp) / "run",
                          quiet=True)
        row = {"key": key, "section": section, "params": params, **scores,
               "proxy_cpu_s": round(proxy_cpu, 3), "val_accuracy": metrics["val"]["accuracy"],
               "train_wall_s": round(time.perf_counter() - t0, 1),
               "train_cpu_s": round(time.process_time() - c0, 1), "steps": args.steps}
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"{key}: params {params}, synflow {scores['synflow']:.3g}, naswot "
              f"{scores['naswot']:.1f}, val acc {row['val_accuracy']:.3f} "
              f"({row['train_wall_s']} s)", flush=True)


def report(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in Path(args.out).read_text().splitlines()]
    acc = np.array([r["val_accuracy"] for r in rows])
    print(f"Machine: nproc {os.cpu_count()}, {cpu_model()}; torch {torch.__version__}, "
          f"1 thread; Python {platform.python_version()}")
    print(f"{len(rows)} candidates, {rows[0]['steps']} training steps each; validation accuracy "
          f"from {acc.min():.3f} to {acc.max():.3f} (median {np.median(acc):.3f}); training "
          f"{sum(r['train_wall_s'] for r in rows):.0f} s wall and "
          f"{sum(r['train_cpu_s'] for r in rows):.0f} s CPU in all, proxies "
          f"{sum(r['proxy_cpu_s'] for r in rows):.1f} s CPU in all.\n")
    k = 5
    best_k = np.sort(acc)[-k:].mean()
    print(f"| score | Spearman rho (p) | Kendall tau | mean val acc of its top {k} "
          f"(best possible {best_k:.3f}, all {acc.mean():.3f}) |")
    print("|---|---:|---:|---:|")
    for name in ("synflow", "naswot", "params"):
        s = np.array([r[name] for r in rows], dtype=float)
        rho, tau = spearmanr(s, acc), kendalltau(s, acc).statistic
        top = acc[np.argsort(-s, kind="stable")[:k]].mean()
        print(f"| {name} | {rho.statistic:.3f} ({rho.pvalue:.3f}) | {tau:.3f} | {top:.3f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=24)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard", default="0/1", help="K/N: train only candidates i with i %% N == K "
                   "(run N processes side by side; they append to the same file)")
    p.add_argument("--out", default=str(Path(__file__).with_name("proxies_mnist1d_runs.jsonl")))
    p.add_argument("--report", action="store_true", help="print the table and exit")
    args = p.parse_args()
    report(args) if args.report else run(args)


if __name__ == "__main__":
    main()
