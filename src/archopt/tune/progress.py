"""Progress of a study on the terminal: finished / pruned / failed trials, the best value so
far and an ETA; a rich bar on a terminal, one line per finished trial otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any


class StudyProgress:
    """Call ``update`` after every finished trial; ``close`` at the end."""

    def __init__(self, target: int, objective: str, quiet: bool = False,
                 mode: str = "auto") -> None:
        self.target, self.objective, self.quiet = target, objective, quiet
        self.start = time.monotonic()
        self.done_here = 0
        self.bar = None
        if not quiet and (mode == "bar" or (mode == "auto" and sys.stderr.isatty())):
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("tune"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.description}"),
                                console=Console(stderr=True), transient=False)
            self.task = self.bar.add_task("", total=target)
            self.bar.start()

    def update(self, counts: dict[str, int], best: Any, line: str, counted: bool = True) -> None:
        """After a trial ended (``counted``: it counts toward the target; a rejected one
        does not)."""
        if self.quiet:
            return
        self.done_here += counted
        finished = counts["finished"]
        elapsed = time.monotonic() - self.start
        left = max(self.target - finished, 0)
        eta = elapsed / self.done_here * left / max(counts.get("workers", 1), 1) \
            if self.done_here else 0.0
        best_txt = f"best {self.objective} {best[1]:.4g} (#{best[0]})" if best else "best -"
        status = (f"{counts['complete']} done, {counts['pruned']} pruned, "
                  f"{counts['failed']} failed"
                  + (f", {counts['rejected']} rejected" if counts.get("rejected") else "")
                  + f" | {best_txt} | ETA {_hms(eta)}")
        if self.bar is not None:
            self.bar.update(self.task, completed=finished, description=status)
        else:
            print(f"[{finished}/{self.target}] {line} | {status}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
