"""The typed experiment spec: one pydantic class per section, a comment on every field.

Sections whose contents depend on a plugin (the model family's parameters, a dataset's path, an
optimizer's betas) keep their extra keys here and are checked against the plugin's own config
class by ``archopt.spec.resolve`` (see ``Registry.validate``). This module imports no torch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    """A spec section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Open(BaseModel):
    """A section with a registry ``name`` whose other keys belong to that plugin."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str

    def params(self) -> dict[str, Any]:
        """The plugin's own parameters: every key but the ones this class declares."""
        return dict(self.model_extra or {})

    def section(self) -> dict[str, Any]:
        """The section as a plain dict, ``name`` included (what ``Registry.build`` takes)."""
        return self.model_dump()


class DataSpec(Open):
    """Where the data comes from and how it is split and batched."""

    name: str                                         # built-in dataset or file format
    val_split: float = Field(0.1, ge=0.0, lt=1.0)     # fraction of train held out, stratified
    batch_size: int = Field(100, gt=0)                # examples per step (global, all processes)
    shuffle: bool = True                              # new seeded batch order every epoch; false:
                                                      # the split's own order (MNIST-1D's script)
    normalize: bool = True                            # standardize inputs with train statistics
    normalize_target: bool = True                     # regression: train on standardized targets
    augment: list[dict[str, Any]] = []                # [{name: gaussian_noise, std: 0.05}, ...]
    cache_dir: str | None = None                      # where generated data is cached


class ModelSpec(Open):
    """A registered model family or preset; the other keys are its parameters."""


class OptimizerSpec(Open):
    """Optimizer name plus its settings (lr, weight_decay, betas, momentum, ...)."""

    name: str = "adam"
    lr: float = Field(1e-3, gt=0.0)                   # learning rate
    weight_decay: float = Field(0.0, ge=0.0)          # decoupled for adamw, coupled otherwise
    decay_norm_and_bias: bool = True                  # False: no weight decay on biases and norms


class SchedulerSpec(Open):
    """Learning-rate schedule (step, multistep, exponential, cosine, onecycle, plateau)."""

    warmup_steps: int = Field(0, ge=0)                # linear warm-up from 0 over this many steps


class LossSpec(Open):
    """Loss name plus its settings (label_smoothing, gamma, ...)."""


class Regularization(Strict):
    """Explicit penalties added to the loss (distinct from the optimizer's weight decay)."""

    l1: float = Field(0.0, ge=0.0)                    # coefficient of sum |w|
    l2: float = Field(0.0, ge=0.0)                    # coefficient of sum w^2


class EarlyStopping(Strict):
    """Stop when a monitored value has not improved for ``patience`` epochs."""

    monitor: str = "val_loss"                         # any key of a history line
    mode: Literal["min", "max", "auto"] = "auto"      # auto: max for accuracy-like, min for loss
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0.0)
    restore_best: bool = True                         # headline = best epoch (false: the last)


class TrainSpec(Strict):
    """How the model is trained."""

    task: Literal["classification", "regression", "reconstruction", "generation"] | None = None
    epochs: int | None = Field(None, gt=0)            # passes over the training split
    max_steps: int | None = Field(None, gt=0)         # or a number of optimizer steps
    optimizer: OptimizerSpec = OptimizerSpec()
    scheduler: SchedulerSpec | None = None
    loss: LossSpec | None = None                      # None: the task's default
    regularization: Regularization = Regularization()
    early_stopping: EarlyStopping | None = None
    clip_grad_norm: float | None = Field(None, gt=0.0)
    metrics: list[str] | None = None                  # None: the task's default metrics
    eval_every: int = Field(1, ge=1)                  # validate every N epochs
    checkpoint_every_steps: int | None = Field(None, gt=0)  # also save last.pt every N steps
    final_train_pass: bool = False                    # metrics.json's train row from a full
    #                                                   pass (default: the epoch's running figures)
    amp: bool = True                                  # mixed precision on CUDA (ignored on CPU)
    compile: bool = False                             # torch.compile the model
    threads: int | None = Field(None, gt=0)           # CPU threads per process (None: cores/procs)

    @field_validator("metrics")
    @classmethod
    def _no_duplicates(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("metrics must not repeat")
        return v


class Spec(Strict):
    """One experiment: data, model and training, plus the later stages' sections."""

    name: str = "experiment"                          # run directories go to runs/<name>/
    seed: int = 42                                    # seeds data split, init, order, augmentation
    device: str = "auto"                              # auto | cpu | cuda | cuda:N
    data: DataSpec
    model: ModelSpec
    train: TrainSpec = TrainSpec()

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v in ("auto", "cpu", "cuda", "mps") or (v.startswith("cuda:") and v[5:].isdigit()):
            return v
        raise ValueError("device must be auto, cpu, cuda, cuda:N or mps")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or "/" in v or v.startswith("."):
            raise ValueError("name must be non-empty, without '/' and not start with '.'")
        return v
