"""A float model exported to ONNX and run by ONNX Runtime: the int8 steps' starting point, and
the runtime the prune step also measures in (a deployed model runs there)."""

from __future__ import annotations

import io

import torch
from torch import nn

from archopt.compress.measure import counts


def export_float(model: nn.Module, example: torch.Tensor) -> bytes:
    """The float model as ONNX bytes, batch axis dynamic."""
    import warnings

    model = model.cpu().eval()
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example[:1].cpu(),), buf, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"},
                                                                 "output": {0: "batch"}},
                          opset_version=17, dynamo=False)
    return buf.getvalue()


def onnxruntime_fp32(model: nn.Module, example: torch.Tensor, threads: int | None
                     ) -> nn.Module | None:
    """The float model exported to ONNX and run by ONNX Runtime (the runtime a deployed model
    uses), or None when ONNX Runtime is missing or the model does not export."""
    try:
        from archopt.models.onnx_model import OnnxModel

        session = OnnxModel(export_float(model, example[:1]), threads)
    except Exception:  # noqa: BLE001 - an extra measurement; the step does not depend on it
        return None
    session.structure = {"kind": "onnx_fp32", **counts(model, example[:1])}
    return session
