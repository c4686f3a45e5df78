"""Losses against torch and hand-computed values on tiny tensors; loss/task fit errors."""

import math

import pytest
import torch
import torch.nn.functional as F

from archopt.errors import UserError
from archopt.registry import LOSSES
from archopt.train.losses import check_loss

LOGITS = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
Y = torch.tensor([0, 2])


def build(name, **params):
    return LOSSES.build({"name": name, **params}, "train.loss", num_classes=3)


def test_cross_entropy_matches_torch_with_smoothing_and_weights():
    got = build("cross_entropy", label_smoothing=0.1, class_weights=[1.0, 2.0, 3.0])(LOGITS, Y)
    want = F.cross_entropy(LOGITS, Y, weight=torch.tensor([1.0, 2.0, 3.0]), label_smoothing=0.1)
    assert torch.allclose(got, want)


def test_cross_entropy_takes_soft_targets():
    soft = torch.tensor([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    got = build("cross_entropy")(LOGITS, soft)
    want = -(soft * F.log_softmax(LOGITS, -1)).sum(-1).mean()
    assert torch.allclose(got, want)


def test_focal_with_gamma_zero_is_cross_entropy():
    assert torch.allclose(build("focal", gamma=0.0)(LOGITS, Y), F.cross_entropy(LOGITS, Y))


def test_focal_hand_computed():
    p = F.softmax(LOGITS, -1)[torch.arange(2), Y]
    want = (-(1 - p) ** 2 * p.log()).mean()
    assert torch.allclose(build("focal", gamma=2.0)(LOGITS, Y), want)
    # per-class alpha weights each example by its class's alpha
    want_a = (-torch.tensor([0.25, 0.75]) * (1 - p) ** 2 * p.log()).mean()
    assert torch.allclose(build("focal", gamma=2.0, alpha=[0.25, 0.5, 0.75])(LOGITS, Y), want_a)


def test_bce_uses_one_hot_targets_for_class_indices():
    want = F.binary_cross_entropy_with_logits(LOGITS, F.one_hot(Y, 3).float())
    assert torch.allclose(build("bce")(LOGITS, Y), want)


def test_regression_losses_hand_computed():
    pred, y = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [0.0]])
    assert build("mse")(pred, y).item() == pytest.approx(5.0)
    assert build("mae")(pred, y).item() == pytest.approx(2.0)
    # huber delta 1: 0.5*1^2 for |e|=1, 1*(3-0.5) for |e|=3
    assert build("huber", delta=1.0)(pred, y).item() == pytest.approx((0.5 + 2.5) / 2)
    # (B,) predictions against (B, 1) targets are reshaped, not broadcast to (B, B)
    assert build("mse")(pred.squeeze(1), y).item() == pytest.approx(5.0)


def test_gan_losses_hand_computed():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    ns = build("gan_nonsaturating")
    assert ns.d_loss(real, fake).item() == pytest.approx(math.log1p(math.exp(-2)) +
                                                         math.log1p(math.exp(-1)))
    assert ns.g_loss(fake).item() == pytest.approx(math.log1p(math.exp(1)))
    hinge = build("gan_hinge")
    assert hinge.d_loss(real, fake).item() == pytest.approx(0.0)
    assert hinge.g_loss(fake).item() == pytest.approx(1.0)


def test_class_weights_must_match_classes():
    with pytest.raises(UserError, match="class_weights"):
        build("cross_entropy", class_weights=[1.0, 2.0])


def test_unknown_loss_parameter_is_named():
    with pytest.raises(UserError) as e:
        build("focal", gamm=1.0)
    assert e.value.where == "train.loss.gamm" and "gamma" in e.value.hint


def test_mse_for_classification_says_why_and_what_instead():
    with pytest.raises(UserError) as e:
        check_loss("mse", "classification")
    assert "class indices" in e.value.what and "cross_entropy" in e.value.hint


@pytest.mark.parametrize("name,task", [("cross_entropy", "regression"),
                                       ("mse", "generation"), ("gan_hinge", "classification")])
def test_losses_that_do_not_fit_are_errors(name, task):
    with pytest.raises(UserError, match="does not fit"):
        check_loss(name, task)
