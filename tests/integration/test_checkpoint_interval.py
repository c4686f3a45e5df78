"""Checkpoints on a time interval (issue 15, item 4): a run of short epochs does not serialize
its state every epoch, and a run killed between two such checkpoints still resumes exactly."""

import itertools

import pytest
import torch

import archopt
from archopt.train import Callback
from archopt.train.callbacks import checkpointing
from archopt.train.trainer import Trainer

SPEC = {"name": "interval", "seed": 5, "device": "cpu",
        "data": {"name": "wine", "batch_size": 16, "augment": [{"name": "gaussian_noise",
                                                                "std": 0.05}]},
        "model": {"name": "mlp", "hidden": [16], "dropout": 0.1},
        "train": {"epochs": 5, "optimizer": {"name": "momentum", "lr": 0.05},
                  "scheduler": {"name": "cosine"}}}


def spec_with(**train):
    return archopt.load_spec({**SPEC, "train": {**SPEC["train"], **train}})


@pytest.fixture
def saves(monkeypatch):
    """Counts last.pt writes (global step of each)."""
    seen: list[int] = []
    original = Trainer.save_last

    def counting(self):
        seen.append(self.global_step)
        original(self)
    monkeypatch.setattr(Trainer, "save_last", counting)
    return seen


@pytest.mark.parametrize("every_s,expect_per_epoch", [(1e6, False), (0, True)])
def test_last_checkpoint_every_epoch_only_when_asked(tmp_path, saves, every_s, expect_per_epoch):
    r = archopt.fit(spec_with(checkpoint_every_s=every_s), out=tmp_path / "r", quiet=True)
    steps_per_epoch = r["steps"] // r["epochs"]
    if expect_per_epoch:
        assert saves == [steps_per_epoch * e for e in range(1, 6)]
    else:
        assert saves == [r["steps"]]  # only at the end of the run
    assert (tmp_path / "r/checkpoints/last.pt").is_file()


class Crash(Callback):
    """A hard stop at a given step, saving nothing (as SIGKILL would)."""

    key = "crash"

    def __init__(self, at: int) -> None:
        self.at = at

    def on_batch_end(self, trainer):
        if trainer.global_step == self.at:
            raise RuntimeError("killed")


def test_a_run_killed_between_interval_checkpoints_resumes_exactly(tmp_path, monkeypatch, saves):
    full = archopt.fit(spec_with(checkpoint_every_s=1e6), out=tmp_path / "full", quiet=True)
    # a clock that moves 1 s per reading: a checkpoint every few steps, mid-epoch too
    clock = itertools.count()
    monkeypatch.setattr(checkpointing.time, "monotonic", lambda: float(next(clock)))
    saves.clear()
    with pytest.raises(RuntimeError, match="killed"):
        archopt.fit(spec_with(checkpoint_every_s=4), out=tmp_path / "cut", quiet=True,
                    callbacks=[Crash(at=13)])
    spe = full["steps"] // full["epochs"]
    assert saves and saves[-1] < 13 and any(s % spe for s in saves)  # some were mid-epoch
    state = torch.load(tmp_path / "cut/checkpoints/last.pt", weights_only=True)
    assert state["global_step"] == saves[-1]
    resumed = archopt.fit(spec_with(checkpoint_every_s=4), resume=tmp_path / "cut", quiet=True)
    for r in (full, resumed):
        r.pop("train_time_s"), r.pop("run_dir")
    assert resumed == full
    a = torch.load(tmp_path / "full/checkpoints/last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "cut/checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
