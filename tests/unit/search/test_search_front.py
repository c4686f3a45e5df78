"""The front's end-of-search re-timing covers the throughput batch too (a throughput search is
read at that batch), and the plot and the table show it."""

from __future__ import annotations

import pytest
import yaml

from archopt.search.front import remeasure
from archopt.search.plots import _cost

SPEC = {"name": "s", "seed": 0, "data": {"name": "digits", "batch_size": 64},
        "model": {"name": "cnn", "channels": [4], "kernel_sizes": 3}, "train": {"epochs": 1}}
OPTIONS = {"batch_size": 1, "rounds": 2, "repeats": 2, "warmup": 1, "threads": 1}


@pytest.fixture
def member_and_ref(tmp_path):
    for name in ("member", "ref"):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(SPEC))
    return [{"spec": "member.yaml"}], [{"name": "ref", "spec": str(tmp_path / "ref.yaml")}]


def test_the_front_and_references_are_re_timed_at_the_throughput_batch(tmp_path,
                                                                        member_and_ref):
    rows, refs = member_and_ref
    remeasure(tmp_path, rows, refs, {**OPTIONS, "throughput_batch": 32})
    for r in (rows[0], refs[0]):
        assert r["latency_ms_again"] > 0 and r["batch_latency_ms_again"] > 0
        assert r["batch_latency_spread_again"] >= 0
        assert r["throughput_again"] == pytest.approx(32 / (r["batch_latency_ms_again"] / 1000),
                                                      rel=1e-3)


def test_without_a_throughput_batch_only_the_deployment_batch_is_re_timed(tmp_path,
                                                                           member_and_ref):
    rows, refs = member_and_ref
    remeasure(tmp_path, rows, refs, {**OPTIONS, "throughput_batch": None})
    assert rows[0]["latency_ms_again"] > 0
    assert "batch_latency_ms_again" not in rows[0] and "throughput_again" not in refs[0]


def test_the_plot_reads_each_cost_as_re_timed():
    row = {"latency_ms": 1.0, "latency_ms_again": 1.5, "batch_latency_ms": 4.0,
           "batch_latency_ms_again": 3.0, "params": 10}
    assert _cost(row, "latency_ms") == 1.5 and _cost(row, "batch_latency_ms") == 3.0
    assert _cost({"batch_latency_ms": 4.0}, "batch_latency_ms") == 4.0
    assert _cost(row, "params") == 10


def test_the_front_table_shows_the_re_timed_batch_latency(capsys):
    from archopt.cli.search import print_front

    front = [{"number": 3, "val_accuracy": 0.9, "batch_latency_ms": 0.31, "params": 100,
              "latency_ms_again": 0.012, "batch_latency_ms_again": 0.2875, "run_dir": "t/3"}]
    refs = [{"name": "paper", "val_accuracy": 0.93, "latency_ms_again": 0.015,
             "batch_latency_ms_again": 0.6125, "run_dir": "runs/p"}]
    print_front({"front": front, "references": refs}, ["val_accuracy", "batch_latency_ms"])
    out = capsys.readouterr().out
    assert "again_batch_ms" in out and "0.2875" in out and "0.6125" in out
    print_front({"front": [{**front[0], "batch_latency_ms_again": None}], "references": []},
                ["val_accuracy", "batch_latency_ms"])
    assert "again_batch_ms" not in capsys.readouterr().out


@pytest.mark.parametrize(("ref_ms", "log"), [(0.5, False), (12.0, True)])
def test_pareto_plot_takes_a_log_axis_when_a_reference_is_far(tmp_path, monkeypatch, ref_ms, log):
    """A reference 20x slower than the front would squash the front into one corner of a linear
    axis: the latency panel turns logarithmic then, and stays linear otherwise."""
    import matplotlib.axes

    from archopt.search.plots import write_pareto_png

    scales: list[str] = []
    real = matplotlib.axes.Axes.set_xscale
    monkeypatch.setattr(matplotlib.axes.Axes, "set_xscale",
                        lambda self, v, **kw: (scales.append(v), real(self, v, **kw))[1])
    rows = [{"number": i, "accuracy": a, "latency_ms": ms, "params": p}
            for i, (a, ms, p) in enumerate([(0.9, 0.2, 1000), (0.95, 0.3, 1100), (0.8, 0.25, 900)])]
    refs = [{"name": "ref", "accuracy": 0.97, "latency_ms": ref_ms, "params": 1500}]
    png = write_pareto_png(tmp_path / "p.png", rows, refs, "accuracy", True, {})
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert ("log" in scales) is log
