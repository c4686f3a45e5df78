"""Tasks, registered in TASKS: what a model is trained to do, its default loss and metrics, and
how one batch becomes (output, target).

Supervised tasks (classification, regression, reconstruction) share the training step written
out in ``loop.supervised_step``; they differ only in the target and the loss. Generation (a GAN)
has its own two-optimizer step, ``GenerationTask.train_step``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.registry import TASKS
from archopt.train.losses import DEFAULT_LOSS
from archopt.train.metrics import DEFAULT_METRICS


def forward(net: nn.Module, model: nn.Module, x: torch.Tensor,
            lengths: torch.Tensor | None) -> torch.Tensor:
    """``net(x)``, or ``net(x, lengths)`` for models that take sequence lengths."""
    if lengths is not None and getattr(model, "accepts_lengths", False):
        return net(x, lengths)
    return net(x)


class Task:
    """A supervised task: ``target(x, y)``, ``loss(...)``, and the checks of model and data."""

    name = "task"
    train_step: Any = None          # None: the loop's supervised step
    multi_optimizer = False         # generation: generator and discriminator

    @property
    def default_loss(self) -> str:
        return DEFAULT_LOSS[self.name]

    @property
    def default_metrics(self) -> list[str]:
        return list(DEFAULT_METRICS[self.name])

    def check(self, model: nn.Module, shape: DataShape) -> None:
        """UserError when the model or the data cannot be trained for this task."""

    def target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return y

    def loss(self, loss_fn: nn.Module, model: nn.Module, out: torch.Tensor,
             target: torch.Tensor) -> torch.Tensor:
        return loss_fn(out, target)

    @torch.no_grad()
    def eval_batch(self, model: nn.Module, batch: Any, loss_fn: nn.Module
                   ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, torch.Tensor | None]:
        """Losses, output and target of one batch in eval mode."""
        out = forward(model, model, batch.x, batch.lengths)
        target = self.target(batch.x, batch.y)
        return {"loss": self.loss(loss_fn, model, out, target)}, out, target


def _needs_data_task(task: str, shape: DataShape) -> None:
    if shape.task != task:
        raise UserError("train.task", f"is {task} but the dataset is a {shape.task} dataset",
                        f"set train.task: {shape.task}, or leave it out to infer it")


class ClassificationTask(Task):
    name = "classification"

    def check(self, model: nn.Module, shape: DataShape) -> None:
        _needs_data_task(self.name, shape)


class RegressionTask(Task):
    """Real-valued targets. With target statistics (``DataShape.target_std``) the model predicts
    in target units and the loss compares standardized values: ``loss(out / std, y / std)``."""

    name = "regression"

    def check(self, model: nn.Module, shape: DataShape) -> None:
        _needs_data_task(self.name, shape)
        if getattr(model, "target_std", None) is not None:
            self.std = model.target_std

    def loss(self, loss_fn: nn.Module, model: nn.Module, out: torch.Tensor,
             target: torch.Tensor) -> torch.Tensor:
        std = getattr(self, "std", None)
        if std is None:
            return loss_fn(out, target)
        std = std.to(out.device)
        return loss_fn(out / std, target.reshape(out.shape) / std)


class ReconstructionTask(Task):
    """Autoencoders: the target is the (clean) input; ``model.extra_loss()`` adds KL/sparsity."""

    name = "reconstruction"

    def check(self, model: nn.Module, shape: DataShape) -> None:
        if getattr(model, "task", None) != "reconstruction":
            raise UserError("train.task", "reconstruction needs a model that reconstructs its "
                            "input", "use an autoencoder model, or leave train.task out")

    def target(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x

    def loss(self, loss_fn: nn.Module, model: nn.Module, out: torch.Tensor,
             target: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(out, target)
        extra = getattr(model, "extra_loss", None)
        return loss + extra() if extra is not None else loss


@TASKS.register("classification")
def classification(cfg: Any, **_: Any) -> Task:
    """Class indices; cross-entropy; accuracy and F1."""
    return ClassificationTask()


@TASKS.register("regression")
def regression(cfg: Any, **_: Any) -> Task:
    """Real-valued targets; MSE; MSE, MAE and R2."""
    return RegressionTask()


@TASKS.register("reconstruction")
def reconstruction(cfg: Any, **_: Any) -> Task:
    """Autoencoders; MSE plus the model's extra loss; MSE and PSNR."""
    return ReconstructionTask()


def build_task(name: str | None, model: nn.Module, shape: DataShape, spec: Any = None) -> Task:
    """The task named in the spec, else ``model.task``, else the dataset's; checked (``spec``:
    the settings of tasks that have their own, such as contrastive)."""
    model_task = getattr(model, "task", None)
    if name and model_task and name != model_task:
        raise UserError("train.task", f"is {name} but the model is made for "
                        f"{model_task}", "leave train.task out to use the model's task")
    name = name or model_task or shape.task
    task = TASKS.build({"name": name}, "train.task", spec=spec, shape=shape)
    task.check(model, shape)
    return task


# generation registers itself in TASKS when imported (archopt.train imports it)
