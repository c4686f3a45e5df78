"""Regularized (aging) evolution as an Optuna sampler (Real et al. 2019, AmoebaNet).

Optuna has no regularized evolution: its genetic samplers (NSGA-II/III) breed whole
generations by crossover. Aging evolution is simpler and strong on architecture spaces:

1) the population is the ``population_size`` most recent finished trials (by trial number),
   so the oldest member dies whatever its fitness — the "aging" that regularizes;
2) a child starts from a tournament: ``sample_size`` members drawn at random, the best wins;
3) the child copies the winner's parameters and changes exactly one of them to another value;
4) until the population is full, trials are sampled at random.

Everything the sampler needs is read back from the study's storage (the population, the parent
and the mutated parameter, recorded in each trial's system attributes), and every random draw
comes from a generator seeded by ``(seed, trial number)``. So a study that is killed and resumed
with a new sampler of the same seed continues the same evolution, trial for trial, and several
workers sharing one storage evolve one population.

Several objectives: members are ordered as NSGA-II orders them, by non-domination rank within
the population and then by crowding distance, and the tournament's best wins (ties drawn at
random); for one objective that is simply the best value. Domination is constrained
domination (feasible before infeasible, then less violation, then Pareto domination), so a
trial whose constraints (``trial.set_constraint`` or ``constraints_func``) break a budget loses
every tournament against one that fits.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler
from optuna.samplers._base import _process_constraints_after_trial
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

PARENT_KEY = "evolution:parent"  # trial number of the tournament winner, or -1 (random trial)
MUTATED_KEY = "evolution:mutated"  # name of the parameter the child changed
_MAX_RESAMPLE = 32  # draws to find a different value of a continuous or huge-range parameter


def _violation(trial: FrozenTrial) -> float:
    """Total constraint violation (0 for a feasible or unconstrained trial)."""
    return float(sum(max(v, 0.0) for v in trial.constraints.values()))


def _dominates(a: FrozenTrial, b: FrozenTrial, directions: Sequence[StudyDirection]) -> bool:
    """Constrained domination: feasibility first, then Pareto domination of the values."""
    va, vb = _violation(a), _violation(b)
    if va > 0 or vb > 0:
        return va < vb
    signs = [1.0 if d == StudyDirection.MINIMIZE else -1.0 for d in directions]
    la = [s * v for s, v in zip(signs, a.values)]
    lb = [s * v for s, v in zip(signs, b.values)]
    return all(x <= y for x, y in zip(la, lb)) and any(x < y for x, y in zip(la, lb))


def _numeric_values(dist: IntDistribution) -> int:
    return (dist.high - dist.low) // dist.step + 1


def _rank_and_crowding(
    population: list[FrozenTrial], directions: Sequence[StudyDirection]
) -> tuple[list[int], list[float]]:
    """Non-domination rank of each member within the population (0 = its front) and its
    crowding distance within its rank (NSGA-II's), for the tournament's ordering."""
    n = len(population)
    beaten_by = [[j for j in range(n) if _dominates(population[j], population[i], directions)]
                 for i in range(n)]
    rank, left, r = [0] * n, set(range(n)), 0
    while left:
        front = [i for i in left if not any(j in left for j in beaten_by[i])]
        for i in front:
            rank[i] = r
        left -= set(front)
        r += 1
    crowd = [0.0] * n
    if len(directions) > 1:
        for r in set(rank):
            members = [i for i in range(n) if rank[i] == r and population[i].values]
            if not members:  # rejected before training: no values, ordered by violation
                continue
            for m in range(len(directions)):
                members.sort(key=lambda i: population[i].values[m])
                lo, hi = population[members[0]].values[m], population[members[-1]].values[m]
                crowd[members[0]] = crowd[members[-1]] = float("inf")
                for a, i, b in zip(members, members[1:], members[2:]):
                    span = (hi - lo) or 1.0
                    crowd[i] += (population[b].values[m] - population[a].values[m]) / span
    return rank, crowd


class RegularizedEvolutionSampler(BaseSampler):
    """Aging evolution: tournament selection, one-parameter mutation, oldest member dies.

    Args:
        population_size: how many of the most recent finished trials form the population
            (Real et al.: P). The first ``population_size`` trials are random.
        sample_size: tournament size (Real et al.: S), 1 <= sample_size <= population_size.
            Larger means greedier.
        seed: seed of every random draw; the same seed gives the same study, resumed or not.
        constraints_func: optional function of a finished trial returning constraint values
            (feasible when all <= 0), as in Optuna's NSGA-II; ``trial.set_constraint`` works too.
    """

    def __init__(
        self,
        population_size: int = 20,
        sample_size: int = 5,
        seed: int | None = None,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    ) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        if not 1 <= sample_size <= population_size:
            raise ValueError(
                f"sample_size must be between 1 and population_size ({population_size}), "
                f"got {sample_size}"
            )
        self.population_size = population_size
        self.sample_size = sample_size
        self._seed = int(np.random.SeedSequence().entropy % 2**63) if seed is None else seed
        self._constraints_func = constraints_func
        self._plans: dict[int, tuple[dict[str, Any], dict[str, BaseDistribution], str | None]] = {}

    # --- randomness: one generator per (seed, trial, purpose), independent of call order ---
    def _rng(self, number: int, purpose: str) -> np.random.Generator:
        return np.random.default_rng([self._seed, number, zlib.crc32(purpose.encode())])

    @staticmethod
    def _index(study: Study, number: int) -> int:
        """The trial's place in an uninterrupted study: its number less the retries (of trials
        a kill interrupted) and the surplus trials (asked for beyond the wanted count by
        processes sharing a study, never run: archopt's ``surplus`` user attribute) before it,
        so a killed and resumed study draws what an uninterrupted one draws. A retry takes its
        original's place: a trial killed before all its parameters were drawn gets the missing
        ones from the same draws."""
        trials = study._get_trials(deepcopy=False, use_cache=True)
        if number < len(trials) and trials[number].number == number:
            number = trials[number].system_attrs.get("failed_trial", number)
        return number - sum(1 for t in trials[:number]
                            if "failed_trial" in t.system_attrs or t.user_attrs.get("surplus"))

    def reseed_rng(self) -> None:
        self._seed = int(np.random.SeedSequence().entropy % 2**63)

    # --- the population and the tournament ---
    def population(self, study: Study) -> list[FrozenTrial]:
        """The living population: the most recent finished trials, oldest first. A trial that
        a budget rejected before training (PRUNED with a violated constraint, no values) is a
        member too: it loses every tournament against a feasible one, so the evolution learns
        from the rejection instead of drawing near it again at random."""
        done = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED),
                                 use_cache=True)
        done = sorted((t for t in done if t.state == TrialState.COMPLETE or
                       (not t.intermediate_values and _violation(t) > 0)),
                      key=lambda t: t.number)
        return done[-self.population_size :]

    def _tournament(self, study: Study, number: int, population: list[FrozenTrial]) -> FrozenTrial:
        rng = self._rng(number, "tournament")
        picks = rng.choice(len(population), size=self.sample_size, replace=False)
        rank, crowd = _rank_and_crowding(population, study.directions)
        best = min((rank[i], -crowd[i]) for i in picks)
        winners = [i for i in sorted(picks) if (rank[i], -crowd[i]) == best]
        return population[winners[int(rng.integers(len(winners)))]]

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if PARENT_KEY in trial.system_attrs:  # a retried trial keeps its plan
            self._plans.pop(trial.number, None)
            return
        population = self.population(study)
        if len(population) < self.population_size:
            study._storage.set_trial_system_attr(trial._trial_id, PARENT_KEY, -1)
            return
        index = self._index(study, trial.number)
        parent = self._tournament(study, index, population)
        mutable = sorted(n for n, d in parent.distributions.items() if not d.single())
        rng = self._rng(index, "mutate")
        mutated = mutable[int(rng.integers(len(mutable)))] if mutable else None
        study._storage.set_trial_system_attr(trial._trial_id, PARENT_KEY, parent.number)
        study._storage.set_trial_system_attr(trial._trial_id, MUTATED_KEY, mutated)
        self._plans[trial.number] = (dict(parent.params), dict(parent.distributions), mutated)

    def _plan(self, study: Study, trial: FrozenTrial):
        plan = self._plans.get(trial.number)
        if plan is not None:
            return plan
        parent_number = trial.system_attrs.get(PARENT_KEY, -1)
        if parent_number is None or parent_number < 0:
            return None
        parent = study._get_trials(deepcopy=False, use_cache=True)[parent_number]
        plan = (dict(parent.params), dict(parent.distributions), trial.system_attrs[MUTATED_KEY])
        self._plans[trial.number] = plan
        return plan

    # --- sampling: everything is independent, so conditional spaces mutate naturally ---
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        rng = self._rng(self._index(study, trial.number), "param:" + param_name)
        plan = self._plan(study, trial)
        if plan is not None:
            params, dists, mutated = plan
            inherited = param_name in params and dists[param_name] == param_distribution
            if inherited and param_name != mutated:
                return params[param_name]
            if inherited:
                return _other_value(param_distribution, params[param_name], rng)
        return _random_value(param_distribution, rng)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._plans.pop(trial.number, None)
        if self._constraints_func is not None:
            _process_constraints_after_trial(self._constraints_func, study, trial, state)


def _random_value(dist: BaseDistribution, rng: np.random.Generator) -> Any:
    """A value drawn uniformly from ``dist`` (in log space when it is log-scaled)."""
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    if isinstance(dist, IntDistribution):
        if dist.log:
            x = float(np.exp(rng.uniform(np.log(dist.low - 0.5), np.log(dist.high + 0.5))))
            return int(min(max(round(x), dist.low), dist.high))
        return dist.low + dist.step * int(rng.integers(_numeric_values(dist)))
    if isinstance(dist, FloatDistribution):
        if dist.log:
            return float(np.exp(rng.uniform(np.log(dist.low), np.log(dist.high))))
        if dist.step is not None:
            n = int(round((dist.high - dist.low) / dist.step)) + 1
            return float(dist.low + dist.step * int(rng.integers(n)))
        return float(rng.uniform(dist.low, dist.high))
    raise TypeError(f"unsupported distribution {dist!r}")


def _other_value(dist: BaseDistribution, current: Any, rng: np.random.Generator) -> Any:
    """A value of ``dist`` different from ``current``: the mutation of one parameter."""
    if isinstance(dist, CategoricalDistribution):
        others = [i for i, c in enumerate(dist.choices) if c != current]
        return dist.choices[others[int(rng.integers(len(others)))]] if others else current
    if isinstance(dist, IntDistribution) and not dist.log and _numeric_values(dist) <= 1 << 20:
        index = (current - dist.low) // dist.step
        k = int(rng.integers(_numeric_values(dist) - 1))
        return dist.low + dist.step * (k + (k >= index))
    for _ in range(_MAX_RESAMPLE):
        value = _random_value(dist, rng)
        if value != current:
            return value
    return value
