"""Distributed data parallel through `archopt train --nproc 2` (gloo on CPU): the same global
batch on 2 processes ends with the parameters of 1 process; resume works; rank 0 writes."""

import json
import socket
import sys

import pytest
import torch

SPEC = {"name": "ddp", "seed": 1, "device": "cpu",
        "data": {"name": "wine", "batch_size": 16, "val_split": 0.1},
        "model": {"name": "mlp", "hidden": [16]},   # no batch norm: ranks see different batches
        "train": {"epochs": 2, "optimizer": {"name": "momentum", "lr": 0.05},
                  "regularization": {"l2": 1e-3}, "clip_grad_norm": 5.0}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weights(run):
    return torch.load(run / "checkpoints/last.pt", weights_only=True)["model"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo is tested on Linux")
def test_two_processes_equal_one_and_resume(cli, write_spec, tmp_path):
    spec = write_spec(SPEC)
    one, two = tmp_path / "one", tmp_path / "two"
    assert cli("train", spec, "--out", one, "--quiet")[0] == 0
    code, out, err = cli("train", spec, "--out", two, "--nproc", "2", "--master-port",
                         free_port(), "--quiet", "--json")
    assert code == 0, err
    assert json.loads(out)["run_dir"] == str(two)
    w1, w2 = weights(one), weights(two)
    for k in w1:
        assert torch.allclose(w1[k], w2[k], atol=1e-5), k
    m1 = json.loads((one / "metrics.json").read_text())
    m2 = json.loads((two / "metrics.json").read_text())
    assert m2["test"]["loss"] == pytest.approx(m1["test"]["loss"], abs=1e-5)
    # resume the 2-process run for one more epoch, in 2 processes
    code, _, err = cli("train", "--resume", two, "--set", "train.epochs=3", "--nproc", "2",
                       "--master-port", free_port(), "--quiet")
    assert code == 0, err
    assert json.loads((two / "metrics.json").read_text())["epochs"] == 3
    assert len((two / "history.jsonl").read_text().splitlines()) == 3
