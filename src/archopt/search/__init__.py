"""Architecture search on the tuning engine: an evolution sampler, zero-cost proxies, and
helpers for architecture spaces (lists of searched length, a choice among model families).

Architecture search is tuning over ``model.*`` with cost objectives, so it runs on the same
Optuna engine and writes the same study format as ``archopt tune``; this package adds only what
Optuna lacks. Names are imported on first use (Optuna and torch are optional here).

``archopt.search(spec)`` runs a search (the package is also that function, like
``archopt.tune``); ``archopt.search.show(dir)`` reads one back.
"""

from __future__ import annotations

import importlib
from typing import Any

from archopt.callable_package import make_callable

_API = {
    "search": "archopt.search.study",
    "show": "archopt.search.study",
    "retrain": "archopt.search.retrain",
    "RegularizedEvolutionSampler": "archopt.search.evolution",
    "Stages": "archopt.search.space",
    "Families": "archopt.search.space",
    "suggest_space": "archopt.search.space",
    "set_path": "archopt.search.space",
    "check_builds": "archopt.search.check",
    "synflow": "archopt.search.proxies",
    "naswot": "archopt.search.proxies",
    "score_spec": "archopt.search.proxies",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'archopt.search' has no attribute '{name}'")


def _search(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run or resume an architecture search; see ``archopt.search.study.search``."""
    from archopt.search.study import search

    return search(*args, **kwargs)


make_callable(__name__, _search)
