"""What every step writes: its checkpoint and its run directory with the before/after
measurement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.compress import measure
from archopt.spec import save_spec
from archopt.spec.load import write_atomic
from archopt.spec.schema import Spec


def save_model(step_dir: Path, model: nn.Module | None, structure: dict[str, Any] | None,
               onnx: bytes | None = None) -> Path:
    """``checkpoints/best.pt``: the weights (or int8 ONNX bytes) and the structure."""
    from archopt.train.checkpoint import save_checkpoint

    history = step_dir / "history.jsonl"  # a fine-tune's epochs, for `archopt eval`'s line
    lines = [json.loads(line) for line in history.read_text().splitlines()] \
        if history.is_file() else []
    state: dict[str, Any] = {"model": model.state_dict() if model is not None else {},
                             "epoch": len(lines), "global_step": lines[-1]["step"] if lines
                             else 0}
    if structure is not None:
        state["structure"] = structure
    if onnx is not None:
        state["onnx"] = torch.frombuffer(bytearray(onnx), dtype=torch.uint8)
    path = step_dir / "checkpoints" / "best.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, state)
    return path


def write_step(step: Any, ctx: Any, step_dir: Path, spec: Spec, model: nn.Module,
               extra_latency: dict[str, nn.Module] | None = None,
               notes: list[str] | None = None, details: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    """Write the step's run directory: spec, data files, metrics.json (with the before/after
    measurement), report.txt. The checkpoint must already be saved."""
    from archopt.compress.finetune import evaluate_model
    from archopt.compress.report import step_table
    from archopt.compress.runs import checkpoint_of

    save_spec(spec, step_dir / "spec.yaml")
    for f in ("data_shape.json", "normalization.json"):
        write_atomic(step_dir / f, (ctx.src / f).read_text())
    metrics = evaluate_model(spec, model, ctx.data)
    before_metrics = evaluate_model(ctx.spec, ctx.model, ctx.data)
    c = ctx.compress
    ex1, exn = ctx.example(1), ctx.example(c.batch_size)
    models = {"before": ctx.model, "after": model, **(extra_latency or {})}
    clock = measure.clock(c.clock, c.threads)
    groups = measure.latency_groups(list(models))
    with measure.threads(c.threads):
        lat1, latn = (measure.paired_latency([{k: _call(models[k], x) for k in g}
                                              for g in groups], c.repeats, clock=clock)
                      for x in (ex1, exn))
    rows = {}
    for k, m in models.items():
        rows[k] = {**model_counts(m, ex1),
                   "latency_ms": {"batch_1": round(lat1[k]["median"], 4),
                                  "batch_N": round(latn[k]["median"], 4)},
                   "latency_spread_ms": {"batch_1": [round(lat1[k]["q1"], 4),
                                                     round(lat1[k]["q3"], 4)],
                                         "batch_N": [round(latn[k]["q1"], 4),
                                                     round(latn[k]["q3"], 4)]}}
    rows["before"]["size_bytes"] = measure.file_size(checkpoint_of(ctx.src))
    rows["after"]["size_bytes"] = measure.file_size(step_dir / "checkpoints" / "best.pt")
    for k, m in (("before", before_metrics), ("after", metrics)):
        name, value = measure.headline(m)
        rows[k]["metric"], rows[k]["metric_value"] = name, value
    block = {"step": step.model_dump(mode="json", by_alias=True), "from": str(ctx.src),
             "before": rows.pop("before"), "after": rows.pop("after"), "others": rows,
             "threads": c.threads, "clock": clock, "batch_N": c.batch_size,
             "repeats": c.repeats,
             "notes": notes or [], **(details or {})}
    block["ratios"] = measure.ratios(block["before"], block["after"])
    o = block["others"]
    if "onnxruntime_fp32_before" in o and "onnxruntime_fp32_after" in o:  # pruning, in ORT
        for b in ("batch_1", "batch_N"):
            block["ratios"][f"onnxruntime_latency_{b}"] = round(
                o["onnxruntime_fp32_after"]["latency_ms"][b]
                / o["onnxruntime_fp32_before"]["latency_ms"][b], 4)
    history = step_dir / "history.jsonl"
    epochs = len(history.read_text().splitlines()) if history.is_file() else 0
    result = {"format": 2, "headline": {"checkpoint": "best", "chosen_by": "the step's output "
                                         "model (checkpoints/best.pt)"},
              **metrics, "epochs": epochs, "compress": block}
    write_atomic(step_dir / "report.txt", step_table(block))
    write_atomic(step_dir / "metrics.json", json.dumps(result, indent=2) + "\n")
    return result


def _call(model: nn.Module, x: torch.Tensor) -> Any:
    model.eval()
    return lambda: model(x)


def model_counts(model: nn.Module, example: torch.Tensor) -> dict[str, int]:
    """Parameters and MACs: counted for torch models, carried over for int8 ONNX models."""
    structure = getattr(model, "structure", None)
    if structure and structure.get("kind") in ("onnx_int8", "onnx_fp32"):
        return {k: structure[k] for k in ("params", "nonzero_params", "macs")}
    return measure.counts(model, example)
