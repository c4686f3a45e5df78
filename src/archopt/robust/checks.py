"""Gradient-masking checks on measured attack curves (Carlini et al. 2019, "On evaluating
adversarial robustness", section 7; Athalye et al. 2018).

A model that hides its gradients (a hard threshold on the input, a non-differentiable
preprocessing, saturated softmax) looks robust to gradient attacks without being robust. Each
check is a property every honest evaluation has; a failed one flags the curve as suspect:

  eps_monotone      accuracy falls (never rises) as epsilon grows, for every attack
  pgd_beats_fgsm    PGD never scores above FGSM at the same epsilon
  more_effort       more PGD steps and restarts never raise accuracy
  large_eps         at an epsilon as large as the data's whole range, accuracy nears zero
  beats_random      the gradient attack does at least as well as random noise of the same size

Each comparison allows ``tol`` (accuracy is measured on finitely many examples).
"""

from __future__ import annotations

from typing import Any


def _check(name: str, passed: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "passed": bool(passed), "detail": detail}


def masking_checks(attacks: dict[str, dict[str, Any]], effort: dict[str, Any] | None,
                   large: dict[str, Any] | None, random: dict[str, Any] | None, tol: float,
                   large_limit: float = 0.1) -> list[dict[str, Any]]:
    """The checks above on ``attacks`` (name -> {"eps": [...], "accuracy": [...]}), the
    ``effort`` comparison ({"eps", "base", "more"}), the ``large`` epsilon run ({"eps",
    "accuracy"}) and the ``random`` noise curve ({"eps", "accuracy"}, L-inf grid)."""
    out = []
    rises = [f"{name} at eps {a['eps'][i + 1]:.4g}: {a['accuracy'][i + 1]:.3f} > "
             f"{a['accuracy'][i]:.3f}"
             for name, a in attacks.items() for i in range(len(a["eps"]) - 1)
             if a["accuracy"][i + 1] > a["accuracy"][i] + tol]
    out.append(_check("eps_monotone", not rises,
                      "; ".join(rises) or "accuracy never rises with epsilon"))
    if "pgd" in attacks and "fgsm" in attacks:
        p, f = attacks["pgd"], attacks["fgsm"]
        worse = [f"eps {e:.4g}: PGD {pa:.3f} > FGSM {fa:.3f}"
                 for e, pa, fa in zip(p["eps"], p["accuracy"], f["accuracy"]) if pa > fa + tol]
        out.append(_check("pgd_beats_fgsm", not worse,
                          "; ".join(worse) or "PGD is never weaker than FGSM"))
    if effort is not None:
        ok = effort["more"] <= effort["base"] + tol
        out.append(_check("more_effort", ok, f"eps {effort['eps']:.4g}: PGD-{effort['steps']} "
                          f"{effort['base']:.3f}, PGD-{effort['more_steps']} x "
                          f"{effort['restarts']} restarts {effort['more']:.3f}"))
    if large is not None:
        ok = large["accuracy"] <= large_limit
        out.append(_check("large_eps", ok, f"PGD at eps {large['eps']:.4g} (the data's whole "
                          f"range): accuracy {large['accuracy']:.3f} (should be <= "
                          f"{large_limit})"))
    linf = [a for a in attacks.values() if a.get("norm", "linf") == "linf"]
    if random is not None and linf:
        strongest = [min(a["accuracy"][i] for a in linf) for i in range(len(random["eps"]))]
        weaker = [f"eps {e:.4g}: attacks {s:.3f} > random noise {r:.3f}"
                  for e, s, r in zip(random["eps"], strongest, random["accuracy"])
                  if s > r + tol]
        out.append(_check("beats_random", not weaker,
                          "; ".join(weaker) or "every attack beats random noise of its size"))
    return out
