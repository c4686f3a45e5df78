"""Write one self-contained HTML page (inline plots, no network) for a run, a study, a search,
a compression, or several runs side by side.

  archopt report runs/mnist1d-cnn/20261130-101500            writes .../report.html
  archopt report RUN_DIR -o ~/mnist1d-cnn.html
  archopt report RUN_A RUN_B RUN_C -o compare.html           several runs side by side

A run's page: metrics per split, learning curves, the confusion matrix and per-class precision,
recall and F1 (classification), predicted vs true and residuals (regression), reconstructions
(autoencoders), samples (GANs), the profile, the data and the spec.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a run, study, search or compression folder; several runs to compare")
    p.add_argument("-o", "--out", metavar="FILE.html",
                   help="where to write (default PATH/report.html; several: compare.html)")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json
    from archopt.report import report

    path = report(args.paths if len(args.paths) > 1 else args.paths[0], args.out)
    if args.json:
        print_json({"report": str(path)})
    else:
        print(f"report: {path}")
    return 0
