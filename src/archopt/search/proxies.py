"""Zero-cost proxies: score an untrained model from its weights and one batch, no training.

Two proxies that rank NAS-Bench-201 cells well in the literature (Abdelfattah et al. 2021,
"Zero-Cost Proxies for Lightweight NAS"), in plain PyTorch, for any archopt model:

- ``synflow`` (Tanaka et al. 2020): make every weight positive, feed an all-ones input in
  float64, and sum ``weight * d(sum of outputs)/d(weight)`` over all parameters — the "synaptic
  flow" through the network. Data-free: the batch only gives the input shape.
- ``naswot`` (Mellor et al. 2021, "Neural Architecture Search without Training"): the binary
  code of which units each input switches on (pre-activation > 0 at every activation layer);
  ``K[i, j]`` counts the units where inputs i and j agree; the score is ``log |det K|``. A
  network that tells the batch's inputs apart scores higher.

Both run on a copy of the model in eval mode, so the model passed in is left as it was, and
neither moves the global random state. Whether a proxy helps on *your* space is measured, not
assumed: benchmarks/search/proxies_mnist1d.py reports its rank correlation with trained accuracy.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

# layers whose input sign marks a linear region (NASWOT's binary code)
ACTIVATION_TYPES = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Tanh, nn.Sigmoid)


def _forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if lengths is not None and getattr(model, "accepts_lengths", False):
        return model(x, lengths)
    return model(x)


def synflow(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None = None) -> float:
    """The synflow score of ``model`` (higher is predicted better).

    Args:
        model: an untrained model (left untouched: a float64 copy is scored).
        x: a batch of inputs shaped as the model takes them; only its shape is used.
        lengths: true lengths of variable-length sequences, when the model takes them.

    Returns:
        ``sum |w| * d(sum f(1; |w|)) / d|w|`` over every parameter, in float64.
    """
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64)
    lens = lengths[:1] if lengths is not None else None
    net.zero_grad(set_to_none=True)
    _forward(net, ones, lens).sum().backward()
    with torch.no_grad():
        return float(sum((p * p.grad).sum() for p in net.parameters() if p.grad is not None))


def naswot(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None = None) -> float:
    """The NASWOT score of ``model`` on the batch ``x`` (higher is predicted better).

    Args:
        model: an untrained model (left untouched: a copy is scored in eval mode).
        x: a batch of N inputs (N of 32 to 128 is usual); K is N x N.
        lengths: true lengths of variable-length sequences, when the model takes them.

    Returns:
        ``log |det K|`` with ``K = C C^T + (1 - C)(1 - C)^T`` summed over activation layers,
        ``C`` the (N, units) 0/1 codes. ``-inf`` when two inputs get the same code.

    Raises:
        ValueError: the model has no activation layer to read codes from.
    """
    net = copy.deepcopy(model).float().eval()
    n = x.shape[0]
    k = torch.zeros(n, n, dtype=torch.float64)
    found = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        c = (inputs[0].detach().reshape(n, -1) > 0).double()  # (N, units)
        k.add_(c @ c.T + (1 - c) @ (1 - c).T)
        found.append(module)

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, ACTIVATION_TYPES)]
    try:
        with torch.no_grad():
            _forward(net, x.float(), lengths)
    finally:
        for h in handles:
            h.remove()
    if not found:
        raise ValueError("naswot needs activation layers (ReLU, GELU, ...) in the model")
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet) if float(sign) > 0 else -math.inf


PROXIES = {"synflow": synflow, "naswot": naswot}


def score_spec(spec: object, names: tuple[str, ...] = ("synflow", "naswot"),
               batch_size: int = 64) -> dict[str, float]:
    """Zero-cost scores of the model a spec describes, on the first training batch of its data.

    Args:
        spec: an ``archopt.spec.Spec`` (or a dict or YAML path that ``load_spec`` takes).
        names: which proxies (``PROXIES`` keys).
        batch_size: inputs in the batch (NASWOT's K is batch_size x batch_size).

    Returns:
        ``{proxy: score}``; the model is built with the spec's seed, and nothing trains.
    """
    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.spec import load_spec

    spec = spec if hasattr(spec, "model") else load_spec(spec)
    data = load_data(spec.data, seed=spec.seed)
    model = build_model(spec.model, data.shape, seed=spec.seed)
    x = data.train.x[:batch_size]
    lengths = data.train.lengths[:batch_size] if data.train.lengths is not None else None
    return {n: PROXIES[n](model, x, lengths) for n in names}
