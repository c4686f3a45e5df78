"""How a trained run holds up under noise, corruptions and adversarial attacks.

  archopt robustness runs/digits-cnn/20250101-120000
  archopt robustness RUN_DIR --attack fgsm,pgd --eps 0,0.05,0.1,0.2 --relative
  archopt robustness RUN_DIR --noise gaussian,blur --attack none      (int8 runs: noise only)

Everything is in the data's raw units: the model is attacked with its normalization inside, in
eval mode, and perturbed inputs stay in the data's valid range (images: the training pixels' min
and max; other kinds unbounded unless --range LO:HI). Attacks: fgsm, pgd (L-inf), pgd-l2, and
APGD with cross-entropy and DLR losses (apgd-ce, apgd-dlr; IBM ART), the strongest evaluation
available offline. The "strongest" curve counts an example as robust only if every L-inf attack
failed on it. Gradient-masking checks flag a curve that only looks robust. Writes
robustness.json and robustness.png into RUN_DIR/robustness/ (or --out).
"""

from __future__ import annotations

import argparse

from archopt.errors import UserError


def floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers"
                                         ) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a finished run (trained, tuned, pruned, "
                   "int8, fine-tuned)")
    p.add_argument("--noise", default="all", metavar="NAMES",
                   help="all (default: every corruption for the data's kind), none, or a comma "
                   "list: gaussian, blur, contrast, salt_and_pepper, jitter, time_shift, "
                   "dropped_steps, feature_noise")
    p.add_argument("--attack", default="all", metavar="NAMES",
                   help="all (default), none, or a comma list of fgsm, pgd, pgd-l2, apgd-ce, "
                   "apgd-dlr")
    p.add_argument("--eps", type=floats, default=None, metavar="E,E,...",
                   help="L-inf epsilons in raw units (default: 0, 2.5, 5, 10, 20, 30%% of the "
                   "data's range)")
    p.add_argument("--eps-l2", type=floats, default=None, metavar="E,E,...",
                   help="L2 epsilons in raw units (default: 0, 0.25, 0.5, 1, 1.5, 2 times the "
                   "data's range)")
    p.add_argument("--relative", action="store_true",
                   help="--eps and --eps-l2 are fractions of the data's range")
    p.add_argument("--split", choices=["test", "val", "train"], default="test",
                   help="the split measured (default test)")
    p.add_argument("--limit", type=int, default=1000, metavar="N",
                   help="measure the first N examples of the split (default 1000)")
    p.add_argument("--steps", type=int, default=20, help="PGD iterations (default 20)")
    p.add_argument("--restarts", type=int, default=1, help="PGD restarts (default 1)")
    p.add_argument("--range", dest="value_range", default="auto", metavar="auto|none|LO:HI",
                   help="the inputs' valid range (default auto: images the training pixels' "
                   "min:max, other kinds unbounded)")
    p.add_argument("--seed", type=int, default=0, help="seeds every random draw (default 0)")
    p.add_argument("--no-checks", dest="checks", action="store_false",
                   help="skip the gradient-masking checks")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="where robustness.json and robustness.png go (default "
                   "RUN_DIR/robustness)")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.robust import robustness

    if args.limit < 1:
        raise UserError("--limit", "must be at least 1")
    r = robustness(args.run_dir, noise=args.noise, attack=args.attack, eps=args.eps,
                   eps_l2=args.eps_l2, relative=args.relative, split=args.split,
                   out=args.out, limit=args.limit, steps=args.steps, restarts=args.restarts,
                   seed=args.seed, value_range=args.value_range, checks=args.checks)
    if args.json:
        print_json(r)
        return 0
    d = r["domain"]
    rng = f"[{d['lo']:.4g}, {d['hi']:.4g}]" if d["lo"] is not None else "unbounded"
    print(f"{args.split}: {r['examples']} examples, clean accuracy {r['clean_accuracy']:.4f}, "
          f"valid range {rng}")
    if r["attacks"]:
        names = list(r["attacks"])
        linf = [n for n in names if r["attacks"][n]["norm"] == "linf"]
        if linf:
            first = r["attacks"][linf[0]]
            rows = [[f"{e:.4g} ({rel:.1%})"] + [r["attacks"][n]["accuracy"][i] for n in linf]
                    + ([r["strongest"]["accuracy"][i]] if "strongest" in r else [])
                    for i, (e, rel) in enumerate(zip(first["eps"], first["eps_relative"]))]
            print_table("accuracy under L-inf attacks", ["epsilon (raw, of range)", *linf,
                        *(["strongest"] if "strongest" in r else [])], rows)
        for n in [n for n in names if n not in linf]:
            a = r["attacks"][n]
            print_table(f"accuracy under {n}", ["epsilon (raw)", "accuracy"],
                        [[f"{e:.4g}", v] for e, v in zip(a["eps"], a["accuracy"])])
    for name, c in r["noise"].items():
        print_table(f"{name} ({c['unit']})", ["strength", "accuracy"],
                    [[f"{s:.4g}", v] for s, v in zip(c["strengths"], c["accuracy"])])
    for c in r.get("checks", []):
        print(f"  {'ok  ' if c['passed'] else 'FAIL'} {c['name']}: {c['detail']}")
    if r.get("gradient_masking_suspected"):
        print("warning: a gradient-masking check failed: the attack curves may overstate "
              "robustness")
    print(f"wrote {r['out_dir']}/robustness.json and robustness.png")
    return 0
