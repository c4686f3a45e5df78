"""Search architectures: accuracy against measured latency, parameters and FLOPs, from the
spec's ``search:`` section, on the tuning engine (same study directory as `archopt tune`).

  archopt search examples/search/mnist1d_latency.yaml          new study in studies/NAME/TIME
  archopt search SPEC --trials 40 --workers 2 --out studies/arch
  archopt search SPEC --reference gallery=runs/mnist1d-cnn/... a trained run beside the front
  archopt search --resume studies/arch                         continue after a kill or Ctrl-C
  archopt search show studies/arch [--json] [--storage URL]    the front again
  archopt search retrain studies/arch --epochs 60 --seeds 3     the front trained fully

Each candidate's costs are measured before it trains (latency on this machine, cached per
architecture); a budget rejects a candidate untrained. At the end the front's members are timed
again together and written to STUDY/front.json and front.csv, with STUDY/plots/pareto.png;
STUDY/best.yaml is the most accurate model within the budgets.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    from archopt.cli.tune import add_study_arguments

    add_study_arguments(p, "search", "search")
    p.add_argument("--reference", action="append", default=[], metavar="[LABEL=]RUN_DIR",
                   help="a trained run to show beside the front (repeatable)")
    g = p.add_argument_group("retrain DIR: the front's architectures trained again, as runs")
    g.add_argument("--epochs", type=int, metavar="N", help="train.epochs of the new runs")
    g.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="runs per member: the trial's seed and the K-1 next (default 1)")
    g.add_argument("--members", metavar="N,M", help="trial numbers of the front (default: all)")


def run(args: argparse.Namespace) -> int:
    from archopt.errors import UserError

    if args.spec in ("show", "retrain"):
        if not args.study_dir:
            raise UserError(f"archopt search {args.spec}", "needs a study directory",
                            f"example: archopt search {args.spec} studies/arch")
        return show(args) if args.spec == "show" else retrain(args)
    if args.study_dir:
        raise UserError(f"archopt search {args.spec} {args.study_dir}", "takes one SPEC",
                        "did you mean `archopt search show DIR` or `retrain DIR`?")
    if args.trials is not None and args.trials < 1:
        raise UserError("--trials", "must be at least 1")
    from archopt.search import search
    from archopt.spec import load_spec
    from archopt.tune.engine import StudyInterrupted

    spec: Any = None
    if args.spec is not None:
        spec = load_spec(args.spec, args.overrides)
    elif args.resume is None:
        raise UserError("archopt search", "needs a SPEC file or --resume STUDY_DIR",
                        "example: archopt search examples/search/mnist1d_latency.yaml")
    elif args.overrides:
        from pathlib import Path

        from archopt.tune.study_dir import check_study_dir

        path, _ = check_study_dir(args.resume)
        spec = load_spec(Path(path) / "spec.yaml", args.overrides)
    try:
        result = search(spec, out=args.out, resume=args.resume, trials=args.trials,
                        workers=args.workers, storage=args.storage, study=args.study,
                        references=args.reference, quiet=args.quiet or args.json,
                        progress=args.progress, plots=not args.no_plots)
    except StudyInterrupted as stop:
        print(f"interrupted; the running trials will run again.\n"
              f"  resume with: archopt search --resume {stop.study_dir}", file=sys.stderr)
        return 130
    if getattr(args, "report", False):
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
    p = r.get("prescreen")
    if p:
        print(f"pre-screen: {p['scored']} of {p['candidates']} random candidates scored by "
              f"{p['proxy']} in {p['seconds']} s; the best {p['queued']} started the study")
    print(f"search {r['study']}: {c['finished']} trials finished ({c['complete']} complete, "
          f"{c['pruned']} pruned, {c['failed']} failed; {c.get('rejected', 0)} candidates "
          f"rejected by the budgets before training) in "
          f"{wall_text(r)} with {r['workers']} worker(s)")
    print_front(r, list(r["objectives"]))
    if r.get("best"):
        print(f"best.yaml ({r['rule']}): trial {r['best']['number']}")
        print(f"  train it again: archopt train {r['best']['best_yaml']}")
    if r.get("pareto_png"):
        print(f"plots: {r['pareto_png']}")
    print(f"study dir: {r['study_dir']}")
    print(f"report: {r['report']}" if "report" in r else f"report: archopt report {r['study_dir']}")


def print_front(r: dict[str, Any], names: list[str]) -> None:
    from archopt.cli.output import print_table

    front, refs = r.get("front") or [], r.get("references") or []
    if not front:
        print("no candidate completed within the budgets")
        return
    costs = [c for c in ("params", "flops", "latency_ms") if c not in names]
    batch = any(x.get("batch_latency_ms_again") is not None for x in [*front, *refs])
    again = ["latency_ms_again", *(["batch_latency_ms_again"] if batch else [])]
    cols = ["trial", *names, *costs, "spread", "again_ms", *(["again_batch_ms"] if batch
                                                               else []), "run"]
    rows = [[f["number"], *[f.get(n) for n in names], *[f.get(c) for c in costs],
             f.get("latency_spread"), *[f.get(a) for a in again], f.get("run_dir")]
            for f in front]
    rows += [[f"ref {x['name']}", *[x.get(n) for n in names], *[x.get(c) for c in costs],
              x.get("latency_spread_again"), *[x.get(a) for a in again], x.get("run_dir")]
             for x in refs]
    runtime = (r.get("latency_runtime") or {}).get("label")
    print_table(f"Pareto front ({len(front)} of the trained candidates)", cols, rows,
                caption="latency_ms: median at the deployment batch when first measured"
                f"{f', timed in {runtime}' if runtime else ''}; "
                "spread: (max-min)/median of its rounds; again_ms: re-timed together at the end"
                + ("; again_batch_ms: the same, one call at the throughput batch" if batch
                   else ""))
    for x in [*front, *refs]:
        if x.get("latency_error"):
            print(f"not re-timed: {x.get('name') or x.get('number')}: {x['latency_error']}")


def show(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json
    from archopt.search import show as show_search

    s = show_search(args.study_dir, storage=args.storage)
    if args.json:
        print_json(s)
        return 0
    counts = ", ".join(f"{v} {k}" for k, v in sorted(s["counts"].items()))
    print(f"search {s['study']} ({counts})")
    print_front(s, list(s["objectives"]))
    if s.get("best_yaml"):
        print(f"best spec: {s['best_yaml']}")
    return 0


def retrain(args: argparse.Namespace) -> int:
    from archopt.errors import UserError
    from archopt.search.retrain import retrain as retrain_front

    try:
        members = [int(m) for m in args.members.split(",")] if args.members else None
    except ValueError:
        raise UserError("--members", f"'{args.members}' is not a list of trial numbers",
                        "example: --members 0,3") from None
    r = retrain_front(args.study_dir, epochs=args.epochs, seeds=args.seeds, members=members,
                      overrides=args.overrides, out=args.out, quiet=args.quiet or args.json,
                      progress=args.progress)
    if args.json:
        from archopt.cli.output import print_json

        print_json(r)
        return 0
    from archopt.cli.output import print_table

    def cell(s: dict) -> str | None:
        if s["mean"] is None:
            return None
        return f"{s['mean']:.4f}" + (f" ± {s['std']:.4f}" if r["seeds"] > 1 else "")

    m = r["metric"]
    plain = m.split("_", 1)[1] if m.startswith("val_") else m
    rows = [[x["number"], x.get("search_" + m), cell(x["val"]), cell(x["test"]), x["params"],
             ", ".join(f"seed {run['seed']}" for run in x["runs"])] for x in r["members"]]
    print_table(f"the front retrained ({r['seeds']} seed(s) each"
                + (f", {r['epochs']} epochs" if r["epochs"] else "") + ")",
                ["trial", f"search {m}", f"val {plain}", f"test {plain}", "params", "runs"],
                rows, caption="val, test: mean ± std over the seeds; search: the trial's figure")
    print(f"runs: {Path(r['summary_json']).parent}/NNNN-seedS")
    print(f"summary: {r['summary_json']}")
    return 0
