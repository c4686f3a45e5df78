"""Contract tests of the regularized (aging) evolution sampler."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from archopt.search.evolution import MUTATED_KEY, PARENT_KEY, RegularizedEvolutionSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

TARGET = [0, 1, 2, 3, 0, 1]


def onemax(trial: optuna.Trial) -> float:
    """How many of six 4-way choices match a hidden target: a toy architecture space."""
    xs = [trial.suggest_categorical(f"op{i}", [0, 1, 2, 3]) for i in range(len(TARGET))]
    return float(sum(a == b for a, b in zip(xs, TARGET)))


def mixed(trial: optuna.Trial) -> float:
    """Every distribution kind, and a conditional sub-space (a choice among families)."""
    family = trial.suggest_categorical("family", ["cnn", "mlp"])
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    drop = trial.suggest_float("dropout", 0.0, 0.5, step=0.1)
    if family == "cnn":
        depth = trial.suggest_int("cnn.depth", 1, 4)
        width = trial.suggest_int("cnn.width", 8, 64, step=8)
        return depth * width * lr - drop
    hidden = trial.suggest_int("mlp.hidden", 16, 512, log=True)
    return hidden * lr - drop


def run(sampler, objective, n: int, direction: str = "maximize", storage=None, name=None):
    study = optuna.create_study(
        direction=direction, sampler=sampler, storage=storage, study_name=name,
        load_if_exists=True,
    )
    study.optimize(objective, n_trials=n)
    return study


def test_same_seed_same_study_and_different_seed_differs():
    a = run(RegularizedEvolutionSampler(8, 3, seed=1), mixed, 30)
    b = run(RegularizedEvolutionSampler(8, 3, seed=1), mixed, 30)
    c = run(RegularizedEvolutionSampler(8, 3, seed=2), mixed, 30)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.params for t in a.trials] != [t.params for t in c.trials]


def test_values_stay_inside_every_distribution_kind():
    study = run(RegularizedEvolutionSampler(6, 2, seed=0), mixed, 40)
    for t in study.trials:
        for name, value in t.params.items():
            assert t.distributions[name]._contains(t.distributions[name].to_internal_repr(value))
    # both branches of the conditional space were explored and evolved
    families = {t.params["family"] for t in study.trials[6:]}
    assert families == {"cnn", "mlp"}


def test_a_child_changes_exactly_one_parameter_of_its_tournament_winner():
    study = run(RegularizedEvolutionSampler(10, 3, seed=3), onemax, 40)
    trials = study.trials
    assert all(t.system_attrs[PARENT_KEY] == -1 for t in trials[:10])  # random start
    for child in trials[10:]:
        parent = trials[child.system_attrs[PARENT_KEY]]
        assert child.number - 10 <= parent.number < child.number  # parent was alive (aging)
        changed = [k for k in child.params if child.params[k] != parent.params[k]]
        assert changed == [child.system_attrs[MUTATED_KEY]]


def test_evolution_beats_random_search_on_a_toy_space():
    def best(sampler_for_seed) -> float:
        return float(np.mean([run(sampler_for_seed(s), onemax, 60).best_value for s in range(5)]))

    evo = best(lambda s: RegularizedEvolutionSampler(10, 3, seed=s))
    rnd = best(lambda s: optuna.samplers.RandomSampler(seed=s))
    assert evo > rnd + 0.5, (evo, rnd)


def test_resumed_study_continues_the_same_evolution(tmp_path):
    # a journal file (SQLite works the same, but fsyncs for seconds on a busy disk)
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    def storage():  # opened anew, as a new process would
        return JournalStorage(JournalFileBackend(str(tmp_path / "study.log")))

    whole = run(RegularizedEvolutionSampler(8, 3, seed=7), onemax, 30)
    run(RegularizedEvolutionSampler(8, 3, seed=7), onemax, 12, storage=storage(), name="s")
    # a new process: a fresh sampler object, the storage is all it has
    sampler = RegularizedEvolutionSampler(8, 3, seed=7)
    resumed = run(sampler, onemax, 18, storage=storage(), name="s")
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]
    assert len(resumed.trials) == 30


def test_several_objectives_and_constraints_use_constrained_domination():
    def two(trial: optuna.Trial) -> tuple[float, float]:
        acc = onemax(trial)
        size = float(sum(trial.params[f"op{i}"] for i in range(len(TARGET))))
        trial.set_constraint("size", size - 12.0)  # a budget: size <= 12
        return acc, size

    sampler = RegularizedEvolutionSampler(10, 10, seed=0)  # the tournament sees the population
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(two, n_trials=40)
    for child in study.trials[10:]:
        alive = [t for t in study.trials if child.number - 10 <= t.number < child.number]
        parent = study.trials[child.system_attrs[PARENT_KEY]]
        feasible = [t for t in alive if all(v <= 0 for v in t.constraints.values())]
        if feasible:  # an infeasible parent never wins while a feasible one is alive
            assert all(v <= 0 for v in parent.constraints.values())
        # the winner is not Pareto-dominated by any feasible member it competed with
        for t in feasible:
            better = (t.values[0] >= parent.values[0] and t.values[1] <= parent.values[1])
            strictly = (t.values[0] > parent.values[0] or t.values[1] < parent.values[1])
            assert not (better and strictly)


@pytest.mark.parametrize("pop,sample", [(1, 1), (5, 0), (5, 6)])
def test_bad_options_are_refused(pop, sample):
    with pytest.raises(ValueError, match="population_size|sample_size"):
        RegularizedEvolutionSampler(pop, sample)
