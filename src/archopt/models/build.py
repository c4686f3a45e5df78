"""``build_model``: a spec section and a data shape -> a checked ``nn.Module``.

The section is validated by the family's config (through ``archopt.registry.MODELS``), the model
is built for the data's kind, input shape and number of outputs, optionally under its own seed,
and one dummy forward checks that what it returns fits the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.registry import MODELS


def build_model(section: Mapping[str, Any] | Any, shape: DataShape,
                seed: int | None = None) -> nn.Module:
    """Build the model a spec's ``model`` section describes, for data of ``shape``.

    Args:
        section: ``{"name": family_or_preset, **params}`` or an ``archopt.spec.ModelSpec``.
        shape: what the data looks like (``Dataset.shape``).
        seed: seeds weight initialization in a forked RNG (the global random state is untouched).

    Returns:
        The model, with ``model.spec`` (the validated section, defaults filled in) and
        ``model.shape``.

    Raises:
        UserError: a bad parameter, a family that does not take this kind of data, or a model
            whose output does not fit the task.
    """
    params = dict(section.section() if hasattr(section, "section") else section)
    name = params.pop("name", None)
    if name is None:
        raise UserError("model.name", "missing the model name",
                        "run `archopt models` to see the families and presets")
    cfg = MODELS.validate(name, params, "model")
    entry = MODELS.get(name, "model.name")
    kinds = getattr(entry.config, "kinds", ("image", "sequence", "tabular"))
    if shape.kind not in kinds:
        raise UserError("model.name", f"model '{name}' does not take {shape.kind} data",
                        f"it takes {' or '.join(kinds)} data; `archopt models` lists the others")
    if seed is None:
        model = entry.fn(cfg, shape)
    else:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = entry.fn(cfg, shape)
    model.spec = {"name": name, **(cfg.model_dump() if hasattr(cfg, "model_dump") else cfg)}
    model.shape = shape
    attach_target_scale(model, shape)
    check_output(model, shape)
    return model


def attach_target_scale(model: nn.Module, shape: DataShape) -> None:
    """Regression with target statistics: ``model(x)`` returns ``net(x) * std + mean``.

    The scale is two fixed buffers (saved in the state_dict) and a forward hook, so the model
    predicts in the targets' own units everywhere (metrics, export, serving) while the network
    underneath works on standardized values. The regression task's loss divides by the same std.
    """
    if shape.task != "regression" or shape.target_mean is None or shape.target_std is None:
        return
    if getattr(model, "task", None) in ("reconstruction", "generation"):
        return
    model.register_buffer("target_mean", torch.tensor(shape.target_mean, dtype=torch.float32))
    model.register_buffer("target_std", torch.tensor(shape.target_std, dtype=torch.float32))
    model.register_forward_hook(_scale_output)


def _scale_output(model: nn.Module, args: Any, out: torch.Tensor) -> torch.Tensor:
    return out * model.target_std + model.target_mean  # (B, D)


@torch.no_grad()
def check_output(model: nn.Module, shape: DataShape) -> None:
    """Run a batch of 2 zero examples and check the output against the task."""
    task = getattr(model, "task", shape.task)
    was_training = model.training
    model.eval()
    try:
        if task == "generation":
            z = torch.zeros(2, model.latent_dim)
            out = model.generator(z)
            want, what = (2, *shape.input_shape), "generates examples of shape"
        else:
            x = torch.zeros(2, *shape.input_shape)
            out = model(x)
            if task == "reconstruction":
                want, what = tuple(x.shape), "reconstructs examples of shape"
            else:
                want, what = (2, shape.num_outputs), "outputs"
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError("model", f"does not fit {shape.kind} input of shape "
                        f"{tuple(shape.input_shape)}: {first}",
                        "check the layer sizes against the data (`archopt data info`)") from None
    finally:
        model.train(was_training)
    got = tuple(out.shape)
    if got == want:
        return
    if task in ("generation", "reconstruction"):
        raise UserError("model", f"{what} {got[1:]} but the data has {tuple(shape.input_shape)}",
                        "the output must have the data's shape")
    per_example = "x".join(str(s) for s in got[1:]) or "1"
    unit = "classes" if shape.task == "classification" else "target values"
    raise UserError("model", f"{what} {per_example} values per example but the data has "
                    f"{shape.num_outputs} {unit}",
                    f"make the last layer output {shape.num_outputs} values (or write `auto`)")
