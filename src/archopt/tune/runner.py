"""The study's loop: the process that calls ``tune`` owns the Optuna study (it samples,
records and decides pruning; it is the only client of the storage on its machine) and hands
trials to a pool of long-lived worker processes (``archopt.tune.pool``).

While fewer than ``trials`` have finished: give each idle worker a new trial (``study.ask``, the
space sampled, the spec validated); answer the workers' messages (costs -> go or rejected by a
budget, a validation epoch -> prune or not, the result or the failure); record the heartbeats of
the running trials; replace a worker that died (its trial fails with the reason) or asks to be
recycled. trials.csv and best.yaml are rewritten after every trial, the plots at the end.
``kill -USR1 PID`` prints the stacks of the study's process and of its workers.
"""

from __future__ import annotations

import copy
import math
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.run_index import read_trials, study_wall_s
from archopt.tune import accounting as acc
from archopt.tune import outcomes, repeats
from archopt.tune import space as sp
from archopt.tune.plan import Plan
from archopt.tune.pool import Pool, threads_per_worker
from archopt.tune.study import asking_in_turn, open_study, stopped

# candidates rejected by the budgets in a row before the study gives up: the space is then
# almost all out of budget
REJECTION_LIMIT = 200


class StudyInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM: running trials were queued again; resume with --resume DIR."""

    def __init__(self, study_dir: Path) -> None:
        self.study_dir = study_dir
        super().__init__(str(study_dir))


class Runner:
    """One ``tune`` call's loop over its worker pool."""

    def __init__(self, plan: Plan, path: Path, storage: Any, name: str, shared: bool,
                 quiet: bool, progress: str, plots: bool,
                 enqueue: list[dict[str, Any]] | None = None) -> None:
        self.plan, self.path, self.storage, self.name = plan, path, storage, name
        self.enqueue = enqueue or []  # first trials' parameters (archopt search's pre-screen)
        self.shared, self.quiet, self.progress_mode, self.plots = shared, quiet, progress, plots
        self.running: dict[int, dict[str, Any]] = {}   # trial number -> trial, worker, costs
        self.overheads: list[tuple[float, float]] = []  # per trial: wall, CPU seconds
        self.rejected_in_a_row = 0
        self.stop_reason: str | None = None

    def counts(self, study: Any) -> dict[str, int]:
        return acc.counts(study, self.plan.section.workers)

    def run(self) -> dict[str, Any]:
        from archopt.tune.progress import StudyProgress

        _stacks_on_sigusr1()
        study = open_study(self.plan, self.storage, self.name, self.shared)
        acc.recover(study, self.shared)
        resumed = bool(study.get_trials(deepcopy=False))  # trials from earlier runs
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
            for info in list(self.running.values()):
                acc.fail_and_retry(study, info["trial"]._trial_id,
                                   "interrupted (Ctrl-C or SIGTERM)")
            pool.close(now=True)
            progress.close()
            self._outputs(study, plots=False)
            raise StudyInterrupted(self.path) from None
        finally:
            signal.signal(signal.SIGTERM, old_term)
        pool.close()
        progress.close()
        best = self._outputs(study, plots=self.plots)
        return {"study_dir": str(self.path), "study": self.name, "trials": self.counts(study),
                "objectives": {o.name: o.direction for o in self.plan.objectives},
                "best": best, "workers": t.workers, "stopped": self.stop_reason,
                "threads_per_worker": pool.threads, "recycled_workers": pool.recycled,
                **_mean_overheads(self.overheads),
                "wall_s": round(time.monotonic() - started, 2),
                "study_wall_s": study_wall_s(read_trials(self.path)) if resumed else None}

    def _loop(self, study: Any, pool: Pool, progress: Any, deadline: float) -> None:
        last_beat = 0.0
        t = self.plan.section
        while True:
            c = self.counts(study)
            if self.stop_reason is None and stopped(study):
                self.stop_reason = "every point of the grid was tried"
            if self.stop_reason is None and self.rejected_in_a_row >= REJECTION_LIMIT:
                self.stop_reason = (f"{REJECTION_LIMIT} candidates in a row broke the budgets; "
                                    "loosen tune.constraints or narrow tune.space")
            room = self.plan.trials - c["finished"] - c["running"]
            if time.monotonic() < deadline and self.stop_reason is None:
                for w in pool.idle()[:max(room, 0)]:
                    self._start(study, pool, w, progress)
            # done when enough trials finished (others' running trials may yet fail and be
            # queued again: wait for them), or when time is up and none of ours runs
            if not self.running and (c["finished"] >= self.plan.trials or self.stop_reason
                                     or time.monotonic() >= deadline):
                break
            for w, msg in pool.events(timeout=0.5):
                self._handle(study, pool, w, msg, progress)
            if time.monotonic() - last_beat >= t.heartbeat_s / 2:
                last_beat = time.monotonic()
                for info in self.running.values():
                    self.storage.record_heartbeat(info["trial"]._trial_id)
                if self.shared:
                    acc.fail_stale(study)

    def _start(self, study: Any, pool: Pool, w: Any, progress: Any) -> None:
        trial = ask_for_trial(study, self.storage, self.name, self.plan.trials)
        if trial is None:
            return
        self.storage.record_heartbeat(trial._trial_id)
        values = sp.sample(trial, self.plan.space)
        rel = f"trials/{trial.number:04d}"
        trial.set_user_attr("run_dir", rel)
        if "reason" in trial.user_attrs:  # a retried trial: the reason was its original's
            trial.set_user_attr("reason", None)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}:{self.path}")
        data = sp.apply(copy.deepcopy(self.plan.base), values)
        try:
            from archopt.spec import load_spec

            spec = load_spec(data)
        except UserError as err:  # a sampled spec that does not validate fails, not the study
            state, detail = outcomes.record_failure(study, trial,
                                                    f"invalid sampled spec: {err}")
            self._finished(study, trial.number, state, detail, progress)
            return
        if self.plan.measure is not None:  # archopt search: no architecture trains twice
            key = repeats.candidate_key(spec)
            trial.set_user_attr(repeats.KEY, key)
            same = repeats.earlier(study, key, trial.number)
            if same is not None:
                detail = repeats.reuse(study, trial, same)
                self._finished(study, trial.number, "complete", detail, progress)
                return
        self.running[trial.number] = {"trial": trial, "costs": {}}
        w.trial = trial.number
        curve = self.plan.curve.name if self.plan.curve else None  # learning curves always
        pool.send(w, {"number": trial.number, "spec": spec.model_dump(mode="json"),
                      "run_dir": str(self.path / rel), "costs": self.plan.pre_costs,
                      "monitor": curve, "measure": self.plan.measure and {
                          **self.plan.measure, "cache": str(self.path / "costs")}})

    def _handle(self, study: Any, pool: Pool, w: Any, msg: tuple, progress: Any) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        kind = msg[0]
        if kind == "ready":
            w.ready = True
        elif kind == "recycle":
            pool.replace(w, recycled=True)
        elif kind == "died":
            n = w.trial
            if n is not None and n in self.running:
                code = msg[1]
                why = f"the trial's process died (exit status {code})"
                if code == -signal.SIGKILL:
                    why += ": killed, out of memory?"
                state, detail = outcomes.record_failure(study, self.running.pop(n)["trial"],
                                                        why)
                self._finished(study, n, state, detail, progress)
            pool.replace(w)
        elif msg[1] not in self.running:
            _abandoned(pool, w, kind)
        else:
            try:
                self._trial_message(study, pool, w, msg, progress)
            except UpdateFinishedTrialError:  # another process failed it as stale: it runs
                self.running.pop(msg[1], None)  # again there; this worker is told to stop
                _abandoned(pool, w, kind)

    def _trial_message(self, study: Any, pool: Pool, w: Any, msg: tuple, progress: Any) -> None:
        kind, n = msg[0], msg[1]
        info = self.running[n]
        trial = info["trial"]
        if kind == "costs":
            info["costs"] = msg[2]
            reason = outcomes.check_budgets(study, trial, msg[2], self.plan.budgets)
            if reason is None:
                self.rejected_in_a_row = 0
                pool.send(w, ("go",))
                return
            self.rejected_in_a_row += 1
            pool.send(w, ("reject", reason))
            self._release(n, w)
            self._finished(study, n, "rejected", reason.replace("rejected before training: ", "")
                           + " (before training)", progress)
        elif kind == "report":
            from archopt.tune.pruning import should_prune

            step, value = msg[2], msg[3]
            cost_dirs = {o.name: o.direction for o in self.plan.objectives if o.before_training}
            costs = {k: v for k, v in info["costs"].items() if k in cost_dirs}
            prune = should_prune(study, trial._trial_id, step, value,
                                 _direction(self.plan.curve.direction), costs, cost_dirs)
            pool.send(w, ("prune", prune))
        elif kind == "done":
            self.overheads.append((msg[2]["overhead_s"], msg[2]["overhead_cpu_s"]))
            state, detail = outcomes.record_result(study, trial, self.plan, msg[2])
            self._release(n, w)
            self._finished(study, n, state, detail, progress)
        elif kind == "failed":
            state, detail = outcomes.record_failure(study, trial, msg[2])
            self._release(n, w)
            self._finished(study, n, state, detail, progress)

    def _release(self, n: int, w: Any) -> None:
        self.running.pop(n, None)
        w.trial = None
        w.trials_run += 1

    def _finished(self, study: Any, n: int, state: str, detail: str, progress: Any) -> None:
        from archopt.tune.outputs import write_outputs

        best = write_outputs(self.path, study, self.plan.objectives)
        top = (best[0].number, best[0].values[0]) if best else None
        progress.update(self.counts(study), top, f"trial {n} {state}: {detail}",
                        counted=state != "rejected")

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
                "best_yaml": str(self.path / "best.yaml"),
                # several objectives: the Pareto front's size; one: how many tie on the best
                "pareto_size" if len(self.plan.objectives) > 1 else "tied": len(best)}


def ask_for_trial(study: Any, storage: Any, name: str, wanted: int) -> Any:
    """``study.ask()``, or None when the trials created before the new one already make
    ``wanted`` (processes sharing a study asked for the last ones at once): the new trial then
    steps aside untrained (``archopt.tune.accounting``)."""
    with asking_in_turn(storage, name):
        trial = study.ask()
        claimed = acc.claimed_before(study, trial._trial_id)
    if claimed < wanted:
        return trial
    outcomes.step_aside(study, trial, claimed, wanted)
    return None


def _mean_overheads(pairs: list[tuple[float, float]]) -> dict[str, float | None]:
    n = len(pairs)
    return {"mean_overhead_s": round(sum(p[0] for p in pairs) / n, 4) if n else None,
            "mean_overhead_cpu_s": round(sum(p[1] for p in pairs) / n, 4) if n else None}


def _abandoned(pool: Pool, w: Any, kind: str) -> None:
    """A message about a trial this process no longer runs (another process failed it as
    stale and queued it again): answer so that the worker stops it, and free the worker when
    the trial ends there."""
    if kind == "costs":
        pool.send(w, ("reject", "failed as stale by another process"))
        w.trial = None
    elif kind == "report":
        pool.send(w, ("prune", True))
    elif kind in ("done", "failed"):
        w.trial = None


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _direction(name: str) -> Any:
    from optuna.study import StudyDirection

    return StudyDirection.MAXIMIZE if name == "maximize" else StudyDirection.MINIMIZE


def _stacks_on_sigusr1() -> None:
    """``kill -USR1 PID`` prints every thread's stack (where is a slow study?)."""
    import contextlib
    import faulthandler
    import io
    import sys

    with contextlib.suppress(AttributeError, ValueError, OSError, io.UnsupportedOperation):
        faulthandler.register(signal.SIGUSR1, file=sys.__stderr__, all_threads=True)
