"""FGSM and PGD (L-inf and L2, random start, restarts) in raw input units.

Our own loop, for two reasons: adversarial training needs an attack that runs on the training
device inside the step (with the trainer's checkpointed generator, so a resumed run draws the
same random starts), and the libraries we could use either clamp every input to [0, 1]
(torchattacks 3.5.1, torchattacks#39) or round-trip through numpy (IBM ART). The strongest
evaluation (APGD, ``archopt.robust.apgd``) is ART's; a test checks ART's PGD against this one.

Every function takes ``f``, the model as a function of raw inputs (logits out, eval mode), a
batch ``x`` (B, ...) and its labels ``y`` (B,), and returns the perturbed batch: inside the
epsilon ball around ``x`` and inside ``domain``. ``mask`` (broadcastable to ``x``) keeps padded
steps of variable-length sequences untouched.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from archopt.robust.domain import Domain

Logits = Callable[[torch.Tensor], torch.Tensor]


def _grad(f: Logits, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The gradient of the summed cross-entropy loss in the inputs (zero where the model has
    none, e.g. behind a hard threshold: that is what the masking checks catch)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = F.cross_entropy(f(x), y, reduction="sum")
        if not loss.requires_grad:
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(loss, x, allow_unused=True)
    return g.detach() if g is not None else torch.zeros_like(x)


def _norms(d: torch.Tensor) -> torch.Tensor:
    """Per-example L2 norms, shaped (B, 1, ...) to broadcast."""
    return d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (d.ndim - 1))


def project(x_adv: torch.Tensor, x: torch.Tensor, eps: float, norm: str, domain: Domain,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    """``x_adv`` moved back into the epsilon ball around ``x``, then into the valid range."""
    delta = x_adv - x
    if norm == "linf":
        delta = delta.clamp(-eps, eps)
    else:
        delta = delta * (eps / _norms(delta)).clamp(max=1.0)
    if mask is not None:
        delta = delta * mask
    return domain.clamp(x + delta).detach()


def random_start(x: torch.Tensor, eps: float, norm: str, gen: torch.Generator | None
                 ) -> torch.Tensor:
    """A uniform draw in the L-inf ball, or a random direction at a uniform radius in L2; the
    numbers come from ``gen`` on the CPU (the same on any device)."""
    if norm == "linf":
        u = torch.rand(x.shape, generator=gen).to(x.device)
        return x + (2 * u - 1) * eps
    d = torch.randn(x.shape, generator=gen).to(x.device)
    r = torch.rand((len(x),) + (1,) * (x.ndim - 1), generator=gen).to(x.device)
    return x + d / _norms(d) * eps * r


def fgsm(f: Logits, x: torch.Tensor, y: torch.Tensor, eps: float, domain: Domain,
         norm: str = "linf", mask: torch.Tensor | None = None) -> torch.Tensor:
    """One step of size ``eps`` along the gradient's sign (L-inf) or direction (L2)."""
    g = _grad(f, x, y)
    step = g.sign() if norm == "linf" else g / _norms(g)
    return project(x + eps * step, x, eps, norm, domain, mask)


def pgd(f: Logits, x: torch.Tensor, y: torch.Tensor, eps: float, domain: Domain,
        norm: str = "linf", steps: int = 20, step_size: float | None = None,
        restarts: int = 1, rand_init: bool = True, gen: torch.Generator | None = None,
        mask: torch.Tensor | None = None) -> torch.Tensor:
    """Projected gradient descent (Madry et al. 2018), the worst of ``restarts`` runs.

    An example counts as broken as soon as any iterate of any restart misclassifies it, and
    that iterate is returned for it; otherwise the last iterate of the last restart.
    ``step_size`` defaults to 2.5 * eps / steps (Madry et al.).
    """
    alpha = step_size if step_size is not None else 2.5 * eps / steps
    best = x.detach().clone()
    broken = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    if eps <= 0:
        return best
    for _ in range(restarts):
        x_adv = x.detach()
        if rand_init:
            x_adv = project(random_start(x, eps, norm, gen), x, eps, norm, domain, mask)
        for _ in range(steps):
            g = _grad(f, x_adv, y)
            step = g.sign() if norm == "linf" else g / _norms(g)
            x_adv = project(x_adv + alpha * step, x, eps, norm, domain, mask)
            with torch.no_grad():
                wrong = f(x_adv).argmax(-1) != y
            new = wrong & ~broken
            best[new] = x_adv[new]
            broken |= wrong
            if bool(broken.all()):
                return best
        best[~broken] = x_adv[~broken]
    return best


def random_noise(x: torch.Tensor, eps: float, domain: Domain, norm: str = "linf",
                 gen: torch.Generator | None = None, mask: torch.Tensor | None = None
                 ) -> torch.Tensor:
    """A random corner of the L-inf ball (random signs), or a random point on the L2 sphere:
    a gradient-free baseline that a real attack must beat."""
    if norm == "linf":
        s = torch.randint(0, 2, x.shape, generator=gen).to(x.device, x.dtype) * 2 - 1
        return project(x + eps * s, x, eps, norm, domain, mask)
    d = torch.randn(x.shape, generator=gen).to(x.device)
    return project(x + d / _norms(d) * eps, x, eps, norm, domain, mask)
