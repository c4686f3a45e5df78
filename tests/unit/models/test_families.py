"""Family behaviour beyond the contract: user errors, variable lengths, autoencoder and GAN
details, seeding."""

from __future__ import annotations

import pytest
import torch

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models import build_model
from archopt.spec import ModelSpec

SEQ = DataShape("sequence", (40, 1), "classification", 10)
VARSEQ = DataShape("sequence", (12, 3), "classification", 4, variable_length=True)
IMG = DataShape("image", (1, 8, 8), "classification", 10)
TAB = DataShape("tabular", (13,), "classification", 3)


@pytest.mark.parametrize("section, shape, where, words", [
    ({"name": "cnn", "channels": [4, 4], "kernel_sizes": [3, 9], "strides": [8, 1], "padding": 0},
     SEQ, "model.kernel_sizes.1", "larger than the input"),
    ({"name": "cnn", "dims": 2}, SEQ, "model.dims", "sequence"),
    ({"name": "resnet", "dims": 2}, SEQ, "model.dims", "sequence"),
    ({"name": "cnn", "channels": [4, 4], "strides": [1, 1, 1]}, SEQ, "model.strides", "3 values"),
    ({"name": "transformer", "width": 30, "heads": 4}, SEQ, "model.heads", "divide"),
    ({"name": "transformer", "patch_size": 16}, IMG, "model.patch_size", "1, 2, 4, 8"),
    ({"name": "transformer", "patch_size": 3}, IMG, "model.patch_size", "tile"),
    ({"name": "transformer", "sequence_patch": 3}, SEQ, "model.sequence_patch", "tile"),
    ({"name": "cnn"}, TAB, "model.name", "tabular"),
    ({"name": "rnn"}, IMG, "model.name", "image"),
    ({"name": "autoencoder", "architecture": "conv"}, TAB, "model.architecture", "conv"),
    ({"name": "gan", "architecture": "conv"}, SEQ, "model.architecture", "image"),
    ({"name": "resnet", "widths": [4, 8], "depths": [1]}, IMG, "model.depths", "widths"),
    ({"name": "mlp", "hiden": [4]}, TAB, "model.hiden", "hidden"),
    ({"name": "mlp", "activation": "relu6"}, TAB, "model.activation", ""),
    ({"name": "mlpp"}, TAB, "model.name", "mlp"),
])
def test_user_errors_name_the_field(section: dict, shape: DataShape, where: str,
                                    words: str) -> None:
    with pytest.raises(UserError) as err:
        build_model(section, shape)
    assert err.value.where == where
    assert words in f"{err.value.what} {err.value.hint}"


def test_output_mismatch_says_how_many() -> None:
    layers = ["flatten", {"linear": {"out_features": 3}}]
    with pytest.raises(UserError, match="outputs 3 values per example but the data has 10 "
                                        "classes"):
        build_model({"name": "sequential", "layers": layers}, IMG)


def test_accepts_a_model_spec_and_keeps_spec_and_shape() -> None:
    model = build_model(ModelSpec(name="mlp", hidden=[5]), TAB, seed=3)
    assert model.spec == {"name": "mlp", "hidden": [5], "activation": "relu", "norm": "none",
                          "dropout": 0.0, "residual": False}
    assert model.shape == TAB and model.training


def test_unseeded_builds_use_the_global_rng() -> None:
    torch.manual_seed(0)
    a = build_model({"name": "mlp", "hidden": [5]}, TAB)
    torch.manual_seed(0)
    b = build_model({"name": "mlp", "hidden": [5]}, TAB)
    torch.testing.assert_close(a.state_dict(), b.state_dict())


def padded_pair(shape: DataShape, true_len: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of 2: one full sequence and one of ``true_len`` steps padded with junk."""
    x = torch.randn(2, *shape.input_shape, generator=torch.Generator().manual_seed(0))
    x[1, true_len:] = 100.0  # what padding holds must not matter
    return x, torch.tensor([shape.input_shape[0], true_len])


@pytest.mark.parametrize("section", [
    {"name": "rnn", "cell": "gru", "hidden": 5, "pooling": "last", "bidirectional": True},
    {"name": "rnn", "cell": "lstm", "hidden": 5, "pooling": "mean", "layers": 2},
    {"name": "rnn", "cell": "rnn", "hidden": 5, "pooling": "attention"},
    {"name": "transformer", "width": 8, "heads": 2, "pooling": "cls"},
    {"name": "transformer", "width": 8, "heads": 2, "pooling": "mean", "position": "sinusoidal"},
])
def test_lengths_make_padding_irrelevant(section: dict) -> None:
    model = build_model(section, VARSEQ, seed=0).eval()
    assert model.accepts_lengths is True
    x, lengths = padded_pair(VARSEQ, 7)
    with torch.no_grad():
        padded = model(x, lengths=lengths)[1]
        alone = model(x[1:, :7], lengths=torch.tensor([7]))[0]
        ignored = model(x)[1]  # without lengths the padding is read
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(padded, ignored, atol=1e-3)


def test_autoencoder_denoising_only_in_training() -> None:
    ae = build_model({"name": "autoencoder", "hidden": [8], "latent": 3, "noise_std": 1.0},
                     TAB, seed=0)
    x = torch.randn(4, 13)
    ae.eval()
    torch.testing.assert_close(ae(x), ae(x))  # no noise: deterministic
    ae.train()
    assert not torch.allclose(ae(x), ae(x))
    assert ae.extra_loss().item() == 0.0


def test_autoencoder_sparse_and_variational_penalties() -> None:
    x = torch.randn(4, 13)
    sparse = build_model({"name": "autoencoder", "latent": 3, "sparse": 0.5}, TAB, seed=0)
    sparse(x)
    torch.testing.assert_close(sparse.extra_loss(), 0.5 * sparse.encode(x).abs().mean())
    vae = build_model({"name": "autoencoder", "latent": 3, "variational": True}, TAB, seed=0)
    vae.train()
    out = vae(x)
    assert out.shape == x.shape and vae.extra_loss().item() > 0
    vae.eval()
    torch.testing.assert_close(vae(x), vae.decode(vae.encode(x)))  # eval decodes the mean


@pytest.mark.parametrize("shape", [IMG, DataShape("image", (3, 28, 28), "classification", 10),
                                   SEQ])
def test_autoencoder_conv_reconstructs_odd_sizes(shape: DataShape) -> None:
    ae = build_model({"name": "autoencoder", "architecture": "conv", "channels": [4, 4, 4]},
                     shape, seed=0)
    x = torch.randn(2, *shape.input_shape)
    assert ae(x).shape == x.shape


def test_gan_sample_is_reproducible_with_a_generator() -> None:
    g = build_model({"name": "dcgan"}, IMG, seed=0).eval()
    assert g.latent_dim == 100 and g.task == "generation"
    a = g.sample(3, torch.Generator().manual_seed(5))
    b = g.sample(3, torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    assert a.shape == (3, 1, 8, 8)
    z = torch.randn(2, 100)
    torch.testing.assert_close(g(z), g.generator(z))
    assert g.discriminator(a).shape == (3, 1)


def test_cnn_stops_pooling_when_the_map_is_too_small() -> None:
    model = build_model({"name": "cnn", "channels": [4, 4, 4, 4], "pool_size": 2}, IMG)
    pools = [m for m in model.features if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 3  # 8 -> 4 -> 2 -> 1, then no more
