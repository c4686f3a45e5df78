"""The several-objective pruning rule: the pruner sees only the trial's cost peers."""

from __future__ import annotations

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from archopt.tune.pruning import should_prune

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _study(pruner):
    return optuna.create_study(directions=["maximize", "minimize"], pruner=pruner)


def _finished(study, params: float, curve: list[float]):
    t = study.ask()
    t.set_user_attr("costs", {"params": params})
    for step, v in enumerate(curve):
        study._storage.set_trial_intermediate_value(t._trial_id, step, v)
    study.tell(t, [curve[-1], params])


def test_small_model_is_judged_only_against_cheaper_or_equal_models():
    study = _study(optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    for _ in range(3):  # big models learn fast
        _finished(study, 10_000, [0.9, 0.95])
    small = study.ask()
    small.set_user_attr("costs", {"params": 100})
    up = StudyDirection.MAXIMIZE
    costs = {"params": 100.0}
    dirs = {"params": "minimize"}
    # against every trial it would be pruned (0.5 < median 0.9); it has no cheaper peer: kept
    assert not should_prune(study, small._trial_id, 0, 0.5, up, costs, dirs)
    # once cheap peers exist and do better, the same curve is pruned
    for _ in range(3):
        _finished(study, 80, [0.7, 0.8])
    other = study.ask()
    other.set_user_attr("costs", {"params": 100})
    assert should_prune(study, other._trial_id, 0, 0.5, up, costs, dirs)
    # a big model with a bad curve is judged against everyone and pruned
    big = study.ask()
    big.set_user_attr("costs", {"params": 20_000})
    assert should_prune(study, big._trial_id, 0, 0.5, up, {"params": 20_000.0}, dirs)


def test_single_objective_uses_the_pruner_directly():
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    t = study.ask()
    study._storage.set_trial_intermediate_value(t._trial_id, 0, 0.9)
    study.tell(t, 0.9)
    t2 = study.ask()
    assert should_prune(study, t2._trial_id, 0, 0.1, StudyDirection.MAXIMIZE, {}, {})
    assert study._storage.get_trial(t2._trial_id).intermediate_values == {0: 0.1}
    assert t2._trial_id and study._storage.get_trial(t2._trial_id).state == TrialState.RUNNING
