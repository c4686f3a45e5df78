"""Printing results: JSON for ``--json``, rich tables for people."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types from tensors, numpy values, tuples and paths; NaN/inf become None."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)


def print_json(obj: Any) -> None:
    json.dump(to_jsonable(obj), sys.stdout, indent=2)
    sys.stdout.write("\n")


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                caption: str | None = None) -> None:
    """A rich table on stdout (plain text when not a terminal)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=caption, title_justify="left")
    for i, c in enumerate(columns):
        table.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*[fmt(v) for v in r])
    Console(width=max(100, Console().width)).print(table)


def fmt(v: Any) -> str:
    """Numbers shown the way people read them: 5,210 / 0.9412 / 1.23e-05."""
    if isinstance(v, bool) or v is None:
        return "-" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0 or 1e-3 <= abs(v) < 1e6:
            return f"{v:.4g}" if abs(v) < 1 else f"{v:,.2f}"
        return f"{v:.3g}"
    return str(v)


def wall_text(r: Mapping[str, Any]) -> str:
    """``N s``: this process's wall time; a resumed study's (``study_wall_s``: its trials' time
    over all its runs, ``archopt.run_index.study_wall_s``) beside it."""
    own, total = r["wall_s"], r.get("study_wall_s")
    if total is None:
        return f"{own} s"
    return f"{own} s (its trials over all its runs: {total} s of wall)"
