"""The study's plots: drawn without printing matplotlib's warnings on the user's terminal."""

from __future__ import annotations

import warnings

import optuna


def test_plots_of_many_trials_warn_nothing(tmp_path):
    from archopt.tune.plots import write_plots

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))
    for _ in range(40):  # 40 learning curves: the legend is too tall for a tight layout
        trial = study.ask()
        lr = trial.suggest_float("train.optimizer.lr", 1e-3, 3e-2, log=True)
        trial.suggest_categorical("model.channels", ["[25,25,25]", "[64,64,64]"])
        for step in range(3):
            trial.report(lr * step, step)
        study.tell(trial, lr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning that escapes fails the plot: "skipped: ..."
        notes = write_plots(study, tmp_path, ["val_accuracy"])
    assert notes["intermediate_values.png"] == "ok", notes
    assert all(v == "ok" for v in notes.values()), notes
