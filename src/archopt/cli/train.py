"""Train a model from a spec, or resume a run.

  archopt train examples/mnist1d/paper_cnn.yaml
  archopt train SPEC --set train.optimizer.lr=0.003 --set train.epochs=5 --out runs/try1
  archopt train --resume runs/try1                      continue from checkpoints/last.pt
  archopt train --resume runs/try1 --set train.epochs=50  ...and train longer
  archopt train runs/try1/spec.yaml                     repeat a run exactly
  archopt train SPEC --nproc 2                          data parallel on 2 processes (torchrun)

Prints a table of the final metrics per split, the run directory and how to see its report
(--report writes it; --json: metrics.json and run_dir). Ctrl-C saves a checkpoint and says how
to resume.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", nargs="?", metavar="SPEC",
                   help="experiment spec (YAML); optional with --resume")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V",
                   help="override a spec field, e.g. train.optimizer.lr=0.003 (repeatable)")
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/NAME/TIME)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.add_argument("--progress", choices=["auto", "bar", "lines"], default="auto",
                   help="progress bar (terminal), one line per epoch, or auto")
    p.add_argument("--report", action="store_true",
                   help="write the run's HTML report (RUN_DIR/report.html) when it ends")
    d = p.add_argument_group("distributed (torchrun)")
    d.add_argument("--nproc", type=int, default=1, metavar="N", help="processes on this node")
    d.add_argument("--nnodes", type=int, default=1, metavar="N", help="number of nodes")
    d.add_argument("--node-rank", type=int, default=0, metavar="R", help="rank of this node")
    d.add_argument("--master-addr", metavar="HOST", help="address of node 0")
    d.add_argument("--master-port", type=int, metavar="PORT", help="free port on node 0")
    d.add_argument("--rdzv-backend", metavar="B", help="rendezvous backend (c10d)")
    d.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="rendezvous endpoint")
    d.add_argument("--rdzv-id", metavar="ID", help="rendezvous job id")


def load(args: argparse.Namespace) -> Any:
    """The spec to train: SPEC, or the resumed run's spec.yaml, with --set overrides."""
    from archopt.errors import UserError
    from archopt.runs import check_run_dir
    from archopt.spec import load_spec

    if args.spec is None and args.resume is None:
        raise UserError("archopt train", "needs a SPEC file or --resume RUN_DIR",
                        "example: archopt train examples/mnist1d/paper_cnn.yaml")
    if args.resume is not None:
        run_dir = check_run_dir(args.resume)
        return load_spec(args.spec or run_dir / "spec.yaml", args.overrides)
    return load_spec(args.spec, args.overrides)


def run(args: argparse.Namespace) -> int:
    from archopt.errors import UserError

    if args.nproc < 1 or args.nnodes < 1:
        raise UserError("--nproc", "must be at least 1")
    spec = load(args)
    try:
        return _train(spec, args)
    except UserError as err:  # an error about the model: the override or line that set it
        from archopt.report.profile import locate

        raise locate(err, args.spec, args.overrides) if args.spec else err from None


def _train(spec: Any, args: argparse.Namespace) -> int:
    from archopt.train.loop import Interrupted

    try:
        if args.nproc * args.nnodes > 1:
            code, result = run_distributed(spec, args)
            if result is None:
                return code
        else:
            from archopt.train import fit

            result = fit(spec, out=args.out, resume=args.resume, quiet=args.quiet,
                         progress=args.progress)
    except Interrupted as stop:
        print(f"interrupted at epoch {stop.epoch}, step {stop.step}; checkpoint saved.\n"
              f"  resume with: archopt train --resume {stop.run_dir}", file=sys.stderr)
        return 130
    if args.report:
        from archopt.report import report as write_report

        result["report"] = str(write_report(result["run_dir"]))
    report(result, args)
    return 0


def run_distributed(spec: Any, args: argparse.Namespace) -> tuple[int, dict | None]:
    """Check the spec for N processes, lock and make the run directory, launch torchrun, read
    back metrics.json; (exit status, result or None). The launcher's statuses are in
    ``archopt.train.launch``."""
    import json
    import os

    from archopt.train.fit import check_resume, prepare, prepare_run_dir
    from archopt.train.launch import launch
    from archopt.train.runlock import RunLock

    world = args.nproc * args.nnodes
    p = prepare(spec, 0, world, 0)
    lock = RunLock(args.resume).acquire(wait_s=30.0) if args.resume is not None else None
    try:
        if args.resume is not None:
            check_resume(Path(args.resume), spec)
            # the workers read spec.yaml: write the resumed spec (epochs may be extended)
            run_dir = prepare_run_dir(spec, p.data, None, Path(args.resume), None, 0)
        elif args.node_rank > 0:  # the other nodes use the directory node 0 made (shared disk)
            run_dir = Path(args.out or ".")
        else:
            run_dir = prepare_run_dir(spec, p.data, args.out, None, None, 0)
            lock = RunLock(run_dir).acquire(what="--out")
        if lock is not None:
            lock.share()  # the workers share it: a ghost of this run keeps it held
        rdzv = {"nnodes": args.nnodes, "node_rank": args.node_rank,
                "master_addr": args.master_addr, "master_port": args.master_port,
                "rdzv_backend": args.rdzv_backend, "rdzv_endpoint": args.rdzv_endpoint,
                "rdzv_id": args.rdzv_id}
        from archopt.errors import WARNINGS

        os.environ["ARCHOPT_WARNED"] = "\n".join(WARNINGS)  # said here: the workers stay quiet
        code = launch(str(run_dir), args.nproc, resume=args.resume is not None,
                      quiet=args.quiet, progress=args.progress, rdzv=rdzv,
                      commands=commands(run_dir, args))
    finally:
        os.environ.pop("ARCHOPT_WARNED", None)
        if lock is not None:
            lock.release()
    metrics = run_dir / "metrics.json"
    if code != 0 or not metrics.is_file():
        return code or 1, None
    return 0, {**json.loads(metrics.read_text()), "run_dir": str(run_dir)}


def commands(run_dir: Path, args: argparse.Namespace) -> tuple[str, str]:
    """The commands that resume this run and that start it again (for failure messages)."""
    import shlex

    dist = [f"--nproc {args.nproc}"]
    for key in ("nnodes", "node_rank", "master_addr", "master_port", "rdzv_backend",
                "rdzv_endpoint", "rdzv_id"):
        value = getattr(args, key)
        if value is not None and not (key == "nnodes" and value == 1) and not (
                key == "node_rank" and value == 0):
            dist.append(f"--{key.replace('_', '-')} {shlex.quote(str(value))}")
    tail = " ".join(dist)
    quoted = shlex.quote(str(run_dir))
    return (f"archopt train --resume {quoted} {tail}",
            f"archopt train {shlex.quote(str(run_dir / 'spec.yaml'))} {tail} --out NEW_DIR")


def report(result: dict, args: argparse.Namespace) -> None:
    """metrics.json as JSON, or a table of splits x metrics (the headline weights, then the
    last epoch's when they differ), the line that says which weights, and the run directory."""
    from archopt.cli.output import print_json, print_table
    from archopt.train.results import summary

    if args.json:
        print_json(result)
        return
    last = result.get("last") or {}
    head = result.get("headline") or {}
    running = result.get("train_figures") == "running"
    table = [(f"{s} (running)" if s == "train" and running else s, result[s])
             for s in ("train", "val", "test") if isinstance(result.get(s), dict)]
    if head.get("checkpoint") == "best" and head.get("epoch") != last.get("epoch"):
        table += [(f"{s} @ last epoch", last[s]) for s in ("val", "test")
                  if isinstance(last.get(s), dict)]
    names: list[str] = []
    for _, figures in table:
        names += [k for k, v in figures.items() if isinstance(v, int | float) and k not in names]
    rows = [[label] + [figures.get(n) for n in names] for label, figures in table]
    print_table(None, ["split", *names], rows,
                caption=f"{result.get('epochs')} epochs, {result.get('steps')} steps, "
                f"{result.get('train_time_s')} s")
    print(summary(result))
    print(f"run dir: {result['run_dir']}")
    if "report" in result:
        print(f"report: {result['report']}")
    else:
        print(f"report: archopt report {result['run_dir']}")
