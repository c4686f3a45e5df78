"""Runs side by side: their metrics.json figures and what differs in their specs."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.run_index import describe, kind_of, read_json, read_yaml

_MISSING = object()


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """``{"train.optimizer.lr": 0.01, ...}`` from nested dicts; lists stay values."""
    if not isinstance(obj, dict):
        return {prefix: obj} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def metric_rows(metrics: Sequence[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """``("test.accuracy", [v1, v2, ...])`` for every scalar any run has, in a stable order."""
    keys: list[str] = []
    flat = []
    for m in metrics:
        f = {k: v for k, v in flatten(m).items()
             if isinstance(v, int | float) and not isinstance(v, bool) and k != "format"}
        flat.append(f)
        keys += [k for k in f if k not in keys]
    return [(k, [f.get(k) for f in flat]) for k in keys]


def spec_differences(specs: Sequence[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """``(field, [value per run])`` for each spec field whose values are not all equal
    (``None`` where a run's spec lacks the field)."""
    flat = [flatten(s) for s in specs]
    keys: list[str] = []
    for f in flat:
        keys += [k for k in f if k not in keys]
    rows = []
    for k in keys:
        values = [f.get(k, _MISSING) for f in flat]
        if any(v != values[0] for v in values[1:]):
            rows.append((k, [None if v is _MISSING else v for v in values]))
    return rows


def compare_runs(paths: Sequence[str | os.PathLike]) -> dict[str, Any]:
    """Several runs side by side.

    Returns:
        ``runs``: each run's registry row; ``metrics``: ``[key, [values]]`` for every figure of
        their metrics.json (``test.accuracy``...); ``spec_differences``: ``[field, [values]]``
        for every spec field that differs.

    Raises:
        UserError: with fewer than two paths, or a path that is not a run folder.
    """
    if len(paths) < 2:
        raise UserError("archopt runs compare", "needs at least two run folders",
                        "example: archopt runs compare runs/a/1 runs/b/1")
    runs, metrics, specs = [], [], []
    for p in paths:
        path = Path(p)
        kind = kind_of(path)
        if kind is None:
            raise UserError(str(path), "is not a run folder (no spec.yaml with run files)",
                            "pass folders made by `archopt train`; `archopt runs` lists them")
        runs.append(describe(path, kind))
        metrics.append(read_json(path / "metrics.json") or {})
        spec = read_yaml(path / "spec.yaml")
        specs.append(spec if isinstance(spec, dict) else {})
    return {"runs": runs, "metrics": [[k, v] for k, v in metric_rows(metrics)],
            "spec_differences": [[k, v] for k, v in spec_differences(specs)]}
