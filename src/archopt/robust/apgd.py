"""The strongest evaluation available offline: APGD (Croce and Hein 2020, the attacks inside
AutoAttack), with cross-entropy and difference-of-logits-ratio losses, from IBM ART.

ART round-trips through numpy and keeps the model in eval mode (``training_mode=False``); its
``clip_values`` are the data's valid range (None: unbounded), never an assumed [0, 1]. Its random
starts come from numpy's global RNG, seeded here for every call.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archopt.errors import UserError
from archopt.robust.domain import Domain

LOSSES = {"apgd-ce": "cross_entropy", "apgd-dlr": "difference_logits_ratio"}


def art() -> tuple[object, object]:
    """ART's PyTorchClassifier and AutoProjectedGradientDescent, or a UserError to install."""
    try:
        from art.attacks.evasion import AutoProjectedGradientDescent
        from art.estimators.classification import PyTorchClassifier
    except ImportError:
        raise UserError("--attack apgd", "APGD needs IBM ART (adversarial-robustness-toolbox), "
                        "which is not installed",
                        "pip install 'archopt[robust]' -c constraints.txt, or use --attack "
                        "fgsm,pgd") from None
    return PyTorchClassifier, AutoProjectedGradientDescent


def apgd(f: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, domain: Domain,
         classes: int, norm: str = "linf", loss: str = "apgd-ce", steps: int = 50,
         restarts: int = 1, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
    """APGD adversarial examples for ``x`` (raw units), on ``f``'s device.

    Args:
        f: the model on raw inputs (logits; eval mode).
        loss: ``apgd-ce`` or ``apgd-dlr`` (DLR needs three classes or more).
    """
    classifier_cls, attack_cls = art()
    if eps <= 0:
        return x.detach().clone()
    device = next(iter(f.parameters()), torch.zeros(0)).device
    clip = (domain.lo, domain.hi) if domain.bounded else None
    clf = classifier_cls(model=f, loss=nn.CrossEntropyLoss(), input_shape=tuple(x.shape[1:]),
                         nb_classes=classes, clip_values=clip,
                         device_type="gpu" if device.type == "cuda" else "cpu")
    attack = attack_cls(clf, norm=np.inf if norm == "linf" else 2, eps=eps,
                        eps_step=2 * eps / 10, max_iter=steps, nb_random_init=restarts,
                        batch_size=batch_size, loss_type=LOSSES[loss], verbose=False)
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        out = attack.generate(x.detach().cpu().numpy(), y=y.cpu().numpy())
    finally:
        np.random.set_state(state)
    f.eval()  # ART leaves the model as it found it; make sure
    return torch.from_numpy(out).to(x.device, x.dtype)
