"""``OnnxModel``: an ONNX Runtime session behind an ``nn.Module``, for int8 runs.

``archopt compress``'s quantize and qat steps save an int8 ONNX model in the run's checkpoint;
``archopt.models.structure.rebuild`` turns it back into this module, so that ``evaluate`` and
``profile`` run it like any model (float tensors in, float tensors out, on the CPU).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archopt.errors import UserError


def onnxruntime() -> Any:
    """The onnxruntime module, or a UserError saying how to install it."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("onnxruntime", "int8 models need ONNX Runtime, which is not installed",
                        "pip install 'archopt[compress]' -c constraints.txt") from None
    return ort


class OnnxModel(nn.Module):
    """An ONNX Runtime session behind ``forward(x)``: float tensors in, float tensors out."""

    onnx_int8 = True

    def __init__(self, onnx_bytes: bytes, threads: int | None = None) -> None:
        super().__init__()
        ort = onnxruntime()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        self.onnx_bytes = onnx_bytes
        self.session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        out = self.session.run(None, {self.input_name: x.detach().cpu().float().numpy()})[0]
        return torch.from_numpy(out).to(x.device)
