"""The typed experiment spec: one pydantic class per section, a comment on every field.

Sections whose contents depend on a plugin (the model family's parameters, a dataset's path, an
optimizer's betas) keep their extra keys here and are checked against the plugin's own config
class by ``archopt.spec.resolve`` (see ``Registry.validate``). This module imports no torch.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from archopt.search.schema import SearchSpec
from archopt.transfer.schema import (
    ContrastiveSpec,
    EpisodeSpec,
    FewShotSpec,
    InitSpec,
    PseudoLabelSpec,
    TransferSpec,
)
from archopt.tune.schema import TuneSpec


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
    classes: list[int] | None = None                  # keep these classes only (renumbered
                                                      # 0..k-1 in this order); None: all
    per_class: int | None = Field(None, gt=0)         # keep this many training examples per
                                                      # class (seeded): label-scarce training
    pseudo_labels: PseudoLabelSpec | None = None      # the other training examples, labelled
                                                      # by a run's confident predictions


class ModelSpec(Open):
    """A registered model family or preset; the other keys are its parameters."""

    init: InitSpec | None = None                      # start from a run's weights (transfer)

    def section(self) -> dict[str, Any]:
        """The family's section (``init`` is not a family parameter)."""
        return self.model_dump(exclude={"init"})


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


class AdversarialSpec(Strict):
    """Adversarial training (archopt.robust.training): every batch attacked in raw input units."""

    method: Literal["pgd", "fgsm_rs", "trades"] = "pgd"  # Madry / Wong (fast) / Zhang (TRADES)
    eps: float = Field(gt=0.0)                        # L-inf radius in raw units (see relative)
    relative: bool = False                            # eps, step_size: fractions of the range
    steps: int = Field(10, ge=1)                      # attack iterations (pgd, trades)
    step_size: float | None = Field(None, gt=0.0)     # None: 2.5 eps/steps; fgsm_rs 1.25 eps
    beta: float = Field(6.0, gt=0.0)                  # trades: weight of the robustness term
    guard: bool = True                                # fgsm_rs: stop on catastrophic overfitting
    select: Literal["robust", "clean"] = "robust"     # best.pt: top val_pgd_accuracy, or val_loss


class TrainSpec(Strict):
    """How the model is trained."""

    task: Literal["classification", "regression", "reconstruction", "generation",
                  "contrastive", "prototypical"] | None = None
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
    checkpoint_every_s: float = Field(60.0, ge=0.0)   # save last.pt this often (0: every epoch)
    final_train_pass: bool = False                    # metrics.json's train row from a full
    #                                                   pass (default: the epoch's running figures)
    amp: bool = True                                  # mixed precision on CUDA (ignored on CPU)
    compile: bool = False                             # torch.compile the model
    threads: int | None = Field(None, gt=0)           # CPU threads per process (None: cores/procs)
    adversarial: AdversarialSpec | None = None        # adversarial training (robust models)
    # transfer learning (archopt.transfer): freezing and lr groups, self-supervised and episodic
    transfer: TransferSpec | None = None              # freeze, unfreeze, backbone lr, layer decay
    contrastive: ContrastiveSpec | None = None        # task contrastive: SimCLR's settings
    episodes: EpisodeSpec | None = None               # task prototypical: episode sizes

    @field_validator("metrics")
    @classmethod
    def _no_duplicates(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("metrics must not repeat")
        return v


class FinetuneSpec(Strict):
    """Training after a compression step, by the same trainer (``train`` applies otherwise)."""

    epochs: int = Field(0, ge=0)                      # 0: no fine-tuning
    lr: float | None = Field(None, gt=0.0)            # None: train.optimizer.lr


class PruneTarget(Strict):
    """Prune until the model is at most this big or this slow (exactly one field)."""

    macs: float | None = Field(None, gt=0)            # multiply-adds per example
    params: float | None = Field(None, gt=0)          # parameters
    latency_ms: float | None = Field(None, gt=0)      # measured latency at batch 1
    runtime: Literal["torch", "onnxruntime"] = "torch"  # where latency_ms is measured

    @model_validator(mode="after")
    def _one(self) -> PruneTarget:
        if sum(v is not None for v in (self.macs, self.params, self.latency_ms)) != 1:
            raise ValueError("give exactly one of macs, params, latency_ms")
        if self.runtime != "torch" and self.latency_ms is None:
            raise ValueError("runtime applies to a latency_ms target only")
        return self


class PruneStep(Strict):
    """Structured pruning (Torch-Pruning, channels removed) or unstructured masks."""

    name: Literal["prune"]
    method: Literal["structured", "unstructured"] = "structured"
    importance: Literal["l1", "l2", "bn_scale", "taylor", "random"] = "l1"
    ratio: float | None = Field(None, gt=0.0, lt=1.0)  # structured: share of channels removed
                                                      # per layer; unstructured: sparsity
    target: PruneTarget | None = None                 # or prune until a target is met
    iterative_steps: int = Field(1, ge=1)             # prune in steps, fine-tuning between
    finetune: FinetuneSpec = FinetuneSpec()           # after (each step of) pruning
    global_pruning: bool = False                      # rank channels across layers
    round_to: int | None = Field(None, gt=0)          # keep channel counts multiples of this
    ignore: list[str] = []                            # module names never pruned (head always)

    @model_validator(mode="after")
    def _ratio_or_target(self) -> PruneStep:
        if (self.ratio is None) == (self.target is None):
            raise ValueError("give either ratio or target")
        if self.method == "unstructured" and self.target is not None:
            raise ValueError("unstructured pruning takes a ratio (the sparsity), not a target")
        return self


class QuantizeStep(Strict):
    """Post-training int8 quantization (dynamic or static with calibration)."""

    name: Literal["quantize"]
    method: Literal["dynamic", "static"] = "dynamic"  # dynamic: Linear/LSTM/GRU; static: conv
    calibration_batches: int = Field(10, gt=0)        # training batches seen by static observers


class QATStep(Strict):
    """Quantization-aware training: fine-tune with fake quantization, then convert to int8."""

    name: Literal["qat"]
    method: Literal["dynamic", "static"] = "static"   # the int8 conversion after training
    calibration_batches: int = Field(10, gt=0)        # for static conversion
    finetune: FinetuneSpec = FinetuneSpec(epochs=3)


class HintSpec(Strict):
    """Feature (hint) distillation (FitNets): a trainable projection maps the output of a student
    layer onto a teacher layer's; their mean squared error is added to the loss."""

    teacher: str = "features"                         # teacher module (default: before the head)
    student: str = "features"                         # student module
    weight: float = Field(1.0, gt=0.0)                # weight of the hint term in the loss


class DistillStep(Strict):
    """Knowledge distillation of the current model (the teacher) into a student model."""

    name: Literal["distill"]
    student: dict[str, Any]                           # a model section: {name: cnn, ...}
    temperature: float = Field(4.0, gt=0.0)           # softens both distributions
    alpha: float = Field(0.9, ge=0.0, le=1.0)         # weight of the teacher's soft targets
    epochs: int | None = Field(None, gt=0)            # None: train.epochs
    lr: float | None = Field(None, gt=0.0)            # None: train.optimizer.lr
    hint: HintSpec | None = None                      # also match an inner layer (FitNets)
    seed: int | None = None                           # the student's seed (init, val split,
                                                      # order); None: the run's seed


Step = Annotated[PruneStep | QuantizeStep | QATStep | DistillStep, Field(discriminator="name")]
STEPS = {"prune": PruneStep, "quantize": QuantizeStep, "qat": QATStep, "distill": DistillStep}


class CompressSpec(Strict):
    """Compression: the run to start from and the steps applied to it in order."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True,
                              serialize_by_alias=True)

    from_: str | None = Field(None, alias="from")     # a finished run; None: train the spec first
    steps: list[Step]                                 # applied in order, one run dir each
    threads: int | None = Field(1, gt=0)              # threads for the latency measurements
    clock: Literal["auto", "cpu", "wall"] = "auto"    # auto: the thread's CPU time with one
                                                      # thread (robust on a busy machine), else wall
    batch_size: int = Field(256, gt=0)                # the throughput batch that is measured
    repeats: int = Field(30, gt=0)                    # timed runs per measurement (median)
    sweep: list[float] = []                           # pruning ratios for the accuracy/latency
                                                      # curve (each pruned from the start run)

    @field_validator("steps", mode="before")
    @classmethod
    def _known_steps(cls, v: Any) -> Any:
        from archopt.errors import suggest

        if isinstance(v, list) and not v:
            raise ValueError("the step list is empty: give at least one of "
                             + ", ".join(STEPS))
        for i, step in enumerate(v if isinstance(v, list) else []):
            name = step.get("name") if isinstance(step, dict) else None
            if name not in STEPS:
                hint = suggest(str(name), STEPS) or "steps are " + ", ".join(STEPS)
                raise ValueError(f"step {i} has name {name!r}, not a known step ({hint})")
        return v

    @field_validator("sweep")
    @classmethod
    def _ratios(cls, v: list[float]) -> list[float]:
        if any(not 0.0 < r < 1.0 for r in v):
            raise ValueError("sweep ratios must lie in (0, 1)")
        return v


class Spec(Strict):
    """One experiment: data, model and training, plus the later stages' sections."""

    name: str = "experiment"                          # run directories go to runs/<name>/
    seed: int = 42                                    # seeds data split, init, order, augmentation
    device: str = "auto"                              # auto | cpu | cuda | cuda:N
    data: DataSpec
    model: ModelSpec
    train: TrainSpec = TrainSpec()
    tune: TuneSpec | None = None                      # hyperparameter search (archopt tune)
    search: SearchSpec | None = None                  # architecture search (archopt search)
    compress: CompressSpec | None = None              # archopt compress: steps from a run
    fewshot: FewShotSpec | None = None                # archopt fewshot: held-out classes

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

    @model_validator(mode="after")
    def _one_study_section(self) -> Spec:
        if self.tune is not None and self.search is not None:
            raise ValueError("a spec has a tune: or a search: section, not both (a search is a "
                             "tune over model.* with measured costs: move the space into one)")
        return self
