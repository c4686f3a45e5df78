"""Candidates drawn from a search space before the study starts: the check that they build for
the data, and the zero-cost pre-screen that picks the study's first trials.

Both draw from the study's own space (``archopt.tune.space``) with Optuna's random sampler in a
throw-away in-memory study, so a candidate's Optuna parameters are exactly those the real study
would record, and can be queued into it (``study.enqueue_trial``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from archopt.errors import UserError


@dataclass
class Candidate:
    params: dict[str, Any]                  # Optuna parameters (what enqueue_trial takes)
    spec: Any = None                        # the candidate's Spec, None when it is invalid
    model: Any = None                       # built for the data, None when it does not build
    error: str | None = None                # why it is invalid or does not build
    score: float | None = None              # the pre-screen's proxy score


@dataclass
class BuildReport:
    sampled: int
    built: int
    failures: list[Candidate] = field(default_factory=list)


def draw(space: dict[str, Any], base: dict[str, Any], shape: Any, n: int, seed: int
         ) -> list[Candidate]:
    """``n`` random candidates of ``space`` over the spec ``base``, each built for ``shape``."""
    import optuna

    from archopt.models import build_model
    from archopt.spec import load_spec
    from archopt.tune import space as sp

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        values = sp.sample(trial, space)
        study.tell(trial, 0.0)
        c = Candidate(dict(trial.params))
        try:
            c.spec = load_spec(sp.apply(copy.deepcopy(base), values))
            c.model = build_model(c.spec.model, shape, seed=c.spec.seed)
        except Exception as exc:  # invalid spec, or a model that cannot exist for this data
            c.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        out.append(c)
    return out


def check_space(space: dict[str, Any], base: dict[str, Any], shape: Any, n: int = 24,
                 seed: int = 0) -> BuildReport:
    """Build ``n`` random candidates; a UserError when none builds (before trial 1)."""
    cands = draw(space, base, shape, n, seed)
    bad = [c for c in cands if c.model is None]
    if len(bad) == len(cands):
        raise UserError("search.space", f"none of {n} sampled candidates builds for "
                        f"{shape.kind} data of shape {list(shape.input_shape)}; e.g. "
                        f"{bad[0].params}: {bad[0].error}",
                        "narrow the space (smaller kernels or strides, fewer stages) or "
                        "choose a family that takes this data")
    return BuildReport(n, n - len(bad), bad)


def _fits(c: Candidate, shape: Any, budgets: dict[str, tuple[float | None, float | None]],
          latency: dict[str, Any] | None) -> bool:
    """Whether an untrained candidate meets the budgets on params, FLOPs, activation memory
    and latency (timed quickly here, at the throughput batch too when a budget is on
    ``batch_latency_ms`` or ``throughput``; the study times it again, fully, before training)."""
    from archopt.report.profile import count_flops, example_input

    costs = {"params": float(sum(p.numel() for p in c.model.parameters()))}
    if "flops" in budgets:
        costs["flops"] = float(count_flops(c.model, example_input(c.model, shape, 1))[0])
    if "peak_activation_bytes" in budgets:
        import torch

        from archopt.report.profile import layer_table

        with torch.no_grad():
            costs["peak_activation_bytes"] = float(layer_table(
                c.model, example_input(c.model, shape, 1))[2])
    timed = [n for n in ("latency_ms", "batch_latency_ms", "throughput") if n in budgets]
    if timed and latency is not None:
        from archopt.search.costs import device_of, latency_costs

        quick = {**latency, "rounds": 2, "repeats": 5}
        if timed == ["latency_ms"]:  # the throughput batch only when a budget is on it
            quick["throughput_batch"] = None
        try:
            costs.update(latency_costs(c.model, shape, quick, device_of(c.spec)))
        except UserError:  # runtime onnxruntime and the candidate does not export
            return False
    for name, (lo, hi) in budgets.items():
        v = costs.get(name)
        if v is not None and ((lo is not None and v < lo) or (hi is not None and v > hi)):
            return False
    return True


def prescreen(space: dict[str, Any], base: dict[str, Any], data: Any, options: Any,
              budgets: dict[str, tuple[float | None, float | None]], seed: int,
              latency: dict[str, Any] | None = None) -> list[Candidate]:
    """Score ``options.candidates`` random candidates with a zero-cost proxy; best first.

    Candidates that do not build, or that break a budget on params, FLOPs or (with
    ``latency``, the ``search.latency`` options) latency at the deployment or the throughput
    batch, are left out: nothing trains either way.
    """
    from archopt.search.proxies import PROXIES

    x = data.train.x[:options.batch_size]
    lengths = data.train.lengths[:options.batch_size] if data.train.lengths is not None else None
    scored = []
    for c in draw(space, base, data.shape, options.candidates, seed):
        if c.model is None or not _fits(c, data.shape, budgets, latency):
            continue
        try:
            c.score = float(PROXIES[options.proxy](c.model, x, lengths))
        except (ValueError, RuntimeError) as exc:
            c.error = str(exc)
            continue
        c.model = None  # keep memory flat over many candidates
        scored.append(c)
    scored.sort(key=lambda c: -c.score)
    return scored
