"""``train.transfer``: which parameters train in which epoch, and at which learning rate.

Parts are named by ``backbone`` (every parameter outside the head), ``head``, or fnmatch patterns
over parameter names (``features.0.*``; ``archopt profile`` lists the layers). What is frozen is
a pure function of the epoch (``Schedule.frozen``), so a resumed run freezes exactly what an
uninterrupted one does, mid-run unfreezing included.

The traps users of other trainers hit are avoided by construction:

- the optimizer holds every parameter from the first step, in fixed groups; a frozen parameter
  has no gradient, so the optimizer skips it (no update, no weight decay, no state) and its state
  starts the step it is unfrozen: nothing is rebuilt, groups never change, a checkpoint always
  fits (Lightning#6891, #8502);
- batch norm in a frozen part is held in eval mode by a forward pre-hook, so its running
  statistics stay bit-identical even though the loop calls ``model.train()`` (pytorch#66073);
- freezing is reapplied from the epoch on resume (Lightning#21901).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from torch import nn

from archopt.errors import UserError, suggest
from archopt.train.callbacks._base import Callback
from archopt.transfer.schema import TransferSpec

BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


def match(names: list[str], part: str, head: str, where: str) -> list[str]:
    """The parameter names a part selects; a UserError when it selects none."""
    if part == "head":
        got = [n for n in names if n == head or n.startswith(head + ".")]
    elif part == "backbone":
        got = [n for n in names if not (n == head or n.startswith(head + "."))]
    else:
        got = [n for n in names if fnmatchcase(n, part) or n.startswith(part + ".")]
    if got:
        return got
    hint = suggest(part, names) or (f"parameters are named like {', '.join(names[:3])}; "
                                    "use backbone, head or a pattern such as features.0.*")
    if part == "head":
        hint = f"this model has no module '{head}' with parameters"
    raise UserError(where, f"'{part}' matches no parameter of this model", hint)


def blocks(model: nn.Module, head: str = "head") -> list[list[str]]:
    """The backbone's blocks, bottom to top, as lists of parameter names: the children of the
    backbone module (``features``) that have parameters, descending while there is only one."""
    root = "features" if hasattr(model, "features") else ""
    module = model.get_submodule(root) if root else model
    while True:
        kids = [(n, m) for n, m in module.named_children()
                if any(True for _ in m.parameters()) and not (not root and n == head)]
        if len(kids) != 1 or not list(kids[0][1].children()):
            break
        root = f"{root}.{kids[0][0]}" if root else kids[0][0]
        module = kids[0][1]
    prefix = root + "." if root else ""
    return [[prefix + n + "." + p for p, _ in m.named_parameters()] for n, m in kids]


class Schedule:
    """What is frozen in each epoch, resolved against one model."""

    def __init__(self, spec: TransferSpec, model: nn.Module, head: str = "head") -> None:
        self.spec, self.head = spec, head
        names = [n for n, _ in model.named_parameters()]
        self.initial = {n for i, p in enumerate(spec.freeze)
                        for n in match(names, p, head, f"train.transfer.freeze.{i}")}
        self.steps: list[tuple[int, set[str]]] = []
        for i, step in enumerate(spec.unfreeze):
            got = {n for j, p in enumerate(step.parts)
                   for n in match(names, p, head, f"train.transfer.unfreeze.{i}.parts.{j}")}
            self.steps.append((step.epoch, got))
        if spec.gradual is not None:
            g = spec.gradual
            for k, block in enumerate(reversed(blocks(model, head))):  # from the top
                self.steps.append((g.start + k * g.every, set(block)))
        if not self.initial and self.steps:
            raise UserError("train.transfer.unfreeze", "unfreezes parts that are never frozen",
                            "add train.transfer.freeze (e.g. [backbone])")

    def frozen(self, epoch: int) -> set[str]:
        """Parameter names frozen while training epoch ``epoch`` (0-based)."""
        out = set(self.initial)
        for at, names in self.steps:
            if epoch >= at:
                out -= names
        return out


def _hold_eval(module: nn.Module, args: Any) -> None:
    module.training = False  # running statistics are used and not updated


class Freezer(Callback):
    """Applies a ``Schedule`` at the start of the run and of every epoch."""

    key = "freeze"

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.hooks: dict[str, Any] = {}
        self.current: set[str] | None = None

    def apply(self, model: nn.Module, epoch: int) -> None:
        frozen = self.schedule.frozen(epoch)
        if frozen == self.current:
            return
        for name, p in model.named_parameters():
            p.requires_grad_(name not in frozen)
        if self.schedule.spec.bn_eval:
            for name, m in model.named_modules():
                if not isinstance(m, BN):
                    continue
                held = f"{name}.weight" in frozen or (m.weight is None and _inside(name, frozen))
                if held and name not in self.hooks:
                    self.hooks[name] = m.register_forward_pre_hook(_hold_eval)
                elif not held and name in self.hooks:
                    self.hooks.pop(name).remove()
                    m.train(model.training)
        self.current = frozen

    def on_fit_start(self, trainer: Any) -> None:
        self.apply(trainer.model, trainer.epoch)

    def on_epoch_start(self, trainer: Any) -> None:
        self.apply(trainer.model, trainer.epoch)

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        total = sum(p.numel() for p in trainer.model.parameters())
        logs["trainable"] = round(sum(p.numel() for p in trainer.model.parameters()
                                      if p.requires_grad) / max(total, 1), 4)


def _inside(module: str, frozen: set[str]) -> bool:
    parent = module.rpartition(".")[0]
    return any(n.startswith(parent + ".") for n in frozen) if parent else False
