"""Attention weights as an explanation: what the model itself says it looked at.

- rnn models with ``pooling: attention``: the pooling's softmax weights over the time steps.
- transformers: attention rollout (Abnar & Zuidema 2020, "Quantifying attention flow in
  transformers"): each block's attention averaged over its heads, the residual connection added
  as the identity (0.5 A + 0.5 I, rows renormalized), multiplied through the blocks; the row of
  the class token (``pooling: cls``) or the mean of the real tokens' rows (``pooling: mean``)
  gives a weight per token, spread over the time steps or image patch the token was made from.

Both are unsigned, sum to 1 over the input's positions (less what falls on padding) and are the
same for every class: they say where the model looked, not what for. Padded steps get none.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError

NO_ATTENTION_HINT = ("attention weights exist for rnn models with pooling: attention and for "
                     "transformer models; use integrated_gradients")


def attention_pools(model: nn.Module) -> list[nn.Module]:
    from archopt.models.blocks.attention import AttentionPool

    return [m for m in model.modules() if isinstance(m, AttentionPool)]


def transformer_encoders(model: nn.Module) -> list[nn.Module]:
    from archopt.models.transformer import TransformerEncoder

    return [m for m in model.modules() if isinstance(m, TransformerEncoder)]


def has_attention(model: nn.Module, kind: str) -> bool:
    """Whether ``attention`` applies: a transformer, or attention pooling over a sequence."""
    return bool(transformer_encoders(model)) or (bool(attention_pools(model))
                                                 and kind == "sequence")


def _recorded(module_type: type, model: Any, call: Any, record: Any) -> list[torch.Tensor]:
    """Run ``call()`` without gradients, ``record(module, args)`` for every ``module_type``."""
    seen: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda mod, args, out: seen.append(record(mod, args)))
               for m in model.modules() if isinstance(m, module_type)]
    try:
        with torch.no_grad():
            call()
    finally:
        for h in handles:
            h.remove()
    return seen


def _pool_weights(pool: nn.Module, args: Any) -> torch.Tensor:
    h, pad = args[0], (args[1] if len(args) > 1 else None)
    s = pool.score(h).squeeze(-1)  # (B, T)
    if pad is not None:
        s = s.masked_fill(pad, float("-inf"))
    return torch.softmax(s, dim=1)  # (B, T)


def head_maps(attn: nn.Module, args: Any) -> torch.Tensor:
    """(B, heads, T, T): a SelfAttention's softmax(q k^T / sqrt(d)) on its inputs ``args``
    (x, pad mask), as ``F.scaled_dot_product_attention`` computes it inside."""
    h, pad = args[0], (args[1] if len(args) > 1 else None)
    B, T, _ = h.shape
    inner = attn.proj.in_features
    qkv = attn.qkv(h).reshape(B, T, 3, attn.heads, inner // attn.heads).permute(2, 0, 3, 1, 4)
    q, k, _ = qkv.unbind(0)  # (B, heads, T, head size)
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, heads, T, T)
    if pad is not None:
        s = s.masked_fill(pad[:, None, None, :], float("-inf"))
    return torch.softmax(s, dim=-1)  # (B, heads, T, T)


def _head_mean(attn: nn.Module, args: Any) -> torch.Tensor:
    return head_maps(attn, args).mean(1)  # (B, T, T)


def rollout(maps: list[torch.Tensor]) -> torch.Tensor:
    """(B, T, T): attention rollout through the blocks, residual included."""
    eye = torch.eye(maps[0].shape[-1])
    out = eye.expand_as(maps[0])
    for a in maps:
        a = 0.5 * a + 0.5 * eye
        a = a / a.sum(-1, keepdim=True)
        out = a @ out  # (B, T, T)
    return out


def _transformer(ctx: Any, encoder: nn.Module, x: torch.Tensor,
                 lengths: torch.Tensor | None) -> torch.Tensor:
    """(B, *input) token weights of a transformer, spread over the inputs they came from."""
    from archopt.models.blocks.attention import SelfAttention

    maps = _recorded(SelfAttention, encoder, lambda: ctx.model(x, lengths), _head_mean)
    r = rollout(maps[-len(encoder.blocks):])  # (B, T, T), T = tokens (+ 1 class token)
    if encoder.cls is not None:
        w = r[:, 0, 1:]  # (B, N) what the class token gathered from the tokens
        w = w / w.sum(1, keepdim=True).clamp(min=1e-12)  # less what it kept for itself
    else:
        n = r.shape[1]
        real = torch.ones(len(x), n)
        if lengths is not None and not encoder.image:
            steps = torch.div(lengths + encoder.step - 1, encoder.step, rounding_mode="floor")
            real = (torch.arange(n)[None, :] < steps[:, None]).float()  # (B, N)
        w = (r * real[:, :, None]).sum(1) / real.sum(1, keepdim=True)  # (B, N)
    if encoder.image:
        C, H, W = x.shape[1:]
        p = encoder.embed.kernel_size[0]
        grid = w.reshape(len(x), H // p, W // p)
        per = grid.repeat_interleave(p, 1).repeat_interleave(p, 2) / (p * p)  # (B, H, W)
        return per.unsqueeze(1).expand_as(x)
    per = w.repeat_interleave(encoder.step, 1)[:, :x.shape[1]] / encoder.step  # (B, T)
    return per.unsqueeze(-1).expand_as(x)


def attention(ctx: Any, x: torch.Tensor, target: torch.Tensor,
              lengths: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Attention pooling's weights (rnn) or attention rollout (transformer) per input position:
    unsigned, the same for every class."""
    from archopt.models.blocks.attention import AttentionPool

    model = ctx.model.model
    encoders = transformer_encoders(model)
    if encoders:
        attr = _transformer(ctx, encoders[-1], x, lengths)
        return attr.contiguous(), {"signed": False, "how": "attention rollout over "
                                   f"{len(encoders[-1].blocks)} blocks (Abnar & Zuidema 2020)"}
    if not attention_pools(model) or ctx.kind != "sequence":
        raise UserError("--method attention", "the model has no attention to show",
                        NO_ATTENTION_HINT)
    w = _recorded(AttentionPool, model, lambda: ctx.model(x, lengths), _pool_weights)[-1]
    if w.shape[1] != x.shape[1]:  # (B, T') steps of the recurrence: the input's steps
        raise UserError("--method attention", "the attention runs over other positions than "
                        "the input's time steps", "use integrated_gradients")
    return w.unsqueeze(-1).expand_as(x).contiguous(), {"signed": False,
                                                       "how": "the attention pooling's weights"}
