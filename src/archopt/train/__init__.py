"""Training: the loop, tasks, losses, optimizers, schedules, metrics, callbacks, checkpoints.

``fit(spec)`` trains and writes a run directory; ``evaluate(run_dir, split)`` re-evaluates it.
``prepare(spec)`` and ``build_trainer(spec, prepared, run_dir)`` are the two steps ``fit`` is
made of, for code that drives training itself (tuning, search, compression, benchmarks).
Importing this package registers every loss, optimizer, scheduler, metric, callback and task.

Layers, each importing only from those above it in this list: ``checkpoint`` < ``trainer``
< ``callbacks`` < ``loop`` < ``setup`` < ``fit``, ``evaluate``.
"""

# imported for their registrations (LOSSES, OPTIMIZERS, SCHEDULERS, METRICS, CALLBACKS, TASKS)
from archopt.train import callbacks, generation, losses, metrics, optimizers, schedulers, tasks  # noqa: F401
from archopt.train.callbacks import Callback
from archopt.train.evaluate import evaluate
from archopt.train.fit import build_trainer, fit, prepare
from archopt.transfer import contrastive, episodes  # noqa: F401,E402 (their TASKS)

__all__ = ["Callback", "build_trainer", "evaluate", "fit", "prepare"]
