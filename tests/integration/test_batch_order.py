"""``data.shuffle: false`` trains on the split's own order, exactly as a hand-written loop does
(the MNIST-1D paper's script takes its batches that way)."""

from __future__ import annotations

import torch

import archopt
from archopt.models import build_model
from archopt.train.checkpoint import load_checkpoint

SPEC = {"name": "order", "seed": 5,
        "data": {"name": "synthetic", "val_split": 0.0, "batch_size": 16, "normalize": False},
        "model": {"name": "mlp", "hidden": [8]},
        "train": {"epochs": 3, "optimizer": {"name": "sgd", "lr": 0.1}, "threads": 1,
                  "metrics": ["accuracy"]}}


def final_weights(tmp_path, shuffle: bool) -> dict[str, torch.Tensor]:
    spec = archopt.load_spec(SPEC, [f"data.shuffle={str(shuffle).lower()}"])
    run = archopt.fit(spec, out=tmp_path / f"run-{shuffle}", quiet=True)
    return load_checkpoint(f"{run['run_dir']}/checkpoints/last.pt")["model"]


def test_unshuffled_equals_a_hand_written_sequential_loop(tmp_path):
    spec = archopt.load_spec(SPEC)
    data = archopt.load_data(spec.data, spec.seed)
    model = build_model(spec.model, data.shape, seed=spec.seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = data.train.x, data.train.y
    for _ in range(3):
        for i in range(0, len(x), 16):  # the split's own order, every epoch
            loss = torch.nn.functional.cross_entropy(model(x[i:i + 16]), y[i:i + 16])
            opt.zero_grad()
            loss.backward()
            opt.step()
    got = final_weights(tmp_path, shuffle=False)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(got[name], value, rtol=1e-5, atol=1e-6)
    shuffled = final_weights(tmp_path, shuffle=True)
    assert any(not torch.allclose(shuffled[k], v) for k, v in model.state_dict().items())
