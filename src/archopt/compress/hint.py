"""Feature (hint) distillation (Romero et al. 2015, FitNets): the student also learns to
reproduce an inner layer of the teacher. A trainable projection maps the student layer's output
onto the teacher layer's width (a 1x1 convolution when both keep the same positions, otherwise a
linear layer after averaging over positions); the loss adds ``weight`` times their mean squared
error.

The projection is trained with the student: it is attached to the student as the submodule
``distill_hint`` while training, so the trainer's optimizer updates it and ``last.pt`` saves it
(a killed distillation resumes with it), and it is detached before the student is saved (the
distilled run is a plain run of the student's spec).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archopt.errors import UserError, suggest

ATTR = "distill_hint"


def layer(model: nn.Module, name: str, where: str) -> nn.Module:
    """The module ``name`` of ``model``, or a UserError naming the field."""
    modules = dict(model.named_modules())
    if name not in modules or name == "":
        raise UserError(where, f"no layer named '{name}'",
                        suggest(name, modules) or "see `archopt profile` for layer names")
    return modules[name]


class Capture:
    """Keeps the last output of a module (a forward hook)."""

    def __init__(self, module: nn.Module) -> None:
        self.out: torch.Tensor | None = None
        self.handle = module.register_forward_hook(self._keep)

    def _keep(self, module: nn.Module, args: Any, out: Any) -> None:
        self.out = out[0] if isinstance(out, tuple) else out

    def remove(self) -> None:
        self.handle.remove()


def _pooled(x: torch.Tensor) -> torch.Tensor:
    """(B, C, *positions) -> (B, C)."""
    return x.flatten(2).mean(2) if x.ndim > 2 else x


class Projection(nn.Module):
    """Student features (B, Cs, *P) -> teacher features (B, Ct, *P) or (B, Ct)."""

    def __init__(self, student: tuple[int, ...], teacher: tuple[int, ...]) -> None:
        super().__init__()
        self.same_positions = len(student) > 2 and student[2:] == teacher[2:]
        cs, ct = student[1], teacher[1]
        if self.same_positions:
            conv = {3: nn.Conv1d, 4: nn.Conv2d, 5: nn.Conv3d}[len(student)]
            self.map: nn.Module = conv(cs, ct, kernel_size=1)
        else:
            self.map = nn.Linear(cs, ct)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.map(s if self.same_positions else _pooled(s))

    def target(self, t: torch.Tensor) -> torch.Tensor:
        """The teacher features in the shape the projection produces."""
        return t if self.same_positions else _pooled(t)


def shapes(teacher: nn.Module, student: nn.Module, cfg: Any, x: torch.Tensor, where: str
           ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(student, teacher) output shapes of the hint layers on ``x``."""
    caps = [Capture(layer(student, cfg.student, f"{where}.hint.student")),
            Capture(layer(teacher, cfg.teacher, f"{where}.hint.teacher"))]
    try:
        with torch.no_grad():
            student.eval(), teacher.eval()
            student(x), teacher(x)
    finally:
        for c in caps:
            c.remove()
    s, t = (c.out for c in caps)
    for name, out, side in ((cfg.student, s, "student"), (cfg.teacher, t, "teacher")):
        if not isinstance(out, torch.Tensor) or out.ndim < 2:
            raise UserError(f"{where}.hint.{side}", f"layer '{name}' does not output a (batch, "
                            "channels, ...) tensor", "name a layer with a tensor output")
    return tuple(s.shape), tuple(t.shape)


class HintLoss:
    """The hint term: hooks on both layers, the projection attached to the student."""

    def __init__(self, teacher: nn.Module, student: nn.Module, cfg: Any, x: torch.Tensor,
                 where: str, seed: int = 0) -> None:
        s_shape, t_shape = shapes(teacher, student, cfg, x, where)
        self.weight = cfg.weight
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # the same projection every run
            self.proj = Projection(s_shape, t_shape)
        student.add_module(ATTR, self.proj)  # trained and checkpointed with the student
        self.s = Capture(layer(student, cfg.student, where))
        self.t = Capture(layer(teacher, cfg.teacher, where))

    def __call__(self) -> torch.Tensor:
        """Weighted MSE between the projected student features and the teacher's (call after
        both forwards of a batch)."""
        s, t = self.s.out, self.t.out
        return self.weight * F.mse_loss(self.proj(s), self.proj.target(t).to(s.dtype))

    def detach(self, student: nn.Module) -> None:
        """Remove the hooks and the projection from the student."""
        self.s.remove(), self.t.remove()
        if hasattr(student, ATTR):
            delattr(student, ATTR)
