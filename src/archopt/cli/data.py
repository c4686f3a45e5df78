"""Inspect datasets.

  archopt data info mnist1d                  a built-in dataset with its defaults
  archopt data info examples/spec.yaml       the data section of a spec
  archopt data info csv --set path=d.csv --set target=label --json
  archopt data list                          registered datasets and augmentations
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    info = sub.add_parser("info", help="kind, input shape, task, classes, split sizes, balance",
                          parents=[_parent(p)])
    info.add_argument("source", metavar="NAME|SPEC",
                      help="a dataset name (see `archopt data list`) or a spec YAML file")
    info.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V",
                      help="override a data field (val_split=0.2, path=DIR); repeatable")
    info.add_argument("--seed", type=int, default=None,
                      help="seed of the validation split (default: the spec's, else 0)")
    sub.add_parser("list", help="registered datasets and augmentations", parents=[_parent(p)])


def _parent(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The common flags again, so `archopt data info X --json` works after the subcommand."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print machine-readable JSON on stdout")
    parent.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS)
    parent.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    return parent


def data_section(source: str, overrides: list[str]) -> tuple[dict[str, Any], int]:
    """The data section (a dict) and seed for a dataset name or a spec file, with overrides."""
    from archopt.spec.load import apply_overrides, read_yaml

    if source.endswith((".yaml", ".yml")) or Path(source).is_file():
        doc, _ = read_yaml(source)
        section = doc.get("data")
        if not isinstance(section, dict):
            from archopt.errors import UserError

            raise UserError(source, "the spec has no data section",
                            "add `data: {name: ...}` or give a dataset name")
        spec = {"seed": doc.get("seed", 0), "data": dict(section)}
    else:
        spec = {"seed": 0, "data": {"name": source}}
    # `--set val_split=0.2` and `--set data.val_split=0.2` mean the same
    fixed = [o if o.startswith(("data.", "seed=")) else f"data.{o}" for o in overrides]
    apply_overrides(spec, fixed)
    return spec["data"], int(spec.get("seed") or 0)


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json

    if args.data_command == "list":
        return _list(args)
    if args.data_command != "info":
        from archopt.errors import UserError

        raise UserError("archopt data", "missing subcommand", "use `archopt data info NAME`")
    from archopt.data import describe_data

    section, seed = data_section(args.source, args.overrides)
    info = describe_data(section, seed=args.seed if args.seed is not None else seed)
    if args.json:
        print_json(info)
    else:
        _print_info(info)
    return 0


def _print_info(info: dict[str, Any]) -> None:
    from archopt.cli.output import print_table

    s = info["splits"]
    rows = [("kind", info["kind"]), ("input shape", " x ".join(map(str, info["input_shape"]))),
            ("task", info["task"]),
            ("classes" if info["task"] == "classification" else "outputs",
             info["num_classes"] if info["task"] == "classification" else info["num_outputs"]),
            ("variable length", info["variable_length"]),
            ("train / val / test", f"{s['train']:,} / {s['val']:,} / {s['test']:,}"),
            ("normalized", "yes (train statistics)" if info["normalization"] else "no")]
    print_table(f"dataset {info['name']}", ["", "value"], rows)
    balance = info.get("class_balance")
    if balance:
        splits = list(balance)
        names = info["class_names"]
        shown = names if len(names) <= 30 else names[:30]
        table = [[c, *(balance[sp][c] for sp in splits)] for c in shown]
        caption = f"{len(names) - 30} more classes not shown" if len(names) > 30 else None
        print_table("class balance", ["class", *splits], table, caption)


def options(config: Any) -> dict[str, str]:
    """A registry entry's options: ``{field: "required" | "default <value>"}``."""
    if config is None:
        return {}
    out = {}
    for name, f in config.model_fields.items():
        out[name] = "required" if f.is_required() else f"default {f.get_default()!r}"
    return out


def _list(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.registry import AUGMENTATIONS, DATASETS

    data = {kind: {n: {"description": reg.get(n).doc, "options": options(reg.get(n).config)}
                   for n in reg.names()}
            for kind, reg in (("datasets", DATASETS), ("augmentations", AUGMENTATIONS))}
    if getattr(args, "json", False):
        print_json(data)
        return 0
    for kind, entries in data.items():
        rows = [(n, e["description"], ", ".join(
            f"{k}*" if v == "required" else k for k, v in e["options"].items()) or "-")
            for n, e in entries.items()]
        print_table(kind, ["name", "description", "options (* required)"], rows,
                    caption="`archopt data list --json` shows each option's default"
                    if kind == "datasets" else None)
    return 0
