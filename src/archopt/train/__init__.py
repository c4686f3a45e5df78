"""Training: the loop, tasks, losses, optimizers, schedules, metrics, callbacks, checkpoints.

``fit(spec)`` trains and writes a run directory; ``evaluate(run_dir, split)`` re-evaluates it.
Importing this package registers every loss, optimizer, scheduler, metric, callback and task.
"""

# imported for their registrations (LOSSES, OPTIMIZERS, SCHEDULERS, METRICS, CALLBACKS, TASKS)
from archopt.train import callbacks, generation, losses, metrics, optimizers, schedulers, tasks  # noqa: F401  # noqa: F401
from archopt.train.callbacks import Callback
from archopt.train.fit import evaluate, fit

__all__ = ["Callback", "evaluate", "fit"]
