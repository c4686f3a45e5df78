"""``explain(run_dir, ...)``: attributions of a run's predictions, checked before they are shown.

1) load the run, its split in raw units, the baseline; pick the examples and the outputs;
2) every method on the examples, in batches through the model, timed;
3) the checks: integrated gradients' completeness (inside the method), deletion curves against
   random orders, the randomization sanity check;
4) for tabular data the global view, over the explained examples or the whole split;
5) write explain.json, attributions.npz and the plots into the output folder (atomically).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from archopt.errors import UserError
from archopt.explain import checks, select
from archopt.explain.methods import Context, internal_batch, run_method
from archopt.explain.subject import Subject, load_subject

BATCH = 32   # examples per call of a method
GLOBAL_OVER = ("examples", "split")   # what the tabular global view averages over


class _Progress:
    """A rich progress bar on a terminal (stderr); nothing otherwise."""

    def __init__(self, total: int, show: bool) -> None:
        import sys

        self.bar = None
        if show and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("explain {task.description}"), BarColumn(),
                                MofNCompleteColumn(), transient=True)
            self.task = self.bar.add_task("", total=total)
            self.bar.start()

    def step(self, what: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, advance=1, description=what)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _batched(name: str, ctx: Context, x: torch.Tensor, target: torch.Tensor,
             lengths: torch.Tensor | None, outputs: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, dict[str, Any]]:
    """A method over the examples, ``BATCH`` at a time; integrated gradients keeps the most
    steps any batch needed and the worst completeness. ``outputs``: the model's on ``x``."""
    parts, info = [], {}
    for i in range(0, len(x), BATCH):
        ln = None if lengths is None else lengths[i:i + BATCH]
        out = None if outputs is None else outputs[i:i + BATCH]
        attr, got = run_method(name, ctx, x[i:i + BATCH], target[i:i + BATCH], ln, out)
        parts.append(attr)
        if "completeness" in info and "completeness" in got:
            a, b = info["completeness"], got["completeness"]
            got["steps"] = max(info["steps"], got["steps"])
            b["relative_delta_max"] = max(a["relative_delta_max"], b["relative_delta_max"])
            b["holds"] = a["holds"] and b["holds"]
        info = got
    return torch.cat(parts), info


def sanity(subject: Subject, ctx: Context, names: list[str], x: torch.Tensor,
           target: torch.Tensor, lengths: torch.Tensor | None,
           attributions: dict[str, torch.Tensor], steps: int | None,
           progress: _Progress, seed: int) -> dict[str, Any]:
    """Cascading randomization from the output layer: rank correlations per stage."""
    layers = checks.weighted_layers(subject.model.model)
    stages = checks.cascade_stages(layers)
    out: dict[str, Any] = {"layers_from_top": layers, "stages": [], "threshold":
                           checks.SANITY_FLAG, "methods": {n: [] for n in names}}
    for count in stages:
        model = checks.randomized(subject.model, layers, count, seed + count)
        rctx = ctx.with_model(model, steps)
        out["stages"].append({"randomized_layers": count, "top_layer": layers[count - 1]})
        for name in names:
            attr, _ = _batched(name, rctx, x, target, lengths)
            out["methods"][name].append(round(checks.spearman(attributions[name], attr), 4))
            progress.step(f"sanity {name}")
    out["flagged"] = [n for n, r in out["methods"].items() if r and r[-1] >= checks.SANITY_FLAG]
    return out


def explain(run_dir: str | Path, methods: list[str] | None = None, examples: int | None = None,
            indices: list[int] | None = None, target: str | int = "predicted",
            split: str = "test", out: str | Path | None = None, samples: int = 256,
            layer: str | None = None, tolerance: float = 0.01, sanity_check: bool = True,
            plots: bool = True, seed: int = 0, progress: bool = False,
            global_over: str = "examples") -> dict[str, Any]:
    """Explain a run's predictions on some examples, with the checks of each method.

    Args:
        run_dir: a run directory (trained, tuned, pruned, fine-tuned).
        methods: attribution methods (``archopt.explain.methods.METHODS``); default: every
            one that applies to the model.
        examples: explain the first N examples of the split (default 8).
        indices: explain these examples of the split instead.
        target: classification: ``predicted``, ``true`` or a class (index or name);
            regression: an output index.
        split: ``test``, ``val`` or ``train``.
        out: the folder written (default ``RUN_DIR/explain``; replaced when it exists).
        samples: perturbed inputs per example for Kernel SHAP and LIME.
        layer: Grad-CAM's layer (a module name of the model); default the last convolution.
        tolerance: integrated gradients' completeness to reach (relative to |f(x) - f(b)|).
        sanity_check: run the randomization sanity check.
        plots: write the figures.
        seed: seeds the random orders, samples and re-initializations.
        progress: show a progress bar on a terminal.
        global_over: tabular data: the global view's mean |attribution| over the explained
            ``examples`` (default) or the whole ``split`` (every method runs on every example
            of the split; the checks stay on the explained examples). Permutation importance
            is always over the whole split.

    Returns:
        What explain.json holds, plus ``out`` (the folder written).
    """
    from archopt.explain import record

    subject = load_subject(run_dir, split)
    result, attributions, x, lengths = explain_subject(
        subject, methods, examples, indices, target, samples, layer, tolerance, sanity_check,
        seed, progress, global_over)
    return record.write(subject, result, attributions, x, lengths, out, plots)


def explain_subject(subject: Subject, methods: list[str] | None = None,
                    examples: int | None = None, indices: list[int] | None = None,
                    target: str | int = "predicted", samples: int = 256,
                    layer: str | None = None, tolerance: float = 0.01,
                    sanity_check: bool = True, seed: int = 0, progress: bool = False,
                    global_over: str = "examples"
                    ) -> tuple[dict[str, Any], dict[str, torch.Tensor], torch.Tensor,
                               torch.Tensor | None]:
    """The attributions and checks of a loaded subject: (result, attributions, x, lengths)."""
    import captum.attr  # noqa: F401  (imported before the clock starts)
    import sklearn.linear_model  # noqa: F401  (Kernel SHAP and LIME fit with it)

    from archopt.explain import record

    if global_over not in GLOBAL_OVER:
        raise UserError(f"--global-over {global_over}", "not a choice",
                        f"use {' or '.join(GLOBAL_OVER)}")
    if global_over == "split" and subject.kind != "tabular":
        raise UserError("--global-over split", f"the global view is for tabular data, this run's "
                        f"is {subject.kind}", "leave --global-over out")
    names = select.methods(methods, subject, layer)
    idx = select.examples(examples, indices, len(subject.x))
    x = subject.x[idx]
    lengths = None if subject.lengths is None else subject.lengths[idx]
    tgt, explained, outputs = select.targets(subject, target, x, subject.y[idx], lengths)
    ctx = Context(subject.model, subject.kind, tuple(subject.shape.input_shape),
                  subject.baseline, subject.references, samples=samples, tolerance=tolerance,
                  layer=layer, seed=seed)
    ctx.chunk = internal_batch(ctx)  # measured once, not per batch and stage
    stages = len(checks.cascade_stages(checks.weighted_layers(subject.model.model)))
    whole = subject.kind == "tabular" and global_over == "split"
    bar = _Progress(len(names) * (1 + (stages if sanity_check else 0) + whole), progress)
    try:
        # 2) the attributions, timed
        attributions, report = {}, {}
        for name in names:
            start = time.perf_counter()
            attr, info = _batched(name, ctx, x, tgt, lengths, outputs)
            seconds = time.perf_counter() - start
            attributions[name] = attr
            report[name] = {**info, "seconds": round(seconds, 4),
                            "seconds_per_example": round(seconds / len(idx), 5)}
            bar.step(name)
        # 3) the checks
        faith = checks.deletion(subject.model, subject.kind, x, tgt, lengths, subject.baseline,
                                attributions, seed)
        steps = report.get("integrated_gradients", {}).get("steps")
        rand = (sanity(subject, ctx, names, x, tgt, lengths, attributions, steps, bar, seed)
                if sanity_check else None)
        # 4) the global view (tabular): over the explained examples, or the whole split
        over = split_attributions(subject, ctx, names, target, bar) if whole else attributions
    finally:
        bar.close()
    result = record.summary(subject, names, idx, tgt, explained, lengths, report, faith, rand)
    if subject.kind == "tabular":
        from archopt.explain.global_view import global_view

        result["global"] = global_view(subject, over, "split" if whole else "examples")
    return result, attributions, x, lengths


def split_attributions(subject: Subject, ctx: Context, names: list[str], target: str | int,
                       progress: _Progress) -> dict[str, torch.Tensor]:
    """Every method on every example of the subject's split (the same target rule)."""
    tgt, _, outputs = select.targets(subject, target, subject.x, subject.y, subject.lengths)
    out = {}
    for name in names:
        out[name], _ = _batched(name, ctx, subject.x, tgt, subject.lengths, outputs)
        progress.step(f"{name} over the split")
    return out
