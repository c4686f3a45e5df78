"""Check that an architecture space's candidates build for the data, before any trial trains.

A space over ``model.*`` can hold candidates that cannot exist for the data: a kernel larger
than what is left of the input after striding, a family that does not take this kind of data.
``check_builds`` draws candidates from the space (Optuna's random sampler, a throw-away study),
builds each model for the data's shape, and reports which fail and why; a space none of whose
sampled candidates builds is a user error before trial 1. The engine can run it when it
validates the spec, and reject the failing candidates of a real study the same way (built and
refused before training).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.search.space import Families, suggest_family, suggest_space


@dataclass
class BuildCheck:
    """What ``check_builds`` found: how many sampled candidates built, and the failures."""

    sampled: int
    built: int
    failures: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (section, why)


def sample_section(trial: optuna.Trial, space: Mapping[str, Any] | Families,
                   base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A ``model`` section from ``space``: a ``Families`` choice, or fields over ``base``."""
    if isinstance(space, Families):
        return suggest_family(trial, "model", space)
    return {**(base or {}), **suggest_space(trial, space, "model")}


def check_builds(space: Mapping[str, Any] | Families, shape: DataShape,
                 base: Mapping[str, Any] | None = None, n: int = 32, seed: int = 0
                 ) -> BuildCheck:
    """Build ``n`` random candidates of ``space`` for data of ``shape``.

    Args:
        space: the model section's space (field -> distribution, ``Stages`` or value), or a
            ``Families`` choice (then each family's sub-space is the section).
        shape: the data's shape (``Dataset.shape``).
        base: fixed fields of the section under a field space (at least ``name``).
        n: candidates to draw.
        seed: the random sampler's seed.

    Returns:
        A ``BuildCheck`` with the failures' sections and messages.

    Raises:
        UserError: not one of the ``n`` candidates builds (with the first failure's reason).
    """
    from archopt.models import build_model

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    report = BuildCheck(sampled=n, built=0)
    for _ in range(n):
        trial = study.ask()
        section = sample_section(trial, space, base)
        study.tell(trial, 0.0)
        try:
            build_model(section, shape, seed=0)
            report.built += 1
        except UserError as e:
            report.failures.append((section, str(e)))
    if report.built == 0:
        section, why = report.failures[0]
        raise UserError("search.space", f"none of {n} sampled candidates builds for "
                        f"{shape.kind} data of shape {list(shape.input_shape)}; e.g. {section}: "
                        f"{why}", "narrow the space (smaller kernels or strides, fewer stages) "
                        "or choose a family that takes this data")
    return report
