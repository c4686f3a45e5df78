"""The shape of a compressed model (``archopt compress``), saved beside its weights, and the
model rebuilt from it.

A pruned model has the same modules as the model its spec builds, with fewer channels. Its
structure is what differs from a fresh build: the shape of every tensor in its state dict and
the plain attributes (``out_channels``, ``in_features``, ``num_features``, ``heads``, ...) that
changed. Both are ints, lists and strings, so the checkpoint still loads with
``torch.load(..., weights_only=True)``; ``rebuild`` builds the model from its spec, resizes the
tensors and attributes, and loads the weights. No module is ever pickled.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archopt.errors import UserError

PRIMITIVE = (int, float, bool, str, type(None))


def _plain(value: Any) -> Any:
    """An attribute value as JSON-able data, or None when it is not plain data."""
    if isinstance(value, PRIMITIVE):
        return value
    if isinstance(value, tuple | list) and all(isinstance(v, PRIMITIVE) for v in value):
        return list(value)
    return None


def attributes(module: nn.Module) -> dict[str, Any]:
    """The public plain-data attributes of one module (its sizes and settings)."""
    out = {}
    for name, value in vars(module).items():
        if name.startswith("_") or name == "training":
            continue
        plain = _plain(value)
        if plain is not None:
            out[name] = plain
    return out


def capture(model: nn.Module, fresh: nn.Module) -> dict[str, Any]:
    """What makes ``model`` differ from ``fresh`` (the spec's model): attributes and shapes."""
    before = dict(fresh.named_modules())
    changed: dict[str, dict[str, Any]] = {}
    for name, mod in model.named_modules():
        ref = attributes(before[name]) if name in before else {}
        diff = {k: v for k, v in attributes(mod).items() if ref.get(k, v) != v}
        if diff:
            changed[name] = diff
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    return {"kind": "pruned", "attributes": changed, "shapes": shapes}


def apply(model: nn.Module, structure: dict[str, Any]) -> nn.Module:
    """Resize a freshly built model to a saved structure (weights still to be loaded)."""
    modules = dict(model.named_modules())
    for name, attrs in structure.get("attributes", {}).items():
        mod = modules[name]
        for k, v in attrs.items():
            old = getattr(mod, k, None)
            setattr(mod, k, tuple(v) if isinstance(old, tuple) else v)
    for key, dims in structure.get("shapes", {}).items():
        owner, _, leaf = key.rpartition(".")
        mod = modules[owner]
        old = getattr(mod, leaf, None)
        if not isinstance(old, torch.Tensor) or list(old.shape) == list(dims):
            continue
        new = torch.empty(dims, dtype=old.dtype)
        if isinstance(old, nn.Parameter):
            setattr(mod, leaf, nn.Parameter(new, requires_grad=old.requires_grad))
        else:
            mod._buffers[leaf] = new
    return model


def rebuild(spec: Any, shape: Any, state: dict[str, Any]) -> nn.Module:
    """The model of a run's checkpoint: built from the spec, resized, quantized, loaded.

    Args:
        spec: the run's ``Spec``.
        shape: the run's ``DataShape``.
        state: the loaded checkpoint (``model`` and, for compressed runs, ``structure``).
    """
    from archopt.models import build_model

    model = build_model(spec.model, shape, seed=spec.seed)
    from archopt.transfer.contrastive import attach_projection

    attach_projection(model, spec, shape)  # a contrastive run's projection head
    structure = state.get("structure")
    if not structure:
        model.load_state_dict(state["model"])
        return model
    if structure.get("base"):
        apply(model, structure["base"])
    if structure["kind"] == "pruned":
        apply(model, structure)
        model.load_state_dict(state["model"])
        return model
    return restore_quantized(model, structure, state)


def restore_quantized(model: nn.Module, structure: dict[str, Any], state: dict[str, Any]
                      ) -> nn.Module:
    """The ``OnnxModel`` of a quantized run's checkpoint (``model`` is not used)."""
    if structure["kind"] != "onnx_int8":
        raise UserError("checkpoint", f"unknown compressed structure '{structure['kind']}'",
                        "this run was written by a newer archopt")
    onnx = state["onnx"]
    from archopt.models.onnx_model import OnnxModel

    q = OnnxModel(onnx.numpy().tobytes())
    q.spec, q.shape = getattr(model, "spec", {}), getattr(model, "shape", None)
    q.structure = structure
    return q

