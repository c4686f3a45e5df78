"""Label-scarce transfer from a pretrained run: from scratch, linear probe, fine-tuning,
gradual unfreezing and self-training (the probe again, with the probe's confident labels for the
unlabelled training examples), at several labelled examples per class and seeds; one table of test
accuracy (mean ± std over seeds). Every cell is an ordinary run; killed, it runs again from
where it stopped.

  archopt transfer examples/transfer/digits_probe.yaml --from runs/digits-simclr
  archopt transfer SPEC --per-class 1,5,10 --seeds 0,1,2 --recipes probe,finetune
  archopt transfer SPEC --out runs/my-transfer --json

SPEC is the downstream spec (its data.classes, its model); `--from` defaults to its
model.init.from.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="SPEC", help="the downstream spec (YAML)")
    p.add_argument("--from", dest="source", metavar="RUN_DIR", help="the pretrained run")
    p.add_argument("--recipes", metavar="R,R,...",
                   help="scratch,probe,finetune,gradual,selftrain (default all)")
    p.add_argument("--per-class", metavar="K,K,...",
                   help="labelled training examples per class (default data.per_class or "
                   "1,5,10)")
    p.add_argument("--seeds", metavar="S,S,...", help="one run per seed (default spec.seed)")
    p.add_argument("--out", metavar="DIR", help="the comparison's directory")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V",
                   help="override a spec field; repeatable")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.fewshot import ints
    from archopt.cli.output import print_json, print_table
    from archopt.spec import load_spec
    from archopt.transfer.compare import compare_transfer

    spec = load_spec(args.spec, args.overrides)
    result = compare_transfer(spec, from_=args.source,
                      recipes=args.recipes and [r.strip() for r in args.recipes.split(",")],
                      per_class=args.per_class and ints(args.per_class),
                      seeds=args.seeds and ints(args.seeds), out=args.out,
                      quiet=args.quiet or args.json)
    if args.json:
        print_json(result)
        return 0
    recipes = list(dict.fromkeys(r["recipe"] for r in result["table"]))
    counts = list(dict.fromkeys(r["per_class"] for r in result["table"]))
    cell = {(r["recipe"], r["per_class"]): r for r in result["table"]}
    rows = [[f"{k}"] + [f"{100 * cell[r, k]['mean']:.1f} ± {100 * cell[r, k]['std']:.1f}"
                        for r in recipes] for k in counts]
    seeds = result["table"][0]["seeds"]
    print_table(f"test accuracy %, from {result['from']}", ["labels per class", *recipes],
                rows, caption=f"mean ± std over {seeds} seed(s); runs in {result['out']}")
    return 0
