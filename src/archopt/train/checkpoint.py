"""Checkpoint files: written atomically, read with ``weights_only=True``, and the RNG states.

A checkpoint is a plain dict of tensors and primitive containers (no pickled objects), so it
loads with ``torch.load(..., weights_only=True)``. RNG states are stored as tensors: torch CPU,
every CUDA device, python ``random``, numpy's global generator and the augmentation generator.
"""

from __future__ import annotations

import io
import json
import os
import queue
import random
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archopt.errors import UserError
from archopt.spec.load import write_atomic

FORMAT = 1  # bumped when the layout changes


class _Writer:
    """Checkpoint writes in order, in one background thread.

    The state is serialized to bytes in the caller's thread (a snapshot: training goes on
    changing the tensors); writing and fsync, which can cost more than a small model's epoch,
    happen meanwhile. At most ``maxsize`` writes wait; ``wait()`` blocks until all are on disk
    and re-raises the first error.
    """

    def __init__(self, maxsize: int = 4) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def submit(self, path: str | os.PathLike, data: bytes) -> None:
        self._raise()
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._work, name="archopt-checkpoint",
                                           daemon=True)
            self.thread.start()
        self.queue.put((path, data))

    def _work(self) -> None:
        while True:
            path, data = self.queue.get()
            try:
                write_atomic(path, data)
            except BaseException as exc:  # reported by the next submit() or wait()
                self.error = self.error or exc
            finally:
                self.queue.task_done()

    def wait(self) -> None:
        self.queue.join()
        self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error


_writer = _Writer()


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any],
                    background: bool = False) -> None:
    """Write ``state`` to ``path`` through a temporary file and a rename (never half-written).

    ``background``: return once the state is serialized; call ``wait_for_writes()`` before
    relying on the file.
    """
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buf)
    if background:
        _writer.submit(path, buf.getvalue())
    else:
        _writer.wait()
        write_atomic(path, buf.getvalue())


def wait_for_writes() -> None:
    """Block until the background checkpoint write (if any) is on disk."""
    _writer.wait()


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint on CPU; a corrupt or truncated file is a UserError naming it."""
    p = Path(path)
    if not p.is_file():
        raise UserError(str(p), "checkpoint not found",
                        "the run has no checkpoint yet; start it again without --resume")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle, EOF and storage errors all mean a damaged file
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise UserError(str(p), f"corrupt or truncated checkpoint ({first})",
                        "nothing was overwritten; restore the file, or start a new run") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(str(p), "not an archopt checkpoint (unknown layout)",
                        "pass a run directory written by `archopt train`")
    return state


def rng_state(aug_generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every random state a training step reads, as tensors and ints."""
    version, mt, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": torch.tensor(mt, dtype=torch.int64),
        "python_meta": [version, gauss],
        "numpy": torch.from_numpy(keys.astype(np.int64)),
        "numpy_meta": [kind, int(pos), int(has_gauss), float(cached)],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if aug_generator is not None:
        state["augment"] = aug_generator.get_state()
    return state


def set_rng_state(state: dict[str, Any], aug_generator: torch.Generator | None = None) -> None:
    """Restore what ``rng_state`` saved."""
    torch.set_rng_state(state["torch"])
    version, gauss = state["python_meta"]
    random.setstate((version, tuple(int(v) for v in state["python"].tolist()), gauss))
    kind, pos, has_gauss, cached = state["numpy_meta"]
    np.random.set_state((kind, state["numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
    if aug_generator is not None and "augment" in state:
        aug_generator.set_state(state["augment"])


def checkpoint_path(run_dir: Path, which: str) -> Path:
    """``best.pt`` or ``last.pt`` of a run; ``headline``: the one metrics.json's figures come
    from (a run without metrics.json, stopped early: best.pt if it has one)."""
    if which not in ("headline", "best", "last"):
        raise UserError("--checkpoint", f"'{which}' is not a checkpoint",
                        "use headline, best or last")
    best, last = run_dir / "checkpoints" / "best.pt", run_dir / "checkpoints" / "last.pt"
    if which == "headline" and (run_dir / "metrics.json").is_file():
        saved = json.loads((run_dir / "metrics.json").read_text())
        which = (saved.get("headline") or {}).get("checkpoint", "headline")
    if which == "best" and not best.is_file():
        raise UserError(str(best), "this run has no best checkpoint (a GAN, or no epoch was "
                        "scored)", "use --checkpoint last")
    if which == "last" or (which == "headline" and not best.is_file()):
        return last
    return best
