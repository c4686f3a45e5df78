"""Architecture-space helpers the tuning engine calls inside an Optuna objective.

Optuna spaces are flat: one named parameter, one distribution. Two shapes that architecture
spaces need are built here from ordinary Optuna suggestions, so every sampler (and the
evolution sampler's one-parameter mutation) works on them unchanged:

- ``Stages``: lists whose LENGTH is searched along with their items, e.g. ``model.channels`` of
  1 to 4 stages, each from {8, 16, 32, 64}, with ``model.kernel_sizes`` of the same length.
  The depth is one integer parameter and each stage's item its own parameter (``channels.0``,
  ``channels.1``, ...), so a deeper child keeps its parent's first stages and a mutation of the
  depth adds or removes a stage rather than redrawing them all.
- ``Families``: a choice among model families (``cnn`` vs ``resnet`` vs ``rnn`` ...), each with
  its own sub-space. Each family's parameters are named under it (``cnn/channels.0``), so two
  families' fields with one name never share a distribution, and the value is the whole
  ``model`` section: ``{"name": family, **fixed, **sampled}``.

A sub-space maps a field to an Optuna distribution, a ``Stages``, or a plain value (fixed).
``suggest_space(trial, space)`` returns ``{field: value}``; ``set_path`` writes it into a spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optuna import Trial
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


@dataclass(frozen=True)
class Stages:
    """Parallel lists of searched length: ``items`` maps each list field to its choices.

    Args:
        items: field -> the choices of each of its items (``{"channels": [8, 16, 32, 64]}``).
        min_stages: fewest stages.
        max_stages: most stages.
    """

    items: Mapping[str, list[Any]]
    min_stages: int = 1
    max_stages: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.min_stages <= self.max_stages:
            raise ValueError(f"need 1 <= min_stages <= max_stages, got {self.min_stages}, "
                             f"{self.max_stages}")
        for name, choices in self.items.items():
            if not choices:
                raise ValueError(f"stages field '{name}' has no choices")


@dataclass(frozen=True)
class Families:
    """A choice among model families, each with its own sub-space.

    Args:
        options: family name -> its sub-space (field -> distribution, ``Stages`` or value).
    """

    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.options:
            raise ValueError("a family choice needs at least one family")


def suggest(trial: Trial, name: str, dist: BaseDistribution) -> Any:
    """Ask ``trial`` for ``name`` from an Optuna distribution object (public API only)."""
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    raise TypeError(f"unsupported distribution for '{name}': {dist!r}")


def suggest_stages(trial: Trial, name: str, stages: Stages) -> dict[str, list[Any]]:
    """Sample the depth, then each stage's item of every list field.

    Args:
        trial: the Optuna trial.
        name: prefix of the parameter names (``model`` gives ``model.stages``,
            ``model.channels.0``, ...).
        stages: the lists and their choices.

    Returns:
        ``{field: list}``, all lists of the sampled depth.
    """
    depth = trial.suggest_int(f"{name}.stages", stages.min_stages, stages.max_stages)
    return {
        f: [trial.suggest_categorical(f"{name}.{f}.{i}", list(choices)) for i in range(depth)]
        for f, choices in stages.items.items()
    }


def suggest_family(trial: Trial, name: str, families: Families) -> dict[str, Any]:
    """Choose a family, then sample only that family's sub-space.

    Returns:
        The section: ``{"name": family, **fixed values, **sampled values}``.
    """
    family = trial.suggest_categorical(name, list(families.options))
    return {"name": family, **suggest_space(trial, families.options[family], f"{name}/{family}")}


def suggest_space(trial: Trial, space: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Sample a (sub-)space: field -> distribution, ``Stages``, ``Families`` or fixed value.

    Args:
        trial: the Optuna trial.
        space: what to sample; plain values are returned as they are.
        prefix: prepended to parameter names (``cnn/`` for a family's sub-space).

    Returns:
        ``{field: value}``; a ``Stages`` entry contributes one list per field it holds.
    """
    out: dict[str, Any] = {}
    for key, spec in space.items():
        pname = f"{prefix}.{key}" if prefix else key
        if isinstance(spec, BaseDistribution):
            out[key] = suggest(trial, pname, spec)
        elif isinstance(spec, Stages):
            out.update(suggest_stages(trial, pname, spec))
        elif isinstance(spec, Families):
            out[key] = suggest_family(trial, pname, spec)
        else:
            out[key] = spec
    return out


def set_path(spec: dict[str, Any], path: str, value: Any) -> None:
    """Set ``spec[a][b]...`` for ``path`` "a.b..." (creating mappings on the way)."""
    *parents, last = path.split(".")
    node = spec
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
