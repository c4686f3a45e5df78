"""Everything a study checks before its first trial, gathered in a ``Plan``: the space parsed
and every path of every branch tried against the spec, the objectives against what the runs
log, the budgets, the sampler's and pruner's names and options, and the pruning rule for
several objectives. A bad study fails here, before anything is written.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from archopt.errors import UserError
from archopt.spec import load_spec
from archopt.spec.schema import Spec
from archopt.tune import objectives as obj
from archopt.tune import space as sp


@dataclass
class Plan:
    spec: Spec                                  # the study's spec (tune section included)
    base: dict[str, Any]                        # the spec without tune: what trials start from
    space: dict[str, Any]
    objectives: list[obj.Objective]
    budgets: dict[str, tuple[float | None, float | None]]
    grid: dict[str, list[Any]] | None           # the grid sampler's search space
    trials: int
    curve: obj.Objective | None                 # the objective reported for pruning
    pre_costs: list[str]                        # costs a worker measures before training
    seed: int
    section: Any = None                         # spec.tune, or spec.search (archopt search)
    measure: dict[str, Any] | None = None       # search: how workers time latency (see
                                                # archopt.search.costs); None: tune's way


def section(spec: Spec) -> Any:
    """The study's section: ``tune:``, or ``search:`` (a tune section with measured costs)."""
    return spec.search if spec.search is not None else spec.tune


def make_plan(spec: Spec, trials: int | None = None) -> Plan:
    """Check the tune section against the spec; a UserError for the first problem."""
    t = section(spec)
    if t is None:
        raise UserError("tune", "the spec has no tune: section",
                        "add one; see examples/tune/mnist1d_cnn.yaml")
    space = sp.parse_space(t.space)
    base = spec.model_dump(mode="json", exclude={"tune", "search"})
    keys = _history_keys(spec)
    search = spec.search is not None
    objectives = obj.parse_objectives(t.objectives, keys, search)
    budgets = obj.parse_constraints(t.constraints, search)
    if search and not spec.search.latency.throughput_batch:
        needs = [n for n in [*t.objectives, *t.constraints] if n in obj.THROUGHPUT_COSTS]
        if needs:
            raise UserError(f"tune.objectives.{needs[0]}" if needs[0] in t.objectives else
                            f"tune.constraints.{needs[0]}", "is timed at the throughput batch, "
                            "and search.latency.throughput_batch is null",
                            "set search.latency.throughput_batch, e.g. 256")
    curves = [o for o in objectives if not o.is_cost]
    _check_pruning(t.pruner.name, objectives, curves)
    grid = None
    import optuna

    from archopt.tune.pruners import build_pruner
    from archopt.tune.samplers import CLASSES, build_sampler, check_options

    check_options(CLASSES, t.sampler.name, t.sampler.options(), "tune.sampler", optuna.samplers)
    build_pruner(t.pruner.name, t.pruner.options())
    if t.sampler.name == "grid":
        grid = sp.grid(space)
    build_sampler(t.sampler.name, t.sampler.options(), 0, grid)  # options Optuna refuses
    if t.sampler.name in ("cmaes", "qmc") and len(objectives) > 1:
        raise UserError("tune.sampler.name", f"{t.sampler.name} optimizes one objective",
                        "use nsga2 or tpe (or gp) for several objectives")
    _check_branches(base, space)
    n = trials or t.trials or (sp.grid_size(grid) if grid is not None else 20)
    pre = sorted({o.name for o in objectives if o.before_training} |
                 {b for b in budgets if b in obj.PRE_TRAINING})
    measure = None
    if search:  # a search measures every cost of every candidate
        pre, measure = sorted(obj.PRE_TRAINING), spec.search.latency.model_dump()
    seed = t.sampler.seed if t.sampler.seed is not None else spec.seed
    return Plan(spec, base, space, objectives, budgets, grid, n,
                curves[0] if len(curves) == 1 or (curves and len(objectives) == 1) else None,
                pre, seed, t, measure)


def _history_keys(spec: Spec) -> list[str]:
    """What the base spec's runs log each epoch (building its data, model and task once)."""
    from archopt.train.fit import prepare
    from archopt.train.setup import history_keys

    base = spec.model_copy(update={"tune": None, "search": None})
    p = prepare(base)
    return history_keys(p.parts.metrics, p.val_loader is not None, p.parts.task)


def _check_pruning(pruner: str, objectives: list[obj.Objective],
                   curves: list[obj.Objective]) -> None:
    if pruner == "none" or len(objectives) == 1:
        return
    if len(curves) != 1 or any(o.name == "train_time_s" for o in objectives):
        raise UserError("tune.pruner", "pruning with several objectives needs exactly one "
                        "learning-curve objective and costs known before training "
                        "(params, flops, latency_ms)", "set tune.pruner.name: none")
    if pruner == "hyperband":
        raise UserError("tune.pruner.name", "hyperband cannot prune several objectives",
                        "use successive_halving (ASHA), median or percentile")


def _check_branches(base: dict[str, Any], space: dict[str, Any]) -> None:
    """Every path, every option and both ends of every range make a valid spec."""
    for values in sp.branches(space):
        try:
            load_spec(sp.apply(copy.deepcopy(base), values))
        except UserError as err:
            path = _blame(err.where, values)
            shown = values.get(path, None)
            what = err.what if err.what != "unknown field" else "not a spec field"
            raise UserError(f"tune.space.{path}", f"{what} (at {err.where}, value {shown!r})"
                            if what != "not a spec field" else f"'{path}' is {what}",
                            err.hint) from None


def _blame(where: str, values: dict[str, Any]) -> str:
    """The space path a spec error belongs to: the longest one that is a prefix of it."""
    where = where.split(": ")[-1]
    best = ""
    for path in values:
        if (where == path or where.startswith(path + ".") or path.startswith(where + ".")) \
                and len(path) > len(best):
            best = path
    return best or next(iter(values))
