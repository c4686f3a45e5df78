"""A candidate's costs, measured on this machine before it trains: parameters, FLOPs, peak
activation memory and latency, timed the way ``archopt profile`` times it (warm-up, medians,
fixed threads, inference mode) at the deployment batch and at a throughput batch.

Latency on a shared machine is noisy, so:

1) the two batch sizes are timed in interleaved rounds (batch 1, batch N, batch N, batch 1,
   ...), so a change of load hits both alike;
2) the figure is the median of every timed call; the quartiles and the spread of the rounds'
   medians (``latency_spread``: (max - min) / median) are kept beside it, so noise is visible;
3) each architecture is measured once: the result is cached in the study directory under a key
   of the model section, the data's shape, the batch sizes, threads, device and torch version
   (trials that differ only in training settings share it; ``cached: true`` says so);
4) at the end, the front's members are timed again together, round-robin
   (``archopt.search.front.remeasure``).

``search.latency.runtime`` says what runs the candidate while it is timed: ``torch`` (eager, on
the spec's device) or ``onnxruntime`` (exported to ONNX in memory with the exporter
``archopt compress`` uses, ``compress.onnxrt.export_float``, and run in an ONNX Runtime CPU
session, ``export.formats.ort_session``, with the same threads, rounds and medians). The runtime
is part of the cache key, and the front's re-timing uses it too. A candidate that does not
export fails its trial (a ``UserError`` naming the field), not the study.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.spec.load import write_atomic


def cache_key(spec: Any, shape: Any, options: dict[str, Any], device: str) -> str:
    """What makes two measurements the same: the architecture, the input and the timing setup."""
    import torch

    what = {"model": spec.model.model_dump(mode="json"), "shape": shape.to_dict(),
            "batch": options["batch_size"], "throughput": options.get("throughput_batch"),
            "threads": options["threads"], "device": device, "torch": torch.__version__}
    runtime = options.get("runtime") or "torch"
    if runtime != "torch":  # torch's keys stay as they were: older studies' caches still hit
        import onnxruntime

        what.update(runtime=runtime, device="cpu", onnxruntime=onnxruntime.__version__)
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:20]


def check_runtime(runtime: str) -> None:
    """A UserError naming ``search.latency.runtime`` when its runtime is not installed."""
    if runtime != "onnxruntime":
        return
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UserError("search.latency.runtime", "is onnxruntime, which is not installed",
                        "pip install 'archopt[export]' -c constraints.txt, or set "
                        "search.latency.runtime: torch") from None


def runtime_label(options: dict[str, Any]) -> str:
    """What ran the candidates when they were timed, for tables and captions."""
    if (options.get("runtime") or "torch") == "onnxruntime":
        import onnxruntime

        return f"onnxruntime {onnxruntime.__version__} (CPU), {options['threads']} thread(s)"
    import torch

    return f"torch {torch.__version__} eager, {options['threads']} thread(s)"


class OrtCall:
    """An ONNX Runtime session called like a module: ``call(x)`` runs it on a numpy input."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.name = session.get_inputs()[0].name

    def __call__(self, x: Any) -> Any:
        return self.session.run(None, {self.name: x})


def on_runtime(model: Any, xs: list[Any], options: dict[str, Any]) -> tuple[Any, list[Any]]:
    """What is timed and its inputs: the eager model and ``xs`` as they are, or (runtime
    ``onnxruntime``) the model exported to ONNX in memory in an ONNX Runtime session, with
    ``xs`` as numpy arrays. A UserError when the model does not export."""
    runtime = options.get("runtime") or "torch"
    if runtime == "torch":
        return model, xs
    check_runtime(runtime)
    from archopt.compress.onnxrt import export_float
    from archopt.export.formats import ort_session, quiet_exporter

    try:
        with quiet_exporter():
            onnx = export_float(model, xs[0].cpu())
        session = ort_session(onnx, options["threads"])
    except Exception as exc:  # noqa: BLE001 - the exporter's errors are many; say which
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise UserError("search.latency.runtime", "is onnxruntime, and this candidate does not "
                        f"export to ONNX ({type(exc).__name__}: {first})",
                        "leave its layers out of search.space, or time it with runtime: "
                        "torch") from None
    return OrtCall(session), [x.detach().cpu().numpy() for x in xs]


def device_of(spec: Any) -> str:
    """The device the model will run on: the spec's, ``auto`` meaning CUDA when present."""
    import torch

    if spec.device.startswith("cuda") or (spec.device == "auto" and torch.cuda.is_available()):
        return spec.device if spec.device.startswith("cuda") else "cuda"
    return "cpu"


@contextlib.contextmanager
def threads(n: int):
    """Time with ``n`` torch threads, then restore the worker's own setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_calls(model: Any, x: Any, n: int) -> list[float]:
    """Wall time of ``n`` calls of ``model(x)`` in milliseconds (synchronized on CUDA);
    ``model`` may be an ``OrtCall`` with a numpy ``x``."""
    import torch

    cuda = getattr(getattr(x, "device", None), "type", None) == "cuda"  # numpy: never
    out = []
    with torch.inference_mode():
        for _ in range(n):
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize()
            out.append((time.perf_counter() - t0) * 1000.0)
    return out


def summarize(times: list[float], round_medians: list[float]) -> dict[str, float]:
    """Median, quartiles and the spread of the rounds' medians of one batch size's timings."""
    q = statistics.quantiles(times, n=4) if len(times) > 1 else [times[0]] * 3
    med = statistics.median(times)
    spread = (max(round_medians) - min(round_medians)) / med if med > 0 else 0.0
    return {"median": med, "p25": q[0], "p75": q[2], "spread": spread}


def time_interleaved(models: list[Any], inputs: list[list[Any]], options: dict[str, Any]
                     ) -> list[list[dict[str, float]]]:
    """Time every model at every input in interleaved rounds: ``[model][input] -> summary``.

    Each round visits the (model, input) pairs in turn, in reverse order every other round, so
    slow drift of the machine's load spreads evenly over them.
    """
    pairs = [(i, j) for i in range(len(models)) for j in range(len(inputs[i]))]
    for i, j in pairs:  # warm-up: allocator, caches, lazy kernels
        time_calls(models[i], inputs[i][j], options["warmup"])
    times: dict[tuple[int, int], list[float]] = {p: [] for p in pairs}
    medians: dict[tuple[int, int], list[float]] = {p: [] for p in pairs}
    for r in range(options["rounds"]):
        for p in (pairs if r % 2 == 0 else pairs[::-1]):
            t = time_calls(models[p[0]], inputs[p[0]][p[1]], options["repeats"])
            times[p] += t
            medians[p].append(statistics.median(t))
    return [[summarize(times[(i, j)], medians[(i, j)]) for j in range(len(inputs[i]))]
            for i in range(len(models))]


def latency_costs(model: Any, shape: Any, options: dict[str, Any], device: str
                  ) -> dict[str, float]:
    """``latency_ms`` (deployment batch) with its quartiles and spread, and the throughput."""
    from archopt.report.profile import example_input

    batches = [options["batch_size"]]
    if options.get("throughput_batch"):
        batches.append(options["throughput_batch"])
    if (options.get("runtime") or "torch") != "torch":
        device = "cpu"  # an ONNX Runtime CPU session
    model = model.to(device).eval()
    xs = [example_input(model, shape, b, device) for b in batches]
    model, xs = on_runtime(model, xs, options)
    with threads(options["threads"]):
        (res,) = time_interleaved([model], [xs], options)
    b1 = res[0]
    out = {"latency_ms": round(b1["median"], 5), "latency_p25_ms": round(b1["p25"], 5),
           "latency_p75_ms": round(b1["p75"], 5), "latency_spread": round(b1["spread"], 4)}
    if len(res) > 1:
        out["batch_latency_ms"] = round(res[1]["median"], 5)
        out["throughput"] = round(batches[1] / (res[1]["median"] / 1000.0), 1)
    return out


def measure_costs(spec: Any, names: list[str], options: dict[str, Any]) -> dict[str, float]:
    """Every pre-training cost of the spec's model (``names`` are always among them).

    Args:
        spec: the candidate's ``Spec``.
        names: the costs the study needs (``params``, ``flops``, ``latency_ms``).
        options: ``search.latency`` (``LatencySpec`` fields, ``runtime`` among them) plus
            ``cache``, the folder of cached measurements (None: no cache).

    Returns:
        params, flops, peak_activation_bytes, latency_ms (+ quartiles, spread), and with a
        throughput batch batch_latency_ms and throughput (samples/s); ``cached`` 1.0 when the
        measurement came from the cache.
    """
    import torch

    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.report.profile import count_flops, example_input, layer_table

    shape = load_data(spec.data, spec.seed).shape
    device = device_of(spec)
    path = None
    if options.get("cache"):
        path = Path(options["cache"]) / f"{cache_key(spec, shape, options, device)}.json"
        if path.is_file():
            with contextlib.suppress(OSError, ValueError):
                return {**json.loads(path.read_text()), "cached": 1.0}
    model = build_model(spec.model, shape, seed=spec.seed).eval()
    x = example_input(model, shape, 1)
    out: dict[str, float] = {"params": float(sum(p.numel() for p in model.parameters()))}
    with torch.no_grad():
        out["flops"] = float(count_flops(model, x)[0])
        out["peak_activation_bytes"] = float(layer_table(model, x)[2])
    out.update(latency_costs(model, shape, options, device))
    missing = [n for n in names if n not in out]
    if missing:
        raise ValueError(f"search costs cannot measure {missing}")
    if path is not None:
        write_atomic(path, json.dumps(out, sort_keys=True) + "\n")
    return {**out, "cached": 0.0}
