"""Shared helpers of the gallery studies: run a spec once (cached), format markdown tables.

Every study script trains its specs through ``archopt.fit`` into ``benchmarks/out/gallery/<key>``.
A finished run of the same resolved spec is reused (one whose spec changed is retrained), so a
study can be stopped and restarted, and the tables can be re-printed without training again
(``--fresh`` retrains everything).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "benchmarks" / "out" / "gallery"
DOCS = ROOT / "docs" / "gallery"
FRESH = "--fresh" in sys.argv


def run_spec(key: str, spec_path: str | Path, overrides: list[str] | None = None,
             threads: int = 1, may_diverge: bool = False) -> dict[str, Any] | None:
    """Train ``spec_path`` (+ ``k=v`` overrides) into ``OUT/key``; reuse a finished run.

    Returns metrics.json's contents plus ``run_dir``; None for a run whose loss became NaN
    (or inf) when ``may_diverge`` (a learning-rate sweep), remembered in ``OUT/key/diverged.txt``.
    """
    import archopt
    from archopt.errors import UserError

    run_dir = OUT / key
    overrides = [*(overrides or []), f"train.threads={threads}"]
    spec = archopt.load_spec(str(ROOT / spec_path), overrides)
    saved = run_dir / "spec.yaml"
    same = saved.is_file() and not FRESH and \
        archopt.load_spec(str(saved)).model_dump() == spec.model_dump()
    if same and (run_dir / "metrics.json").is_file():
        return {**json.loads((run_dir / "metrics.json").read_text()), "run_dir": str(run_dir)}
    if same and may_diverge and (run_dir / "diverged.txt").is_file():
        return None
    if run_dir.exists():
        shutil.rmtree(run_dir)  # unfinished, or trained from an older spec: start again
    t0 = time.perf_counter()
    try:
        metrics = archopt.fit(spec, out=run_dir, quiet=True)
    except UserError as exc:
        if not (may_diverge and "training loss became" in str(exc)):  # nan or inf
            raise
        (run_dir / "diverged.txt").write_text(str(exc) + "\n")
        print(f"  diverged {key}: {exc}", file=sys.stderr, flush=True)
        return None
    wall = time.perf_counter() - t0
    print(f"  trained {key}: {wall:.0f} s", file=sys.stderr, flush=True)
    return metrics


def history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-epoch lines of a run's history.jsonl."""
    path = Path(run_dir) / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A markdown table; numbers right-aligned."""
    def cell(v: Any) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    align = ["---:" if rows and isinstance(rows[0][i], (int, float)) or
             (rows and str(rows[0][i]).rstrip("%").replace(".", "").lstrip("+-").isdigit())
             else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def link(spec_path: str) -> str:
    """A markdown link to a spec, relative to benchmarks/GALLERY.md."""
    return f"[{Path(spec_path).name}](../{spec_path})"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def machine() -> str:
    """nproc, CPU model, torch and Python versions."""
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"nproc {os.cpu_count()}, {cpu}; torch {torch.__version__}, "
            f"Python {platform.python_version()}")


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def write_result(name: str, markdown: str, seconds: float, command: str) -> None:
    """Save a study's table (``OUT/<name>.md``) for GALLERY.md and print it."""
    OUT.mkdir(parents=True, exist_ok=True)
    text = (f"{markdown}\n\nCommand: `{command}`  \nMachine: {machine()}  \n"
            f"Study wall time: {seconds:.0f} s (cached runs count 0)\n")
    (OUT / f"{name}.md").write_text(text)
    print(text)


def load_trained(run_dir: str | Path, checkpoint: str = "last.pt") -> tuple[Any, Any, Any]:
    """(spec, data, model in eval mode) of a finished run; ``last.pt`` is the final model,
    the one metrics.json scores (no early stopping in the gallery's specs that use this)."""
    import torch

    import archopt
    from archopt.data import load_data
    from archopt.models import build_model

    spec = archopt.load_spec(str(Path(run_dir) / "spec.yaml"))
    data = load_data(spec.data, spec.seed)
    model = build_model(spec.model, data.shape, seed=spec.seed)
    state = torch.load(Path(run_dir) / "checkpoints" / checkpoint, weights_only=True)
    model.load_state_dict(state["model"])
    return spec, data, model.eval()


def image_grid(images: Any, path: Path, cols: int = 8, title: str | None = None) -> None:
    """Save (N, 1, H, W) images as a grid PNG, each scaled to its own range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(images)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9 + (0.3 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i][0].detach().cpu().numpy(), cmap="gray_r")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
