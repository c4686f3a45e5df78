"""Every registered model family and preset explains one example of its natural data with every
method that applies, checks included: classification, regression, autoencoders, variable-length
RNN batches. A newly registered model gets this test for free."""

from __future__ import annotations

import pytest
import torch

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.explain.api import explain_subject
from archopt.explain.methods import applicable
from archopt.explain.subject import make_subject
from archopt.models import build_model, list_models
from archopt.registry import MODELS

SHAPES = {
    "image": DataShape("image", (1, 8, 8), "classification", 3),
    "sequence": DataShape("sequence", (12, 2), "classification", 3, variable_length=True),
    "tabular": DataShape("tabular", (6,), "classification", 3),
}
REGRESSION = DataShape("sequence", (12, 2), "regression", 2)

TINY: dict[str, dict] = {
    "mlp": {"hidden": [8], "norm": "batch"},
    "cnn": {"channels": [4, 4], "head": [8]},
    "resnet": {"widths": [4, 4], "depths": [1, 1], "stem_channels": 4},
    "rnn": {"hidden": 5, "bidirectional": True, "pooling": "attention"},
    "transformer": {"width": 8, "depth": 1, "heads": 2, "patch_size": 4},
    "autoencoder": {"hidden": [8], "latent": 3},
    "sequential": {"layers": ["flatten", {"linear": {"out_features": 8}}, "relu",
                              {"linear": {"out_features": "auto"}}]},
}


def kinds(name: str) -> tuple[str, ...]:
    return getattr(MODELS.get(name).config, "kinds", ("image", "sequence", "tabular"))


def family(name: str) -> str:
    entry = MODELS.get(name)
    configs = {MODELS.get(n).config: n for n in MODELS.names()}
    return configs.get(entry.config.__bases__[0], name) if entry.config else name


CASES = [pytest.param(n, SHAPES[k], id=f"{n}-{k}") for n in list_models() for k in SHAPES
         if k in kinds(n) and family(n) != "gan"]
CASES += [pytest.param(n, REGRESSION, id=f"{n}-regression") for n in ("rnn", "cnn", "mlp")]


def data(shape: DataShape, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *shape.input_shape, generator=g)
    if not shape.variable_length:
        return x, None
    lengths = torch.randint(4, shape.input_shape[0] + 1, (n,), generator=g)
    x[torch.arange(shape.input_shape[0])[None, :] >= lengths[:, None]] = 0.0
    return x, lengths


@pytest.mark.parametrize("name, shape", CASES)
def test_explains_one_example_with_every_method(name: str, shape: DataShape) -> None:
    base = family(name)
    model = build_model({"name": name, **(TINY.get(name, {}) if name == base else {})},
                        shape, seed=0).eval()
    x_train, l_train = data(shape, 16, 0)
    x, lengths = data(shape, 2, 1)
    y = torch.zeros(2, dtype=torch.long)
    subject = make_subject(model, shape, {}, x_train, l_train, x, y, lengths)
    methods = applicable(model, shape.kind)
    result, attributions, xs, _ = explain_subject(subject, examples=1, samples=16)
    assert set(result["methods"]) == set(methods)
    for m, attr in attributions.items():
        assert attr.shape == xs.shape and torch.isfinite(attr).all(), m
        if lengths is not None:  # nothing past the true length
            assert (attr[0, int(lengths[0]):] == 0).all(), m
    if getattr(model, "task", None) == "reconstruction":
        assert result["task"] == "reconstruction" and "error" in result["explained_output"]
    ig = result["methods"]["integrated_gradients"]
    assert ig["steps"] >= 32 and ig["completeness"]["relative_delta_max"] >= 0
    assert result["faithfulness"]["ranking"] and result["sanity"]["stages"]


def test_grad_cam_and_attention_exist_only_where_the_model_has_them() -> None:
    shape = SHAPES["sequence"]
    rnn = build_model({"name": "rnn", **TINY["rnn"]}, shape, seed=0)
    cnn = build_model({"name": "cnn", **TINY["cnn"]}, shape, seed=0)
    mlp = build_model({"name": "mlp", **TINY["mlp"]}, shape, seed=0)
    assert "attention" in applicable(rnn, "sequence") and "grad_cam" not in applicable(
        rnn, "sequence")
    assert "grad_cam" in applicable(cnn, "sequence") and "attention" not in applicable(
        cnn, "sequence")
    x, lengths = data(shape, 4, 0)
    subject = make_subject(mlp, shape, {}, x, lengths, x, torch.zeros(4, dtype=torch.long),
                           lengths)
    with pytest.raises(UserError, match="no convolution"):
        explain_subject(subject, methods=["grad_cam"])


def test_the_global_view_over_the_split_is_for_tables_only() -> None:
    shape = SHAPES["image"]
    model = build_model({"name": "mlp", **TINY["mlp"]}, shape, seed=0).eval()
    x, _ = data(shape, 4, 0)
    subject = make_subject(model, shape, {}, x, None, x, torch.zeros(4, dtype=torch.long), None)
    with pytest.raises(UserError, match="for tabular data"):
        explain_subject(subject, global_over="split")
