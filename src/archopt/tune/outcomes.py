"""How a trial's outcome is written into the Optuna study.

A finished trial is COMPLETE (its objective values), PRUNED (stopped by the pruner at an epoch)
or FAIL (crash, divergence, out of memory, a non-finite objective, an invalid sampled spec), with
its reason in the user attribute ``reason``. A candidate that breaks a budget known before
training is never trained: Optuna records it as PRUNED, with ``rejected: true`` and the reason;
archopt calls it *rejected* and does not count it toward ``tune.trials`` (see
``archopt.tune.accounting``). A trial asked for beyond ``tune.trials`` by processes sharing a
study steps aside untrained: FAIL with ``surplus: true``, counted nowhere and left out of
trials.csv.
"""

from __future__ import annotations

import math
from typing import Any

from archopt.tune import objectives as obj

REJECTED = "rejected"  # the user attribute of a candidate refused by a budget before training
SURPLUS = "surplus"  # the user attribute of a trial asked for beyond ``tune.trials`` (never run)


def tell(study: Any, trial: Any, values: Any = None, state: Any = None) -> None:
    """``study.tell``, except for a trial that another process already failed as stale (its
    heartbeat came late): that trial is queued again and its retry counts instead."""
    from optuna.exceptions import UpdateFinishedTrialError

    try:
        study.tell(trial, values, state=state)
    except (UpdateFinishedTrialError, RuntimeError, ValueError) as exc:
        if "finished" not in str(exc).lower() and "already" not in str(exc).lower():
            raise


def check_budgets(study: Any, trial: Any, costs: dict[str, float],
                  budgets: dict[str, tuple[float | None, float | None]]) -> str | None:
    """Record the pre-training costs and the constraint values; a rejected candidate is told
    (PRUNED, ``rejected``) and its reason returned, else None (the trial may train)."""
    from optuna.trial import TrialState

    trial.set_user_attr("costs", costs)
    bad = obj.violations(costs, budgets)
    for key, v in bad.items():
        trial.set_constraint(key, v)
    broken = [_broken(k, costs[k], budgets[k]) for k, v in bad.items() if v > 0]
    if not broken:
        return None
    reason = "rejected before training: " + "; ".join(broken)
    trial.set_user_attr("reason", reason)
    trial.set_user_attr(REJECTED, True)
    tell(study, trial, state=TrialState.PRUNED)
    return reason


def record_result(study: Any, trial: Any, plan: Any, result: dict[str, Any]) -> tuple[str, str]:
    """Tell a trial that trained (``result`` from the worker); returns (state, detail)."""
    from optuna.trial import TrialState

    metrics, costs = result["metrics"], result["costs"]
    for key in ("wall_s", "overhead_s", "overhead_cpu_s"):
        trial.set_user_attr(key, result[key])
    trial.set_user_attr("epochs", metrics.get("epochs"))
    trial.set_user_attr("train_time_s", metrics.get("train_time_s"))
    if "train_time_s" in plan.budgets:
        bad = obj.violations({"train_time_s": metrics.get("train_time_s") or 0.0},
                             plan.budgets)
        trial.set_constraint("train_time_s", bad["train_time_s"])
    if result["pruned_at"] is not None:
        trial.set_user_attr("reason", f"pruned at epoch {result['pruned_at']}")
        tell(study, trial, state=TrialState.PRUNED)
        return "pruned", f"at epoch {result['pruned_at']}"
    values = [obj.value_of(o.name, metrics, costs) for o in plan.objectives]
    bad_names = [o.name for o, v in zip(plan.objectives, values)
                 if v is None or not math.isfinite(v)]
    if bad_names:
        return record_failure(study, trial, f"{bad_names[0]} is not finite")
    tell(study, trial, values)
    return "complete", ", ".join(f"{o.name}={v:.4g}" for o, v in zip(plan.objectives, values))


def record_failure(study: Any, trial: Any, reason: str) -> tuple[str, str]:
    """Tell a failed trial with its reason; returns (state, detail)."""
    from optuna.trial import TrialState

    trial.set_user_attr("reason", reason)
    tell(study, trial, state=TrialState.FAIL)
    return "failed", reason


def step_aside(study: Any, trial: Any, claimed: int, wanted: int) -> None:
    """Tell a trial that would overshoot ``tune.trials`` (processes sharing a study asked for
    their last trials at once): FAIL with ``surplus: true``, never trained, counted nowhere
    (``archopt.tune.accounting``); samplers ignore failed trials."""
    from optuna.trial import TrialState

    trial.set_user_attr(SURPLUS, True)
    trial.set_user_attr("reason", f"surplus: {claimed} earlier trials already make the "
                        f"{wanted} wanted")
    tell(study, trial, state=TrialState.FAIL)


def _broken(name: str, value: float, bound: tuple[float | None, float | None]) -> str:
    lo, hi = bound
    if hi is not None and value > hi:
        return f"{name} {value:,.6g} > max {hi:,.6g}"
    return f"{name} {value:,.6g} < min {lo:,.6g}"
