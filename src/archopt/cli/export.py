"""Export a run's model as an artifact that takes raw inputs, checked against PyTorch.

  archopt export runs/mnist1d-cnn/20250101-120000
  archopt export RUN_DIR --format torchscript --out deploy/cnn
  archopt export RUN_DIR --opset 17 --json

The artifact holds the run's input normalization (and a regression model's target scale), has a
dynamic batch dimension, and comes with metadata.json (inputs, outputs, class names, versions,
the spec's hash and the parity figures). Parity is checked on the run's own test data (ONNX
Runtime for ONNX): max |difference| <= 1e-4 and the same predicted classes, or nothing is
written. Default folder: RUN_DIR/export/FORMAT.
"""

from __future__ import annotations

import argparse

FORMATS = ("onnx", "torchscript", "exported_program")  # archopt.export.FORMATS, without torch


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a directory made by `archopt train`")
    p.add_argument("--format", choices=FORMATS, default="onnx",
                   help="artifact format (default onnx)")
    p.add_argument("--out", metavar="DIR", help="folder to write (default RUN_DIR/export/FORMAT)")
    p.add_argument("--opset", type=int, metavar="N", help="ONNX opset (default 18)")


def run(args: argparse.Namespace) -> int:
    from archopt.cli.output import print_json, print_table
    from archopt.export import export

    meta = export(args.run_dir, args.format, args.out, args.opset)
    if args.json:
        print_json(meta)
        return 0
    p, inp, out = meta["parity"], meta["inputs"], meta["output"]
    rows = [["artifact", f"{meta['out']}/{meta['file']}"],
            ["exporter", meta["exporter"]["exporter"] + (f", opset {meta['exporter']['opset']}"
                                                         if "opset" in meta["exporter"] else "")],
            ["input", f"{inp['name']} {inp['dtype']} ({', '.join(map(str, inp['shape']))})"],
            ["output", f"{out['name']} ({', '.join(map(str, out['shape']))})"],
            ["task", meta["task"]],
            ["parity examples", p["examples"]], ["max |difference|", p["max_abs_diff"]]]
    if "agreement" in p:
        rows.append(["same class", f"{p['agreement']:.2%}"])
    if "accuracy_artifact" in p:
        rows.append(["accuracy (artifact)", p["accuracy_artifact"]])
        rows.append(["accuracy (PyTorch)", p["accuracy_pytorch"]])
    print_table(f"exported {meta['run_dir']}", ["", "value"], rows,
                caption="parity passed; metadata.json beside the model")
    return 0
