"""Which trials count, and what happens to the ones a process left behind.

**Counting.** ``tune.trials`` is the number of *finished* trials wanted: COMPLETE + PRUNED (by
the pruner) + FAIL. Not counted: candidates *rejected* by a budget before training (reported
apart, as ``rejected``), failed trials that were retried (their retry counts instead), and
*surplus* trials (below).

**No overshoot with processes sharing a study.** Each process asks for a trial only while
fewer than ``trials`` are finished or running, but processes that look at the same moment can
each ask for the last one. So right after ``study.ask()`` a process counts the trials that were
created before its own (by storage id) and still count or may: finished ones that count,
running and waiting ones, not rejected, retried or surplus (``claimed_before``). If those
already make ``trials``, its trial steps aside untrained (``outcomes.step_aside``: FAIL,
``surplus: true``). The first ``trials`` claims in creation order win, whichever process sees
what first. This is exact when trials become visible in the order of their ids: SQLite and
journal storages write one at a time; on PostgreSQL ids come from a sequence before the commit,
so the processes ask in turn under an advisory lock (``archopt.tune.study.asking_in_turn``).
Samplers ignore failed trials, but the grid sampler counts a surplus trial's point as visited:
if a trial counted before it is later rejected by a budget, that grid point is not tried.

**Retries.** A trial interrupted by a kill or Ctrl-C is failed and queued again with the same
parameters (Optuna's ``RetryHeartbeatStaleTrialCallback``). With the study directory's own
SQLite storage the directory lock guarantees that a resumed process is alone, so every trial
left RUNNING is failed and re-queued at once; with a shared storage other machines may be
running trials, so only heartbeats decide (``optuna.storages.fail_stale_trials``).
"""

from __future__ import annotations

import copy
from typing import Any

from archopt.tune.outcomes import REJECTED, SURPLUS

STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "RUNNING": "running",
          "WAITING": "waiting"}


def counts(study: Any, workers: int) -> dict[str, int]:
    """Trials by state (``rejected`` apart), ``finished`` (what ``tune.trials`` counts) and
    ``workers``."""
    trials = study.get_trials(deepcopy=False)
    retried = _retried(trials)
    c = dict.fromkeys(("complete", "pruned", "failed", "rejected", "running", "waiting"), 0)
    for t in trials:
        state = STATES[t.state.name]
        if t.user_attrs.get(SURPLUS) or (t.number in retried and state == "failed"):
            continue
        c["rejected" if state == "pruned" and t.user_attrs.get(REJECTED) else state] += 1
    c["finished"] = c["complete"] + c["pruned"] + c["failed"]
    c["workers"] = workers
    return c


def claimed_before(study: Any, trial_id: int) -> int:
    """How many trials created before ``trial_id`` count toward ``tune.trials`` or may yet:
    finished ones that count, running and waiting ones (none rejected, retried or surplus)."""
    trials = study.get_trials(deepcopy=False)
    retried = _retried(trials)
    return sum(1 for t in trials if t._trial_id < trial_id and not t.user_attrs.get(SURPLUS)
               and not t.user_attrs.get(REJECTED)
               and not (t.state.name == "FAIL" and t.number in retried))


def _retried(trials: list) -> set[int]:
    """Numbers of the trials that were queued again (their retry counts instead)."""
    return {n for t in trials for n in t.system_attrs.get("retry_history", [])}


def fail_and_retry(study: Any, trial_id: int, reason: str) -> None:
    """Fail a RUNNING trial with ``reason`` and queue it again with the same parameters."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage = study._storage
    try:
        storage.set_trial_user_attr(trial_id, "reason", reason)
        if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
            return
    except UpdateFinishedTrialError:
        return
    retry = storage.get_heartbeat_stale_trial_callback()
    if retry is not None:
        retry(study, copy.deepcopy(storage.get_trial(trial_id)))


def recover(study: Any, shared: bool) -> None:
    """Trials left RUNNING by a process that stopped: failed and re-queued."""
    from optuna.trial import TrialState

    if shared:  # other machines may be running trials: only heartbeats decide
        fail_stale(study)
        return
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        fail_and_retry(study, t._trial_id, "interrupted (the study's process stopped)")


def fail_stale(study: Any) -> None:
    """Optuna's ``fail_stale_trials`` (failing and re-queueing trials whose heartbeat stopped)."""
    import warnings

    import optuna
    from optuna.storages import fail_stale_trials

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)
