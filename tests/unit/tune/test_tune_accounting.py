"""What counts toward tune.trials: finished trials, not rejected candidates nor retried ones."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from archopt.tune.accounting import counts, fail_and_retry
from archopt.tune.outcomes import REJECTED

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study():
    storage = optuna.storages.RDBStorage(
        "sqlite:///:memory:", heartbeat_interval=60,
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback())
    return optuna.create_study(storage=storage, direction="maximize")


def test_rejected_and_retried_trials_do_not_count():
    study = _study()
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), 0.5)
    pruned = study.ask()
    study.tell(pruned, state=TrialState.PRUNED)
    for _ in range(2):  # two candidates refused by a budget before training
        t = study.ask()
        t.set_user_attr(REJECTED, True)
        study.tell(t, state=TrialState.PRUNED)
    t = study.ask()
    study.tell(t, state=TrialState.FAIL)
    killed = study.ask()  # a trial whose process was killed: failed and queued again
    fail_and_retry(study, killed._trial_id, "interrupted")
    c = counts(study, workers=2)
    assert c == {"complete": 1, "pruned": 1, "failed": 1, "rejected": 2, "running": 0,
                 "waiting": 1, "finished": 3, "workers": 2}
    retry = study.trials[-1]
    assert retry.state == TrialState.WAITING
    assert retry.system_attrs["failed_trial"] == killed.number
    assert study.trials[killed.number].user_attrs["reason"] == "interrupted"
