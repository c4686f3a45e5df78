"""Few-shot accuracy on classes held out from training: N-way K-shot episodes, nearest
prototype on a run's encoder and, beside it, on the raw inputs; the mean and 95% interval over
the episodes.

  archopt fewshot examples/transfer/digits_protonet.yaml     train the spec, then evaluate
  archopt fewshot RUN_DIR --classes 5,6,7,8,9 --shots 1,5 --episodes 600
  archopt fewshot RUN_DIR --json

The defaults come from the spec's `fewshot:` section; the flags replace its fields.
"""

from __future__ import annotations

import argparse


def ints(text: str) -> list[int]:
    from archopt.errors import UserError

    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError("argument", f"'{text}' is not a list of whole numbers",
                        "write it like 1,5,10") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", metavar="RUN_DIR|SPEC",
                   help="a run to evaluate, or a spec (YAML) to train first")
    p.add_argument("--classes", metavar="C,C,...", help="the held-out classes")
    p.add_argument("--ways", type=int, help="classes per episode (default 5)")
    p.add_argument("--shots", metavar="K,K,...", help="support examples per class (1,5)")
    p.add_argument("--queries", type=int, help="query examples per class (default 15)")
    p.add_argument("--episodes", type=int, help="episodes per figure (default 600)")
    p.add_argument("--split", choices=["test", "val", "train"], help="default test")
    p.add_argument("--seed", type=int, help="seeds the episodes (default 0)")
    p.add_argument("--normalize", choices=["l2", "cl2n", "none"],
                   help="the encoder's embeddings: l2 (default), cl2n (centred on the base "
                   "classes' mean, then l2; SimpleShot) or none")
    p.add_argument("--out", metavar="DIR", help="where a trained SPEC's run goes")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="K=V",
                   help="override a field of SPEC; repeatable")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.transfer.fewshot import fewshot

    result = fewshot(args.source, classes=args.classes and ints(args.classes),
                     ways=args.ways, shots=args.shots and ints(args.shots),
                     queries=args.queries, episodes_n=args.episodes, split=args.split,
                     seed=args.seed, normalize=args.normalize, overrides=args.overrides,
                     out=args.out, quiet=args.quiet or args.json)
    if args.json:
        print_json(result)
        return 0
    rows = [[f"{result['ways']}-way {r['shots']}-shot",
             f"{r['encoder']['mean']:.1f} ± {r['encoder']['ci95']:.1f}",
             f"{r['raw']['mean']:.1f} ± {r['raw']['ci95']:.1f}"] for r in result["results"]]
    print_table(f"{result['run']}: classes {result['classes']} ({result['split']}, "
                f"{result['episodes']} episodes, {result['queries']} queries per class)",
                ["episodes", "encoder %", "raw inputs %"], rows,
                caption=f"nearest prototype (encoder: {result['normalize']}, raw: plain); "
                "mean ± 95% interval over the episodes")
    return 0
