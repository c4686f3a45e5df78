"""History: one JSON line per epoch in ``history.jsonl``; the lines are also the callback's
state, so a resumed run rewrites the file exactly as it stood at the checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archopt.registry import CALLBACKS
from archopt.spec.load import write_atomic
from archopt.train.callbacks._base import Callback


class History(Callback):
    """Appends each epoch's logs to ``history.jsonl`` and keeps them in ``lines``."""

    key = "history"

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lines: list[dict[str, Any]] = []

    def on_fit_start(self, trainer: Any) -> None:
        if self.path is not None:  # fresh run: empty file; resumed: the lines of the checkpoint
            write_atomic(self.path, "".join(json.dumps(line) + "\n" for line in self.lines))

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        line = {k: v for k, v in logs.items() if isinstance(v, int | float | str)}
        self.lines.append(line)
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")

    def state_dict(self) -> dict[str, Any]:
        return {"lines": json.dumps(self.lines)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.lines = json.loads(state["lines"])


@CALLBACKS.register("history")
def history(cfg: Any, run_dir: Path | None = None, **_: Any) -> History:
    """Write history.jsonl in the run directory."""
    return History(run_dir / "history.jsonl" if run_dir is not None else None)
