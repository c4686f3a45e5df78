"""``export(run_dir)``: write a run's model as an artifact that takes raw inputs, check it against
PyTorch on the run's test data, and write ``metadata.json`` beside it.

The artifact is built in a temporary folder next to ``out`` and renamed into place only when
parity has passed, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archopt.errors import UserError
from archopt.export import formats
from archopt.export.int8 import float_reference, is_int8, write_int8
from archopt.export.metadata import FILE, build_metadata
from archopt.export.parity import check_parity, describe_failure
from archopt.export.run import LoadedRun, load_run
from archopt.export.wrapper import OUTPUT_NAMES, RawInputModel, exportable

GENERATED_EXAMPLES = 512  # latent codes a generator is checked on


def export(run_dir: str | os.PathLike, format: str = "onnx", out: str | os.PathLike | None = None,
           opset: int | None = None) -> dict[str, Any]:
    """Export a run's best model; returns the metadata plus ``out`` (the artifact's folder).

    Args:
        run_dir: a directory made by ``archopt train`` (or a tuning trial, a compression step).
        format: ``onnx`` (default), ``torchscript`` or ``exported_program``.
        out: the folder to write (default ``RUN_DIR/export/FORMAT``); it must not hold files.
        opset: the ONNX opset (default 18); ONNX only.

    Raises:
        UserError: a bad run directory, format or ``out``, or an artifact that fails parity
            (then nothing is written).
    """
    if format not in formats.FILES:
        raise UserError("--format", f"unknown format '{format}'",
                        f"use one of: {', '.join(formats.FILES)}")
    if opset is not None and format != "onnx":
        raise UserError("--opset", "applies to ONNX only", "drop --opset or use --format onnx")
    run = load_run(run_dir)
    target = Path(out) if out is not None else run.path / "export" / format
    _check_out(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        meta = _write(run, format, tmp, opset)
        if target.exists():
            target.rmdir()  # an empty folder (checked above)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**meta, "out": str(target)}


def _check_out(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UserError(str(target), "already exists and is not empty; artifacts are never "
                        "overwritten", "pass another --out, or delete the folder")


def parity_inputs(run: LoadedRun, task: str, variable_length: bool
                  ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Raw test inputs, their lengths (variable-length models) and labels (classifiers); seeded
    latent codes for a generator."""
    if task == "generation":
        gen = torch.Generator().manual_seed(run.spec.seed)
        z = torch.randn(GENERATED_EXAMPLES, run.model.latent_dim, generator=gen)
        return z.numpy(), None, None
    test = run.raw_test
    x = test.x.float().numpy()
    lengths = (test.lengths.long().numpy() if variable_length and test.lengths is not None
               else np.full(len(x), x.shape[1], dtype=np.int64) if variable_length else None)
    labels = test.y.numpy() if task == "classification" else None
    return x, lengths, labels


def _write(run: LoadedRun, fmt: str, folder: Path, opset: int | None) -> dict[str, Any]:
    probe = RawInputModel(run.model, run.shape, run.normalization)
    x, lengths, labels = parity_inputs(run, probe.task, probe.variable_length)
    try:
        wrapper, exporter, parity = write_artifact(run.model, run.shape, run.normalization, fmt,
                                                   folder, x, lengths, labels, opset)
    except ExportFailed as exc:
        raise UserError(str(run.path), f"{exc}; nothing was written",
                        "try another --format (or --opset for ONNX); --debug shows the "
                        "exporter's traceback") from exc.__cause__
    if is_int8(run.model):  # against the float model it was quantized from
        fp32 = float_reference(run.path)
        if fp32 is not None:
            runner = formats.open_runner("onnx", folder / formats.FILES["onnx"], ["inputs"])
            ref = formats.torch_runner(RawInputModel(fp32, run.shape, run.normalization))
            versus = check_parity(ref, runner, x, lengths, wrapper.task, labels, quantized=True)
            parity = {**parity, "versus_float": versus}
    names = formats.input_names(wrapper.variable_length, wrapper.task)
    meta = build_metadata(run, wrapper, fmt, names, exporter, parity)
    (folder / FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


class ExportFailed(Exception):
    """The exporter refused the model, or the artifact fails parity."""


def write_artifact(model: torch.nn.Module, shape: Any, normalization: dict[str, Any], fmt: str,
                   folder: Path, x: np.ndarray, lengths: np.ndarray | None,
                   labels: np.ndarray | None, opset: int | None = None,
                   ) -> tuple[RawInputModel, dict[str, Any], dict[str, Any]]:
    """Write ``model`` (wrapped with its normalization) into ``folder`` and check it on raw ``x``.

    Returns the wrapper, the exporter's facts and the parity figures.

    Raises:
        ExportFailed: the exporter's error, or parity figures that do not pass.
    """
    reference = RawInputModel(model, shape, normalization)
    quantized = is_int8(model)
    if quantized and fmt != "onnx":
        raise ExportFailed(f"an int8 run exports to ONNX only, not {fmt}")
    wrapper = (reference if quantized else
               RawInputModel(exportable(copy.deepcopy(model)), shape, normalization))
    task = wrapper.task
    names = formats.input_names(wrapper.variable_length, task)
    args = (torch.from_numpy(x[:2]),)
    if lengths is not None:
        args += (torch.from_numpy(lengths[:2]),)
    path = folder / formats.FILES[fmt]
    try:
        if quantized:
            exporter = write_int8(model, shape, normalization, task, path, OUTPUT_NAMES[task])
        else:
            exporter = formats.write(fmt, wrapper, args, path, names, OUTPUT_NAMES[task], opset)
    except Exception as exc:  # the exporter's own error, in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise ExportFailed(f"the model cannot be exported to {fmt}: {first}") from exc
    runner = formats.open_runner(fmt, path, names)
    parity = check_parity(formats.torch_runner(reference), runner, x, lengths, task, labels)
    if not parity["passed"]:
        raise ExportFailed(f"the {fmt} artifact fails parity: {describe_failure(parity)}")
    return wrapper, exporter, parity
