"""``tune(spec)``: run a study. The process that calls it owns the Optuna study (it samples,
records and decides pruning); trials train in a pool of long-lived worker processes.

1) plan: every check, before anything is written (``archopt.tune.plan``);
2) the storage (a shared database is opened first, so a bad URL writes nothing), the study
   directory (new, or the one being resumed, locked), the Optuna study;
3) the loop: while fewer than ``trials`` have finished, give each idle worker a new trial
   (``study.ask``, the space sampled, the spec validated), answer the workers' cost, report
   and result messages, record heartbeats, fail and re-queue trials whose process vanished;
4) the outputs: trials.csv and best.yaml after every trial, plots at the end.

A finished trial is COMPLETE, PRUNED (rejected by a budget before training counts as pruned) or
FAIL (crash, divergence, out of memory, invalid sampled spec). A trial interrupted by a kill or
Ctrl-C is failed and queued again with the same parameters (Optuna's
``RetryHeartbeatStaleTrialCallback``); it does not count, its retry does. So a study that is
killed and resumed ends with exactly the requested number of finished trials.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.spec import load_spec, save_spec
from archopt.spec.load import write_atomic
from archopt.spec.schema import Spec
from archopt.tune import objectives as obj
from archopt.tune import space as sp
from archopt.tune import storage as st
from archopt.tune.plan import Plan, make_plan, section
from archopt.tune.pool import Pool, threads_per_worker
from archopt.tune.study_dir import (
    Lock,
    check_study_dir,
    fingerprint,
    new_study_dir,
)


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: running trials were queued again; resume with --resume DIR."""

    def __init__(self, study_dir: Path) -> None:
        self.study_dir = study_dir
        super().__init__(str(study_dir))


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


class Runner:
    """The study's loop over the worker pool (one object per ``tune`` call)."""

    def __init__(self, plan: Plan, path: Path, storage: Any, name: str, shared: bool,
                 quiet: bool, progress: str, plots: bool,
                 enqueue: list[dict[str, Any]] | None = None) -> None:
        self.plan, self.path, self.storage, self.name = plan, path, storage, name
        self.enqueue = enqueue or []
        self.shared, self.quiet, self.progress_mode, self.plots = shared, quiet, progress, plots
        self.running: dict[int, dict[str, Any]] = {}   # trial number -> trial, worker, costs
        self.overheads: list[float] = []

    # -- setup -----------------------------------------------------------------------------

    def _study(self) -> Any:
        import optuna

        from archopt.tune.pruners import build_pruner
        from archopt.tune.samplers import build_sampler

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        import warnings

        # we record heartbeats ourselves (ask/tell), which Optuna does not expect
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        t = self.plan.section
        directions = [o.direction for o in self.plan.objectives]
        study = optuna.create_study(storage=self.storage, study_name=self.name,
                                    directions=directions, load_if_exists=True)
        if [d.name.lower() for d in study.directions] != directions:
            raise UserError("tune.objectives", f"the study '{self.name}' in this storage has "
                            "other objective directions", "choose another --study name")
        # a seeded sampler must not repeat the parameters of the trials already run (#3255)
        done = len(study.get_trials(deepcopy=False))
        seed = self.plan.seed + done + (os.getpid() % 100_003 if self.shared else 0)
        if t.sampler.name == "evolution":  # it seeds each draw by (seed, trial) itself, so that
            seed = self.plan.seed          # a resumed search draws what an unbroken one draws
        study.sampler = build_sampler(t.sampler.name, t.sampler.options(), seed, self.plan.grid)
        study.pruner = build_pruner(t.pruner.name, t.pruner.options())
        # samplers may call study.stop() when done (the grid is exhausted), which Optuna allows
        # only inside study.optimize; ask/tell counts trials itself, so let them
        study._thread_local.in_optimize_loop = True
        return study

    def _recover(self, study: Any) -> None:
        """Trials left RUNNING by a killed process of this directory: failed and re-queued."""
        from optuna.trial import TrialState

        if self.shared:  # other machines may be running trials: only heartbeats decide
            _fail_stale(study)
            return
        retry = self.storage.get_heartbeat_stale_trial_callback()
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            self._fail_and_retry(study, t._trial_id, "interrupted (the study's process stopped)",
                                 retry)

    def _fail_and_retry(self, study: Any, trial_id: int, reason: str, retry: Any) -> None:
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        try:
            self.storage.set_trial_user_attr(trial_id, "reason", reason)
            if not self.storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                return
        except UpdateFinishedTrialError:
            return
        if retry is not None:
            import copy as _copy

            retry(study, _copy.deepcopy(self.storage.get_trial(trial_id)))

    # -- counting ----------------------------------------------------------------------------

    def counts(self, study: Any) -> dict[str, int]:
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
        c = {"complete": 0, "pruned": 0, "failed": 0, "running": 0, "waiting": 0}
        for t in trials:
            if t.number in retried and t.state == TrialState.FAIL:
                continue
            c[{TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned",
               TrialState.FAIL: "failed", TrialState.RUNNING: "running",
               TrialState.WAITING: "waiting"}[t.state]] += 1
        c["finished"] = c["complete"] + c["pruned"] + c["failed"]
        c["workers"] = self.plan.section.workers
        return c

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        from archopt.tune.progress import StudyProgress

        _stacks_on_sigusr1()
        study = self._study()
        self._recover(study)
        if self.enqueue and not study.get_trials(deepcopy=False):
            for params in self.enqueue:
                study.enqueue_trial(params, skip_if_exists=True)
        t = self.plan.section
        pool = Pool(t.workers, threads_per_worker(t.workers), t.recycle_mb)
        progress = StudyProgress(self.plan.trials, self.plan.objectives[0].name, self.quiet,
                                 self.progress_mode)
        deadline = time.monotonic() + t.timeout_s if t.timeout_s else math.inf
        started = time.monotonic()
        old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._loop(study, pool, progress, deadline)
        except KeyboardInterrupt:
            retry = self.storage.get_heartbeat_stale_trial_callback()
            for _n, info in list(self.running.items()):
                self._fail_and_retry(study, info["trial"]._trial_id,
                                     "interrupted (Ctrl-C or SIGTERM)", retry)
            pool.close(now=True)
            progress.close()
            self._outputs(study, plots=False)
            raise StudyInterrupted(self.path) from None
        finally:
            signal.signal(signal.SIGTERM, old_term)
        pool.close()
        progress.close()
        best = self._outputs(study, plots=self.plots)
        c = self.counts(study)
        return {"study_dir": str(self.path), "study": self.name, "trials": c,
                "objectives": {o.name: o.direction for o in self.plan.objectives},
                "best": best, "workers": t.workers,
                "threads_per_worker": pool.threads, "recycled_workers": pool.recycled,
                "mean_overhead_s": round(sum(self.overheads) / len(self.overheads), 4)
                if self.overheads else None,
                "wall_s": round(time.monotonic() - started, 2)}

    def _loop(self, study: Any, pool: Pool, progress: Any, deadline: float) -> None:
        last_beat = 0.0
        t = self.plan.section
        while True:
            c = self.counts(study)
            room = self.plan.trials - c["finished"] - c["running"]
            if time.monotonic() < deadline:
                for w in pool.idle()[:max(room, 0)]:
                    self._start(study, pool, w, progress)
            # done when enough trials finished (others' running trials may yet fail and be
            # queued again: wait for them), or when time is up and none of ours runs
            if not self.running and (c["finished"] >= self.plan.trials
                                     or time.monotonic() >= deadline):
                break
            for w, msg in pool.events(timeout=0.5):
                self._handle(study, pool, w, msg, progress)
            if time.monotonic() - last_beat >= t.heartbeat_s / 2:
                last_beat = time.monotonic()
                for info in self.running.values():
                    self.storage.record_heartbeat(info["trial"]._trial_id)
                if self.shared:
                    _fail_stale(study)

    def _start(self, study: Any, pool: Pool, w: Any, progress: Any) -> None:
        from optuna.trial import TrialState

        trial = study.ask()
        self.storage.record_heartbeat(trial._trial_id)
        values = sp.sample(trial, self.plan.space)
        rel = f"trials/{trial.number:04d}"
        trial.set_user_attr("run_dir", rel)
        if "reason" in trial.user_attrs:  # a retried trial: the reason was its original's
            trial.set_user_attr("reason", None)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}:{self.path}")
        data = sp.apply(copy.deepcopy(self.plan.base), values)
        try:
            spec = load_spec(data)
        except UserError as err:  # a sampled spec that does not validate fails, not the study
            trial.set_user_attr("reason", f"invalid sampled spec: {err}")
            _tell(study, trial, state=TrialState.FAIL)
            self._finished(study, trial.number, "failed", str(err), progress)
            return
        self.running[trial.number] = {"trial": trial, "worker": w, "costs": {},
                                      "start": time.monotonic()}
        w.trial = trial.number
        curve = self.plan.curve.name if self.plan.curve else None  # learning curves always
        pool.send(w, {"number": trial.number, "spec": spec.model_dump(mode="json"),
                      "run_dir": str(self.path / rel), "costs": self.plan.pre_costs,
                      "monitor": curve, "measure": self.plan.measure and {
                          **self.plan.measure, "cache": str(self.path / "costs")}})

    def _handle(self, study: Any, pool: Pool, w: Any, msg: tuple, progress: Any) -> None:

        kind = msg[0]
        if kind == "ready":
            w.ready = True
            return
        if kind == "recycle":
            pool.replace(w, recycled=True)
            return
        if kind == "died":
            n = w.trial
            if n is not None and n in self.running:
                code = msg[1]
                why = f"the trial's process died (exit status {code})"
                if code == -signal.SIGKILL:
                    why += ": killed, out of memory?"
                self._tell_failed(study, n, why, progress)
            pool.replace(w)
            return
        from optuna.exceptions import UpdateFinishedTrialError

        try:
            self._trial_message(study, pool, w, msg, progress)
        except UpdateFinishedTrialError:  # another process failed it as stale: it runs again
            if kind == "costs":
                pool.send(w, ("reject", "failed as stale"))
            elif kind == "report":
                pool.send(w, ("prune", True))
            self.running.pop(msg[1], None)
            if kind in ("costs", "done", "failed"):
                w.trial = None

    def _trial_message(self, study: Any, pool: Pool, w: Any, msg: tuple, progress: Any) -> None:
        from optuna.trial import TrialState

        kind, n = msg[0], msg[1]
        info = self.running.get(n)
        if info is None:
            return
        trial = info["trial"]
        if kind == "costs":
            info["costs"] = msg[2]
            trial.set_user_attr("costs", msg[2])
            bad = obj.violations(msg[2], self.plan.budgets)
            for key, v in bad.items():
                trial.set_constraint(key, v)
            broken = [_broken(k, msg[2][k], self.plan.budgets[k])
                      for k, v in bad.items() if v > 0]
            if broken:
                reason = "rejected before training: " + "; ".join(broken)
                trial.set_user_attr("reason", reason)
                _tell(study, trial, state=TrialState.PRUNED)
                pool.send(w, ("reject", reason))
                self._release(n, w)
                self._finished(study, n, "pruned", reason, progress)
            else:
                pool.send(w, ("go",))
        elif kind == "report":
            from archopt.tune.pruning import should_prune

            step, value = msg[2], msg[3]
            cost_dirs = {o.name: o.direction for o in self.plan.objectives if o.before_training}
            costs = {k: v for k, v in info["costs"].items() if k in cost_dirs}
            prune = should_prune(study, trial._trial_id, step, value,
                                 _direction(self.plan.curve.direction), costs, cost_dirs)
            pool.send(w, ("prune", prune))
        elif kind == "done":
            self._done(study, n, msg[2], progress)
            self._release(n, w)
        elif kind == "failed":
            self._tell_failed(study, n, msg[2], progress)
            w.trial = None

    def _release(self, n: int, w: Any) -> None:
        self.running.pop(n, None)
        w.trial = None
        w.trials_run += 1

    def _done(self, study: Any, n: int, result: dict[str, Any], progress: Any) -> None:
        from optuna.trial import TrialState

        trial = self.running[n]["trial"]
        metrics, costs = result["metrics"], result["costs"]
        history_epochs = metrics.get("epochs")
        for key in ("wall_s", "overhead_s"):
            trial.set_user_attr(key, result[key])
        trial.set_user_attr("epochs", history_epochs)
        trial.set_user_attr("train_time_s", metrics.get("train_time_s"))
        self.overheads.append(result["overhead_s"])
        if "train_time_s" in self.plan.budgets:
            bad = obj.violations({"train_time_s": metrics.get("train_time_s") or 0.0},
                                 self.plan.budgets)
            trial.set_constraint("train_time_s", bad["train_time_s"])
        if result["pruned_at"] is not None:
            trial.set_user_attr("reason", f"pruned at epoch {result['pruned_at']}")
            _tell(study, trial, state=TrialState.PRUNED)
            self._finished(study, n, "pruned", f"at epoch {result['pruned_at']}", progress)
            return
        values = [obj.value_of(o.name, metrics, costs) for o in self.plan.objectives]
        bad = [o.name for o, v in zip(self.plan.objectives, values)
               if v is None or not math.isfinite(v)]
        if bad:
            trial.set_user_attr("reason", f"{bad[0]} is not finite")
            _tell(study, trial, state=TrialState.FAIL)
            self._finished(study, n, "failed", f"{bad[0]} is not finite", progress)
            return
        _tell(study, trial, values)
        shown = ", ".join(f"{o.name}={v:.4g}" for o, v in zip(self.plan.objectives, values))
        self._finished(study, n, "complete", shown, progress)

    def _tell_failed(self, study: Any, n: int, reason: str, progress: Any) -> None:
        from optuna.trial import TrialState

        info = self.running.pop(n, None)
        if info is None:
            return
        info["trial"].set_user_attr("reason", reason)
        _tell(study, info["trial"], state=TrialState.FAIL)
        self._finished(study, n, "failed", reason, progress)

    def _finished(self, study: Any, n: int, state: str, detail: str, progress: Any) -> None:
        from archopt.tune.outputs import write_outputs

        best = write_outputs(self.path, study, self.plan.objectives)
        top = (best[0].number, best[0].values[0]) if best else None
        progress.update(self.counts(study), top, f"trial {n} {state}: {detail}")

    def _outputs(self, study: Any, plots: bool) -> dict[str, Any] | None:
        from archopt.tune.outputs import write_outputs

        best = write_outputs(self.path, study, self.plan.objectives)
        if plots:
            from archopt.tune.plots import write_plots

            write_plots(study, self.path / "plots", [o.name for o in self.plan.objectives])
        if not best:
            return None
        b = best[0]
        return {"number": b.number, "values": dict(zip([o.name for o in self.plan.objectives],
                                                       b.values)),
                "params": b.params, "run_dir": str(self.path / b.user_attrs.get("run_dir", "")),
                "best_yaml": str(self.path / "best.yaml"), "pareto_size": len(best)}


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _direction(name: str) -> Any:
    from optuna.study import StudyDirection

    return StudyDirection.MAXIMIZE if name == "maximize" else StudyDirection.MINIMIZE


def _broken(name: str, value: float, bound: tuple[float | None, float | None]) -> str:
    lo, hi = bound
    if hi is not None and value > hi:
        return f"{name} {value:,.6g} > max {hi:,.6g}"
    return f"{name} {value:,.6g} < min {lo:,.6g}"


def _tell(study: Any, trial: Any, values: Any = None, state: Any = None) -> None:
    """``study.tell``, except for a trial that another process already failed as stale (its
    heartbeat came late): that trial is queued again and its retry counts instead."""
    from optuna.exceptions import UpdateFinishedTrialError

    try:
        study.tell(trial, values, state=state)
    except (UpdateFinishedTrialError, RuntimeError, ValueError) as exc:
        if "finished" not in str(exc).lower() and "already" not in str(exc).lower():
            raise


def _fail_stale(study: Any) -> None:
    """Optuna's ``fail_stale_trials`` (failing and re-queueing trials whose heartbeat stopped)."""
    import warnings

    import optuna
    from optuna.storages import fail_stale_trials

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        fail_stale_trials(study)


def _stacks_on_sigusr1() -> None:
    """``kill -USR1 PID`` prints every thread's stack (where is a slow study?)."""
    import contextlib
    import faulthandler
    import io
    import sys

    with contextlib.suppress(AttributeError, ValueError, OSError, io.UnsupportedOperation):
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
