"""The Optuna study of one ``archopt tune`` process: created or loaded from the storage, with
the sampler and pruner of the spec's ``tune:`` section."""

from __future__ import annotations

import os
from typing import Any

from archopt.errors import UserError
from archopt.tune.plan import Plan


def open_study(plan: Plan, storage: Any, name: str, shared: bool) -> Any:
    """The study ``name`` in ``storage`` (created if new); its directions must match."""
    import warnings

    import optuna

    from archopt.tune.pruners import build_pruner
    from archopt.tune.samplers import build_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # the study's process records the heartbeats itself (ask/tell), which Optuna does not expect
    warnings.filterwarnings("ignore", message="Heartbeat of storage")
    t = plan.section
    directions = [o.direction for o in plan.objectives]
    study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                load_if_exists=True)
    if [d.name.lower() for d in study.directions] != directions:
        raise UserError("tune.objectives", f"the study '{name}' in this storage has other "
                        "objective directions", "choose another --study name")
    # a seeded sampler must not repeat the parameters of the trials already run (#3255); the
    # processes sharing a study must not draw the same ones either
    done = len(study.get_trials(deepcopy=False))
    seed = plan.seed + done + (os.getpid() % 100_003 if shared else 0)
    if t.sampler.name == "evolution":  # it seeds each draw by (seed, trial) itself, so that
        seed = plan.seed               # a resumed search draws what an unbroken one draws
    study.sampler = build_sampler(t.sampler.name, t.sampler.options(), seed, plan.grid)
    study.pruner = build_pruner(t.pruner.name, t.pruner.options())
    # samplers may call study.stop() when done (the grid is exhausted), which Optuna allows
    # only inside study.optimize; ask/tell counts trials itself, so let them (``stopped``)
    study._thread_local.in_optimize_loop = True
    return study


def stopped(study: Any) -> bool:
    """Whether the sampler said it has nothing left to propose (``study.stop()``)."""
    return bool(getattr(study, "_stop_flag", False))
