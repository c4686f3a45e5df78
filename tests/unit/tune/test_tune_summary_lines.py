"""The study summary `archopt tune` prints: a Pareto front only with several objectives."""

from archopt.cli.tune import report

BASE = {"study": "s", "trials": {"finished": 4, "complete": 4, "pruned": 0, "failed": 0},
        "wall_s": 1.0, "workers": 1, "threads_per_worker": 1, "mean_overhead_s": 0.1,
        "study_dir": "studies/s"}
BEST = {"number": 2, "values": {"val_accuracy": 1.0}, "params": {"train.lr": 0.1},
        "best_yaml": "studies/s/best.yaml"}


def test_one_objective_with_ties_is_not_a_pareto_front(capsys):
    report({**BASE, "best": {**BEST, "tied": 4}})
    out = capsys.readouterr().out
    assert "Pareto front" not in out
    assert "4 trials tie on the best value" in out


def test_several_objectives_print_the_front(capsys):
    report({**BASE, "best": {**BEST, "values": {"val_accuracy": 1.0, "params": 10},
                             "pareto_size": 3}})
    out = capsys.readouterr().out
    assert "Pareto front: 3 trials" in out and "tie" not in out
