"""What is explained: a run's model as a function of the user's raw inputs, and the examples.

The run's normalization is part of the explained function (``ExplainedModel``), so every
attribution is in the data's own units and lines up with the picture the user knows. What the
function returns, per task (B examples, K outputs):
  classification  the logit of each class (before softmax)            (B, K)
  regression      the predicted values, in the targets' units          (B, K)
  reconstruction  the reconstruction's mean squared error, raw units   (B, 1)
Variable-length sequences take ``lengths`` (B,) beside the zero-padded inputs; recurrences run
unpacked (packed sequences break attribution, captum#275) and the model stays in eval mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError


class ExplainedModel(nn.Module):
    """The model with its normalization around it: raw inputs (+ lengths) -> scores (B, K).

    Args:
        model: the trained model.
        shape: the run's data shape.
        normalization: the run's normalization.json (``mean``/``std``; empty when off).
    """

    def __init__(self, model: nn.Module, shape: Any, normalization: dict[str, Any]) -> None:
        super().__init__()
        from archopt.export.wrapper import RawInputModel, exportable

        self.raw = RawInputModel(exportable(model), shape, normalization)
        self.task = self.raw.task
        self.variable_length = self.raw.variable_length
        self.normalized = self.raw.normalized
        if self.normalized:  # (x - mean) / std as one fused op, x * scale + shift
            self.register_buffer("scale", 1.0 / self.raw.std)
            self.register_buffer("shift", -self.raw.mean / self.raw.std)
        self.eval()

    @property
    def model(self) -> nn.Module:
        return self.raw.model

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.task == "reconstruction":
            err = (self.raw(x) - x).pow(2).flatten(1).mean(1)  # (B,)
            return err.unsqueeze(1)  # (B, 1)
        if self.normalized:
            xn = torch.addcmul(self.shift, x, self.scale)
            if lengths is not None:  # padded steps stay zero, as in training
                steps = torch.arange(x.shape[1])[None, :]
                xn = xn * (steps < lengths[:, None]).unsqueeze(-1).to(xn.dtype)
        else:
            xn = x
        if self.variable_length and lengths is not None:
            return self.raw.model(xn, lengths)  # (B, K)
        return self.raw.model(xn)  # (B, K)

    @torch.no_grad()
    def score(self, x: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor | None = None,
              batch_size: int = 256) -> torch.Tensor:
        """What a deletion curve follows, (B,): the target's probability for a classifier,
        else the explained output itself."""
        out = []
        for i in range(0, len(x), batch_size):
            ln = None if lengths is None else lengths[i:i + batch_size]
            s = self(x[i:i + batch_size], ln)
            if self.task == "classification":
                s = torch.softmax(s, dim=-1)
            out.append(s.gather(1, target[i:i + batch_size, None]).squeeze(1))
        return torch.cat(out) if out else torch.zeros(0)


@dataclass
class Subject:
    """A run ready to be explained: the explained function and one split in raw units."""

    run_dir: Path
    spec: Any
    shape: Any
    model: ExplainedModel
    checkpoint: Path
    split: str
    x: torch.Tensor                  # (N, *input_shape) raw inputs
    y: torch.Tensor                  # (N,) classes or (N, D) values
    lengths: torch.Tensor | None     # (N,) true lengths of padded sequences
    baseline: torch.Tensor           # (*input_shape) raw: what a removed feature becomes
    baseline_name: str
    references: torch.Tensor         # (R, *input_shape) raw training examples (gradient SHAP)
    feature_names: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.shape.kind

    @property
    def task(self) -> str:
        return self.model.task


def _raw(x: torch.Tensor, normalization: dict[str, Any], kind: str,
         lengths: torch.Tensor | None) -> torch.Tensor:
    """Undo the run's normalization: the inputs as the user gave them."""
    if not normalization.get("mean"):
        return x.float()
    view = {"image": (1, -1, 1, 1), "sequence": (1, 1, -1)}.get(kind, (1, -1))
    mean = torch.tensor(normalization["mean"], dtype=torch.float32).view(view)
    std = torch.tensor(normalization["std"], dtype=torch.float32).view(view)
    raw = x.float() * std + mean
    if lengths is not None:  # padding stays zero, as the user's files hold it
        steps = torch.arange(x.shape[1])[None, :]
        raw = raw * (steps < lengths[:, None]).unsqueeze(-1).to(raw.dtype)
    return raw


def _baseline(train_raw: torch.Tensor, kind: str, lengths: torch.Tensor | None
              ) -> tuple[torch.Tensor, str]:
    """The training split's mean per channel (image) or feature (sequence, tabular)."""
    if kind == "image":
        mean = train_raw.mean(dim=(0, 2, 3))  # (C,)
        return mean.view(-1, 1, 1).expand(train_raw.shape[1:]).clone(), (
            "the training split's mean per channel, every pixel (a flat image)")
    if kind == "sequence":
        if lengths is not None:
            keep = (torch.arange(train_raw.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
            mean = (train_raw * keep).sum((0, 1)) / keep.sum((0, 1)).clamp(min=1)
        else:
            mean = train_raw.mean(dim=(0, 1))  # (F,)
        return mean.view(1, -1).expand(train_raw.shape[1:]).clone(), (
            "the training split's mean per channel, every time step (a flat series)")
    return train_raw.mean(dim=0), "the training split's mean of each feature"


def load_subject(run_dir: str | Path, split: str = "test", reference_count: int = 32
                 ) -> Subject:
    """Load a run (trained, tuned, pruned or fine-tuned) and one split for explaining.

    Raises:
        UserError: not a run directory, a run without weights, a GAN or an int8 model (nothing
            to differentiate), a split the run's data does not have, changed data.
    """
    from archopt.report.run_model import load_run
    from archopt.runs import check_run_dir
    from archopt.train.evaluate import check_normalization

    path = check_run_dir(run_dir)
    if not (path / "data_shape.json").is_file():
        raise UserError(str(path), "not a finished run (no data_shape.json)",
                        "pass a folder made by `archopt train`, `tune` or `compress`")
    loaded = load_run(path, with_data=True)
    if loaded.checkpoint is None:
        raise UserError(str(path), "the run has no checkpoint to explain",
                        "let the training finish at least one epoch")
    task = getattr(loaded.model, "task", loaded.shape.task)
    if task == "generation":
        raise UserError(str(path), "a GAN generates from noise: there is no input to explain",
                        "explain a classifier, regressor or autoencoder run")
    if not any(p.is_floating_point() for p in loaded.model.parameters()):  # frozen is fine
        step, source = _compressed_from(path)
        what = f"an int8 model (`archopt compress` step {step})" if step else "an int8 model?"
        raise UserError(str(path), f"the model has no differentiable weights: {what}",
                        f"explain the run it was compressed from: archopt explain {source}"
                        if source else "explain the run it was compressed from")
    data = loaded.data
    check_normalization(path / "normalization.json", data.normalization)
    chosen = getattr(data, split, None)
    if chosen is None or len(chosen) == 0:
        raise UserError(f"--split {split}", "this run's data has no such split",
                        "use test or train; val needs data.val_split > 0")
    if not hasattr(chosen, "x"):
        raise UserError(str(path), "the data streams from disk; explain needs it in memory",
                        "explain a run on a dataset that fits in memory")
    norm = json.loads((path / "normalization.json").read_text()) if (
        path / "normalization.json").is_file() else {}
    kind = loaded.shape.kind
    return make_subject(loaded.model, loaded.shape, norm,
                        _raw(data.train.x, norm, kind, data.train.lengths), data.train.lengths,
                        _raw(chosen.x, norm, kind, chosen.lengths), chosen.y, chosen.lengths,
                        split=split, run_dir=path, checkpoint=loaded.checkpoint,
                        feature_names=list(getattr(data, "feature_names", []) or []),
                        class_names=list(data.class_names), spec=loaded.spec,
                        reference_count=reference_count)


def _compressed_from(path: Path) -> tuple[str | None, str | None]:
    """(the compress step that made a run, the run it started from), or Nones."""
    try:
        c = json.loads((path / "metrics.json").read_text()).get("compress") or {}
        return (c.get("step") or {}).get("name"), c.get("from")
    except (OSError, ValueError, AttributeError):
        return None, None


def make_subject(model: nn.Module, shape: Any, normalization: dict[str, Any],
                 train_x: torch.Tensor, train_lengths: torch.Tensor | None,
                 x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None,
                 split: str = "test", run_dir: Path | None = None,
                 checkpoint: Path | None = None, feature_names: list[str] | None = None,
                 class_names: list[str] | None = None, spec: Any = None,
                 reference_count: int = 32) -> Subject:
    """A subject from a model and raw data (a run's, or any: the contract tests)."""
    kind = shape.kind
    baseline, baseline_name = _baseline(train_x, kind, train_lengths)
    gen = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(train_x), generator=gen)[:reference_count]
    names = list(feature_names or [])
    if kind == "tabular" and len(names) != shape.input_shape[0]:
        names = [f"x{i}" for i in range(shape.input_shape[0])]
    return Subject(Path(run_dir or "."), spec, shape, ExplainedModel(model, shape, normalization),
                   Path(checkpoint or "."), split, x, y, lengths, baseline, baseline_name,
                   train_x[pick], names, list(class_names or []))
