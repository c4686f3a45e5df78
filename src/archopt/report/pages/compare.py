"""Several runs side by side: who they are, their metrics, what differs in their specs, and
their learning curves overlaid."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archopt.report import html as h
from archopt.report import plots
from archopt.run_compare import compare_runs
from archopt.run_index import read_history


def _show(v: Any) -> Any:
    if v is None:
        return "(absent)"
    return str(v) if isinstance(v, list | dict | bool) else v


def overlay_curves(paths: Sequence[Path], labels: Sequence[str], key: str) -> str:
    """One figure: ``key`` (``val_loss``...) per epoch, one line per run."""
    histories = {label: read_history(p / "history.jsonl") for p, label in zip(paths, labels)}
    series = {label: [(x.get("epoch", i + 1), x[key]) for i, x in enumerate(hist)
                      if isinstance(x.get(key), int | float)] for label, hist in histories.items()}
    if not any(series.values()):
        return ""
    return h.figure(plots.lines(series, "epoch", key.replace("_", " ", 1)), key)


def compare_page(paths: Sequence[str | os.PathLike]) -> h.Page:
    """The page of several runs (at least two)."""
    result = compare_runs(paths)
    runs = result["runs"]
    labels = [f"{i + 1}: {Path(r['path']).name}" for i, r in enumerate(runs)]
    page = h.Page(title=f"{len(runs)} runs compared",
                  subtitle=" · ".join(str(r["path"]) for r in runs))
    who = [["path", *[r["path"] for r in runs]], ["status", *[h.badge(r["status"]) for r in runs]],
           ["model", *[r["model"] for r in runs]], ["parameters", *[r["params"] for r in runs]],
           ["epochs", *[r["epochs"] for r in runs]],
           ["training time (s)", *[r["time_s"] for r in runs]],
           ["main metric", *[f"{r['metric']} = {h.number(r['value'])}" for r in runs]]]
    page.add("Runs", h.table(["", *labels], who))
    page.add("Metrics", h.table(["metric", *labels], [[k, *v] for k, v in result["metrics"]]))
    diffs = result["spec_differences"]
    page.add("Spec differences",
             h.table(["field", *labels], [[k, *[_show(x) for x in v]] for k, v in diffs])
             if diffs else h.note("The specs are identical."))
    ps = [Path(r["path"]) for r in runs]
    keys = []
    for p in ps:
        last = read_history(p / "history.jsonl")[-1:] or [{}]
        keys += [k for k, v in last[0].items() if isinstance(v, int | float)
                 and k.startswith(("val_", "train_")) and k not in keys]
    keys = sorted(keys, key=lambda k: (not k.startswith("val_"), not k.endswith("loss"), k))
    page.add("Learning curves", *[overlay_curves(ps, labels, k) for k in keys[:6]])
    return page
