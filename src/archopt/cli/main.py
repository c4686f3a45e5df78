"""``archopt``: a table of subcommands, each a module with ``add_arguments`` and ``run``.

Help is answered without importing torch: command modules import the library inside ``run``.
A ``UserError`` prints ``error: <where>: <what>`` and a hint and exits 2; any other exception is
a bug: exit 1 with a one-line message (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). The order is the order of `archopt --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("archopt.cli.train", "train a model from a spec (or resume a run)"),
    "eval": ("archopt.cli.eval", "re-evaluate a saved run on a split"),
    "profile": ("archopt.cli.profile", "parameters, FLOPs, memory and measured latency of a model"),
    "tune": ("archopt.cli.tune", "search hyperparameters of a spec (`archopt tune show DIR`)"),
    "search": ("archopt.cli.search", "search architectures: accuracy vs measured latency, params "
               "and FLOPs (`archopt search show DIR`)"),
    "compress": ("archopt.cli.compress", "prune, quantize (int8), QAT, distill a trained run; "
                 "measured before and after"),
    "data": ("archopt.cli.data", "inspect datasets: `archopt data info NAME|SPEC`"),
    "models": ("archopt.cli.models", "list the registered model families and presets"),
    "export": ("archopt.cli.export", "export a run as ONNX/TorchScript with a parity check"),
    "serve": ("archopt.cli.serve", "serve a run or an exported model over HTTP (FastAPI)"),
    "demo": ("archopt.cli.demo", "train the MNIST-1D paper models and compare with the paper"),
    "runs": ("archopt.cli.runs", "list runs, studies and compressions, or compare runs"),
    "report": ("archopt.cli.report", "one self-contained HTML page for a run, study or several"),
    "explain": ("archopt.cli.explain", "attributions of a run's predictions (IG, SHAP, LIME, "
                "Grad-CAM, ...), checked"),
    "transfer": ("archopt.cli.transfer", "label-scarce transfer from a pretrained run: scratch, "
                 "linear probe, fine-tune, gradual unfreezing, self-training"),
    "fewshot": ("archopt.cli.fewshot", "N-way K-shot accuracy on held-out classes (nearest "
                "prototype, mean and 95%% interval)"),
    "robustness": ("archopt.cli.robustness", "accuracy under noise, corruptions and adversarial "
                   "attacks, in raw input units"),
}


def common_flags() -> argparse.ArgumentParser:
    """Flags every command takes (a parent parser)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("output")
    g.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    g.add_argument("--quiet", "-q", action="store_true", help="print only errors and results")
    g.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archopt",
        description="Design, train and measure neural networks from one YAML spec.",
        epilog="Run `archopt CMD --help` for a command's options. Exit status: 0 success, "
        "2 user error, 1 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"archopt {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parent = common_flags()
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=mod.__doc__, parents=[parent],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("archopt")
    except PackageNotFoundError:
        return "dev"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from archopt.errors import UserError

    try:
        return int(args._run(args) or 0)
    except UserError as err:
        if args.debug:
            raise
        print(err.format(), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so briefly, --debug for the traceback
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc}\n"
              "  hint: run again with --debug and report the traceback", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
