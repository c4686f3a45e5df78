"""Pruners: archopt's YAML names -> Optuna pruner classes, built with the user's options.

==================  ============================  ==============================================
name                Optuna class                  stops a trial when ...
==================  ============================  ==============================================
none                ``NopPruner``                 never
median              ``MedianPruner``              its curve is below the median of earlier ones
percentile          ``PercentilePruner``          ... below a percentile (``percentile: 25``)
successive_halving  ``SuccessiveHalvingPruner``   ASHA: it is not in the top 1/eta of its rung
hyperband           ``HyperbandPruner``           several ASHA brackets (single objective only)
threshold           ``ThresholdPruner``           it crosses ``lower``/``upper`` (or is NaN)
==================  ============================  ==============================================

The value a trial reports each validation epoch is its learning-curve objective (the one
objective that is not a cost); ``step`` is the epoch number. With several objectives the
decision is taken among the trial's cost peers (``archopt.tune.pruning``).
"""

from __future__ import annotations

from typing import Any

from archopt.errors import UserError
from archopt.tune.samplers import check_options

CLASSES = {
    "none": "NopPruner",
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
    "threshold": "ThresholdPruner",
}


def build_pruner(name: str, options: dict[str, Any]) -> Any:
    """An Optuna pruner (``percentile`` needs ``percentile``; ``threshold`` lower or upper)."""
    import optuna

    cls = check_options(CLASSES, name, options, "tune.pruner", optuna.pruners)
    if name == "percentile" and "percentile" not in options:
        raise UserError("tune.pruner.percentile", "the percentile pruner needs a percentile",
                        "example: {name: percentile, percentile: 25}")
    if name == "threshold" and not ({"lower", "upper"} & set(options)):
        raise UserError("tune.pruner", "the threshold pruner needs lower, upper or both",
                        "example: {name: threshold, lower: 0.2} for an accuracy")
    try:
        return cls(**options)
    except (ValueError, TypeError) as exc:
        raise UserError("tune.pruner", f"Optuna refused the options: {exc}") from None
