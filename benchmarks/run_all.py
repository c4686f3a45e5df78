"""Run every benchmark script (``benchmarks/bench_*.py``) in turn: what ``make bench`` does.

    .venv/bin/python benchmarks/run_all.py [--only startup,trainer] [--write] [--dry-run]
        [--gallery]

Each script runs in its own process from ``benchmarks/`` with this Python; ``--write`` is passed
to the scripts that take it (they then update their section of ``benchmarks/RESULTS.md``).
``--gallery`` also runs the results gallery (``benchmarks/gallery/run_all.py``, much longer).
Exit status 1 if any script failed; the others still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts(folder: Path, only: list[str] | None) -> list[Path]:
    """``bench_*.py`` in ``folder``, by name; ``only``: their names without ``bench_``."""
    found = sorted(folder.glob("bench_*.py"))
    if only is None:
        return found
    names = {p.stem.removeprefix("bench_"): p for p in found}
    missing = [n for n in only if n not in names]
    if missing:
        raise SystemExit(f"run_all.py: no benchmark {', '.join(missing)} "
                         f"(there are: {', '.join(names)})")
    return [names[n] for n in only]


def command(script: Path, write: bool) -> list[str]:
    cmd = [sys.executable, str(script)]
    if write and "--write" in script.read_text():
        cmd.append("--write")
    return cmd


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated names, e.g. startup,trainer")
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    ap.add_argument("--gallery", action="store_true", help="also run the results gallery")
    ap.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    cmds = [command(s, args.write)
            for s in scripts(args.dir, args.only.split(",") if args.only else None)]
    if args.gallery:
        cmds.append([sys.executable, str(args.dir / "gallery" / "run_all.py")])
    failed = []
    for cmd in cmds:
        name = Path(cmd[1]).relative_to(args.dir)
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        if args.dry_run:
            continue
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=args.dir)
        print(f"== {name}: exit {rc}, {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(str(name))
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
