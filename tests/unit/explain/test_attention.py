"""Attention as an explanation: the maps are the ones the model computes, the rollout follows
them through the blocks, and a transformer's token weights land on the inputs they came from."""

from __future__ import annotations

import pytest
import torch

from archopt.data.dataset import DataShape
from archopt.explain.attention import head_maps, rollout
from archopt.explain.methods import Context, applicable, run_method
from archopt.explain.subject import ExplainedModel
from archopt.models import build_model
from archopt.models.blocks.attention import SelfAttention, padding_mask


def test_head_maps_are_the_attention_the_block_computes() -> None:
    torch.manual_seed(0)
    attn = SelfAttention(8, 2).eval()
    x = torch.randn(2, 5, 8)
    pad = padding_mask(torch.tensor([5, 3]), 5)  # (B, T): the second example's last 2 padded
    maps = head_maps(attn, (x, pad))  # (B, heads, T, T)
    assert maps.shape == (2, 2, 5, 5)
    assert (maps[1, :, :, 3:] == 0).all()  # nothing attends to padding
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 2, 5))
    v = attn.qkv(x).reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)[2]  # (B, heads, T, 4)
    y = attn.proj((maps @ v).transpose(1, 2).reshape(2, 5, 8))
    torch.testing.assert_close(y, attn(x, pad))  # the block's own output from these maps


def test_rollout_adds_the_residual_and_multiplies_through_the_blocks() -> None:
    a = torch.zeros(1, 3, 3)
    a[0, :, 2] = 1.0  # every token attends to token 2 only
    one = rollout([a])
    torch.testing.assert_close(one[0, 0], torch.tensor([0.5, 0.0, 0.5]))
    two = rollout([a, a])  # token 0 -> (0 or 2) -> ...: 1/4 stays on 0, 3/4 reaches 2
    torch.testing.assert_close(two[0, 0], torch.tensor([0.25, 0.0, 0.75]))


def explained(shape: DataShape, **cfg: object) -> ExplainedModel:
    model = build_model({"name": "transformer", "width": 8, "depth": 2, "heads": 2, **cfg},
                        shape, seed=0)
    return ExplainedModel(model, shape, {})


def test_sequence_tokens_spread_over_their_steps_and_padding_gets_nothing() -> None:
    shape = DataShape("sequence", (12, 2), "classification", 3, variable_length=True)
    model = explained(shape, sequence_patch=3, pooling="mean")
    assert "attention" in applicable(model.model, "sequence")
    x = torch.randn(2, 12, 2)
    lengths = torch.tensor([12, 6])
    x[1, 6:] = 0.0
    ctx = Context(model, "sequence", (12, 2), torch.zeros(12, 2), torch.zeros(4, 12, 2))
    attr, info = run_method("attention", ctx, x, torch.zeros(2, dtype=torch.long), lengths)
    assert "rollout" in info["how"] and not info["signed"]
    assert attr.shape == x.shape and (attr >= 0).all()
    assert (attr[1, 6:] == 0).all()
    torch.testing.assert_close(attr[:, :, 0].sum(1), torch.ones(2))  # per channel: sums to 1
    assert (attr[:, :, 0] == attr[:, :, 1]).all()  # the same for every channel
    steps = attr[0, :, 0].reshape(4, 3)  # 4 tokens of 3 steps: constant within a token
    assert (steps == steps[:, :1]).all() and steps[:, 0].unique().numel() > 1


def test_image_tokens_cover_their_patches() -> None:
    shape = DataShape("image", (3, 8, 8), "classification", 4)
    model = explained(shape, patch_size=4)  # 4 patches and a class token
    ctx = Context(model, "image", (3, 8, 8), torch.zeros(3, 8, 8), torch.zeros(4, 3, 8, 8))
    x = torch.randn(2, 3, 8, 8)
    attr, _ = run_method("attention", ctx, x, torch.zeros(2, dtype=torch.long), None)
    assert attr.shape == x.shape
    torch.testing.assert_close(attr[:, 0].sum((1, 2)), torch.ones(2))
    patches = attr[:, 0].reshape(2, 2, 4, 2, 4)  # (B, row patch, 4, column patch, 4)
    assert (patches == patches[:, :, :1, :, :1]).all()


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_models_without_attention_do_not_offer_it(name: str) -> None:
    shape = DataShape("sequence", (12, 2), "classification", 3)
    model = build_model({"name": name}, shape, seed=0)
    assert "attention" not in applicable(model, "sequence")
