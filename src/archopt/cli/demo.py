"""Train the four MNIST-1D paper models with the paper's settings and print them beside the
paper's test accuracy (Greydanus & Kobak, "Scaling down deep learning with MNIST-1D").

Takes a few minutes on 2 CPU cores. Runs are written under runs/ (or --out)."""

from __future__ import annotations

import argparse

CHOICES = ["linear", "mlp", "cnn", "gru"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", default=",".join(CHOICES),
                   help=f"comma-separated subset of {', '.join(CHOICES)} (default: all)")
    p.add_argument("--steps", type=int, default=6000,
                   help="optimizer steps per model (the paper: 6000)")
    p.add_argument("--out", default=None, help="folder for the runs (default: runs/demo-*/...)")


def run(args: argparse.Namespace) -> int:
    from archopt.errors import UserError

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    bad = [m for m in names if m not in CHOICES]
    if bad or not names:
        raise UserError("--models", f"unknown model '{bad[0] if bad else ''}'",
                        f"choose from {', '.join(CHOICES)}")
    if args.steps <= 0:
        raise UserError("--steps", "must be a positive number of steps")
    from archopt.cli.output import print_json, print_table
    from archopt.demo import run_demo

    if not args.quiet and not args.json:
        print(f"Training {len(names)} MNIST-1D paper model(s), {args.steps} steps each "
              "(Adam, lr 1e-2, batch 100)...", flush=True)
    rows = run_demo([f"mnist1d_{n}" for n in names], steps=args.steps, out=args.out)
    if args.json:
        print_json(rows)
        return 0
    table = [(r["label"], r["params"], f"{100 * r['test_accuracy']:.1f}%",
              f"{100 * r['paper_accuracy']:.0f}%",
              f"{100 * (r['test_accuracy'] - r['paper_accuracy']):+.1f}",
              f"{r['train_time_s']:.1f}") for r in rows]
    print_table("MNIST-1D, paper settings", ["model", "params", "test acc", "paper",
                                              "diff (pts)", "train s"], table,
                caption="runs: " + ", ".join(r["run_dir"] for r in rows))
    return 0
