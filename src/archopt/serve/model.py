"""The model behind the server: an exported artifact folder or a run directory, and a backend.

  ARTIFACT (a folder with metadata.json)  onnx -> ONNX Runtime; torchscript / exported_program
                                          -> torch
  RUN_DIR + onnxruntime (default)         RUN_DIR/export/onnx when it exists, else exported
                                          (with its parity check) into a temporary folder
  RUN_DIR + torch                         the run's model in PyTorch eager, normalization inside
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archopt.errors import UserError

BACKENDS = ("onnxruntime", "torch")


@dataclass
class ServedModel:
    """What the app calls: ``predict(inputs, lengths)`` on numpy, and the artifact's metadata."""

    metadata: dict[str, Any]
    backend: str
    source: str
    run: Any                                    # (inputs, lengths) -> outputs
    artifact: str | None = None                 # the artifact folder, when there is one
    cleanup: list[Path] = field(default_factory=list)

    def predict(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        return self.run(x, lengths)

    def close(self) -> None:
        for p in self.cleanup:
            shutil.rmtree(p, ignore_errors=True)


def load_served_model(target: str | Path, backend: str | None = None,
                      threads: int | None = None) -> ServedModel:
    """Open ``target`` (an artifact folder or a run directory) for serving.

    Raises:
        UserError: neither an artifact nor a run, an unknown backend, or a backend that cannot
            run this artifact.
    """
    from archopt.export import formats, read_metadata

    if backend is not None and backend not in BACKENDS:
        raise UserError("--backend", f"unknown backend '{backend}'",
                        f"use one of: {', '.join(BACKENDS)}")
    path = Path(target)
    if (path / "metadata.json").is_file():
        meta = read_metadata(path)
        fmt = meta["format"]
        want = "onnxruntime" if fmt == "onnx" else "torch"
        if backend is not None and backend != want:
            raise UserError("--backend", f"{backend} cannot run a {fmt} artifact",
                            f"use --backend {want}, or serve the run directory")
        names = [meta["inputs"]["name"]] + (
            [meta["inputs"]["variable_length"]["lengths_input"]]
            if (meta["inputs"].get("variable_length") or {}).get("lengths_input") else [])
        run = formats.open_runner(fmt, path / meta["file"], names, threads)
        return ServedModel(meta, want, str(path), run, artifact=str(path))
    if not (path / "spec.yaml").is_file():
        raise UserError(str(path), "neither an exported artifact (no metadata.json) nor a run "
                        "directory (no spec.yaml)", "pass a folder made by `archopt export` "
                        "or `archopt train`")
    if backend in (None, "onnxruntime"):
        return _run_via_onnx(path, threads)
    return _run_in_torch(path, threads)


def _run_via_onnx(path: Path, threads: int | None) -> ServedModel:
    from archopt.export import export

    existing = path / "export" / "onnx"
    if (existing / "metadata.json").is_file():
        served = load_served_model(existing, "onnxruntime", threads)
        served.source = str(path)
        return served
    tmp = Path(tempfile.mkdtemp(prefix="archopt-serve-"))
    try:
        export(path, "onnx", tmp / "onnx")
        served = load_served_model(tmp / "onnx", "onnxruntime", threads)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    served.source, served.cleanup = str(path), [tmp]
    return served


def _run_in_torch(path: Path, threads: int | None) -> ServedModel:
    import torch

    from archopt.export import formats
    from archopt.export.metadata import build_metadata
    from archopt.export.run import load_run
    from archopt.export.wrapper import RawInputModel

    if threads:
        torch.set_num_threads(threads)
    run = load_run(path, with_data=False)
    from archopt.data.load import build_raw

    run.class_names = list(build_raw(run.spec.data).class_names)
    wrapper = RawInputModel(run.model, run.shape, run.normalization)
    names = formats.input_names(wrapper.variable_length, wrapper.task)
    meta = build_metadata(run, wrapper, "pytorch", names, {"exporter": None}, {})
    meta["file"] = None
    return ServedModel(meta, "torch", str(path), formats.torch_runner(wrapper))
