"""List every run, study, search and compression under a folder, or compare runs.

  archopt runs                                  everything under runs/
  archopt runs experiments/ --filter status=finished --sort=-value
  archopt runs --filter model=cnn* --filter 'value>0.9' --json
  archopt runs compare runs/a/20261130-101500 runs/b/20261130-103000

Status: finished; running (a live process holds the run); killed (stopped with a checkpoint:
`archopt train --resume DIR` continues it); failed (an error, or killed before its first
checkpoint). Filters: KEY=VALUE (wildcards, commas for any of), KEY!=VALUE, KEY>N, KEY<N on the
columns name, kind, started, status, model, params, task, metric, value, epochs, time_s, path.
Only small files are read (run.json, metrics.json, spec.yaml, history.jsonl), never a checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="ROOT",
                   help="the folder to list (default runs/); `compare RUN RUN...` compares runs")
    p.add_argument("--filter", dest="filters", action="append", default=[], metavar="EXPR",
                   help="keep rows where EXPR holds, e.g. status=finished, 'value>0.9' "
                   "(repeatable; all must hold)")
    p.add_argument("--sort", default="started", metavar="COLUMN",
                   help="sort by a column; --sort=-COLUMN for descending (default started)")


def run(args: argparse.Namespace) -> int:
    from archopt.errors import UserError

    if args.paths[:1] == ["compare"]:
        return compare(args.paths[1:], args)
    if len(args.paths) > 1:
        raise UserError("archopt runs", f"takes one folder, got {len(args.paths)}",
                        "to compare runs: archopt runs compare RUN RUN...")
    from archopt.cli.output import print_json
    from archopt.run_index import list_runs

    root = args.paths[0] if args.paths else "runs"
    rows = list_runs(root, args.filters, args.sort)
    if args.json:
        print_json(rows)
        return 0
    print_rows(rows, root)
    return 0


def _time(seconds: Any) -> str | None:
    if not isinstance(seconds, int | float):
        return None
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def print_rows(rows: list[dict[str, Any]], root: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from archopt.cli.output import fmt

    if not rows:
        print(f"no runs under {root}")
        return
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    table = Table(title=f"{len(rows)} under {root}", title_justify="left",
                  caption=", ".join(f"{n} {s}" for s, n in counts.items()))
    for c in ("name", "kind", "started", "status", "model", "params", "metric", "value",
              "epochs", "time"):
        right = c in ("params", "value", "epochs", "time")
        table.add_column(c, justify="right" if right else "left", no_wrap=c != "name",
                         overflow="fold")
    for r in rows:
        started = r["started"].replace("T", " ").rstrip("Z")[:16]
        table.add_row(*[fmt(v) for v in (
            r["name"], r["kind"], started, r["status"], r["model"], r["params"], r["metric"],
            r["value"], r["epochs"], _time(r["time_s"]))])
    Console(width=max(140, Console().width)).print(table)
    for r in rows:
        if r["status"] in ("killed", "failed") and r.get("detail"):
            print(f"  {r['name']}: {r['status']}: {r['detail']}")


def compare(paths: list[str], args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.run_compare import compare_runs

    result = compare_runs(paths)
    if args.json:
        print_json(result)
        return 0
    names = [f"{i + 1}: {Path(r['path']).name}" for i, r in enumerate(result["runs"])]
    for i, r in enumerate(result["runs"]):
        print(f"{i + 1}: {r['path']} ({r['status']}, {r['model']})")
    print_table("metrics", ["metric", *names], [[k, *v] for k, v in result["metrics"]])
    diffs = result["spec_differences"]
    if diffs:
        print_table("spec differences", ["field", *names],
                    [[k, *[_show(x) for x in v]] for k, v in diffs])
    else:
        print("the specs are identical")
    return 0


def _show(v: Any) -> Any:
    return "(absent)" if v is None else (str(v) if isinstance(v, list | dict) else v)
