"""Registry rows from files alone: filters, sorting, spec differences."""

from __future__ import annotations

import pytest

from archopt.errors import UserError
from archopt.run_compare import flatten, metric_rows, spec_differences
from archopt.run_index import parse_filter, sort_rows

ROWS = [{"name": "a", "status": "finished", "model": "cnn", "value": 0.9},
        {"name": "b", "status": "killed", "model": "mlp", "value": None},
        {"name": "c", "status": "failed", "model": "cnn_small", "value": 0.5}]


@pytest.mark.parametrize("expr,want", [
    ("status=finished", ["a"]), ("status!=finished", ["b", "c"]),
    ("status=killed,failed", ["b", "c"]), ("model=cnn*", ["a", "c"]),
    ("value>0.6", ["a"]), ("value<=0.5", ["c"]), ("value=0.9", ["a"]),
])
def test_filters(expr, want):
    keep = parse_filter(expr)
    assert [r["name"] for r in ROWS if keep(r)] == want


def test_sort_puts_empty_values_last():
    assert [r["name"] for r in sort_rows(ROWS, "value")] == ["c", "a", "b"]
    assert [r["name"] for r in sort_rows(ROWS, "-value")] == ["a", "c", "b"]
    assert [r["name"] for r in sort_rows(ROWS, "-name")] == ["c", "b", "a"]
    with pytest.raises(UserError, match="unknown column"):
        sort_rows(ROWS, "colour")


def test_spec_differences_and_metric_rows():
    a = {"model": {"name": "mlp", "hidden": [8]}, "train": {"optimizer": {"lr": 0.1}}}
    b = {"model": {"name": "mlp", "hidden": [16]}, "train": {"optimizer": {"lr": 0.1},
                                                              "epochs": 3}}
    assert flatten(a) == {"model.name": "mlp", "model.hidden": [8], "train.optimizer.lr": 0.1}
    assert spec_differences([a, b]) == [("model.hidden", [[8], [16]]),
                                        ("train.epochs", [None, 3])]
    rows = metric_rows([{"test": {"accuracy": 0.5, "confusion_matrix": [[1]]}, "epochs": 2},
                        {"test": {"accuracy": 0.7}}])
    assert rows == [("test.accuracy", [0.5, 0.7]), ("epochs", [2, None])]


def test_study_wall_time_is_the_union_of_trial_intervals():
    """Two workers' overlapping trials count once, the pause before a resume not at all; a study
    written before trials.csv had the columns falls back to the sum of the trials' wall times."""
    from archopt.run_index import study_wall_s

    def t(start, end, wall="9"):
        return {"started": f"2026-12-01T10:00:{start:02d}.000",
                "finished": f"2026-12-01T10:00:{end:02d}.500", "wall_s": wall}

    # 0-10.5 and 5-12.5 overlap (12.5 s), then a kill and a resume: 40-45.5 (5.5 s)
    assert study_wall_s([t(5, 12), t(0, 10), t(40, 45)]) == 18.0
    assert study_wall_s([t(0, 10)]) == 10.5
    old = [{"wall_s": "2.5"}, {"wall_s": "1.25"}, {"wall_s": ""}]
    assert study_wall_s(old) == 3.75
    assert study_wall_s([]) is None


def test_trials_csv_records_when_each_trial_ran():
    import optuna

    from archopt.tune.outputs import trials_csv

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda tr: tr.suggest_float("x", 0, 1), n_trials=2)
    header, *rows = [r.split(",") for r in trials_csv(study.trials, ["value"], ["x"]).splitlines()]
    i, j = header.index("started"), header.index("finished")
    assert all(r[i] and r[j] and r[i] <= r[j] for r in rows)


def test_a_resumed_study_says_its_wall_time_over_all_its_runs():
    from archopt.cli.output import wall_text

    assert wall_text({"wall_s": 12.5, "study_wall_s": None}) == "12.5 s"  # not resumed
    assert wall_text({"wall_s": 12.5}) == "12.5 s"
    assert (wall_text({"wall_s": 12.5, "study_wall_s": 40.25})
            == "12.5 s (its trials over all its runs: 40.25 s of wall)")
