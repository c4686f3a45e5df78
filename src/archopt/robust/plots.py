"""Robustness curves: accuracy against attack epsilon and against corruption strength."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from archopt.report.plots import COLORS, new_figure, styled


@styled
def curves_figure(result: dict[str, Any], title: str = "") -> Figure:
    """Attack curves (L-inf, L2) and one panel per corruption, accuracy on the y axis."""
    panels = [n for n in ("linf", "l2")
              if any(a["norm"] == n for a in result.get("attacks", {}).values())]
    noise = list(result.get("noise", {}))
    n = max(1, len(panels) + len(noise))
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig = new_figure(3.0 * cols, 2.5 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).flatten()
    for ax, norm in zip(axes, panels):
        items = [(k, a) for k, a in result["attacks"].items() if a["norm"] == norm]
        for i, (name, a) in enumerate(items):
            ax.plot(a["eps"], a["accuracy"], marker="o", ms=3, label=name,
                    color=COLORS[i % len(COLORS)])
        if norm == "linf" and "strongest" in result:
            s = result["strongest"]
            ax.plot(s["eps"], s["accuracy"], color="black", ls="--", lw=1.2, label="strongest")
        ax.set_xlabel(f"epsilon ({'L-inf' if norm == 'linf' else 'L2'}, raw units)")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(frameon=False, fontsize=7)
    for ax, name in zip(axes[len(panels):], noise):
        c = result["noise"][name]
        ax.plot(c["strengths"], c["accuracy"], marker="o", ms=3, color=COLORS[0])
        ax.set_title(name)
        ax.set_xlabel(c["unit"])
        ax.set_ylim(-0.02, 1.02)
    for ax in axes[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


@styled
def compare_figure(results: dict[str, dict[str, Any]], attack: str = "strongest") -> Figure:
    """One L-inf curve per run (``attack``: ``strongest`` or an attack name), on one axis."""
    fig = new_figure(5.0, 3.0)
    ax = fig.subplots()
    for i, (label, r) in enumerate(results.items()):
        c = r["strongest"] if attack == "strongest" else r["attacks"][attack]
        ax.plot(c["eps_relative"], c["accuracy"], marker="o", ms=3, label=label,
                color=COLORS[i % len(COLORS)])
    ax.set_xlabel("epsilon (L-inf, fraction of the data's range)")
    ax.set_ylabel(f"accuracy ({attack} attack)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(frameon=False, fontsize=7)
    return fig


def save_png(fig: Figure, path: Path) -> None:
    """Write ``fig`` as a PNG atomically (temp file + rename)."""
    import os

    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    os.replace(tmp, path)
