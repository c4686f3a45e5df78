"""The Optuna study of one ``archopt tune`` process: created or loaded from the storage, with
the sampler and pruner of the spec's ``tune:`` section."""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Iterator
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


@contextlib.contextmanager
def asking_in_turn(storage: Any, name: str) -> Iterator[None]:
    """Processes sharing a study on PostgreSQL ask for trials one at a time (a session advisory
    lock on the study's name, released by the server if the process dies): a trial's id comes
    from a sequence before its transaction commits, so without it a process could miss a trial
    created just before its own and both could take the last place (see
    ``archopt.tune.accounting``). SQLite and journal storages already write one at a time."""
    engine = getattr(storage, "engine", None)
    if engine is None or engine.dialect.name != "postgresql":
        yield
        return
    from sqlalchemy import text

    key = {"k": zlib.crc32(f"archopt-study:{name}".encode())}
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), key)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
