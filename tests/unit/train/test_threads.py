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
