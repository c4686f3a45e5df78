"""Search hyperparameters: a study of trials over the spec's ``tune:`` space, on Optuna.

  archopt tune examples/tune/mnist1d_cnn.yaml                 new study in studies/NAME/TIME
  archopt tune SPEC --trials 40 --workers 2 --out studies/cnn
  archopt tune --resume studies/cnn                           continue after a kill or Ctrl-C
  archopt tune SPEC --storage postgresql://u:p@db/optuna --study cnn   one of many machines
  archopt tune show studies/cnn [--json]                      counts, best trial, ranking

Each trial is an ordinary run directory (STUDY/trials/NNNN); the best trial's spec is written to
STUDY/best.yaml (`archopt train STUDY/best.yaml` trains it again), every trial to trials.csv,
and the plots to STUDY/plots/. Ctrl-C re-queues the running trials and says how to resume.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_study_arguments(p, "tune", "study")


def add_study_arguments(p: argparse.ArgumentParser, section: str, what: str) -> None:
    """The arguments `archopt tune` and `archopt search` share (one engine, one study dir)."""
    p.add_argument("spec", nargs="?", metavar="SPEC",
                   help=f"spec with a {section}: section (or `show` followed by a study "
                        "directory)")
    p.add_argument("study_dir", nargs="?", metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V",
                   help=f"override a spec field, e.g. {section}.trials=40 (repeatable)")
    p.add_argument("--out", metavar="DIR", help="study directory (default studies/NAME/TIME)")
    p.add_argument("--resume", metavar="DIR", help=f"continue a {what}")
    p.add_argument("--trials", type=int, metavar="N", help="finished trials wanted")
    p.add_argument("--workers", type=int, metavar="N", help="trial processes on this machine")
    p.add_argument("--storage", metavar="URL", help="Optuna storage, e.g. postgresql://... "
                   "(also for `show` of a study whose storage URL has a password)")
    p.add_argument("--study", metavar="NAME", help="study name in the storage")
    p.add_argument("--no-plots", action="store_true", help="do not draw the PNG plots")
    p.add_argument("--progress", choices=["auto", "bar", "lines"], default="auto",
                   help="progress bar (terminal), one line per trial, or auto")
    p.add_argument("--report", action="store_true",
                   help=f"write the {what}'s HTML report (STUDY/report.html) when it ends")


def run(args: argparse.Namespace) -> int:
    from archopt.errors import UserError

    if args.spec == "show":
        if not args.study_dir:
            raise UserError("archopt tune show", "needs a study directory",
                            "example: archopt tune show studies/cnn")
        return show(args)
    if args.study_dir:
        raise UserError(f"archopt tune {args.spec} {args.study_dir}", "takes one SPEC",
                        "did you mean `archopt tune show DIR`?")
    if args.trials is not None and args.trials < 1:
        raise UserError("--trials", "must be at least 1")
    from archopt.spec import load_spec
    from archopt.tune import tune
    from archopt.tune.engine import StudyInterrupted

    spec: Any = None
    if args.spec is not None:
        spec = load_spec(args.spec, args.overrides)
    elif args.resume is None:
        raise UserError("archopt tune", "needs a SPEC file or --resume STUDY_DIR",
                        "example: archopt tune examples/tune/mnist1d_cnn.yaml")
    elif args.overrides:
        from pathlib import Path

        from archopt.tune.study_dir import check_study_dir

        path, _ = check_study_dir(args.resume)
        spec = load_spec(Path(path) / "spec.yaml", args.overrides)
    try:
        result = tune(spec, out=args.out, resume=args.resume, trials=args.trials,
                      workers=args.workers, storage=args.storage, study=args.study,
                      quiet=args.quiet or args.json, progress=args.progress,
                      plots=not args.no_plots)
    except StudyInterrupted as stop:
        print(f"interrupted; the running trials will run again.\n"
              f"  resume with: archopt tune --resume {stop.study_dir}", file=sys.stderr)
        return 130
    if args.report:
        from archopt.report import report as write_report

        result["report"] = str(write_report(result["study_dir"]))
    if args.json:
        from archopt.cli.output import print_json

        print_json(result)
        return 0
    report(result)
    return 0


def report(r: dict[str, Any]) -> None:
    from archopt.cli.output import wall_text

    c = r["trials"]
    print(f"study {r['study']}: {c['finished']} trials finished ({c['complete']} complete, "
          f"{c['pruned']} pruned, {c['failed']} failed)"
          + (f", {c['rejected']} candidates rejected by the budgets before training"
             if c.get("rejected") else "") + f" in {wall_text(r)} with "
          f"{r['workers']} worker(s) x {r['threads_per_worker']} thread(s); "
          f"mean overhead per trial {r['mean_overhead_s']} s "
          f"(CPU {r.get('mean_overhead_cpu_s')} s)")
    if r.get("stopped"):
        print(f"ended: {r['stopped']}")
    b = r["best"]
    if b is None:
        print("no trial completed")
    else:
        vals = ", ".join(f"{k}={_fmt(v)}" for k, v in b["values"].items())
        print(f"best: trial {b['number']}: {vals}")
        print("  " + ", ".join(f"{k}={_fmt(v)}" for k, v in b["params"].items()))
        if b.get("pareto_size", 1) > 1:
            print(f"  Pareto front: {b['pareto_size']} trials (best.json, plots/pareto_front.png)")
        if b.get("tied", 1) > 1:
            print(f"  {b['tied']} trials tie on the best value; the first of them is kept")
        print(f"  train it again: archopt train {b['best_yaml']}")
    print(f"study dir: {r['study_dir']}")
    print(f"report: {r['report']}" if "report" in r else f"report: archopt report {r['study_dir']}")


def show(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.tune import show as show_study

    s = show_study(args.study_dir, storage=args.storage)
    if args.json:
        print_json(s)
        return 0
    names = list(s["objectives"])
    params = sorted({k for row in s["ranked"][:15] for k in row["params"]})
    rows = [[row["number"], row["state"], *[row["values"][n] for n in names],
             *[_fmt(row["params"].get(p)) for p in params], row["epochs"]]
            for row in s["ranked"][:15]]
    counts = ", ".join(f"{v} {k}" for k, v in sorted(s["counts"].items()))
    print_table(f"study {s['study']} ({counts})", ["trial", "state", *names, *params, "epochs"],
                rows, caption=f"best first; mean overhead per trial {s['mean_overhead_s']} s")
    for row in s["failed"][:5]:
        print(f"trial {row['number']} failed: {row['reason']}")
    if s["best_yaml"]:
        print(f"best spec: {s['best_yaml']}")
    return 0


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
