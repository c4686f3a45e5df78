"""Re-evaluate a saved run on a split, from the weights its headline figures come from.

  archopt eval runs/mnist1d-cnn/20250101-120000        the headline (best.pt; last.pt if none)
  archopt eval RUN_DIR --split val --json
  archopt eval RUN_DIR --checkpoint last               the last epoch's weights

The headline checkpoint is the one metrics.json's train/val/test figures come from, so
``archopt eval RUN_DIR`` prints the figures ``archopt train`` printed for the same split.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory made by `archopt train`")
    p.add_argument("--split", choices=["test", "val", "train"], default="test",
                   help="which split to evaluate (default test)")
    p.add_argument("--checkpoint", choices=["headline", "best", "last"], default="headline",
                   help="which weights: headline (default: best.pt, or last.pt when the run "
                   "has no best), best or last")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.train import evaluate

    result = evaluate(args.run_dir, args.split, args.checkpoint)
    if args.json:
        print_json(result)
        return 0
    rows = [[k, v] for k, v in result.items()
            if isinstance(v, int | float) and k not in ("examples", "epoch", "step")]
    which = "the headline's weights" if args.checkpoint == "headline" else args.checkpoint
    print(f"{result['checkpoint']}: epoch {result['epoch']}, step {result['step']} ({which})")
    print_table(f"{args.split}, {result['examples']} examples", ["metric", "value"], rows)
    if "confusion_matrix" in result:
        print("confusion matrix (rows: true class):")
        for row in result["confusion_matrix"]:
            print("  " + " ".join(f"{v:5d}" for v in row))
    return 0
