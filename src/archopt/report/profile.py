"""``profile``: what a model costs: parameters, FLOPs, memory and measured latency, per layer.

- FLOPs: one forward at batch 1 on CPU, counted by ``torch.utils.flop_counter.FlopCounterMode``
  (a multiply-add is 2 FLOPs), with oneDNN off so that LSTMs run as countable matrix products
  rather than one fused ``mkldnn_rnn_layer``. On CPU, PyTorch runs attention as
  ``aten._scaled_dot_product_flash_attention_for_cpu``, which the counter does not know; it is
  counted with PyTorch's own attention formula (``flop_counter.sdpa_flop``). Operations the
  counter has no formula for (pooling, normalization, activations) count 0.
- Memory: ``size_bytes`` is parameters + buffers. ``activation_bytes`` sums the outputs of every
  layer at batch 1 (about what training keeps for backward, per example);
  ``peak_activation_bytes`` is the largest input + output of one layer at batch 1 (what an
  inference must hold at once, at least).
- Latency: measured, never derived from FLOPs. Eval mode, ``torch.inference_mode``, a few
  warm-up runs, then the median of ``repeats`` timed runs, at batch 1 and at ``batch_size``,
  with ``torch.get_num_threads()`` threads reported alongside.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.utils import flop_counter
from torch.utils.flop_counter import FlopCounterMode

from archopt.data.dataset import DataShape


def _cpu_attention_flops(query_shape: Any, key_shape: Any, value_shape: Any, *args: Any,
                         out_shape: Any = None, **kwargs: Any) -> int:
    return flop_counter.sdpa_flop_count(query_shape, key_shape, value_shape)


# attention on CPU, counted with PyTorch's own formula for its other attention kernels
FLOP_FORMULAS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu:
                 _cpu_attention_flops}


def example_input(model: nn.Module, shape: DataShape, batch: int,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """A seeded random batch the model's forward takes (codes for a GAN)."""
    gen = torch.Generator().manual_seed(0)
    if getattr(model, "task", None) == "generation":
        return torch.randn(batch, model.latent_dim, generator=gen).to(device)
    if any(isinstance(m, nn.Embedding) for m in model.modules()):
        return torch.zeros(batch, *shape.input_shape, device=device)  # valid token ids
    return torch.randn(batch, *shape.input_shape, generator=gen).to(device)


def count_flops(model: nn.Module, x: torch.Tensor) -> tuple[int, dict[str, int]]:
    """Total FLOPs of ``model(x)`` and FLOPs per module name (``features.0.0``)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # mkldnn.flags warns about Intel GPUs
        # oneDNN runs an LSTM as one fused op the counter cannot see into; without it PyTorch
        # runs the LSTM as matrix products, which it counts
        with torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(
                display=False, custom_mapping=FLOP_FORMULAS) as fc:
            model(x)
    per_module: dict[str, int] = {}
    for key, ops in fc.get_flop_counts().items():
        if key == "Global":
            continue
        name = key.split(".", 1)[1] if "." in key else ""  # drop the root's class name
        per_module[name] = int(sum(ops.values()))
    return int(fc.get_total_flops()), per_module


def own_flops(flops: dict[str, int]) -> dict[str, int]:
    """FLOPs of each module minus those of its nearest counted descendants.

    The counter only sees modules that run ``forward`` (not a ``ModuleList``), so a module's
    children are found by name prefix, not by ``named_children``.
    """
    own = dict(flops)
    for name, n in flops.items():
        parts = name.split(".") if name else []
        for i in range(len(parts) - 1, -1, -1):
            parent = ".".join(parts[:i])
            if parent in flops:
                own[parent] -= n
                break
    return own


def _nbytes(t: Any) -> int:
    if isinstance(t, torch.Tensor):
        return t.numel() * t.element_size()
    if isinstance(t, list | tuple):
        return sum(_nbytes(v) for v in t)
    return 0


def _shape(t: Any) -> list[int] | None:
    if isinstance(t, torch.Tensor):
        return list(t.shape)
    if isinstance(t, list | tuple) and t:
        return _shape(t[0])  # an RNN returns (output, state): show the output
    return None


def layer_table(model: nn.Module, x: torch.Tensor) -> tuple[list[dict[str, Any]], int, int]:
    """Per-layer rows in execution order, the summed and the peak activation bytes.

    A row is a leaf module, or a module with parameters or FLOPs of its own (an attention
    module's ``scaled_dot_product_attention``, a transformer's class token); its ``params`` and
    ``flops`` are its own, not its children's, so the columns add up to the totals.
    """
    _, flops = count_flops(model, x)
    own = own_flops(flops)
    rows: dict[str, dict[str, Any]] = {}
    io_bytes: dict[str, int] = {}
    out_bytes: dict[str, int] = {}
    names = {m: n for n, m in model.named_modules()}

    def hook(mod: nn.Module, args: tuple, out: Any) -> None:
        name = names[mod]
        if name not in rows:
            rows[name] = {"name": name or "(model)", "type": type(mod).__name__,
                          "output_shape": _shape(out),
                          "params": sum(p.numel() for p in mod.parameters(recurse=False)),
                          "flops": own.get(name, 0)}
            io_bytes[name] = _nbytes(args) + _nbytes(out)
            out_bytes[name] = _nbytes(out)

    handles = [mod.register_forward_hook(hook) for name, mod in model.named_modules()
               if not any(True for _ in mod.children()) or own.get(name, 0) > 0
               or any(True for _ in mod.parameters(recurse=False))]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    table = list(rows.values())
    return table, sum(out_bytes.values()), max(io_bytes.values(), default=0)


def measure_latency(model: nn.Module, x: torch.Tensor, repeats: int = 30,
                    warmup: int = 5) -> float:
    """Median wall time of ``model(x)`` in milliseconds (inference mode, synchronized on GPU)."""
    cuda = x.device.type == "cuda"
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize()
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def profile_model(model: nn.Module, shape: DataShape, batch_size: int = 256, repeats: int = 30,
                  device: str | torch.device = "cpu") -> dict[str, Any]:
    """Parameters, FLOPs, memory, latency and the per-layer table of a built model."""
    was_training = model.training
    model.eval()
    int8 = getattr(model, "onnx_int8", False)  # an ONNX Runtime int8 model (archopt compress)
    try:
        x1 = example_input(model, shape, 1)
        if int8:  # counted on the float model it was made from (see archopt.compress)
            total_flops, params = 2 * model.structure["macs"], model.structure["params"]
            layers, activations, peak = [], 0, 0
        else:
            total_flops, _ = count_flops(model, x1)
            layers, activations, peak = layer_table(model, x1)
            params = sum(p.numel() for p in model.parameters())
        model.to(device)
        latency = {
            "batch_1": measure_latency(model, example_input(model, shape, 1, device), repeats),
            "batch_N": measure_latency(model, example_input(model, shape, batch_size, device),
                                       repeats),
        }
    finally:
        model.train(was_training)
    result = {
        "model": getattr(model, "spec", {}).get("name", type(model).__name__),
        "task": getattr(model, "task", shape.task),
        "data": shape.to_dict(),
        "params": params,
        "trainable_params": 0 if int8 else sum(
            p.numel() for p in model.parameters() if p.requires_grad),
        "flops": total_flops,
        "size_bytes": len(model.onnx_bytes) if int8 else sum(
            _nbytes(t) for t in (*model.parameters(), *model.buffers())),
        "activation_bytes": activations,
        "peak_activation_bytes": peak,
        "latency_ms": latency,
        "batch_N": batch_size,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "device": str(device),
        "cpu_count": os.cpu_count(),
        "layers": layers,
    }
    if getattr(model, "task", None) == "generation":
        result["profiled"] = "generator"
    return result


def profile(spec_or_path: Any, overrides: Iterable[str] = (), batch_size: int = 256,
            repeats: int = 30) -> dict[str, Any]:
    """Profile the model of an experiment spec (a path, a dict or a ``Spec``) on its data.

    The data is loaded only for its shape; the model is built with the spec's seed. For a GAN
    the FLOPs, latency and layer table are the generator's (what ``forward`` runs); ``params``
    counts both networks.
    """
    from archopt.data import load_data
    from archopt.errors import UserError
    from archopt.models import build_model
    from archopt.spec import Spec, load_spec

    overrides = list(overrides)
    if isinstance(spec_or_path, str | os.PathLike) and os.path.isdir(spec_or_path):
        return profile_run(spec_or_path, batch_size, repeats)
    if isinstance(spec_or_path, Spec):
        spec = spec_or_path if not overrides else load_spec(
            spec_or_path.model_dump(), overrides, validate_plugins=False)
    else:
        spec = load_spec(spec_or_path, overrides, validate_plugins=False)
    shape = load_data(spec.data, spec.seed).shape
    from archopt.errors import warn
    from archopt.report.memory import available_memory, check_memory, describe, estimate, gib
    from archopt.train.setup import resolve_device

    device = resolve_device(spec.device)
    try:
        # refuse what cannot even run (weights, then with the large batch), before building it
        check_memory(spec, shape, device, batch_size=batch_size, training=False)
        model = build_model(spec.model, shape, seed=spec.seed)
        check_memory(spec, shape, device, batch_size=batch_size, training=False, model=model)
    except UserError as err:
        raise locate(err, spec_or_path, overrides) from None
    train_memory = estimate(spec, shape, model=model)
    free, _, has = available_memory(device)
    if train_memory is not None and train_memory["total"] > free:
        warn(locate(UserError("model", ""), spec_or_path, overrides).where,
             f"training it would need about {describe(train_memory)}, more than the "
             f"{gib(free)} {has} available", "`archopt train` will refuse it")
    threads = torch.get_num_threads()
    if spec.train.threads:  # measure with the threads the run would use
        torch.set_num_threads(spec.train.threads)
    try:
        result = profile_model(model, shape, batch_size, repeats, device)
    finally:
        torch.set_num_threads(threads)
    if train_memory is not None:
        result["train_memory_bytes"] = train_memory["total"]
        result["train_memory"] = train_memory
    return {"name": spec.name, **result}


def locate(err: Any, source: Any, overrides: list[str]) -> Any:
    """Point a model error at its --set override or its line in the spec file."""
    from archopt.errors import UserError
    from archopt.spec.load import line_of, read_yaml

    path = err.where
    for text in overrides:
        key = text.partition("=")[0].strip()
        if path == key or path.startswith(key + "."):
            return UserError(f"--set {text}", err.what, err.hint)
    for text in overrides:  # an error about the whole model: the override that set its size
        key = text.partition("=")[0].strip()
        if path == "model" and key.startswith("model."):
            return UserError(f"--set {text}", err.what, err.hint)
    if isinstance(source, str | os.PathLike) and path.startswith("model"):
        _, node = read_yaml(source)
        line = line_of(node, [int(p) if p.isdigit() else p for p in path.split(".")])
        if line:
            return UserError(f"{source}:{line}: {path}", err.what, err.hint)
    return err


def profile_run(run_dir: str | os.PathLike, batch_size: int = 256, repeats: int = 30
                ) -> dict[str, Any]:
    """Profile the model of a run directory as saved: its checkpoint rebuilt (pruned and int8
    runs included), with the checkpoint's size on disk."""
    import json
    from pathlib import Path

    from archopt.data import DataShape
    from archopt.models.structure import rebuild
    from archopt.runs import check_run_dir
    from archopt.spec import load_spec
    from archopt.train.checkpoint import load_checkpoint
    from archopt.train.setup import resolve_device

    path = check_run_dir(run_dir)
    spec = load_spec(path / "spec.yaml", validate_plugins=False)
    shape = DataShape.from_dict(json.loads((path / "data_shape.json").read_text()))
    ckpt = path / "checkpoints" / "best.pt"
    if not ckpt.is_file():
        ckpt = path / "checkpoints" / "last.pt"
    threads = torch.get_num_threads()
    if spec.train.threads:  # before rebuilding: an ONNX Runtime session takes them at creation
        torch.set_num_threads(spec.train.threads)
    try:
        model = rebuild(spec, shape, load_checkpoint(ckpt))
        int8 = getattr(model, "onnx_int8", False)
        device = "cpu" if int8 else resolve_device(spec.device)
        result = profile_model(model, shape, batch_size, repeats, device)
    finally:
        torch.set_num_threads(threads)
    return {"name": spec.name, "run_dir": str(path), "checkpoint": str(ckpt),
            "checkpoint_bytes": Path(ckpt).stat().st_size, **result}
