"""The study's PNG plots, drawn by Optuna's own ``optuna.visualization.matplotlib``:
optimization history, learning curves (intermediate values, pruned trials included), parameter
importances (Optuna's default evaluator), parallel coordinates, and the Pareto front with
several objectives. A plot that needs more finished trials than the study has is skipped and
said so in the returned notes.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def write_plots(study: Any, out: Path, objective_names: list[str]) -> dict[str, str]:
    """Draw every plot that the study supports into ``out``; {file name: "ok" or why not}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as vis

    out.mkdir(parents=True, exist_ok=True)
    multi = len(objective_names) > 1
    first = (lambda t: t.values[0]) if multi else None
    plots: dict[str, Any] = {
        "optimization_history": lambda: vis.plot_optimization_history(
            study, target=first, target_name=objective_names[0]),
        "intermediate_values": lambda: vis.plot_intermediate_values(study),
        "param_importances": lambda: vis.plot_param_importances(
            study, target=first, target_name=objective_names[0]),
        "parallel_coordinate": lambda: vis.plot_parallel_coordinate(
            study, target=first, target_name=objective_names[0]),
    }
    if multi:
        plots["pareto_front"] = lambda: vis.plot_pareto_front(
            study, target_names=objective_names)
    notes: dict[str, str] = {}
    for name, draw in plots.items():
        path = out / f"{name}.png"
        try:
            # matplotlib's warnings too (a legend of 40 trials: "Tight layout not applied")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.logging.set_verbosity(optuna.logging.ERROR)
                ax = draw()
                fig = (ax.flat[0] if hasattr(ax, "flat") else ax).figure
                fig.set_size_inches(8, 5)
                fig.tight_layout()
            tmp = path.with_suffix(".tmp.png")
            fig.savefig(tmp, dpi=100)
            tmp.replace(path)
            plt.close(fig)
            notes[path.name] = "ok"
        except Exception as exc:  # too few trials, no intermediate values, one parameter
            plt.close("all")
            notes[path.name] = f"skipped: {str(exc).splitlines()[0] if str(exc) else type(exc)}"
    return notes
