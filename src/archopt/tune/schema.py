"""The ``tune:`` section of a spec: what is searched, for which objectives, under which budgets,
with which Optuna sampler and pruner. Pydantic only (no torch, no optuna): the space's
distributions, the objectives' names and the sampler's options are checked against the rest of
the spec, the metric registry and Optuna's own signatures by ``archopt.tune.check``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Bound(_Strict):
    """A budget on a cost: ``{max: 50000}``, ``{min: ..., max: ...}``."""

    min: float | None = None                          # the cost must be at least this
    max: float | None = None                          # the cost must be at most this


class SamplerSpec(BaseModel):
    """An Optuna sampler by its archopt name; the other keys are that sampler's options."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str = "tpe"             # grid|random|tpe|gp|cmaes|qmc|nsga2|evolution
    seed: int | None = None                           # None: the spec's seed

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PrunerSpec(BaseModel):
    """An Optuna pruner by its archopt name; the other keys are that pruner's options."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str = "none"                                # none | median | percentile |
                                                      # successive_halving | hyperband | threshold

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class TuneSpec(_Strict):
    """Hyperparameter search over spec fields (see ``archopt.tune``)."""

    space: dict[str, Any]                             # spec path -> {float|int|choice|list: ...}
    objectives: dict[str, Literal["max", "min"]] = {"val_loss": "min"}  # metric or cost -> dir
    constraints: dict[str, Bound] = {}                # cost -> budget (params, flops, latency_ms)
    sampler: SamplerSpec = SamplerSpec()
    pruner: PrunerSpec = PrunerSpec()
    trials: int | None = Field(None, gt=0)            # finished trials wanted (None: the grid's
                                                      # size for grid, else 20)
    timeout_s: float | None = Field(None, gt=0)       # stop starting trials after this long
    workers: int = Field(1, ge=1)                     # trial processes on this machine
    storage: str | None = None                        # Optuna RDB URL (None: study.db in the dir)
    study: str | None = None                          # study name (None: the spec's name)
    recycle_mb: int = Field(1024, gt=0)               # replace a worker whose memory grew more
    heartbeat_s: int = Field(10, gt=0)                # trial heartbeat; stale after 3x: retried
    max_retry: int = Field(2, ge=0)                   # retries of a trial whose worker vanished

    @field_validator("space")
    @classmethod
    def _non_empty(cls, v: dict[str, Any]) -> dict[str, Any]:
        if not v:
            raise ValueError("the space is empty: give at least one spec path to search")
        return v

    @field_validator("objectives")
    @classmethod
    def _some_objective(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("give at least one objective, e.g. {val_accuracy: max}")
        return v
