"""Samplers: archopt's YAML names -> Optuna sampler classes, built with the user's options.

=========  =====================================  =============================================
name       Optuna class                           method
=========  =====================================  =============================================
grid       ``GridSampler``                        every combination (discrete spaces only)
random     ``RandomSampler``                      random search
tpe        ``TPESampler`` (multivariate)          Bayesian: tree-structured Parzen estimators
gp         ``GPSampler``                          Bayesian: Gaussian process, log EI
cmaes      ``CmaEsSampler``                       evolution strategy (CMA-ES, continuous)
qmc        ``QMCSampler``                         quasi-random (Sobol) space filling
nsga2      ``NSGAIISampler``                      evolutionary, several objectives
evolution  ``RegularizedEvolutionSampler``        aging evolution (Real et al. 2019), archopt's
                                                  own (``archopt.search.evolution``): Optuna
                                                  has none
=========  =====================================  =============================================

Options are the class's own keyword arguments (``n_startup_trials``, ``population_size``, ...),
checked against its signature; only plain values (numbers, strings, booleans) are accepted.
"""

from __future__ import annotations

import inspect
from typing import Any

from archopt.errors import UserError, suggest

CLASSES = {
    "grid": "GridSampler",
    "random": "RandomSampler",
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "cmaes": "CmaEsSampler",
    "qmc": "QMCSampler",
    "nsga2": "NSGAIISampler",
    "evolution": "archopt.search.evolution:RegularizedEvolutionSampler",
}
DEFAULTS: dict[str, dict[str, Any]] = {"tpe": {"multivariate": True}}
_NOT_OPTIONS = {"seed", "search_space", "constraints_func"}


def check_options(table: dict[str, str], name: str, options: dict[str, Any], where: str,
                  module: Any) -> type:
    """The Optuna class for ``name``; a UserError for an unknown name or option."""
    if name not in table:
        raise UserError(f"{where}.name", f"unknown {where.split('.')[-1]} '{name}'",
                        suggest(name, table) or f"choose one of: {', '.join(table)}")
    if ":" in table[name]:  # archopt's own plugin: "module:Class"
        import importlib

        mod, _, attr = table[name].partition(":")
        cls = getattr(importlib.import_module(mod), attr)
    else:
        cls = getattr(module, table[name])
    params = inspect.signature(cls.__init__).parameters
    allowed = [p for p, v in params.items() if p != "self" and p not in _NOT_OPTIONS
               and v.kind is not inspect.Parameter.VAR_KEYWORD
               and (v.default is None or isinstance(v.default, int | float | str | bool))]
    for key, value in options.items():
        if key not in allowed:
            raise UserError(f"{where}.{key}", f"not an option of the {name} {where.split('.')[-1]}",
                            suggest(key, allowed) or f"options: {', '.join(allowed) or 'none'}")
        if not isinstance(value, int | float | str | bool) and value is not None:
            raise UserError(f"{where}.{key}", f"must be a number, string or boolean, "
                            f"got {value!r}")
    return cls


def build_sampler(name: str, options: dict[str, Any], seed: int,
                  grid: dict[str, list[Any]] | None = None) -> Any:
    """An Optuna sampler; ``grid`` is the search space of ``grid`` (see ``space.grid``)."""
    import optuna

    cls = check_options(CLASSES, name, options, "tune.sampler", optuna.samplers)
    kwargs = {**DEFAULTS.get(name, {}), **options}
    try:
        if name == "grid":
            return cls(grid, seed=seed, **kwargs)
        return cls(seed=seed, **kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError("tune.sampler", f"Optuna refused the options: {exc}") from None
    except ImportError as exc:
        raise UserError("tune.sampler.name", f"the {name} sampler needs a package: {exc}",
                        "pip install 'archopt[tune]'") from None
