"""``tune(spec)``: run or resume a study.

1) plan: every check, before anything is written (``archopt.tune.plan``);
2) the storage (a shared database is opened first, so a bad URL writes nothing) and the study
   directory (new, or the one being resumed, locked), its spec.yaml and study.json;
3) the loop over the worker pool (``archopt.tune.runner``), which writes trials.csv and
   best.yaml after every trial and the plots at the end.

What counts toward ``tune.trials`` is in ``archopt.tune.accounting``: COMPLETE, PRUNED and FAIL
trials; a candidate rejected by a budget before training and a trial that was interrupted and
retried do not. So a study that is killed and resumed ends with exactly the requested number of
finished trials.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.spec import load_spec, save_spec
from archopt.spec.load import write_atomic
from archopt.spec.schema import Spec
from archopt.tune import storage as st
from archopt.tune.plan import make_plan, section
from archopt.tune.runner import Runner, StudyInterrupted
from archopt.tune.study_dir import Lock, check_study_dir, fingerprint, new_study_dir

__all__ = ["StudyInterrupted", "tune"]


def tune(spec: Spec | str | os.PathLike | dict, *, out: str | os.PathLike | None = None,
         resume: str | os.PathLike | None = None, trials: int | None = None,
         workers: int | None = None, storage: str | None = None, study: str | None = None,
         quiet: bool = False, progress: str = "auto", plots: bool = True,
         enqueue: list[dict[str, Any]] | None = None, search: bool = False) -> dict[str, Any]:
    """Run (or resume) a hyperparameter study; returns its summary.

    Args:
        spec: a spec with a ``tune:`` section (a ``Spec``, a YAML path or a dict); with
            ``resume`` it may be None to use the study's own spec.yaml.
        out: the study directory to create (default ``studies/<name>/<time>``).
        resume: a study directory to continue.
        trials, workers, storage, study: override ``tune.trials``, ``tune.workers``,
            ``tune.storage`` and ``tune.study``.
        quiet: no progress output.
        progress: ``auto``, ``bar`` or ``lines``.
        plots: draw the PNG plots at the end.
        enqueue: parameters of the first trials of a new study (``archopt search``'s
            pre-screen); ignored when the study already has trials.
        search: run a spec's ``search:`` section (``archopt.search`` does); else such a spec
            is refused with a pointer to ``archopt search``.

    Raises:
        UserError: for a bad tune section, storage or study directory, before anything is
            written.
    """
    spec, meta, resume_dir = _load(spec, resume)
    if spec.search is not None and not search:
        raise UserError("search", "this spec has a search: section (an architecture search)",
                        "run it with `archopt search SPEC`")
    t = section(spec)
    if t is None:
        raise UserError("tune", "the spec has no tune: section",
                        "add one; see examples/tune/mnist1d_cnn.yaml")
    updates = {k: v for k, v in {"workers": workers, "storage": storage, "study": study,
                                 "trials": trials}.items() if v is not None}
    if updates:
        key = "search" if spec.search is not None else "tune"
        spec = spec.model_copy(update={key: t.model_copy(update=updates)})
        t = section(spec)
    if workers is not None and workers < 1:
        raise UserError("--workers", "must be at least 1")
    plan = make_plan(spec, t.trials)
    name = t.study or (meta or {}).get("study") or spec.name
    url = t.storage or (meta or {}).get("storage_url")
    # 1) a shared storage opens before anything is written: a bad URL leaves no folder
    shared = None
    if url:
        shared = st.open_storage(url, t.heartbeat_s, t.max_retry,
                                 "--storage" if storage else "tune.storage")
    path = resume_dir if resume_dir is not None else new_study_dir(name, out)
    with Lock(path):
        storage_obj = shared or st.open_storage(st.default_url(path), t.heartbeat_s,
                                                t.max_retry, str(path / "study.db"))
        save_spec(spec, path / "spec.yaml")
        write_atomic(path / "study.json", json.dumps({
            "study": name, "storage": st.safe(url) if url else "study.db",
            "storage_url": url if url and st.safe(url) == url else None,
            "objectives": {o.name: o.direction for o in plan.objectives},
            "fingerprint": fingerprint(t.model_dump(mode="json")),
            "format": 1}, indent=2) + "\n")
        return Runner(plan, path, storage_obj, name, shared is not None, quiet, progress,
                      plots, enqueue).run()


def _load(spec: Any, resume: Any) -> tuple[Spec, dict | None, Path | None]:
    """The spec to run and, when resuming, the study's metadata and directory."""
    if resume is None:
        if spec is None:
            raise UserError("archopt tune", "needs a SPEC file or --resume STUDY_DIR")
        return (spec if isinstance(spec, Spec) else load_spec(spec)), None, None
    path, meta = check_study_dir(resume)
    saved = load_spec(path / "spec.yaml", validate_plugins=False)
    if spec is None:
        return saved, meta, path
    new = spec if isinstance(spec, Spec) else load_spec(spec)
    if section(new) is None or fingerprint(section(new).model_dump(mode="json")) != meta.get(
            "fingerprint"):
        raise UserError(f"--resume {path}", "the spec's tune space or objectives differ from "
                        "the study's", f"resume with the study's own spec ({path / 'spec.yaml'}),"
                        " or start a new study")
    return new, meta, path
