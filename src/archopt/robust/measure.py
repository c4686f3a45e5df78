"""Accuracy of a classifier under noise, corruptions and attacks, on raw inputs: the numbers
behind ``archopt robustness``.

``measure(f, x, y, ...)`` works on any model ``f`` (raw inputs in, logits out); the run-directory
entry point (``archopt.robust.run``) builds ``f`` from a run and calls it. Per attack and
epsilon it keeps each example's outcome, so that the strongest attack is the per-example worst
case over all attacks (as AutoAttack reports), per-class accuracy comes from the same outcomes,
and the examples that flip first are those broken at the smallest epsilon.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from archopt.robust import attacks as atk
from archopt.robust.checks import masking_checks
from archopt.robust.domain import Domain
from archopt.robust.noise import CORRUPTIONS, Context, corrupt

ATTACKS = ("fgsm", "pgd", "pgd-l2", "apgd-ce", "apgd-dlr")
EPS_GRID = (0.0, 0.025, 0.05, 0.1, 0.2, 0.3)          # fractions of the span (L-inf)
EPS_L2_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)         # fractions of the span (L2)


@dataclass
class Settings:
    """What to measure; epsilons in raw units (None: the default grids times the span)."""

    noise: list[str] = field(default_factory=list)
    attacks: list[str] = field(default_factory=lambda: list(ATTACKS))
    eps: list[float] | None = None
    eps_l2: list[float] | None = None
    steps: int = 20
    restarts: int = 1
    apgd_steps: int = 50
    seed: int = 0
    batch_size: int = 256
    checks: bool = True


def norm_of(attack: str) -> str:
    return "l2" if attack.endswith("l2") else "linf"


def batched(f: nn.Module, fn: Any, x: torch.Tensor, y: torch.Tensor, size: int) -> torch.Tensor:
    """Per-example correctness (N,) of ``f`` on ``fn(xb, yb, start)`` over batches of ``x``."""
    out = []
    for start in range(0, len(x), size):
        xb, yb = x[start:start + size], y[start:start + size]
        xa = fn(xb, yb, start)
        with torch.no_grad():
            out.append(f(xa).argmax(-1) == yb)
    return torch.cat(out).cpu()


def run_attack(f: nn.Module, name: str, x: torch.Tensor, y: torch.Tensor, eps: float,
               domain: Domain, classes: int, s: Settings, seed: int,
               steps: int | None = None, restarts: int | None = None,
               rand_init: bool = True) -> torch.Tensor:
    """Per-example correctness under attack ``name`` at ``eps`` (every batch is checked to lie
    in the epsilon ball and the valid range)."""
    norm = norm_of(name)
    gen = torch.Generator().manual_seed(seed)

    def one(xb: torch.Tensor, yb: torch.Tensor, start: int) -> torch.Tensor:
        if name == "fgsm":
            xa = atk.fgsm(f, xb, yb, eps, domain, norm)
        elif name.startswith("pgd"):
            xa = atk.pgd(f, xb, yb, eps, domain, norm, steps or s.steps,
                         restarts=restarts or s.restarts, rand_init=rand_init, gen=gen)
        elif name == "random":
            xa = atk.random_noise(xb, eps, domain, norm, gen)
        else:
            from archopt.robust.apgd import apgd

            xa = apgd(f, xb, yb, eps, domain, classes, norm, name, s.apgd_steps, s.restarts,
                      seed + start, s.batch_size)
            xa = atk.project(xa, xb, eps, norm, domain)  # ART's float32 edge: exactly inside
        check_perturbation(xa, xb, eps, norm, domain)
        return xa

    return batched(f, one, x, y, s.batch_size)


def check_perturbation(xa: torch.Tensor, x: torch.Tensor, eps: float, norm: str,
                       domain: Domain) -> None:
    """An internal error when a perturbed batch leaves the epsilon ball or the valid range."""
    d = (xa - x).flatten(1)
    size = d.abs().amax(1) if norm == "linf" else d.norm(dim=1)
    slack = 1e-5 * max(1.0, eps)
    if bool((size > eps + slack).any()):
        raise AssertionError(f"a perturbation of size {float(size.max())} > eps {eps} ({norm})")
    if domain.lo is not None and bool((xa < domain.lo - 1e-6).any()) or \
            domain.hi is not None and bool((xa > domain.hi + 1e-6).any()):
        raise AssertionError("a perturbed input left the valid range")


def accuracy(ok: torch.Tensor) -> float:
    return float(ok.float().mean()) if len(ok) else float("nan")


def per_class(ok: torch.Tensor, y: torch.Tensor, classes: int) -> list[float | None]:
    y = y.cpu()
    return [float(ok[y == c].float().mean()) if bool((y == c).any()) else None
            for c in range(classes)]


def noise_curves(f: nn.Module, x: torch.Tensor, y: torch.Tensor, kind: str, domain: Domain,
                 feature_std: torch.Tensor, s: Settings) -> dict[str, Any]:
    """name -> {unit, strengths, accuracy} for each corruption in ``s.noise``."""
    out = {}
    for i, name in enumerate(s.noise):
        entry = CORRUPTIONS[name]
        grid = [g * domain.span if entry.relative else g for g in entry.grid]
        accs = []
        for j, strength in enumerate(grid):
            ctx = Context(domain, feature_std, torch.Generator().manual_seed(
                s.seed * 7919 + 100 * i + j))
            ok = batched(f, lambda xb, yb, _, st=strength, c=ctx, n=name: corrupt(n, xb, st, c),
                         x, y, s.batch_size)
            accs.append(accuracy(ok))
        out[name] = {"unit": entry.unit, "strengths": grid, "accuracy": accs}
    return out


def measure(f: nn.Module, x: torch.Tensor, y: torch.Tensor, kind: str, classes: int,
            domain: Domain, feature_std: torch.Tensor, s: Settings) -> dict[str, Any]:
    """Clean accuracy, noise curves, attack curves, the strongest attack, per-class robust
    accuracy, the first flips and the gradient-masking checks of ``f`` on ``(x, y)``."""
    f.eval()
    with torch.no_grad():
        clean = batched(f, lambda xb, yb, _: xb, x, y, s.batch_size)
    out: dict[str, Any] = {"examples": len(x), "clean_accuracy": accuracy(clean),
                           "domain": domain.to_dict(),
                           "noise": noise_curves(f, x, y, kind, domain, feature_std, s)}
    grids = {"linf": s.eps if s.eps is not None else [g * domain.span for g in EPS_GRID],
             "l2": s.eps_l2 if s.eps_l2 is not None else [g * domain.span for g in EPS_L2_GRID]}
    outcomes: dict[str, list[torch.Tensor]] = {}
    curves: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(s.attacks):
        norm = norm_of(name)
        start = time.perf_counter()
        oks = [clean & run_attack(f, name, x, y, e, domain, classes, s, s.seed * 1009 + 31 * k + j)
               if e > 0 else clean for j, e in enumerate(grids[norm])]
        outcomes[name] = oks
        curves[name] = {"norm": norm, "eps": grids[norm],
                        "eps_relative": [e / domain.span for e in grids[norm]],
                        "accuracy": [accuracy(o) for o in oks],
                        "time_s": round(time.perf_counter() - start, 2)}
    out["attacks"] = curves
    linf = [n for n in s.attacks if norm_of(n) == "linf"]
    if linf:
        out["strongest"] = strongest(outcomes, linf, grids["linf"], y, classes, domain)
        out["first_flips"] = first_flips(outcomes, linf, grids["linf"], clean, y)
    if s.checks and s.attacks:
        out["checks"] = run_checks(f, x, y, clean, curves, grids["linf"], domain, classes, s)
        out["gradient_masking_suspected"] = not all(c["passed"] for c in out["checks"])
    return out


def strongest(outcomes: dict[str, list[torch.Tensor]], names: list[str], eps: list[float],
              y: torch.Tensor, classes: int, domain: Domain) -> dict[str, Any]:
    """Per epsilon, an example counts as robust only if every L-inf attack failed on it."""
    worst = [torch.stack([outcomes[n][j] for n in names]).all(0) for j in range(len(eps))]
    return {"attacks": names, "eps": eps, "eps_relative": [e / domain.span for e in eps],
            "accuracy": [accuracy(w) for w in worst],
            "per_class": [per_class(w, y, classes) for w in worst]}


def first_flips(outcomes: dict[str, list[torch.Tensor]], names: list[str], eps: list[float],
                clean: torch.Tensor, y: torch.Tensor, limit: int = 8) -> list[dict[str, Any]]:
    """The examples (right when clean) that the L-inf attacks break at the smallest epsilon."""
    first = torch.full((len(y),), float("inf"), dtype=torch.float64)
    for j, e in reversed(list(enumerate(eps))):
        broken = torch.stack([~outcomes[n][j] for n in names]).any(0) & clean
        first[broken] = e
    order = [i for i in torch.argsort(first, stable=True).tolist() if first[i] < float("inf")]
    return [{"index": i, "label": int(y[i]), "eps": float(first[i])} for i in order[:limit]]


def run_checks(f: nn.Module, x: torch.Tensor, y: torch.Tensor, clean: torch.Tensor,
               curves: dict[str, dict[str, Any]], eps: list[float], domain: Domain,
               classes: int, s: Settings) -> list[dict[str, Any]]:
    """The gradient-masking checks (``archopt.robust.checks``): extra PGD runs with more
    effort, at the data's whole range, and random noise on the L-inf grid."""
    tol = max(0.01, 2 / max(len(x), 1))
    seed = s.seed * 104729
    effort = None
    mid = [e for e in eps if e > 0]
    if "pgd" in curves and mid:
        e = mid[len(mid) // 2]
        base = curves["pgd"]["accuracy"][eps.index(e)]
        more = accuracy(clean & run_attack(f, "pgd", x, y, e, domain, classes, s, seed + 1,
                                           steps=2 * s.steps, restarts=s.restarts + 1))
        effort = {"eps": e, "steps": s.steps, "more_steps": 2 * s.steps,
                  "restarts": s.restarts + 1, "base": base, "more": more}
    large = {"eps": domain.span,
             "accuracy": accuracy(clean & run_attack(f, "pgd", x, y, domain.span, domain,
                                                     classes, s, seed + 2, rand_init=False))}
    random = {"eps": eps, "accuracy": [
        accuracy(clean & run_attack(f, "random", x, y, e, domain, classes, s, seed + 3 + j))
        if e > 0 else accuracy(clean) for j, e in enumerate(eps)]}
    return masking_checks(curves, effort, large, random, tol)
