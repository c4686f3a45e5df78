"""``distill``: knowledge distillation of the current run (the teacher) into a student model.

Hinton et al. 2015: the student learns from the teacher's outputs softened by a temperature T,
mixed with the usual loss on the labels::

    loss = alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * task loss

For regression the soft term is the mean squared error to the teacher's prediction (in
standardized units, like the task loss). The teacher's outputs are computed on the fly, once
per batch, on the same (augmented) inputs the student sees; nothing is stored. With ``hint``, the
student also matches an inner layer of the teacher through a trainable projection (FitNets,
``archopt.compress.hint``). The student is
trained by archopt's trainer with the spec's data, optimizer, schedule and callbacks, so a killed
distillation resumes from its ``last.pt``. The step's run directory is a plain run of the
student's spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archopt.errors import UserError


class DistillationLoss(nn.Module):
    """The task loss mixed with the teacher's soft targets; ``watch(student)`` lets it see the
    student's inputs (a forward pre-hook), so the trainer's loop stays as it is."""

    def __init__(self, teacher: nn.Module, task_loss: nn.Module, task: str,
                 temperature: float, alpha: float, hint: Any = None) -> None:
        super().__init__()
        self.teacher, self.task_loss, self.task = teacher.eval(), task_loss, task
        self.temperature, self.alpha = temperature, alpha
        self.hint = hint  # a HintLoss or None
        self.inputs: torch.Tensor | None = None
        self.scale: torch.Tensor | None = None

    def watch(self, student: nn.Module) -> Any:
        self.scale = getattr(student, "target_std", None)
        return student.register_forward_pre_hook(self._keep)

    def _keep(self, module: nn.Module, args: tuple) -> None:
        self.inputs = args[0]

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        hard = self.task_loss(out, target)
        with torch.no_grad():
            self.teacher.eval()
            teacher = self.teacher(self.inputs).to(out.dtype)  # (B, K)
        if self.task == "classification":
            t = self.temperature
            soft = F.kl_div(F.log_softmax(out / t, dim=1), F.softmax(teacher / t, dim=1),
                            reduction="batchmean") * t * t
        else:  # the regression task passes standardized values
            scale = self.scale.to(out.device) if self.scale is not None else 1.0
            soft = F.mse_loss(out, teacher / scale)
        loss = self.alpha * soft + (1.0 - self.alpha) * hard
        return loss + self.hint() if self.hint is not None else loss


def student_spec(spec: Any, step: Any) -> Any:
    from archopt.spec import load_spec

    data = spec.model_dump(mode="json")
    data["compress"], data["model"] = None, dict(step.student)
    if step.epochs:
        data["train"]["epochs"], data["train"]["max_steps"] = step.epochs, None
    if step.lr:
        data["train"]["optimizer"]["lr"] = step.lr
    if step.seed is not None:  # a different student draw (several seeds: bench_distill.py)
        data["seed"] = step.seed
    return load_spec(data)


def check(step: Any, spec: Any, data: Any, model: nn.Module, where: str) -> None:
    from archopt.models import build_model

    task = data.shape.task
    if task not in ("classification", "regression"):
        raise UserError(where, f"distillation takes classification or regression runs, not "
                        f"{task}", "distill a classifier or a regressor")
    try:
        s_spec = student_spec(spec, step)
        student = build_model(s_spec.model, data.shape, seed=spec.seed)
    except UserError as err:
        raise UserError(f"{where}.student", f"{err.where}: {err.what}", err.hint) from None
    x = torch.zeros(2, *data.shape.input_shape)
    with torch.no_grad():
        student.eval(), model.eval()
        so, to = tuple(student(x).shape), tuple(model(x).shape)
    if so != to:
        raise UserError(f"{where}.student", f"outputs {so[1:]} per example but the teacher "
                        f"outputs {to[1:]}", "the student must predict what the teacher does")
    if step.hint is not None:
        from archopt.compress.hint import shapes

        shapes(model, student, step.hint, x, where)


def run(step: Any, ctx: Any, step_dir: Path, where: str) -> None:
    from archopt.compress.finetune import finetune
    from archopt.compress.record import save_model, write_step
    from archopt.models import build_model

    spec = student_spec(ctx.spec, step)
    student = build_model(spec.model, ctx.shape, seed=spec.seed)
    from archopt.train import setup

    parts = setup.build_parts(spec, student, ctx.shape)
    hint = None
    if step.hint is not None:  # before the optimizer is built: it trains the projection
        from archopt.compress.hint import HintLoss

        hint = HintLoss(ctx.model, student, step.hint, ctx.example(2), where, spec.seed)
    loss = DistillationLoss(ctx.model, parts.loss_fn, parts.task.name, step.temperature,
                            step.alpha, hint)
    hook = loss.watch(student)
    try:
        student = finetune(spec, student, step_dir, ctx.quiet, loss_fn=loss)
    finally:
        hook.remove()
        if hint is not None:
            hint.detach(student)
    student = student.cpu().eval()
    save_model(step_dir, student, None)
    write_step(step, ctx, step_dir, spec, student)
