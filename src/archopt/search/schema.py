"""The ``search:`` section of a spec: a ``tune:`` section (space, objectives, budgets, sampler,
pruner, trials, workers, storage) plus what architecture search adds: how latency is measured
on this machine, and an optional zero-cost pre-screen. Pydantic only (no torch, no optuna).

``archopt search SPEC`` runs it on the tuning engine (``archopt.tune``): one engine, one study
format. The search's defaults differ from tune's where a search wants them to: every candidate's
params, FLOPs and latency are measured before training (so the front table has them all), and
the default objectives are accuracy against latency.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from archopt.tune.schema import TuneSpec, _Strict


class LatencySpec(_Strict):
    """How ``latency_ms`` is measured (as ``archopt profile`` does: warm-up, median, fixed
    threads), once per architecture, cached in the study directory.

    ``runtime`` is what runs the candidate while it is timed: ``torch`` (PyTorch eager, on the
    spec's device) or ``onnxruntime`` (the candidate exported to ONNX in memory and run by an
    ONNX Runtime CPU session: what ``archopt export``/``archopt serve`` deploy). At batch 1 eager
    latency is mostly per-operator overhead, which ONNX Runtime mostly does not pay, so the two
    can rank candidates differently: time them on the runtime they will be served with.
    """

    runtime: Literal["torch", "onnxruntime"] = "torch"  # what runs the candidate when timed
    batch_size: int = Field(1, ge=1)                  # the deployment batch: what latency_ms is
    throughput_batch: int | None = Field(256, ge=1)   # also timed: batch_latency_ms and
                                                      # throughput (samples/s), objectives
                                                      # and budgets too (null: not measured)
    rounds: int = Field(5, ge=1)                      # interleaved rounds (batch sizes alternate)
    repeats: int = Field(10, ge=1)                    # timed calls per batch size and round
    warmup: int = Field(5, ge=0)                      # untimed calls first
    threads: int = Field(1, ge=1)                     # torch threads while timing
    remeasure_front: bool = True                      # re-time the front's members together at
                                                      # the end, interleaved (noise check)


class PrescreenSpec(_Strict):
    """Zero-cost pre-screen ("warm-up", Abdelfattah et al. 2021): score random candidates with
    a training-free proxy and start the study with the best-scored ones."""

    proxy: Literal["naswot", "synflow"] = "naswot"    # score (higher is predicted better)
    candidates: int = Field(100, ge=2)                # random architectures scored, none trained
    keep: int = Field(10, ge=1)                       # best-scored: the study's first trials
    batch_size: int = Field(64, ge=2)                 # training inputs the proxy sees

    @model_validator(mode="after")
    def _keep_fewer(self) -> PrescreenSpec:
        if self.keep >= self.candidates:
            raise ValueError(f"keep ({self.keep}) must be below candidates ({self.candidates})")
        return self


class SearchSpec(TuneSpec):
    """Architecture search: tuning over ``model.*`` with measured costs (see
    ``archopt.search``)."""

    objectives: dict[str, Literal["max", "min"]] = {"val_accuracy": "max", "latency_ms": "min"}
    latency: LatencySpec = LatencySpec()
    prescreen: PrescreenSpec | None = None            # null: no pre-screen
