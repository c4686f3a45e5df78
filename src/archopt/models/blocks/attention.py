"""Multi-head self-attention, a pre-norm transformer encoder block, and attention pooling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from archopt.models.blocks.mlp import FeedForward


class SelfAttention(nn.Module):
    """Multi-head self-attention on (B, T, C) through ``F.scaled_dot_product_attention``.

    The heads live in an inner width (``qkv``: C -> 3 x inner, ``proj``: inner -> C), equal to C
    when built; structured pruning removes whole heads from it (``heads`` and the inner width
    shrink, C stays), which is why the head size is read from the layers, not from C.
    ``pad_mask`` (B, T) is True at padded positions; they are never attended to.
    """

    def __init__(self, width: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        assert width % heads == 0, "heads must divide width"  # checked for users by the family
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        B, T, _ = x.shape
        inner = self.proj.in_features
        # (3, B, heads, T, head size): the same layout as splitting q, k, v then the heads
        qkv = self.qkv(x).reshape(B, T, 3, self.heads, inner // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        mask = None if pad_mask is None else ~pad_mask[:, None, None, :]  # True = may attend
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(B, T, inner)  # (B, T, inner)
        return self.proj(y)


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0,
                 act: str = "gelu") -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = SelfAttention(width, heads, dropout)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = FeedForward(width, int(width * mlp_ratio), act, dropout)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), pad_mask)
        return x + self.mlp(self.ln2(x))


class AttentionPool(nn.Module):
    """Weighted average over time with learned scores: (B, T, C) -> (B, C)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.score = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        s = self.score(x).squeeze(-1)  # (B, T)
        if pad_mask is not None:
            s = s.masked_fill(pad_mask, float("-inf"))
        w = torch.softmax(s, dim=1)  # (B, T)
        return (w.unsqueeze(-1) * x).sum(1)  # (B, C)


def padding_mask(lengths: torch.Tensor | None, steps: int) -> torch.Tensor | None:
    """(B, T) True where a position lies beyond the sequence's length; None without lengths."""
    if lengths is None:
        return None
    return torch.arange(steps, device=lengths.device)[None, :] >= lengths[:, None].clamp(min=1)


def masked_mean(x: torch.Tensor, pad_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over time of (B, T, C) ignoring padded steps: (B, C)."""
    if pad_mask is None:
        return x.mean(1)
    keep = (~pad_mask).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
    return (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)
