"""Architecture-space helpers: searched list lengths and family choices with sub-spaces."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution as Choice
from optuna.distributions import FloatDistribution, IntDistribution

from archopt.data.dataset import DataShape
from archopt.models import build_model
from archopt.search.evolution import MUTATED_KEY, PARENT_KEY, RegularizedEvolutionSampler
from archopt.search.space import Families, Stages, set_path, suggest_space

optuna.logging.set_verbosity(optuna.logging.WARNING)

SHAPE = DataShape(kind="image", input_shape=(1, 8, 8), task="classification", num_outputs=10)
STAGES = Stages({"channels": [8, 16, 32, 64], "kernel_sizes": [1, 3]}, 1, 4)
SPACE = {
    "model": Families({
        "cnn": {"conv": STAGES, "dropout": FloatDistribution(0.0, 0.5), "norm": "batch"},
        "mlp": {"hidden": Stages({"hidden": [16, 32]}, 1, 2),
                "activation": Choice(["relu", "gelu"])},
        "resnet": {"stages": Stages({"widths": [8, 16], "depths": [1, 2]}, 1, 2),
                   "stem_channels": IntDistribution(4, 8, step=4)},
    }),
}


def sample(sampler, n: int, space=SPACE) -> tuple[optuna.Study, list[dict]]:
    sections = []

    def objective(trial: optuna.Trial) -> float:
        values = suggest_space(trial, space)
        sections.append(values)
        return float(len(str(values)))

    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study, sections


def test_stages_search_the_length_and_keep_parallel_lists_equal():
    _, sections = sample(optuna.samplers.RandomSampler(seed=0), 40, {"model": STAGES})
    depths = {len(s["channels"]) for s in sections}
    assert depths == {1, 2, 3, 4}
    for s in sections:
        assert len(s["channels"]) == len(s["kernel_sizes"])
        assert set(s["channels"]) <= {8, 16, 32, 64} and set(s["kernel_sizes"]) <= {1, 3}


def test_a_family_samples_only_its_own_sub_space_and_builds():
    study, sections = sample(optuna.samplers.RandomSampler(seed=1), 30)
    seen = set()
    for trial, values in zip(study.trials, sections):
        section = values["model"]
        family = section["name"]
        others = [p for p in trial.params if "/" in p and not p.startswith(f"model/{family}.")]
        assert others == []  # nothing sampled for the families not chosen
        if family == "cnn":
            assert section["norm"] == "batch"  # fixed values pass through
        if family not in seen:  # the first candidate of each family is a real model
            assert sum(p.numel() for p in build_model(section, SHAPE, seed=0).parameters()) > 0
        seen.add(family)
    assert seen == {"cnn", "mlp", "resnet"}


def test_evolution_mutating_the_depth_keeps_the_parents_first_stages():
    study, sections = sample(RegularizedEvolutionSampler(8, 3, seed=0), 80, {"model": STAGES})
    depth_mutations = 0
    for trial, values in zip(study.trials, sections):
        if trial.system_attrs.get(MUTATED_KEY) != "model.stages":
            continue
        depth_mutations += 1
        parent = sections[trial.system_attrs[PARENT_KEY]]
        d = min(len(parent["channels"]), len(values["channels"]))
        assert values["channels"][:d] == parent["channels"][:d]
        assert len(values["channels"]) != len(parent["channels"])
    assert depth_mutations > 0


def test_set_path_writes_into_a_spec():
    spec = {"model": {"name": "cnn"}}
    set_path(spec, "model.channels", [8, 16])
    set_path(spec, "train.optimizer.lr", 0.1)
    assert spec == {"model": {"name": "cnn", "channels": [8, 16]},
                    "train": {"optimizer": {"lr": 0.1}}}


@pytest.mark.parametrize("make", [
    lambda: Stages({"channels": [8]}, 0, 2),
    lambda: Stages({"channels": [8]}, 3, 2),
    lambda: Stages({"channels": []}),
    lambda: Families({}),
])
def test_bad_spaces_are_refused(make):
    with pytest.raises(ValueError):
        make()
