"""Figures for reports, drawn with matplotlib and returned as inline SVG text.

Figures are ``matplotlib.figure.Figure`` objects (no pyplot: no global state, no GUI backend).
Text is drawn as paths (``svg.fonttype: path``), so the page needs no font; dense scatter plots
and images are rasterized inside the SVG to keep the page small. Each figure gets its own
``svg.hashsalt``, so the ids of several SVGs on one page never clash.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import rcParams
from matplotlib.figure import Figure

# the house style: small, light, readable on a laptop and in print
STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6,
    "lines.linewidth": 1.6, "svg.fonttype": "path", "figure.dpi": 100,
    "axes.prop_cycle": rcParams["axes.prop_cycle"],
}
_counter = itertools.count()
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#7f7f7f", "#bcbd22", "#17becf"]


def new_figure(width: float = 7.0, height: float = 3.2) -> Figure:
    """A figure in the house style (sizes in inches)."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def styled(fn: Any) -> Any:
    """Run a plotting function under the house style."""
    import functools

    import matplotlib

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)
    return wrapper


def to_svg(fig: Figure) -> str:
    """The figure as an ``<svg>`` element (no XML header), scalable to its container."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": f"archopt-{next(_counter)}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _grid(n: int, cols: int = 3) -> tuple[int, int]:
    cols = 2 if n == 4 else min(cols, max(n, 1))
    return math.ceil(n / cols), cols


@styled
def learning_curves(history: Sequence[dict[str, Any]], best_epoch: int | None = None) -> str:
    """Losses, each metric (train solid, validation dashed) and the learning rate per epoch."""
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    keys = sorted({k for h in history for k, v in h.items() if isinstance(v, int | float)})
    quantities = []  # the losses first, then the metrics
    for k in keys:
        for prefix in ("train_", "val_"):
            if k.startswith(prefix) and k[len(prefix):] not in quantities:
                quantities.append(k[len(prefix):])
    losses = [q for q in quantities if q.endswith("loss")]
    metrics = [q for q in quantities if not q.endswith("loss")]
    panels: list[tuple[str, list[str]]] = [("loss", losses)] if losses else []
    panels += [(m, [m]) for m in metrics]
    if "lr" in keys:
        panels.append(("learning rate", ["lr"]))
    rows, cols = _grid(len(panels))
    fig = new_figure(3.3 * cols, 2.5 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (title, names) in zip(axes, panels):
        for i, name in enumerate(names):
            color = COLORS[i % len(COLORS)]
            series = [("lr", "-")] if name == "lr" else [(f"train_{name}", "-"),
                                                         (f"val_{name}", "--")]
            for key, ls in series:
                xs = [e for e, h in zip(epochs, history) if _finite(h.get(key))]
                ys = [h[key] for h in history if _finite(h.get(key))]
                if ys:
                    label = key if name == "lr" else key.replace("_", " ", 1)
                    ax.plot(xs, ys, ls, color=color, label=label,
                            marker="o" if len(ys) < 12 else None, ms=3)
        if best_epoch:
            ax.axvline(best_epoch, color="#888", lw=0.8, ls=":")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if title == "learning rate":
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        elif any(q.endswith("loss") for q in names) and _spans_decades(history, names):
            ax.set_yscale("log")
        ax.legend(frameon=False)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return to_svg(fig)


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


def _spans_decades(history: Sequence[dict[str, Any]], names: list[str]) -> bool:
    vals = [h[k] for h in history for n in names for k in (f"train_{n}", f"val_{n}")
            if _finite(h.get(k)) and h[k] > 0]
    return bool(vals) and max(vals) / min(vals) > 30


@styled
def confusion_matrix(cm: Sequence[Sequence[int]], labels: Sequence[str] | None = None) -> str:
    """Counts (rows: true class), shaded by the share of each true class."""
    m = np.asarray(cm, dtype=float)
    n = len(m)
    labels = list(labels) if labels else [str(i) for i in range(n)]
    side = min(7.0, 1.6 + 0.42 * n)
    fig = new_figure(side + 0.8, side)
    ax = fig.subplots()
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    if n <= 20:
        for i, j in itertools.product(range(n), range(n)):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center", fontsize=8 if n < 12 else 6,
                    color="white" if share[i, j] > 0.55 else "#222")
    ticks = range(n) if n <= 30 else range(0, n, max(1, n // 15))
    ax.set_xticks(list(ticks), [labels[i] for i in ticks], rotation=90 if n > 12 else 0)
    ax.set_yticks(list(ticks), [labels[i] for i in ticks])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(im, ax=ax, shrink=0.8, label="share of the true class")
    return to_svg(fig)


@styled
def regression(pred: np.ndarray, true: np.ndarray, names: Sequence[str] | None = None) -> str:
    """Predicted against true (with the diagonal) and residuals, per target (up to 3)."""
    pred, true = pred.reshape(len(pred), -1), true.reshape(len(true), -1)
    k = min(pred.shape[1], 3)
    fig = new_figure(7.0, 2.9 * k)
    axes = fig.subplots(k, 2, squeeze=False)
    for j in range(k):
        p, t = pred[:, j], true[:, j]
        name = names[j] if names and j < len(names) else (f"target {j}" if k > 1 else "target")
        ax = axes[j, 0]
        ax.scatter(t, p, s=8, alpha=0.6, rasterized=len(t) > 300)
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], color="#888", lw=0.8, ls="--")
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title("predicted vs true")
        ax = axes[j, 1]
        r = p - t
        ax.scatter(p, r, s=8, alpha=0.6, color=COLORS[1], rasterized=len(t) > 300)
        ax.axhline(0, color="#888", lw=0.8, ls="--")
        ax.set_xlabel(f"predicted {name}")
        ax.set_ylabel("residual (predicted - true)")
        ax.set_title(f"residuals (mean {r.mean():.3g}, sd {r.std():.3g})")
    return to_svg(fig)


def _show(ax: Any, x: np.ndarray, kind: str) -> None:
    """One example: an image (C, H, W), a sequence (T, F) or a tabular row (F,)."""
    ax.grid(False)
    if kind == "image":
        img = np.transpose(x, (1, 2, 0)) if x.shape[0] in (3, 4) else x[0]
        img = (img - img.min()) / (img.max() - img.min() + 1e-8)
        ax.imshow(img, cmap=None if img.ndim == 3 else "gray", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        ax.plot(x.reshape(x.shape[0], -1) if x.ndim > 1 else x, lw=0.9)
        ax.tick_params(labelsize=6)


@styled
def reconstructions(inputs: np.ndarray, outputs: np.ndarray, kind: str) -> str:
    """Inputs (top row) over their reconstructions (bottom row)."""
    n = len(inputs)
    fig = new_figure(min(7.0, 0.95 * n + 0.6), 2.2 if kind == "image" else 3.0)
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        _show(axes[0, i], inputs[i], kind)
        _show(axes[1, i], outputs[i], kind)
        if kind != "image":
            axes[1, i].plot(inputs[i].reshape(inputs[i].shape[0], -1)
                            if inputs[i].ndim > 1 else inputs[i], lw=0.6, color="#aaa")
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    return to_svg(fig)


@styled
def bars(labels: Sequence[str], series: dict[str, Sequence[float]], ylabel: str,
         title: str = "") -> str:
    """Grouped bars: one group per label, one bar per series."""
    fig = new_figure(7.0, 2.6)
    ax = fig.subplots()
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name,
               color=COLORS[i % len(COLORS)])
    ax.set_xticks(x, list(labels), rotation=90 if len(labels) > 15 else 0)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(series) > 1:
        ax.legend(frameon=False)
    return to_svg(fig)


@styled
def lines(series: dict[str, Sequence[tuple[float, float]]], xlabel: str, ylabel: str,
          log: bool | None = None) -> str:
    """One line per named series of ``(x, y)`` points."""
    fig = new_figure(7.0, 2.8)
    ax = fig.subplots()
    ys = []
    for i, (name, points) in enumerate(series.items()):
        if points:
            xs, vs = zip(*points)
            ys += [v for v in vs if v > 0]
            ax.plot(xs, vs, color=COLORS[i % len(COLORS)], label=name,
                    marker="o" if len(xs) < 12 else None, ms=3)
    if log or (log is None and "loss" in ylabel and ys and max(ys) / min(ys) > 30):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=7)
    return to_svg(fig)


STATE_COLORS = {"COMPLETE": COLORS[0], "PRUNED": COLORS[1], "FAIL": "#999999"}


@styled
def optimization_history(points: Sequence[tuple[int, float, str]], name: str,
                         direction: str) -> str:
    """Each trial's value by trial number (pruned marked) and the best so far."""
    fig = new_figure(7.0, 3.0)
    ax = fig.subplots()
    for state, marker in (("COMPLETE", "o"), ("PRUNED", "x")):
        sel = [(n, v) for n, v, s in points if s == state]
        if sel:
            ax.scatter(*zip(*sel), s=18, marker=marker, color=STATE_COLORS[state],
                       label=state.lower())
    done = sorted((n, v) for n, v, s in points if s == "COMPLETE")
    if done:
        pick = max if direction.startswith("max") else min
        best, xs, ys = None, [], []
        for n, v in done:
            best = v if best is None else pick(best, v)
            xs.append(n)
            ys.append(best)
        ax.step(xs, ys, where="post", color=COLORS[3], lw=1.2, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(name)
    ax.legend(frameon=False)
    return to_svg(fig)


@styled
def trial_curves(series: Sequence[tuple[int, str, Sequence[tuple[float, float]]]],
                 metric: str) -> str:
    """One line per trial, coloured by its state (pruned trials stop early)."""
    fig = new_figure(7.0, 3.2)
    ax = fig.subplots()
    for _number, state, pts in series:
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=STATE_COLORS.get(state, "#999999"), lw=1.0, alpha=0.75)
        if state == "PRUNED":
            ax.plot(xs[-1], ys[-1], "x", color=STATE_COLORS["PRUNED"], ms=5)
    for state, color in STATE_COLORS.items():
        ax.plot([], [], color=color, label=state.lower())
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend(frameon=False)
    return to_svg(fig)


@styled
def pareto(points: Sequence[tuple[float, float, int]], front: Sequence[int], x: str,
           y: str) -> str:
    """Trials on two objectives, the front's members numbered and joined."""
    fig = new_figure(7.0, 3.6)
    ax = fig.subplots()
    others = [(a, b) for a, b, n in points if n not in front]
    if others:
        ax.scatter(*zip(*others), s=14, color="#bbbbbb", label="trials")
    on = sorted((a, b, n) for a, b, n in points if n in front)
    if on:
        ax.plot([p[0] for p in on], [p[1] for p in on], "-o", color=COLORS[3], ms=5,
                label="Pareto front")
        for a, b, n in on:
            ax.annotate(str(n), (a, b), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if x in ("params", "flops"):
        ax.set_xscale("log")
    ax.legend(frameon=False)
    return to_svg(fig)


@styled
def tradeoff(points: Sequence[tuple[float, float, str]],
             sweep: Sequence[tuple[Any, Any, Any]], metric: str) -> str:
    """Test metric against relative latency: the steps in order, and the sweep's points."""
    fig = new_figure(7.0, 3.4)
    ax = fig.subplots()
    xs, ys, names = zip(*points)
    ax.plot(xs, ys, "o-", color=COLORS[0], label="steps (cumulative)")
    for x, y, n in points:
        ax.annotate(n, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    for i, imp in enumerate(sorted({str(s[2]) for s in sweep})):
        pts = sorted((x, y) for x, y, s in sweep if str(s) == imp and x is not None
                     and y is not None)
        if pts:
            ax.plot(*zip(*pts), "s--" if i == 0 else "x:", color=COLORS[1 + i],
                    label=f"prune sweep, {imp} (no fine-tune)")
    ax.axvline(1.0, color="#999", lw=0.8, ls=":")
    ax.set_xlabel("latency at batch 1 / starting model (lower is faster)")
    ax.set_ylabel(f"test {metric}")
    ax.legend(frameon=False)
    return to_svg(fig)
