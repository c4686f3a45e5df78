"""``compress(spec)``: the steps of a spec's ``compress`` section, one run directory each.

A compression directory (``runs/<name>-compress/<time>/`` or ``--out``) holds::

    spec.yaml          the resolved spec (with its compress section)
    00-train/          the starting run, when the spec names none (trained here)
    01-prune/          one run directory per step: spec.yaml, data_shape.json,
    02-quantize/       normalization.json, metrics.json (with a "compress" block: before,
    ...                after, ratios), checkpoints/best.pt, report.txt
    report.json        every step's before/after, and the sweep
    report.png         accuracy vs latency of the steps (and the sweep)

Each step reads the previous step's run directory (the first reads ``from``) and writes a new
one; nothing edits a finished run. ``resume=DIR`` skips the steps whose ``metrics.json`` exists
and continues an interrupted fine-tune from its ``last.pt``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from archopt.compress.runs import Context, finished_run, load_run
from archopt.errors import UserError
from archopt.spec import load_spec, save_spec
from archopt.spec.load import read_yaml, write_atomic
from archopt.spec.schema import Spec


def load_compress_spec(source: Any, overrides: list[str], from_run: str | None) -> Spec:
    """The spec with a compress section. A file with only ``compress:`` (and ``name``) takes
    data, model and train from the run it starts from."""
    if isinstance(source, Spec):
        raw = source.model_dump(mode="json")
    elif isinstance(source, dict):
        raw = dict(source)
    else:
        raw, _ = read_yaml(source)
    if "compress" not in raw and not any(o.startswith("compress") for o in overrides):
        raise UserError(str(source) if not isinstance(source, dict | Spec) else "spec",
                        "has no compress section", "add compress: {steps: [{name: prune, "
                        "ratio: 0.3}]} (see examples/compress/)")
    start = from_run or (raw.get("compress") or {}).get("from")
    from_file = isinstance(source, str | os.PathLike) and "model" in raw
    if "model" not in raw and start:
        run = finished_run(start, "--from" if from_run else "compress.from")
        base, _ = read_yaml(run / "spec.yaml")
        base.update({k: v for k, v in raw.items() if k != "model"})
        raw = base
    spec = load_spec(source if from_file else raw, overrides)
    if from_run is not None:
        spec.compress.from_ = str(from_run)
    return spec


def _module(name: str) -> Any:
    """The module of a step: its ``check`` and ``run``."""
    from archopt.compress import distill, prune, qat, quantize

    return {"prune": prune, "quantize": quantize, "qat": qat, "distill": distill}[name]


def run_step(step: Any, ctx: Any, step_dir: Path, where: str) -> None:
    """Run one step from ``ctx`` (the previous run) into ``step_dir``."""
    _module(step.name).run(step, ctx, step_dir, where)


def check_all(spec: Spec, start: Path) -> None:
    """Check every step against the start run's model; a UserError before anything is written."""
    run_spec, data, state, model = load_run(start)
    run_spec = run_spec.model_copy(update={"device": spec.device})  # where the steps run
    for i, step in enumerate(spec.compress.steps):
        _module(step.name).check(step, run_spec, data, model, f"compress.steps.{i}")


def sweep(ctx: Any, ratios: list[float], root: Path) -> list[dict[str, Any]]:
    """Structured pruning of the start model at each ratio (no fine-tuning), measured."""
    from archopt.compress.sweep import sweep_points

    return sweep_points(ctx, ratios, root)



# -- the pipeline ----------------------------------------------------------------------------

def compress(spec: Any, *, source: str | os.PathLike | None = None,
             out: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
             overrides: list[str] | tuple = (), quiet: bool = False) -> dict[str, Any]:
    """Apply the spec's compression steps in order; returns the report (also report.json).

    Args:
        spec: a spec path, dict or ``Spec`` with a ``compress`` section.
        source: the run to start from (overrides ``compress.from``).
        out: the compression directory (default ``runs/<name>-compress/<time>``).
        resume: a compression directory to continue (finished steps are kept).
        overrides: ``a.b=value`` strings.
        quiet: no progress output.

    Raises:
        UserError: a bad spec, a start run that is not finished, a step that cannot apply to
            the model; raised before anything is written.
    """
    from archopt.runs import new_run_dir
    from archopt.train.loop import Interrupted

    if resume is not None:
        root = Path(resume)
        if not (root / "spec.yaml").is_file():
            raise UserError(f"--resume {root}", "is not a compression directory (no spec.yaml)",
                            "pass the directory an earlier `archopt compress` wrote")
        spec = load_spec(root / "spec.yaml")
    else:
        spec = load_compress_spec(spec, list(overrides),
                                  str(source) if source is not None else None)
    c = spec.compress
    start = Path(c.from_) if c.from_ else None
    if start is not None:
        finished_run(start, "compress.from" if source is None else "--from")
        check_all(spec, start)  # every step against the model, before a file is written
    root = Path(resume) if resume is not None else new_run_dir(f"{spec.name}-compress", out)
    if resume is None:
        save_spec(spec, root / "spec.yaml")
    if start is None:
        try:
            start = train_start(spec, root / "00-train", quiet)
        except Interrupted as stop:
            stop.run_dir = root
            raise
        check_all(spec, start)
    report: dict[str, Any] = {"start": str(start), "steps": []}
    prev = start
    for i, step in enumerate(c.steps, 1):
        step_dir = root / f"{i:02d}-{step.name}"
        if not (step_dir / "metrics.json").is_file():
            step_dir.mkdir(exist_ok=True)
            try:
                run_step(step, make_context(prev, c, quiet), step_dir,
                          where=f"compress.steps.{i - 1}")
            except Interrupted as stop:
                stop.run_dir = root  # what --resume takes
                raise
        result = json.loads((step_dir / "metrics.json").read_text())
        report["steps"].append({"run_dir": str(step_dir), **result["compress"]})
        prev = step_dir
    if c.sweep:
        report["sweep"] = sweep(make_context(start, c, quiet), c.sweep, root / "sweep")
    from archopt.compress.report import plot, write_text

    write_atomic(root / "report.json", json.dumps(report, indent=2) + "\n")
    write_text(report, root / "report.txt")
    plot(report, root / "report.png")
    return {**report, "dir": str(root)}


def make_context(run: Path, c: Any, quiet: bool) -> Context:
    spec, data, state, model = load_run(run)
    return Context(spec, c, run, state, model, data, quiet)


def train_start(spec: Spec, run_dir: Path, quiet: bool) -> Path:
    """Train the spec itself as the starting run (resumed if a previous call was killed)."""
    from archopt.train import fit

    if (run_dir / "metrics.json").is_file():
        return run_dir
    plain = load_spec({**spec.model_dump(mode="json"), "compress": None})
    if (run_dir / "checkpoints" / "last.pt").is_file():
        fit(plain, resume=run_dir, quiet=quiet)
    else:
        fit(plain, out=run_dir, quiet=quiet)
    return run_dir
