"""``metadata.json``: what an artifact takes and returns, where it came from, and its parity.

Serving reads it to validate requests and to name classes; people read it to call the artifact
from their own code without archopt.
"""

from __future__ import annotations

import json
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from archopt.export.formats import FILES
from archopt.export.run import LoadedRun
from archopt.export.wrapper import OUTPUT_NAMES, RawInputModel

FILE = "metadata.json"
MEANING = {
    "classification": "probability of each class (softmax), in class_names order",
    "regression": "predicted target values, in the targets' own units",
    "reconstruction": "the reconstructed input, in the inputs' own units",
    "generation": "generated examples, in the inputs' own units",
}


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def build_metadata(run: LoadedRun, wrapper: RawInputModel, fmt: str, names: list[str],
                   exporter: dict[str, Any], parity: dict[str, Any]) -> dict[str, Any]:
    """The metadata of an artifact exported from ``run``."""
    shape, task = run.shape, wrapper.task
    in_shape = ([run.model.latent_dim] if task == "generation" else list(shape.input_shape))
    out_shape = ([shape.num_outputs] if task in ("classification", "regression")
                 else list(shape.input_shape))
    inputs: dict[str, Any] = {"name": names[0], "kind": "latent" if task == "generation"
                              else shape.kind, "shape": ["batch", *in_shape], "dtype": "float32"}
    if wrapper.variable_length:
        inputs["variable_length"] = {
            "lengths_input": names[1], "lengths_dtype": "int64", "max_steps": in_shape[0],
            "how": "pad each sequence with zeros to max_steps and pass its true length; "
                   "steps past the length are ignored"}
    elif shape.variable_length:
        inputs["variable_length"] = {"how": "this model reads padded sequences as they are "
                                            "(it takes no lengths)", "max_steps": in_shape[0]}
    else:
        inputs["variable_length"] = None
    versions = {k: _version(k) for k in ("archopt", "torch", "onnx", "onnxruntime",
                                         "onnxscript")}
    return {
        "format": fmt, "file": FILES.get(fmt), "task": task, "inputs": inputs,
        "output": {"name": OUTPUT_NAMES[task], "shape": ["batch", *out_shape],
                   "dtype": "float32", "meaning": MEANING[task]},
        "class_names": run.class_names if task == "classification" else None,
        "normalization_inside": {"inputs": wrapper.normalized,
                                 "target_scale": shape.target_mean is not None
                                 and task == "regression"},
        "normalization": run.normalization or None,
        "model": run.spec.model.section() if hasattr(run.spec.model, "section") else None,
        "run_dir": str(run.path.resolve()), "checkpoint": str(run.checkpoint.resolve()),
        "spec_sha256": run.spec_sha256, "archopt_version": versions["archopt"],
        "versions": versions, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "exporter": exporter, "parity": parity,
    }


def read_metadata(folder: str | Path) -> dict[str, Any]:
    """metadata.json of an artifact folder."""
    return json.loads((Path(folder) / FILE).read_text())
