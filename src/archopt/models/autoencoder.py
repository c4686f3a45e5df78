"""``autoencoder``: dense or convolutional; plain, denoising, sparse or variational.

The model's task is ``reconstruction``: ``forward(x)`` returns x's shape, ``encode(x)`` the code
(the posterior mean for a variational one), ``decode(z)`` an example, and ``extra_loss()`` the
regularization term of the last forward (KL for variational, L1 of the code for sparse, else 0)
that the trainer adds to the reconstruction loss. Denoising adds Gaussian noise to the input in
training mode only; the target stays the clean x.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models.base import FamilyConfig, flat_size, probe
from archopt.models.blocks import ChannelsFirst, ConvNormAct, Reshape, dense_stack
from archopt.models.blocks.act import ActName, make_act
from archopt.models.blocks.norm import NormName, make_norm
from archopt.registry import MODELS


class AutoencoderConfig(FamilyConfig):
    """An encoder to a small code and a mirrored decoder."""

    architecture: Literal["dense", "conv"] = Field("dense", description="dense or conv layers")
    hidden: list[int] = Field([128, 64], description="dense encoder sizes (decoder mirrors)")
    channels: list[int] = Field([16, 32], min_length=1,
                                description="conv encoder channels, stride 2 each")
    latent: int = Field(16, gt=0, description="size of the code")
    activation: ActName = Field("relu", description="nonlinearity between layers")
    norm: NormName = Field("none", description="normalization between layers")
    noise_std: float = Field(0.0, ge=0.0, description="denoising: input noise std in training")
    sparse: float = Field(0.0, ge=0.0, description="sparse: weight of the L1 penalty on codes")
    variational: bool = Field(False, description="VAE: a Gaussian code with a KL penalty")
    beta: float = Field(1.0, ge=0.0, description="weight of the KL term (beta-VAE)")


class Autoencoder(nn.Module):
    """encoder -> code (-> mean, log-variance when variational) -> decoder."""

    task = "reconstruction"

    def __init__(self, cfg: AutoencoderConfig, encoder: nn.Module, enc_size: int,
                 decoder: nn.Module) -> None:
        super().__init__()
        self.latent_dim, self.variational = cfg.latent, cfg.variational
        self.noise_std, self.sparse, self.beta = cfg.noise_std, cfg.sparse, cfg.beta
        self.encoder = encoder  # (B, *input) -> (B, enc_size)
        self.to_code = nn.Linear(enc_size, cfg.latent * (2 if cfg.variational else 1))
        self.decoder = decoder  # (B, latent) -> (B, *input)
        self._extra = torch.zeros(())

    def _posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.to_code(self.encoder(x))
        if not self.variational:
            return h, None
        mu, logvar = h.chunk(2, dim=1)  # (B, latent) each
        return mu, logvar.clamp(-10.0, 10.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of x: (B, latent); the posterior mean for a VAE."""
        return self._posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """An example from a code: (B, latent) -> (B, *input)."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)  # denoising: corrupt the input only
        mu, logvar = self._posterior(x)
        z = mu
        if logvar is not None:
            if self.training:  # reparameterization trick
                z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1).mean()
            self._extra = self.beta * kl
        elif self.sparse > 0:
            self._extra = self.sparse * z.abs().mean()
        else:
            self._extra = z.new_zeros(())
        return self.decoder(z)

    def extra_loss(self) -> torch.Tensor:
        """The regularization term of the last forward (0 for a plain autoencoder)."""
        return self._extra


def _dense(cfg: AutoencoderConfig, shape: DataShape) -> tuple[nn.Module, int, nn.Module]:
    n = flat_size(shape.input_shape)
    enc = nn.Sequential(nn.Flatten(1), *dense_stack(n, cfg.hidden, cfg.activation, cfg.norm))
    back = list(reversed(cfg.hidden))
    dec = nn.Sequential(*dense_stack(cfg.latent, back, cfg.activation, cfg.norm),
                        nn.Linear(back[-1] if back else cfg.latent, n),
                        Reshape(shape.input_shape))
    return enc, cfg.hidden[-1] if cfg.hidden else n, dec


def _conv(cfg: AutoencoderConfig, shape: DataShape) -> tuple[nn.Module, int, nn.Module]:
    if shape.kind == "tabular":
        raise UserError("model.architecture", "conv autoencoders need image or sequence data",
                        "use architecture: dense for tabular data")
    dims = 2 if shape.kind == "image" else 1
    enc_layers: list[nn.Module] = [] if dims == 2 else [ChannelsFirst()]
    sizes = [probe(nn.Sequential(*enc_layers), shape.input_shape)]  # (C, *positions) per stage
    for ch in cfg.channels:
        enc_layers.append(ConvNormAct(dims, sizes[-1][0], ch, 3, 2, 1, cfg.norm, cfg.activation))
        sizes.append(probe(nn.Sequential(*enc_layers), shape.input_shape))
    bottom = sizes[-1]
    enc = nn.Sequential(*enc_layers, nn.Flatten(1))
    dec_layers: list[nn.Module] = [nn.Linear(cfg.latent, flat_size(bottom)), make_act(
        cfg.activation), Reshape(bottom)]
    tconv = nn.ConvTranspose2d if dims == 2 else nn.ConvTranspose1d
    for i in range(len(cfg.channels), 0, -1):
        have, want = sizes[i], sizes[i - 1]
        # output_padding makes each transposed conv return exactly the encoder's input size
        extra = tuple(w - (2 * h - 1) for h, w in zip(have[1:], want[1:]))
        last = i == 1
        dec_layers.append(tconv(have[0], want[0] if last else sizes[i - 1][0], 3, 2, 1, extra))
        if not last:
            dec_layers += [make_norm(cfg.norm, want[0], dims), make_act(cfg.activation)]
    if dims == 1:
        dec_layers.append(ChannelsFirst())  # (B, F, T) -> (B, T, F)
    return enc, flat_size(bottom), nn.Sequential(*dec_layers)


def _build_autoencoder(cfg: AutoencoderConfig, shape: DataShape) -> Autoencoder:
    enc, size, dec = (_conv if cfg.architecture == "conv" else _dense)(cfg, shape)
    return Autoencoder(cfg, enc, size, dec)


@MODELS.register("autoencoder", config=AutoencoderConfig)
def autoencoder(cfg: AutoencoderConfig, shape: DataShape) -> Autoencoder:
    """Autoencoder, dense or conv; denoising (noise_std), sparse (L1) or variational (KL)."""
    return _build_autoencoder(cfg, shape)
