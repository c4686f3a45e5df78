"""The pruning-ratio sweep: the start model pruned at each ratio, by L1 importance and by random
importance (the baseline papers compare with), without fine-tuning, each measured: parameters,
MACs, size of its state dict, latency at batch 1 and at the throughput batch (in PyTorch and,
exported, in ONNX Runtime), and the test metric."""

from __future__ import annotations

import copy
import io
from typing import Any

import torch


def state_bytes(model: torch.nn.Module) -> int:
    """Bytes of the model's state dict as ``torch.save`` writes it."""
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell()


def sweep_points(ctx: Any, ratios: list[float], root: Any) -> list[dict[str, Any]]:
    """One measured point per (importance, ratio); see the module docstring."""
    from archopt.compress.finetune import evaluate_model
    from archopt.compress.measure import (
        clock,
        counts,
        headline,
        paired_latency,
    )
    from archopt.compress.measure import threads as n_threads
    from archopt.compress.onnxrt import onnxruntime_fp32
    from archopt.compress.prune import ignored_layers, prune_once

    ex1, ex2, exn = ctx.example(1), ctx.example(2), ctx.example(ctx.compress.batch_size)
    c = ctx.compress
    base_ort = onnxruntime_fp32(ctx.model, ex1, c.threads)
    size0 = state_bytes(ctx.model)
    points = []
    for imp in ("l1", "random"):
        for r in ratios:
            model = copy.deepcopy(ctx.model)
            torch.manual_seed(ctx.spec.seed)
            cfg = type("Cfg", (), {"importance": imp, "global_pruning": False,
                                   "round_to": None})()
            prune_once(model, ex2, r, cfg, ignored_layers(model, [], ctx.shape.num_outputs,
                                                          "sweep"))
            model.eval()
            ort = onnxruntime_fp32(model, ex1, c.threads)
            lat: dict[str, float] = {}
            with n_threads(c.threads):
                for b, x in (("batch_1", ex1), ("batch_N", exn)):
                    groups = [{"before": lambda x=x: ctx.model(x),
                               "after": lambda x=x, m=model: m(x)}]
                    if ort is not None and base_ort is not None:
                        groups.append({"ort_before": lambda x=x: base_ort(x),
                                       "ort_after": lambda x=x, o=ort: o(x)})
                    t = paired_latency(groups, c.repeats, clock=clock(c.clock, c.threads))
                    lat[f"latency_ratio_{b}"] = round(t["after"]["median"]
                                                      / t["before"]["median"], 4)
                    if "ort_after" in t:
                        lat[f"onnxruntime_latency_ratio_{b}"] = round(
                            t["ort_after"]["median"] / t["ort_before"]["median"], 4)
            name, value = headline(evaluate_model(ctx.spec, model, ctx.data))
            points.append({"importance": imp, "ratio": r, **counts(model, ex1),
                           "size_ratio": round(state_bytes(model) / size0, 4), **lat,
                           "metric": name, "metric_value": value})
    return points
