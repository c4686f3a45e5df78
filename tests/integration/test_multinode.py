"""Two "nodes" on one machine (issue 15, item 6): two launches of `archopt train --nnodes 2`,
one process each, meeting at a c10d rendezvous on 127.0.0.1, end with the weights of a run in
one process. This is the multi-node path (torchrun's rendezvous), exercised without a cluster.
"""

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

SPEC = {"name": "nodes", "seed": 1, "device": "cpu",
        "data": {"name": "wine", "batch_size": 16, "val_split": 0.1},
        "model": {"name": "mlp", "hidden": [16]},   # no batch norm: ranks see different batches
        "train": {"epochs": 2, "optimizer": {"name": "momentum", "lr": 0.05}}}
CMD = [sys.executable, "-m", "archopt.cli.main", "train"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weights(run):
    return torch.load(run / "checkpoints/last.pt", weights_only=True)["model"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo is tested on Linux")
def test_two_nodes_on_one_machine_equal_one_process(write_spec, tmp_path):
    spec = write_spec(SPEC)
    one, two = tmp_path / "one", tmp_path / "two"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    ref = subprocess.run(CMD + [str(spec), "--out", str(one), "--quiet"], env=env,
                         capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    node = CMD + [str(spec), "--out", str(two), "--quiet", "--nproc", "1", "--nnodes", "2",
                  "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}",
                  "--rdzv-id", "issue15"]
    # node 0 makes the run directory (the nodes share a disk here); node 1 joins it
    nodes = [subprocess.Popen(node + ["--node-rank", str(r)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    outs = [p.communicate(timeout=900) for p in nodes]
    for p, (_, err) in zip(nodes, outs, strict=True):
        assert p.returncode == 0, err
    w1, w2 = weights(one), weights(two)
    assert w1.keys() == w2.keys()
    for k in w1:
        assert torch.allclose(w1[k], w2[k], atol=1e-5), k
    m1 = json.loads((one / "metrics.json").read_text())
    m2 = json.loads((two / "metrics.json").read_text())
    assert m2["epochs"] == m1["epochs"] == 2
    assert m2["test"]["loss"] == pytest.approx(m1["test"]["loss"], abs=1e-5)
    assert "run dir:" in outs[0][0]  # node 0 reports the run like a one-node run
