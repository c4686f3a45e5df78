"""``qat``: quantization-aware training, then int8 with ONNX Runtime.

The model is fine-tuned with fake quantization in its forward pass, so that it learns weights
that survive int8 rounding: every Linear/Conv weight is rounded to a symmetric per-channel int8
grid (``torch.fake_quantize_per_channel_affine``, a straight-through gradient) and every input of
those layers to an unsigned 8-bit per-tensor grid whose range follows the batches (a moving
min/max). These are PyTorch's own fake-quantize operators, used through
``torch.nn.utils.parametrize`` and forward pre-hooks; not ``torch.ao.quantization`` (deprecated),
and not torchao's ``QATConfig``, which covers ``nn.Linear`` only and converts to torchao tensors
that have no ONNX export (ao#3392). After training, the weights are left on their int8 grid and
the model is quantized like the ``quantize`` step (static by default), which ONNX Runtime runs.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize

from archopt.compress.prune import PRUNABLE


class WeightFakeQuant(nn.Module):
    """Symmetric per-output-channel int8 rounding of a weight (straight-through gradient)."""

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, w.ndim))
        scale = (w.detach().abs().amax(dim=dims) / 127.0).clamp(min=1e-8).float()
        zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
        return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127)


def _input_fake_quant(mod: nn.Module, args: tuple) -> tuple:
    x = args[0]
    if mod.training:
        with torch.no_grad():
            lo, hi = x.detach().min().clamp(max=0.0), x.detach().max().clamp(min=0.0)
            if bool(mod.act_seen):
                lo, hi = 0.9 * mod.act_min + 0.1 * lo, 0.9 * mod.act_max + 0.1 * hi
            mod.act_min.copy_(lo), mod.act_max.copy_(hi), mod.act_seen.fill_(1)
    if not bool(mod.act_seen):
        return args
    scale = float((mod.act_max - mod.act_min).clamp(min=1e-8) / 255.0)
    zero = int(torch.round(-mod.act_min / scale).clamp(0, 255))
    return (torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, 255), *args[1:])


def attach(model: nn.Module) -> list:
    """Fake quantization on every Linear/Conv (weights and inputs); returns the hook handles."""
    hooks = []
    for mod in model.modules():
        if isinstance(mod, PRUNABLE):
            parametrize.register_parametrization(mod, "weight", WeightFakeQuant())
            for name, value in (("act_min", 0.0), ("act_max", 0.0), ("act_seen", 0.0)):
                mod.register_buffer(name, torch.tensor(value))
            hooks.append(mod.register_forward_pre_hook(_input_fake_quant))
    return hooks


def detach(model: nn.Module, hooks: list) -> nn.Module:
    """Weights left on their int8 grid, fake quantization and its buffers removed."""
    for h in hooks:
        h.remove()
    for mod in model.modules():
        if isinstance(mod, PRUNABLE) and parametrize.is_parametrized(mod, "weight"):
            parametrize.remove_parametrizations(mod, "weight", leave_parametrized=True)
            for name in ("act_min", "act_max", "act_seen"):
                del mod._buffers[name]
    return model


def check(step: Any, spec: Any, data: Any, model: nn.Module, where: str) -> None:
    from archopt.compress import quantize

    quantize.check(step, spec, data, model, where)


def run(step: Any, ctx: Any, step_dir: Path, where: str) -> None:
    from archopt.compress.finetune import finetune, finetune_spec
    from archopt.compress.quantize import quantize, write_outputs

    model = copy.deepcopy(ctx.model)
    hooks = attach(model)
    spec = finetune_spec(ctx.spec, step.finetune.epochs, step.finetune.lr)
    if step.finetune.epochs:
        model = finetune(spec, model, step_dir / "qat-train", ctx.quiet)
    model = detach(model.cpu().eval(), hooks)
    fp32, int8 = quantize(model, ctx.example(1), step.method, ctx.data,
                          ctx.spec.data.batch_size, step.calibration_batches)
    write_outputs(step, ctx, step_dir, model, fp32, int8)
