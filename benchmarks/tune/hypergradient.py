"""Hypergradient descent: adam_hd started 10x too low and 10x too high against the best fixed
learning rate of a grid (Adam), one run each, same model, data, seed and epochs.

    .venv/bin/python benchmarks/tune/hypergradient.py [--data digits] [--epochs 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import archopt

GRID = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]


def train(data: str, epochs: int, opt: dict, root: Path, tag: str) -> dict:
    spec = archopt.load_spec({
        "name": tag, "seed": 0, "data": {"name": data, "batch_size": 64},
        "model": {"name": "mlp", "hidden": [128, 64]},
        "train": {"epochs": epochs, "optimizer": opt, "threads": 1}})
    r = archopt.fit(spec, out=root / tag, quiet=True)
    lrs = [json.loads(line)["lr"] for line in (root / tag / "history.jsonl").open()]
    return {"val": r["val"]["accuracy"], "test": r["test"]["accuracy"], "lr_end": lrs[-1]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="digits")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hypergrad-lr", type=float, default=0.02)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hd-"))
    rows = []
    for lr in GRID:
        rows.append(("adam", lr, train(args.data, args.epochs, {"name": "adam", "lr": lr},
                                       root, f"adam-{lr}")))
    best_lr, best = max(((lr, r) for _, lr, r in rows), key=lambda x: x[1]["val"])
    for start in (best_lr / 10, best_lr * 10):
        opt = {"name": "adam_hd", "lr": start, "hypergrad_lr": args.hypergrad_lr}
        rows.append(("adam_hd", start, train(args.data, args.epochs, opt, root,
                                             f"hd-{start:g}")))
    print(f"{args.data}, MLP [128, 64], {args.epochs} epochs, seed 0; best fixed lr {best_lr:g}"
          f" (val {best['val']:.4f}); adam_hd hypergrad_lr {args.hypergrad_lr}")
    print("| optimizer | start lr | end lr | val acc | test acc | test vs best fixed (pts) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, lr, r in rows:
        print(f"| {name} | {lr:g} | {r['lr_end']:.3g} | {100 * r['val']:.2f}% | "
              f"{100 * r['test']:.2f}% | {100 * (r['test'] - best['test']):+.2f} |")


if __name__ == "__main__":
    main()
