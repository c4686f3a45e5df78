"""``sequential``: a plain list of layers, so that any published architecture can be written.

Each item is a one-key mapping ``{layer: params}`` (or a bare name for layers without
parameters)::

    layers:
      - conv1d: {out_channels: 25, kernel_size: 5, stride: 2, padding: 1}
      - relu
      - flatten
      - linear: {out_features: auto}  # auto = the data's number of classes / targets

Layers see the data's own layout: image (B, C, H, W), sequence (B, T, F), tabular (B, F),
with one exception: when the first layer of a sequence model that cares about the layout is a
1-D convolution or pooling, which read (B, C, T), the sequence is handed over as (B, F, T) (its
F features are the channels, as the ``cnn`` family does; MNIST-1D is 1 channel of length 40).
An explicit ``permute`` (or a ``linear``, ``lstm``, ``flatten``... first) keeps (B, T, F).
Input sizes (``in_features``, ``in_channels``, ``num_features``, ``input_size``) are inferred by
running a zero batch through the layers as they are built. ``lstm``/``gru``/``rnn`` read
(B, T, F) and return ``output: last | all | mean``; ``residual`` wraps a sub-list and adds its
input to its output; ``embedding`` casts its input to integer ids. ``features`` is every layer
before the last one with parameters, ``head`` is that layer and what follows it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import torch
from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError, suggest
from archopt.models.base import Classifier, FamilyConfig
from archopt.models.blocks import ACTIVATIONS, Permute, Reshape
from archopt.registry import MODELS


class SequentialConfig(FamilyConfig):
    """A list of layers applied in order."""

    layers: list[Any] = Field(min_length=1, description="one-key mappings {layer: params}")


class Residual(nn.Module):
    """x + body(x)."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Recurrent(nn.Module):
    """An LSTM / GRU / RNN on (B, T, F) that returns one tensor: last | all | mean."""

    def __init__(self, rnn: nn.RNNBase, output: str) -> None:
        super().__init__()
        self.rnn, self.output = rnn, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (B, T, H * dirs)
        if self.output == "all":
            return out
        return out.mean(1) if self.output == "mean" else out[:, -1]

    def extra_repr(self) -> str:
        return f"output={self.output}"


class Embedding(nn.Embedding):
    """nn.Embedding on float-coded ids: (B, T) or (B, T, 1) -> (B, T, D)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if x.ndim >= 2 and x.shape[-1] == 1:
            x = x.squeeze(-1)
        return super().forward(x.long())


class Sequential(Classifier):
    """The layers in order; ``features`` then ``head`` (the last parametric layer onwards)."""


# layer name -> (torch class, the constructor argument inferred from the input, its dimension)
TORCH_LAYERS: dict[str, tuple[type[nn.Module], str | None, int]] = {
    "linear": (nn.Linear, "in_features", -1),
    "conv1d": (nn.Conv1d, "in_channels", 1),
    "conv2d": (nn.Conv2d, "in_channels", 1),
    "conv_transpose1d": (nn.ConvTranspose1d, "in_channels", 1),
    "conv_transpose2d": (nn.ConvTranspose2d, "in_channels", 1),
    "max_pool1d": (nn.MaxPool1d, None, 0),
    "max_pool2d": (nn.MaxPool2d, None, 0),
    "avg_pool1d": (nn.AvgPool1d, None, 0),
    "avg_pool2d": (nn.AvgPool2d, None, 0),
    "adaptive_avg_pool1d": (nn.AdaptiveAvgPool1d, None, 0),
    "adaptive_avg_pool2d": (nn.AdaptiveAvgPool2d, None, 0),
    "layer_norm": (nn.LayerNorm, "normalized_shape", -1),
    "group_norm": (nn.GroupNorm, "num_channels", 1),
    "dropout": (nn.Dropout, None, 0),
    "flatten": (nn.Flatten, None, 0),
    "embedding": (Embedding, None, 0),
    "softmax": (nn.Softmax, None, 0),
}
# layers that need an input of exactly this rank, batch included
RANK = {"conv1d": 3, "conv2d": 4, "conv_transpose1d": 3, "conv_transpose2d": 4,
        "max_pool1d": 3, "max_pool2d": 4, "avg_pool1d": 3, "avg_pool2d": 4,
        "adaptive_avg_pool1d": 3, "adaptive_avg_pool2d": 4}
LAYOUT = {3: "(B, C, T)", 4: "(B, C, H, W)"}
# layers that read (B, C, T): a sequence model starting with one gets (B, F, T)
CHANNELS_FIRST_1D = {"conv1d", "conv_transpose1d", "max_pool1d", "avg_pool1d",
                     "adaptive_avg_pool1d", "adaptive_avg_pool"}
# layers that do not care about the layout (elementwise)
ELEMENTWISE = {"dropout"}
RECURRENT = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
SPECIAL = ("batch_norm", "adaptive_avg_pool", "permute", "reshape", "residual", *RECURRENT)


def layer_names() -> list[str]:
    """Every layer name a ``sequential`` list accepts."""
    return sorted([*TORCH_LAYERS, *ACTIVATIONS, *SPECIAL])


def _item(item: Any, where: str) -> tuple[str, Any]:
    """(name, params) of one list item: ``relu`` or ``{conv1d: {...}}``."""
    if isinstance(item, str):
        return item, None
    if isinstance(item, dict) and len(item) == 1:
        return next(iter(item.items()))
    raise UserError(where, "each layer must be a name or a one-key mapping {layer: params}",
                    "example: - conv1d: {out_channels: 25, kernel_size: 5}")


def _kwargs(cls: type[nn.Module], params: Any, inferred: str | None, where: str,
            accepted: list[str] | None = None) -> dict:
    """Check a layer's parameters against its constructor; a UserError for unknown ones."""
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise UserError(where, f"expected a mapping of parameters, got {params!r}",
                        "example: - dropout: {p: 0.1}")
    accepted = accepted or [p for p in inspect.signature(cls.__init__).parameters
                            if p not in ("self", "args", "kwargs", "device", "dtype", inferred)]
    for key in params:
        if key not in accepted:
            what = "is inferred from the input" if key == inferred else "is not a parameter"
            raise UserError(f"{where}.{key}", f"'{key}' {what} of this layer",
                            suggest(key, accepted) or f"parameters: {', '.join(accepted)}")
    return dict(params)


def _build_one(name: str, params: Any, x: torch.Tensor, shape: DataShape, where: str,
               build_list: Callable[..., nn.Sequential]) -> nn.Module:
    """One layer for an input like ``x`` (a zero batch)."""
    if name in RANK and x.ndim != RANK[name]:
        hint = (f"2-D layers need image data; use the 1-D version for {shape.kind} data"
                if RANK[name] == 4 and shape.kind != "image" else "check the layers before it")
        raise UserError(where, f"{name} needs {LAYOUT[RANK[name]]} input but gets "
                        f"{tuple(x.shape)}", hint)
    if name in ACTIVATIONS:
        return ACTIVATIONS[name](**_kwargs(ACTIVATIONS[name], params, None, where))
    if name == "permute" or name == "reshape":
        if not isinstance(params, list) or not all(isinstance(d, int) for d in params):
            raise UserError(where, f"{name} takes a list of integers",
                            "example: - permute: [0, 2, 1]  (batch dimension included)")
        if name == "permute" and sorted(params) != list(range(x.ndim)):
            raise UserError(where, f"{params} is not an order of the {x.ndim} dimensions "
                            f"of {tuple(x.shape)}", "include the batch dimension 0 first")
        return Permute(params) if name == "permute" else Reshape(tuple(params))
    if name == "residual":
        if not isinstance(params, list):
            raise UserError(where, "residual takes a list of layers")
        return Residual(build_list(params, x, shape, where))
    if name == "batch_norm":
        cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}.get(x.ndim)
        if cls is None:
            raise UserError(where, f"batch_norm cannot take input {tuple(x.shape)}")
        return cls(x.shape[1], **_kwargs(cls, params, "num_features", where))
    if name == "adaptive_avg_pool":
        cls = nn.AdaptiveAvgPool2d if x.ndim == 4 else nn.AdaptiveAvgPool1d
        return cls(**{"output_size": 1, **_kwargs(cls, params, None, where)})
    if name in RECURRENT:
        # nn.RNNBase takes *args, **kwargs: name its parameters here
        kw = _kwargs(RECURRENT[name], params, "input_size", where,
                     ["hidden_size", "num_layers", "bias", "dropout", "bidirectional", "output"])
        output = kw.pop("output", "last")
        if output not in ("last", "all", "mean"):
            raise UserError(f"{where}.output", f"unknown output '{output}'",
                            "choose last, all or mean")
        if x.ndim != 3:
            raise UserError(where, f"{name} needs (B, T, F) input but gets {tuple(x.shape)}")
        return Recurrent(RECURRENT[name](x.shape[-1], batch_first=True, **kw), output)
    if name not in TORCH_LAYERS:
        raise UserError(where, f"unknown layer '{name}'",
                        suggest(name, layer_names()) or f"layers: {', '.join(layer_names())}")
    cls, inferred, dim = TORCH_LAYERS[name]
    kw = _kwargs(cls, params, inferred, where)
    for key in ("out_features", "out_channels"):
        if kw.get(key) == "auto":
            kw[key] = shape.num_outputs
    if inferred:
        kw[inferred] = x.shape[dim]
    return cls(**kw)


def _build_list(items: list[Any], x: torch.Tensor, shape: DataShape, where: str
                ) -> nn.Sequential:
    """Build and probe each layer in turn, so errors name the layer where they happen."""
    layers: list[nn.Module] = []
    for i, item in enumerate(items):
        here = f"{where}.{i}"
        name, params = _item(item, here)
        try:
            layer = _build_one(name, params, x, shape, f"{here}.{name}", _build_list)
        except (TypeError, ValueError, RuntimeError) as exc:  # torch refused the parameters
            msg = re.sub(r"^[\w.]+\(\) ", "", str(exc).strip().splitlines()[0])
            raise UserError(f"{here}.{name}", f"bad parameters: {msg}",
                            "see the torch.nn layer of that name for its parameters") from None
        layer.eval()
        try:
            with torch.no_grad():  # a residual's body alone, to check it keeps the shape
                y = (layer.body if isinstance(layer, Residual) else layer)(x)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise _misfit(exc, name, x, shape, f"{here}.{name}") from None
        layer.train()
        if isinstance(layer, Residual):
            if y.shape != x.shape:
                raise UserError(f"{here}.{name}", f"its layers turn {tuple(x.shape)} into "
                                f"{tuple(y.shape)}; a residual needs the same shape back")
            y = x + y
        x = y
        layers.append(layer)
    return nn.Sequential(*layers)


def _misfit(exc: Exception, name: str, x: torch.Tensor, shape: DataShape, where: str
            ) -> UserError:
    """A UserError for a layer that fails on its (probe) input, in the data's terms."""
    first = str(exc).strip().splitlines()[0]
    dims = tuple(x.shape[1:])
    if name in RANK and len(dims) in (2, 3):
        what = (f"{dims[0]} channels of length {dims[1]}" if len(dims) == 2
                else f"{dims[0]} channels of {dims[1]}x{dims[2]}")
        reads = "(batch, channels, length)" if len(dims) == 2 else "(batch, channels, H, W)"
        msg = f"reads {reads} and gets {what}"
        if "kernel size" in first.lower() or "output size is too small" in first.lower():
            msg += ": its kernel (with padding and dilation) is longer than the input"
            hint = ("use a smaller kernel, less striding or pooling before it, or more "
                    "padding")
        else:
            hint = "check this layer's sizes against its input"
        if shape.kind == "sequence" and dims == tuple(shape.input_shape):
            hint = (f"this sequence of {dims[0]} steps x {dims[1]} features reaches it as "
                    f"(steps, features): remove the permute before it, or add "
                    f"`- permute: [0, 2, 1]` to make the {dims[1]} features its channels")
        return UserError(where, f"does not fit its input: {name} {msg}", hint)
    if "kernel size" in first.lower():
        hint = "the kernel is larger than what is left of the input: use a smaller kernel, "\
               "less striding or pooling before it, or more padding"
    else:
        hint = "check this layer's sizes against its input shape"
    return UserError(where, f"does not fit its input {tuple(x.shape)}: {first}", hint)


def channels_first(layers: list[Any], shape: DataShape) -> bool:
    """Whether a sequence model's first layout-sensitive layer reads (B, C, T)."""
    if shape.kind != "sequence":
        return False
    for item in layers:
        name = item if isinstance(item, str) else next(iter(item)) if \
            isinstance(item, dict) and len(item) == 1 else None
        if name in ACTIVATIONS or name in ELEMENTWISE:
            continue
        return name in CHANNELS_FIRST_1D
    return False


def _build_sequential(cfg: SequentialConfig, shape: DataShape) -> Sequential:
    x = torch.zeros(2, *shape.input_shape)
    first: list[nn.Module] = []
    if channels_first(cfg.layers, shape):  # (B, T, F) -> (B, F, T): features are channels
        first, x = [Permute([0, 2, 1])], x.permute(0, 2, 1)
    layers = first + list(_build_list(cfg.layers, x, shape, "model.layers"))
    has_params = [i for i, m in enumerate(layers) if any(True for _ in m.parameters())]
    split = has_params[-1] if has_params else len(layers) - 1
    return Sequential(nn.Sequential(*layers[:split]), nn.Sequential(*layers[split:]))


@MODELS.register("sequential", config=SequentialConfig)
def sequential(cfg: SequentialConfig, shape: DataShape) -> Sequential:
    """A plain list of layers (conv1d, linear, lstm, residual, ...), input sizes inferred."""
    return _build_sequential(cfg, shape)
