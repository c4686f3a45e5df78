"""List the registered model families and presets with their one-line docs.

  archopt models                 every family and preset
  archopt models --filter mnist1d
  archopt models --json
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--filter", default=None, metavar="TEXT",
                   help="only names containing TEXT")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from archopt.cli.output import print_json
    from archopt.models import describe_models

    rows = describe_models(args.filter)
    if args.json:
        print_json(rows)
        return 0
    table = Table(title="models", title_justify="left",
                  caption="use one as `model: {name: NAME, ...}`; a preset takes its family's "
                          "fields")
    for col in ("name", "family", "data", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["family"], ", ".join(r["kinds"]), r["doc"])
    Console(width=max(120, Console().width)).print(table)
    return 0
