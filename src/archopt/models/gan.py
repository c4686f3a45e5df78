"""``gan``: a generator and a discriminator; DCGAN-style convs for images, MLPs otherwise.

The model's task is ``generation``. ``forward(z) = generator(z)``; ``discriminator(x)`` returns
logits (B, 1); ``sample(n, generator)`` draws n examples from N(0, 1) codes. The generator's
output is linear by default because archopt standardizes data (DCGAN's tanh suits [-1, 1] data).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models.base import FamilyConfig, flat_size, probe
from archopt.models.blocks import Reshape, dense_stack, make_act, make_norm
from archopt.registry import MODELS


class GANConfig(FamilyConfig):
    """A generator from latent codes to examples and a real/fake discriminator."""

    architecture: Literal["auto", "conv", "dense"] = Field(
        "auto", description="auto: conv (DCGAN) for images, dense for vectors and sequences")
    latent: int = Field(32, gt=0, description="size of the generator's input code")
    channels: list[int] | None = Field(
        None, description="conv generator channels, widest first, one 2x upsampling each; "
        "None: DCGAN sizing (start at 4x4, 64 channels at full size)")
    hidden: list[int] = Field([128, 256], min_length=1, description="dense generator sizes")
    output: Literal["none", "tanh"] = Field("none", description="generator output activation")


class GAN(nn.Module):
    """generator (latent -> example) and discriminator (example -> real/fake logit)."""

    task = "generation"

    def __init__(self, generator: nn.Module, discriminator: nn.Module, latent: int) -> None:
        super().__init__()
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n examples from codes drawn with ``generator`` (a torch.Generator) or the global RNG."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator,
                        device=generator.device if generator is not None else "cpu").to(device)
        return self.generator(z)


class Crop(nn.Module):
    """Keep the top-left (H, W) of a feature map that upsampling made slightly too large."""

    def __init__(self, h: int, w: int) -> None:
        super().__init__()
        self.h, self.w = h, w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[..., : self.h, : self.w]


def dcgan_channels(h: int, w: int) -> list[int]:
    """DCGAN sizing: upsample from about 4x4, doubling, with 64 channels at the last stage."""
    n = max(1, math.ceil(math.log2(max(1.0, min(h, w) / 4))))
    return [64 * 2 ** (n - 1 - i) for i in range(n)]


def _conv_pair(cfg: GANConfig, shape: DataShape) -> tuple[nn.Module, nn.Module]:
    c, h, w = shape.input_shape
    chans = cfg.channels or dcgan_channels(h, w)
    n = len(chans)
    h0, w0 = math.ceil(h / 2**n), math.ceil(w / 2**n)
    # 1) project and reshape the code, 2) upsample x2 per stage, 3) a 3x3 conv to the channels
    g: list[nn.Module] = [nn.Linear(cfg.latent, chans[0] * h0 * w0), Reshape((chans[0], h0, w0)),
                          nn.BatchNorm2d(chans[0]), nn.ReLU()]
    for i, ch in enumerate(chans):
        out = chans[i + 1] if i + 1 < n else chans[-1]
        g += [nn.ConvTranspose2d(ch, out, 4, 2, 1), nn.BatchNorm2d(out), nn.ReLU()]
    g += [nn.Conv2d(chans[-1], c, 3, 1, 1), Crop(h, w), make_act(cfg.output)]
    # the discriminator mirrors it: strided 3x3 convs, LeakyReLU(0.2), no norm on the first
    d: list[nn.Module] = []
    ch_in = c
    for i, ch in enumerate(reversed(chans)):
        d += [nn.Conv2d(ch_in, ch, 3, 2, 1), make_norm("none" if i == 0 else "batch", ch, 2),
              nn.LeakyReLU(0.2)]
        ch_in = ch
    d.append(nn.Flatten(1))
    (size,) = probe(nn.Sequential(*d), shape.input_shape)
    return nn.Sequential(*g), nn.Sequential(*d, nn.Linear(size, 1))


def _dense_pair(cfg: GANConfig, shape: DataShape) -> tuple[nn.Module, nn.Module]:
    n = flat_size(shape.input_shape)
    gen = nn.Sequential(*dense_stack(cfg.latent, cfg.hidden, "relu"),
                        nn.Linear(cfg.hidden[-1], n), make_act(cfg.output),
                        Reshape(shape.input_shape))
    back = list(reversed(cfg.hidden))
    disc = nn.Sequential(nn.Flatten(1), *dense_stack(n, back, "leaky_relu"),
                         nn.Linear(back[-1], 1))
    return gen, disc


def _build_gan(cfg: GANConfig, shape: DataShape) -> GAN:
    conv = cfg.architecture == "conv" or (cfg.architecture == "auto" and shape.kind == "image")
    if conv and shape.kind != "image":
        raise UserError("model.architecture", f"conv GANs need image data, not {shape.kind}",
                        "use architecture: dense (or auto)")
    gen, disc = (_conv_pair if conv else _dense_pair)(cfg, shape)
    return GAN(gen, disc, cfg.latent)


@MODELS.register("gan", config=GANConfig)
def gan(cfg: GANConfig, shape: DataShape) -> GAN:
    """GAN: DCGAN-style conv generator/discriminator for images, MLPs for other data."""
    return _build_gan(cfg, shape)


class DCGANConfig(GANConfig):
    kinds = ("image",)
    architecture: Literal["auto", "conv", "dense"] = Field("conv", description="conv (DCGAN)")
    latent: int = Field(100, gt=0, description="size of the code (100 in the DCGAN paper)")


@MODELS.register("dcgan", config=DCGANConfig)
def dcgan(cfg: DCGANConfig, shape: DataShape) -> GAN:
    """DCGAN (Radford et al. 2016) sized for the image: 4x4 start, x2 upsampling, 64 at the end."""
    return _build_gan(cfg, shape)
