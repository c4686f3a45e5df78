"""Candidates the study has already trained, in ``archopt search``.

A sampler can propose an architecture again (evolution's one-parameter mutations land on earlier
members, above all in small or conditional spaces). The same spec with the same seed trains to
the same result on the CPU, so training it again only costs time: the trial instead takes the
values of the earlier COMPLETE trial with the same *candidate key*, a hash of everything that
decides the training (``seed``, ``device``, ``data``, ``model``, ``train`` of the validated
spec, so equal architectures written differently share it). It is told COMPLETE at once, with
``repeat_of: N``, trial N's costs, constraints and run directory, and the reason "a repeat of
trial N". It counts toward ``trials`` (it is an evaluation the sampler asked for; aging evolution
adds it to its population, as Real et al. do) but it is left out of the best trials, ``best.json``
and the search's front, where its original already stands. A repeat of a trial that is still
running, was pruned or failed trains as usual.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

KEY = "candidate_key"  # user attribute: the hash of what decides a trial's training
REPEAT_OF = "repeat_of"  # user attribute: the number of the trial whose values were reused
TRAINING = {"seed", "device", "data", "model", "train"}


def candidate_key(spec: Any) -> str:
    """A stable hash of the parts of a validated spec that decide its training."""
    data = spec.model_dump(mode="json", include=TRAINING)
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:20]


def earlier(study: Any, key: str, number: int) -> Any:
    """The first COMPLETE trial (not itself a repeat) with candidate key ``key``, or None."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if (t.number != number and t.user_attrs.get(KEY) == key and t.values is not None
                and REPEAT_OF not in t.user_attrs):
            return t
    return None


def reuse(study: Any, trial: Any, same: Any) -> str:
    """Tell ``trial`` COMPLETE with the values of ``same`` (never trained); returns the
    progress line's detail."""
    from archopt.tune.outcomes import tell

    ua = same.user_attrs
    for k in ("run_dir", "worker", "epochs", "train_time_s"):
        if k in ua:
            trial.set_user_attr(k, ua[k])
    if ua.get("costs"):  # not measured again: read from the earlier trial, as from a cache
        trial.set_user_attr("costs", {**ua["costs"], "cached": 1.0})
    for k, v in (same.constraints or {}).items():
        trial.set_constraint(k, v)
    trial.set_user_attr(REPEAT_OF, same.number)
    trial.set_user_attr("reason", f"a repeat of trial {same.number}: not trained again")
    trial.set_user_attr("wall_s", 0.0)
    tell(study, trial, list(same.values))
    return f"a repeat of trial {same.number}, its values reused (not trained again)"
