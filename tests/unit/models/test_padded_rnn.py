"""PaddedRNN computes what packing computes (the exportable path of variable-length RNNs)."""

from __future__ import annotations

import pytest
import torch

from archopt.data.dataset import DataShape
from archopt.models import build_model
from archopt.models.blocks.padded_rnn import reverse_within_length

SHAPE = DataShape("sequence", (12, 3), "classification", 4, variable_length=True)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean", "attention", "flatten"])
def test_same_outputs_as_packing(cell: str, bidirectional: bool, pooling: str) -> None:
    model = build_model({"name": "rnn", "cell": cell, "hidden": 5, "layers": 2,
                         "bidirectional": bidirectional, "pooling": pooling}, SHAPE, seed=0)
    model.eval()
    lengths = torch.tensor([12, 1, 5, 7, 3, 12])
    x = torch.randn(6, 12, 3, generator=torch.Generator().manual_seed(0))
    x = x * (torch.arange(12)[None, :, None] < lengths[:, None, None])
    packed = model(x, lengths)
    model.features.without_packing()
    padded = model(x, lengths)
    assert model.features.padded is not None
    assert torch.allclose(packed, padded, atol=1e-6)
    assert not torch.allclose(padded, model(x, torch.full((6,), 12)), atol=1e-3)


def test_reverse_within_length() -> None:
    x = torch.arange(5.0).view(1, 5, 1).repeat(2, 1, 1)
    out = reverse_within_length(x, torch.tensor([3, 5]))
    assert out[0, :, 0].tolist() == [2.0, 1.0, 0.0, 3.0, 4.0]
    assert out[1, :, 0].tolist() == [4.0, 3.0, 2.0, 1.0, 0.0]
    assert torch.equal(reverse_within_length(out, torch.tensor([3, 5])), x)
