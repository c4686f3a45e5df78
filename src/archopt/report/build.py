"""``report(paths)``: the HTML page of a run, a study, a search, a compression or several runs,
written atomically to one self-contained file."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.run_index import kind_of
from archopt.spec.load import write_atomic


def _run_page(path: Path) -> Any:
    from archopt.report.pages.run import run_page

    return run_page(path)


def _study_page(path: Path) -> Any:
    from archopt.report.pages.study import study_page

    return study_page(path)


def _compression_page(path: Path) -> Any:
    from archopt.report.pages.compression import compression_page

    return compression_page(path)


# kind -> page builder
PAGES: dict[str, Callable[[Path], Any]] = {"run": _run_page, "study": _study_page,
                                           "search": _study_page,
                                           "compression": _compression_page}


def report(paths: str | os.PathLike | Sequence[str | os.PathLike],
           out: str | os.PathLike | None = None) -> Path:
    """Write the HTML report of one folder, or of several runs side by side.

    Args:
        paths: a run, study, search or compression folder, or a list of run folders.
        out: the HTML file to write; default ``report.html`` inside the folder (for several
            runs: ``compare.html`` in the current folder).

    Returns:
        The path of the written file.

    Raises:
        UserError: a path that is not an archopt folder, or an output that cannot be written.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise UserError("archopt report", "needs a folder", "example: archopt report runs/x/1")
    folders = [Path(p) for p in items]
    kinds = []
    for p in folders:
        kind = kind_of(p) if p.is_dir() else None
        if kind is None:
            raise UserError(str(p), "is not a run, study, search or compression folder"
                            if p.exists() else "not found",
                            "pass a folder made by `archopt train`, `tune`, `search` or "
                            "`compress`; `archopt runs` lists them")
        kinds.append(kind)
    if len(folders) == 1:
        page = PAGES.get(kinds[0], _run_page)(folders[0])
        target = Path(out) if out is not None else folders[0] / "report.html"
    else:
        from archopt.report.pages.compare import compare_page

        page = compare_page(folders)
        target = Path(out) if out is not None else Path("compare.html")
    if target.is_dir():
        raise UserError(str(target), "is a folder", "pass a file name such as report.html")
    try:
        write_atomic(target, page.render())
    except OSError as exc:
        raise UserError(str(target), f"cannot be written ({exc.strerror})",
                        "choose another -o FILE") from None
    return target
