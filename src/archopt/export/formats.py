"""Artifact formats: how a ``RawInputModel`` is written, and how a written artifact is run.

  onnx              model.onnx, one file (weights inside), run by ONNX Runtime
  torchscript       model.pt (``torch.jit.trace``), run by ``torch.jit.load``
  exported_program  model.pt2 (``torch.export``), run by ``torch.export.load(...).module()``
Every format has a dynamic batch dimension; the time axis of sequences is fixed (inputs are
padded to the training length, and variable-length models take ``lengths``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archopt.errors import UserError

FILES = {"onnx": "model.onnx", "torchscript": "model.pt", "exported_program": "model.pt2"}
DEFAULT_OPSET = 18

Runner = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]


def input_names(variable_length: bool, task: str) -> list[str]:
    first = "latent" if task == "generation" else "inputs"
    return [first, "lengths"] if variable_length else [first]


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """The exporters' warnings and progress lines, which are not the user's business."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), open(os.devnull, "w") as null, \
                contextlib.redirect_stdout(null):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def has_recurrence(model: nn.Module) -> bool:
    return any(isinstance(m, nn.RNNBase) for m in model.modules())


def write_onnx(model: nn.Module, args: tuple[torch.Tensor, ...], path: Path, names: list[str],
               output: str, opset: int | None) -> dict[str, Any]:
    """Export to one ONNX file with a dynamic batch axis; returns how it was exported.

    The dynamo exporter (torch.export + onnxscript) is used, except for recurrent layers: it
    unrolls nn.RNN/LSTM/GRU into one subgraph per time step (minutes of export for 40 steps on
    two CPU cores), while the TorchScript-based exporter writes ONNX's own RNN/LSTM/GRU ops.
    """
    opset = opset or DEFAULT_OPSET
    if has_recurrence(model):
        axes = {n: {0: "batch"} for n in [*names, output]}
        with quiet_exporter():
            torch.onnx.export(model, args, str(path), dynamo=False, input_names=names,
                              output_names=[output], dynamic_axes=axes, opset_version=opset)
        return {"exporter": "torchscript (recurrent layers)", "opset": opset}
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    dynamic = tuple({0: batch} for _ in args)
    with quiet_exporter():
        program = torch.onnx.export(model, args, dynamo=True, input_names=names,
                                    output_names=[output], dynamic_shapes=dynamic,
                                    opset_version=opset, external_data=False, verbose=False)
        program.save(str(path), external_data=False)
    return {"exporter": "dynamo", "opset": opset}


def write_torchscript(model: nn.Module, args: tuple[torch.Tensor, ...], path: Path
                      ) -> dict[str, Any]:
    with quiet_exporter(), torch.no_grad():
        traced = torch.jit.trace(model, args, check_trace=False)
        torch.jit.save(traced, str(path))
    return {"exporter": "torch.jit.trace"}


def write_exported_program(model: nn.Module, args: tuple[torch.Tensor, ...], path: Path
                           ) -> dict[str, Any]:
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    with quiet_exporter():
        program = torch.export.export(model, args, dynamic_shapes=tuple({0: batch} for _ in args))
        torch.export.save(program, str(path))
    return {"exporter": "torch.export"}


def write(fmt: str, model: nn.Module, args: tuple[torch.Tensor, ...], path: Path,
          names: list[str], output: str, opset: int | None) -> dict[str, Any]:
    """Write ``model`` in format ``fmt`` to ``path``; returns exporter facts for the metadata."""
    if fmt == "onnx":
        return write_onnx(model, args, path, names, output, opset)
    if fmt == "torchscript":
        return write_torchscript(model, args, path)
    return write_exported_program(model, args, path)


def ort_session(path: str | Path | bytes, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session of a file (or of ONNX bytes); ``threads`` intra-op threads
    (default: OMP_NUM_THREADS or ONNX Runtime's own choice)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("onnxruntime", "is not installed",
                        "pip install 'archopt[export]' -c constraints.txt") from None
    opts = ort.SessionOptions()
    threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path if isinstance(path, bytes) else str(path), sess_options=opts,
                                providers=["CPUExecutionProvider"])


def open_runner(fmt: str, path: Path, names: list[str], threads: int | None = None) -> Runner:
    """A function ``(inputs, lengths) -> outputs`` (numpy) that runs the artifact at ``path``."""
    if fmt == "onnx":
        session = ort_session(path, threads)

        def run_onnx(x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
            feed = {names[0]: x}
            if lengths is not None:
                feed[names[1]] = lengths
            return session.run(None, feed)[0]

        return run_onnx
    if threads:
        torch.set_num_threads(threads)
    with quiet_exporter():  # torch.jit.load warns that TorchScript is deprecated
        module = (torch.jit.load(str(path)) if fmt == "torchscript"
                  else torch.export.load(str(path)).module())
    return torch_runner(module)


def torch_runner(module: nn.Module | Any) -> Runner:
    """Run a torch module (eager, TorchScript or an exported program's module) on numpy."""
    def run_torch(x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        args = [torch.from_numpy(x)]
        if lengths is not None:
            args.append(torch.from_numpy(lengths))
        with torch.inference_mode():
            return module(*args).numpy()

    return run_torch
