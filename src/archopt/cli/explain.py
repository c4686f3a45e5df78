"""Explain a run's predictions, and check every explanation before it is shown.

  archopt explain RUN_DIR                          every method that applies, 8 test examples
  archopt explain RUN_DIR --method integrated_gradients --method occlusion --index 3 17
  archopt explain RUN_DIR --target true --examples 50 --out explanations/cnn --json

Methods (Captum): integrated_gradients, gradient_shap, kernel_shap, lime, saliency, occlusion,
grad_cam (conv nets; --layer to choose the convolution), attention (rnn attention pooling's
weights, transformers' attention rollout).
Attributions are in the data's raw units (the run's normalization is part of the explained
function); removed features become the training mean (the baseline, stated in explain.json).
Checks beside every method: integrated gradients' completeness (steps raised until it holds),
the deletion curve against random orders (lower area: more faithful), the randomization sanity
check (maps that barely change with random weights are flagged).
Writes RUN_DIR/explain/ (or --out): explain.json, attributions.npz and the figures.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (trained, tuned, "
                   "pruned, fine-tuned)")
    p.add_argument("--method", "-m", action="append", metavar="M",
                   help="an attribution method (repeat for several; default: every one that "
                   "applies)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--examples", "-n", type=int, metavar="N",
                       help="explain the first N examples of the split (default 8)")
    which.add_argument("--index", type=int, nargs="+", metavar="I",
                       help="explain these examples of the split")
    p.add_argument("--target", default="predicted", help="classification: predicted "
                   "(default), true or a class (index or name); regression: an output index")
    p.add_argument("--split", choices=["test", "val", "train"], default="test",
                   help="the split the examples come from (default test)")
    p.add_argument("--out", metavar="DIR", help="the folder to write (default RUN_DIR/explain; "
                   "replaced when it exists)")
    p.add_argument("--samples", type=int, default=256, metavar="N",
                   help="perturbed inputs per example for Kernel SHAP and LIME (default 256)")
    p.add_argument("--layer", metavar="NAME", help="Grad-CAM's layer, a module name of the "
                   "model (default: the last convolution)")
    p.add_argument("--global-over", choices=["examples", "split"], default="examples",
                   help="tabular data: the global view's mean |attribution| over the explained "
                   "examples (default) or every example of the split (every method runs on "
                   "all of them; permutation importance is always over the split)")
    p.add_argument("--no-sanity", action="store_true",
                   help="skip the randomization sanity check")
    p.add_argument("--no-plots", action="store_true", help="write no figures")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.errors import UserError
    from archopt.explain import explain

    if args.samples < 1:
        raise UserError(f"--samples {args.samples}", "must be at least 1")
    result = explain(args.run_dir, methods=args.method, examples=args.examples,
                     indices=args.index, target=args.target, split=args.split, out=args.out,
                     samples=args.samples, layer=args.layer, sanity_check=not args.no_sanity,
                     plots=not args.no_plots, progress=not (args.quiet or args.json),
                     global_over=args.global_over)
    if args.json:
        print_json(result)
        return 0
    print(f"{len(result['examples'])} {result['split']} examples of {result['run_dir']} "
          f"({result['kind']}, {result['task']}); explained: {result['explained_output']}")
    print(f"baseline: {result['baseline']}")
    rows = []
    for name in result["faithfulness"]["ranking"]:
        m = result["methods"][name]
        c = m.get("completeness")
        s = m.get("sanity")
        rows.append([name, m["seconds_per_example"] * 1000,
                     f"{100 * c['relative_delta_max']:.2g}% ({m['steps']} steps)" if c else "-",
                     m["deletion"]["area"],
                     s["rank_correlation"][-1] if s else "-",
                     ("FLAGGED" if s and s["flagged"] else "ok") if s else "-"])
    f = result["faithfulness"]
    print_table("methods, most faithful first", ["method", "ms/example", "completeness",
                "deletion area", "sanity r", "sanity"], rows,
                caption=f"deletion area of a random order: {f['random']['area']:.4g} "
                f"(lower is more faithful); sanity r: rank correlation with the maps of a "
                f"model whose weights are all random")
    if "global" in result:
        g = result["global"]["ranking"]
        print(f"global view over {result['global']['examples']} "
              + ("examples of the split" if result["global"]["over"] == "split" else
                 "explained examples") + f"; permutation importance over the {result['split']} "
              "split")
        print("top features, permutation importance: "
              + ", ".join(g["permutation_importance"][:5]))
        for name in result["faithfulness"]["ranking"]:
            print(f"top features, {name}: " + ", ".join(g[name][:5]))
    print(f"wrote {result['out']}: " + ", ".join(result["files"]))
    return 0
