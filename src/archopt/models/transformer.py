"""``transformer``: an encoder classifier (ViT-style) for sequences and images.

Blocks: a patch embedding (a strided conv: each step / patch becomes one token), a positional
encoding, pre-norm ``EncoderBlock``s, a final LayerNorm, then ``cls`` token or mean pooling.
Sequences (B, T, F) may carry lengths: padded tokens are masked out of attention and pooling.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models.base import FamilyConfig, LengthAwareClassifier, head_layer
from archopt.models.blocks import EncoderBlock, make_position, masked_mean, padding_mask
from archopt.registry import MODELS


class TransformerConfig(FamilyConfig):
    """A transformer encoder over tokens made from time steps or image patches."""

    kinds = ("image", "sequence")
    width: int = Field(64, gt=0, description="token embedding size")
    depth: int = Field(2, ge=1, description="encoder blocks")
    heads: int = Field(4, ge=1, description="attention heads; must divide width")
    mlp_ratio: float = Field(2.0, gt=0, description="hidden size of each block's MLP / width")
    patch_size: int = Field(4, ge=1, description="side of the square image patches")
    sequence_patch: int = Field(1, ge=1, description="time steps per token for sequences")
    position: Literal["sinusoidal", "learned", "none"] = Field(
        "learned", description="positional encoding added to the tokens")
    pooling: Literal["cls", "mean"] = Field("cls", description="class token or mean of tokens")
    activation: Literal["gelu", "relu", "silu"] = Field("gelu", description="MLP nonlinearity")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="attention and MLP dropout")


class TransformerEncoder(nn.Module):
    """(B, *input) [+ lengths] -> (B, width)."""

    def __init__(self, cfg: TransformerConfig, shape: DataShape) -> None:
        super().__init__()
        self.image = shape.kind == "image"
        if self.image:
            c, h, w = shape.input_shape
            p = cfg.patch_size
            if h % p or w % p:
                fits = [d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]
                raise UserError("model.patch_size", f"patches of {p}x{p} do not tile the {h}x{w}"
                                " image", f"use one of: {', '.join(map(str, fits))}")
            self.embed = nn.Conv2d(c, cfg.width, p, stride=p)
            tokens, self.step = (h // p) * (w // p), 1
        else:
            t, f = shape.input_shape
            p = cfg.sequence_patch
            if t % p:
                fits = [d for d in range(1, t + 1) if t % d == 0]
                raise UserError("model.sequence_patch", f"{p} steps per token do not tile the "
                                f"{t} steps", f"use one of: {', '.join(map(str, fits))}")
            self.embed = nn.Conv1d(f, cfg.width, p, stride=p)
            tokens, self.step = t // p, p
        self.cls = nn.Parameter(torch.zeros(1, 1, cfg.width)) if cfg.pooling == "cls" else None
        self.pos = make_position(cfg.position, cfg.width, tokens + 1)
        self.blocks = nn.ModuleList(EncoderBlock(cfg.width, cfg.heads, cfg.mlp_ratio,
                                                 cfg.dropout, cfg.activation)
                                    for _ in range(cfg.depth))
        self.ln = nn.LayerNorm(cfg.width)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.image:
            tok = self.embed(x).flatten(2).transpose(1, 2)  # (B, N, C)
            lengths = None
        else:
            tok = self.embed(x.transpose(1, 2)).transpose(1, 2)  # (B, T / step, C)
        B, N, _ = tok.shape
        mask = None if lengths is None else padding_mask(
            torch.div(lengths + self.step - 1, self.step, rounding_mode="floor"), N)
        if self.cls is not None:
            tok = torch.cat([self.cls.expand(B, -1, -1), tok], dim=1)  # (B, 1 + N, C)
            if mask is not None:
                mask = torch.cat([mask.new_zeros(B, 1), mask], dim=1)
        tok = self.pos(tok)
        for block in self.blocks:
            tok = block(tok, mask)
        tok = self.ln(tok)
        if self.cls is not None:
            return tok[:, 0]  # (B, C)
        return masked_mean(tok, mask)


class Transformer(LengthAwareClassifier):
    """token embedding + encoder + pooling (features) -> linear head."""


def _build_transformer(cfg: TransformerConfig, shape: DataShape) -> Transformer:
    if cfg.width % cfg.heads:
        g = math.gcd(cfg.width, cfg.heads)
        raise UserError("model.heads", f"{cfg.heads} heads do not divide the width {cfg.width}",
                        f"choose heads that divide {cfg.width} (e.g. {g}) or change width")
    return Transformer(TransformerEncoder(cfg, shape), head_layer(cfg.width, shape))


@MODELS.register("transformer", config=TransformerConfig)
def transformer(cfg: TransformerConfig, shape: DataShape) -> Transformer:
    """Transformer encoder classifier on time steps or image patches, cls or mean pooling."""
    return _build_transformer(cfg, shape)
