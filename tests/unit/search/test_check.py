"""Architecture spaces are checked to build for the data before any trial trains."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution as Choice

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.search.check import check_builds
from archopt.search.space import Families, Stages

IMAGES = DataShape(kind="image", input_shape=(1, 8, 8), task="classification", num_outputs=10)


def test_candidates_that_cannot_build_are_reported_with_the_reason():
    space = {"conv": Stages({"channels": [4], "kernel_sizes": [3, 7]}, 1, 3),
             "strides": 2, "padding": 0, "pool": "none"}  # 8 -> 3 or 1 -> ...
    report = check_builds(space, IMAGES, base={"name": "cnn"}, n=24, seed=0)
    assert report.built > 0 and report.failures  # some candidates build, some cannot
    assert report.built + len(report.failures) == 24
    for section, why in report.failures:
        assert len(section["channels"]) >= 2 and "kernel" in why  # one stage always fits


def test_a_space_that_never_builds_is_an_error_before_trial_one():
    space = {"kernel_sizes": Choice([11, 13]), "padding": 0, "pool": "none"}
    with pytest.raises(UserError, match="none of 8 sampled candidates builds"):
        check_builds(space, IMAGES, base={"name": "cnn", "channels": [4]}, n=8)


def test_a_family_that_does_not_take_the_data_fails_to_build():
    tabular = DataShape(kind="tabular", input_shape=(5,), task="classification", num_outputs=3)
    families = Families({"cnn": {"channels": [4]}, "mlp": {"h": Stages({"hidden": [8, 16]}, 1, 2)}})
    report = check_builds(families, tabular, n=12, seed=1)
    assert report.failures and all(s["name"] == "cnn" for s, _ in report.failures)
    assert report.built == 12 - len(report.failures) > 0
