"""``quantize``: int8 post-training quantization with ONNX Runtime, measured against fp32.

Why ONNX Runtime and not torchao: measured on our 2-core x86 CPU (AVX2, no VNNI;
benchmarks/compress/bench_compress.py torchao and bench_torchao.py), torchao 0.18's eager int8
(``quantize_`` with ``Int8DynamicActivationInt8WeightConfig``) ran a 3-layer MLP 30-80x *slower*
than fp32 and weight-only int8 1.6x slower (pytorch/ao#3157). With ``torch.compile`` (Inductor,
20-60 s of compile per model and batch size) torchao's ``quantize_`` (dynamic and weight-only)
and the pt2e flow (``torch.export`` -> ``X86InductorQuantizer`` static or dynamic ->
``prepare_pt2e``/``convert_pt2e`` -> ``torch.compile``) were at best 0.6-0.75x of eager fp32 on
the CNN and 1.1-2x (slower) on the MLP, while ONNX Runtime int8 was 0.13-0.3x on both: no case
where torchao was faster. torchao-quantized models also have no ONNX export (ao#3392), and
ONNX Runtime's int8 model is the artifact export and serving ship. ``torch.ao.quantization``
is deprecated and is not used.

- ``dynamic``: int8 weights, activations quantized on the fly (``quantize_dynamic``): Linear,
  MatMul, LSTM (``DynamicQuantizeLSTM``), and convolutions. ONNX Runtime has no int8 GRU: in a
  GRU model only the linear layers around the GRU become int8 (the report shows what that gains).
- ``static``: int8 weights per channel and int8 activations whose ranges come from
  ``calibration_batches`` training batches (``quantize_static``, QDQ format): convolutional
  networks.

The float model is exported with ``torch.onnx.export`` (batch axis dynamic), pre-processed
(``quant_pre_process``: shape inference and graph optimization), then quantized.

Checkpoint of a quantized run (``checkpoints/best.pt``, loads with ``weights_only=True``)::

    {"format": 1, "model": {},                      # no torch weights
     "onnx": uint8 tensor,                          # the int8 ONNX model's bytes
     "structure": {"kind": "onnx_int8", "method": "dynamic" | "static",
                   "base": <pruned structure or None>, "input_shape": [...],
                   "params": int, "macs": int}}

``OnnxModel`` wraps the session as an ``nn.Module`` so that ``evaluate`` and ``profile`` run it
like any model. The run directory also holds ``model.int8.onnx`` (and the float
``model.fp32.onnx`` it came from).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archopt.compress.onnxrt import export_float
from archopt.errors import UserError
from archopt.models.onnx_model import OnnxModel, onnxruntime


def check_device(device: str, where: str) -> None:
    """int8 runs on the CPU here: a GPU/MPS device has no int8 path in archopt."""
    if device not in ("auto", "cpu"):
        raise UserError(where, f"the spec's device is {device}, which has no int8 path here "
                        "(ONNX Runtime's int8 kernels run on the CPU)",
                        "set device: cpu (or auto) for the compress spec")
    onnxruntime()


class _Batches:
    """ONNX Runtime's calibration reader over a few training batches."""

    def __init__(self, name: str, batches: list[np.ndarray]) -> None:
        self.items = iter([{name: b} for b in batches])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.items, None)


def quantize_onnx(fp32: bytes, method: str, calibration: list[np.ndarray] | None = None
                  ) -> bytes:
    """int8 ONNX bytes from float ONNX bytes (pre-processed first)."""
    from onnxruntime.quantization import (
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_dynamic,
        quantize_static,
    )

    with tempfile.TemporaryDirectory(prefix="archopt-quant-") as tmp:
        src, pre, out = Path(tmp, "fp32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        src.write_bytes(fp32)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        if method == "dynamic":
            quantize_dynamic(str(pre), str(out), weight_type=QuantType.QInt8, per_channel=True)
        else:
            reader = _Batches("input", calibration or [])
            quantize_static(str(pre), str(out), reader, quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            per_channel=True)
        return out.read_bytes()


def calibration_batches(data: Any, batch_size: int, n: int) -> list[np.ndarray]:
    """The first ``n`` training batches (in order), as float arrays."""
    x = data.train.x
    return [x[i:i + batch_size].float().numpy() for i in range(0, min(len(x), n * batch_size),
                                                                 batch_size)]


def quantize(model: nn.Module, example: torch.Tensor, method: str, data: Any,
             batch_size: int, n_calibration: int) -> tuple[bytes, bytes]:
    """(float ONNX bytes, int8 ONNX bytes) of a float model."""
    fp32 = export_float(model, example)
    calib = calibration_batches(data, batch_size, n_calibration) if method == "static" else None
    return fp32, quantize_onnx(fp32, method, calib)


# -- the step --------------------------------------------------------------------------------

def check(step: Any, spec: Any, data: Any, model: nn.Module, where: str) -> None:
    check_device(spec.device, where)
    if getattr(model, "onnx_int8", False):
        raise UserError(where, "the model is already quantized to int8",
                        "quantize once, as the last step")
    if getattr(model, "task", None) in ("generation", "reconstruction"):
        raise UserError(where, "int8 quantization takes classifiers and regressors here",
                        "quantize a classification or regression run")


def run(step: Any, ctx: Any, step_dir: Path, where: str) -> None:
    """Quantize ``ctx.model`` with ONNX Runtime; measure int8 against fp32 in ONNX Runtime and
    against the PyTorch model."""
    model = ctx.model.cpu().eval()
    example = ctx.example(1)
    fp32, int8 = quantize(model, example, step.method, ctx.data, ctx.spec.data.batch_size,
                          step.calibration_batches)
    write_outputs(step, ctx, step_dir, model, fp32, int8)


def write_outputs(step: Any, ctx: Any, step_dir: Path, model: nn.Module, fp32: bytes,
                  int8: bytes) -> None:
    """The quantized run directory (shared with ``qat``)."""
    from archopt.compress.finetune import finetune_spec
    from archopt.compress.measure import counts
    from archopt.compress.record import save_model, write_step

    example = ctx.example(1)
    structure: dict[str, Any] = {
        "kind": "onnx_int8", "method": step.method,
        "base": ctx.state.get("structure") if model is ctx.model else _capture(ctx, model),
        "input_shape": list(ctx.shape.input_shape), **counts(model, example)}
    if structure["base"] and structure["base"].get("kind") != "pruned":
        structure["base"] = None
    step_dir.mkdir(parents=True, exist_ok=True)
    write_atomic_bytes(step_dir / "model.fp32.onnx", fp32)
    write_atomic_bytes(step_dir / "model.int8.onnx", int8)
    save_model(step_dir, None, structure, onnx=int8)
    threads = ctx.compress.threads
    q = OnnxModel(int8, threads)
    q.structure = structure
    ort_fp32 = OnnxModel(fp32, threads)
    ort_fp32.structure, ort_fp32.onnx_int8 = structure, True  # counts: the same float model
    spec = finetune_spec(ctx.spec, 0, None)
    notes = ["latency ratios compare int8 (ONNX Runtime) with the PyTorch fp32 model; "
             "'others.onnxruntime_fp32' is the float model in ONNX Runtime, so "
             "int8 / onnxruntime_fp32 is what quantization alone gains"]
    write_step(step, ctx, step_dir, spec, q, extra_latency={"onnxruntime_fp32": ort_fp32},
               notes=notes)


def _capture(ctx: Any, model: nn.Module) -> dict[str, Any]:
    from archopt.models import build_model
    from archopt.models.structure import capture

    return capture(model, build_model(ctx.spec.model, ctx.shape, seed=ctx.spec.seed))


def write_atomic_bytes(path: Path, data: bytes) -> None:
    from archopt.spec.load import write_atomic

    write_atomic(path, data)
