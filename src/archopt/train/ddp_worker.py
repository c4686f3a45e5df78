"""One DDP process (started by torchrun): ``python -m archopt.train.ddp_worker RUN_DIR``.

Trains the run directory's spec.yaml into that directory; rank 0 writes the files. A user
error is printed by rank 0 only, and every rank exits with status 2.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="archopt.train.ddp_worker")
    p.add_argument("run_dir")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--progress", default=None)
    args = p.parse_args(argv)
    from archopt.errors import UserError
    from archopt.spec import load_spec
    from archopt.train import ddp
    from archopt.train.fit import fit

    rank = ddp.context()[0]
    try:
        spec = load_spec(f"{args.run_dir}/spec.yaml")
        fit(spec, resume=args.run_dir if args.resume else None, run_dir=args.run_dir,
            quiet=args.quiet, progress=args.progress or "lines")
    except UserError as err:
        if rank == 0:
            print(err.format(), file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:  # loop.Interrupted: rank 0 saved a checkpoint
        if rank == 0 and hasattr(stop, "run_dir"):
            print(f"interrupted at epoch {stop.epoch}, step {stop.step}; checkpoint saved.\n"
                  f"  resume with: archopt train --resume {stop.run_dir} --nproc "
                  f"{ddp.context()[1]}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
