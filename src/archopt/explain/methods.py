"""The attribution methods, each Captum's own, called the same way for every kind of data.

A method maps a batch of raw inputs ``x`` (B, *input_shape), the explained output's index per
example ``target`` (B,) and the true ``lengths`` (B,) of padded sequences (or None) to an
attribution of the same shape as ``x`` and a dict of what it did (steps, samples, layer).
Positions past an example's length get no attribution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError
from archopt.explain import groups
from archopt.explain.attention import attention, has_attention

IG_START_STEPS, IG_MAX_STEPS = 32, 1024
MEMORY_BUDGET = 512 * 2**20   # bytes for one integrated-gradients chunk (captum#245, #538)


@dataclass
class Context:
    """What every method needs besides the batch."""

    model: Any                     # ExplainedModel: raw inputs (+ lengths) -> (B, K)
    kind: str                      # image | sequence | tabular
    input_shape: tuple[int, ...]
    baseline: torch.Tensor         # (*input_shape) raw
    references: torch.Tensor       # (R, *input_shape) raw training examples (gradient SHAP)
    samples: int = 256             # Kernel SHAP and LIME: perturbed inputs per example
    shap_samples: int = 16         # gradient SHAP: random baselines x points per example
    tolerance: float = 0.01        # integrated gradients: the completeness to reach
    fixed_steps: int | None = None # integrated gradients: no search (the randomization check)
    layer: str | None = None       # Grad-CAM: a module name inside the run's model
    seed: int = 0
    chunk: int | None = None       # integrated gradients' examples per forward (None: from
    #                                the memory budget, measured on each call)
    completeness: bool = True      # integrated gradients: measure it (the randomization
    #                                stages discard it, so they skip its forward)
    cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    #                                per model: f(baseline), Grad-CAM's layer (not copied by
    #                                with_model, whose model differs)

    def with_model(self, model: Any, steps: int | None) -> Context:
        return replace(self, model=model, fixed_steps=steps, completeness=False)


def _args(lengths: torch.Tensor | None) -> tuple | None:
    return None if lengths is None else (lengths,)


def mask_padding(attr: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Zero the attribution of padded time steps (B, T, F)."""
    if lengths is None:
        return attr
    keep = torch.arange(attr.shape[1])[None, :] < lengths[:, None]  # (B, T)
    return attr * keep.unsqueeze(-1).to(attr.dtype)


def internal_batch(ctx: Context) -> int:
    """Examples per forward of integrated gradients, from a memory budget: each step is a
    copy of the batch, so the steps go through in chunks that fit."""
    from archopt.report.memory import activation_bytes

    shape = type("S", (), {"input_shape": ctx.input_shape, "task": None})()
    per_example = 3 * max(activation_bytes(ctx.model.model, shape), 1) + 4 * int(
        torch.tensor(ctx.input_shape).prod())
    return int(max(1, min(4096, MEMORY_BUDGET // per_example)))


def _endpoints(ctx: Context, x: torch.Tensor, target: torch.Tensor,
               lengths: torch.Tensor | None, outputs: torch.Tensor | None) -> torch.Tensor:
    """(B,) f(x) - f(baseline) of the explained outputs, without gradients. f(x) is ``outputs``
    when the caller has it (choosing the targets ran it), else one forward of the batch;
    f(baseline) is computed once per model unless lengths make it differ per example."""
    with torch.no_grad():
        fx = ctx.model(x, lengths) if outputs is None else outputs  # (B, K)
        if lengths is None:
            if "baseline_out" not in ctx.cache:
                ctx.cache["baseline_out"] = ctx.model(ctx.baseline.unsqueeze(0))  # (1, K)
            fb = ctx.cache["baseline_out"].expand(len(x), -1)  # (B, K)
        else:
            fb = ctx.model(ctx.baseline.expand_as(x), lengths)  # (B, K)
        return (fx - fb).gather(1, target[:, None]).squeeze(1).float()


def integrated_gradients(ctx: Context, x: torch.Tensor, target: torch.Tensor,
                         lengths: torch.Tensor | None, outputs: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, dict[str, Any]]:
    """Integrated gradients from the baseline; steps doubled until completeness holds:
    |sum(attr) - (f(x) - f(baseline))| <= tolerance * |f(x) - f(baseline)| for every example.

    f(x) - f(baseline) is measured once, before the steps (Captum's convergence delta would run
    both forwards again at every step count), from ``outputs`` (B, K) = f(x) when given."""
    from captum.attr import IntegratedGradients

    ig = IntegratedGradients(ctx.model)
    base = ctx.baseline.unsqueeze(0)  # (1, *shape): Captum broadcasts it over the batch
    chunk = ctx.chunk or internal_batch(ctx)
    steps = ctx.fixed_steps or IG_START_STEPS
    gap = _endpoints(ctx, x, target, lengths, outputs) if ctx.completeness else None
    while True:
        attr = ig.attribute(x, baselines=base, target=target,
                            additional_forward_args=_args(lengths), n_steps=steps,
                            internal_batch_size=chunk).detach()
        if gap is None:  # the randomization stages: fixed steps, completeness unused
            return attr, {"steps": steps, "internal_batch_size": chunk}
        delta = attr.reshape(len(x), -1).sum(1) - gap  # (B,)
        relative = delta.abs() / gap.abs().clamp(min=1e-6)
        holds = bool((relative <= ctx.tolerance).all())
        if holds or ctx.fixed_steps or steps >= IG_MAX_STEPS:
            break
        steps *= 2
    return attr, {
        "steps": steps, "internal_batch_size": chunk,
        "completeness": {"relative_delta_max": float(relative.max()),
                         "relative_delta_mean": float(relative.mean()),
                         "tolerance": ctx.tolerance, "holds": holds,
                         "output_gap_mean": float(gap.abs().mean())}}


def saliency(ctx: Context, x: torch.Tensor, target: torch.Tensor,
             lengths: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """|d output / d input| (Simonyan et al. 2014): unsigned."""
    from captum.attr import Saliency

    x = x.detach().requires_grad_()  # as Captum's examples do (else it warns, every call)
    attr = Saliency(ctx.model).attribute(x, target=target, abs=True,
                                         additional_forward_args=_args(lengths))
    return attr.detach(), {"signed": False}


def gradient_shap(ctx: Context, x: torch.Tensor, target: torch.Tensor,
                  lengths: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Expected gradients over random training examples as baselines (Lundberg & Lee 2017)."""
    from captum.attr import GradientShap

    torch.manual_seed(ctx.seed)
    attr = GradientShap(ctx.model).attribute(
        x, baselines=ctx.references, n_samples=ctx.shap_samples, stdevs=0.0, target=target,
        additional_forward_args=_args(lengths))
    return attr.detach(), {"samples": ctx.shap_samples,
                           "baselines": f"{len(ctx.references)} random training examples"}


def _per_example(ctx: Context, method: Any, x: torch.Tensor, target: torch.Tensor,
                 lengths: torch.Tensor | None, **kwargs: Any) -> torch.Tensor:
    """Kernel SHAP and LIME fit one surrogate per example; the perturbations of one example go
    through the model in batches."""
    mask = groups.feature_mask(ctx.kind, ctx.input_shape)
    out = []
    for i in range(len(x)):
        torch.manual_seed(ctx.seed + i)
        ln = None if lengths is None else lengths[i:i + 1]
        out.append(method.attribute(
            x[i:i + 1], baselines=ctx.baseline.unsqueeze(0), target=target[i:i + 1],
            additional_forward_args=_args(ln), feature_mask=mask, n_samples=ctx.samples,
            perturbations_per_eval=min(ctx.samples, 64), **kwargs).detach())
    return torch.cat(out)


def kernel_shap(ctx: Context, x: torch.Tensor, target: torch.Tensor,
                lengths: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Kernel SHAP over feature groups (patches, time segments, columns)."""
    from captum.attr import KernelShap

    attr = _per_example(ctx, KernelShap(ctx.model), x, target, lengths)
    return attr, {"samples": ctx.samples, "groups": _group_count(ctx)}


def lime(ctx: Context, x: torch.Tensor, target: torch.Tensor,
         lengths: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """LIME over feature groups: a sparse linear surrogate (Captum's, scikit-learn Lasso)."""
    from captum.attr import Lime

    attr = _per_example(ctx, Lime(ctx.model), x, target, lengths)
    return attr, {"samples": ctx.samples, "groups": _group_count(ctx)}


def _group_count(ctx: Context) -> int:
    return int(groups.feature_mask(ctx.kind, ctx.input_shape).max()) + 1


def occlusion(ctx: Context, x: torch.Tensor, target: torch.Tensor,
              lengths: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """The output's drop when a sliding window is replaced by the baseline (Zeiler & Fergus)."""
    from captum.attr import Occlusion

    window, strides = groups.occlusion_window(ctx.kind, ctx.input_shape)
    attr = Occlusion(ctx.model).attribute(
        x, sliding_window_shapes=window, strides=strides,
        baselines=ctx.baseline.unsqueeze(0), target=target,  # broadcast over the batch
        additional_forward_args=_args(lengths), perturbations_per_eval=16)
    return attr.detach(), {"window": list(window), "strides": list(strides)}


def conv_layers(model: nn.Module) -> list[str]:
    """Names of the model's convolutions, in order."""
    return [n for n, m in model.named_modules() if isinstance(m, nn.Conv1d | nn.Conv2d)]


def target_layer(model: nn.Module, name: str | None) -> tuple[str, nn.Module]:
    """The layer Grad-CAM looks at: ``name``, or the last convolution."""
    convs = conv_layers(model)
    if name is None:
        if not convs:
            raise UserError("--method grad_cam", "the model has no convolution to look at",
                            "Grad-CAM explains conv nets (cnn, resnet, sequential with conv "
                            "layers); use integrated_gradients or occlusion")
        name = convs[-1]
    modules = dict(model.named_modules())
    if name not in modules or not name:
        hint = f"convolutions: {', '.join(convs)}" if convs else "the model has no convolution"
        raise UserError(f"--layer {name}", "no such layer in the model", hint)
    return name, modules[name]


def grad_cam(ctx: Context, x: torch.Tensor, target: torch.Tensor,
             lengths: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Grad-CAM (Selvaraju et al. 2017) on a convolution, upsampled to the input."""
    import torch.nn.functional as F
    from captum.attr import LayerGradCam

    name, layer = target_layer(ctx.model.model, ctx.layer)
    cam = LayerGradCam(ctx.model, layer).attribute(
        x, target=target, additional_forward_args=_args(lengths),
        relu_attributions=True).detach()  # (B, 1, *spatial)
    if ctx.kind == "image" and cam.ndim == 4:
        up = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
        attr = up.expand_as(x)  # (B, C, H, W)
    elif ctx.kind == "sequence" and cam.ndim == 3:
        up = F.interpolate(cam, size=x.shape[1], mode="linear", align_corners=False)
        attr = up.transpose(1, 2).expand_as(x)  # (B, T, F)
    else:
        raise UserError(f"--layer {name}", f"its output {tuple(cam.shape[1:])} has no "
                        f"positions to map onto the {ctx.kind} input",
                        "pass a convolution over the input's positions")
    return attr.contiguous(), {"layer": name}


MethodFn = Callable[[Context, torch.Tensor, torch.Tensor, torch.Tensor | None],
                    tuple[torch.Tensor, dict[str, Any]]]

METHODS: dict[str, MethodFn] = {
    "integrated_gradients": integrated_gradients,
    "gradient_shap": gradient_shap,
    "kernel_shap": kernel_shap,
    "lime": lime,
    "saliency": saliency,
    "occlusion": occlusion,
    "grad_cam": grad_cam,
    "attention": attention,
}


def applicable(model: nn.Module, kind: str) -> list[str]:
    """The methods that apply to a model: all but Grad-CAM without a convolution and attention
    without attention (rnn attention pooling, transformers)."""
    names = list(METHODS)
    if not conv_layers(model):
        names.remove("grad_cam")
    if not has_attention(model, kind):
        names.remove("attention")
    return names


def run_method(name: str, ctx: Context, x: torch.Tensor, target: torch.Tensor,
               lengths: torch.Tensor | None, outputs: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, dict[str, Any]]:
    """One method on a batch; attributions of padded steps are zeroed. ``outputs`` (B, K):
    the model's outputs on ``x`` when the caller has them (integrated gradients' completeness
    check reuses them instead of running the batch again)."""
    fn = METHODS[name]
    if fn is integrated_gradients:
        attr, info = fn(ctx, x, target, lengths, outputs)
    else:
        attr, info = fn(ctx, x, target, lengths)
    return mask_padding(attr.float(), lengths), info
