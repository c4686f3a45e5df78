"""Re-evaluate a saved run on a split, from its best checkpoint (last.pt if none).

  archopt eval runs/mnist1d-cnn/20250101-120000
  archopt eval RUN_DIR --split val --json
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory made by `archopt train`")
    p.add_argument("--split", choices=["test", "val", "train"], default="test",
                   help="which split to evaluate (default test)")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.train import evaluate

    result = evaluate(args.run_dir, args.split)
    if args.json:
        print_json(result)
        return 0
    rows = [[k, v] for k, v in result.items() if isinstance(v, int | float) and k != "examples"]
    print_table(f"{args.run_dir} ({args.split}, {result['examples']} examples)",
                ["metric", "value"], rows)
    if "confusion_matrix" in result:
        print("confusion matrix (rows: true class):")
        for row in result["confusion_matrix"]:
            print("  " + " ".join(f"{v:5d}" for v in row))
    return 0
