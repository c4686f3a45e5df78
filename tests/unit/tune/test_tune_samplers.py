"""The samplers table: every name builds its class; options are checked with suggestions."""

from __future__ import annotations

import optuna
import pytest

from archopt.errors import UserError
from archopt.search import RegularizedEvolutionSampler
from archopt.tune.samplers import CLASSES, build_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_regularized_evolution_is_registered_with_its_options():
    s = build_sampler("evolution", {"population_size": 4, "sample_size": 2}, seed=3)
    assert isinstance(s, RegularizedEvolutionSampler)
    assert (s.population_size, s.sample_size) == (4, 2)
    study = optuna.create_study(sampler=s, direction="maximize")
    study.optimize(lambda t: -(t.suggest_float("x", -1, 1) ** 2), n_trials=8)
    children = [t for t in study.trials if t.system_attrs.get("evolution:parent", -1) >= 0]
    assert children  # after the 4 random trials, tournaments breed children


def test_evolution_option_errors():
    with pytest.raises(UserError) as e:
        build_sampler("evolution", {"populaton_size": 4}, seed=0)
    assert "tune.sampler.populaton_size" in str(e.value) and "population_size" in e.value.hint
    with pytest.raises(UserError) as e:
        build_sampler("evolution", {"population_size": 4, "sample_size": 9}, seed=0)
    assert "sample_size" in str(e.value)


def test_every_name_builds():
    grid = {"x": [1, 2]}
    for name in CLASSES:
        assert build_sampler(name, {}, seed=0, grid=grid) is not None
