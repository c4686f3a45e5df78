"""``pareto.png``: the search's first objective (accuracy) against latency and against
parameters, one panel each. Every trained candidate is a point; those dominated in that panel
are grey, the panel's front is joined by a line, reference models are marked with their names,
and a budget on the panel's cost is a dashed line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archopt.spec.load import write_atomic


def front_2d(points: list[tuple[float, float]], maximize: bool) -> list[int]:
    """Indices of the points not dominated on (cost: lower is better, value)."""
    sign = 1.0 if maximize else -1.0
    out = []
    for i, (c, v) in enumerate(points):
        if not any((c2 <= c and sign * v2 >= sign * v) and (c2, v2) != (c, v)
                   for c2, v2 in points):
            out.append(i)
    return out


def _cost(row: dict[str, Any], cost: str) -> float | None:
    """A point's cost; latency as re-timed at the end when it was (the front's members and the
    references, timed together), else as first measured."""
    if row.get(f"{cost}_again") is not None:
        return row[f"{cost}_again"]
    return row.get(cost)


def write_pareto_png(path: Path, rows: list[dict[str, Any]], refs: list[dict[str, Any]],
                     metric: str, maximize: bool,
                     budgets: dict[str, tuple[float | None, float | None]],
                     runtime: str | None = None, batch: bool = False) -> Path:
    """Draw the two panels into ``path`` (written atomically); ``runtime`` (what ran the
    candidates when timed) goes into the latency axis' label; ``batch``: the latency panel
    shows ``batch_latency_ms`` (one call at the throughput batch), not ``latency_ms``."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    lat = "batch_latency_ms" if batch else "latency_ms"
    costs = [(lat, f"{lat} (front and references: re-timed together)"
              + (f"\n{runtime}" if runtime else "")),
             ("params", "parameters")]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, (cost, label) in zip(axes, costs):
        pts = [(_cost(r, cost), r[metric]) for r in rows
               if _cost(r, cost) is not None and r.get(metric) is not None]
        best = set(front_2d(pts, maximize))
        grey = [p for i, p in enumerate(pts) if i not in best]
        line = sorted(p for i, p in enumerate(pts) if i in best)
        if grey:
            ax.scatter(*zip(*grey), s=18, c="0.7", label="dominated")
        if line:
            ax.plot(*zip(*line), "o-", c="tab:blue", ms=5, label="Pareto front")
        for i, ref in enumerate(refs):
            if _cost(ref, cost) is not None and ref.get(metric) is not None:
                xy = (_cost(ref, cost), ref[metric])
                ax.scatter(*zip(xy), marker="*", s=140, c="tab:red", zorder=3)
                ax.annotate(ref["name"], xy, textcoords="offset points",
                            xytext=(5, -12 - 10 * i), fontsize=8, color="tab:red")
        lo, hi = budgets.get(cost, (None, None))
        for b in (lo, hi):
            if b is not None:
                ax.axvline(b, ls="--", c="tab:orange", lw=1, label=f"budget {b:g}")
        xs = [x for x, _ in pts] + [_cost(r, cost) for r in refs if _cost(r, cost)]
        if xs and min(xs) > 0 and max(xs) / min(xs) > 20:  # a far reference squashes the rest
            ax.set_xscale("log")
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6))  # small ms values: no overlap
        ax.set_xlabel(label)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    write_atomic(path, buf.getvalue())
    return path
