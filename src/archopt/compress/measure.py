"""Before/after measurements of a compression step: size, parameters, MACs, latency, accuracy.

Latency is measured like ``archopt profile`` (eval mode, inference mode, warm-up runs, the median
of repeated runs, a fixed number of threads), and the two models compared are timed *interleaved*
(one call of each in turn, ``repeats`` times) so that a busy machine slows them alike and their
ratio stays meaningful; each such pair is timed on its own (``paired_latency``), so that no
third model evicts their weights between calls. Nothing is derived from FLOPs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (None: leave as is)."""
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def clock(name: str, threads: int | None) -> str:
    """The clock a measurement uses: ``cpu`` (the calling thread's CPU time: on a shared machine
    it leaves out the time the process waits for a core) when the work runs in one thread,
    else ``wall``; ``auto`` picks it from ``threads``."""
    if name != "auto":
        return name
    return "cpu" if threads == 1 else "wall"


def interleaved_latency(fns: dict[str, Callable[[], Any]], repeats: int = 30,
                        warmup: int = 5, clock: str = "wall") -> dict[str, dict[str, float]]:
    """Median and quartiles (ms) of each function, timed in turn ``repeats`` times.

    ``clock``: ``wall`` (elapsed time) or ``cpu`` (CPU time of the calling thread, right only
    when the work runs in that thread: one intra-op thread).
    """
    timer = time.thread_time if clock == "cpu" else time.perf_counter
    times: dict[str, list[float]] = {k: [] for k in fns}
    with torch.inference_mode():
        for _ in range(warmup):
            for fn in fns.values():
                fn()
        for _ in range(repeats):
            for k, fn in fns.items():
                t0 = timer()
                fn()
                times[k].append((timer() - t0) * 1000.0)
    out = {}
    for k, ts in times.items():
        q = statistics.quantiles(ts, n=4) if len(ts) > 1 else [ts[0]] * 3
        out[k] = {"median": statistics.median(ts), "q1": q[0], "q3": q[2]}
    return out


def paired_latency(groups: list[dict[str, Callable[[], Any]]], repeats: int = 30,
                   warmup: int = 5, clock: str = "wall") -> dict[str, dict[str, float]]:
    """``interleaved_latency`` of each group on its own (a pair of models to compare), merged;
    a name in several groups keeps its first group's figures.

    Only the models of one group alternate, so both find their weights in a warm cache, as a
    model serving calls back to back does. Timed among several others, a model's weights are
    evicted between its calls, which costs the larger model more: on a 26k-parameter CNN at
    batch 1 that made a pruned copy look 0.67x of the dense one while, timed as a pair, it ran
    at 0.95x (benchmarks/RESULTS.md).
    """
    out: dict[str, dict[str, float]] = {}
    for group in groups:
        for k, v in interleaved_latency(group, repeats, warmup, clock).items():
            out.setdefault(k, v)
    return out


def latency_groups(names: list[str]) -> list[list[str]]:
    """The pairs a step's models are timed in: before with after, ``X_before`` with
    ``X_after`` (the same two models in another runtime), any other model with after."""
    groups, rest = [["before", "after"]], [n for n in names if n not in ("before", "after")]
    for n in rest:
        if n.endswith("_before") and n.removesuffix("_before") + "_after" in rest:
            groups.append([n, n.removesuffix("_before") + "_after"])
        elif not (n.endswith("_after") and n.removesuffix("_after") + "_before" in rest):
            groups.append(["after", n])
    return groups


def counts(model: nn.Module, example: torch.Tensor) -> dict[str, int]:
    """Parameters, non-zero parameters and MACs per example (FLOPs / 2) of a float model."""
    from archopt.report.profile import count_flops

    was = model.training
    model.eval()
    try:
        flops, _ = count_flops(model, example[:1])
    finally:
        model.train(was)
    params = sum(p.numel() for p in model.parameters())
    nonzero = sum(int((p != 0).sum()) for p in model.parameters())
    return {"params": params, "nonzero_params": nonzero, "macs": flops // 2}


def file_size(path: str | Path) -> int:
    return Path(path).stat().st_size


def headline(metrics: dict[str, Any]) -> tuple[str, float | None]:
    """The test metric a step is judged by: accuracy, else R2, else the loss."""
    test = metrics.get("test") or metrics.get("val") or {}
    for key in ("accuracy", "r2", "psnr", "loss"):
        if isinstance(test.get(key), int | float):
            return key, float(test[key])
    return "loss", None


def ratios(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float | None]:
    """after / before for size, parameters, MACs and both latencies, and the metric change."""
    def r(a: Any, b: Any) -> float | None:
        return round(a / b, 4) if isinstance(a, int | float) and b else None

    out = {k: r(after.get(k), before.get(k)) for k in ("size_bytes", "params", "macs")}
    for b in ("batch_1", "batch_N"):
        out[f"latency_{b}"] = r(after["latency_ms"][b], before["latency_ms"][b])
    if after.get("metric_value") is not None and before.get("metric_value") is not None:
        out["metric_change"] = round(after["metric_value"] - before["metric_value"], 6)
    return out

