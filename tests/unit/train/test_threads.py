"""The default CPU thread count: OMP_NUM_THREADS when set, else the cores per process."""

from __future__ import annotations

import os

import pytest
import torch

from archopt.train.setup import default_threads, set_threads


def test_omp_num_threads_wins(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert default_threads(1) == 3 and default_threads(2) == 3


def test_cores_divided_among_processes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert default_threads(1) == cores
    assert default_threads(cores * 4) == 1


def test_spec_threads_override(monkeypatch: pytest.MonkeyPatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        set_threads(2, 1)
        assert torch.get_num_threads() == 2
        set_threads(None, 1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# -- the measured choice (archopt.train.threads) ---------------------------------------------

def _step_slower_with(threads_slow: bool):
    """A fake step that sleeps when run with several threads (or with one)."""
    import time

    def make():
        def step():
            many = torch.get_num_threads() > 1
            time.sleep(0.02 if many == threads_slow else 0.0)
        return step
    return make


def test_choice_order(monkeypatch: pytest.MonkeyPatch):
    from archopt.train import threads

    cpu = torch.device("cpu")
    monkeypatch.setattr(threads, "cores", lambda world: 4)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.choose(2, 1, cpu, None, saved=1).threads == 2          # train.threads
    assert threads.choose(None, 1, cpu, None, saved=1).threads == 1       # a resumed run's
    assert threads.choose(None, 1, cpu, None).reason == "OMP_NUM_THREADS"
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(threads, "cores", lambda world: 1)
    assert threads.choose(None, 2, cpu, _step_slower_with(True)).text() == \
        "1 thread per process (one core per process)"


def test_probe_keeps_the_faster(monkeypatch: pytest.MonkeyPatch):
    from archopt.train import threads

    cpu = torch.device("cpu")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "cores", lambda world: 2)
    before = torch.get_num_threads()
    slow_many = threads.choose(None, 1, cpu, _step_slower_with(True))
    assert slow_many.threads == 1 and "measured" in slow_many.reason
    assert threads.choose(None, 1, cpu, _step_slower_with(False)).threads == 2
    assert torch.get_num_threads() == before  # the probe restores the thread count


def test_probe_leaves_model_and_rng_alone():
    from archopt.train import threads
    from archopt.train.tasks import ClassificationTask

    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = type("B", (), {"x": torch.randn(5, 4), "y": torch.tensor([0, 1, 2, 0, 1]),
                           "lengths": None})
    rng = torch.get_rng_state()
    choice = threads.measure(lambda: threads.probe_step(
        model, ClassificationTask(), torch.nn.CrossEntropyLoss(), batch), 2)
    assert choice.threads in (1, 2) and "measured" in choice.reason
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
