"""The callback contract (Lightning's ``Callback``): no-op hooks plus a state that is saved.

Every hook gets the ``Trainer`` (what the loop is training and where it stands); the epoch hooks
also get ``logs``, the history line being built for this epoch (``epoch``, ``step``,
``train_loss``, ``val_accuracy``, ``lr``, ...). A callback stops training by setting
``trainer.should_stop``. Its ``state_dict`` goes into every checkpoint, so it survives a resume.
"""

from __future__ import annotations

from typing import Any


class Callback:
    """Base class: override the hooks you need; ``key`` names the state in checkpoints."""

    key: str = "callback"

    def on_fit_start(self, trainer: Any) -> None: ...

    def on_epoch_start(self, trainer: Any) -> None: ...

    def on_batch_end(self, trainer: Any) -> None: ...

    def on_validation_end(self, trainer: Any, logs: dict[str, Any]) -> None: ...

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None: ...

    def on_fit_end(self, trainer: Any) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def call(callbacks: list[Callback], hook: str, *args: Any) -> None:
    """Run ``hook`` on every callback, in order."""
    for cb in callbacks:
        getattr(cb, hook)(*args)
