"""``search(spec)``: an architecture search, run by the tuning engine (``archopt.tune``) over a
spec's ``search:`` section, and ``show(study_dir)``, its front read back.

1) checks before anything is written: the section exists, the space searches the model, and
   random candidates build for the data (``candidates.check_space``); the engine then checks
   everything else (paths, objectives, budgets, sampler, pruner) and every branch of the space;
2) a new study with ``search.prescreen`` starts with the best of many candidates scored by a
   zero-cost proxy (queued as its first trials); nothing trains for the pre-screen;
3) the engine runs the study: each trial's costs are measured first (``archopt.search.costs``,
   cached per architecture), a budget rejects a candidate before training, pruners stop weak
   learning curves, Ctrl-C/kill and ``--resume`` work as for ``archopt tune``;
4) the answer: the front's members re-timed together with the references, ``front.json``,
   ``front.csv``, ``plots/pareto.png`` and ``best.yaml`` (``front.RULE``).

Errors about the section say ``search.*`` (the engine names it ``tune.*``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.spec import load_spec
from archopt.spec.schema import Spec


def _relabel(err: UserError) -> UserError:
    where = err.where
    if where == "tune" or where.startswith("tune."):
        where = "search" + where[4:]
    return UserError(where, err.what.replace("tune.", "search."), err.hint)


def _checked(spec: Spec | str | os.PathLike | dict) -> Spec:
    spec = spec if isinstance(spec, Spec) else load_spec(spec)
    if spec.search is None:
        hint = ("a tune: section searches hyperparameters: run `archopt tune SPEC`"
                if spec.tune is not None else "add one; see examples/search/mnist1d_latency.yaml")
        raise UserError("search", "the spec has no search: section", hint)
    from archopt.search.costs import check_runtime

    check_runtime(spec.search.latency.runtime)
    if not any(p == "model" or p.startswith("model.") for p in _paths(spec.search.space)):
        raise UserError("search.space", "searches no architecture field (model.*)",
                        "add e.g. model.channels: {list: {length: [1, 4], item: {choice: "
                        "[8, 16, 32]}}}, or use `archopt tune` for other fields")
    return spec


def _paths(space: dict[str, Any]) -> list[str]:
    """Every path of a raw space, those of choices' sub-spaces included."""
    out = []
    for path, d in space.items():
        out.append(path)
        for opt in (d.get("choice") or []) if isinstance(d, dict) else []:
            if isinstance(opt, dict) and isinstance(opt.get("space"), dict):
                out += _paths(opt["space"])
    return out


def search(spec: Spec | str | os.PathLike | dict | None = None, *,
           out: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
           trials: int | None = None, workers: int | None = None, storage: str | None = None,
           study: str | None = None, references: list[str] | tuple[str, ...] = (),
           quiet: bool = False, progress: str = "auto", plots: bool = True) -> dict[str, Any]:
    """Run (or resume) an architecture search; returns the engine's summary plus the front.

    Args:
        spec: a spec with a ``search:`` section (a ``Spec``, a YAML path or a dict); None with
            ``resume`` to use the study's own spec.yaml.
        out: the study directory to create (default ``studies/<name>/<time>``).
        resume: a study directory to continue.
        trials, workers, storage, study: override the section's fields.
        references: trained run directories to show beside the front (table and plots).
        quiet: no progress output.
        progress: ``auto``, ``bar`` or ``lines``.
        plots: draw the PNG plots at the end.

    Raises:
        UserError: for a bad spec, space, study directory or reference, before anything is
            written.
    """
    from archopt.tune.engine import tune as run_study

    if resume is not None and spec is None:
        from archopt.tune.study_dir import check_study_dir

        path, _ = check_study_dir(resume)
        spec = load_spec(Path(path) / "spec.yaml", validate_plugins=False)
    try:
        spec = _checked(spec) if spec is not None else None
        if spec is None:
            raise UserError("archopt search", "needs a SPEC file or --resume STUDY_DIR")
        from archopt.search.front import reference_rows

        metric = next(iter(spec.search.objectives))
        refs = reference_rows(list(references), metric)
        enqueue, screened = _before_trial_one(spec, resume is None)
        result = run_study(spec, out=out, resume=resume, trials=trials, workers=workers,
                           storage=storage, study=study, quiet=quiet, progress=progress,
                           plots=plots, enqueue=enqueue, search=True)
    except UserError as err:
        raise _relabel(err) from None
    result["prescreen"] = screened
    result.update(_answer(Path(result["study_dir"]), spec, refs, plots,
                          storage or spec.search.storage))
    return result


def _before_trial_one(spec: Spec, new: bool) -> tuple[list[dict[str, Any]], dict | None]:
    """The build check, and for a new study the pre-screen's queued candidates."""
    from archopt.data import load_data
    from archopt.search.candidates import check_space, prescreen
    from archopt.tune import objectives as obj
    from archopt.tune import space as sp
    from archopt.tune.plan import make_plan

    s = spec.search
    make_plan(spec)  # the engine's own checks first: paths (did you mean), objectives, ...
    space = sp.parse_space(s.space)
    base = spec.model_dump(mode="json", exclude={"tune", "search"})
    data = load_data(spec.data, spec.seed)
    check_space(space, base, data.shape, seed=spec.seed)
    if s.prescreen is None or not new:
        return [], None
    import time

    t0 = time.perf_counter()
    scored = prescreen(space, base, data, s.prescreen, obj.parse_constraints(s.constraints, True),
                       spec.seed, s.latency.model_dump())
    keep = scored[:s.prescreen.keep]
    return [c.params for c in keep], {
        "proxy": s.prescreen.proxy, "candidates": s.prescreen.candidates, "scored": len(scored),
        "queued": len(keep), "seconds": round(time.perf_counter() - t0, 2),
        "scores": [round(c.score, 4) for c in keep]}


def _load(path: Path, storage: str | None) -> tuple[dict[str, Any], Any]:
    """The study's metadata and its Optuna study; the storage is ``storage`` (a URL with its
    password, which study.json never holds), else the one study.json names."""
    import optuna

    from archopt.tune import storage as st

    meta = json.loads((path / "study.json").read_text())
    url = storage or meta.get("storage_url") or st.default_url(path)
    if meta.get("storage") not in (None, "study.db") and not storage and \
            not meta.get("storage_url"):
        raise UserError(str(path), f"the study lives in {meta['storage']}",
                        "pass --storage URL (with its password)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return meta, optuna.load_study(study_name=meta["study"], storage=st.open_storage(url, 10, 0))


def _answer(path: Path, spec: Spec, refs: list[dict[str, Any]], plots: bool,
            storage: str | None) -> dict[str, Any]:
    """Re-time the front with the references; write front.json/csv and plots/pareto.png."""
    from archopt.search.costs import runtime_label
    from archopt.search.front import RULE, front_rows, remeasure, write_front
    from archopt.tune import objectives as obj

    meta, study = _load(path, storage)
    names, dirs = list(meta["objectives"]), list(meta["objectives"].values())
    rows, every = front_rows(path, study, names, dirs)
    latency = spec.search.latency.model_dump()
    if latency["remeasure_front"] and (rows or refs):
        remeasure(path, rows, refs, latency)
        timed = ("latency_ms", "batch_latency_ms", "throughput")
        for r in refs:
            r.update({c: r[f"{c}_again"] for c in timed if f"{c}_again" in r})
        again = {r["number"]: r for r in rows}
        for r in every:  # the plot shows the front as re-timed with the references
            r.update({f"{c}_again": again.get(r["number"], {}).get(f"{c}_again")
                      for c in timed})
    runtime = {"runtime": latency["runtime"], "label": runtime_label(latency)}
    write_front(path, rows, refs, names, runtime)
    out: dict[str, Any] = {"front": rows, "references": refs, "rule": RULE,
                           "latency_runtime": runtime}
    if plots and every:
        from archopt.search.plots import write_pareto_png

        budgets = obj.parse_constraints(spec.search.constraints, True)
        # the latency panel: at the throughput batch when the study optimizes or budgets it
        batch = any(c in (*names, *budgets) for c in ("batch_latency_ms", "throughput"))
        out["pareto_png"] = str(write_pareto_png(path / "plots" / "pareto.png", every, refs,
                                                 names[0], dirs[0] == "maximize", budgets,
                                                 runtime["label"], batch and "latency_ms"
                                                 not in names))
    return out


def show(study_dir: str | os.PathLike, storage: str | None = None) -> dict[str, Any]:
    """A search's summary (``archopt.tune.show``) plus its front: front.json when the search
    wrote it, else read from the storage (not re-timed: ``latency_ms_again`` is missing).

    Args:
        study_dir: the search's study directory.
        storage: the storage URL, needed when the study lives in a shared database whose URL
            has a password (study.json never keeps one), as for ``archopt tune show``.
    """
    from archopt.search.front import RULE, front_rows
    from archopt.tune.summary import show as show_study

    s = show_study(study_dir, storage=storage)
    front = Path(study_dir) / "front.json"
    if front.is_file():
        s.update(json.loads(front.read_text()))
        return s
    meta, study = _load(Path(s["study_dir"]), storage)
    rows, _ = front_rows(Path(s["study_dir"]), study, list(meta["objectives"]),
                         list(meta["objectives"].values()))
    s.update({"front": rows, "references": [], "rule": RULE})
    return s


show_search = show  # the name archopt's top-level API uses (``archopt.show_search(dir)``)
