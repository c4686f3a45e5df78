"""What counts toward tune.trials: finished trials, not rejected candidates nor retried ones."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from archopt.tune.accounting import counts, fail_and_retry
from archopt.tune.outcomes import REJECTED, SURPLUS

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


def test_processes_asking_for_the_last_trial_at_once_do_not_overshoot(tmp_path):
    """Four processes (threads, each with its own storage connection, as processes have) see
    one place left and ask at the same moment: exactly one trial runs, the others step aside
    untrained and count nowhere. Without the check after ``ask`` all four would run."""
    import threading

    from archopt.tune.outputs import trials_csv
    from archopt.tune.runner import ask_for_trial
    from archopt.tune.storage import open_storage

    url, wanted, x = f"sqlite:///{tmp_path / 'shared.db'}", 3, {
        "x": optuna.distributions.FloatDistribution(0, 1)}
    first = optuna.create_study(storage=open_storage(url, 60, 2), study_name="s",
                                direction="maximize")
    for v in (0.1, 0.2):  # two trials already finished: one place left
        first.tell(first.ask(x), v)
    looked, asked = threading.Barrier(4), threading.Barrier(4)
    got: list[bool] = []

    def process() -> None:
        storage = open_storage(url, 60, 2)
        study = optuna.load_study(study_name="s", storage=storage)
        c = counts(study, workers=1)
        room = wanted - c["finished"] - c["running"]
        looked.wait()  # every process has seen room for one more trial
        trial = ask_for_trial(study, storage, "s", wanted) if room > 0 else None
        asked.wait()  # every process has asked before any tells
        got.append(trial is not None)
        if trial is not None:
            study.tell(trial, 0.9)

    threads = [threading.Thread(target=process) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    study = optuna.load_study(study_name="s", storage=open_storage(url, 60, 2))
    c = counts(study, workers=1)
    assert sorted(got) == [False, False, False, True]
    assert (c["finished"], c["complete"], c["failed"], c["running"]) == (wanted, wanted, 0, 0)
    surplus = [t for t in study.trials if t.user_attrs.get(SURPLUS)]
    assert len(surplus) == 3 and all(t.state == TrialState.FAIL for t in surplus)
    # each counted what was created before it: the winner, and any not yet marked surplus
    assert all(t.user_attrs["reason"].startswith("surplus: ") for t in surplus)
    rows = trials_csv(study.trials, ["value"], ["x"]).splitlines()
    assert len(rows) == 1 + wanted  # the header and the wanted trials; no surplus row
