"""Pruning: the trial side (a training callback that reports each validation epoch and stops
when told) and the study side (the decision, taken by the Optuna pruner).

**Several objectives.** Optuna cannot prune multi-objective studies (``Trial.report`` raises
``NotImplementedError``, optuna/optuna#3450). archopt can, when exactly one objective is a
learning curve and the others are costs known before training (``params``, ``flops``,
``latency_ms``). The rule: *a trial is judged by the configured pruner against its cost peers
only, the trials that cost no more than it on every cost objective.* A trial that the pruner
stops is then worse, on its curve, than what the pruner demands of models that are at least as
cheap, so it is very likely dominated; the cheapest models have no cheaper peers until enough of
them exist, so the low-cost end of the Pareto front is never pruned away by big models' curves.
Intermediate values are written to the storage directly (the same rows ``Trial.report`` writes).
Hyperband is refused with several objectives: its brackets re-open the study as a
single-objective one.
"""

from __future__ import annotations

import os
import time
from typing import Any

from archopt.train.callbacks import Callback


class Reporter(Callback):
    """In the trial's process: send the curve objective after each validation, stop if told."""

    key = "tune_reporter"

    def __init__(self, conn: Any, number: int, monitor: str | None) -> None:
        self.conn, self.number, self.monitor = conn, number, monitor
        self.pruned_at: int | None = None
        self.parent = os.getppid()
        self.epochs_cpu_s = 0.0  # CPU seconds inside epochs (training and validation)
        self._epoch_cpu = 0.0

    def on_epoch_start(self, trainer: Any) -> None:
        self._epoch_cpu = time.process_time()

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        self.epochs_cpu_s += time.process_time() - self._epoch_cpu

    def on_validation_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        if os.getppid() != self.parent:  # the study's process is gone: stop working for it
            raise SystemExit(3)
        if self.monitor is None or self.monitor not in logs:
            return
        # the step is the number of epochs trained (1 after the first): the pruners' resources
        # (min_resource 5: judged after 5 epochs) count epochs
        done = trainer.epoch + 1
        self.conn.send(("report", self.number, done, float(logs[self.monitor])))
        if self.conn.recv()[1]:
            self.pruned_at = done
            trainer.should_stop = True


class CostPeers:
    """A single-objective view of a multi-objective study for a pruner: the direction of the
    curve objective, and only the trials that cost no more than ``costs`` on every cost."""

    def __init__(self, study: Any, direction: Any, costs: dict[str, float],
                 cost_directions: dict[str, str]) -> None:
        self._study, self.direction = study, direction
        self.directions = [direction]
        self._storage, self._study_id = study._storage, study._study_id
        self.study_name = study.study_name
        self._costs, self._dirs = costs, cost_directions

    def _is_peer(self, trial: Any) -> bool:
        theirs = trial.user_attrs.get("costs") or {}
        for name, mine in self._costs.items():
            if name not in theirs:
                return False
            worse = theirs[name] > mine if self._dirs[name] == "minimize" else theirs[name] < mine
            if worse:
                return False
        return True

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list:
        return [t for t in self._study.get_trials(deepcopy=deepcopy, states=states)
                if self._is_peer(t)]

    @property
    def trials(self) -> list:
        return self.get_trials()


def should_prune(study: Any, trial_id: int, step: int, value: float, curve: Any,
                 costs: dict[str, float], cost_directions: dict[str, str]) -> bool:
    """Record ``value`` at ``step`` and ask the study's pruner (among cost peers with several
    objectives)."""
    import math

    import optuna

    storage = study._storage
    frozen = storage.get_trial(trial_id)
    if step not in frozen.intermediate_values:
        storage.set_trial_intermediate_value(trial_id, step, value if math.isfinite(value)
                                             else float("nan"))
        frozen = storage.get_trial(trial_id)
    if isinstance(study.pruner, optuna.pruners.NopPruner):
        return False
    if len(study.directions) == 1:
        return bool(study.pruner.prune(study, frozen))
    view = CostPeers(study, curve, costs, cost_directions)
    return bool(study.pruner.prune(view, frozen))
