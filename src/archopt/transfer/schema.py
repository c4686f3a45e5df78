"""The spec fields of transfer learning: ``model.init`` (start from a run's weights),
``train.transfer`` (freeze, unfreeze, learning-rate groups), ``train.contrastive`` and
``train.episodes`` (self-supervised and episodic training), and the ``fewshot:`` evaluation.
Pydantic only (no torch): what they mean for a model is checked by ``archopt.transfer``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class InitSpec(_Strict):
    """``model.init``: the weights a model starts from, taken from a finished run."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True,
                              serialize_by_alias=True)

    from_: str = Field(alias="from")                  # a run directory (trained, tuned, pretrained)
    parts: Literal["backbone", "all"] = "all"         # backbone: all but the head (a new head)
    strict: bool = True                               # false: layers whose shapes differ are
                                                      # skipped and listed, not an error
    checkpoint: Literal["headline", "best", "last"] = "headline"  # which weights of the run
    head: str = "head"                                # the module mapping features to outputs


class PseudoLabelSpec(_Strict):
    """``data.pseudo_labels``: self-training. The training examples that ``per_class`` leaves
    out keep their inputs and take a finished run's prediction as their label when it is at
    least ``threshold`` sure; their own labels are never read."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True,
                              serialize_by_alias=True)

    from_: str = Field(alias="from")                  # the run that labels them (same classes)
    threshold: float = Field(0.9, gt=0.0, le=1.0)     # the least softmax probability kept
    checkpoint: Literal["headline", "best", "last"] = "headline"


class UnfreezeStep(_Strict):
    """Parts that start training after ``epoch`` epochs."""

    epoch: int = Field(ge=0)                          # unfrozen from epoch epoch+1 on
    parts: list[str] = Field(min_length=1)            # backbone | head | name patterns


class GradualSpec(_Strict):
    """Unfreeze the backbone's blocks one at a time from the top (fastai's ``fine_tune``,
    Lightning's ``BackboneFinetuning``)."""

    start: int = Field(1, ge=0)                       # epochs with only the head training
    every: int = Field(1, ge=1)                       # then one more block every N epochs


class TransferSpec(_Strict):
    """``train.transfer``: what trains, when, and at which learning rate."""

    freeze: list[str] = []                            # backbone | head | name patterns
                                                      # (fnmatch over parameter names: features.0.*)
    unfreeze: list[UnfreezeStep] = []                 # [{epoch: 3, parts: [backbone]}]
    gradual: GradualSpec | None = None                # unfreeze the backbone block by block
    backbone_lr: float = Field(1.0, gt=0.0)           # the backbone's lr = this x optimizer.lr
    layer_decay: float | None = Field(None, gt=0.0, le=1.0)  # block k from the top: lr x decay^k
    bn_eval: bool = True                              # batch norm of frozen parts in eval mode
                                                      # (its running statistics do not move)

    @model_validator(mode="after")
    def _gradual_needs_frozen(self) -> TransferSpec:
        if self.gradual is not None and "backbone" not in self.freeze:
            raise ValueError("gradual unfreezing starts from a frozen backbone: add "
                             "freeze: [backbone]")
        return self


class ContrastiveSpec(_Strict):
    """``train.contrastive``: SimCLR's NT-Xent over two augmented views of every example."""

    temperature: float = Field(0.5, gt=0.0)           # softmax temperature of the similarities
    projection: list[int] = [128, 64]                 # the projection MLP (features -> z)
    augment: list[dict[str, Any]] | None = None       # None: the data kind's own views


class EpisodeSpec(_Strict):
    """``train.episodes``: prototypical-network training; every batch is one episode (its
    classes with enough examples, ``ways`` of them drawn at random)."""

    ways: int = Field(5, ge=2)                        # classes per episode (at most the batch's)
    shots: int = Field(5, ge=1)                       # support examples per class
    queries: int = Field(5, ge=1)                     # query examples per class


class FewShotSpec(_Strict):
    """``fewshot:``: N-way K-shot accuracy over classes held out from training."""

    classes: list[int] = Field(min_length=2)          # the held-out classes episodes draw from
    ways: int = Field(5, ge=2)
    shots: list[int] = [1, 5]                         # one figure per K
    queries: int = Field(15, ge=1)                    # query examples per class and episode
    episodes: int = Field(600, ge=1)                  # the mean and 95% interval are over these
    split: Literal["train", "val", "test"] = "test"   # where the held-out examples come from
    seed: int = 0                                     # seeds the episodes
    normalize: Literal["l2", "cl2n", "none"] = "l2"   # the encoder's embeddings: unit length
                                                      # (cosine-like; SimpleShot's L2N), centred
                                                      # on the base classes' mean first (CL2N),
                                                      # or as is

    @field_validator("shots")
    @classmethod
    def _shots(cls, v: list[int]) -> list[int]:
        if not v or any(k < 1 for k in v):
            raise ValueError("shots must be a non-empty list of positive numbers")
        return v

    @model_validator(mode="after")
    def _ways(self) -> FewShotSpec:
        if self.ways > len(self.classes):
            raise ValueError(f"{self.ways}-way episodes need at least {self.ways} classes, "
                             f"classes has {len(self.classes)}")
        return self
