"""How many trainings does "no architecture trains twice" save? Regularized evolution over the
space of ``examples/search/mnist1d_latency.yaml`` (its sampler: population 8, tournament 3),
with an untrained score (NASWOT on 64 training examples) standing in for accuracy so that the
run needs no training, the way the README's evolution example works. A trial is a *repeat* when
its sampled spec has the candidate key (``archopt.tune.repeats.candidate_key``) of an earlier
trial: ``archopt search`` reuses that trial's values instead of training it again.

Reported per number of trials: the share of repeats over ``--seeds`` seeds (median, min, max).

    nice -n 10 .venv/bin/python benchmarks/search/repeats.py --seeds 10 --trials 24 60
"""

from __future__ import annotations

import argparse
import copy
import statistics
from pathlib import Path

import optuna
import yaml

from archopt.data import load_data
from archopt.models import build_model
from archopt.search.evolution import RegularizedEvolutionSampler
from archopt.search.proxies import naswot
from archopt.spec import load_spec
from archopt.tune import space as sp
from archopt.tune.repeats import candidate_key

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/search/mnist1d_latency.yaml"


def run(seed: int, trials: int, raw: dict, data, batch) -> list[bool]:
    """One evolution of ``trials`` trials; for each, whether it repeats an earlier one."""
    s = raw["search"]
    space = sp.parse_space(s["space"])
    base = {k: v for k, v in raw.items() if k != "search"}
    opts = s["sampler"]
    sampler = RegularizedEvolutionSampler(opts["population_size"], opts["sample_size"], seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    seen: dict[str, float] = {}
    repeats = []

    def objective(trial: optuna.Trial) -> float:
        spec = load_spec(sp.apply(copy.deepcopy(base), sp.sample(trial, space)))
        key = candidate_key(spec)
        repeats.append(key in seen)
        if key not in seen:
            model = build_model(spec.model, data.shape, seed=spec.seed)
            seen[key] = naswot(model, batch)
        return seen[key]

    study.optimize(objective, n_trials=trials)
    return repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, nargs="+", default=[24, 60])
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    raw = yaml.safe_load(EXAMPLE.read_text())
    data = load_data(raw["data"], raw.get("seed", 42))
    batch = data.train.x[:64]
    for n in args.trials:
        shares = [sum(r) / n for r in (run(seed, n, raw, data, batch)
                                       for seed in range(args.seeds))]
        print(f"{n} trials, {args.seeds} seeds: repeats {statistics.median(shares):.1%} median "
              f"(min {min(shares):.1%}, max {max(shares):.1%}) of the trials, each a training "
              "saved", flush=True)


if __name__ == "__main__":
    main()
