"""One line about the machine and its load, printed above the results."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def describe() -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from machine import cpu_model

    load = os.getloadavg()
    return (f"machine: {cpu_model()}, {os.cpu_count()} cores, load average "
            f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (shared with other jobs)")
