"""The figures of an explanation (PNG, matplotlib without pyplot), with the checks on them.

  image     rows: examples; columns: the raw image, then each method's signed map (summed over
            channels) with the image's outline over it, on one colour scale per method (red:
            for the output, blue: against it)
  sequence  one strip per example and method: time x channel, the signed attribution as colour
            and the raw series drawn over it, cut at the example's true length
  tabular   signed bars per feature with the CSV's column names; the global view: mean
            |attribution| per method beside permutation importance
  deletion  every method's deletion curve against the random orders' one
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from archopt.report.plots import STYLE

CMAP = "RdBu_r"
SHOWN = 6   # examples drawn per figure


def _figure(width: float, height: float) -> Figure:
    import matplotlib

    with matplotlib.rc_context({**STYLE, "axes.grid": False}):
        return Figure(figsize=(width, height), layout="constrained")


def _save(fig: Figure, path: Path) -> str:
    fig.savefig(path, format="png", dpi=100)
    return path.name


def _label(result: dict[str, Any], name: str) -> str:
    """The method's name with its checks: completeness, deletion area, sanity."""
    m = result["methods"][name]
    bits = [name.replace("_", " ")]
    if "completeness" in m:
        c = m["completeness"]
        bits.append(f"complete {100 * c['relative_delta_max']:.2g}% ({m['steps']} steps)")
    d = m["deletion"]
    bits.append(f"deletion {d['area']:.3g} (random {result['faithfulness']['random']['area']:.3g})")
    if m.get("sanity"):
        r = m["sanity"]["rank_correlation"]
        bits.append(f"sanity r={r[-1]:.2f}" + (" FLAGGED" if m["sanity"]["flagged"] else ""))
    return "\n".join(bits)


def _example_title(result: dict[str, Any], j: int) -> str:
    row = result["examples"][j]
    names = result.get("class_names") or []
    if "predicted" in row:
        name = lambda k: names[k] if k < len(names) else str(k)  # noqa: E731
        return f"#{row['index']} true {name(row['true'])} pred {name(row['predicted'])}"
    return f"#{row['index']} output {row['output']:.4g}"


def image(result: dict[str, Any], attributions: dict[str, torch.Tensor], x: torch.Tensor
          ) -> Figure:
    names = list(attributions)
    n = min(SHOWN, len(x))
    fig = _figure(1.6 * (1 + len(names)), 1.7 * n + 0.9)
    axes = fig.subplots(n, 1 + len(names), squeeze=False)
    raw = x[:n].numpy()
    for j in range(n):
        img = raw[j].transpose(1, 2, 0)  # (H, W, C)
        grey = img.mean(-1)
        ax = axes[j, 0]
        ax.imshow(img if img.shape[-1] == 3 else grey, cmap="gray")
        ax.set_title(_example_title(result, j), fontsize=7)
        for k, m in enumerate(names):
            heat = attributions[m][:n].sum(1).numpy()  # (n, H, W) summed over channels
            scale = float(np.abs(heat).max()) or 1.0
            ax = axes[j, k + 1]
            im = ax.imshow(heat[j], cmap=CMAP, vmin=-scale, vmax=scale)
            mid = (float(grey.min()) + float(grey.max())) / 2
            if grey.max() > grey.min():  # the raw image's outline over the map
                ax.contour(grey, levels=[mid], colors="black", linewidths=0.7)
            if j == 0:
                ax.set_title(_label(result, m), fontsize=6)
            if j == n - 1:
                fig.colorbar(im, ax=axes[:, k + 1], location="bottom", shrink=0.8)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    return fig


def sequence(result: dict[str, Any], name: str, attr: torch.Tensor, x: torch.Tensor,
             lengths: torch.Tensor | None) -> Figure:
    n = min(SHOWN, len(x))
    T, F = x.shape[1], x.shape[2]
    fig = _figure(7.0, 1.1 * n * max(1, min(F, 4) / 2) + 0.9)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    scale = float(attr[:n].abs().max()) or 1.0
    for j in range(n):
        L = int(lengths[j]) if lengths is not None else T
        a, s = attr[j, :L].numpy().T, x[j, :L].numpy()  # (F, L), (L, F)
        ax = axes[j]
        im = ax.imshow(a, aspect="auto", cmap=CMAP, vmin=-scale, vmax=scale,
                       extent=(-0.5, L - 0.5, F, 0), interpolation="nearest")
        for c in range(F):  # each channel's raw series inside its own band
            v = s[:, c]
            lo, hi = float(v.min()), float(v.max())
            y = c + 0.9 - 0.8 * (v - lo) / (hi - lo if hi > lo else 1.0)
            ax.plot(np.arange(L), y, color="black", lw=0.9)
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_yticks(np.arange(F) + 0.5, [f"ch{c}" for c in range(F)] if F <= 8 else [])
        ax.set_title(_example_title(result, j) + (f" (length {L})" if lengths is not None
                                                  else ""), fontsize=7, loc="left")
    axes[-1].set_xlabel("time step")
    fig.suptitle(_label(result, name).replace("\n", " · "), fontsize=8)
    fig.colorbar(im, ax=list(axes), location="right", shrink=0.8)
    return fig


def tabular(result: dict[str, Any], name: str, attr: torch.Tensor) -> Figure:
    names = result["feature_names"]
    n = min(4, len(attr))
    shown = min(len(names), 20)  # the largest 20 per example
    fig = _figure(2.6 * n, 0.22 * shown + 1.4)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for j in range(n):
        a = attr[j].numpy()
        order = np.argsort(-np.abs(a))[:shown][::-1]
        ax = axes[j]
        ax.barh(range(len(order)), a[order],
                color=["#d62728" if v > 0 else "#1f77b4" for v in a[order]])
        ax.set_yticks(range(len(order)), [names[i] for i in order], fontsize=7)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_title(_example_title(result, j), fontsize=7)
    fig.suptitle(_label(result, name).replace("\n", " · "), fontsize=8)
    return fig


def global_tabular(result: dict[str, Any]) -> Figure:
    g = result["global"]
    names = g["features"]
    series = {m: np.asarray(v) for m, v in g["mean_abs"].items()}
    series["permutation importance"] = np.asarray(g["permutation_importance"]["mean"])
    order = np.argsort(-series["permutation importance"])[:20][::-1]
    fig = _figure(7.0, 0.065 * len(order) * len(series) + 1.4)
    ax = fig.subplots()
    h = 0.8 / len(series)
    for k, (m, v) in enumerate(series.items()):
        top = float(np.abs(v).max()) or 1.0
        ax.barh(np.arange(len(order)) + k * h, v[order] / top, height=h, label=m)
    ax.set_yticks(np.arange(len(order)) + 0.4, [names[i] for i in order], fontsize=7)
    ax.set_xlabel("share of the largest (mean |attribution|; permutation importance)")
    ax.legend(fontsize=6, loc="lower right")
    which = ("examples of the whole split" if g.get("over") == "split"
             else "explained examples")
    ax.set_title(f"global view over {g['examples']} {which}; permutation "
                 f"importance over the {result['split']} split", fontsize=8)
    return fig


def deletion(result: dict[str, Any]) -> Figure:
    f = result["faithfulness"]
    fig = _figure(5.5, 3.4)
    ax = fig.subplots()
    for m in f["ranking"]:
        d = result["methods"][m]["deletion"]
        ax.plot(f["fractions"], d["curve"], label=f"{m} ({d['area']:.3g})")
    ax.plot(f["fractions"], f["random"]["curve"], "k--",
            label=f"random order ({f['random']['area']:.3g})")
    ax.set_xlabel("fraction of feature groups replaced by the baseline (most attributed first)")
    ax.set_ylabel(f["follows"].replace("the ", "", 1)[:40])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, title="area under the curve", title_fontsize=7)
    return fig


def draw(folder: Path, subject: Any, result: dict[str, Any],
         attributions: dict[str, torch.Tensor], x: torch.Tensor,
         lengths: torch.Tensor | None) -> list[str]:
    """Write every figure into ``folder``; returns the file names."""
    files = [_save(deletion(result), folder / "deletion.png")]
    if subject.kind == "image":
        files.append(_save(image(result, attributions, x), folder / "maps.png"))
    elif subject.kind == "sequence":
        for m, a in attributions.items():
            files.append(_save(sequence(result, m, a, x, lengths), folder / f"strips_{m}.png"))
    else:
        for m, a in attributions.items():
            files.append(_save(tabular(result, m, a), folder / f"bars_{m}.png"))
        if "global" in result:
            files.append(_save(global_tabular(result), folder / "global.png"))
    return files
