"""Pieces of the loop: the L1/L2 penalty, the NaN guard, the accumulator."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from archopt.errors import UserError
from archopt.train.loop import check_finite, penalty
from archopt.train.setup import penalized_weights, resolve_length
from archopt.train.trainer import Accumulator


def test_penalty_is_on_weights_only():
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[1.0, -2.0], [0.5, 0.0]]))
        m[0].bias.fill_(10.0)
    t = SimpleNamespace(penalized=penalized_weights(m), l1=0.1, l2=0.01, device="cpu")
    t.device = torch.device("cpu")
    assert penalty(t).item() == pytest.approx(0.1 * 3.5 + 0.01 * 5.25)


def test_nan_loss_stops_with_a_hint():
    t = SimpleNamespace(device=torch.device("cpu"), global_step=7, epoch=1)
    check_finite(t, torch.tensor(1.0))
    with pytest.raises(UserError) as e:
        check_finite(t, torch.tensor(float("nan")))
    assert "step 7" in e.value.where and "lr" in e.value.hint and "clip" in e.value.hint


def test_accumulator_weights_by_batch_size_and_round_trips():
    acc = Accumulator()
    acc.add({"loss": torch.tensor(1.0)}, torch.zeros(4, 2), torch.zeros(4), 4)
    acc.add({"loss": torch.tensor(4.0)}, torch.ones(2, 2), torch.ones(2), 2)
    assert acc.mean_losses()["loss"] == pytest.approx(2.0)
    acc2 = Accumulator()
    acc2.load_state_dict(acc.state_dict(), torch.device("cpu"))
    assert acc2.mean_losses() == acc.mean_losses()
    assert torch.equal(acc2.gathered()[0], acc.gathered()[0])


def test_epochs_and_max_steps():
    assert resolve_length(None, None, 10) == (10, 100)
    assert resolve_length(None, 25, 10) == (3, 25)
    assert resolve_length(5, 25, 10) == (3, 25)   # max_steps comes first: 3 epochs, not 5
    assert resolve_length(2, 25, 10) == (2, 20)   # epochs come first
    assert resolve_length(2, None, 10) == (2, 20)
