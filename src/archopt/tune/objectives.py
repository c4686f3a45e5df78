"""Objectives and budgets of a study: validation metrics of the run and measured costs of the
model.

An objective is either a learning-curve metric read from the trial's ``metrics.json``
(``val_accuracy``, ``val_loss``, ``val_f1_macro``, ``val_r2``, ... and ``train_*``) or a cost:

- ``params``, ``flops`` (one example, ``torch.utils.flop_counter``) and ``latency_ms`` (batch 1,
  median of repeats after warm-up, as ``archopt profile`` measures it) are known *before*
  training: a worker measures them first, budgets on them reject a candidate untrained, and
  the multi-objective pruning rule compares a trial only with trials that cost no more;
- ``train_time_s`` is known after training (the sum of the epochs' times);
- ``archopt search`` measures three more before training (``archopt.search.costs``):
  ``peak_activation_bytes`` (the largest input + output of one layer for one example at
  inference: the activation memory a deployment needs per example), ``batch_latency_ms`` (the
  median time of one call at ``search.latency.throughput_batch``) and ``throughput`` (samples per
  second at that batch). They are objectives and budgets of a ``search:`` section only.

Test-split objectives are refused: choosing a model by its test score leaks the test set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archopt.errors import UserError, suggest

PRE_TRAINING = ("params", "flops", "latency_ms")
COSTS = (*PRE_TRAINING, "train_time_s")
SEARCH_COSTS = ("peak_activation_bytes", "batch_latency_ms", "throughput")  # archopt search's
THROUGHPUT_COSTS = ("batch_latency_ms", "throughput")  # need search.latency.throughput_batch


@dataclass(frozen=True)
class Objective:
    name: str                    # val_accuracy, params, ...
    direction: str               # maximize | minimize

    @property
    def is_cost(self) -> bool:
        return self.name in COSTS or self.name in SEARCH_COSTS

    @property
    def before_training(self) -> bool:
        return self.name in PRE_TRAINING or self.name in SEARCH_COSTS


def _search_only(name: str, where: str, search: bool) -> None:
    if name in SEARCH_COSTS and not search:
        raise UserError(where, f"'{name}' is measured by architecture search only",
                        "use a search: section and `archopt search SPEC`, or params, flops, "
                        "latency_ms, train_time_s")


def parse_objectives(raw: dict[str, str], history_keys: list[str], search: bool = False
                     ) -> list[Objective]:
    """The study's objectives, each checked: a cost, or a metric the runs log (``search``:
    the section is ``search:``, whose costs include ``SEARCH_COSTS``)."""
    costs = (*COSTS, *SEARCH_COSTS) if search else COSTS
    out = []
    for name, how in raw.items():
        where = f"tune.objectives.{name}"
        _search_only(name, where, search)
        if name.startswith("test_"):
            raise UserError(where, "an objective on the test split leaks the test set into the "
                            "choice of model", f"optimize val_{name[5:]} and read the test score "
                            "of the best trial afterwards")
        if name not in costs and name not in history_keys:
            known = [k for k in history_keys if k != "lr"] + list(costs)
            hint = suggest(name, known) or f"choose one of: {', '.join(known)}"
            if name.startswith("val_") and f"train_{name[4:]}" in history_keys:
                hint = "the runs have no validation split: set data.val_split > 0"
            elif name.startswith(("val_", "train_")):
                from archopt.registry import METRICS

                metric = name.split("_", 1)[1]
                if metric in METRICS:
                    hint = f"add {metric} to train.metrics so that the runs log it"
            raise UserError(where, f"'{name}' is not a metric of these runs nor a cost", hint)
        out.append(Objective(name, "maximize" if how == "max" else "minimize"))
    return out


def parse_constraints(raw: dict[str, Any], search: bool = False
                      ) -> dict[str, tuple[float | None, float | None]]:
    """{cost: (min, max)}; budgets apply to costs only (``search``: ``SEARCH_COSTS`` too)."""
    costs = (*COSTS, *SEARCH_COSTS) if search else COSTS
    out = {}
    for name, bound in raw.items():
        _search_only(name, f"tune.constraints.{name}", search)
        if name not in costs:
            raise UserError(f"tune.constraints.{name}", "budgets apply to costs only",
                            suggest(name, costs) or f"choose one of: {', '.join(costs)}")
        if bound.min is None and bound.max is None:
            raise UserError(f"tune.constraints.{name}", "give min, max or both")
        out[name] = (bound.min, bound.max)
    return out


def violations(costs: dict[str, float], budgets: dict[str, tuple[float | None, float | None]]
               ) -> dict[str, float]:
    """Optuna constraint values per budget (<= 0 is feasible) for the costs known."""
    out = {}
    for name, (lo, hi) in budgets.items():
        if name not in costs:
            continue
        v = costs[name]
        out[name] = max((lo - v) if lo is not None else -float("inf"),
                        (v - hi) if hi is not None else -float("inf"))
    return out


def value_of(name: str, metrics: dict[str, Any], costs: dict[str, float]) -> float | None:
    """An objective's value from a run's metrics.json and the measured costs."""
    if name in costs:
        return costs[name]
    if name == "train_time_s":
        return metrics.get("train_time_s")
    split, metric = name.split("_", 1)
    return (metrics.get(split) or {}).get(metric)


def measure_costs(spec: Any, names: list[str], repeats: int = 30) -> dict[str, float]:
    """The pre-training costs in ``names`` of the spec's model, built on its data's shape."""
    if not names:
        return {}
    import torch

    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.report.profile import count_flops, example_input, measure_latency

    shape = load_data(spec.data, spec.seed).shape
    model = build_model(spec.model, shape, seed=spec.seed).eval()
    out: dict[str, float] = {}
    if "params" in names:
        out["params"] = float(sum(p.numel() for p in model.parameters()))
    x = example_input(model, shape, 1)
    if "flops" in names:
        out["flops"] = float(count_flops(model, x)[0])
    if "latency_ms" in names:
        with torch.inference_mode():
            out["latency_ms"] = round(measure_latency(model, x, repeats), 5)
    return out
