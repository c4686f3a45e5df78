"""Measure a spec's model: parameters, FLOPs, memory and latency, with a per-layer table.

  archopt profile examples/models/cnn.yaml
  archopt profile examples/models/cnn.yaml --set model.channels=[8,8] --batch-size 64 --json
  archopt profile runs/cnn-small/01-prune        # a run directory: the model as saved

FLOPs are counted for one example by torch.utils.flop_counter (a multiply-add is 2 FLOPs);
latency is measured (median of repeated runs, eval mode, inference mode), never derived.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="an experiment spec (YAML), or a run directory "
                   "(its saved model: pruned and int8 runs too)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V",
                   help="override a spec field, e.g. model.channels=[8,8]; repeatable")
    p.add_argument("--batch-size", type=int, default=256, metavar="N",
                   help="the large batch whose latency is measured (default 256)")
    p.add_argument("--repeats", type=int, default=30, metavar="R",
                   help="timed runs per batch size; the median is reported (default 30)")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def human_count(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:,.0f}"


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json
    from archopt.errors import UserError

    if args.batch_size < 1 or args.repeats < 1:
        raise UserError("--batch-size" if args.batch_size < 1 else "--repeats",
                        "must be a positive number")
    from archopt.report import profile

    result = profile(args.spec, args.overrides, batch_size=args.batch_size,
                     repeats=args.repeats)
    if args.json:
        print_json(result)
        return 0
    print_summary(result)
    if not args.quiet:
        rows = [[r["name"], r["type"], "x".join(map(str, r["output_shape"] or [])) or "-",
                 f"{r['params']:,}", f"{r['flops']:,}"] for r in result["layers"]]
        table("layers (batch 1; params and FLOPs of each module itself)",
              ["layer", "type", "output", "params", "FLOPs"], rows, right_from=3)
    return 0


def table(title: str, columns: list[str], rows: list[list[str]], right_from: int) -> None:
    """A rich table: text columns left, number columns (from ``right_from``) right."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="right" if i >= right_from else "left")
    for r in rows:
        t.add_row(*r)
    Console(width=max(100, Console().width)).print(t)


def print_summary(r: dict[str, Any]) -> None:
    lat = r["latency_ms"]
    gen = " (generator)" if r.get("profiled") == "generator" else ""
    rows = [
        ["model", r["model"]],
        ["data", f"{r['data']['kind']} {'x'.join(map(str, r['data']['input_shape']))}, "
                 f"{outputs(r)}"],
        ["parameters", f"{r['params']:,} ({r['trainable_params']:,} trainable)"],
        [f"FLOPs per example{gen}", f"{human_count(r['flops'])} ({r['flops']:,})"],
        ["size (params + buffers)", human_bytes(r["size_bytes"])],
        ["activations per example", f"{human_bytes(r['activation_bytes'])} summed, "
                                    f"{human_bytes(r['peak_activation_bytes'])} peak layer"],
        ["latency batch 1", f"{lat['batch_1']:.3f} ms"],
        [f"latency batch {r['batch_N']}", f"{lat['batch_N']:.3f} ms "
                                          f"({lat['batch_N'] / r['batch_N']:.4f} ms/example)"],
        *([["training memory (estimate)", train_memory(r["train_memory"])]]
          if r.get("train_memory") else []),
        ["measured on", f"{r['device']}, {r['threads']} threads, median of {r['repeats']} runs"],
    ]
    table(f"profile: {r['name']}", ["", "value"], rows, right_from=2)


def outputs(r: dict[str, Any]) -> str:
    """What the model returns per example, in the task's words."""
    n, task = r["data"]["num_outputs"], r.get("task")
    shape = "x".join(map(str, r["data"]["input_shape"]))
    if task == "reconstruction":
        return f"reconstructs each input ({shape})"
    if task == "generation":
        return f"generates examples of {shape}"
    if task == "classification":
        return f"{n} classes"
    return f"{n} target value{'s' if n != 1 else ''}"


def train_memory(m: dict[str, Any]) -> str:
    """'1.2 GiB (weights, gradients, adam state, activations at batch 64)'."""
    parts = ["weights", "gradients"]
    if m["optimizer_state"]:
        parts.append(f"{m['optimizer']} state")
    return (f"{human_bytes(m['total'])} ({', '.join(parts)}, activations at batch "
            f"{m['batch_size']})")
