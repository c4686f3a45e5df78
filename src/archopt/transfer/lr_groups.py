"""Discriminative learning rates: the head at ``train.optimizer.lr``, the backbone at
``backbone_lr`` times it, and with ``layer_decay`` each backbone block one factor lower than the
block above it (ULMFiT's discriminative fine-tuning; BEiT / ELECTRA's layer-wise decay).

The groups hold every parameter, frozen ones included (see ``archopt.transfer.freeze``), head
group first, so the ``lr`` a history line logs is the head's, the spec's own rate.
"""

from __future__ import annotations

from torch import nn

from archopt.transfer.freeze import blocks
from archopt.transfer.schema import TransferSpec


def lr_groups(model: nn.Module, spec: TransferSpec, lr: float, weight_decay: float,
              decay_norm_and_bias: bool, head: str = "head") -> list[dict]:
    """Optimizer parameter groups, each with its own ``lr`` and a ``name``."""
    params = dict(model.named_parameters())
    named: list[tuple[str, float, list[str]]] = [
        ("head", 1.0, [n for n in params if n == head or n.startswith(head + ".")])]
    decay = spec.layer_decay or 1.0
    seen = set(named[0][2])
    for k, block in enumerate(reversed(blocks(model, head)), start=1):  # top block first
        named.append((f"block{-k}", spec.backbone_lr * decay ** k, block))
        seen.update(block)
    rest = [n for n in params if n not in seen]
    if rest:  # parameters outside the blocks (a model's own top-level weights)
        named.append(("backbone", spec.backbone_lr * decay ** (len(named)), rest))
    groups = []
    for name, factor, names in named:
        ps = [params[n] for n in names]
        if not ps:
            continue
        if decay_norm_and_bias or weight_decay == 0:
            groups.append({"params": ps, "lr": lr * factor, "weight_decay": weight_decay,
                           "name": name})
            continue
        for suffix, sel, wd in (("", [p for p in ps if p.ndim >= 2], weight_decay),
                                (".no_decay", [p for p in ps if p.ndim < 2], 0.0)):
            if sel:
                groups.append({"params": sel, "lr": lr * factor, "weight_decay": wd,
                               "name": name + suffix})
    return groups


def uses_groups(spec: TransferSpec | None) -> bool:
    """Whether ``spec`` asks for learning rates other than the optimizer's one."""
    return spec is not None and (spec.backbone_lr != 1.0 or spec.layer_decay is not None)
