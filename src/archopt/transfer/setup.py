"""What ``fit`` builds for transfer learning before the first step: the weights of
``model.init`` loaded into the new model, and the freezing schedule of ``train.transfer``."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from archopt.errors import UserError
from archopt.spec.schema import Spec
from archopt.transfer.freeze import Freezer, Schedule


@dataclass
class Transfer:
    """The load report of ``model.init`` and the freezing schedule (either may be None)."""

    report: dict[str, Any] | None
    schedule: Schedule | None

    def callbacks(self) -> list:
        return [Freezer(self.schedule)] if self.schedule is not None else []

    def record(self, run_dir: Path, quiet: bool) -> None:
        """Write ``init.json`` and say what was loaded (a new run only)."""
        if self.report is None:
            return
        from archopt.transfer.init import summary, write_report

        write_report(self.report, run_dir)
        if not quiet:
            print(summary(self.report), file=sys.stderr, flush=True)


def prepare_transfer(spec: Spec, model: nn.Module, world: int = 1) -> Transfer | None:
    """Load ``model.init`` into ``model`` and resolve ``train.transfer`` against it."""
    init, t = spec.model.init, spec.train.transfer
    if spec.train.task in ("contrastive", "prototypical") and world > 1:
        raise UserError("train.task", f"{spec.train.task} training runs on one process",
                        "train without --nproc")
    if init is None and t is None:
        return None
    report = None
    if init is not None:
        from archopt.transfer.init import load_init

        report = load_init(model, init, spec.seed)
    head = init.head if init is not None else "head"
    schedule = None
    if t is not None and (t.freeze or t.unfreeze or t.gradual):
        if world > 1:
            raise UserError("train.transfer.freeze", "freezing is not supported with several "
                            "processes yet (DDP needs every parameter to take part)",
                            "train on one process (no --nproc), or remove the freezing")
        schedule = Schedule(t, model, head)
    return Transfer(report, schedule)
