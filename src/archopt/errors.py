"""The one exception type for user mistakes.

Anything a user can fix (a bad spec, a missing file, corrupt data, a wrong shape) is raised as
``UserError``; the CLI prints it as ``error: <where>: <what>`` plus a hint and exits with status 2.
Every other exception is a bug in archopt and exits with status 1.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix.

    Args:
        where: what is wrong, located: a spec field path (``train.optimizer.lr``), a file
            (``data/train.csv:12``) or an override (``--set model.depth=3``).
        what: what is wrong with it.
        hint: how to fix it (optional).
    """

    def __init__(self, where: str, what: str, hint: str | None = None) -> None:
        self.where, self.what, self.hint = where, what, hint
        super().__init__(f"{where}: {what}" if where else what)

    def format(self) -> str:
        head = f"error: {self}"
        return f"{head}\n  hint: {self.hint}" if self.hint else head


def suggest(name: str, choices: object) -> str | None:
    """A 'did you mean' hint for a misspelled ``name``, or None when nothing is close."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None



WARNINGS: list[str] = []   # every warning of this process, for a study to record with a trial


def warn(where: str, what: str, hint: str | None = None) -> None:
    """Print one ``warning: <where>: <what>`` line on stderr, for input that trains but may not
    mean what the user thinks. Only rank 0 of a distributed run prints, and not a line its
    launcher has printed already (``ARCHOPT_WARNED``); ``WARNINGS`` keeps every line."""
    import os
    import sys

    line = f"warning: {where}: {what}" if where else f"warning: {what}"
    if hint:
        line += f"; {hint}"
    WARNINGS.append(line)
    said = os.environ.get("ARCHOPT_WARNED", "").split("\n")
    if os.environ.get("RANK", "0") == "0" and line not in said:
        print(line, file=sys.stderr, flush=True)
