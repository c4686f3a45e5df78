"""Compress a trained model: structured pruning, int8 quantization, QAT, distillation; each step
writes a new run directory, measured before and after.

  archopt compress examples/compress/mnist1d_cnn.yaml
  archopt compress SPEC --from runs/mnist1d-cnn/20250101-120000 --out runs/cnn-small
  archopt compress SPEC --resume runs/cnn-small          # continue a killed compression
  archopt compress SPEC --sweep 0.2,0.4,0.6,0.8 --json

SPEC is a spec with a `compress:` section (a full spec, or only `compress:` with `from:`).
Latency is measured (fixed threads, warm-up, median of interleaved repeats), never derived.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="a spec with a compress section (YAML)")
    p.add_argument("--from", dest="source", metavar="RUN_DIR",
                   help="the finished run to start from (overrides compress.from)")
    p.add_argument("--out", metavar="DIR", help="the compression directory to create")
    p.add_argument("--resume", metavar="DIR", help="continue a compression directory")
    p.add_argument("--sweep", metavar="R,R,...",
                   help="also prune the start model at these ratios (accuracy vs latency)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V",
                   help="override a spec field, e.g. compress.threads=2; repeatable")
    p.add_argument("--report", action="store_true",
                   help="write the compression's HTML report (DIR/report.html) when it ends")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json
    from archopt.errors import UserError

    overrides = list(args.overrides)
    if args.sweep:
        try:
            ratios = [float(r) for r in args.sweep.split(",")]
        except ValueError:
            raise UserError("--sweep", f"'{args.sweep}' is not a list of ratios",
                            "write it like 0.2,0.4,0.6") from None
        overrides.append(f"compress.sweep=[{','.join(map(str, ratios))}]")
    from archopt.compress import compress
    from archopt.train.loop import Interrupted

    try:
        report = compress(args.spec, source=args.source, out=args.out, resume=args.resume,
                          overrides=overrides, quiet=args.quiet or args.json)
    except Interrupted as stop:
        print(f"interrupted; checkpoint saved.\n  resume with: archopt compress {args.spec} "
              f"--resume {stop.run_dir}", file=sys.stderr)
        return 130
    if args.report:
        from archopt.report import report as write_report

        report["html_report"] = str(write_report(report["dir"]))
    if args.json:
        print_json(report)
        return 0
    from archopt.cli.output import print_table
    from archopt.compress.report import step_rows

    for s in report["steps"]:
        print_table(f"{s['step']['name']}: {s['run_dir']}", ["", "before", "after", "ratio"],
                    step_rows(s))
        for n in s.get("notes", []):
            print(f"  note: {n}")
    print(f"report: {report['dir']}/report.txt, report.json, report.png")
    print(f"html report: {report['html_report']}" if "html_report" in report
          else f"html report: archopt report {report['dir']}")
    return 0
