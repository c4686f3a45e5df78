"""Run directories: ``runs/<name>/<YYYYmmdd-HHMMSS>/`` by default, never overwritten.

A run directory holds ``spec.yaml`` (the resolved spec), ``history.jsonl``, ``metrics.json``,
``checkpoints/{last,best}.pt`` and later plots and reports.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from archopt.errors import UserError


def new_run_dir(name: str, out: str | os.PathLike | None = None, root: str = "runs") -> Path:
    """Create a fresh run directory and return it.

    Args:
        name: the spec's ``name``.
        out: an explicit directory; it must not exist yet or be empty.
        root: where default run directories go.

    Raises:
        UserError: when ``out`` already holds files or a directory cannot be created.
    """
    if out is not None:
        path = Path(out)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UserError(str(path), "already exists and is not empty; runs are never "
                            "overwritten", "choose another --out, or pass --resume to continue it")
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        folder = Path(root) / name
        if enclosing_run(folder / stamp) is not None:  # runs/NAME is itself a run (--out)
            folder, stamp = Path(root), f"{name}-{stamp}"
        path = folder / stamp
        i = 1
        while path.exists():
            path = folder / f"{stamp}-{i}"
            i += 1
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UserError(str(path), f"cannot create the run directory ({exc.strerror})",
                        "choose a writable --out directory") from None
    return path


def enclosing_run(path: Path) -> Path | None:
    """The nearest folder above ``path`` that is a run directory (holds ``spec.yaml`` and
    ``checkpoints/``), or None."""
    for parent in Path(path).absolute().parents:
        if (parent / "spec.yaml").is_file() and (parent / "checkpoints").is_dir():
            return parent
    return None


def check_run_dir(path: str | os.PathLike) -> Path:
    """An existing run directory (one with ``spec.yaml``), or a UserError saying what is missing."""
    p = Path(path)
    if not p.is_dir():
        raise UserError(str(p), "run directory not found", "pass a folder made by `archopt train`")
    if not (p / "spec.yaml").is_file():
        raise UserError(str(p), "not a run directory (no spec.yaml)",
                        "pass a folder made by `archopt train`")
    return p
