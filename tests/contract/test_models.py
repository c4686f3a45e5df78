"""Every registered model family and preset, on every kind of data it takes: build, forward,
backward, no NaN, output shape, state_dict round trip, seeded initialization (timm's
tests/test_models.py). A newly registered model gets these tests for free."""

from __future__ import annotations

import pytest
import torch

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models import build_model, list_models
from archopt.registry import MODELS

SHAPES = [
    DataShape("image", (1, 8, 8), "classification", 10),
    DataShape("image", (3, 32, 32), "classification", 10),
    DataShape("sequence", (40, 1), "classification", 10),
    DataShape("sequence", (20, 3), "regression", 2),
    DataShape("tabular", (13,), "classification", 3),
]

# small settings so the whole contract runs in seconds; presets run as published
TINY: dict[str, dict] = {
    "mlp": {"hidden": [8, 8], "norm": "batch", "dropout": 0.1},
    "cnn": {"channels": [4, 6], "norm": "group", "head": [8]},
    "resnet": {"widths": [4, 8], "depths": [1, 1], "stem_channels": 4},
    "rnn": {"hidden": 5, "layers": 2, "bidirectional": True, "pooling": "attention"},
    "transformer": {"width": 8, "depth": 1, "heads": 2, "patch_size": 4},
    "autoencoder": {"hidden": [16], "latent": 4, "variational": True},
    "gan": {"latent": 4, "hidden": [8], "channels": [8, 4]},
    "dcgan": {"latent": 8},
    "sequential": {"layers": ["flatten", {"linear": {"out_features": 8}}, "relu",
                              {"dropout": {"p": 0.1}}, {"linear": {"out_features": "auto"}}]},
}


def kinds(name: str) -> tuple[str, ...]:
    return getattr(MODELS.get(name).config, "kinds", ("image", "sequence", "tabular"))


CASES = [pytest.param(n, s, id=f"{n}-{s.kind}{'x'.join(map(str, s.input_shape))}")
         for n in list_models() for s in SHAPES if s.kind in kinds(n)]
REFUSED = [pytest.param(n, s, id=f"{n}-{s.kind}") for n in list_models()
           for s in {s.kind: s for s in SHAPES}.values() if s.kind not in kinds(n)]


def section(name: str) -> dict:
    return {"name": name, **TINY.get(name, {})}


def batch(shape: DataShape, n: int = 3) -> torch.Tensor:
    return torch.randn(n, *shape.input_shape, generator=torch.Generator().manual_seed(0))


def run(model: torch.nn.Module, shape: DataShape) -> torch.Tensor:
    """One forward in the way the trainer calls the model; returns a scalar to backprop."""
    task = getattr(model, "task", shape.task)
    if task == "generation":
        fake = model.sample(3, torch.Generator().manual_seed(0))
        assert fake.shape == (3, *shape.input_shape)
        logits = model.discriminator(torch.cat([fake, batch(shape)]))
        assert logits.shape in ((6, 1), (6,))
        return logits.sum()
    x = batch(shape)
    out = model(x)
    if task == "reconstruction":
        assert out.shape == x.shape
        assert model.encode(x).shape == (3, model.latent_dim)
        assert model.decode(model.encode(x)).shape == x.shape
        extra = model.extra_loss()
        assert extra.ndim == 0 and torch.isfinite(extra)
        return (out - x).pow(2).mean() + extra
    assert out.shape == (3, shape.num_outputs)
    return out.sum()


@pytest.mark.parametrize("name, shape", CASES)
def test_build_forward_backward(name: str, shape: DataShape) -> None:
    model = build_model(section(name), shape, seed=0)
    assert model.spec["name"] == name and model.shape == shape
    model.train()
    loss = run(model, shape)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)
    if getattr(model, "task", shape.task) in ("classification", "regression"):
        model.eval()
        x = batch(shape)
        torch.testing.assert_close(model.head(model.features(x)), model(x))
        if getattr(model, "accepts_lengths", False):
            lengths = torch.full((3,), shape.input_shape[0])
            assert model(x, lengths=lengths).shape == (3, shape.num_outputs)


@pytest.mark.parametrize("name, shape", CASES)
def test_state_dict_round_trip_and_seeds(name: str, shape: DataShape) -> None:
    state = torch.get_rng_state()
    a = build_model(section(name), shape, seed=1)
    assert torch.equal(torch.get_rng_state(), state), "a seeded build must not move the RNG"
    b = build_model(section(name), shape, seed=1)
    c = build_model(section(name), shape, seed=2)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())
    c.load_state_dict(sa)
    a.eval(), c.eval()
    with torch.no_grad():
        if getattr(a, "task", None) == "generation":
            z = torch.randn(2, a.latent_dim)
            torch.testing.assert_close(a(z), c(z))
        else:
            torch.testing.assert_close(a(batch(shape)), c(batch(shape)))


@pytest.mark.parametrize("name, shape", REFUSED)
def test_refuses_data_it_does_not_take(name: str, shape: DataShape) -> None:
    with pytest.raises(UserError) as err:
        build_model(section(name), shape)
    assert err.value.where == "model.name" and shape.kind in err.value.what


@pytest.mark.parametrize("name", list_models())
def test_unknown_field_is_named(name: str) -> None:
    shape = next(s for s in SHAPES if s.kind in kinds(name))
    with pytest.raises(UserError) as err:
        build_model({**section(name), "not_a_field": 1}, shape)
    assert err.value.where == "model.not_a_field"


def test_every_model_has_a_doc_line() -> None:
    for name in list_models():
        assert MODELS.get(name).doc, name
