"""Check the plugin sections of a spec (model, dataset, optimizer, loss, ...) against their
registered configs, before anything runs or is written."""

from __future__ import annotations

from archopt.errors import UserError
from archopt.registry import (
    AUGMENTATIONS,
    DATASETS,
    LOSSES,
    METRICS,
    MODELS,
    OPTIMIZERS,
    SCHEDULERS,
)
from archopt.spec.schema import DataSpec, OptimizerSpec, Spec

# keys of OptimizerSpec / SchedulerSpec / DataSpec that the trainer or loader handles itself
_OPT_COMMON = {"lr", "weight_decay", "decay_norm_and_bias"}
_SCHED_COMMON = {"warmup_steps"}


def check_plugins(spec: Spec) -> None:
    """Raise UserError naming the first section field that its plugin does not accept."""
    DATASETS.validate(spec.data.name, spec.data.params(), "data", tuple(DataSpec.model_fields))
    for i, aug in enumerate(spec.data.augment):
        params = dict(aug)
        name = params.pop("name", None)
        if name is None:
            raise UserError(f"data.augment.{i}.name", "missing the augmentation name",
                            f"choose one of: {', '.join(AUGMENTATIONS.names())}")
        AUGMENTATIONS.validate(name, params, f"data.augment.{i}")
    MODELS.validate(spec.model.name, spec.model.params(), "model")
    t = spec.train
    opt = {k: v for k, v in t.optimizer.model_dump().items() if k not in _OPT_COMMON | {"name"}}
    OPTIMIZERS.validate(t.optimizer.name, opt, "train.optimizer",
                        tuple(OptimizerSpec.model_fields))
    if t.scheduler is not None:
        sch = {k: v for k, v in t.scheduler.model_dump().items()
               if k not in _SCHED_COMMON | {"name"}}
        SCHEDULERS.validate(t.scheduler.name, sch, "train.scheduler")
    if t.loss is not None:
        LOSSES.validate(t.loss.name, t.loss.params(), "train.loss")
    for i, m in enumerate(t.metrics or []):
        METRICS.get(m, f"train.metrics.{i}")
