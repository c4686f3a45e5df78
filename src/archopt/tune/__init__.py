"""Hyperparameter search over any spec field, on Optuna: ``tune(spec)`` runs a study,
``show(study_dir)`` reads one back.

The ``tune:`` section (``archopt.tune.schema``) names a space over spec paths
(``archopt.tune.space``), objectives and budgets (``objectives``), an Optuna sampler
(``samplers``) and pruner (``pruners``, with the several-objective rule in ``pruning``), and a
storage (``storage``). ``engine`` owns the study; trials train in long-lived worker processes
(``pool``, ``worker``). A study is a directory whose format ``study_dir`` documents; ``outputs``
and ``plots`` write its CSV, best spec and PNGs. Architecture search uses this same engine with
a space over ``model.*`` and cost objectives.

Nothing here is imported until used: the spec schema imports only ``archopt.tune.schema``.
"""

from __future__ import annotations

from typing import Any

from archopt.callable_package import make_callable

__all__ = ["show", "show_study", "tune"]


def tune(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run or resume a study; see ``archopt.tune.engine.tune``."""
    from archopt.tune.engine import tune as _tune

    return _tune(*args, **kwargs)


def show(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """A study's summary; see ``archopt.tune.summary.show``."""
    from archopt.tune.summary import show as _show

    return _show(*args, **kwargs)


show_study = show  # the name archopt's top-level API uses (``archopt.show_study(dir)``)

make_callable(__name__, tune)
