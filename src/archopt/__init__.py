"""archopt: from a dataset to the best neural network for your budget, from one YAML spec.

The Python API mirrors the CLI::

    import archopt
    spec = archopt.load_spec("examples/mnist1d_cnn.yaml", overrides=["train.epochs=5"])
    result = archopt.fit(spec)             # trains, writes a run directory, returns metrics
    archopt.evaluate(result["run_dir"])    # re-evaluates the best checkpoint
    archopt.profile(spec)                  # params, FLOPs, memory, measured latency
    archopt.tune("examples/tune/mnist1d_cnn.yaml")  # a hyperparameter study (tune: section)
    archopt.show_study("studies/...")      # a study's best trial, front and ranking
    archopt.search("examples/search/mnist1d_latency.yaml")  # architecture search (search:)
    archopt.explain("runs/...")            # attributions of a run, checked (explain.json)
    archopt.robustness("runs/digits-cnn/...")  # accuracy under noise and attacks, raw units

Names are imported on first use, so ``import archopt`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API = {
    "UserError": "archopt.errors",
    "load_spec": "archopt.spec",
    "save_spec": "archopt.spec",
    "Spec": "archopt.spec",
    "load_data": "archopt.data",
    "describe_data": "archopt.data",
    "build_model": "archopt.models",
    "list_models": "archopt.models",
    "fit": "archopt.train",
    "evaluate": "archopt.train",
    "profile": "archopt.report",
    "tune": "archopt.tune",
    "show_study": "archopt.tune",
    "search": "archopt.search",
    "show_search": "archopt.search.study",
    "retrain_front": "archopt.search.retrain",
    "report": "archopt.report",
    "list_runs": "archopt.run_index",
    "compare_runs": "archopt.run_compare",
    "compress": "archopt.compress",
    "export": "archopt.export",
    "serve": "archopt.serve",
    "explain": "archopt.explain",
    "compare_transfer": "archopt.transfer.compare",
    "fewshot": "archopt.transfer.fewshot",
    "robustness": "archopt.robust",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'archopt' has no attribute '{name}'")
