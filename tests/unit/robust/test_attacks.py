"""FGSM, PGD and random noise stay in the epsilon ball and the valid range, and do damage."""

from __future__ import annotations

import pytest
import torch

from archopt.robust import attacks as atk
from archopt.robust.domain import Domain, data_domain
from archopt.robust.measure import check_perturbation
from robustmodels import digits, linear

PIXELS = Domain(0.0, 16.0, 16.0)
UNBOUNDED = Domain(None, None, 16.0)


def accuracy(f, x, y):
    with torch.no_grad():
        return float((f(x).argmax(-1) == y).float().mean())


@pytest.mark.parametrize("norm,eps", [("linf", 2.0), ("l2", 12.0)])
@pytest.mark.parametrize("domain", [PIXELS, UNBOUNDED], ids=["pixels", "unbounded"])
def test_attacks_stay_in_the_ball_and_the_range(norm, eps, domain):
    f = linear()
    _, _, x, y = digits()
    gen = torch.Generator().manual_seed(0)
    for xa in (atk.fgsm(f, x, y, eps, domain, norm),
               atk.pgd(f, x, y, eps, domain, norm, steps=10, restarts=2, gen=gen),
               atk.random_noise(x, eps, domain, norm, gen)):
        d = (xa - x).flatten(1)
        size = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)
        assert float(size.max()) <= eps * (1 + 1e-5)
        if domain.bounded:
            assert float(xa.min()) >= 0.0 and float(xa.max()) <= 16.0
        check_perturbation(xa, x, eps, norm, domain)  # the check run on every batch agrees


def test_unbounded_attacks_leave_the_pixel_range():
    """Unbounded data is not clamped to a guessed [0, 1] (torchattacks#39's mistake)."""
    f = linear()
    _, _, x, y = digits()
    xa = atk.pgd(f, x, y, 2.0, UNBOUNDED, steps=5, gen=torch.Generator().manual_seed(0))
    assert float(xa.min()) < 0.0


def test_pgd_is_stronger_than_fgsm_and_fgsm_than_nothing():
    f = linear()
    _, _, x, y = digits()
    clean = accuracy(f, x, y)
    fg = accuracy(f, atk.fgsm(f, x, y, 1.6, PIXELS), y)
    pg = accuracy(f, atk.pgd(f, x, y, 1.6, PIXELS, steps=20,
                             gen=torch.Generator().manual_seed(0)), y)
    assert clean > 0.85
    assert pg <= fg < clean - 0.1


def test_the_check_catches_a_perturbation_out_of_the_ball_or_range():
    x = torch.full((2, 1, 8, 8), 8.0)
    with pytest.raises(AssertionError, match="eps"):
        check_perturbation(x + 1.5, x, 1.0, "linf", PIXELS)
    with pytest.raises(AssertionError, match="range"):
        check_perturbation(torch.full_like(x, 16.5), torch.full_like(x, 16.0), 1.0, "linf",
                           PIXELS)


def test_the_domain_comes_from_the_data():
    raw = torch.tensor([[0.0, 3.0], [16.0, 1.0]])
    assert data_domain(raw.view(1, 1, 2, 2), "image").to_dict() == {"lo": 0.0, "hi": 16.0,
                                                                     "span": 16.0}
    assert data_domain(raw, "tabular").bounded is False
    assert data_domain(raw, "tabular", "-1:20").to_dict()["lo"] == -1.0


def test_art_pgd_agrees_with_ours():
    """A maintained library's PGD and ours find about the same accuracy on one case."""
    import numpy as np
    from art.attacks.evasion import ProjectedGradientDescentPyTorch
    from art.estimators.classification import PyTorchClassifier

    f = linear()
    _, _, x, y = digits()
    clf = PyTorchClassifier(model=f, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 8, 8),
                            nb_classes=10, clip_values=(0.0, 16.0), device_type="cpu")
    np.random.seed(0)
    art = ProjectedGradientDescentPyTorch(clf, norm=np.inf, eps=1.6, eps_step=0.2, max_iter=20,
                                          num_random_init=1, verbose=False)
    theirs = accuracy(f, torch.from_numpy(art.generate(x.numpy(), y=y.numpy())), y)
    ours = accuracy(f, atk.pgd(f, x, y, 1.6, PIXELS, steps=20, step_size=0.2,
                               gen=torch.Generator().manual_seed(0)), y)
    assert accuracy(f, x, y) - ours > 0.2  # the case is one where PGD does real damage
    assert abs(theirs - ours) <= 0.05
